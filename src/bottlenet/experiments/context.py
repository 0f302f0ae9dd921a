"""The context an experiment runs in: its budget, the results store and a seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bottlenet.config import TrainConfig
from bottlenet.experiments.base import ARTICLE_REGIME, Budget
from bottlenet.population import Population
from bottlenet.spec import NetSpec
from bottlenet.store import Store
from bottlenet.tasks import Task
from bottlenet.trainer import train


@dataclass
class Context:
    budget: Budget
    store: Store
    seed: int = 0
    note: Callable[[str], None] | None = None  # where a long claim says how far it got

    def tell(self, text: str) -> None:
        if self.note:
            self.note(text)

    def train(self, task: Task, spec: NetSpec, mask=None, **config) -> Population:
        """Train in the article's regime with the budget's seeds and steps unless `config`
        says otherwise."""
        cfg = {"seeds": self.budget.seeds, "steps": self.budget.steps, "seed": self.seed,
               **ARTICLE_REGIME, **config}
        return train(task, spec, TrainConfig(**cfg), mask=mask)
