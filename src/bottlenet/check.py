"""The strict solve rule recomputed in float64, in chunks, on every core: `bottlenet check`.

Training decides "solved" in its own precision. This checker takes the weights as they
were kept (a model file, or a construction), computes every pair against every output in
float64 (JAX's x64 mode, for this call only), and holds each network to the rule of the
precision it was trained or made for (evaluation.solve_rtol: 2^-20 of the logits' size
for float32, 2^-49 for float64). For each network it reports whether every pair is won
and the smallest winning margin, relative to that size: the number that says how close
to the precision's wall a network stands.

Memory is O(chunk x outputs) per core whatever n is; time is O(n^2 k) per network.

Networks of one hidden layer with few units (k <= NEAREST_MAX_UNITS) and many outputs
(n >= NEAREST_FROM) are checked without the n x n pass, exactly all the same: a pair's
logits are w_j . h + b_j, which equals A(h) + e_j - s/2 |w_j - h/s|^2 for any s > 0
(A(h) = |h|^2 / 2s, e_j = b_j + s/2 |w_j|^2). With E = max e and one more coordinate
c_j = sqrt(2 (E - e_j) / s) per output, that is A(h) + E - s/2 |(h/s, 0) - (w_j, c_j)|^2:
the larger the logit, the nearer the lifted output vector. A k-d tree over those
(k + 1)-dimensional points gives each pair its K nearest; their logits are computed
directly, and every other output lies at least as far as the K-th, so none has a logit
above A(h) + E - s/2 d_K^2. When that bound (with room for rounding) lies below the best
of the K, the best of them is the pair's best other output, exactly. Pairs the bound
cannot settle (ties at the K-th distance) ask for more neighbours, and the few left
after that get every output. s is fitted so that the e_j vary least (for a grid/Voronoi
code, b_j = -s/2 |w_j|^2, they are equal; for a circle any s will do), which keeps the
extra coordinate small. A grid of two units at 10^6 symbols takes seconds instead of
half an hour.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet.errors import ResourceError
from bottlenet.evaluation import logit_magnitude, solve_rtol
from bottlenet.memory import host_bytes
from bottlenet.population import Population
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task

# Logits per chunk (float64): 32 MiB, a few of them live per core at a time.
CHUNK_VALUES = 1 << 22


@dataclass(frozen=True)
class NetworkCheck:
    solved: bool  # every real pair won by the strict rule
    won: int  # pairs won
    pairs: int
    margin: float  # smallest (target's logit - best other) / logit size over the pairs
    worst_pair: int  # the pair with that margin (index into the task's pairs)
    hull_share: float | None = None  # see hull_share
    method: str = "dense"  # "dense" (every pair against every output) or "nearest"


@dataclass(frozen=True)
class CheckResult:
    dtype: str  # the precision whose rule the networks are held to
    rtol: float  # that rule's relative tolerance
    indices: tuple[int, ...]  # each checked network's index in its population
    networks: tuple[NetworkCheck, ...]
    seconds: float

    @property
    def solved(self) -> int:
        return sum(c.solved for c in self.networks)

    def to_dict(self) -> dict:
        return {"dtype": self.dtype, "rtol": self.rtol, "computed_in": "float64",
                "networks": [{"network": i, "solved": c.solved, "won": c.won,
                              "pairs": c.pairs, "margin": c.margin,
                              "worst_pair": c.worst_pair, "hull_share": c.hull_share,
                              "method": c.method}
                             for i, c in zip(self.indices, self.networks, strict=True)],
                "solved": self.solved, "total": len(self.networks),
                "seconds": round(self.seconds, 3)}


def hull_share(params) -> float | None:
    """Which code a network uses, in one number: the share of its output vectors (the
    last layer's columns, points in the k-dimensional hidden space) that are vertices of
    their convex hull. Codes on a circle (the article's picture, `construct --method
    circle`) put every output on the hull: 1. A grid / Voronoi code (`--method grid`)
    puts its outputs inside, only the corners on the hull: about 2^k / n. None without
    exactly one hidden layer of at least 2 units, when the points span less than k
    dimensions, or when some are not finite."""
    from scipy.spatial import ConvexHull, QhullError

    if len(params) != 2:
        return None
    points = np.asarray(params[-1]["w"], np.float64).T  # (n_out, k)
    if points.shape[1] < 2 or len(points) <= points.shape[1] or not np.isfinite(points).all():
        return None  # (a diverged network's output vectors have no hull)
    try:
        return len(ConvexHull(points).vertices) / len(points)
    except QhullError:
        return None


def chunk_rows(n_out: int, values: int = CHUNK_VALUES) -> int:
    return max(1, values // max(n_out, 1))


def check_bytes(n_out: int, hidden: int, cores: int) -> int:
    """Memory the check needs beyond the weights: a few chunks of float64 logits per core."""
    return cores * 4 * 8 * chunk_rows(n_out) * (n_out + hidden)


@partial(jax.jit, static_argnames=("spec",))
def _chunk(spec: NetSpec, params, rows, targets, real, rtol):
    """Per chunk of pairs: (pairs won, smallest relative margin, its row in the chunk).
    The rule is evaluate's: the target's logit less the tolerance must reach the best
    other output's logit."""
    states = netlib.hidden_states(spec, params, rows)
    logits = netlib.output_logits(params, states, rows)
    size = logit_magnitude(params, states[-1] if states else None, rows)
    is_target = jnp.arange(logits.shape[-1]) == targets[:, None]
    best = jnp.take_along_axis(logits, targets[:, None], axis=-1)[:, 0]
    other = jnp.max(jnp.where(is_target, -jnp.inf, logits), axis=-1)
    won = (best - rtol * size >= other) & real
    margin = jnp.where(real, (best - other) / size, jnp.inf)
    worst = jnp.argmin(margin)
    return jnp.sum(won), margin[worst], worst


NEAREST_FROM = 4096  # outputs from which a one-hidden-layer network gets the nearest-code check
NEAREST_MAX_UNITS = 8  # a k-d tree prunes well in few dimensions only
NEAREST_ROWS = 1 << 16  # pairs per block of the nearest-code check (memory O(rows x K x k))
NEAREST_K = (16, 64, 256)  # neighbours asked for, in turn, before a pair gets every output


def nearest_applies(spec: NetSpec, params) -> bool:
    """Whether `check_network` uses the nearest-code check for this network."""
    return (len(params) == 2 and 1 <= spec.hidden[0] <= NEAREST_MAX_UNITS
            and spec.n_out >= NEAREST_FROM)


def check_network(spec: NetSpec, params, task: Task, dtype: str = "float32",
                  progress: Callable[[int, int], None] | None = None,
                  method: str = "auto") -> NetworkCheck:
    """One network (weights without a population axis) on `task`, in float64. `method`:
    "dense" (every pair against every output), "nearest" (see the module's text; one
    hidden layer only) or "auto" (nearest where nearest_applies)."""
    rtol = solve_rtol(jnp.dtype(dtype))
    if method == "nearest" or (method == "auto" and nearest_applies(spec, params)):
        return _check_nearest(spec, params, task, rtol, progress)
    with jax.enable_x64(True):
        return _check_network(spec, params, task, rtol, progress)


def _code_scale(points: np.ndarray, bias: np.ndarray, h: np.ndarray) -> float:
    """The s > 0 for which e_j = b_j + s/2 |w_j|^2 vary least (least squares), or, where
    the biases do not follow -|w_j|^2 (a circle: any s will do), one that puts h/s at
    the outputs' scale."""
    sq = np.sum(points * points, axis=1)
    spread = float(np.var(sq))
    if spread > 0:
        s = -2 * float(np.mean((sq - sq.mean()) * (bias - bias.mean()))) / spread
        if np.isfinite(s) and s > 0:
            return s
    ph = float(np.sqrt(np.mean(np.sum(h * h, axis=1))))
    pw = float(np.sqrt(np.mean(sq)))
    return ph / pw if ph > 0 and pw > 0 else 1.0


def _logits_of(h: np.ndarray, points: np.ndarray, bias: np.ndarray, idx: np.ndarray):
    """Logits of the outputs idx (rows, K) for hidden states h (rows, k), unit by unit
    in a fixed order (float64)."""
    acc = h[:, 0, None] * points[idx, 0]
    for unit in range(1, h.shape[1]):
        acc = acc + h[:, unit, None] * points[idx, unit]
    return acc + bias[idx]


@partial(jax.jit, static_argnames=("spec",))
def _codes_and_sizes(spec: NetSpec, params, inputs):
    """The last hidden states (m, k) and the logits' magnitudes (m,) of the pairs, in one
    compiled program (op by op, each operation would compile on its own: seconds)."""
    h = netlib.hidden_states(spec, params, inputs)[-1]
    return h, logit_magnitude(params, h, inputs)


def _check_nearest(spec, params, task, rtol, progress) -> NetworkCheck:
    from scipy.spatial import cKDTree

    m = task.n_pairs
    inputs = np.asarray(task.inputs, np.int64)
    targets = np.asarray(task.solve_targets(), np.int64)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda x: jnp.asarray(np.asarray(x, np.float64)), params)
        h, size = map(np.asarray, _codes_and_sizes(spec, p64, jnp.asarray(inputs)))
    last = params[-1]
    points = np.ascontiguousarray(np.asarray(last["w"], np.float64).T)  # (n_out, k)
    bias = np.asarray(last["b"], np.float64) if "b" in last else np.zeros(len(points))
    if not (np.isfinite(h).all() and np.isfinite(points).all() and np.isfinite(bias).all()):
        with jax.enable_x64(True):  # a diverged network: the dense pass handles what is not
            return _check_network(spec, params, task, rtol, progress)  # finite
    s = _code_scale(points, bias, h)
    e = bias + 0.5 * s * np.sum(points * points, axis=1)
    e_max = float(np.max(e))
    lifted = np.column_stack([points, np.sqrt(np.maximum(0.0, 2 * (e_max - e) / s))])
    tree = cKDTree(lifted)
    q = np.column_stack([h / s, np.zeros(m)])
    lift = 0.5 * s * np.sum(q * q, axis=1)  # A(h)
    best = _logits_of(h, points, bias, targets[:, None])[:, 0]
    other = np.full(m, -np.inf)
    blocks = -(-m // NEAREST_ROWS)
    for block in range(blocks):
        rows = np.arange(block * NEAREST_ROWS, min(m, (block + 1) * NEAREST_ROWS))
        for k in NEAREST_K:
            if not len(rows):
                break
            k = min(k, len(points))
            dist, idx = tree.query(q[rows], k=k, workers=-1)
            dist, idx = dist.reshape(len(rows), k), idx.reshape(len(rows), k)
            logits = _logits_of(h[rows], points, bias, idx)
            logits[idx == targets[rows, None]] = -np.inf
            found = logits.max(axis=1)
            if k == len(points):  # every output seen
                other[rows] = found
                rows = rows[:0]
                break
            bound = lift[rows] + e_max - 0.5 * s * dist[:, -1] ** 2
            # room for rounding: far above float64's, far below any tolerance of the rule
            room = 1e-12 * (np.abs(lift[rows]) + abs(e_max) + 0.5 * s * dist[:, -1] ** 2
                            + np.abs(e[idx]).max(axis=1) + size[rows] + np.abs(found))
            settled = bound + room < found
            other[rows[settled]] = found[settled]
            rows = rows[~settled]
        for start in range(0, len(rows), chunk_rows(len(points))):  # every output
            part = rows[start:start + chunk_rows(len(points))]
            logits = _logits_of(h[part], points, bias,
                                np.broadcast_to(np.arange(len(points)), (len(part), len(points))))
            logits[np.arange(len(part)), targets[part]] = -np.inf
            other[part] = logits.max(axis=1)
        if progress:
            progress(block + 1, blocks)
    won = best - rtol * size >= other
    margin = (best - other) / size
    worst = int(np.argmin(margin)) if m else 0
    low = float(margin[worst]) if m else math.inf
    return NetworkCheck(bool(won.all()), int(won.sum()), m,
                        low if math.isfinite(low) else math.inf, worst, hull_share(params),
                        "nearest")


def _check_network(spec, params, task, rtol, progress) -> NetworkCheck:
    devices = jax.local_devices()
    rows = chunk_rows(task.n_out)
    m = task.n_pairs
    chunks = -(-m // rows)
    inputs = np.zeros(chunks * rows, np.int64)
    inputs[:m] = task.inputs
    targets = np.zeros(chunks * rows, np.int64)
    targets[:m] = task.solve_targets()
    real = np.arange(chunks * rows) < m
    # the weights once per core, in float64
    placed = [jax.device_put(jax.tree.map(lambda x: np.asarray(x, np.float64), params), d)
              for d in devices]
    done = [0]

    def run(c: int):
        d = c % len(devices)
        part = slice(c * rows, (c + 1) * rows)
        with jax.enable_x64(True):  # (a thread does not inherit the caller's x64 mode)
            args = [jax.device_put(a[part], devices[d]) for a in (inputs, targets, real)]
            out = jax.device_get(_chunk(spec, placed[d], *args, rtol))
        done[0] += 1
        if progress:
            progress(done[0], chunks)
        return out

    # One thread per core, each running its chunks one after another (XLA runs a
    # compiled program on the calling thread and releases the GIL meanwhile).
    with ThreadPoolExecutor(len(devices)) as pool:
        results = list(pool.map(run, range(chunks)))
    won = sum(int(r[0]) for r in results)
    c = int(np.argmin([float(r[1]) for r in results]))
    margin = float(results[c][1])
    return NetworkCheck(won == m, won, m, margin if math.isfinite(margin) else math.inf,
                        c * rows + int(results[c][2]), hull_share(params))


def check_population(pop: Population, networks: list[int] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Every network of `pop` (or those listed), held to the rule of pop.dtype. Raises
    ResourceError before any work when the chunks cannot fit in memory."""
    need = check_bytes(pop.spec.n_out, max(pop.spec.hidden, default=0), len(jax.local_devices()))
    if need > 0.7 * host_bytes():
        raise ResourceError(f"the check needs about {need / 2**30:.1f} GiB, but only "
                            f"{host_bytes() / 2**30:.1f} GiB is free")
    chosen = range(pop.size) if networks is None else networks
    start = time.perf_counter()
    done = []
    for k, i in enumerate(chosen):
        def report(d: int, n: int, k: int = k) -> None:
            if progress:
                progress(k * n + d, len(chosen) * n)

        done.append(check_network(pop.spec, pop.network(i), pop.task, pop.dtype, report))
    return CheckResult(pop.dtype, solve_rtol(jnp.dtype(pop.dtype)), tuple(chosen),
                       tuple(done), time.perf_counter() - start)
