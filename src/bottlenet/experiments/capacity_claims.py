"""C4, C5, C7, C12: how many symbols k units carry, and what it costs."""

from __future__ import annotations

import time

import numpy as np

from bottlenet import draw, tasks
from bottlenet.capacity import measure, representable
from bottlenet.config import CapacityConfig, TrainConfig
from bottlenet.draw.claims import cost_and_capacity_chart, rate_bars
from bottlenet.draw.common import png_base64
from bottlenet.experiments.base import (
    ARTICLE_REGIME,
    claim_result,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.verdicts import (
    C4_ARTICLE,
    C4_FACTOR,
    c4_verdict,
    c5_verdict,
    c7_ratios,
    c7_verdict,
    c12_verdict,
)
from bottlenet.spec import NetSpec
from bottlenet.trainer import train

REGIMES = {"adam lr 0.05": {"optimizer": "adam", **ARTICLE_REGIME},
           "sgd lr 1": {"optimizer": "sgd", "lr": 1.0, "logit_scale": False},
           # bottlenet's default regime: what training reaches when the weights may grow
           "adam lr 0.01, logit scale": {"optimizer": "adam", "lr": 0.01, "logit_scale": True}}


def _sweep(ctx, ks, regime: dict, task: str = "shift", activation: str = "tanh"):
    b = ctx.budget
    out = {}
    for k in ks:
        cfg = CapacityConfig(hidden=k, activation=activation, task=task, seeds=b.capacity_seeds,
                             steps=b.capacity_steps, seed=ctx.seed, **regime)
        out[k] = measure(cfg, ctx.store, 0.5, b.capacity_max_n, resolution=b.resolution,
                         on_trial=lambda c, r, cached: ctx.tell(
                             f"capacity {c.label()} {c.optimizer} lr {c.lr:g}: n={r.n} "
                             f"{r.successes}/{r.trials} solved"),
                         progress=lambda d, n, k=k: ctx.tell(
                             f"capacity k={k}: a trial at step {d:,} of {n:,}"))
    return out


def c4_capacity(ctx):
    sweeps = {name: _sweep(ctx, (1, 2, 3, 4), r) for name, r in REGIMES.items()}
    fr = {name: {k: res.frontier.n for k, res in s.items()} for name, s in sweeps.items()}
    decision = c4_verdict(fr)
    conn = NetSpec(11, 11, (2,)).n_connections, NetSpec(11, 11, ()).n_connections
    b = ctx.budget
    measured = "; ".join(
        f"{name}: " + ", ".join(f"k={k} {n}{'+' if sweeps[name][k].frontier.censored else ''}"
                                for k, n in fr[name].items()) for name in fr)
    measured += f"; connections for 11 symbols: {conn[1]} direct, {conn[0]} with 2 units"
    pictures = [(f"Capacity with {name}: share of {b.capacity_seeds} seeds that solved within "
                 f"{b.capacity_steps} steps, against n.",
                 png_base64(draw.capacity_chart(list(s.values())))) for name, s in sweeps.items()]
    pictures.append(_atlas(sweeps, b))
    return claim_result(
        "C4", measured, decision,
        {"regimes": list(REGIMES), "seeds": b.capacity_seeds, "steps": b.capacity_steps,
         "max_n": b.capacity_max_n, "task": "shift", "activation": "tanh"},
        {"frontiers": fr, "article": C4_ARTICLE,
         "regimes_reproducing": [name for name, p in decision.parts.items()
                                 if p["reproduces"]],
         "regimes_far_beyond_11": [name for name in fr
                                   if fr[name][2] > C4_FACTOR * C4_ARTICLE[2]],
         "connections_11": {"direct": conn[1], "two_units": conn[0]},
         "sweeps": {name: [r.summary() for r in s.values()] for name, s in sweeps.items()}},
        pictures)


def _atlas(sweeps: dict, b) -> tuple[str, str]:
    ks = sorted({k for s in sweeps.values() for k in s})
    fig = draw.capacity_atlas({name: list(s.values()) for name, s in sweeps.items()},
                              representable(ks))
    return (f"Capacity atlas: the frontier of each regime against k (triangles: still solved "
            f"at n = {b.capacity_max_n}, the largest tried) beside what k tanh units can "
            "represent in float32 with hand-made weights (codes on a circle, or on a grid).",
            png_base64(fig))


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


def c5_measure(ctx) -> tuple[dict, dict]:
    """Time per training example over a grid of sizes, the log-log slope of time against
    connections, the capacity frontiers for k = 2..4 and their log-log slope against k.
    Returns the numbers and the capacity results (for the atlas)."""
    population, steps = ctx.budget.timing_population, ctx.budget.timing_steps
    rows = [{"n": n, "k": k, "connections": 2 * n * k,
             "seconds_per_example": _time_per_example(n, k, population, steps)}
            for n, k in C5_GRID]
    slope_cost = float(np.polyfit(np.log([r["connections"] for r in rows]),
                                  np.log([r["seconds_per_example"] for r in rows]), 1)[0])
    cap = _sweep(ctx, (2, 3, 4), REGIMES["adam lr 0.05"])
    ks = sorted(cap)
    fr = {k: max(cap[k].frontier.n, 1) for k in ks}
    slope_cap = float(np.polyfit(np.log(ks), np.log([fr[k] for k in ks]), 1)[0])
    return {"timings": rows, "cost_slope": slope_cost, "capacity_slope": slope_cap,
            "frontiers": fr}, cap


def c5_cost(ctx):
    numbers, cap = c5_measure(ctx)
    decision = c5_verdict(numbers["cost_slope"], numbers["capacity_slope"])
    return claim_result(
        "C5", f"time per training example against connections: log-log slope "
        f"{numbers['cost_slope']:.2f}; capacity against k (k=2..4): log-log slope "
        f"{numbers['capacity_slope']:.2f} (frontiers {numbers['frontiers']})", decision,
        {"population": ctx.budget.timing_population, "timed_steps": ctx.budget.timing_steps,
         "device": "the machine running this"}, numbers,
        [("Left: time per training example against connections. Right: capacity against k.",
          png_base64(cost_and_capacity_chart(numbers["timings"], numbers["cost_slope"],
                                             numbers["frontiers"], numbers["capacity_slope"]))),
         _atlas({"adam lr 0.05": cap}, ctx.budget)])


def c7_permutations(ctx):
    results = {name: _sweep(ctx, (2,), REGIMES["adam lr 0.05"], task=name)[2]
               for name in ("shift", "permutation", "identity")}
    fr = {name: r.frontier.n for name, r in results.items()}
    decision = c7_verdict(fr)
    return claim_result(
        "C7", ", ".join(f"{k}: frontier {v}" for k, v in fr.items()) + " (k=2)", decision,
        {"k": 2, "seeds": ctx.budget.capacity_seeds, "steps": ctx.budget.capacity_steps},
        {"frontiers": fr, "ratios": c7_ratios(fr)},
        [("Success rate against n for the three mappings, 2 tanh units.",
          png_base64(draw.capacity_chart(list(results.values()))))])


C12_GRID = [(regime, act, k) for regime in REGIMES for act in ("tanh", "relu")
            for k in (2, 3, 4)]


def c12_measure(ctx) -> dict[str, dict]:
    """"regime activation k=K" -> solve rate on shift 11, over C12_GRID (every regime of
    C4, tanh and ReLU, k = 2..4)."""
    task = tasks.shift(11)
    rates = {}
    for regime, act, k in C12_GRID:
        pop = ctx.train(task, NetSpec(11, 11, (k,), act), **REGIMES[regime])
        rates[f"{regime} {act} k={k}"] = rate_numbers(int(pop.solved.sum()), pop.size)
    return rates


def c12_relu(ctx):
    rates = c12_measure(ctx)
    decision = c12_verdict({r: {(a, k): rates[f"{r} {a} k={k}"]
                                for r2, a, k in C12_GRID if r2 == r} for r in REGIMES})
    return claim_result(
        "C12", "; ".join(f"{key}: {rate_text(v['successes'], v['trials'])}"
                         for key, v in rates.items()), decision,
        {"n": 11, "regimes": list(REGIMES), "seeds": ctx.budget.seeds,
         "steps": ctx.budget.steps},
        {"rates": rates,
         "regimes_reproducing": [r for r, p in decision.parts.items()
                                 if p["reproduces"] is True],
         "regimes_relu_worse_at_k2": [r for r, p in decision.parts.items()
                                      if p["relu worse at k=2"] is True]},
        [("Share of seeds solving 11 symbols, by regime, activation and k.",
          png_base64(rate_bars([f"{r.split()[0]} {a} k={k}" for r, a, k in C12_GRID],
                               [v["successes"] for v in rates.values()],
                               [v["trials"] for v in rates.values()], "11 symbols")))])
