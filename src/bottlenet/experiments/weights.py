"""C8 and C17: what the weights of a solved 11-symbol network carry."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from bottlenet import draw, tasks
from bottlenet.draw.claims import pruning_chart, value_bars
from bottlenet.draw.common import BAR, PALE, png_base64
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.experiments.base import claim_result
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


def c8_measure(ctx) -> tuple[dict, object]:
    """Share of the solved networks that still solve, and their median accuracy, after
    the weakest weights are removed, and after rounding to integers. Returns the numbers
    and the population (for the pictures)."""
    task = tasks.shift(11)
    spec = NetSpec(11, 11, (2,))
    pop = ctx.train(task, spec)
    solved = np.flatnonzero(pop.solved)
    table = {}
    for f in FRACTIONS:
        results = [_solved(spec, task, _prune(pop.network(i), f)) for i in solved]
        table[str(f)] = {
            "still_solved": float(np.mean([r[0] for r in results])) if results else 0,
            "accuracy": float(np.median([r[1] for r in results])) if results else 0}
    rounded = [_solved(spec, task, tuple({k: np.round(v) for k, v in layer.items()}
                                         for layer in pop.network(i)))[0] for i in solved]
    return {"pruning": table, "rounded_integers": float(np.mean(rounded)) if rounded else 0.0,
            "networks_tested": int(len(solved))}, pop


def c8_weak(ctx):
    numbers, pop = c8_measure(ctx)
    table = numbers["pruning"]
    decision = c8_verdict({float(f): v["still_solved"] for f, v in table.items()},
                          numbers["networks_tested"])
    best = pop.network(pop.best())
    return claim_result(
        "C8", "; ".join(f"{100 * float(f):.0f}% removed: {100 * v['still_solved']:.0f}% still "
                        "solve" for f, v in table.items()) + "; weights rounded to integers: "
        f"{100 * numbers['rounded_integers']:.0f}% still solve", decision,
        {"n": 11, "k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
         "seeds": ctx.budget.seeds, "networks_tested": numbers["networks_tested"]},
        {"pruning": table, "rounded_integers": numbers["rounded_integers"]},
        [("Share of solved networks that survive removing their weakest weights.",
          png_base64(pruning_chart(table, numbers["networks_tested"]))),
         ("The article's worked example, redone: input 3 of the best network, every output's "
          "sum written out, powers of two as the article explains softmax.",
          png_base64(draw.walkthrough(pop.spec, pop.task, best, 2, pow2=True))),
         ("The best network with the article's numbers on nodes.",
          png_base64(draw.diagram(pop.spec, pop.task, best, numbers=True)))])


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


def c17_measure(ctx) -> dict:
    """Fewest bits per weight at which half the solved networks still solve, for 2 tanh
    units and for direct connections, beside the raw table and log2(11!)."""
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
    return {"networks": found, "log2_factorial": math.log2(math.factorial(11)),
            "table_bits": task.n_pairs * math.ceil(math.log2(task.n_out))}


def c17_bits(ctx):
    numbers = c17_measure(ctx)
    found, perm_bits, table_bits = (numbers["networks"], numbers["log2_factorial"],
                                    numbers["table_bits"])
    net, direct = found["2 tanh units"]["total_bits"], found["direct"]["total_bits"]
    return claim_result(
        "C17", "; ".join(f"{k}: {v['bits_per_weight']} bits per weight, {v['total_bits']} "
                         f"bits in all ({v['params']} parameters + 32-bit scales)"
                         for k, v in found.items())
        + f"; raw table {table_bits} bits; log2(11!) = {perm_bits:.1f} bits",
        c17_verdict(net, direct),
        {"n": 11, "optimizer": "adam", "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
        numbers,
        [("Bits needed, log scale.",
          png_base64(value_bars(["log2(11!)", "table", "2 units", "direct"],
                                [perm_bits, table_bits, net or 0, direct or 0], "bits",
                                "bits to store the 11-symbol shift", [PALE, PALE, BAR, "#d7191c"],
                                log=True)))])
