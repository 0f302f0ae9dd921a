"""The strict solve rule recomputed in float64, in chunks, on every core: `bottlenet check`.

Training decides "solved" in its own precision. This checker takes the weights as they
were kept (a model file, or a construction), computes every pair against every output in
float64 (JAX's x64 mode, for this call only), and holds each network to the rule of the
precision it was trained or made for (evaluation.solve_rtol: 2^-20 of the logits' size
for float32, 2^-49 for float64). For each network it reports whether every pair is won
and the smallest winning margin, relative to that size: the number that says how close
to the precision's wall a network stands.

Memory is O(chunk x outputs) per core whatever n is; time is O(n^2 k) per network.
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
                              "worst_pair": c.worst_pair, "hull_share": c.hull_share}
                             for i, c in zip(self.indices, self.networks, strict=True)],
                "solved": self.solved, "total": len(self.networks),
                "seconds": round(self.seconds, 3)}


def hull_share(params) -> float | None:
    """Which code a network uses, in one number: the share of its output vectors (the
    last layer's columns, points in the k-dimensional hidden space) that are vertices of
    their convex hull. Codes on a circle (the article's picture, `construct --method
    circle`) put every output on the hull: 1. A grid / Voronoi code (`--method grid`)
    puts its outputs inside, only the corners on the hull: about 2^k / n. None without
    exactly one hidden layer of at least 2 units, or when the points span less than k
    dimensions."""
    from scipy.spatial import ConvexHull, QhullError

    if len(params) != 2:
        return None
    points = np.asarray(params[-1]["w"], np.float64).T  # (n_out, k)
    if points.shape[1] < 2 or len(points) <= points.shape[1]:
        return None
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


def check_network(spec: NetSpec, params, task: Task, dtype: str = "float32",
                  progress: Callable[[int, int], None] | None = None) -> NetworkCheck:
    """One network (weights without a population axis) on `task`, in float64."""
    with jax.enable_x64(True):
        return _check_network(spec, params, task, solve_rtol(jnp.dtype(dtype)), progress)


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
