"""The branches for platforms other than Linux, forced here by taking away what they lack
(the compressor's mappings without MAP_PRIVATE or MADV_HUGEPAGE are in
test_compress_model.py). No code path of bottlenet uses fork (Ray starts its own
processes), so there is no fork-less branch to force."""

import os

from bottlenet import devices, memory


def test_free_memory_without_sysconf_names_or_sysconf(monkeypatch):
    def missing(name):  # macOS: no SC_AVPHYS_PAGES
        raise ValueError(f"unrecognized configuration name {name!r}")

    assert memory.host_bytes() > 0
    monkeypatch.setattr(os, "sysconf", missing)
    assert memory.host_bytes() == 8 << 30  # the stated guess: runs go on, sized for 8 GiB
    monkeypatch.delattr(os, "sysconf")  # Windows: no sysconf at all
    assert memory.host_bytes() == 8 << 30


def test_one_device_when_the_core_count_is_unknown(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("BOTTLENET_CPU_DEVICES", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    devices.use_all_cores()
    assert "XLA_FLAGS" not in os.environ
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    devices.use_all_cores()
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"


def test_wide_vectors_only_where_the_cpu_has_them(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert not devices.has_avx512(str(info))
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n")
    assert devices.has_avx512(str(info))
    assert not devices.has_avx512(str(tmp_path / "missing"))  # not Linux: no change

    monkeypatch.setattr(devices, "has_avx512", lambda: True)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    devices.use_wide_vectors()
    assert os.environ["XLA_FLAGS"] == ("--xla_force_host_platform_device_count=2 "
                                       "--xla_cpu_prefer_vector_width=512")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_prefer_vector_width=256")  # the user's wins
    devices.use_wide_vectors()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_prefer_vector_width=256"
    monkeypatch.setattr(devices, "has_avx512", lambda: False)
    monkeypatch.delenv("XLA_FLAGS")
    devices.use_wide_vectors()
    assert "XLA_FLAGS" not in os.environ
