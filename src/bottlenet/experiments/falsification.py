"""C13 and C14: the two tests the author proposed but never ran."""

from __future__ import annotations

from functools import partial
from typing import TypedDict

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import tasks
from bottlenet.draw.claims import rate_bars, trample_chart
from bottlenet.evaluation import batch_loss, evaluate, init_population, minibatch, task_arrays
from bottlenet.experiments.base import Measured, Rate, median_or_none, rate_numbers, rate_text
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.verdicts import Decision, c13_verdict, c14_verdict
from bottlenet.spec import NetSpec

N, COMMON = 11, 5  # shift 11; its first 5 pairs are the common ones
C13_SKEWS = (1, 10, 100, 1000)  # how many times more frequent a common pair is
C13_HIDDEN = (2, 4)
C13_LR = {"per-example": 0.1, "full batch": 0.5}


def skewed_task(skew: float) -> tasks.Task:
    """Shift on 11 symbols whose first 5 pairs are `skew` times as common as the rest."""
    base = tasks.shift(N)
    freqs = tuple(float(skew) if i < COMMON else 1.0 for i in range(base.n_pairs))
    return tasks.Task(f"skewed-shift11-{skew:g}to1", N, N, base.inputs, base.targets, freqs)


@partial(jax.jit, static_argnames=("spec", "steps", "batch"))
def _track(spec, params, keys, data, rare_out, rare_pair, lr, steps, batch):
    """Plain SGD for `steps` steps; per step, how far the rare outputs' weights were moved
    by the common pairs' share of the update and by the rare pairs' share. Per example
    (batch=1) a step's single example is one or the other; in full batch the gradient is
    split by pairs (the loss is a weighted sum over pairs, so the parts add up to it).

    An instrument, not a second trainer: it needs every step's weight movement, which the
    trainer (segments of compiled steps, no per-step hook) does not expose; the loss, the
    minibatch draw and the initial weights are the trainer's own (evaluation module)."""
    common_data = data._replace(weights=jnp.where(rare_pair, 0.0, data.weights))
    rare_data = data._replace(weights=jnp.where(rare_pair, data.weights, 0.0))

    def moved(g):
        return lr * jnp.sqrt(jnp.sum(jnp.where(rare_out, g[-1]["w"], 0.0) ** 2))

    def one(p, key):
        def step(p, t):
            if batch is None:
                g_common = jax.grad(lambda q: evaluate(spec, q, common_data).loss)(p)
                g_rare = jax.grad(lambda q: evaluate(spec, q, rare_data).loss)(p)
                g = jax.tree.map(jnp.add, g_common, g_rare)
                by_common, by_rare = moved(g_common), moved(g_rare)
            else:
                idx = minibatch(key, t, data, batch)
                g = jax.grad(lambda q: batch_loss(spec, q, data, idx))(p)
                common = ~jnp.any(rare_pair[idx])
                by_common = jnp.where(common, moved(g), 0.0)
                by_rare = jnp.where(common, 0.0, moved(g))
            new = jax.tree.map(lambda a, b: a - lr * b, p, g)
            return new, (by_common, by_rare)

        return jax.lax.scan(step, p, jnp.arange(steps))

    return jax.vmap(one)(params, keys)


class C13Run(TypedDict):
    """One population at one skew: its rare pairs predicted right, pooled over networks
    (a Rate of pair predictions), each network's disturbance, and networks solved."""

    skew: int
    rare_accuracy: Rate
    disturbances: list[float]  # per network (JSON keeps an infinite one as Infinity)
    solved: Rate


class C13Regime(TypedDict):
    k: int
    runs: dict[str, dict[str, list[C13Run]]]  # activation -> mode -> one run per skew


class C13Numbers(Measured):
    regimes: list[C13Regime]


MODES = ("per-example", "full batch")


def c13_run(spec, task, seeds, steps, batch, lr, skew: int, seed=0) -> C13Run:
    """One population's rare-pair accuracy and disturbances. Network i starts from
    seed + i, as everywhere; its minibatch draws come from its own stream (seed + i +
    10,000)."""
    data = task_arrays(task)
    rare_pair = jnp.asarray(np.arange(task.n_pairs) >= COMMON)
    rare_out = jnp.asarray(np.isin(np.arange(N), np.asarray(task.targets)[COMMON:]))
    params = init_population(spec, jnp.arange(seeds) + seed)
    keys = jax.vmap(jax.random.key)(jnp.arange(seeds) + seed + 10_000)
    params, (by_common, by_rare) = _track(spec, params, keys, data, rare_out, rare_pair, lr,
                                          steps, batch)
    ev = jax.vmap(evaluate, in_axes=(None, 0, None))(spec, params, data)
    correct = np.asarray(ev.logits).argmax(-1) == np.asarray(task.targets)
    # Over the whole run: how far common pairs moved the rare outputs' weights, relative
    # to how far their own pairs moved them (a network whose rare pairs never came up
    # in its draws has an enormous disturbance).
    disturbance = np.asarray(by_common).sum(1) / np.maximum(np.asarray(by_rare).sum(1), 1e-30)
    return {"skew": skew,
            "rare_accuracy": rate_numbers(int(correct[:, COMMON:].sum()),
                                          correct[:, COMMON:].size),
            "disturbances": [float(d) for d in disturbance],
            "solved": rate_numbers(int(np.asarray(ev.solved).sum()), seeds)}


def c13_measure(ctx: Context) -> C13Numbers:
    seeds, steps = ctx.budget.seeds, ctx.budget.steps
    regimes = []
    for k in C13_HIDDEN:
        runs: dict[str, dict[str, list[C13Run]]] = {}
        for act in ("tanh", "relu"):
            spec = NetSpec(N, N, (k,), act)
            by_mode: dict[str, list[C13Run]] = {m: [] for m in MODES}
            for skew in C13_SKEWS:
                task = skewed_task(skew)
                by_mode["per-example"].append(c13_run(
                    spec, task, seeds, 4 * steps, 1, C13_LR["per-example"], skew, ctx.seed))
                by_mode["full batch"].append(c13_run(
                    spec, task, seeds, steps, None, C13_LR["full batch"], skew, ctx.seed))
            runs[act] = by_mode
        regimes.append(C13Regime(k=k, runs=runs))
    return {"regime": {
        "task": f"shift 11, first {COMMON} pairs {', '.join(map(str, C13_SKEWS))} times as "
        "frequent", "k": list(C13_HIDDEN),
        "optimizer": f"plain SGD (lr {C13_LR['per-example']:g} per example, "
        f"{C13_LR['full batch']:g} full batch)",
        "steps": {"full batch": steps, "per-example": 4 * steps}, "seeds": seeds},
        "regimes": regimes}


def _c13_table(m: C13Numbers) -> dict[str, dict]:
    return {f"k={r['k']}": dict(r["runs"]) for r in m["regimes"]}


def c13_judge(m: C13Numbers) -> Decision:
    return c13_verdict(_c13_table(m))


def c13_describe(m: C13Numbers) -> str:
    def top(runs: list[C13Run]) -> C13Run:
        return max(runs, key=lambda r: r["skew"])

    return "; ".join(
        f"k={r['k']} at {top(r['runs']['tanh']['per-example'])['skew']}:1: " + ", ".join(
            f"{a} {mode} rare accuracy {top(r['runs'][a][mode])['rare_accuracy']['rate']:.2f}"
            f" disturbance {np.median(top(r['runs'][a][mode])['disturbances']):.3g}"
            for a in ("tanh", "relu") for mode in MODES)
        for r in m["regimes"])


def c13_draw(m: C13Numbers) -> list[Picture]:
    return [("Rare-pair accuracy and disturbance against the skew, per regime.",
             trample_chart(_c13_table(m)))]


C13 = Claim("C13", c13_measure, c13_judge, c13_describe, c13_draw)


C14_N, C14_K = 48, 4
C14_ZEROED = (0.0, 0.25, 0.5)  # share of input->hidden connections held at zero


class C14Row(TypedDict):
    zeroed: float  # share of input->hidden connections held at zero (0: dense)
    solved: Rate
    median_solve_step: float | None


class C14Numbers(Measured):
    rows: list[C14Row]


def c14_measure(ctx: Context) -> C14Numbers:
    """Share held at zero -> solve rate and median solve step, shift 48, 4 tanh units."""
    n, k, seeds = C14_N, C14_K, ctx.budget.seeds
    task, spec = tasks.shift(n), NetSpec(n, n, (k,), "tanh")
    rows = []
    for frac in C14_ZEROED:
        # which connections go: drawn from --seed too (seed 0 keeps the draws of before)
        rng = np.random.default_rng(1000 + int(100 * frac) + 1000 * ctx.seed)
        w1 = (rng.random((seeds, n, k)) >= frac).astype(np.float32)
        # No hidden biases in any variant: a removed connection then means an activation
        # of exactly tanh(0) = 0 for that input, kept there for ever.
        mask = ({"w": w1, "b": np.zeros((seeds, k), np.float32)},
                {"w": np.ones((seeds, k, n), np.float32), "b": np.ones((seeds, n), np.float32)})
        pop = ctx.train(task, spec, mask=mask)
        rows.append(C14Row(
            zeroed=frac, solved=rate_numbers(int(pop.solved.sum()), pop.size),
            median_solve_step=median_or_none(pop.solve_step[pop.solve_step >= 0])))
    return {"regime": {"n": C14_N, "k": C14_K, "hidden_biases": "none", "optimizer": "adam",
                       "steps": ctx.budget.steps, "seeds": ctx.budget.seeds}, "rows": rows}


def c14_judge(m: C14Numbers) -> Decision:
    return c14_verdict({r["zeroed"]: dict(r) for r in m["rows"]})


def c14_describe(m: C14Numbers) -> str:
    rows = {r["zeroed"]: r for r in m["rows"]}
    dense, sparse = rows[0.0], rows[0.25]
    return "; ".join(f"{100 * f:.0f}% of input->hidden connections held at zero: solved "
                     f"{rate_text(r['solved']['successes'], r['solved']['trials'])}, "
                     f"median step {r['median_solve_step']}" for f, r in rows.items()) + \
        f" (sparse {sparse['solved']['rate']:.2f} vs dense {dense['solved']['rate']:.2f} at 25%)"


def c14_draw(m: C14Numbers) -> list[Picture]:
    rows = m["rows"]
    return [(f"Share of seeds solving {C14_N} symbols with {C14_K} tanh units, by share of "
             "activations held at zero.",
             rate_bars([f"{100 * r['zeroed']:.0f}% zero" for r in rows],
                       [r["solved"]["successes"] for r in rows],
                       [r["solved"]["trials"] for r in rows], "sparsity forced on tanh"))]


C14 = Claim("C14", c14_measure, c14_judge, c14_describe, c14_draw)
