"""What the page may ask for: the playground's settings, read from the client's JSON and
checked against caps. JAX-free. Every refusal is a SettingsError whose message the page
shows as it is, so each names the control it concerns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from bottlenet import checks, tasks
from bottlenet.choices import ACTIVATIONS, HEADS, OPTIMIZERS, TASKS
from bottlenet.errors import BottlenetError, SpecError
from bottlenet.spec import NetSpec

# Caps: a playground is for watching, and one tab must not take the machine. The
# command line has no such caps (see checks.py for its limits).
SYMBOLS_MAX = 200
HIDDEN_MAX = 8
LAYERS_MAX = 4  # hidden layers
POPULATION_MAX = 256
STEPS_MAX = 200_000  # steps per run; reset to go on
TABLE_MAX_CHARS = 20_000
LR_MAX = 10.0
SPEEDS = (1, 3, 10, 30, 100, 300, 1000, 3000, 0)  # steps per second; 0 = as fast as it goes
TASK_CHOICES = (*TASKS, "table")


class SettingsError(BottlenetError):
    """A setting the playground refuses; the message is shown in the page."""


@dataclass(frozen=True)
class Settings:
    task: str = "shift"
    symbols: int = 11
    table: str = ""  # pasted pairs, CSV or JSON as for --table (task "table")
    task_seed: int = 0
    hidden: int | list[int] = 2  # units of one hidden layer, or of each ([3, 3])
    activation: str = "tanh"
    head: str = "softmax"
    bias: bool = True
    optimizer: str = "adam"
    lr: float = 0.02
    logit_scale: bool = True
    population: int = 16
    seed: int = 0

    @classmethod
    def from_json(cls, data) -> Settings:
        """From the client's object: unknown keys refused, every value checked."""
        if not isinstance(data, dict):
            raise SettingsError("settings must be an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]!r}")
        settings = cls(**{**asdict(cls()), **data})
        settings.check()
        return settings

    def check(self) -> None:
        try:
            self._check()
        except SpecError as e:
            raise SettingsError(str(e)) from None

    def _check(self) -> None:
        choose("task", self.task, TASK_CHOICES)
        choose("activation", self.activation, ACTIVATIONS)
        choose("output head", self.head, HEADS)
        choose("optimizer", self.optimizer, OPTIMIZERS)
        for name in ("bias", "logit_scale"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be true or false")
        if not isinstance(self.table, str) or len(self.table) > TABLE_MAX_CHARS:
            raise SettingsError(f"a pasted table may have at most {TABLE_MAX_CHARS:,} "
                                "characters")
        if self.task != "table":
            checks.whole("symbols n", self.symbols, 2, SYMBOLS_MAX)
        checks.whole("task seed", self.task_seed, 0, checks.SEED_MAX)
        if isinstance(self.hidden, list):
            if not 1 <= len(self.hidden) <= LAYERS_MAX:
                raise SettingsError(f"hidden layers: 1 to {LAYERS_MAX} (e.g. 3,3)")
            for k in self.hidden:
                checks.whole("hidden units k (each layer)", k, 1, HIDDEN_MAX)
        else:
            checks.whole("hidden units k", self.hidden, 0, HIDDEN_MAX)
        checks.real("learning rate", self.lr, 0, LR_MAX, above=True)
        checks.whole("population", self.population, 1, POPULATION_MAX)
        # the same rule as `train --seed`
        checks.seeds("seed", self.seed, self.population, checks.NETWORK_SEED_MAX)

    def build_task(self) -> tasks.Task:
        """The task, a pasted table parsed by the same code as `--table`."""
        if self.task != "table":
            return tasks.builtin(self.task, self.symbols, self.task_seed)
        if not self.table.strip():
            raise SettingsError("paste a table of pairs first (input,output[,frequency] "
                                "per line, or JSON as for --table)")
        task = tasks.from_text(self.table, "table", where="pasted table")
        if max(task.n_in, task.n_out) > SYMBOLS_MAX:
            raise SettingsError(f"the pasted table has {max(task.n_in, task.n_out)} symbols; "
                                f"the playground takes at most {SYMBOLS_MAX}")
        return task

    @property
    def layers(self) -> tuple[int, ...]:
        """The hidden layers' sizes (none for k = 0)."""
        if isinstance(self.hidden, list):
            return tuple(self.hidden)
        return (self.hidden,) if self.hidden else ()

    def spec(self, task: tasks.Task) -> NetSpec:
        return NetSpec(task.n_in, task.n_out, self.layers, self.activation, self.bias,
                       self.head)


def choose(name: str, value, options) -> None:
    if value not in options:
        raise SettingsError(f"{name} must be one of: {', '.join(options)}; got {value!r}")


CAPS = {"symbols": SYMBOLS_MAX, "hidden": HIDDEN_MAX, "population": POPULATION_MAX,
        "steps": STEPS_MAX, "table_chars": TABLE_MAX_CHARS, "lr": LR_MAX}
