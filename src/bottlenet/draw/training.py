"""Training charts for a population: loss, accuracy and the largest weights of each
layer against steps, median and interquartile band (the article's "weights explode" and
"weights stagnate" made visible)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from bottlenet.draw.common import WIN
from bottlenet.errors import SpecError


def _band(ax, steps, values, colour, label):
    q1, med, q3 = np.nanpercentile(values, [25, 50, 75], axis=1)
    ax.plot(steps, med, color=colour, lw=1.6, label=f"{label} (median)")
    ax.fill_between(steps, q1, q3, color=colour, alpha=0.25, lw=0, label=f"{label} (quartiles)")


def training_charts(pop, title: str | None = None):
    if len(pop.history_step) == 0:
        raise SpecError("this population has no training record (built by hand, not trained)")
    steps = pop.history_step
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    _band(axes[0], steps, pop.history_loss, "#2c7bb6", "loss")
    axes[0].set_yscale("log")
    axes[0].set_title("loss")
    _band(axes[1], steps, pop.history_accuracy, WIN, "accuracy")
    solved_by = [(pop.solve_step >= 0) & (pop.solve_step <= s) for s in steps]
    axes[1].plot(steps, [s.mean() for s in solved_by], color="black", lw=1.2, ls="--",
                 label="share solved so far")
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_title("accuracy")
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, pop.history_max_weight.shape[2]))
    for layer in range(pop.history_max_weight.shape[2]):
        _band(axes[2], steps, pop.history_max_weight[:, :, layer], colours[layer],
              f"layer {layer + 1}")
    axes[2].set_yscale("log")
    axes[2].set_title("largest |weight| per layer")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"{pop.size} networks, {pop.task.name}, hidden "
                 f"{'x'.join(map(str, pop.spec.hidden)) or 0} {pop.spec.activation}",
                 fontsize=10)
    fig.tight_layout()
    return fig
