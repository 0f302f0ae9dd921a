"""The hidden-space code: where each input lands in the space of the hidden units, and
which output wins where. For k = 2 one square (the activation's range); for k >= 3 the
pairwise projections of the first three units. Output j's weight vector is an arrow:
an output wins where its arrow (plus bias) gives the largest dot product, so a solved
network puts each input's point in the region of its target."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch

from bottlenet import activations
from bottlenet import net as netlib
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


def _bounds(spec: NetSpec, codes: np.ndarray) -> tuple[float, float]:
    act = activations.get(spec.activation)
    lo = act.low if np.isfinite(act.low) else float(codes.min()) - 0.5
    hi = act.high if np.isfinite(act.high) else float(codes.max()) + 0.5
    margin = 0.08 * (hi - lo)
    return lo - margin, hi + margin


def hidden_codes(spec: NetSpec, params, inputs) -> np.ndarray:
    """The last hidden layer's activations for each input index: (len(inputs), k)."""
    import jax.numpy as jnp

    return np.asarray(netlib.hidden_states(spec, params, jnp.asarray(inputs))[-1])


# Above this many outputs a picture of labels and arrows is a black square: the dense
# picture shows the codes as dots and the output vectors beside them instead.
LABELS_MAX = 64


def hidden_space(spec: NetSpec, task: Task, params, title: str | None = None,
                 hull_share: float | None = None):
    """Draw the hidden-space code (needs one hidden layer of k >= 2); returns a Figure.
    Past LABELS_MAX outputs, the dense picture (dense_space); `hull_share` (see
    check.hull_share) is then named in its title."""
    if len(spec.hidden) != 1 or spec.hidden[0] < 2:
        raise SpecError("the hidden-space picture needs one hidden layer of at least 2 units")
    if spec.n_out > LABELS_MAX:
        return dense_space(spec, task, params, title, hull_share)
    k = spec.hidden[0]
    used = sorted(set(task.inputs))
    codes = hidden_codes(spec, params, used)
    w = np.asarray(params[-1]["w"])  # (k, n_out)
    b = np.asarray(params[-1]["b"]) if "b" in params[-1] else np.zeros(spec.n_out)
    pairs = [(0, 1)] if k == 2 else [(0, 1), (0, 2), (1, 2)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.6 * len(pairs), 5.6), squeeze=False)
    lo, hi = _bounds(spec, codes)
    cmap = plt.get_cmap("hsv")
    colour = {j: cmap(j / spec.n_out) for j in range(spec.n_out)}
    target_of = dict(zip(task.inputs, task.solve_targets(), strict=True))
    for ax, (p, q) in zip(axes[0], pairs, strict=True):
        if k == 2:
            # Winner regions: the argmax over outputs at every point of the square.
            g = np.linspace(lo, hi, 300)
            gx, gy = np.meshgrid(g, g)
            pts = np.stack([gx.ravel(), gy.ravel()], 1)
            win = np.argmax(pts @ w + b, 1).reshape(gx.shape)
            ax.imshow(win, origin="lower", extent=(lo, hi, lo, hi), cmap="hsv", vmin=0,
                      vmax=spec.n_out, alpha=0.18, interpolation="nearest", aspect="auto")
        act = activations.get(spec.activation)
        if np.isfinite(act.low) and np.isfinite(act.high):
            ax.add_patch(plt.Rectangle((act.low, act.low), act.high - act.low,
                                       act.high - act.low, fill=False, ls="--", lw=0.8,
                                       ec="#777777"))
        span = 0.45 * (hi - lo)
        norms = np.linalg.norm(w[[p, q]], axis=0)
        scale = span / max(norms.max(), 1e-9)
        centre = (lo + hi) / 2
        for j in range(spec.n_out):
            dx, dy = w[p, j] * scale, w[q, j] * scale
            ax.add_patch(FancyArrowPatch((centre, centre), (centre + dx, centre + dy),
                                         arrowstyle="->", mutation_scale=10, color=colour[j],
                                         lw=1.0, alpha=0.8, gid=f"arrow-{p}{q}-{j}"))
            ax.text(centre + 1.07 * dx, centre + 1.07 * dy, task.out_name(j), fontsize=7,
                    color=colour[j], ha="center", va="center")
        for i, c in zip(used, codes, strict=True):
            t = int(target_of[i])
            ax.plot(c[p], c[q], "o", ms=6, mfc=colour[t], mec="black", mew=0.6,
                    gid=f"code-{p}{q}-{i}")
            ax.annotate(f"{task.in_name(i)}→{task.out_name(t)}", (c[p], c[q]), xytext=(4, 4),
                        textcoords="offset points", fontsize=7)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel(f"h{p + 1}")
        ax.set_ylabel(f"h{q + 1}")
    fig.suptitle(title or "hidden space: each input's code (dot, coloured as its target), "
                 "each output's weights (arrow);\nshaded: where each output wins",
                 fontsize=9)
    return fig


GRID = 500           # the dense picture's shading: GRID x GRID points of the plane
_CHUNK = 1 << 20     # scores computed at once in _winners (4 MB of float32)


def _winners(points: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each point x (rows of `points`, k = 2), the output j with the largest score
    x . w[:, j] + b[j]. Only a vertex of the convex hull of the outputs' (w[0, j],
    w[1, j], b[j]) can have it (a linear function is largest over a set of points at a
    vertex of their hull), so the scores are computed for those alone (all of a circle
    code's, a grid code's corners), in chunks of points: the whole product, 250,000
    points by n outputs, would take 2 GB at n = 1,024 and 131 GB at 65,536. Two
    products and a sum rather than a matrix product: with two units BLAS gains nothing,
    and its first call took 4 s to start its threads beside other work."""
    from scipy.spatial import ConvexHull, QhullError

    candidates = np.arange(w.shape[1])
    lifted = np.column_stack([w[0], w[1], b])
    for cloud in (lifted, lifted[:, :2]):   # flat in b (no biases): the plane's hull
        try:
            candidates = np.unique(ConvexHull(cloud).vertices)
            break
        except (QhullError, ValueError):    # too few or degenerate points: try the next
            continue
    # (float32: a picture's pixels need no more, and half the bytes go through memory)
    wc, bc = w[:, candidates].astype(np.float32), b[candidates].astype(np.float32)
    rows = max(1, _CHUNK // len(candidates))
    win = np.empty(len(points), np.int64)
    for start in range(0, len(points), rows):
        x = points[start:start + rows].astype(np.float32)
        scores = x[:, :1] * wc[0]
        scores += x[:, 1:] * wc[1]
        scores += bc
        win[start:start + rows] = np.argmax(scores, 1)
    return candidates[win]


def dense_space(spec: NetSpec, task: Task, params, title: str | None = None,
                hull_share: float | None = None):
    """The hidden-space code of many symbols, two panels for units 1 and 2: each input's
    code as a dot coloured by its target over the regions where each output wins (k = 2),
    and each output's weight vector as a dot with the convex hull of all of them: on a
    circle code every vector lies on the hull, on a grid (Voronoi) code only the corners
    do."""
    from scipy.spatial import ConvexHull, QhullError

    used = sorted(set(task.inputs))
    codes = hidden_codes(spec, params, used)
    w = np.asarray(params[-1]["w"])  # (k, n_out)
    b = np.asarray(params[-1]["b"]) if "b" in params[-1] else np.zeros(spec.n_out)
    target_of = dict(zip(task.inputs, task.solve_targets(), strict=True))
    targets = np.array([int(target_of[i]) for i in used])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.2, 5.6))
    lo, hi = _bounds(spec, codes)
    if spec.hidden[0] == 2:
        g = np.linspace(lo, hi, GRID)
        gx, gy = np.meshgrid(g, g)
        win = _winners(np.stack([gx.ravel(), gy.ravel()], 1), w, b).reshape(gx.shape)
        left.imshow(win, origin="lower", extent=(lo, hi, lo, hi), cmap="hsv", vmin=0,
                    vmax=spec.n_out, alpha=0.25, interpolation="nearest", aspect="auto")
    left.scatter(codes[:, 0], codes[:, 1], c=targets, cmap="hsv", vmin=0, vmax=spec.n_out,
                 s=4, linewidths=0)
    left.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="h1", ylabel="h2", aspect="equal",
             title=f"{len(used):,} input codes (coloured by target)"
             + ("; shaded: where each output wins" if spec.hidden[0] == 2 else ""))
    right.scatter(w[0], w[1], c=np.arange(spec.n_out), cmap="hsv", vmin=0, vmax=spec.n_out,
                  s=4, linewidths=0)
    try:
        hull = ConvexHull(w[:2].T)
        ring = np.append(hull.vertices, hull.vertices[0])
        right.plot(w[0, ring], w[1, ring], lw=0.7, color="#444444")
    except QhullError:
        pass
    share = "" if hull_share is None else f"; {hull_share:.1%} of them on the convex hull"
    right.set(xlabel="w[1, j]", ylabel="w[2, j]", aspect="equal",
              title=f"{spec.n_out:,} output vectors{share}")
    for ax in (left, right):
        ax.title.set_fontsize(9)
    fig.suptitle(title or "hidden space: where inputs land, and what the outputs point at "
                 "(units 1 and 2)", fontsize=10)
    return fig
