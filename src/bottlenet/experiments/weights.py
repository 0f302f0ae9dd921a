"""C8 and C17: what the weights of a solved 11-symbol network carry."""

from __future__ import annotations

import math

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from bottlenet import draw, tasks
from bottlenet.draw.common import BAR, PALE
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.experiments.base import (
    ClaimResult,
    png,
    value_bars,
)
from bottlenet.experiments.verdicts import c8_verdict, c17_verdict
from bottlenet.spec import NetSpec

FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def _solved(spec, task, params) -> tuple[bool, float]:
    ev = evaluate(spec, tuple({k: jnp.asarray(v) for k, v in layer.items()} for layer in params),
                  task_arrays(task))
    return bool(ev.solved), float(ev.accuracy)


def _prune(params, fraction: float):
    """Zero the weakest `fraction` of each layer's weights (biases kept)."""
    out = []
    for layer in params:
        w = np.array(layer["w"])
        if fraction > 0:
            cut = np.quantile(np.abs(w), fraction)
            w = np.where(np.abs(w) <= cut, 0.0, w)
        out.append({**layer, "w": w})
    return tuple(out)


def c8_weak(ctx) -> ClaimResult:
    task = tasks.shift(11)
    spec = NetSpec(11, 11, (2,))
    pop = ctx.train(task, spec)
    solved = np.flatnonzero(pop.solved)
    table = {}
    for f in FRACTIONS:
        results = [_solved(spec, task, _prune(pop.network(i), f)) for i in solved]
        table[f] = {"still_solved": float(np.mean([r[0] for r in results])) if results else 0,
                    "accuracy": float(np.median([r[1] for r in results])) if results else 0}
    rounded = [_solved(spec, task, tuple({k: np.round(v) for k, v in layer.items()}
                                         for layer in pop.network(i)))[0] for i in solved]
    rounded_rate = float(np.mean(rounded)) if rounded else 0.0
    decision = c8_verdict({f: v["still_solved"] for f, v in table.items()})
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([100 * f for f in FRACTIONS], [table[f]["still_solved"] for f in FRACTIONS], "o-",
            label="share of networks still solving")
    ax.plot([100 * f for f in FRACTIONS], [table[f]["accuracy"] for f in FRACTIONS], "s--",
            label="median accuracy")
    ax.set_xlabel("weakest weights removed, % of each layer")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"pruning {len(solved)} solved 11-symbol networks", fontsize=9)
    fig.tight_layout()
    best = pop.network(pop.best())
    return ClaimResult(
        "C8", "Weak connections matter",
        "you can't just look at the strong connections. Even the weak connections are "
        "important.",
        "In the 11-symbol, 2-unit network, removing the weakest connections breaks it.",
        "weak connections are needed",
        "; ".join(f"{100 * f:.0f}% removed: {100 * v['still_solved']:.0f}% still solve"
                  for f, v in table.items()) + f"; weights rounded to integers: "
        f"{100 * rounded_rate:.0f}% still solve", decision.verdict, decision.rule,
        {"n": 11, "k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
         "seeds": ctx.budget.seeds, "networks_tested": int(len(solved))},
        {"pruning": {str(k): v for k, v in table.items()}, "rounded_integers": rounded_rate},
        [("Share of solved networks that survive removing their weakest weights.", png(fig)),
         ("The article's worked example, redone: input 3 of the best network, every output's "
          "sum written out, powers of two as the article explains softmax.",
          png(draw.walkthrough(spec, task, best, 2, pow2=True))),
         ("The best network with the article's numbers on nodes.",
          png(draw.diagram(spec, task, best, numbers=True)))],
        deciding=decision.deciding)


def _quantise(params, bits: int):
    """Uniform symmetric quantisation of every array to `bits` bits (one scale each)."""
    levels = 2 ** (bits - 1) - 1 if bits > 1 else 1
    out = []
    for layer in params:
        q = {}
        for k, v in layer.items():
            scale = float(np.max(np.abs(v))) or 1.0
            q[k] = np.round(np.asarray(v) / scale * levels) / levels * scale
        out.append(q)
    return tuple(out)


def _smallest_bits(spec, task, pop) -> tuple[int | None, dict]:
    rates = {}
    solved = np.flatnonzero(pop.solved)
    for bits in range(1, 13):
        ok = [_solved(spec, task, _quantise(pop.network(i), bits))[0] for i in solved]
        rates[bits] = float(np.mean(ok)) if ok else 0.0
    best = next((b for b, r in rates.items() if r >= 0.5), None)
    return best, rates


def c17_bits(ctx) -> ClaimResult:
    task = tasks.shift(11)
    specs = {"2 tanh units": NetSpec(11, 11, (2,)), "direct": NetSpec(11, 11, ())}
    found = {}
    for name, spec in specs.items():
        pop = ctx.train(task, spec)
        bits, rates = _smallest_bits(spec, task, pop)
        arrays = sum(len(layer) for layer in pop.network(0))
        total = None if bits is None else bits * spec.n_params + 32 * arrays
        found[name] = {"bits_per_weight": bits, "total_bits": total, "params": spec.n_params,
                       "rates": rates}
    perm_bits = math.log2(math.factorial(11))
    table_bits = task.n_pairs * math.ceil(math.log2(task.n_out))
    net, direct = found["2 tanh units"]["total_bits"], found["direct"]["total_bits"]
    decision = c17_verdict(net, direct)
    fig = value_bars(["log2(11!)", "table", "2 units", "direct"],
                     [perm_bits, table_bits, net or 0, direct or 0], "bits",
                     "bits to store the 11-symbol shift",
                     [PALE, PALE, BAR, "#d7191c"], log=True)
    return ClaimResult(
        "C17", "Compression in bits, not connections (beyond the article)",
        "without the middle layer I would have needed 11 x 11 = 121 connections ... with "
        "that middle layer I can do it in only 11 x 2 x 2 = 44 connections.",
        "Counting bits instead of connections: quantise solved networks to the fewest bits "
        "per weight that still solve, and compare the bottleneck with direct connections, "
        "the raw table and log2(n!) bits that naming a permutation needs.",
        "44 vs 121 connections",
        "; ".join(f"{k}: {v['bits_per_weight']} bits per weight, {v['total_bits']} bits in "
                  f"all ({v['params']} parameters + 32-bit scales)" for k, v in found.items())
        + f"; raw table {table_bits} bits; log2(11!) = {perm_bits:.1f} bits", decision.verdict,
        decision.rule,
        {"n": 11, "optimizer": "adam", "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
        {"networks": found, "log2_factorial": perm_bits, "table_bits": table_bits},
        [("Bits needed, log scale.", png(fig))],
        notes="Both networks stay far above the table itself: a network earns its keep by "
        "generalising or by serving many mappings, not by storing one table.",
        deciding=decision.deciding)
