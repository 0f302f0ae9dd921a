"""Walkthrough of one input, as the article's worked examples: the hidden activations,
every output's sum written out term by term, the winner, and the softmax probabilities
(optionally as powers of two, the way the article explains softmax)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from bottlenet import net as netlib
from bottlenet.draw.common import MUTED, WIN, signed_colour
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


@dataclass(frozen=True)
class OutputSum:
    output: int
    terms: tuple[tuple[float, float], ...]  # (weight, activation) per unit feeding it
    bias: float
    total: float  # sum of weight * activation + bias
    probability: float  # what the head outputs (softmax probability, or tanh/sigmoid)


@dataclass(frozen=True)
class Walk:
    input: int
    activations: tuple[float, ...]  # last hidden layer (empty for direct connections)
    outputs: tuple[OutputSum, ...]
    winner: int
    target: int | None  # the task's target for this input, if any


def walkthrough_terms(spec: NetSpec, task: Task, params, input_index: int) -> Walk:
    if not 0 <= input_index < spec.n_in:
        raise SpecError(f"input must be in 1..{spec.n_in}, got {input_index + 1}")
    x = jnp.asarray([input_index])
    states = netlib.hidden_states(spec, params, x)
    a = np.asarray(states[-1][0], dtype=float) if states else np.ones(1)
    w = np.asarray(params[-1]["w"], dtype=float)
    if not states:
        w = w[input_index:input_index + 1]  # direct: the one firing input, activation 1
    b = np.asarray(params[-1]["b"], dtype=float) if "b" in params[-1] else np.zeros(spec.n_out)
    logits = np.asarray(netlib.forward(spec, params, x)[0], dtype=float)
    probs = np.asarray(netlib.probabilities(spec, jnp.asarray(logits)), dtype=float)
    outs = []
    for j in range(spec.n_out):
        terms = tuple((float(w[h, j]), float(a[h])) for h in range(len(a)))
        total = sum(wi * ai for wi, ai in terms) + float(b[j])
        outs.append(OutputSum(j, terms, float(b[j]), total, float(probs[j])))
    targets = [t for i, t in zip(task.inputs, task.solve_targets(), strict=True)
               if i == input_index]
    return Walk(input_index, tuple(a.tolist()) if states else (), tuple(outs),
                int(np.argmax(logits)), int(targets[0]) if targets else None)


def walkthrough(spec: NetSpec, task: Task, params, input_index: int, pow2: bool = False):
    """Draw the walkthrough of input `input_index` (0-based); returns a Figure."""
    walk = walkthrough_terms(spec, task, params, input_index)
    n = spec.n_out
    fig, ax = plt.subplots(figsize=(9.5, max(3.0, 0.28 * n + 2.2)))
    ax.set_axis_off()
    rows = n + 4
    y = lambda r: 1 - r / rows  # noqa: E731
    name = task.in_name(input_index)
    acts = ", ".join(f"h{h + 1} = {v:+.3f}" for h, v in enumerate(walk.activations))
    head = (f"input {name} fires" + (f": hidden {spec.activation} units {acts}" if acts
                                     else " (direct connections)"))
    ax.text(0, y(0), head, fontsize=10, fontweight="bold", va="center", gid="walk-head")
    what = "softmax probability" if spec.head == "softmax" else f"{spec.head} output"
    if pow2 and spec.head == "softmax":
        what = "2^((sum - top sum) / ln 2) -> probability"
    ax.text(0, y(1.4), "output", fontsize=8, color=MUTED)
    ax.text(0.1, y(1.4), "sum = weight x activation + ... + bias", fontsize=8, color=MUTED)
    ax.text(0.86, y(1.4), what, fontsize=8, color=MUTED, ha="right")
    zmax = max(o.total for o in walk.outputs)
    for o in walk.outputs:
        r = o.output + 2.5
        parts = [f"({wt:+.2f})({ai:+.2f})" for wt, ai in o.terms]
        expr = " + ".join(parts) + f" + ({o.bias:+.2f}) = {o.total:+.2f}"
        won = o.output == walk.winner
        style: dict[str, Any] = ({"fontweight": "bold", "color": WIN} if won
                                 else {"color": "#222222"})
        ax.text(0, y(r), task.out_name(o.output), fontsize=8, va="center", **style)
        ax.text(0.1, y(r), expr, fontsize=8, va="center", family="monospace",
                gid=f"sum-{o.output}", **style)
        if pow2 and spec.head == "softmax":
            exponent = (o.total - zmax) / math.log(2)
            label = f"2^{exponent:+.1f} -> {o.probability:.3g}"
        else:
            label = f"{o.probability:.3g}"
        ax.text(0.86, y(r), label, fontsize=8, va="center", ha="right", **style)
        bar = max(o.probability, 0) if spec.head != "tanh" else (o.probability + 1) / 2
        ax.add_patch(plt.Rectangle((0.88, y(r) - 0.3 / rows), 0.12 * bar, 0.6 / rows,
                                   color=WIN if won else signed_colour(o.total, 1), lw=0))
    verdict = "" if walk.target is None else (
        f"  (target {task.out_name(walk.target)}: "
        f"{'correct' if walk.target == walk.winner else 'WRONG'})")
    ax.text(0, y(n + 3.2), f"winner: output {task.out_name(walk.winner)}{verdict}",
            fontsize=10, fontweight="bold", color=WIN, va="center", gid="walk-winner")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    return fig
