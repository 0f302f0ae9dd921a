"""C18-C20: what the comment thread says that the other claims do not measure: sinh
against tanh (and arctan), the Glorot-Bordes-Bengio hypothesis about hard zeros, and
binary (sign) units read from tanh-trained networks."""

from __future__ import annotations

import functools
import math
from typing import TypedDict

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import activations, tasks
from bottlenet.check import check_network
from bottlenet.draw.claims import band_share_chart, rate_bars, value_bars
from bottlenet.experiments.base import (
    Measured,
    Quartiles,
    Rate,
    median_or_none,
    quartiles,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.falsification import skewed_task
from bottlenet.experiments.verdicts import Decision, c18_verdict, c19_verdict, c20_verdict
from bottlenet.spec import NetSpec

# ---- C18: sinh, arctan and tanh --------------------------------------------------------

C18_ACTS = ("tanh", "sinh", "arctan")
C18_BAND = 0.5  # the meta-stable band: |f(z)| below this (neither on nor off)
C18_FLAT = 0.1  # the flat part: slope f'(z) below this (saturated)
C18_SNAPSHOTS = 8  # points over training where the pre-activations are read


def _pre_activations(params) -> np.ndarray:
    """First hidden layer's pre-activations for every one-hot input: (P, n_in, k)."""
    first = params[0]
    z = np.asarray(first["w"], np.float64)
    return z + np.asarray(first["b"], np.float64)[:, None, :] if "b" in first else z


@functools.cache
def _slope(name: str):
    """f' of the activation `name`, element-wise, compiled once per activation."""
    return jax.jit(jax.vmap(jax.grad(activations.get(name).fn)))


def band_shares(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per network (P,): the share of pre-activations z (P, n, k) in the meta-stable band
    |f(z)| < C18_BAND and the share on the flat part f'(z) < C18_FLAT."""
    fn = activations.get(name).fn
    values = np.abs(np.asarray(fn(jnp.asarray(z))))
    slopes = np.asarray(_slope(name)(jnp.asarray(z.ravel()))).reshape(z.shape)
    axes = (1, 2)
    return (np.mean(values < C18_BAND, axis=axes),
            np.mean(np.nan_to_num(slopes, nan=np.inf) < C18_FLAT, axis=axes))


class C18Row(TypedDict):
    solved: Rate
    median_solve_step: float | None
    diverged: int
    meta_stable: Quartiles  # per network: share in the band, averaged over training
    meta_stable_curve: list[float]  # mean share in the band at each snapshot
    flat_curve: list[float]  # mean share on the flat part at each snapshot
    largest_hidden_value: Quartiles  # per network that did not diverge: largest |h|


class C18Numbers(Measured):
    rows: dict[str, C18Row]  # activation (C18_ACTS) -> numbers
    snapshot_steps: list[int]


def c18_measure(ctx: Context) -> C18Numbers:
    """activation -> solve rate, median solve step, divergence, and the meta-stable and
    flat shares over training; the article's task and network (shift 11, 2 units)."""
    task, steps = tasks.shift(11), ctx.budget.steps
    marks = tuple(steps * j // C18_SNAPSHOTS for j in range(1, C18_SNAPSHOTS + 1))
    rows = {}
    for act in C18_ACTS:
        pop = ctx.train(task, NetSpec(11, 11, (2,), act), snapshots=marks)
        band, flat = zip(*(band_shares(act, _pre_activations(pop.snapshots[m]))
                           for m in marks), strict=True)
        band_by_net = np.mean(band, axis=0)  # (P,): averaged over training
        final = np.abs(np.asarray(activations.get(act).fn(
            jnp.asarray(_pre_activations(pop.params))))).max(axis=(1, 2))
        rows[act] = C18Row(
            solved=rate_numbers(int(pop.solved.sum()), pop.size),
            median_solve_step=median_or_none(pop.solve_step[pop.solve_step >= 0]),
            diverged=int(pop.diverged.sum()),
            meta_stable=quartiles(band_by_net),
            meta_stable_curve=[float(np.nanmean(b)) for b in band],
            flat_curve=[float(np.nanmean(f)) for f in flat],
            largest_hidden_value=quartiles(final[~pop.diverged]))
    return {"regime": {
        "task": "shift 11", "k": 2, "activations": list(C18_ACTS),
        "arctan": "(2/pi) arctan(pi z/2): tanh's range and slope at 0",
        "meta_stable_band": f"|f(z)| < {C18_BAND:g}", "flat": f"f'(z) < {C18_FLAT:g}",
        "optimizer": "adam lr 0.05, no logit scale (the article's regime)",
        "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
        "rows": rows, "snapshot_steps": list(marks)}


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def c18_judge(m: C18Numbers) -> Decision:
    return c18_verdict({a: dict(r) for a, r in m["rows"].items()})


def c18_describe(m: C18Numbers) -> str:
    return "; ".join(
        f"{a}: solved {rate_text(r['solved']['successes'], r['solved']['trials'])}, median "
        f"step {r['median_solve_step']}, diverged {r['diverged']}, in the meta-stable band "
        f"{_number(r['meta_stable']['median'], '.2f')} of the time (median network), "
        f"largest |h| {_number(r['largest_hidden_value']['median'], '.3g')}"
        for a, r in m["rows"].items())


def c18_draw(m: C18Numbers) -> list[Picture]:
    rows = m["rows"]
    return [("Share of seeds solving 11 symbols with 2 units, by activation.",
             rate_bars(list(rows), [r["solved"]["successes"] for r in rows.values()],
                       [r["solved"]["trials"] for r in rows.values()],
                       "tanh against sinh and arctan")),
            ("Share of hidden pre-activations in the meta-stable band |f(z)| < 1/2 (solid) "
             "and on the flat part f'(z) < 0.1 (dashed) over training.",
             band_share_chart({a: r["meta_stable_curve"] for a, r in rows.items()},
                              {a: r["flat_curve"] for a, r in rows.items()},
                              m["snapshot_steps"]))]


C18 = Claim("C18", c18_measure, c18_judge, c18_describe, c18_draw)


# ---- C19: hard zeros (Glorot, Bordes and Bengio) --------------------------------------

# hard zeros, the same zeros softened by degrees (slope below zero 0.01, 0.1, 0.3), none
C19_ACTS = ("relu", "leaky_relu", "leaky_relu:0.1", "leaky_relu:0.3", "softplus")
C19_K = 4  # the article: ReLU needed 4 units where tanh needed 2
C19_SKEW = 100


def zero_shares(name: str, z: np.ndarray) -> dict:
    """Per network (P,): the share of (input, unit) activations exactly zero (hard
    zeros), the share with z <= 0 (off, hard or softened), and the share of units off for
    every input (dead: no gradient ever reaches their incoming weights through f')."""
    values = np.asarray(activations.get(name).fn(jnp.asarray(z)))
    off = z <= 0
    return {"hard_zeros": np.mean(values == 0, axis=(1, 2)), "off": np.mean(off, axis=(1, 2)),
            "dead_units": np.mean(off.all(axis=1), axis=1)}


class C19Row(TypedDict):
    solved: Rate
    median_solve_step: float | None
    hard_zeros: float  # medians over the population (zero_shares)
    off: float
    dead_units: float
    networks_with_dead_units: int


class C19Numbers(Measured):
    tasks: dict[str, dict[str, C19Row]]  # task label -> activation (C19_ACTS) -> numbers


def c19_measure(ctx: Context) -> C19Numbers:
    """task -> activation -> solve rate, median step, hard zeros, dead units (medians)."""
    found = {}
    for label, task in (("shift 11", tasks.shift(11)),
                        (f"skewed {C19_SKEW}:1", skewed_task(C19_SKEW))):
        rows = {}
        for act in C19_ACTS:
            pop = ctx.train(task, NetSpec(11, 11, (C19_K,), act))
            shares = zero_shares(act, _pre_activations(pop.params))
            rows[act] = C19Row(
                solved=rate_numbers(int(pop.solved.sum()), pop.size),
                median_solve_step=median_or_none(pop.solve_step[pop.solve_step >= 0]),
                hard_zeros=float(np.median(shares["hard_zeros"])),
                off=float(np.median(shares["off"])),
                dead_units=float(np.median(shares["dead_units"])),
                networks_with_dead_units=int((shares["dead_units"] > 0).sum()))
        found[label] = rows
    return {"regime": {
        "tasks": {"shift 11": "shift on 11 symbols", f"skewed {C19_SKEW}:1": "the same, "
                  f"its first 5 pairs {C19_SKEW} times as frequent (C13's task)"},
        "k": C19_K, "activations": list(C19_ACTS),
        "leaky_relu": "slope 0.01 below zero (leaky_relu:S: slope S)",
        "optimizer": "adam lr 0.05, no logit scale",
        "steps": ctx.budget.steps, "seeds": ctx.budget.seeds}, "tasks": found}


def c19_judge(m: C19Numbers) -> Decision:
    return c19_verdict({t: {a: dict(r) for a, r in rows.items()}
                        for t, rows in m["tasks"].items()})


def c19_describe(m: C19Numbers) -> str:
    return "; ".join(
        f"{t}: " + ", ".join(
            f"{a} solved {rate_text(r['solved']['successes'], r['solved']['trials'])}, "
            f"hard zeros {r['hard_zeros']:.2f}, dead units {r['dead_units']:.2f}"
            for a, r in rows.items()) for t, rows in m["tasks"].items())


def c19_draw(m: C19Numbers) -> list[Picture]:
    labels = [f"{t}: {a}" for t, rows in m["tasks"].items() for a in rows]
    flat = [r for rows in m["tasks"].values() for r in rows.values()]
    return [(f"Share of seeds solving, {C19_K} units: hard zeros (ReLU), softened by "
             "degrees (leaky ReLU, slope 0.01, 0.1, 0.3 below zero), none (softplus).",
             rate_bars(labels, [r["solved"]["successes"] for r in flat],
                       [r["solved"]["trials"] for r in flat], "hard zeros")),
            ("Median share of hidden units that are off for every input (dead), per "
             "population.",
             value_bars(labels, [r["dead_units"] for r in flat], "share of units",
                        "units that never turn on"))]


C19 = Claim("C19", c19_measure, c19_judge, c19_describe, c19_draw)


# ---- C20: binary (sign) units ----------------------------------------------------------

C20_K = (2, 3, 4)


def sign_read(spec: NetSpec, params, task) -> tuple[bool, int, int]:
    """One tanh network read through sign(h): (still solved by the strict rule, pairs
    won, distinct binary codes). The hidden values become +-1 exactly: the first layer
    is replaced by those codes under a linear activation, the output layer kept."""
    z = _pre_activations(jax.tree.map(lambda a: np.asarray(a)[None], params))[0]
    codes = np.where(np.tanh(z) >= 0, 1.0, -1.0)
    binary = ({"w": codes, "b": np.zeros(codes.shape[1])}, params[-1])
    result = check_network(NetSpec(spec.n_in, spec.n_out, spec.hidden, "linear", spec.bias,
                                   spec.head), binary, task)
    return result.solved, result.won, len({tuple(row) for row in codes[list(task.inputs)]})


class SignRead(TypedDict):
    """Tanh networks at one n, read through sign(h)."""

    n: int
    pairs: int
    networks: int
    solved: int  # tanh networks that solve
    kept: int  # of those, how many still solve read through sign(h)
    median_pairs_won: float | None
    median_codes: float | None
    tanh_bits: float  # log2 n: what n distinct codes need
    binary_bits: int  # k: what k sign units carry


class C20Row(TypedDict):
    k: int
    room: SignRead  # n = 2^k
    crowded: SignRead  # n = 4 x 2^k


class C20Numbers(Measured):
    rows: list[C20Row]


def _sign_reads(ctx: Context, k: int, n: int) -> SignRead:
    task, spec = tasks.shift(n), NetSpec(n, n, (k,))
    pop = ctx.train(task, spec)
    reads = [sign_read(spec, pop.network(int(i)), task) for i in np.flatnonzero(pop.solved)]
    return SignRead(n=n, pairs=task.n_pairs, networks=pop.size, solved=int(pop.solved.sum()),
                    kept=sum(r[0] for r in reads),
                    median_pairs_won=median_or_none([r[1] for r in reads]),
                    median_codes=median_or_none([r[2] for r in reads]),
                    tanh_bits=math.log2(n), binary_bits=k)


def c20_measure(ctx: Context) -> C20Numbers:
    """Per k, for n = 2^k ("room") and 4 x 2^k ("crowded"): tanh networks solved, how
    many still solve read through sign(h), and the pairs won and codes used that way."""
    return {"regime": {"task": "shift n", "k": list(C20_K), "n": "2^k and 4 x 2^k",
                       "reading": "sign(h) = +-1 in place of tanh's h, output layer "
                       "unchanged, the strict rule in float64",
                       "optimizer": "adam lr 0.05, no logit scale",
                       "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
            "rows": [C20Row(k=k, room=_sign_reads(ctx, k, 2**k),
                            crowded=_sign_reads(ctx, k, 4 * 2**k)) for k in C20_K]}


def c20_judge(m: C20Numbers) -> Decision:
    return c20_verdict({f"k={r['k']}": {"room": dict(r["room"]), "crowded": dict(r["crowded"])}
                        for r in m["rows"]})


def c20_describe(m: C20Numbers) -> str:
    return "; ".join(
        f"k={row['k']}: " + ", ".join(
            f"n = {r['n']}: {r['kept']}/{r['solved']} solved tanh networks still solve "
            f"through sign(h) (median {r['median_pairs_won']} of {r['pairs']} pairs, "
            f"{r['median_codes']} codes)" for r in (row["room"], row["crowded"]))
        for row in m["rows"])


def c20_draw(m: C20Numbers) -> list[Picture]:
    labels, values, colours = [], [], []
    for row in m["rows"]:
        for label in ("room", "crowded"):
            r = row["room"] if label == "room" else row["crowded"]
            labels += [f"k={row['k']} n={r['n']}\ntanh", f"k={row['k']} n={r['n']}\nsign"]
            values += [r["pairs"] if r["solved"] else 0, r["median_pairs_won"] or 0]
            colours += ["#2166ac", "#d7191c" if label == "crowded" else "#f4a582"]
    return [("Pairs won by the tanh networks that solve (blue) and by the same networks read "
             "through sign(h) (median; red where n = 4 x 2^k: more symbols than 2^k codes).",
             value_bars(labels, values, "pairs won", "k binary units against k tanh units",
                        colours))]


C20 = Claim("C20", c20_measure, c20_judge, c20_describe, c20_draw)
