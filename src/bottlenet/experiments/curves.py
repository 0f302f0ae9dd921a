"""C10: the logistic curve against the normal CDF, and a normal-CDF hidden layer."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit, ndtr

from bottlenet import tasks
from bottlenet.experiments.base import (
    ClaimResult,
    median_or_none,
    png,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.verdicts import C10_GAPS, c10_matching, c10_verdict
from bottlenet.spec import NetSpec

# Ways to lay the logistic curve over the normal CDF Phi(x): logistic(a x) for these a.
READINGS = {
    "as they are, logistic(x)": 1.0,
    "(1 + tanh x) / 2 = logistic(2x)": 2.0,
    "same variance, logistic(pi x / sqrt 3)": math.pi / math.sqrt(3),
    "same slope at 0, logistic(4 phi(0) x)": 4 / math.sqrt(2 * math.pi),
    "best fit, logistic(1.702 x)": 1.702,
}
SLOPE_MATCHED = "same slope at 0, logistic(4 phi(0) x)"


def max_gap(a: float) -> float:
    x = np.linspace(-12, 12, 240001)
    return float(np.max(np.abs(expit(a * x) - ndtr(x))))


def c10_normcdf(ctx) -> ClaimResult:
    gaps = {name: max_gap(a) for name, a in READINGS.items()}
    decision = c10_verdict(gaps, SLOPE_MATCHED)
    match_044 = c10_matching(gaps)
    slope_ok = decision.parts["all"][f"{C10_GAPS[1]:g}"]
    task = tasks.shift(11)
    pops = {a: ctx.train(task, NetSpec(11, 11, (2,), a)) for a in ("tanh", "normcdf")}
    train_stats = {a: {"solved": rate_numbers(int(p.solved.sum()), p.size),
                       "median_solve_step": median_or_none(p.solve_step[p.solve_step >= 0])}
                   for a, p in pops.items()}
    x = np.linspace(-4, 4, 801)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(x, ndtr(x), color="black", lw=2, label="normal CDF")
    for name, a in READINGS.items():
        axes[0].plot(x, expit(a * x), lw=1, label=name)
        axes[1].plot(x, expit(a * x) - ndtr(x), lw=1, label=f"{name}: max {gaps[name]:.4f}")
    axes[0].set_title("the curves", fontsize=9)
    axes[1].set_title("logistic minus normal CDF", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    measured = "; ".join(f"{k}: {v:.4f}" for k, v in gaps.items()) + "; training: " + "; ".join(
        f"{a}: solved {rate_text(s['solved']['successes'], s['solved']['trials'])}, median "
        f"step {s['median_solve_step']}" for a, s in train_stats.items())
    return ClaimResult(
        "C10", "Logistic and normal CDF differ by at most 0.044, or 0.017 with matched slopes",
        "the logistic curve (which is a scaled and shifted tanh) and the normal cdf are "
        "fairly close, differing by at most 0.044. If the logistic curve is modified so that "
        "its slope match the normal cdf at zero, the difference is at most 0.017.",
        "The largest gap between the logistic curve and the normal CDF is 0.044, and 0.017 "
        "once the slopes at zero agree; a normal-CDF hidden layer may train like tanh.",
        "0.044; 0.017 with matched slopes", measured, decision.verdict, decision.rule,
        {"training": {"n": 11, "k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
                      "seeds": ctx.budget.seeds}},
        {"max_gap": gaps, "readings_matching_0.044": match_044, "slope_matched_ok": slope_ok,
         "training": train_stats},
        [("The curves and their differences under each reading.", png(fig))],
        notes="normcdf in bottlenet is 2 Phi(sqrt(pi/2) x) - 1: the normal CDF moved into "
        "tanh's range with tanh's slope at zero, the commenter's proposal made a drop-in "
        "rival to tanh.",
        deciding=decision.deciding)
