"""A population: the weights of P networks of one shape, with the record of how they
came to be (a training run's outcome and history, or none for weights made by hand).
NumPy only: reading, showing and drawing a saved population never starts JAX."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bottlenet.config import TrainConfig
from bottlenet.spec import NetSpec
from bottlenet.stats import describe, wilson_interval
from bottlenet.tasks import Task


@dataclass
class Population:
    """The result of training: P networks of one shape, their weights and their record.

    Arrays have the population on axis 0. `history` rows are taken every `history_step`.
    """

    spec: NetSpec
    task: Task
    config: TrainConfig | None  # how it was trained; None: weights made, not trained
    network_seeds: np.ndarray  # (P,) the seed of each network
    params: tuple  # pytree, leaves (P, ...)
    solved: np.ndarray  # (P,) bool: solved by the final weights
    solve_step: np.ndarray  # (P,) first step at which it was solved, -1 = never
    final_loss: np.ndarray  # (P,)
    final_accuracy: np.ndarray  # (P,)
    diverged: np.ndarray  # (P,) bool
    steps_run: int
    wall_time: float
    history_step: np.ndarray  # (T,)
    history_loss: np.ndarray  # (T, P)
    history_accuracy: np.ndarray  # (T, P)
    history_max_weight: np.ndarray  # (T, P, L) largest |w| per layer
    snapshots: dict[int, tuple] = field(default_factory=dict)
    # The precision the networks were trained (or made) for: what `bottlenet check`
    # holds them to (the solve rule's tolerance follows it).
    dtype: str = "float32"

    @classmethod
    def from_weights(cls, spec: NetSpec, task: Task, params: tuple, solved, final_loss,
                     final_accuracy, network_seeds=None, dtype: str = "float32"
                     ) -> Population:
        """Networks whose weights were made rather than trained (by hand, or edited): no
        training record (config None, no steps, empty history), so model files, `show`
        and `draw` work on them. `params` are layers {"w", "b"} with the population axis
        first; the outcome arrays are (P,)."""
        P = len(params[0]["w"])
        return cls(spec=spec, task=task, config=None,
                   network_seeds=np.zeros(P, np.int64) if network_seeds is None
                   else np.asarray(network_seeds, np.int64),
                   params=tuple({k: np.asarray(v) for k, v in layer.items()} for layer in params),
                   solved=np.asarray(solved, bool), solve_step=np.where(solved, 0, -1),
                   final_loss=np.asarray(final_loss, float),
                   final_accuracy=np.asarray(final_accuracy, float), diverged=np.zeros(P, bool),
                   steps_run=0, wall_time=0.0, history_step=np.zeros(0, np.int64),
                   history_loss=np.zeros((0, P)), history_accuracy=np.zeros((0, P)),
                   history_max_weight=np.zeros((0, P, len(params))), dtype=dtype)

    @property
    def size(self) -> int:
        return len(self.network_seeds)

    def network(self, i: int, step: int | None = None):
        """Weights of network i (no population axis); at a snapshot step if given."""
        params = self.params if step is None else self.snapshots[step]
        return tuple({k: np.asarray(v[i]) for k, v in layer.items()} for layer in params)

    def view(self, i: int | None = None) -> NetworkView:
        """Network i (default: the best) as an object that a notebook shows as its diagram."""
        i = self.best() if i is None else i
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"a network is chosen by a whole number, got {i!r}")
        if not 0 <= i < self.size:
            raise IndexError(f"network {i} is not in 0..{self.size - 1}")
        return NetworkView(self, i)

    def _repr_html_(self) -> str:  # Jupyter: a summary table and the best network
        from bottlenet.draw.notebook import population_html

        return population_html(self)

    def best(self) -> int:
        """Index of the solved network with the lowest loss (or the lowest loss overall)."""
        loss = np.where(self.diverged | ~np.isfinite(self.final_loss), np.inf, self.final_loss)
        if self.solved.any():
            loss = np.where(self.solved, loss, np.inf)
        return int(np.argmin(loss))

    def summary(self) -> dict:
        P = self.size
        solved_steps = self.solve_step[self.solve_step >= 0]
        lo, hi = wilson_interval(int(self.solved.sum()), P)
        return {
            "task": self.task.name,
            "symbols": {"inputs": self.task.n_in, "outputs": self.task.n_out,
                        "pairs": self.task.n_pairs},
            "network": self.spec.to_dict(),
            "connections": self.spec.n_connections,
            "training": None if self.config is None else self.config.to_dict(),
            "dtype": self.dtype,
            "softmax": "full" if self.config is None else self.config.softmax,
            "networks": P,
            "solved": int(self.solved.sum()),
            "solved_rate": float(self.solved.mean()),
            "solved_rate_ci95": [lo, hi],
            "solved_at_some_step": int((self.solve_step >= 0).sum()),
            "solve_step": describe(solved_steps),
            "final_loss": describe(self.final_loss[~self.diverged]),
            "max_weight_per_layer": [
                describe(np.abs(np.asarray(layer["w"])).reshape(P, -1).max(1)[~self.diverged])
                for layer in self.params
            ],
            "diverged": int(self.diverged.sum()),
            "steps_run": self.steps_run,
            "wall_time_s": round(self.wall_time, 3),
            # (None where no training was timed: made by hand, or kept from the playground)
            "network_steps_per_s": round(P * self.steps_run / self.wall_time)
            if self.wall_time > 0 else None,
            "best_network": self.best(),
        }


@dataclass(frozen=True)
class NetworkView:
    """One network of a population, for a notebook: shows itself as its diagram."""

    population: Population
    index: int

    def _repr_svg_(self) -> str:
        from bottlenet.draw.notebook import network_svg

        return network_svg(self.population, self.index)

    def _repr_html_(self) -> str:
        from bottlenet.draw.notebook import network_html

        return network_html(self.population, self.index)


def concatenate(parts: list[Population], config: TrainConfig) -> Population:
    """One population from passes trained one after another (network order kept). A
    pass that stopped early is held at its last history row: its networks had all
    stopped."""
    steps_run = max(p.steps_run for p in parts)
    longest = max(parts, key=lambda p: len(p.history_step))
    rows = len(longest.history_step)

    def held(x):  # (T, P, ...) -> (rows, P, ...), repeating the last row
        return np.concatenate([x, np.repeat(x[-1:], rows - len(x), axis=0)])

    def cat(get, axis=0):
        return np.concatenate([get(p) for p in parts], axis=axis)

    def cat_params(get):
        return tuple({k: np.concatenate([get(p)[i][k] for p in parts]) for k in layer}
                     for i, layer in enumerate(get(parts[0])))

    first = parts[0]
    return Population(
        spec=first.spec, task=first.task, config=config,
        network_seeds=cat(lambda p: p.network_seeds),
        params=cat_params(lambda p: p.params), solved=cat(lambda p: p.solved),
        solve_step=cat(lambda p: p.solve_step), final_loss=cat(lambda p: p.final_loss),
        final_accuracy=cat(lambda p: p.final_accuracy), diverged=cat(lambda p: p.diverged),
        steps_run=steps_run, wall_time=sum(p.wall_time for p in parts),
        history_step=longest.history_step,
        history_loss=cat(lambda p: held(p.history_loss), 1),
        history_accuracy=cat(lambda p: held(p.history_accuracy), 1),
        history_max_weight=cat(lambda p: held(p.history_max_weight), 1),
        snapshots={step: cat_params(lambda p, s=step: p.snapshots[s]) for step in first.snapshots},
        dtype=first.dtype,
    )
