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


def _dot_precisions(jaxpr) -> list:
    """The precision of every matrix product in a jaxpr, sub-jaxprs (scan, custom
    derivatives, jit) included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            found.append(eqn.params["precision"])
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += _dot_precisions(inner)
    return found


def test_every_matrix_product_of_training_asks_full_precision():
    """On GPUs JAX computes float32 products in TensorFloat-32 unless told otherwise (an
    H100 lost a quarter of two units' frontier to it, README "Large n, and GPUs"): the
    full-batch step (wide layers as products), its chunks, the sampled softmax and the
    solve rule's logit bound all ask for full precision. A CPU cannot show the
    difference, so the programs' own requests are checked."""
    import jax
    import jax.numpy as jnp

    from bottlenet import net as netlib
    from bottlenet import tasks
    from bottlenet.evaluation import evaluate, logit_magnitude, task_arrays
    from bottlenet.spec import NetSpec
    from bottlenet.trainer import chunked, sampled

    wide = NetSpec(37, 37, (netlib.UNROLL_FAN_IN + 4, 3))  # a layer past the unrolled sums
    data = task_arrays(tasks.permutation(37, seed=2))
    params = netlib.init(wide, jax.random.key(0))

    def full(p):
        return evaluate(wide, p, data).loss

    programs = {
        "full batch": jax.make_jaxpr(jax.value_and_grad(full))(params),
        "chunks": jax.make_jaxpr(lambda p: chunked.loss_and_grads(wide, p, data, rows=8))(
            params),
        "sampled": jax.make_jaxpr(jax.grad(lambda p: sampled.loss_and_candidates(
            wide, p, data, data.inputs, sampled.first_candidates(data, 37),
            jax.random.key(1))[0]))(params),
        "logit bound": jax.make_jaxpr(lambda p: logit_magnitude(
            p, jnp.ones((37, 3)), data.inputs))(params),
    }
    highest = (jax.lax.Precision.HIGHEST,) * 2
    for name, program in programs.items():
        precisions = _dot_precisions(program.jaxpr)
        assert precisions, name
        assert all(p == highest for p in precisions), (name, precisions)
