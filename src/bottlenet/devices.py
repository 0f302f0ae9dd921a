"""One XLA host device per CPU core, so the trainer can split a population across cores.

The compiled training step runs on one thread, so on a CPU the other cores idle. Asking
XLA for one host "device" per core lets the trainer split a population across them
(benchmarks/trainer_throughput.py on 2 cores: 1.08x at n=11, 1.24x at n=100). XLA reads
the setting when JAX first starts a backend, so the engine (bottlenet.net) asks for it
as it loads: importing `bottlenet` alone, or the command line's parsing, changes nothing.
An XLA_FLAGS that already says how many devices wins; BOTTLENET_CPU_DEVICES=1 turns it off.
"""

import os

_FLAG = "xla_force_host_platform_device_count"


def use_all_cores() -> None:
    """Ask for one host device per core, unless the user said otherwise (no effect once
    JAX has started its CPU backend)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _FLAG in flags:
        return
    devices = os.environ.get("BOTTLENET_CPU_DEVICES", str(os.cpu_count() or 1))
    if devices.isdigit() and int(devices) > 1:
        os.environ["XLA_FLAGS"] = f"{flags} --{_FLAG}={devices}".strip()
