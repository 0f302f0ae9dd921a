"""One XLA host device per CPU core, so the trainer can split a population across cores.

The compiled training step runs on one thread, so on a CPU the other cores idle. Asking
XLA for one host "device" per core lets the trainer split a population across them
(benchmarks/trainer_throughput.py on 2 cores: 1.08x at n=11, 1.24x at n=100). XLA reads
the setting when JAX first starts a backend, so the engine (bottlenet.net) asks for it
as it loads: importing `bottlenet` alone, or the command line's parsing, changes nothing.
An XLA_FLAGS that already says how many devices wins; BOTTLENET_CPU_DEVICES=1 turns it off.

On a CPU with AVX-512 it also asks XLA for 512-bit vectors (XLA's default there is 256):
training 8 networks at n = 4,096 (k = 2, full batch in chunks, two cores) takes 5.1
instead of 5.9 ms a network-step, the exponentials being most of it; small populations
train as fast as with 256 (benchmarks/trainer_throughput.py, within its noise). An
XLA_FLAGS that names a vector width wins.
"""

import os

_FLAG = "xla_force_host_platform_device_count"
_WIDTH = "xla_cpu_prefer_vector_width"


def _ask_xla(flag: str, value: str) -> None:
    """Add --flag=value to XLA_FLAGS unless the user's XLA_FLAGS names the flag."""
    flags = os.environ.get("XLA_FLAGS", "")
    if flag not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --{flag}={value}".strip()


def use_all_cores() -> None:
    """Ask for one host device per core, unless the user said otherwise (no effect once
    JAX has started its CPU backend)."""
    devices = os.environ.get("BOTTLENET_CPU_DEVICES", str(os.cpu_count() or 1))
    if devices.isdigit() and int(devices) > 1:
        _ask_xla(_FLAG, devices)


def has_avx512(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AVX-512 (Linux; False where /proc/cpuinfo cannot tell)."""
    try:
        with open(cpuinfo) as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def use_wide_vectors() -> None:
    """Ask XLA for 512-bit vectors on a CPU with AVX-512, unless XLA_FLAGS names a width
    (no effect once JAX has started its CPU backend)."""
    if has_avx512():
        _ask_xla(_WIDTH, "512")
