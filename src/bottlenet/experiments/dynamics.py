"""C6, C9, C11, C15: how training behaves with different activations and heads."""

from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet import tasks
from bottlenet.config import TrainConfig
from bottlenet.draw.claims import depth_cost_chart, heads_chart, solve_steps_chart, value_bars
from bottlenet.draw.common import png_base64
from bottlenet.evaluation import init_population
from bottlenet.experiments.base import (
    ARTICLE_REGIME,
    claim_result,
    median_or_none,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.verdicts import (
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


def c6_measure(ctx) -> tuple[dict, dict]:
    """regime -> design -> solve rate, divergences, the median largest weight at the end
    and its growth over the second half, the median final loss; and, for the chart,
    regime -> design -> median largest weight and accuracy over training."""
    task = tasks.shift(11)
    stats, curves = {}, {}
    for regime, opt in C6_REGIMES.items():
        stats[regime], curves[regime] = {}, {}
        for name, spec in C6_DESIGNS.items():
            pop = ctx.train(task, spec, stop="never", **opt)
            w = pop.history_max_weight.max(axis=2)  # (T, P): largest |w| of the network
            half = len(pop.history_step) // 2
            stats[regime][name] = {
                "solved": rate_numbers(int(pop.solved.sum()), pop.size),
                "diverged": int(pop.diverged.sum()),
                "max_weight_end": float(np.median(w[-1])),
                "growth_second_half": float(np.median(w[-1] / w[half])),
                "final_loss": float(np.median(pop.final_loss))}
            curves[regime][name] = {
                "step": [int(x) for x in pop.history_step],
                "max_weight": np.nanmedian(w, 1).tolist(),
                "accuracy": np.nanmedian(pop.history_accuracy, 1).tolist()}
    return stats, curves


def c6_heads(ctx):
    stats, curves = c6_measure(ctx)
    decision = c6_verdict(stats)
    measured = " | ".join(
        f"{regime}: " + "; ".join(
            f"{k}: solved {rate_text(v['solved']['successes'], v['solved']['trials'])}, "
            f"largest |w| {v['max_weight_end']:.1f} (x{v['growth_second_half']:.2f} over the "
            f"second half){', ' + str(v['diverged']) + ' diverged' if v['diverged'] else ''}"
            for k, v in stats[regime].items()) for regime in C6_REGIMES)
    return claim_result(
        "C6", measured, decision,
        {"n": 11, "k": 2, "regimes": list(C6_REGIMES), "steps": ctx.budget.steps,
         "seeds": ctx.budget.seeds, "stop": "never"},
        {"variants": stats, "curves": curves, "parts": decision.parts},
        [("Largest weight and accuracy over training for the three designs, per regime.",
          png_base64(heads_chart(curves)))])


# C9's regimes: the comment's (plain SGD, TensorFlow Playground's default) and the
# article's (Adam), each at the article's k = 2 and at 4. SGD at lr 0.5: of the rates
# tried (0.5 and 2), both solved shift 11 with all three activations within the quick
# budget, with the same order of the activations; the Playground's 0.03 is far too small
# for a softmax over 11 outputs in these budgets.
C9_OPTIMIZERS = {"sgd": 0.5, "adam": ARTICLE_REGIME["lr"]}
C9_HIDDEN = (2, 4)


def c9_measure(ctx) -> dict[str, dict]:
    """regime -> activation -> solve numbers, for shift 11."""
    task, rows = tasks.shift(11), {}
    for optimizer, lr in C9_OPTIMIZERS.items():
        for k in C9_HIDDEN:
            row = {}
            for a in ("tanh", "sigmoid", "relu"):
                pop = ctx.train(task, NetSpec(11, 11, (k,), a), optimizer=optimizer, lr=lr)
                steps = pop.solve_step[pop.solve_step >= 0]
                row[a] = {"median_solve_step": median_or_none(steps),
                          "rate": float(pop.solved.mean()), "networks": pop.size,
                          "solve_steps": [int(x) for x in steps]}
            rows[f"{optimizer} k={k}"] = row
    return rows


def c9_speed(ctx):
    rows = c9_measure(ctx)
    decision = c9_verdict(rows)

    def median(r):
        return "-" if r["median_solve_step"] is None else f"{r['median_solve_step']:g}"

    measured = "; ".join(
        f"{regime}: " + ", ".join(
            f"{a} median {median(r)} ({rate_text(len(r['solve_steps']), r['networks'])} "
            "solved)" for a, r in row.items()) for regime, row in rows.items())
    return claim_result(
        "C9", measured, decision,
        {"n": 11, "k": list(C9_HIDDEN), "optimizers": C9_OPTIMIZERS,
         "steps": ctx.budget.steps, "seeds": ctx.budget.seeds},
        {"regimes": rows, "parts": decision.parts},
        [("Steps to the first solve, per network, in each regime.",
          png_base64(solve_steps_chart(rows, ctx.budget.steps)))])


C11_ACTIVATIONS = ("relu", "tanh", "sigmoid", "normcdf", "softplus")


def c11_measure(ctx) -> dict[str, float]:
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
        per_step[a] = best / steps
    return per_step


def c11_cost(ctx):
    per_step = c11_measure(ctx)
    population = ctx.budget.timing_population
    return claim_result(
        "C11", "; ".join(f"{a}: {1e3 * v:.2f} ms" for a, v in per_step.items()),
        c11_verdict(per_step),
        {"population": population, "n": 64, "k": 4, "timed_steps": ctx.budget.timing_steps},
        {"seconds_per_step": per_step},
        [(f"Wall time per training step of {population} networks, by hidden activation.",
          png_base64(value_bars(per_step, [1e3 * v for v in per_step.values()],
                                f"ms per training step ({population} networks)",
                                "wall time per step by activation, shift 64, k=4, same run")))])


def _mean_activations(spec: NetSpec, params, task) -> jax.Array:
    """Mean activation of each hidden layer over the task's inputs: (layers,)."""
    states = netlib.hidden_states(spec, params, jnp.asarray(task.inputs))
    return jnp.stack([jnp.mean(h) for h in states])


# C15's regimes: the article's Adam, and plain SGD, where an offset in the activations is
# not rescaled away by the optimizer (the rate of C9's SGD regime).
C15_REGIMES = {"adam": {"optimizer": "adam", "lr": ARTICLE_REGIME["lr"]},
               "sgd": {"optimizer": "sgd", "lr": 0.5}}


def c15_measure(ctx) -> dict[str, dict[tuple[str, int], dict]]:
    """regime -> (activation, depth) -> solve numbers and the layers' mean activations at
    initialisation (the same weights in every regime)."""
    task, regimes = tasks.shift(11), {}
    for regime, opt in C15_REGIMES.items():
        rows = {}
        for act in ("tanh", "sigmoid"):
            for depth in (1, 2, 3):
                spec = NetSpec(11, 11, (4,) * depth, act)
                pop = ctx.train(task, spec, **opt)
                init = init_population(spec, jnp.asarray(pop.network_seeds))  # as trained
                means_init = np.asarray(jax.vmap(partial(_mean_activations, spec, task=task))(
                    init)).mean(axis=0)
                rows[(act, depth)] = {
                    "solved": rate_numbers(int(pop.solved.sum()), pop.size),
                    "median_solve_step": median_or_none(pop.solve_step[pop.solve_step >= 0]),
                    "mean_activation_per_layer_at_init": [float(m) for m in means_init]}
        regimes[regime] = rows
    return regimes


def c15_depth(ctx):
    regimes = c15_measure(ctx)
    decision = c15_verdict(regimes)
    costs = {r: {f"{a} x{d}": c15_cost(row) for (a, d), row in rows.items()}
             for r, rows in regimes.items()}
    measured = " | ".join(f"{regime}: " + "; ".join(
        f"{a} x{d}: solved {rate_text(v['solved']['successes'], v['solved']['trials'])}"
        f", median step {v['median_solve_step']}" for (a, d), v in rows.items())
        for regime, rows in regimes.items()) + "; mean activations at init: " + "; ".join(
        f"{a} x{d} " + ", ".join(f"{m:+.2f}" for m in v["mean_activation_per_layer_at_init"])
        for (a, d), v in next(iter(regimes.values())).items())
    return claim_result(
        "C15", measured, decision,
        {"n": 11, "units_per_layer": 4, "regimes": C15_REGIMES, "steps": ctx.budget.steps,
         "seeds": ctx.budget.seeds},
        {"regimes": {r: {f"{a}_x{d}": v for (a, d), v in rows.items()}
                     for r, rows in regimes.items()}, "cost": costs, "parts": decision.parts},
        [("Training cost (median solve step divided by solve rate) against depth, per "
          "regime.", png_base64(depth_cost_chart(costs)))])
