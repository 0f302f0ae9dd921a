"""Charts of the claims' measurements, drawn from the numbers each claim stores (so a
stored result can be drawn again); the experiments measure and judge, these draw.
Pictures of single networks are `draw.diagram` and `draw.walkthrough`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit, ndtr

from bottlenet.draw.common import BAR
from bottlenet.stats import wilson_interval

ACTIVATION_COLOURS = {"tanh": "#2166ac", "sigmoid": "#b2182b", "relu": "#1a9641",
                      "sinh": "#d6604d", "arctan": "#762a83"}


def solve_steps_chart(rows: dict[str, dict], steps: int):
    """C9: for each regime, each activation's solve steps (dots, one per network that
    solved) and median (bar); networks that never solved are counted above the axis."""
    acts = ("tanh", "sigmoid", "relu")
    fig, ax = plt.subplots(figsize=(max(6.0, 1.9 * len(rows)), 3.8))
    rng = np.random.default_rng(0)  # jitter only
    for r, (regime, row) in enumerate(rows.items()):
        for a_i, a in enumerate(acts):
            x = r * (len(acts) + 1) + a_i
            solved = np.asarray(row[a]["solve_steps"], float)
            ax.scatter(x + rng.uniform(-0.25, 0.25, len(solved)), np.maximum(solved, 1), s=8,
                       color=ACTIVATION_COLOURS[a], alpha=0.6,
                       label=a if r == 0 else None)
            if row[a]["median_solve_step"] is not None:
                ax.hlines(max(row[a]["median_solve_step"], 1), x - 0.4, x + 0.4, color="black")
            unsolved = row[a]["solved"]["trials"] - len(solved)
            if unsolved:
                ax.text(x, steps * 1.6, f"{unsolved}\nnot", ha="center", va="bottom", fontsize=7)
        ax.text(r * (len(acts) + 1) + 1, 0.55, regime, ha="center", va="top", fontsize=8,
                transform=ax.get_xaxis_transform())
    ax.set_yscale("log")
    ax.set_ylim(0.8, steps * 6)
    ax.axhline(steps, color="#999999", lw=0.8, ls="--")
    ax.set_xticks([])
    ax.set_ylabel("step of the first solve")
    ax.set_title(f"steps to solve, shift 11 (black: median; dashed: the budget of {steps:,} "
                 "steps; 'not': never solved)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def trample_chart(regimes: dict[str, dict]):
    """C13: per regime (row), rare-pair accuracy and disturbance against the skew, for
    each activation and update mode, with their intervals. regimes: "k=2" -> activation
    -> mode -> runs ({"skew", "rare_accuracy": rate_numbers, "disturbances"})."""
    fig, axes = plt.subplots(len(regimes), 2, figsize=(10, 3.2 * len(regimes)), squeeze=False)
    styles = {"per-example": "-", "full batch": ":"}
    for row, (regime, runs) in zip(axes, regimes.items(), strict=True):
        for act in ("tanh", "relu"):
            for mode, style in styles.items():
                label = f"{act}, {mode}"
                by_skew = sorted(runs[act][mode], key=lambda r: r["skew"])
                skews = [r["skew"] for r in by_skew]
                acc = [r["rare_accuracy"] for r in by_skew]
                mean = np.array([a["rate"] for a in acc])
                err = np.array([[m - a["ci95"][0] for m, a in zip(mean, acc, strict=True)],
                                [a["ci95"][1] - m for m, a in zip(mean, acc, strict=True)]])
                row[0].errorbar(skews, mean, yerr=err, ls=style, marker="o", ms=3, capsize=2,
                                color=ACTIVATION_COLOURS[act], label=label)
                q1, med, q3 = np.array([np.percentile(r["disturbances"], [25, 50, 75])
                                        for r in by_skew]).T
                row[1].errorbar(skews, med, yerr=np.clip([med - q1, q3 - med], 0, None),
                                ls=style, marker="o", ms=3, capsize=2,
                                color=ACTIVATION_COLOURS[act], label=label)
        row[0].set_ylim(-0.05, 1.05)
        row[0].set_ylabel(f"{regime}\nrare-pair accuracy")
        row[1].set_ylabel("disturbance")
        row[1].axhline(1.0, color="#999999", lw=0.8, ls="--")
        row[1].set_yscale("log")
        for ax in row:
            ax.set_xscale("log")
            ax.set_xlabel("skew: how much more frequent the common pairs are")
            ax.grid(alpha=0.3)
    axes[0][0].set_title("accuracy on the rare pairs at the end (95% interval)", fontsize=9)
    axes[0][1].set_title("rare outputs moved by common pairs / by rare pairs (median, "
                         "quartiles)", fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def depth_cost_chart(costs: dict[str, dict[str, list[float]]]):
    """C15: training cost against depth for tanh and sigmoid, one line style per regime.
    costs: regime -> activation -> cost at 1, 2 and 3 layers (infinite: never solved, not
    drawn)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for regime, style in zip(costs, ("-", "--", ":", "-."), strict=False):
        for act in ("tanh", "sigmoid"):
            ys = costs[regime][act]
            ax.plot([1, 2, 3], [y if np.isfinite(y) else np.nan for y in ys], "o", ls=style,
                    color=ACTIVATION_COLOURS[act], label=f"{act}, {regime}")
    ax.set_xticks([1, 2, 3])
    ax.set_xlabel("hidden layers (4 units each)")
    ax.set_ylabel("median solve step / solve rate")
    ax.set_yscale("log")
    ax.set_title("training cost against depth, shift 11 (a missing point: none solved)",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def rate_bars(labels, successes, trials, title: str, ylabel: str = "share of seeds solved"):
    """Bar chart of success rates with Wilson 95% intervals (C2, C12, C14)."""
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(labels) + 1.5), 3.4))
    rates = np.array([s / max(t, 1) for s, t in zip(successes, trials, strict=True)])
    ci = np.array([wilson_interval(s, t) for s, t in zip(successes, trials, strict=True)])
    x = np.arange(len(labels))
    ax.bar(x, rates, color=BAR)
    # Clipped: rounding can put an interval's end a hair inside the rate.
    yerr = np.clip([rates - ci[:, 0], ci[:, 1] - rates], 0, None)
    ax.errorbar(x, rates, yerr=yerr, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(x, labels, fontsize=8, rotation=20 if len(labels) > 4 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def value_bars(labels, values, ylabel: str, title: str, colours=None, log: bool = False):
    """A plain bar chart of measured values, one bar per label (C11, C17, C19, C20)."""
    labels = list(labels)
    fig, ax = plt.subplots(figsize=(max(6.5, 0.75 * len(labels) + 1.5), 3.5))
    ax.bar(labels, list(values), color=colours or BAR)
    if len(labels) > 6:
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def cost_and_capacity_chart(timings: Sequence[Mapping[str, Any]], cost_slope: float,
                            frontiers: dict, capacity_slope: float):
    """C5: time per training example against connections (log-log, one line per k), and
    the capacity frontier against k beside a line linear in k. frontiers: k -> n, its
    keys numbers or, as read back from the database, strings."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for k in sorted({r["k"] for r in timings}):
        sel = [r for r in timings if r["k"] == k]
        axes[0].loglog([r["connections"] for r in sel],
                       [1e9 * r["seconds_per_example"] for r in sel], "o-", label=f"k={k}")
    axes[0].set_xlabel("connections (2 n k)")
    axes[0].set_ylabel("ns per training example")
    axes[0].set_title(f"cost: log-log slope {cost_slope:.2f}", fontsize=9)
    axes[0].legend()
    by_k = {int(k): n for k, n in frontiers.items()}
    ks = np.array(sorted(by_k))
    fr = np.array([max(by_k[k], 1) for k in ks])
    axes[1].loglog(ks, fr, "o-", label="measured frontier")
    axes[1].loglog(ks, fr[0] * ks / ks[0], "--", color="grey", label="linear in k")
    axes[1].set_xticks(ks, [str(k) for k in ks])
    axes[1].set_xlabel("hidden units k")
    axes[1].set_ylabel("capacity n")
    axes[1].set_title(f"capacity: log-log slope {capacity_slope:.2f}", fontsize=9)
    axes[1].legend()
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def heads_chart(curves: Mapping[str, Mapping[str, Mapping[str, Any]]]):
    """C6: per regime (row), the median largest weight and the median accuracy over
    training of each design. curves: regime -> design -> {"step", "max_weight",
    "accuracy"} (lists of equal length)."""
    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 3.4 * len(curves)), squeeze=False)
    for row, (regime, designs) in zip(axes, curves.items(), strict=True):
        for name, c in designs.items():
            row[0].plot(c["step"], c["max_weight"], label=name)
            row[1].plot(c["step"], c["accuracy"], label=name)
        row[0].set_yscale("log")
        row[0].set_title(f"{regime}: largest |weight| (median over seeds)", fontsize=9)
        row[1].set_title(f"{regime}: accuracy (median over seeds)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def pruning_chart(pruning: Sequence[Mapping[str, Any]], networks: int):
    """C8: share of solved networks still solving, and their median accuracy, against
    the share of weakest weights removed. pruning: [{"fraction", "still_solved",
    "accuracy"}]."""
    rows = sorted(pruning, key=lambda p: p["fraction"])
    x = [100 * p["fraction"] for p in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(x, [p["still_solved"] for p in rows], "o-", label="share of networks still solving")
    ax.plot(x, [p["accuracy"] for p in rows], "s--", label="median accuracy")
    ax.set_xlabel("weakest weights removed, % of each layer")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"pruning {networks} solved 11-symbol networks", fontsize=9)
    fig.tight_layout()
    return fig


def logistic_chart(readings: dict[str, float], gaps: dict[str, float]):
    """C10: the normal CDF and logistic(a x) for each reading a, and their differences."""
    x = np.linspace(-4, 4, 801)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].plot(x, ndtr(x), color="black", lw=2, label="normal CDF")
    for name, a in readings.items():
        axes[0].plot(x, expit(a * x), lw=1, label=name)
        axes[1].plot(x, expit(a * x) - ndtr(x), lw=1, label=f"{name}: max {gaps[name]:.4f}")
    axes[0].set_title("the curves", fontsize=9)
    axes[1].set_title("logistic minus normal CDF", fontsize=9)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def word_probability_chart(computed: dict[str, float], sampled: dict[str, float],
                           samples: int):
    """C16: each word's probability of being generated, computed and sampled."""
    words = list(computed)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    x = np.arange(len(words))
    ax.bar(x - 0.2, [computed[w] for w in words], 0.4, label="computed from the network")
    ax.bar(x + 0.2, [sampled[w] for w in words], 0.4, label=f"{samples} samples")
    ax.set_xticks(x, words)
    ax.set_ylabel("probability of generating the word")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def band_share_chart(band: dict[str, list[float]], flat: dict[str, list[float]],
                     steps: list[int]):
    """C18: per activation, the share of hidden pre-activations in the meta-stable band
    (solid) and on the flat part (dashed) at each snapshot step."""
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for name, values in band.items():
        colour = ACTIVATION_COLOURS.get(name, BAR)
        ax.plot(steps, values, color=colour, marker="o", ms=3, label=f"{name}: band")
        ax.plot(steps, flat[name], color=colour, ls="--", lw=1, label=f"{name}: flat")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training step")
    ax.set_ylabel("share of pre-activations")
    ax.set_title("where the hidden units sit: meta-stable band |f(z)| < 1/2, flat f'(z) < 0.1",
                 fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
