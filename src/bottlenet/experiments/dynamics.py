"""C6, C9, C11, C15: how training behaves with different activations and heads."""

from __future__ import annotations

import time
from functools import partial
from typing import TypedDict

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet import tasks
from bottlenet.config import TrainConfig
from bottlenet.draw.claims import depth_cost_chart, heads_chart, solve_steps_chart, value_bars
from bottlenet.evaluation import init_population
from bottlenet.experiments.base import (
    ARTICLE_REGIME,
    Measured,
    Rate,
    median_or_none,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.verdicts import (
    Decision,
    c6_verdict,
    c9_verdict,
    c11_verdict,
    c15_cost,
    c15_verdict,
)
from bottlenet.spec import NetSpec
from bottlenet.trainer import train

C6_REGIMES = {"adam lr 0.05": {"optimizer": "adam", "lr": 0.05},
              "sgd lr 1": {"optimizer": "sgd", "lr": 1.0}}


C6_DESIGNS = {
    "softmax, linear hidden": NetSpec(11, 11, (2,), "linear", head="softmax"),
    "tanh hidden, tanh output": NetSpec(11, 11, (2,), "tanh", head="tanh"),
    "tanh hidden, softmax": NetSpec(11, 11, (2,), "tanh", head="softmax"),
}


class C6Design(TypedDict):
    """One design in one regime: how it ends, and (for the chart) its median largest
    weight and accuracy over training."""

    solved: Rate
    diverged: int
    max_weight_end: float
    growth_second_half: float
    final_loss: float
    step: list[int]
    max_weight: list[float]
    accuracy: list[float]


class C6Numbers(Measured):
    variants: dict[str, dict[str, C6Design]]  # regime -> design -> numbers


def c6_measure(ctx: Context) -> C6Numbers:
    task = tasks.shift(11)
    variants: dict[str, dict[str, C6Design]] = {}
    for regime, opt in C6_REGIMES.items():
        variants[regime] = {}
        for name, spec in C6_DESIGNS.items():
            pop = ctx.train(task, spec, stop="never", **opt)
            w = pop.history_max_weight.max(axis=2)  # (T, P): largest |w| of the network
            half = len(pop.history_step) // 2
            variants[regime][name] = C6Design(
                solved=rate_numbers(int(pop.solved.sum()), pop.size),
                diverged=int(pop.diverged.sum()),
                max_weight_end=float(np.median(w[-1])),
                growth_second_half=float(np.median(w[-1] / w[half])),
                final_loss=float(np.median(pop.final_loss)),
                step=[int(x) for x in pop.history_step],
                max_weight=np.nanmedian(w, 1).tolist(),
                accuracy=np.nanmedian(pop.history_accuracy, 1).tolist())
    return {"regime": {"n": 11, "k": 2, "regimes": list(C6_REGIMES),
                       "steps": ctx.budget.steps, "seeds": ctx.budget.seeds, "stop": "never"},
            "variants": variants}


def c6_judge(m: C6Numbers) -> Decision:
    return c6_verdict(m["variants"])


def c6_describe(m: C6Numbers) -> str:
    return " | ".join(
        f"{regime}: " + "; ".join(
            f"{k}: solved {rate_text(v['solved']['successes'], v['solved']['trials'])}, "
            f"largest |w| {v['max_weight_end']:.1f} (x{v['growth_second_half']:.2f} over the "
            f"second half){', ' + str(v['diverged']) + ' diverged' if v['diverged'] else ''}"
            for k, v in designs.items()) for regime, designs in m["variants"].items())


def c6_draw(m: C6Numbers) -> list[Picture]:
    return [("Largest weight and accuracy over training for the three designs, per regime.",
             heads_chart(m["variants"]))]


C6 = Claim("C6", c6_measure, c6_judge, c6_describe, c6_draw)

# ---- C9: sigmoid slow, ReLU fastest -------------------------------------------------------

# C9's regimes: the comment's (plain SGD, TensorFlow Playground's default) and the
# article's (Adam), each at the article's k = 2 and at 4. SGD at lr 0.5: of the rates
# tried (0.5 and 2), both solved shift 11 with all three activations within the quick
# budget, with the same order of the activations; the Playground's 0.03 is far too small
# for a softmax over 11 outputs in these budgets.
C9_OPTIMIZERS = {"sgd": 0.5, "adam": ARTICLE_REGIME["lr"]}
C9_HIDDEN = (2, 4)
C9_ACTIVATIONS = ("tanh", "sigmoid", "relu")


class Solves(TypedDict):
    """How a population solved: its rate, median step to the first solve (None: none
    solved) and every solving network's step."""

    solved: Rate
    median_solve_step: float | None
    solve_steps: list[int]


class C9Regime(TypedDict):
    optimizer: str
    k: int
    activations: dict[str, Solves]


class C9Numbers(Measured):
    regimes: list[C9Regime]


def solves(pop) -> Solves:
    steps = pop.solve_step[pop.solve_step >= 0]
    return {"solved": rate_numbers(int(pop.solved.sum()), pop.size),
            "median_solve_step": median_or_none(steps), "solve_steps": [int(x) for x in steps]}


def c9_measure(ctx: Context) -> C9Numbers:
    task, regimes = tasks.shift(11), []
    for optimizer, lr in C9_OPTIMIZERS.items():
        for k in C9_HIDDEN:
            acts = {a: solves(ctx.train(task, NetSpec(11, 11, (k,), a), optimizer=optimizer,
                                        lr=lr)) for a in C9_ACTIVATIONS}
            regimes.append(C9Regime(optimizer=optimizer, k=k, activations=acts))
    return {"regime": {"n": 11, "k": list(C9_HIDDEN), "optimizers": C9_OPTIMIZERS,
                       "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
            "regimes": regimes}


def _c9_rows(m: C9Numbers) -> dict[str, dict]:
    return {f"{r['optimizer']} k={r['k']}": dict(r["activations"]) for r in m["regimes"]}


def c9_judge(m: C9Numbers) -> Decision:
    return c9_verdict(_c9_rows(m))


def c9_describe(m: C9Numbers) -> str:
    def median(r):
        return "-" if r["median_solve_step"] is None else f"{r['median_solve_step']:g}"

    return "; ".join(
        f"{regime}: " + ", ".join(
            f"{a} median {median(r)} ({rate_text(r['solved']['successes'], r['solved']['trials'])}"
            " solved)" for a, r in row.items()) for regime, row in _c9_rows(m).items())


def c9_draw(m: C9Numbers) -> list[Picture]:
    return [("Steps to the first solve, per network, in each regime.",
             solve_steps_chart(_c9_rows(m), m["regime"]["steps"]))]


C9 = Claim("C9", c9_measure, c9_judge, c9_describe, c9_draw)

# ---- C11: ReLU is cheaper per step ----------------------------------------------------------

C11_ACTIVATIONS = ("relu", "tanh", "sigmoid", "normcdf", "softplus")


class C11Numbers(Measured):
    seconds_per_step: dict[str, float]  # activation -> best of 3 timed runs


def c11_measure(ctx: Context) -> C11Numbers:
    """Seconds per training step (best of 3 timed runs after a compile) by activation,
    shift 64, k = 4, the budget's timing population."""
    population, steps = ctx.budget.timing_population, ctx.budget.timing_steps
    task, per_step = tasks.shift(64), {}
    for a in C11_ACTIVATIONS:
        spec = NetSpec(64, 64, (4,), a)
        cfg = TrainConfig(seeds=population, steps=steps, stop="never", chunk=steps,
                          log_every=steps, **ARTICLE_REGIME)
        train(task, spec, cfg)  # compile
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            train(task, spec, cfg)
            best = min(best, time.perf_counter() - start)
        per_step[a] = float(best / steps)
    return {"regime": {"population": population, "n": 64, "k": 4, "timed_steps": steps},
            "seconds_per_step": per_step}


def c11_judge(m: C11Numbers) -> Decision:
    return c11_verdict(m["seconds_per_step"])


def c11_describe(m: C11Numbers) -> str:
    return "; ".join(f"{a}: {1e3 * v:.2f} ms" for a, v in m["seconds_per_step"].items())


def c11_draw(m: C11Numbers) -> list[Picture]:
    per_step, population = m["seconds_per_step"], m["regime"]["population"]
    return [(f"Wall time per training step of {population} networks, by hidden activation.",
             value_bars(list(per_step), [1e3 * v for v in per_step.values()],
                        f"ms per training step ({population} networks)",
                        "wall time per step by activation, shift 64, k=4, same run"))]


C11 = Claim("C11", c11_measure, c11_judge, c11_describe, c11_draw)

# ---- C15: depth, and activations centred or not ---------------------------------------------


def _mean_activations(spec: NetSpec, params, task) -> jax.Array:
    """Mean activation of each hidden layer over the task's inputs: (layers,)."""
    states = netlib.hidden_states(spec, params, jnp.asarray(task.inputs))
    return jnp.stack([jnp.mean(h) for h in states])


# C15's regimes: the article's Adam, and plain SGD, where an offset in the activations is
# not rescaled away by the optimizer (the rate of C9's SGD regime).
C15_REGIMES = {"adam": {"optimizer": "adam", "lr": ARTICLE_REGIME["lr"]},
               "sgd": {"optimizer": "sgd", "lr": 0.5}}
C15_ACTIVATIONS = ("tanh", "sigmoid")
C15_DEPTHS = (1, 2, 3)


class C15Row(TypedDict):
    regime: str  # a key of C15_REGIMES
    activation: str
    depth: int
    solved: Rate
    median_solve_step: float | None
    mean_activation_per_layer_at_init: list[float]  # the same weights in every regime


class C15Numbers(Measured):
    rows: list[C15Row]


def c15_measure(ctx: Context) -> C15Numbers:
    """Per regime, activation and depth: solve numbers and the layers' mean activations
    at initialisation."""
    task, rows = tasks.shift(11), []
    for regime, opt in C15_REGIMES.items():
        for act in C15_ACTIVATIONS:
            for depth in C15_DEPTHS:
                spec = NetSpec(11, 11, (4,) * depth, act)
                pop = ctx.train(task, spec, **opt)
                init = init_population(spec, jnp.asarray(pop.network_seeds))  # as trained
                means_init = np.asarray(jax.vmap(partial(_mean_activations, spec, task=task))(
                    init)).mean(axis=0)
                rows.append(C15Row(
                    regime=regime, activation=act, depth=depth,
                    solved=rate_numbers(int(pop.solved.sum()), pop.size),
                    median_solve_step=median_or_none(pop.solve_step[pop.solve_step >= 0]),
                    mean_activation_per_layer_at_init=[float(x) for x in means_init]))
    return {"regime": {"n": 11, "units_per_layer": 4, "regimes": C15_REGIMES,
                       "steps": ctx.budget.steps, "seeds": ctx.budget.seeds}, "rows": rows}


def _c15_table(m: C15Numbers) -> dict[str, dict[tuple[str, int], dict]]:
    table: dict[str, dict[tuple[str, int], dict]] = {}
    for r in m["rows"]:
        table.setdefault(r["regime"], {})[(r["activation"], r["depth"])] = dict(r)
    return table


def c15_judge(m: C15Numbers) -> Decision:
    return c15_verdict(_c15_table(m))


def c15_describe(m: C15Numbers) -> str:
    table = _c15_table(m)
    return " | ".join(f"{regime}: " + "; ".join(
        f"{a} x{d}: solved {rate_text(v['solved']['successes'], v['solved']['trials'])}"
        f", median step {v['median_solve_step']}" for (a, d), v in rows.items())
        for regime, rows in table.items()) + "; mean activations at init: " + "; ".join(
        f"{a} x{d} " + ", ".join(f"{x:+.2f}" for x in v["mean_activation_per_layer_at_init"])
        for (a, d), v in next(iter(table.values())).items())


def c15_draw(m: C15Numbers) -> list[Picture]:
    costs = {regime: {a: [c15_cost(rows[(a, d)]) for d in C15_DEPTHS] for a in C15_ACTIVATIONS}
             for regime, rows in _c15_table(m).items()}
    return [("Training cost (median solve step divided by solve rate) against depth, per "
             "regime.", depth_cost_chart(costs))]


C15 = Claim("C15", c15_measure, c15_judge, c15_describe, c15_draw)
