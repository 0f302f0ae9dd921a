"""The network diagram, drawn the way the article draws it.

Inputs on the left, hidden units in the middle, outputs on the right. Lines: blue for
positive weights, red for negative, thicker for stronger (relative to the largest |w|
of their layer). Node fill: the unit's bias on the same scale. When lines become
unreadable (more than 12 symbols, or on request) the diagram switches to the article's
numbers on nodes: next to each input, the code it gives the hidden units (for tanh-like
units the activation x 10, as the article prints it); next to each output, its weights
from the hidden units — one number per hidden unit, in the order h1, h2, ... (top to
bottom in the middle column).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from bottlenet import activations
from bottlenet.draw.common import AUTO_NUMBERS_ABOVE, MUTED, PALE, signed_colour
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


@dataclass(frozen=True)
class Node:
    layer: int  # 0 = inputs, len(hidden) + 1 = outputs
    index: int
    x: float
    y: float
    label: str
    fill: str  # colour of the bias (white without one)
    numbers: tuple[str, ...] = ()  # article-style numbers, one per hidden unit
    number_colours: tuple[str, ...] = ()


@dataclass(frozen=True)
class Edge:
    layer: int  # weights of layer `layer` connect column layer to column layer + 1
    src: int
    dst: int
    weight: float
    colour: str
    width: float


@dataclass(frozen=True)
class Diagram:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    numbers: bool
    layer_scales: tuple[float, ...]  # largest |w| of each layer
    number_note: str  # what the numbers on nodes mean


def diagram_layout(spec: NetSpec, task: Task, params, numbers: bool | None = None) -> Diagram:
    """Positions, colours and labels of one network's diagram (no drawing)."""
    sizes = spec.sizes
    n_cols = len(sizes)
    if numbers is None:
        numbers = max(spec.n_in, spec.n_out) > AUTO_NUMBERS_ABOVE
    numbers = numbers and len(spec.hidden) == 1
    scales = tuple(float(np.max(np.abs(np.asarray(layer["w"])), initial=0)) or 1.0
                   for layer in params)
    tallest = max(sizes)
    act = activations.get(spec.activation)
    squash = act.low == -1 and act.high == 1  # tanh-like: print activation x 10
    codes = np.zeros(0)
    number_note = ""
    if numbers:
        w1 = np.asarray(params[0]["w"])
        pre = w1 + (np.asarray(params[0]["b"]) if "b" in params[0] else 0)
        codes = 10 * np.asarray(act.fn(jnp.asarray(pre))) if squash else w1
        number_note = (f"numbers left of the inputs: {act.name}(w + b) x 10 for each hidden "
                       "unit (the input's code)" if squash else
                       "numbers left of the inputs: their weights to each hidden unit")
        number_note += "; right of the outputs: their weights from each hidden unit"

    nodes = []
    for col, size in enumerate(sizes):
        x = col / (n_cols - 1)
        # Symbols fill the height; hidden units spread over part of it, as the article
        # draws them, rather than huddling at the spacing of 100 symbols.
        span = (size - 1) / max(tallest - 1, 1)
        if 0 < col < n_cols - 1:
            span = min(0.8, 0.3 * (size - 1))
        ys = np.linspace(span / 2, -span / 2, size) if size > 1 else np.zeros(1)
        for i in range(size):
            if col == 0:
                label = task.in_name(i)
            elif col == n_cols - 1:
                label = task.out_name(i)
            else:
                label = f"h{i + 1}" if len(spec.hidden) == 1 else f"h{col}.{i + 1}"
            fill = "#ffffff"
            if col > 0 and "b" in params[col - 1]:
                fill = signed_colour(float(np.asarray(params[col - 1]["b"])[i]), scales[col - 1])
            nums: list[str] = []
            if numbers and col == 0:
                nums = _fmt_row(codes, i)
            elif numbers and col == n_cols - 1:
                nums = _fmt_row(np.asarray(params[-1]["w"]).T, i)
            nodes.append(Node(col, i, x, float(ys[i]), label, fill, tuple(nums),
                              tuple(_number_colour(float(v)) for v in nums)))

    edges = []
    for li, layer in enumerate(params):
        w = np.asarray(layer["w"])
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                rel = abs(w[i, j]) / scales[li]
                edges.append(Edge(li, i, j, float(w[i, j]), signed_colour(w[i, j], scales[li]),
                                  0.3 + 3.2 * rel))
    return Diagram(tuple(nodes), tuple(edges), numbers, scales, number_note)


def _fmt_row(matrix: np.ndarray, i: int) -> list[str]:
    # One precision per matrix, so a column of numbers reads evenly.
    digits = 0 if np.max(np.abs(matrix), initial=0) >= 9.5 else 1
    texts = [f"{v:+.{digits}f}" for v in matrix[i]]
    return [t if float(t) != 0 else "0" for t in texts]


def _number_colour(value: float) -> str:
    # Numbers carry their size in their digits; the colour says only the sign.
    return MUTED if value == 0 else signed_colour(np.sign(value), 1.0)


def diagram(spec: NetSpec, task: Task, params, numbers: bool | None = None,
            title: str | None = None):
    """Draw one network; returns a matplotlib Figure."""
    lay = diagram_layout(spec, task, params, numbers)
    tallest = max(spec.sizes)
    k_max = max(spec.hidden, default=0)
    font = max(5.0, min(9.0, 140 / tallest))
    # Lay out in inches: the core (columns at x = 0..1) gets a fixed width and each side
    # gets room for its labels and numbers, measured in characters of the node font.
    core = 3.0 + 1.8 * max(0, len(spec.sizes) - 3)
    char = 0.68 * font / 72  # bold digits and signs
    label_len = max(len(n.label) for n in lay.nodes)
    num_len = max((len(t) for n in lay.nodes for t in n.numbers), default=0)
    side = 0.15 + (label_len + 1) * char + (k_max * (num_len + 1) * char if lay.numbers else 0)
    span_h = max(1.6, 0.24 * tallest)  # inches from the top node to the bottom one
    fig, ax = plt.subplots(figsize=(core + 2 * side, span_h + 1.8))
    ax.set_axis_off()
    fig.subplots_adjust(left=0, right=1)  # so that one inch is exactly `unit` along x
    unit = 1 / core  # data units per inch along x
    pos = {(n.layer, n.index): (n.x, n.y) for n in lay.nodes}
    many = len(lay.edges) > 400
    for e in sorted(lay.edges, key=lambda e: abs(e.weight) / lay.layer_scales[e.layer]):
        if lay.numbers and many:
            break  # numbers carry the information; 400+ lines would only be noise
        (x0, y0), (x1, y1) = pos[(e.layer, e.src)], pos[(e.layer + 1, e.dst)]
        ax.add_line(Line2D([x0, x1], [y0, y1], color=e.colour, lw=e.width,
                           alpha=0.35 if lay.numbers else 0.9, solid_capstyle="round",
                           zorder=1, gid=f"edge-{e.layer}-{e.src}-{e.dst}"))
    radius_pts = max(4.0, min(11.0, 180 / tallest))
    last = len(spec.sizes) - 1
    gap = (radius_pts / 144 + 0.05) * unit  # node radius plus a little air, in inches
    for n in lay.nodes:
        ax.plot(n.x, n.y, "o", ms=radius_pts, mfc=n.fill, mec="#333333", mew=0.8, zorder=3,
                gid=f"node-{n.layer}-{n.index}")
        if n.layer == 0:
            ax.text(n.x - gap, n.y, n.label, ha="right", va="center", fontsize=font, zorder=4)
        elif n.layer == last:
            ax.text(n.x + gap, n.y, n.label, ha="left", va="center", fontsize=font, zorder=4)
        else:
            ax.text(n.x, n.y + 0.02 + 0.5 / tallest, n.label, ha="center", va="bottom",
                    fontsize=font, zorder=4)
        first = gap + (label_len + 1) * char * unit
        width = (num_len + 1) * char * unit
        for h, (text, colour) in enumerate(zip(n.numbers, n.number_colours, strict=True)):
            if n.layer == 0:  # h1 nearest the node, as the units sit top to bottom
                x = n.x - first - width * (len(n.numbers) - 1 - h)
            else:
                x = n.x + first + width * h
            ax.text(x, n.y, text, ha="right" if n.layer == 0 else "left", va="center",
                    fontsize=font, color=colour, fontweight="bold", zorder=4,
                    gid=f"num-{n.layer}-{n.index}-{h}")
    ax.set_xlim(-side * unit, 1 + side * unit)
    ax.set_ylim(-0.5 - 0.35 / span_h, 0.5 + 0.45 / span_h)
    scales = ", ".join(f"layer {i + 1} {s:.2f}" for i, s in enumerate(lay.layer_scales))
    handles = [Line2D([], [], color=signed_colour(1, 1), lw=3.5, label="positive weight"),
               Line2D([], [], color=signed_colour(-1, 1), lw=3.5, label="negative weight"),
               Line2D([], [], color=PALE, lw=0.6, label="weak weight (thin, pale)"),
               Line2D([], [], marker="o", ls="", mfc=signed_colour(0.6, 1), mec="#333333",
                      label="node fill = bias")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
              fontsize=7, frameon=False)
    note = f"width and depth of colour relative to the largest |w| per layer ({scales})"
    if lay.number_note:
        note += "\n" + lay.number_note
    ax.text(0.5, 1.0, note, transform=ax.transAxes, ha="center", va="bottom", fontsize=6.5,
            color="#444444")
    if title:
        ax.set_title(title, fontsize=10, pad=14 + (9 if lay.number_note else 0))
    return fig
