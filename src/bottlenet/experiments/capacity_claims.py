"""C4, C5, C7, C12: how many symbols k units carry, and what it costs."""

from __future__ import annotations

import time
from typing import Any, TypedDict

import numpy as np

from bottlenet import draw, tasks
from bottlenet.capacity import CapacityResult, measure, representable
from bottlenet.config import CapacityConfig, TrainConfig
from bottlenet.draw.claims import cost_and_capacity_chart, rate_bars
from bottlenet.experiments.base import (
    ARTICLE_REGIME,
    Budget,
    Measured,
    Rate,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.verdicts import (
    Bracket,
    Decision,
    bracket,
    c4_verdict,
    c5_verdict,
    c7_verdict,
    c12_verdict,
)
from bottlenet.spec import NetSpec
from bottlenet.trainer import train

REGIMES = {"adam lr 0.05": {"optimizer": "adam", **ARTICLE_REGIME},
           "sgd lr 1": {"optimizer": "sgd", "lr": 1.0, "logit_scale": False},
           # bottlenet's default regime: what training reaches when the weights may grow
           "adam lr 0.01, logit scale": {"optimizer": "adam", "lr": 0.01, "logit_scale": True}}

# A capacity search as stored: CapacityResult.summary() (configuration, frontier, the
# trials tested); CapacityResult.from_summary reads it back for the charts.
Summary = dict[str, Any]


def _sweep(ctx: Context, ks, regime: dict, task: str = "shift",
           activation: str = "tanh") -> list[Summary]:
    b = ctx.budget
    out = []
    for k in ks:
        cfg = CapacityConfig(hidden=k, activation=activation, task=task, seeds=b.capacity_seeds,
                             steps=b.capacity_steps, seed=ctx.seed, **regime)
        def trial_ended(c, r, cached) -> None:
            ctx.tell(f"capacity {c.label()} {c.optimizer} lr {c.lr:g}: n={r.n} "
                     f"{r.successes}/{r.trials} solved")

        def step(done: int, steps: int, k: int = k) -> None:
            ctx.tell(f"capacity k={k}: a trial at step {done:,} of {steps:,}")

        result = measure(cfg, ctx.store, 0.5, b.capacity_max_n, resolution=b.resolution,
                         on_trial=trial_ended, progress=step)
        out.append(result.summary())
    return out


def frontier_bracket(s: Summary) -> Bracket:
    """A stored search's frontier with its uncertainty (verdicts.Bracket)."""
    return bracket(s["frontier_n"], [(t["n"], t["successes"], t["seeds"]) for t in s["trials"]],
                   s["threshold"])


def _frontier_text(s: Summary) -> str:
    return f"{s['frontier_n']}{'+' if s['censored'] else ''}"


def _results(sweep: list[Summary]) -> list[CapacityResult]:
    return [CapacityResult.from_summary(s) for s in sweep]


def _atlas(sweeps: dict[str, list[Summary]], max_n: int) -> Picture:
    ks = sorted({s["config"]["hidden"] for sweep in sweeps.values() for s in sweep})
    fig = draw.capacity_atlas({name: _results(s) for name, s in sweeps.items()},
                              representable(ks))
    return (f"Capacity atlas: the frontier of each regime against k (triangles: still solved "
            f"at n = {max_n}, the largest tried) beside what k tanh units can "
            "represent in float32 with hand-made weights (codes on a circle, or on a grid).",
            fig)


def _capacity_regime(b: Budget) -> dict[str, Any]:
    return {"seeds": b.capacity_seeds, "steps": b.capacity_steps, "max_n": b.capacity_max_n}


# ---- C4: how many symbols k units carry -------------------------------------------------


class C4Numbers(Measured):
    sweeps: dict[str, list[Summary]]  # regime -> one search per k (1..4)
    connections_11: dict[str, int]  # "direct", "two_units": connections for 11 symbols


def c4_measure(ctx: Context) -> C4Numbers:
    conn = NetSpec(11, 11, (2,)).n_connections, NetSpec(11, 11, ()).n_connections
    return {"regime": {"regimes": list(REGIMES), **_capacity_regime(ctx.budget),
                       "task": "shift", "activation": "tanh"},
            "sweeps": {name: _sweep(ctx, (1, 2, 3, 4), r) for name, r in REGIMES.items()},
            "connections_11": {"direct": conn[1], "two_units": conn[0]}}


def c4_judge(m: C4Numbers) -> Decision:
    return c4_verdict({name: {s["config"]["hidden"]: frontier_bracket(s) for s in sweep}
                       for name, sweep in m["sweeps"].items()})


def c4_describe(m: C4Numbers) -> str:
    conn = m["connections_11"]
    return "; ".join(f"{name}: " + ", ".join(
        f"k={s['config']['hidden']} {_frontier_text(s)}" for s in sweep)
        for name, sweep in m["sweeps"].items()) + \
        f"; connections for 11 symbols: {conn['direct']} direct, {conn['two_units']} with 2 units"


def c4_draw(m: C4Numbers) -> list[Picture]:
    r = m["regime"]
    pictures: list[Picture] = [
        (f"Capacity with {name}: share of {r['seeds']} seeds that solved within "
         f"{r['steps']} steps, against n.", draw.capacity_chart(_results(s)))
        for name, s in m["sweeps"].items()]
    pictures.append(_atlas(m["sweeps"], r["max_n"]))
    return pictures


C4 = Claim("C4", c4_measure, c4_judge, c4_describe, c4_draw)

# ---- C5: what it costs --------------------------------------------------------------------


def _time_per_example(n: int, k: int, population: int, steps: int) -> float:
    task = tasks.shift(n)
    cfg = TrainConfig(seeds=population, steps=steps, stop="never", chunk=steps,
                      log_every=steps, **ARTICLE_REGIME)
    spec = NetSpec(n, n, (k,))
    train(task, spec, cfg)  # compile
    start = time.perf_counter()
    train(task, spec, cfg)
    return (time.perf_counter() - start) / (population * steps * task.n_pairs)


C5_GRID = [(n, k) for k in (2, 4) for n in (32, 64, 128, 256)]


class C5Timing(TypedDict):
    n: int
    k: int
    connections: int
    seconds_per_example: float


class C5Numbers(Measured):
    timings: list[C5Timing]
    cost_slope: float  # log-log slope of time per example against connections
    capacity_slope: float  # log-log slope of the frontier against k (2..4)
    sweep: list[Summary]  # the article's regime, k = 2..4


def c5_measure(ctx: Context) -> C5Numbers:
    """Time per training example over a grid of sizes, the log-log slope of time against
    connections, the capacity frontiers for k = 2..4 and their log-log slope against k."""
    population, steps = ctx.budget.timing_population, ctx.budget.timing_steps
    rows = [C5Timing(n=n, k=k, connections=2 * n * k,
                     seconds_per_example=_time_per_example(n, k, population, steps))
            for n, k in C5_GRID]
    slope_cost = float(np.polyfit(np.log([r["connections"] for r in rows]),
                                  np.log([r["seconds_per_example"] for r in rows]), 1)[0])
    sweep = _sweep(ctx, (2, 3, 4), REGIMES["adam lr 0.05"])
    ks = [s["config"]["hidden"] for s in sweep]
    slope_cap = float(np.polyfit(np.log(ks), np.log([max(s["frontier_n"], 1) for s in sweep]),
                                 1)[0])
    return {"regime": {"population": population, "timed_steps": steps,
                       "device": "the machine running this", **_capacity_regime(ctx.budget)},
            "timings": rows, "cost_slope": slope_cost, "capacity_slope": slope_cap,
            "sweep": sweep}


def _c5_frontiers(m: C5Numbers) -> dict[int, int]:
    return {s["config"]["hidden"]: max(s["frontier_n"], 1) for s in m["sweep"]}


def c5_judge(m: C5Numbers) -> Decision:
    return c5_verdict(m["cost_slope"], m["capacity_slope"])


def c5_describe(m: C5Numbers) -> str:
    return (f"time per training example against connections: log-log slope "
            f"{m['cost_slope']:.2f}; capacity against k (k=2..4): log-log slope "
            f"{m['capacity_slope']:.2f} (frontiers {_c5_frontiers(m)})")


def c5_draw(m: C5Numbers) -> list[Picture]:
    return [("Left: time per training example against connections. Right: capacity "
             "against k.", cost_and_capacity_chart(m["timings"], m["cost_slope"],
                                                   _c5_frontiers(m), m["capacity_slope"])),
            _atlas({"adam lr 0.05": m["sweep"]}, m["regime"]["max_n"])]


C5 = Claim("C5", c5_measure, c5_judge, c5_describe, c5_draw)

# ---- C7: a permutation or the identity is as hard as the shift ---------------------------

C7_MAPPINGS = ("shift", "permutation", "identity")


class C7Numbers(Measured):
    searches: dict[str, Summary]  # mapping -> its search, k = 2


def c7_measure(ctx: Context) -> C7Numbers:
    return {"regime": {"k": 2, **_capacity_regime(ctx.budget)},
            "searches": {name: _sweep(ctx, (2,), REGIMES["adam lr 0.05"], task=name)[0]
                         for name in C7_MAPPINGS}}


def c7_judge(m: C7Numbers) -> Decision:
    return c7_verdict({name: frontier_bracket(s) for name, s in m["searches"].items()})


def c7_describe(m: C7Numbers) -> str:
    return ", ".join(f"{name}: frontier {s['frontier_n']}"
                     for name, s in m["searches"].items()) + " (k=2)"


def c7_draw(m: C7Numbers) -> list[Picture]:
    return [("Success rate against n for the three mappings, 2 tanh units.",
             draw.capacity_chart(_results(list(m["searches"].values()))))]


C7 = Claim("C7", c7_measure, c7_judge, c7_describe, c7_draw)

# ---- C12: ReLU needs more units than tanh --------------------------------------------------

C12_GRID = [(regime, act, k) for regime in REGIMES for act in ("tanh", "relu")
            for k in (2, 3, 4)]


class C12Rate(TypedDict):
    regime: str  # a key of REGIMES
    activation: str
    k: int
    solved: Rate


class C12Numbers(Measured):
    rates: list[C12Rate]


def c12_measure(ctx: Context) -> C12Numbers:
    """Solve rates on shift 11 over C12_GRID (every regime of C4, tanh and ReLU, k=2..4)."""
    task = tasks.shift(11)
    rates = []
    for regime, act, k in C12_GRID:
        pop = ctx.train(task, NetSpec(11, 11, (k,), act), **REGIMES[regime])
        rates.append(C12Rate(regime=regime, activation=act, k=k,
                             solved=rate_numbers(int(pop.solved.sum()), pop.size)))
    return {"regime": {"n": 11, "regimes": list(REGIMES), "seeds": ctx.budget.seeds,
                       "steps": ctx.budget.steps}, "rates": rates}


def c12_judge(m: C12Numbers) -> Decision:
    table: dict[str, dict[tuple[str, int], dict]] = {}
    for r in m["rates"]:
        table.setdefault(r["regime"], {})[(r["activation"], r["k"])] = dict(r["solved"])
    return c12_verdict(table)


def c12_describe(m: C12Numbers) -> str:
    return "; ".join(f"{r['regime']} {r['activation']} k={r['k']}: "
                     f"{rate_text(r['solved']['successes'], r['solved']['trials'])}"
                     for r in m["rates"])


def c12_draw(m: C12Numbers) -> list[Picture]:
    rates = m["rates"]
    return [("Share of seeds solving 11 symbols, by regime, activation and k.",
             rate_bars([f"{REGIMES[r['regime']]['optimizer']} {r['activation']} k={r['k']}"
                        for r in rates], [r["solved"]["successes"] for r in rates],
                       [r["solved"]["trials"] for r in rates], "11 symbols"))]


C12 = Claim("C12", c12_measure, c12_judge, c12_describe, c12_draw)
