"""Success rate against n, one curve per configuration, with Wilson 95% intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import ScalarFormatter

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
