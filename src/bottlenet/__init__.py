"""bottlenet: train populations of tiny bottleneck networks and measure what they carry."""

__version__ = "0.1.0"

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
