"""C10: the logistic curve against the normal CDF, and a normal-CDF hidden layer."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
from scipy.special import expit, ndtr

from bottlenet import tasks
from bottlenet.draw.claims import logistic_chart
from bottlenet.experiments.base import Measured, Rate, median_or_none, rate_numbers, rate_text
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.verdicts import Decision, c10_verdict
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


class Trained(TypedDict):
    solved: Rate
    median_solve_step: float | None


class C10Numbers(Measured):
    max_gap: dict[str, float]  # reading (a key of READINGS) -> largest |logistic - Phi|
    training: dict[str, Trained]  # "tanh", "normcdf" on shift 11


def c10_measure(ctx: Context) -> C10Numbers:
    """The largest gap of each reading, and how tanh and normcdf units train on shift 11."""
    task = tasks.shift(11)
    pops = {a: ctx.train(task, NetSpec(11, 11, (2,), a)) for a in ("tanh", "normcdf")}
    return {"regime": {"training": {"n": 11, "k": 2, "optimizer": "adam",
                                    "steps": ctx.budget.steps, "seeds": ctx.budget.seeds}},
            "max_gap": {name: max_gap(a) for name, a in READINGS.items()},
            "training": {a: Trained(solved=rate_numbers(int(p.solved.sum()), p.size),
                                    median_solve_step=median_or_none(
                                        p.solve_step[p.solve_step >= 0]))
                         for a, p in pops.items()}}


def c10_judge(m: C10Numbers) -> Decision:
    return c10_verdict(m["max_gap"], SLOPE_MATCHED)


def c10_describe(m: C10Numbers) -> str:
    return "; ".join(f"{k}: {v:.4f}" for k, v in m["max_gap"].items()) + "; training: " + \
        "; ".join(f"{a}: solved {rate_text(s['solved']['successes'], s['solved']['trials'])}, "
                  f"median step {s['median_solve_step']}" for a, s in m["training"].items())


def c10_draw(m: C10Numbers) -> list[Picture]:
    return [("The curves and their differences under each reading.",
             logistic_chart(READINGS, m["max_gap"]))]


C10 = Claim("C10", c10_measure, c10_judge, c10_describe, c10_draw)
