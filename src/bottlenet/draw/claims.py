"""Charts of the claims' measurements, drawn from the numbers each claim stores (so a
stored result can be drawn again). Claims move here from their experiments one by one
(issue 13)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

ACTIVATION_COLOURS = {"tanh": "#2166ac", "sigmoid": "#b2182b", "relu": "#1a9641"}


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
            unsolved = row[a]["networks"] - len(solved)
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


def trample_chart(regimes: dict[str, dict], skews: list[int]):
    """C13: per regime (row), rare-pair accuracy and disturbance against the skew, for
    each activation and update mode, with their intervals."""
    fig, axes = plt.subplots(len(regimes), 2, figsize=(10, 3.2 * len(regimes)), squeeze=False)
    styles = {"per-example": "-", "full batch": ":"}
    for row, (regime, runs) in zip(axes, regimes.items(), strict=True):
        for act in ("tanh", "relu"):
            for mode, style in styles.items():
                label = f"{act}, {mode}"
                acc = [runs[f"{act}/{mode}/{s}"]["rare_accuracy"] for s in skews]
                mean = np.array([a["mean"] for a in acc])
                err = np.array([[m - a["ci95"][0] for m, a in zip(mean, acc, strict=True)],
                                [a["ci95"][1] - m for m, a in zip(mean, acc, strict=True)]])
                row[0].errorbar(skews, mean, yerr=err, ls=style, marker="o", ms=3, capsize=2,
                                color=ACTIVATION_COLOURS[act], label=label)
                dist = [runs[f"{act}/{mode}/{s}"]["disturbance"] for s in skews]
                med = np.array([d["median"] for d in dist])
                derr = np.array([[m - d["q1"] for m, d in zip(med, dist, strict=True)],
                                 [d["q3"] - m for m, d in zip(med, dist, strict=True)]])
                row[1].errorbar(skews, med, yerr=derr, ls=style, marker="o", ms=3, capsize=2,
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


def depth_cost_chart(costs: dict[str, dict[str, float]]):
    """C15: training cost against depth for tanh and sigmoid, one line style per regime.
    costs: regime -> "activation xdepth" -> cost (infinite: never solved, not drawn)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for regime, style in zip(costs, ("-", "--", ":", "-."), strict=False):
        for act in ("tanh", "sigmoid"):
            ys = [costs[regime][f"{act} x{d}"] for d in (1, 2, 3)]
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
