"""What a user sets: how to train (TrainConfig) and how to sweep capacity
(CapacityConfig), validated when made. JAX-free, so the command line can show the
defaults in its help without starting the engine."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from bottlenet import checks
from bottlenet.choices import DTYPES, OPTIMIZERS, SCHEDULES, SOFTMAXES, STOPS, TASKS
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec


@dataclass(frozen=True)
class TrainConfig:
    """How to train. The defaults are the regime that solved shift tasks fastest and up
    to the largest n in our measurements (full-batch Adam, lr 0.02, unit-scale init, a
    learned logit scale, every network stopping at its first solve). The article's own
    regime is `lr=0.05, logit_scale=False` (experiments.ARTICLE_REGIME)."""

    optimizer: str = "adam"
    lr: float = 0.02
    steps: int = 5000
    seeds: int = 64  # population size
    seed: int = 0  # first seed: network i uses seed + i
    batch: int | None = None  # pairs per step, sampled by frequency; None = full batch
    schedule: str = "constant"
    init_scale: float = 1.0
    stop: str = "each"  # see STOPS
    snapshots: tuple[int, ...] = ()  # steps whose weights are kept for pictures
    log_every: int = 0  # history stride in steps; 0 = about 200 points per run
    chunk: int = 200  # steps per compiled segment (progress / early-stop granularity)
    logit_scale: bool = True  # learn log s, the output layer is s * (w, b)
    dtype: str = "float32"  # see DTYPES; float64 runs in JAX's x64 mode (that run only)
    softmax: str = "full"  # see SOFTMAXES

    def __post_init__(self):
        for s in self.snapshots:
            checks.whole("a snapshot step", s, 0, checks.STEPS_MAX)
        object.__setattr__(self, "snapshots", tuple(sorted({int(s) for s in self.snapshots})))
        if self.optimizer not in OPTIMIZERS:
            raise SpecError(f"unknown optimizer {self.optimizer!r}; choose one of: "
                            f"{', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise SpecError(f"unknown schedule {self.schedule!r}; choose one of: "
                            f"{', '.join(SCHEDULES)}")
        if self.stop not in STOPS:
            raise SpecError(f"unknown stop rule {self.stop!r}; choose one of: {', '.join(STOPS)}")
        check_dtype(self.dtype)
        check_softmax(self.softmax)
        checks.positive("learning rate (--lr)", self.lr)
        checks.whole("steps (--steps)", self.steps, 1, checks.STEPS_MAX)
        checks.whole("population size (--seeds)", self.seeds, 1, checks.POPULATION_MAX)
        checks.seeds("seed (--seed)", self.seed, self.seeds, checks.NETWORK_SEED_MAX)
        if self.batch is not None:
            checks.whole("batch (--batch)", self.batch, 1, checks.STEPS_MAX)
        checks.positive("init scale (--init-scale)", self.init_scale)
        checks.whole("log_every", self.log_every, 0, checks.STEPS_MAX)
        checks.whole("chunk", self.chunk, 1, checks.STEPS_MAX)
        if any(s < 0 or s > self.steps for s in self.snapshots):
            raise SpecError(f"snapshot steps must lie in 0..{self.steps}")

    @property
    def stride(self) -> int:
        return self.log_every or max(1, -(-self.steps // 200))

    def check_stride(self, n_pairs: int) -> int:
        """Steps between solve checks (and history rows) of a minibatch run on `n_pairs`
        pairs. A check evaluates every pair against every output, about what n_pairs /
        (3 batch) minibatch steps cost, so it comes every 4 n_pairs / batch steps (a
        twelfth of the time goes to checks), or at the history's stride when that is
        longer; `log_every` sets it outright."""
        if self.log_every or self.batch is None:
            return self.stride
        return max(self.stride, -(-4 * n_pairs // self.batch))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["snapshots"] = list(self.snapshots)
        if d["softmax"] == "full":  # (model files of full-softmax runs stay readable by
            del d["softmax"]  # the versions before the sampled softmax)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        # files from before the logit scale trained without; before dtype, in float32;
        # before the sampled softmax (and full-softmax runs since: to_dict), full softmax
        d = {"logit_scale": False, "dtype": "float32", "softmax": "full", **d}
        d["snapshots"] = tuple(d.get("snapshots", ()))
        return cls(**d)


@dataclass(frozen=True)
class CapacityConfig:
    """One curve of a capacity sweep; everything but n."""

    hidden: int
    activation: str = "tanh"
    task: str = "shift"
    optimizer: str = "adam"
    lr: float = 0.01
    schedule: str = "constant"
    steps: int = 20000
    seeds: int = 32
    seed: int = 0
    bias: bool = True
    head: str = "softmax"
    init_scale: float = 1.0
    logit_scale: bool = True
    # Pairs per step (0 = full batch). Full batch is the default by measurement: minibatch
    # steps cost batch x n instead of n x n, but Adam then needs far more of them (README,
    # Capacity: "Why full batch").
    batch: int = 0
    dtype: str = "float32"
    # "sampled" trains trials of a few hundred symbols and more with the sampled softmax
    # (capacity.sampled_at; README, Capacity: why full stays the default).
    softmax: str = "full"

    def __post_init__(self):
        checks.whole("hidden units", self.hidden, 0, checks.HIDDEN_MAX)
        checks.whole("batch (--batch)", self.batch, 0, checks.STEPS_MAX)
        check_dtype(self.dtype)
        check_softmax(self.softmax)
        if self.task not in TASKS:
            raise SpecError(f"unknown task {self.task!r}; choose one of: {', '.join(TASKS)}")
        self.spec(4)  # raises on an unknown activation or head
        self.train_config()  # raises on bad training settings

    def spec(self, n: int) -> NetSpec:
        return NetSpec(n, n, (self.hidden,) if self.hidden else (), self.activation,
                       self.bias, self.head)

    def train_config(self, n: int = 4) -> TrainConfig:
        """How a trial at n symbols trains (a batch no larger than the task's n - 1
        pairs of a shift task; every built-in task has at least that many)."""
        # A trial counts networks that training brought to a solution: each keeps the
        # weights it first solved with (stop "each"), so a solve is never lost again.
        return TrainConfig(optimizer=self.optimizer, lr=self.lr, steps=self.steps,
                           seeds=self.seeds, seed=self.seed, schedule=self.schedule,
                           init_scale=self.init_scale, logit_scale=self.logit_scale,
                           stop="each", batch=min(self.batch, n - 1) or None,
                           dtype=self.dtype, softmax=self.softmax)

    def key(self) -> str:
        """The results store's key. The batch and dtype are left out at their defaults,
        so trials stored before they were settings (full batch, float32) keep their key.
        The softmax is left out too: it is part of a trial's key only where the trial
        trains with the sampled softmax (capacity.trial_key), so a "sampled" sweep shares
        the full-softmax trials of its small n."""
        d = asdict(self)
        del d["softmax"]
        if d["batch"] == 0:
            del d["batch"]
        if d["dtype"] == "float32":
            del d["dtype"]
        return config_key(d)

    def label(self) -> str:
        return f"k={self.hidden} {self.activation}"


def check_softmax(softmax: str) -> None:
    if softmax not in SOFTMAXES:
        raise SpecError(f"unknown softmax {softmax!r}; choose one of: {', '.join(SOFTMAXES)}")


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise SpecError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")


def config_key(config: dict) -> str:
    """A canonical text key for a configuration (sorted JSON): how the results store
    finds the trials of a configuration."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))
