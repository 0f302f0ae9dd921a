"""The full-batch step's last layer by the compiled fused kernel (fused_kernel.pyx), where
it was built: the same loss, outcome and gradients as chunked.last_layer (to float32's
rounding), 2-4x faster on a CPU (most on trained networks, whose far blocks of outputs it
leaves out: see fused_kernel.pyx). JAX calls it from inside the compiled step
(jax.pure_callback); each network's pairs go in two halves to a pool of threads, one per
core (the kernel runs without the GIL), and the halves' gradients are added in a fixed
order, so a network's numbers depend neither on its population nor on the core count.
The population then stays on one device (run.py: the callback would gather it from
every device, and XLA warns of it), the threads giving the cores their work.

Used for float32 networks of 1 to 8 last hidden units on a CPU, where the kernel was
built with 512-bit vectors (an editable install on an AVX-512 machine: without them it is
slower than XLA); float64, wider layers, other machines and GPUs keep chunked.last_layer
(XLA). BOTTLENET_FUSED=0 turns it off (benchmarks compare the two that way).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from types import ModuleType

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet.evaluation import TaskArrays

fused_kernel: ModuleType | None
try:
    import bottlenet.trainer.fused_kernel as fused_kernel
except ImportError:  # built without a C compiler: the XLA step serves
    fused_kernel = None

HALVES = 2  # pair ranges a network is cut into (fixed: the sums' order never changes)


def _kernel() -> ModuleType:
    assert fused_kernel is not None, "the fused kernel was not built"
    return fused_kernel


def built() -> bool:
    """Whether the kernel was built for 512-bit vectors (where it beats XLA)."""
    return fused_kernel is not None and fused_kernel.AVX512


def takes(dtype, units: int) -> bool:
    """Whether the fused kernel takes the full-batch step of a network whose last hidden
    layer has `units` units: built with 512-bit vectors, not turned off, float32 on a
    CPU, 1 to KMAX units."""
    return (built() and os.environ.get("BOTTLENET_FUSED", "1") != "0"
            and jnp.dtype(dtype) == jnp.float32 and 1 <= units <= _kernel().KMAX
            and jax.default_backend() == "cpu")


def applies(h: jax.Array) -> bool:
    """takes() for last hidden states h (..., units)."""
    return takes(h.dtype, h.shape[-1])


@cache
def _pool() -> ThreadPoolExecutor:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return ThreadPoolExecutor(max(1, cores or 1), thread_name_prefix="bottlenet-fused")


def _host(h, w1, target, solve, weight, tol):
    """The callback: arrays with a population axis first (vmap) or without one."""
    single = h.ndim == 2
    if single:
        h, w1, target, solve, weight, tol = (a[None] for a in (h, w1, target, solve, weight,
                                                              tol))
    h, w1, weight, tol = (np.ascontiguousarray(a, np.float32) for a in (h, w1, weight, tol))
    target, solve = (np.ascontiguousarray(a, np.int32) for a in (target, solve))
    pop, m, k = h.shape
    n = w1.shape[2]
    correct = np.zeros((pop, m), np.uint8)
    dh = np.zeros((pop, m, k), np.float32)
    parts = np.zeros((pop, HALVES, k + 1, n), np.float32)
    cuts = [m * i // HALVES for i in range(HALVES + 1)]

    def task(p: int, half: int) -> float:
        return _kernel().last_layer_range(
            h[p], w1[p], target[p], solve[p], weight[p], tol[p], cuts[half], cuts[half + 1],
            correct[p], dh[p], parts[p, half])

    jobs = [(p, half) for p in range(pop) for half in range(HALVES)]
    losses = np.array(list(_pool().map(lambda j: task(*j), jobs))).reshape(pop, HALVES)
    # (numpy adds the halves in one fixed order, whatever the threads' order was)
    out = (losses.sum(axis=1).astype(np.float32), correct, dh, parts.sum(axis=1))
    return tuple(a[0] for a in out) if single else out


def last_layer(h: jax.Array, last: dict, data: TaskArrays, tol: jax.Array):
    """chunked.last_layer's results (loss, correct (m,), dh (m, k), dw (k, n), db (n,) or
    None) from the fused kernel."""
    m, k = h.shape
    w, b = last["w"], last.get("b")
    n = w.shape[1]
    lanes = _kernel().LANES
    wide = -(-n // lanes) * lanes
    bias = jnp.zeros_like(w[0]) if b is None else b
    # the bias as W's last row, padded outputs (the task's and the lanes') at -inf there
    w1 = jnp.concatenate([w, jnp.where(data.out_mask, bias, -jnp.inf)[None]], axis=0)
    w1 = jnp.pad(w1, ((0, 0), (0, wide - n))).at[k, n:].set(-jnp.inf)
    shapes = (jax.ShapeDtypeStruct((), jnp.float32), jax.ShapeDtypeStruct((m,), jnp.uint8),
              jax.ShapeDtypeStruct((m, k), jnp.float32),
              jax.ShapeDtypeStruct((k + 1, wide), jnp.float32))
    loss, correct, dh, dw1 = jax.pure_callback(
        _host, shapes, h, w1, data.targets.astype(jnp.int32),
        data.solve_targets.astype(jnp.int32), data.weights.astype(jnp.float32),
        tol.astype(jnp.float32), vmap_method="broadcast_all")
    return (loss, correct != 0, dh, dw1[:k, :n], None if b is None else dw1[k, :n])
