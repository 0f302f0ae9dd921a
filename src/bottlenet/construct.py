"""Weights made by hand, the largest n they carry in float32, and the check of which
outputs can ever win.

Hand-made weights answer whether the article's limits (2 units ~ 11 symbols) are limits
of representation or of training. Two constructions, both for any n:

- circle (k >= 2): the n hidden codes sit on a circle of radius r inside tanh's square
  and each output's weight vector points at its input's code: c_i . c_i = r^2 >
  c_i . c_j for every other code. Neighbours differ by r^2 (1 - cos(2 pi / n)), a margin
  that shrinks like 1/n^2.
- grid (k >= 1): the codes fill a grid in [-r, r]^k and output t scores
  s (2 c_t . h - |c_t|^2) = s (|h|^2 - |h - c_t|^2), so the nearest code wins (a Voronoi
  diagram; for k = 1 the upper envelope of tangent lines). Neighbours differ by the
  squared grid spacing, a margin that shrinks like n^(-2/k) only.

The weight scale s sets how sure the softmax is; we report the smallest s that gives the
correct output probability >= p. In float32 a construction carries n symbols while its
smallest margin beats the trainer's solve rule (train.SOLVE_RTOL times the size of the
logit's terms); `float32_limit` gives that n, the same for every s.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import activations, checks, tasks
from bottlenet import net as netlib
from bottlenet.check import check_network
from bottlenet.config import check_dtype
from bottlenet.errors import ResourceError, SpecError
from bottlenet.evaluation import SOLVE_RTOL, evaluate, solve_rtol, task_arrays
from bottlenet.memory import host_bytes
from bottlenet.population import Population
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


@dataclass(frozen=True)
class Construction:
    spec: NetSpec
    task: Task
    params: tuple  # one network, numpy arrays
    method: str
    scale: float  # s: output weights are s x (unit-free code)
    target_probability: float
    min_probability: float  # worst pair, float64 forward pass
    solved_float32: bool  # every pair won by the strict rule, trainer's float32 forward
    solved_float64: bool  # the same with float64 weights and the float64 rule
    dtype: str = "float32"  # the precision of `params` (and of the model file)


METHODS = ("circle", "grid")


def _grid(n: int, k: int, radius: float) -> np.ndarray:
    """The first n points (n, k) of a grid with m = ceil(n^(1/k)) points per side."""
    m = max(2, math.ceil(round(n ** (1 / k), 9)))
    axis = np.linspace(-radius, radius, m)
    return np.stack(np.meshgrid(*[axis] * k, indexing="ij"), -1).reshape(-1, k)[:n]


def _unit_params(task: Task, hidden: int, radius: float, method: str = "circle"):
    """Codes and output directions at scale 1: (w1, b1, w2, b2) as float64 arrays."""
    if len(set(task.inputs)) != task.n_pairs or len(set(task.targets)) != task.n_pairs:
        raise SpecError("construction needs each input and each output in at most one pair")
    m = task.n_pairs
    w1 = np.zeros((task.n_in, hidden))
    w2 = np.zeros((hidden, task.n_out))
    b2 = np.zeros(task.n_out)
    if method == "grid" or hidden == 1:
        codes = _grid(m, hidden, radius)
        b2[:] = -hidden * radius**2  # outputs no input needs: below every winning logit
        for rank, (i, t) in enumerate(zip(task.inputs, task.targets, strict=True)):
            w1[i] = np.arctanh(codes[rank])
            w2[:, t] = 2 * codes[rank]
            b2[t] = -codes[rank] @ codes[rank]
    else:
        theta = 2 * np.pi * np.arange(m) / m
        codes = radius * np.stack([np.cos(theta), np.sin(theta)], 1)
        for rank, (i, t) in enumerate(zip(task.inputs, task.targets, strict=True)):
            w1[i, :2] = np.arctanh(codes[rank])
            w2[:2, t] = codes[rank]
    return w1, np.zeros(hidden), w2, b2


def margin_limit(hidden: int, method: str = "circle", radius: float = 0.9,
                 rtol: float = SOLVE_RTOL) -> int:
    """Estimate of the largest n whose construction wins every pair under the trainer's
    solve rule (float32's by default; rtol = solve_rtol(dtype) for another): the smallest
    margin must exceed rtol x (max |b| + sum_l (|h_l| + 1/16) max |w_l|), at the pair
    where the ratio is worst. Both sides grow with the scale s, so the limit does not
    depend on it. Exact arithmetic is assumed; float32 codes lose a few percent more
    (see float32_limit, checked_limit)."""
    r = radius
    if method == "circle" and hidden >= 2:
        # worst pair at 45 degrees: |h_1| + |h_2| = r sqrt 2; largest |w_l| = r
        need = rtol * r * (r * math.sqrt(2) + 0.125)
        return int(2 * math.pi / math.acos(1 - need / r**2))
    # grid: margin = spacing^2; worst pair at a corner, max |b| = k r^2, max |w_l| = 2r
    need = rtol * hidden * r * (3 * r + 0.125)
    per_side = int(2 * r / math.sqrt(need)) + 1
    return per_side**hidden


MEASURABLE = 20_000  # beyond this many symbols one check (n^2 logits) takes too long


@functools.lru_cache(maxsize=32)
def float32_limit(hidden: int, method: str = "circle", radius: float = 0.9
                  ) -> tuple[int, bool]:
    """(n, measured): the largest n whose construction the trainer's own float32 check
    counts as solved, found by bisection when the estimate is at most MEASURABLE
    symbols; otherwise (margin_limit(...), False), an estimate."""
    estimate = margin_limit(hidden, method, radius)
    if estimate > MEASURABLE:
        return estimate, False
    lo, hi = estimate // 2, estimate + estimate // 10
    spec = NetSpec(hi, hi, (hidden,))  # every n padded to one shape: one compilation

    def solves(n: int) -> bool:
        task = tasks.shift(n)
        w1, b1, w2, b2 = _unit_params(task, hidden, radius, method)
        w1, w2, b2 = np.pad(w1, ((0, hi - n), (0, 0))), np.pad(w2, ((0, 0), (0, hi - n))), \
            np.pad(b2, (0, hi - n))
        params = _params((w1, b1, w2, b2), 1.0, True, jnp.float32)
        return bool(_check(spec, params, task_arrays(task, hi, hi, n_in=hi)).solved)

    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if solves(mid) else (lo, mid)
    return lo, True


def _params(unit: tuple, scale, bias: bool, dtype):
    w1, b1, w2, b2 = unit
    layers = [{"w": jnp.asarray(w1, dtype)}, {"w": jnp.asarray(scale * w2, dtype)}]
    if bias:
        layers[0]["b"] = jnp.asarray(b1, dtype)
        layers[1]["b"] = jnp.asarray(scale * b2, dtype)
    return tuple(layers)


@functools.partial(jax.jit, static_argnums=0)
def _smallest_target_probability(spec, params, inputs, targets):
    p = jax.nn.softmax(netlib.forward(spec, params, inputs), axis=-1)
    return jnp.min(p[jnp.arange(inputs.shape[0]), targets])


# Compiled once per shape (op by op, a check compiled dozens of small programs: 6 of the
# 7 seconds of construct --symbols 60).
_check = jax.jit(evaluate, static_argnums=0)


def _min_probability(spec, task, unit, scale) -> float:
    with jax.enable_x64(True):
        params = _params(unit, scale, spec.bias, jnp.float64)
        return float(_smallest_target_probability(spec, params, jnp.asarray(task.inputs),
                                                  jnp.asarray(task.targets)))


def memory_bytes(n: int) -> int:
    """What checking a construction on n symbols takes: a few (n x n) float64 arrays
    (logits, their softmax, the float32 check's copies)."""
    return 32 * n * n


def check_settings(n: int, hidden: int, probability: float, radius: float,
                   method: str = "circle") -> None:
    """Refuse, before any work, what construct() cannot do: bad numbers, or more symbols
    than this machine's memory can check."""
    checks.whole("hidden units (--hidden)", hidden, 1, checks.HIDDEN_MAX)
    if method not in METHODS:
        raise SpecError(f"unknown construction {method!r}; choose one of: {', '.join(METHODS)}")
    checks.real("probability (--prob)", probability, 0.0, 1.0, above=True, below=True)
    checks.real("radius (--radius)", radius, 0.0, 1.0, above=True, below=True)
    need, free = memory_bytes(n), host_bytes()
    if need > 0.7 * free:
        raise ResourceError(f"checking {n:,} symbols needs about {need / 2**30:,.1f} GiB but "
                            f"{free / 2**30:.1f} GiB is free: use fewer --symbols")


def limit_ceiling(hidden: int, method: str = "circle", dtype: str = "float32",
                  radius: float = 0.9) -> int:
    """The largest n checked_limit tries: 1.5x the margin's estimate, at most SYMBOLS_MAX."""
    rtol = solve_rtol(np.dtype(dtype))
    return min(checks.SYMBOLS_MAX, int(1.5 * margin_limit(hidden, method, radius, rtol)))


def check_limit_settings(hidden: int, method: str = "circle", dtype: str = "float32",
                         radius: float = 0.9) -> None:
    """Refuse a limit search (checked_limit) whose checks could not be exact and quick
    (the nearest-code check takes at most NEAREST_MAX_UNITS units) or would not fit in
    memory at its largest n (the weights, the codes and the pairs as float64, about 12
    arrays of n x (k + 2) numbers)."""
    from bottlenet.check import NEAREST_MAX_UNITS

    if hidden > NEAREST_MAX_UNITS:
        raise SpecError(f"--limit checks constructions of at most {NEAREST_MAX_UNITS} hidden "
                        f"units (each n exactly, by nearest codes); got --hidden {hidden}")
    n = limit_ceiling(hidden, method, dtype, radius)
    need, free = 12 * 8 * n * (hidden + 2), host_bytes()
    if need > 0.7 * free:
        raise ResourceError(f"--limit checks up to {n:,} symbols, which needs about "
                            f"{need / 2**30:.1f} GiB, but {free / 2**30:.1f} GiB is free")


def construct(task: Task, hidden: int = 2, probability: float = 0.9,
              radius: float = 0.9, method: str = "circle", dtype: str = "float32"
              ) -> Construction:
    """Hand-made tanh weights that solve `task` (one pair per input and output); with one
    unit the method is always the grid (a line envelope). `dtype`: the precision of the
    weights kept (and of a model file made of them)."""
    check_settings(max(task.n_in, task.n_out), hidden, probability, radius, method)
    check_dtype(dtype)
    spec = NetSpec(task.n_in, task.n_out, (hidden,), "tanh", True, "softmax")
    unit = _unit_params(task, hidden, radius, method)
    lo, hi = 1e-3, 1.0
    while _min_probability(spec, task, unit, hi) < probability:
        lo, hi = hi, hi * 4
        if hi > 1e12:
            raise SpecError("no weight scale reaches that probability")
    while hi > lo * (1 + 1e-7):  # bisection in log space, to 7 digits (each step is n^2)
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if _min_probability(spec, task, unit, mid) < probability else (lo, mid)
    scale = hi
    with jax.enable_x64(True):
        p64 = _params(unit, scale, True, jnp.float64)
        solved64 = bool(_check(spec, p64, task_arrays(task, dtype=jnp.float64)).solved)
    p32 = _params(unit, scale, True, jnp.float32)
    solved32 = bool(_check(spec, p32, task_arrays(task)).solved)
    kept = p32 if dtype == "float32" else p64
    return Construction(spec, task, jax.tree.map(np.asarray, kept),
                        "line envelope" if hidden == 1 else
                        f"grid in [-{radius}, {radius}]^{hidden}" if method == "grid" else
                        f"circle of radius {radius}",
                        scale, probability, _min_probability(spec, task, unit, scale),
                        solved32, solved64, dtype)


def as_population(c: Construction) -> Population:
    """The construction as a one-network Population (no training record), so model files
    and pictures work."""
    solved = c.solved_float64 if c.dtype == "float64" else c.solved_float32
    return Population.from_weights(
        c.spec, c.task, tuple({k: v[None] for k, v in layer.items()} for layer in c.params),
        solved=[solved], final_loss=[-math.log(c.min_probability)],
        final_accuracy=[1.0 if solved else 0.0], dtype=c.dtype)


def winnable(spec: NetSpec, params, max_margin: float = 1.0) -> np.ndarray:
    """For each output, the largest margin by which it beats every other output at some
    point of the hidden space (the activation's range as a closed box); > 0 means it can
    win, <= 0 that it never can, whatever the input. Solved as one linear program per
    output: maximise t subject to (w_j - w_i) . h + b_j - b_i >= t for all i != j."""
    from scipy.optimize import linprog

    if len(spec.hidden) != 1:
        raise SpecError("the argmax check needs exactly one hidden layer")
    k = spec.hidden[0]
    act = activations.get(spec.activation)
    w = np.asarray(params[-1]["w"], dtype=float)  # (k, n_out)
    b = np.asarray(params[-1]["b"], dtype=float) if "b" in params[-1] else np.zeros(w.shape[1])
    lo = None if math.isinf(act.low) else act.low
    hi = None if math.isinf(act.high) else act.high
    margins = np.empty(w.shape[1])
    for j in range(w.shape[1]):
        others = np.arange(w.shape[1]) != j
        # variables (h_1..h_k, t); constraint rows: (w_i - w_j) . h + t <= b_j - b_i
        a_ub = np.hstack([(w[:, others] - w[:, [j]]).T, np.ones((others.sum(), 1))])
        b_ub = b[j] - b[others]
        res = linprog(np.r_[np.zeros(k), -1.0], A_ub=a_ub, b_ub=b_ub,
                      bounds=[(lo, hi)] * k + [(None, max_margin)], method="highs")
        margins[j] = -res.fun if res.status == 0 else -np.inf
    return margins


def unit_weights(task: Task, hidden: int, radius: float = 0.9, method: str = "circle",
                 dtype: str = "float64") -> tuple:
    """The construction's weights at scale 1 (no n x n search for the scale, so any n
    fits), as layers {"w", "b"} of numpy arrays in `dtype`: what the checker needs, since
    the solve rule does not depend on the scale."""
    w1, b1, w2, b2 = (np.asarray(a, dtype) for a in _unit_params(task, hidden, radius, method))
    return ({"w": w1, "b": b1}, {"w": w2, "b": b2})


def checked_limit(hidden: int, method: str = "circle", dtype: str = "float32",
                  radius: float = 0.9, lo: int = 8, hi: int | None = None,
                  on_check: Callable[[int, bool], None] | None = None,
                  ) -> tuple[int, int | None]:
    """The largest n whose construction `bottlenet check` counts as solved under the rule
    of `dtype` (weights rounded to `dtype`, every pair recomputed in float64): bisection
    between `lo` (must pass) and `hi` (by default 1.5x margin_limit for that dtype, at
    most SYMBOLS_MAX). Returns (largest passing n, smallest failing n), or (hi, None) when
    even hi passes: then the limit lies beyond what was checked. A check costs n^2 k, or
    about n log n with one hidden layer of few units past check.NEAREST_FROM outputs.
    on_check(n, solved) hears each check."""
    check_dtype(dtype)
    hi = hi or limit_ceiling(hidden, method, dtype, radius)

    def solves(n: int) -> bool:
        task = tasks.shift(n)
        params = unit_weights(task, hidden, radius, method, dtype)
        ok = check_network(NetSpec(n, n, (hidden,)), params, task, dtype).solved
        if on_check:
            on_check(n, ok)
        return ok

    if solves(hi):
        return hi, None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if solves(mid) else (lo, mid)
    return lo, hi
