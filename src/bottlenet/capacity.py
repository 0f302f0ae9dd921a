"""Capacity: the largest number of symbols n that k hidden units learn, measured.

For one configuration (k, activation, optimizer, ...) a trial trains `seeds` networks
on the task with n symbols and counts how many solve it within the step budget. The
frontier search grows n geometrically until the success rate falls below the
threshold, then bisects between the last n that passed and the first that failed. It
assumes success falls with n; every trial it ran is reported, so a reader can see
where that assumption is shaky. Tasks are padded up to size buckets, so one compiled
program serves every n in a bucket.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field, replace
from itertools import product

from bottlenet import checks, tasks
from bottlenet.config import CapacityConfig, TrainConfig, config_key
from bottlenet.errors import ResourceError, SpecError
from bottlenet.memory import networks_per_pass
from bottlenet.softmax import DRAWN, HARD, SAMPLED_MIN_OUTPUTS, refusal
from bottlenet.stats import wilson_interval
from bottlenet.store import Store, TrialRecord
from bottlenet.trainer import release_compiled, train

# Above this size a trial takes minutes and its cost grows with the square of the padded
# size, so finer buckets pay for their extra compilations (seconds each).
FINE_BUCKETS_FROM = 512


def bucket(n: int) -> int:
    """The padded size that serves n: 8, 12, 16, 24, 32, 48, ..., 512 (at most 1.5x n),
    then multiples of an eighth of the power of two below n (576, 640, ..., 1024, 1152,
    ...: at most 1.125x n)."""
    size = 8
    while size < n and size < FINE_BUCKETS_FROM:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    if size >= n:
        return size
    step = 1 << (n.bit_length() - 4)
    return -(-n // step) * step


@dataclass(frozen=True)
class Frontier:
    n: int  # largest n whose success rate reached the threshold (0: not even the start)
    censored: bool  # no failing n was found: the true frontier may lie beyond
    tested: tuple[tuple[int, int, int], ...]  # (n, successes, trials) in the order run
    # Why the search ended before it bracketed the frontier to its resolution: "" (it
    # did), "max-symbols" (passed at the largest n allowed), "budget" (the next trial's
    # estimated time would pass the time budget), "memory" (it would not fit); and the n
    # it would have tried next.
    stopped_by: str = ""
    stopped_at: int = 0

    @property
    def failed(self) -> int:
        """The smallest n tested above the frontier that failed (0: none)."""
        return min((m for m, _, _ in self.tested if m > self.n), default=0)

    def describe(self) -> str:
        """The frontier in words: bracketed, or censored and why."""
        if self.stopped_by == "max-symbols":
            return f"{self.n}+ (passed at --max-symbols {self.n})"
        if self.stopped_by in ("budget", "memory"):
            what = "budget" if self.stopped_by == "budget" else "memory"
            if self.censored:
                return f"{self.n}+ (censored by {what} at n = {self.stopped_at})"
            return (f"{self.n}-{self.failed} (bisection stopped by {what} at n = "
                    f"{self.stopped_at})")
        return str(self.n) if not self.failed or self.failed == self.n + 1 else \
            f"{self.n} (fails at {self.failed})"


class StopSearch(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a search's trial function: the trial at `n` will not run (`reason`:
    "budget" or "memory"); the search ends with what it has."""

    def __init__(self, reason: str, n: int):
        super().__init__(reason)
        self.reason, self.n = reason, n


def frontier_search(rate_at: Callable[[int], tuple[int, int]], threshold: float = 0.5,
                    start: int = 4, max_n: int = 4096, growth: float = 2.0,
                    resolution: float = 0.0) -> Frontier:
    """Largest n with successes/trials >= threshold, by geometric growth then bisection.

    `resolution` > 0 stops the bisection once the bracket is within that fraction of n
    (0.1: to 10%), trading precision for fewer trials; 0 bisects down to one symbol.
    `rate_at` may raise StopSearch: the frontier is then what the trials so far say,
    marked with the reason."""
    search = frontier_steps(threshold, start, max_n, growth, resolution)
    try:
        n = next(search)
        while True:
            try:
                rate = rate_at(n)
            except StopSearch as stop:
                return stopped(search, stop)
            n = search.send(rate)
    except StopIteration as done:
        return done.value


def stopped(search: Generator[int, tuple[int, int] | None, Frontier],
            stop: StopSearch) -> Frontier:
    """The frontier of a search whose next trial will not run (see StopSearch)."""
    try:
        search.send(None)
    except StopIteration as done:
        return replace(done.value, stopped_by=stop.reason, stopped_at=stop.n)
    raise AssertionError("a search sent None must end")


def frontier_steps(threshold: float = 0.5, start: int = 4, max_n: int = 4096,
                   growth: float = 2.0, resolution: float = 0.0
                   ) -> Generator[int, tuple[int, int] | None, Frontier]:
    """The search as a generator: it yields the next n to try, is sent back that trial's
    (successes, trials), and returns the Frontier. A driver can so advance many
    searches at once (trials on a cluster) with exactly the trials one search runs.
    Sent None instead (the trial will not run), it returns the frontier found so far,
    censored when no n has failed yet."""
    checks.real("threshold", threshold, 0.0, 1.0, above=True)
    if start < 2 or max_n < start or growth <= 1:
        raise SpecError("need 2 <= start <= max_n and growth > 1")
    tested: dict[int, tuple[int, int]] = {}
    order: list[int] = []
    lo, hi, n = 1, None, start

    def result(censored: bool, stopped_by: str = "") -> Frontier:
        return Frontier(lo if lo >= 2 else 0, censored, tuple((m, *tested[m]) for m in order),
                        stopped_by, max_n if stopped_by else 0)

    while True:
        rate = yield n
        if rate is None:
            return result(True)
        tested[n] = rate
        order.append(n)
        s, t = tested[n]
        if t > 0 and s / t >= threshold:
            lo = n
            if n == max_n:
                return result(True, "max-symbols")
            n = min(max_n, max(n + 1, math.ceil(n * growth)))
        else:
            hi = n
            break
    while hi - lo > max(1, int(resolution * lo)):
        mid = (lo + hi) // 2
        rate = yield mid
        if rate is None:
            break
        tested[mid] = rate
        order.append(mid)
        s, t = tested[mid]
        if t > 0 and s / t >= threshold:
            lo = mid
        else:
            hi = mid
    return result(False)


@dataclass
class CapacityResult:
    config: CapacityConfig
    threshold: float
    frontier: Frontier
    trials: list[TrialRecord] = field(default_factory=list)  # all trials, by n
    buckets: tuple[int, ...] = ()  # padded sizes trained in this run (compilations)
    ran: int = 0  # trials trained in this run (the rest came from the database)

    def summary(self) -> dict:
        at = next((t for t in self.trials if t.n == self.frontier.n), None)
        lo, hi = wilson_interval(at.successes, at.trials) if at else (0.0, 1.0)
        return {
            "config": asdict(self.config), "label": self.config.label(),
            "threshold": self.threshold, "frontier_n": self.frontier.n,
            "censored": self.frontier.censored, "fails_at": self.frontier.failed or None,
            "stopped_by": self.frontier.stopped_by or None,
            "stopped_at": self.frontier.stopped_at or None,
            "frontier": self.frontier.describe(),
            "success_rate": at.rate if at else None, "success_ci95": [lo, hi],
            "connections_at_frontier": self.config.spec(max(self.frontier.n, 2)).n_connections,
            "trials": [{"n": n, "successes": s, "seeds": t, "rate": s / t,
                        "ci95": list(wilson_interval(s, t))} for n, s, t in
                       self.frontier.tested],
            "trials_run_now": self.ran, "padded_sizes_compiled": list(self.buckets),
        }

    @classmethod
    def from_summary(cls, d: dict) -> CapacityResult:
        """Back from `summary()` (JSON), as the charts read it: the configuration, the
        frontier and the trials its search tested."""
        cfg = CapacityConfig(**d["config"])
        tested = tuple((t["n"], t["successes"], t["seeds"]) for t in d["trials"])
        frontier = Frontier(d["frontier_n"], d["censored"], tested, d["stopped_by"] or "",
                            d["stopped_at"] or 0)
        trials = [TrialRecord(trial_key(cfg, n), n, s, t, (), 0.0)
                  for n, s, t in sorted(tested)]
        return cls(cfg, d["threshold"], frontier, trials, tuple(d["padded_sizes_compiled"]),
                   d["trials_run_now"])


def sampled_at(cfg: CapacityConfig, n: int) -> bool:
    """Whether the trial at n trains with the sampled softmax: with "sampled", wherever
    the network allows it (it needs a few hundred outputs: smaller trials use the full
    softmax)."""
    return cfg.softmax == "sampled" and refusal(cfg.train_config(n), cfg.spec(n)) is None


def trial_config(cfg: CapacityConfig, n: int) -> TrainConfig:
    """How the trial at n trains, its softmax decided."""
    return replace(cfg.train_config(n), softmax="sampled" if sampled_at(cfg, n) else "full")


def trial_key(cfg: CapacityConfig, n: int) -> str:
    """The store's key of the trial at n: the configuration's (CapacityConfig.key), marked
    "sampled" where the trial trains with the sampled softmax, so the full-softmax
    trials stored before the sampled softmax existed keep their key and neither kind is
    ever taken for the other."""
    return _sampled_key(cfg) if sampled_at(cfg, n) else cfg.key()


def _sampled_key(cfg: CapacityConfig) -> str:
    return config_key({**json.loads(cfg.key()), "softmax": "sampled"})


def curve_trials(cfg: CapacityConfig, store: Store) -> list[TrialRecord]:
    """Every stored trial of the configuration, by n (each under its trial_key)."""
    rows = store.trials_for(cfg.key()) + store.trials_for(_sampled_key(cfg))
    return sorted((r for r in rows if r.config_key == trial_key(cfg, r.n)), key=lambda r: r.n)


def padded_size(cfg: CapacityConfig, n: int) -> int:
    """The size a trial at n trains in: its bucket, or n itself for minibatch and
    sampled-softmax trials (their draws depend on the size)."""
    return bucket(n) if not cfg.batch and not sampled_at(cfg, n) else n


def run_trial(cfg: CapacityConfig, n: int,
              progress: Callable[[int, int], None] | None = None) -> TrialRecord:
    """Train cfg.seeds networks on n symbols (padded to its bucket) and count successes."""
    task = tasks.builtin(cfg.task, n, cfg.seed)
    size = padded_size(cfg, n)
    start = time.perf_counter()
    pop = train(task, cfg.spec(n), trial_config(cfg, n), progress=progress,
                pad_to=(size, size, size) if size != n else None)
    return TrialRecord(trial_key(cfg, n), n, int(pop.solved.sum()), pop.size,
                       tuple(int(s) for s in pop.solve_step), time.perf_counter() - start)


def versions() -> dict:
    import jax

    from bottlenet import __version__

    return {"bottlenet": __version__, "jax": jax.__version__,
            "platform": jax.default_backend(), "device": jax.devices()[0].device_kind}


# What a logit of the sampled softmax costs against one of the full softmax (gathers
# and their scatter in the gradient). It scales a sweep's first sampled trial from the
# full trials below it (under 320 symbols, where a full logit costs about 2 ns:
# benchmarks/capacity_wall.py, k = 3, 2.06 ms a step at 1,024); a sampled logit costs
# 12 ns at 4,096 and 26 ns at 16,384 (7.9 and 68 ms a step), so 8 errs on the quick side
# at large n. Later sampled trials scale from the nearest sampled one.
SAMPLED_LOGIT_COST = 8.0


def step_cost(cfg: CapacityConfig, n: int) -> float:
    """A step's relative cost at n symbols: n x n logits per network full batch; with
    minibatches, batch x n plus the schedule's full checks (see TrainConfig.check_stride);
    with the sampled softmax, n x (HARD + DRAWN) dearer logits."""
    if sampled_at(cfg, n):
        return SAMPLED_LOGIT_COST * n * (HARD + DRAWN)
    if not cfg.batch:
        return float(bucket(n)) ** 2
    return float(cfg.batch * n + n * n / max(1, cfg.train_config(n).check_stride(n)))


def estimate_seconds(cfg: CapacityConfig, n: int, done: list[TrialRecord]
                     ) -> tuple[float, float] | None:
    """(likely, longest) time of a trial at n, from the trial of this configuration that
    ran nearest to n, scaled by the step's cost: likely, if it runs as many steps as that
    trial did; longest, if every network uses the whole step budget. None before any
    trial has run."""
    timed = [r for r in done if r.wall_time > 0]
    if not timed:
        return None
    near = min(timed, key=lambda r: abs(math.log(r.n / n)))
    ran = cfg.steps if min(near.solve_steps, default=-1) < 0 else max(near.solve_steps)
    likely = near.wall_time * step_cost(cfg, n) / step_cost(cfg, near.n)
    return likely, likely * cfg.steps / max(ran, 1)


def trial_fits(cfg: CapacityConfig, n: int) -> bool:
    """Whether one network of a trial at n fits in memory (memory.networks_per_pass)."""
    size = padded_size(cfg, n)
    try:
        networks_per_pass(cfg.spec(size), size, trial_config(cfg, n))
    except ResourceError:
        return False
    return True


def measure(cfg: CapacityConfig, store: Store, threshold: float = 0.5,
            max_n: int | None = None, start: int = 4, on_trial: Callable | None = None,
            progress: Callable[[int, int], None] | None = None,
            resolution: float = 0.0, time_budget: float | None = None,
            on_start: Callable | None = None) -> CapacityResult:
    """Frontier search for one configuration; trials come from `store` when finished
    already, and are written to it as soon as each one ends.

    With no `max_n` the search grows n until a trial fails, or until the next trial
    would not fit in memory or (with `time_budget`, seconds for this search's new
    trials) its likely time would pass what is left of the budget: the frontier is
    then reported as censored by memory or budget at that n. `on_start(cfg, n,
    estimate)` is called before each new trial with its (likely, longest) time
    (estimate_seconds; None when nothing has been measured yet)."""
    buckets, ran = set(), 0
    spent = 0.0

    def rate_at(n: int) -> tuple[int, int]:
        nonlocal ran, spent
        record = store.get(trial_key(cfg, n), n)
        cached = record is not None
        if record is None:
            if not trial_fits(cfg, n):
                raise StopSearch("memory", n)
            estimate = estimate_seconds(cfg, n, curve_trials(cfg, store))
            if time_budget is not None and estimate is not None \
                    and spent + estimate[0] > time_budget:
                raise StopSearch("budget", n)
            if on_start:
                on_start(cfg, n, estimate)
            record = run_trial(cfg, n, progress)
            spent += record.wall_time
            store.put(record, versions())
            buckets.add(padded_size(cfg, n))
            ran += 1
        if on_trial:
            on_trial(cfg, record, cached)
        return record.successes, record.trials

    frontier = frontier_search(rate_at, threshold, start, max_n or checks.SYMBOLS_MAX,
                               resolution=resolution)
    return CapacityResult(cfg, threshold, frontier, curve_trials(cfg, store),
                          tuple(sorted(buckets)), ran)


def representable(ks) -> dict[str, dict[int, int]]:
    """What k tanh units can represent in float32, for the atlas: the hand-made circle
    (a line envelope for k = 1; the circle uses two units whatever k is) and the grid
    code, each up to the largest n the solve rule still accepts (estimates from the
    margin, see construct.margin_limit; the circle's measured limit is ~5% lower)."""
    from bottlenet.construct import margin_limit

    ks = sorted(set(ks))
    return {"hand-made circle, float32 (tanh)": {k: margin_limit(k, "circle") for k in ks},
            "hand-made grid, float32 (tanh)": {k: margin_limit(k, "grid") for k in ks}}


@dataclass(frozen=True)
class Sweep:
    """A capacity sweep: one frontier search per configuration, all with one threshold,
    one largest n (None: no ceiling) and one time budget per configuration (seconds of
    new trials; None: none). Recorded in the results store as it starts, so `resume` can
    run it again with its own settings."""

    configs: tuple[CapacityConfig, ...]
    threshold: float = 0.5
    max_symbols: int | None = None
    time_budget: float | None = None
    start: int = 4  # the first n tried

    def __post_init__(self):
        if not self.configs:
            raise SpecError("a sweep needs at least one configuration")
        checks.real("--threshold", self.threshold, 0.0, 1.0, above=True)
        if self.max_symbols is not None:
            checks.whole("--max-symbols", self.max_symbols, 4, checks.SYMBOLS_MAX)
        if self.time_budget is not None:
            checks.positive("--time-budget", self.time_budget)
        checks.whole("--start", self.start, 2, self.max_symbols or checks.SYMBOLS_MAX)

    @classmethod
    def grid(cls, hidden, activations, threshold: float = 0.5, max_symbols: int | None = None,
             time_budget: float | None = None, start: int = 4, **settings) -> Sweep:
        """Every (activation, k) pair with the same other settings (CapacityConfig's).
        SpecError when the sampled softmax is asked for a network it cannot train."""
        configs = tuple(CapacityConfig(hidden=k, activation=a, **settings)
                        for a, k in product(activations, hidden))
        large = max(SAMPLED_MIN_OUTPUTS, max_symbols or 0)  # a size it serves
        for c in configs:
            why = c.softmax == "sampled" and refusal(c.train_config(large), c.spec(large))
            if why:
                raise SpecError(f"{c.label()}: {why}")
        return cls(configs, threshold, max_symbols, time_budget, start)

    def to_dict(self) -> dict:
        return {"configs": [asdict(c) for c in self.configs], "threshold": self.threshold,
                "max_symbols": self.max_symbols, "time_budget": self.time_budget,
                "start": self.start}

    @classmethod
    def from_dict(cls, d: dict) -> Sweep:
        # sweeps recorded before the logit scale existed ran without it; before the sampled
        # softmax, with the full softmax at every n
        return cls(tuple(CapacityConfig(**{"logit_scale": False, "softmax": "full", **c})
                         for c in d["configs"]),
                   d["threshold"], d["max_symbols"], d.get("time_budget"), d.get("start", 4))


def start(plan: Sweep | None, store: Store) -> Sweep:
    """The sweep to run: `plan`, recorded in `store` so `resume` can run it again; or with
    `plan=None` the last one recorded there."""
    if plan is not None:
        store.save_sweep(plan.to_dict())
        return plan
    recorded = store.last_sweep()
    if recorded is None:
        raise SpecError(f"no sweep recorded in {store.path} to resume")
    return Sweep.from_dict(recorded)


def sweep(plan: Sweep | None, store: Store, on_config: Callable | None = None,
          on_trial: Callable | None = None,
          progress: Callable[[int, int], None] | None = None,
          on_start: Callable | None = None) -> tuple[Sweep, list]:
    """Run a sweep, or with `plan=None` the last one recorded in `store` again (its
    finished trials come from the store, the rest run). Returns the sweep and one
    CapacityResult per configuration. `on_config(cfg)` is called as each configuration
    starts, `on_trial(cfg, record, cached)` after each trial."""
    plan = start(plan, store)
    return plan, run(plan, store, on_config, on_trial, progress, on_start)


def run(plan: Sweep, store: Store, on_config: Callable | None = None,
        on_trial: Callable | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_start: Callable | None = None) -> list:
    """The configurations of a started sweep, one after the other (cluster.sweep runs
    them at once)."""
    results = []
    for cfg in plan.configs:
        if on_config:
            on_config(cfg)
        results.append(measure(cfg, store, plan.threshold, plan.max_symbols, plan.start,
                               on_trial=on_trial, progress=progress,
                               time_budget=plan.time_budget, on_start=on_start))
        release_compiled()  # a long sweep must not pile programs up (see release_compiled)
    return results


def atlas_lines(results) -> tuple[dict[str, list], dict[str, dict[int, int]]]:
    """What the atlas draws: the trained frontiers grouped by activation, and what k
    tanh units can represent at the same k (see representable)."""
    groups: dict[str, list] = {}
    for r in results:
        groups.setdefault(f"trained, {r.config.activation}", []).append(r)
    return groups, representable({r.config.hidden for r in results})
