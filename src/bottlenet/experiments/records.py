"""What a claim keeps of a network or of a training run, so that its pictures can be
drawn again from the stored measurement: weights as nested lists (float32 values are
exact as JSON numbers), the spec and task as their own dicts, training curves as lists."""

from __future__ import annotations

from typing import Any, NamedTuple, TypedDict

import numpy as np

from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


class NetworkRecord(TypedDict):
    spec: dict[str, Any]  # NetSpec.to_dict()
    task: dict[str, Any]  # Task.to_dict()
    params: list[dict[str, Any]]  # per layer: "w" (and "b") as nested lists


def network_record(spec: NetSpec, task: Task, params) -> NetworkRecord:
    return {"spec": spec.to_dict(), "task": task.to_dict(),
            "params": [{k: np.asarray(v).tolist() for k, v in layer.items()}
                       for layer in params]}


def network_of(record: NetworkRecord) -> tuple[NetSpec, Task, tuple[dict[str, np.ndarray], ...]]:
    """The spec, task and weights (float32, as trained) of a record."""
    params = tuple({k: np.asarray(v, np.float32) for k, v in layer.items()}
                   for layer in record["params"])
    return NetSpec.from_dict(record["spec"]), Task.from_dict(record["task"]), params


class TrainingRecord(TypedDict):
    """A population's training curves, as `draw.training_charts` reads them: per
    recorded step (T) and network (P); max_weight per layer (T, P, L). NaN marks a
    network that had stopped (JSON keeps it as NaN)."""

    step: list[int]
    loss: list[list[float]]
    accuracy: list[list[float]]
    max_weight: list[list[list[float]]]
    solve_step: list[int]
    title: str


def training_record(pop, title: str) -> TrainingRecord:
    return {"step": [int(s) for s in pop.history_step],
            "loss": np.asarray(pop.history_loss, float).tolist(),
            "accuracy": np.asarray(pop.history_accuracy, float).tolist(),
            "max_weight": np.asarray(pop.history_max_weight, float).tolist(),
            "solve_step": [int(s) for s in pop.solve_step], "title": title}


class TrainingCurves(NamedTuple):
    """A TrainingRecord under the names a Population uses (what training_charts reads)."""

    history_step: np.ndarray
    history_loss: np.ndarray
    history_accuracy: np.ndarray
    history_max_weight: np.ndarray
    solve_step: np.ndarray


def training_curves(record: TrainingRecord) -> TrainingCurves:
    return TrainingCurves(np.asarray(record["step"]), np.asarray(record["loss"], float),
                          np.asarray(record["accuracy"], float),
                          np.asarray(record["max_weight"], float),
                          np.asarray(record["solve_step"]))
