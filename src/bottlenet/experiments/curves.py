"""C10: the logistic curve against the normal CDF, and a normal-CDF hidden layer."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, ndtr

from bottlenet import tasks
from bottlenet.draw.claims import logistic_chart
from bottlenet.draw.common import png_base64
from bottlenet.experiments.base import (
    claim_result,
    median_or_none,
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


def c10_measure(ctx) -> dict:
    """The largest gap of each reading, and how tanh and normcdf units train on shift 11."""
    gaps = {name: max_gap(a) for name, a in READINGS.items()}
    task = tasks.shift(11)
    pops = {a: ctx.train(task, NetSpec(11, 11, (2,), a)) for a in ("tanh", "normcdf")}
    return {"max_gap": gaps, "readings_matching_0.044": c10_matching(gaps),
            "training": {a: {"solved": rate_numbers(int(p.solved.sum()), p.size),
                             "median_solve_step": median_or_none(
                                 p.solve_step[p.solve_step >= 0])}
                         for a, p in pops.items()}}


def c10_normcdf(ctx):
    numbers = c10_measure(ctx)
    gaps = numbers["max_gap"]
    decision = c10_verdict(gaps, SLOPE_MATCHED)
    numbers["slope_matched_ok"] = decision.parts["all"][f"{C10_GAPS[1]:g}"]
    measured = "; ".join(f"{k}: {v:.4f}" for k, v in gaps.items()) + "; training: " + "; ".join(
        f"{a}: solved {rate_text(s['solved']['successes'], s['solved']['trials'])}, median "
        f"step {s['median_solve_step']}" for a, s in numbers["training"].items())
    return claim_result(
        "C10", measured, decision,
        {"training": {"n": 11, "k": 2, "optimizer": "adam", "steps": ctx.budget.steps,
                      "seeds": ctx.budget.seeds}}, numbers,
        [("The curves and their differences under each reading.",
          png_base64(logistic_chart(READINGS, gaps)))])
