"""bottlenet: train populations of tiny bottleneck networks and measure what they carry."""

__version__ = "0.1.0"

import os as _os
import sys as _sys

# The compiled training step runs on one thread, so on a CPU the other cores idle. Asking
# XLA for one host "device" per core lets the trainer split a population across them
# (benchmarks/trainer_throughput.py on 2 cores: 1.08x at n=11, 1.24x at n=100). It only
# works before JAX starts, so
# it is skipped when JAX is already loaded or XLA_FLAGS already says how many devices;
# BOTTLENET_CPU_DEVICES=1 turns it off.
if "jax" not in _sys.modules and "xla_force_host_platform_device_count" not in _os.environ.get(
        "XLA_FLAGS", ""):
    _devices = _os.environ.get("BOTTLENET_CPU_DEVICES", str(_os.cpu_count() or 1))
    if _devices.isdigit() and int(_devices) > 1:
        _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") +
                                    f" --xla_force_host_platform_device_count={_devices}").strip()

from bottlenet import activations, tasks  # noqa: E402
from bottlenet.errors import (  # noqa: E402
    BottlenetError,
    ModelFileError,
    ResourceError,
    SpecError,
    TaskError,
)
from bottlenet.modelfile import load, save  # noqa: E402
from bottlenet.net import NetSpec  # noqa: E402
from bottlenet.tasks import Task  # noqa: E402
from bottlenet.train import Population, TrainConfig, train  # noqa: E402

__all__ = [
    "BottlenetError", "ModelFileError", "NetSpec", "Population", "ResourceError", "SpecError",
    "Task", "TaskError", "TrainConfig", "activations", "load", "save", "tasks", "train",
]
