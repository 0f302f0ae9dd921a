"""Success rate against n, one curve per configuration, with Wilson 95% intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator, ScalarFormatter

from bottlenet.stats import wilson_interval


def capacity_chart(results, title: str | None = None):
    """`results`: CapacityResult objects; returns a Figure."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = plt.get_cmap("tab10")
    for c, res in enumerate(results):
        trials = sorted(res.trials, key=lambda t: t.n)
        if not trials:
            continue
        n = np.array([t.n for t in trials])
        rate = np.array([t.rate for t in trials])
        ci = np.array([wilson_interval(t.successes, t.trials) for t in trials])
        label = f"{res.config.label()}: frontier {res.frontier.n}" + (
            "+" if res.frontier.censored else "")
        yerr = np.clip([rate - ci[:, 0], ci[:, 1] - rate], 0, None)  # rounding
        ax.errorbar(n, rate, yerr=yerr, marker="o", ms=4,
                    capsize=2, lw=1.3, color=colours(c % 10), label=label)
        if res.frontier.n:
            ax.axvline(res.frontier.n, color=colours(c % 10), lw=0.8, ls=":")
    if results:
        ax.axhline(results[0].threshold, color="black", lw=0.8, ls="--", label="threshold")
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("symbols n (log scale)")
    ax.set_ylabel("share of seeds that solved")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title or "capacity: success rate against n (bars: Wilson 95% intervals)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def capacity_atlas(groups: dict[str, list], limits: dict[str, dict[int, int]],
                   title: str | None = None):
    """Frontier n against k (log scale), one line per group of CapacityResults (an
    activation, a regime), beside what k units can represent: `limits` maps a label to
    {k: n} (the hand-made constructions' float32 limits). A frontier still solved at the
    largest n tried is drawn as a triangle pointing up: the true frontier lies above."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    colours = plt.get_cmap("tab10")
    for c, (label, group) in enumerate(groups.items()):
        group = sorted((r for r in group if r.frontier.n), key=lambda r: r.config.hidden)
        if not group:
            continue
        k = np.array([r.config.hidden for r in group])
        n = np.array([r.frontier.n for r in group])
        ax.plot(k, n, color=colours(c % 10), lw=1.5, label=label)
        censored = np.array([r.frontier.censored for r in group])
        ax.scatter(k[~censored], n[~censored], color=colours(c % 10), zorder=3, s=22)
        ax.scatter(k[censored], n[censored], color=colours(c % 10), marker="^", zorder=3, s=40)
    styles = ["--", ":", "-."]
    for i, (label, points) in enumerate(limits.items()):
        ks = sorted(points)
        ax.plot(ks, [points[k] for k in ks], color="black", lw=1.1, ls=styles[i % 3],
                label=label)
    ax.set_yscale("log")
    ax.set_xlabel("hidden units k")
    ax.set_ylabel("symbols n (log scale)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title or "capacity atlas: what training reaches (>= 50% of seeds) and what "
                 "k units can represent (triangle: still solved at the largest n tried)",
                 fontsize=9, wrap=True)
    fig.tight_layout()
    return fig
