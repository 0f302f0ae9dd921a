"""Each pair's strongest rival output without scoring all n outputs: the check of large n.

A logit is h . w_j + b_j, with h the pair's hidden code (k values) and (w_j, b_j) output
j's weights. The outputs are split into G groups of S that are close in that (k + 1)-
dimensional space (the leaves of a median-split tree); each group gets the box of its
weights, and for a code h the box bounds every logit in the group from above:
sum_d max(h_d lo_d, h_d hi_d) + max b. A pair's logits are then computed exactly only
for the M groups of highest bound; where the next group's bound does not reach the best
rival found, no output outside them can beat it, and the answer is exact. Pairs where it
might (rare: a code on the border of several groups' reach) are left to the full pass
over every output. For k of a few units this costs about G + M x S logits per pair
instead of n: the grid construction at 10^6 symbols is checked in minutes, not hours.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Index(NamedTuple):
    members: np.ndarray  # (G, S) output indices, padded with n (an output scoring -inf)
    lo: np.ndarray  # (G, k) smallest weight of each unit over the group
    hi: np.ndarray  # (G, k) largest
    bias: np.ndarray  # (G,) largest bias
    w: np.ndarray  # (n + 1, k) every output's weights, then the padding's (zeros)
    b: np.ndarray  # (n + 1,) biases, then -inf


def build(w: np.ndarray, b: np.ndarray, group: int = 1024, least: int = 8) -> Index:
    """The index of outputs with weights w (k, n) and biases b (n,): groups of at most
    `group` outputs (and at least `least` groups), each split of a group in two halves at
    the median of its widest coordinate (units and bias)."""
    w = np.asarray(w, np.float64)
    b = np.asarray(b, np.float64)
    k, n = w.shape
    groups = max(least, 1 << max(0, (-(-n // group) - 1).bit_length()))
    size = -(-n // groups)
    points = np.concatenate([w.T, b[:, None]], 1)  # (n, k + 1)
    order = np.full(groups * size, n)
    order[:n] = np.arange(n)
    parts = order.reshape(1, -1)
    while len(parts) < groups:
        valid = parts < n
        coords = np.where(valid[..., None], points[np.minimum(parts, n - 1)], np.nan)
        spread = np.nanmax(coords, 1) - np.nanmin(coords, 1)  # (parts, k + 1)
        dim = np.argmax(np.nan_to_num(spread, nan=-1.0), 1)
        key = np.take_along_axis(coords, dim[:, None, None], 2)[..., 0]
        key = np.where(valid, key, np.inf)  # padding sorts last
        parts = np.take_along_axis(parts, np.argsort(key, 1, kind="stable"), 1)
        parts = parts.reshape(len(parts) * 2, -1)
    valid = parts < n
    coords = points[np.minimum(parts, n - 1)]
    lo = np.where(valid[..., None], coords, np.inf).min(1)
    hi = np.where(valid[..., None], coords, -np.inf).max(1)
    empty = ~valid.any(1)  # (only when n < least): a box at 0 whose bias bound is -inf
    lo[empty], hi[empty] = 0.0, 0.0
    hi[empty, k] = -np.inf
    return Index(parts, lo[:, :k], hi[:, :k], hi[:, k],
                 np.concatenate([w.T, np.zeros((1, k))]), np.append(b, -np.inf))


def rivals(index: Index, h: jax.Array, targets: jax.Array, scan: int = 4):
    """For codes h (Q, k) and their targets (Q,): (the target's logit, the best other
    logit, exact), exact False where an output of a group not scanned might beat the
    rival found (the caller then scores every output for that pair). `scan` groups are
    scored in full (fewer when the index has no more than that)."""
    scan = min(scan, len(index.members) - 1)
    lo, hi = jnp.asarray(index.lo), jnp.asarray(index.hi)
    bound = jnp.sum(jnp.maximum(h[:, None, :] * lo, h[:, None, :] * hi), -1) + index.bias
    # rounding of the bound's few terms, generously: it must never fall below a logit
    bound = bound + 1e-12 * (jnp.abs(h) @ jnp.maximum(jnp.abs(lo), jnp.abs(hi)).T
                             + jnp.abs(index.bias))
    top, groups = jax.lax.top_k(bound, scan + 1)
    cand = jnp.asarray(index.members)[groups[:, :scan]]  # (Q, scan, S)
    w, b = jnp.asarray(index.w), jnp.asarray(index.b)
    logits = jnp.einsum("qk,qmsk->qms", h, w[cand]) + b[cand]
    other = jnp.max(jnp.where(cand == targets[:, None, None], -jnp.inf, logits), (1, 2))
    best = jnp.einsum("qk,qk->q", h, w[targets]) + b[targets]
    return best, other, top[:, scan] <= other
