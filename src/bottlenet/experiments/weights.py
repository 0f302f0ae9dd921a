"""C8 and C17: what the weights of a solved 11-symbol network carry."""

from __future__ import annotations

import math
from typing import TypedDict

import jax.numpy as jnp
import numpy as np

from bottlenet import draw, tasks
from bottlenet.draw.claims import pruning_chart, value_bars
from bottlenet.draw.common import BAR, PALE
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.experiments.base import Measured
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.records import NetworkRecord, network_of, network_record
from bottlenet.experiments.verdicts import Decision, c8_verdict, c17_verdict
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


class Pruned(TypedDict):
    fraction: float  # share of each layer's weakest weights removed
    still_solved: float  # share of the solved networks that still solve
    accuracy: float  # their median accuracy


class C8Numbers(Measured):
    pruning: list[Pruned]
    rounded_integers: float  # share still solving with weights rounded to integers
    networks_tested: int  # the networks that solved, which the shares are of
    best: NetworkRecord


def c8_measure(ctx: Context) -> C8Numbers:
    """Share of the solved networks that still solve, and their median accuracy, after
    the weakest weights are removed, and after rounding to integers."""
    task = tasks.shift(11)
    spec = NetSpec(11, 11, (2,))
    pop = ctx.train(task, spec)
    solved = np.flatnonzero(pop.solved)
    table = []
    for f in FRACTIONS:
        results = [_solved(spec, task, _prune(pop.network(int(i)), f)) for i in solved]
        table.append(Pruned(
            fraction=f,
            still_solved=float(np.mean([r[0] for r in results])) if results else 0.0,
            accuracy=float(np.median([r[1] for r in results])) if results else 0.0))
    rounded = [_solved(spec, task, tuple({k: np.round(v) for k, v in layer.items()}
                                         for layer in pop.network(int(i))))[0] for i in solved]
    return {"regime": {"n": 11, "k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
                       "seeds": ctx.budget.seeds},
            "pruning": table, "rounded_integers": float(np.mean(rounded)) if rounded else 0.0,
            "networks_tested": int(len(solved)),
            "best": network_record(spec, task, pop.network(pop.best()))}


def c8_judge(m: C8Numbers) -> Decision:
    return c8_verdict({p["fraction"]: p["still_solved"] for p in m["pruning"]},
                      m["networks_tested"])


def c8_describe(m: C8Numbers) -> str:
    return "; ".join(f"{100 * p['fraction']:.0f}% removed: {100 * p['still_solved']:.0f}% "
                     "still solve" for p in m["pruning"]) + "; weights rounded to integers: " \
        f"{100 * m['rounded_integers']:.0f}% still solve"


def c8_draw(m: C8Numbers) -> list[Picture]:
    spec, task, best = network_of(m["best"])
    return [("Share of solved networks that survive removing their weakest weights.",
             pruning_chart(m["pruning"], m["networks_tested"])),
            ("The article's worked example, redone: input 3 of the best network, every "
             "output's sum written out, powers of two as the article explains softmax.",
             draw.walkthrough(spec, task, best, 2, pow2=True)),
            ("The best network with the article's numbers on nodes.",
             draw.diagram(spec, task, best, numbers=True))]


C8 = Claim("C8", c8_measure, c8_judge, c8_describe, c8_draw)


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


def _smallest_bits(spec, task, pop) -> tuple[int | None, list[Quantised]]:
    rates = []
    solved = np.flatnonzero(pop.solved)
    for bits in range(1, 13):
        ok = [_solved(spec, task, _quantise(pop.network(i), bits))[0] for i in solved]
        rates.append(Quantised(bits=bits, still_solved=float(np.mean(ok)) if ok else 0.0))
    best = next((r["bits"] for r in rates if r["still_solved"] >= 0.5), None)
    return best, rates


class Quantised(TypedDict):
    bits: int  # per weight
    still_solved: float  # share of the solved networks still solving


class Stored(TypedDict):
    bits_per_weight: int | None  # fewest at which half the solved networks still solve
    total_bits: int | None  # the network in that many bits, with one 32-bit scale per array
    params: int
    rates: list[Quantised]


class C17Numbers(Measured):
    networks: dict[str, Stored]  # "2 tanh units", "direct"
    log2_factorial: float  # log2(11!): any permutation of 11 symbols
    table_bits: int  # the raw table: 11 entries of ceil(log2 11) bits


def c17_measure(ctx: Context) -> C17Numbers:
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
        found[name] = Stored(bits_per_weight=bits, total_bits=total, params=spec.n_params,
                             rates=rates)
    return {"regime": {"n": 11, "optimizer": "adam", "steps": ctx.budget.steps,
                       "seeds": ctx.budget.seeds},
            "networks": found, "log2_factorial": math.log2(math.factorial(11)),
            "table_bits": task.n_pairs * math.ceil(math.log2(task.n_out))}


def c17_judge(m: C17Numbers) -> Decision:
    return c17_verdict(m["networks"]["2 tanh units"]["total_bits"],
                       m["networks"]["direct"]["total_bits"])


def c17_describe(m: C17Numbers) -> str:
    return "; ".join(f"{k}: {v['bits_per_weight']} bits per weight, {v['total_bits']} "
                     f"bits in all ({v['params']} parameters + 32-bit scales)"
                     for k, v in m["networks"].items()) + \
        f"; raw table {m['table_bits']} bits; log2(11!) = {m['log2_factorial']:.1f} bits"


def c17_draw(m: C17Numbers) -> list[Picture]:
    net = m["networks"]["2 tanh units"]["total_bits"]
    direct = m["networks"]["direct"]["total_bits"]
    return [("Bits needed, log scale.",
             value_bars(["log2(11!)", "table", "2 units", "direct"],
                        [m["log2_factorial"], m["table_bits"], net or 0, direct or 0], "bits",
                        "bits to store the 11-symbol shift", [PALE, PALE, BAR, "#d7191c"],
                        log=True))]


C17 = Claim("C17", c17_measure, c17_judge, c17_describe, c17_draw)
