"""The full softmax's training step in chunks of pairs: one network's loss, outcome and
gradients computed chunk by chunk, so that the pairs x outputs logits never exist whole.

Why: past a few million logits (n of about 1,500 and more) a full-batch step's n x n
arrays (the logits, their exponentials, the softmax's error) no longer fit in the caches,
and the separate passes autodiff makes over them (forward, the softmax's reductions, two
products backward) each stream them through memory: 58 ms a step at n = 4,096 and 870 ms
at 16,384 (k = 3, one network). Here each chunk of about softmax.CHUNK_LOGITS logits is made,
reduced and turned into gradients while it is in the cache, and the gradients of the
last layer are written directly rather than derived:

    G = w_i (softmax(z_i) - onehot(t_i))   (the loss's gradient in the logits, pair i)
    dh = G W^T,  dW = h^T G,  db = sum_i G

with the softmax's normalization moved onto the small factors (e [W^T | 1] gives e W^T
and the sums of e together; dW and db come from (h s)^T e and s^T e, s the pairs'
weights over their sums), so that a chunk is passed over by three products (the logits,
with the bias as one more row of W; e [W^T | 1]; (h s)^T e), one maximum and one
exponential. 6.5x faster than autodiff through the whole array at 4,096 and 16,384
(benchmarks/capacity_wall.py), with memory O(chunk x n) instead of O(n x n). The layers
below get their gradients from dh by autodiff. The outcome follows the solve rule of
evaluation._pairs, with a margin 3/2 as large (STEP_TOL): a pair is won when no other
output's logit comes within tol of its solve target's. The solve target's logit is taken
out of its row (its own term of the softmax put back by hand), so the row's one maximum
is the strongest other output, which decides the rule and, with the target's logit,
gives the softmax's shift.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from bottlenet import net as netlib
from bottlenet.evaluation import Evaluation, TaskArrays, logit_magnitude, solve_rtol
from bottlenet.softmax import full_chunk_rows
from bottlenet.spec import NetSpec
from bottlenet.trainer import fused

# The step's own rule asks for 3/2 of the solve rule's margin. Training stops a network at
# its first solve, right at the rule's edge, and another computation of the same logits
# (the final evaluation, which sums them in another order; `bottlenet check` in float64)
# moves them by a few units of 2^-24 of their size, far less than the half tolerance
# (2^-21) added here: every solve the step reports is confirmed by them. (Seen without it:
# a network at 2,048 symbols stopped with a margin of 9.55e-7 against the rule's 9.54e-7,
# and the final float32 evaluation found it 1 ulp short.)
STEP_TOL = 1.5


def _split(a: jax.Array, chunks: int, rows: int) -> jax.Array:
    """(m, ...) -> (chunks, rows, ...), padded at the end with zeros (pairs of weight 0)."""
    pad = chunks * rows - a.shape[0]
    return jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)).reshape(chunks, rows,
                                                                      *a.shape[1:])


def last_layer(h: jax.Array, last: dict, data: TaskArrays, tol: jax.Array, rows: int):
    """Loss, pairs won and gradients of the last layer for last hidden states h (m, k).
    Returns (loss, correct (m,), dh (m, k), dw (k, n), db (n,) or None)."""
    m, k = h.shape
    w, b = last["w"], last.get("b")
    chunks = -(-m // rows)
    xs = tuple(_split(a, chunks, rows) for a in (h, data.targets, data.solve_targets,
                                                  data.weights, tol))
    bias = jnp.zeros_like(w[0]) if b is None else b
    # The bias as one more row of W (and a one beside each h), padded outputs at -inf:
    # one product makes the logits, with no pass of its own for the bias or the mask.
    # (No pair's target or solve target is a padded output: their gathers stay finite.)
    w1 = jnp.concatenate([w, jnp.where(data.out_mask, bias, -jnp.inf)[None]], axis=0)
    w1t = w1.T
    # e @ [W^T | 1] gives each pair's sum of exponentials beside e W^T, in one product
    wt1 = w1t.at[:, k].set(1)
    row = jnp.arange(rows)

    def chunk(carry, x):
        dw1 = carry
        hc, target, solve, weight, tolc = x
        hc1 = jnp.concatenate([hc, jnp.ones_like(hc[:, :1])], axis=1)
        # The solve target's and the target's logits by a gather (k + 1 products per
        # pair), not by a pass over the row.
        w_solve, w_target = w1t[solve], w1t[target]
        best = jnp.sum(hc1 * w_solve, axis=1)
        zt = jnp.sum(hc1 * w_target, axis=1)
        # The solve target's logit taken out of its row: one maximum gives the strongest
        # other output (the rule: won when it trails best by tol) and, with best, the
        # softmax's shift. (One network at n = 4,096, k = 2, chunks of 128 pairs: 13.7 ms
        # with a count beside the maximum and the bias added apart, 9.7 with a masked
        # maximum, 8.4 like this.)
        z = netlib.matmul(hc1, w1).at[row, solve].set(-jnp.inf)
        other = jnp.max(z, axis=1)
        shift = jnp.maximum(other, best)
        e = jnp.exp(z - shift[:, None])
        es = jnp.exp(best - shift)  # the solve target's own term, put back by hand
        ew = netlib.matmul(e, wt1) + es[:, None] * w_solve.at[:, k].set(1)
        total = ew[:, k]
        loss = jnp.sum((jnp.log(total) - (zt - shift)) * weight)
        # G = e * s (s = weight / total per pair) less the one-hot part: s scales the
        # small factors, not e, so G itself is never made.
        s = weight / total
        dh = ew[:, :k] * s[:, None] - weight[:, None] * w_target[:, :k]
        hs1 = hc1 * s[:, None]
        dw1 = (dw1 + netlib.matmul(hs1.T, e)).at[:, solve].add((hs1 * es[:, None]).T)
        dw1 = dw1.at[:, target].add(-(hc1 * weight[:, None]).T)
        return dw1, (loss, other <= best - tolc, dh)

    dw1, (loss, correct, dh) = jax.lax.scan(chunk, jnp.zeros_like(w1), xs)
    return (jnp.sum(loss), correct.reshape(-1)[:m], dh.reshape(-1, k)[:m], dw1[:k],
            None if b is None else dw1[k])


def loss_and_grads(spec: NetSpec, params, data: TaskArrays, inputs=None,
                   rows: int | None = None) -> tuple[Evaluation, tuple]:
    """(Evaluation without logits, gradients of the loss in params) of one network on
    the whole task, as jax.value_and_grad of evaluation.evaluate would give them (sums
    taken in another order; the outcome by the solve rule with the step's wider margin,
    STEP_TOL). `rows`: pairs per chunk (softmax.full_chunk_rows by default); without
    it, float32 networks take the compiled fused kernel where it was built (fused.py).
    `inputs`: data.inputs by default, or the same indices as a range.

    One compiled program (inlined into a caller's jit): op by op, a first call would
    compile each operation of the forward and backward passes alone (seconds on a CPU).
    What the program depends on beyond its arguments (the margin, the kernel's use, the
    chunk) is read here, at each call, and is part of its compilation key."""
    dtype = jax.tree.leaves(params)[0].dtype
    kernel = rows is None and fused.takes(dtype, spec.hidden[-1])
    rows = rows or full_chunk_rows(data.inputs.shape[0], spec.n_out)
    input_range = inputs if isinstance(inputs, range) else None
    pairs = None if input_range is not None else inputs
    return _loss_and_grads(spec, params, data, pairs, input_range, rows, kernel, STEP_TOL)


@partial(jax.jit, static_argnames=("spec", "input_range", "rows", "kernel", "step_tol"))
def _loss_and_grads(spec: NetSpec, params, data: TaskArrays, pairs, input_range, rows,
                    kernel, step_tol) -> tuple[Evaluation, tuple]:
    if input_range is not None:
        pairs = input_range
    elif pairs is None:
        pairs = data.inputs
    states, pull = jax.vjp(lambda p: netlib.hidden_states(spec, p, pairs), params)
    h = states[-1]
    tol = jax.lax.stop_gradient(step_tol * solve_rtol(h.dtype)
                                * logit_magnitude(params, h, pairs))
    if kernel:   # the compiled kernel, where it was built
        loss, correct, dh, dw, db = fused.last_layer(h, params[-1], data, tol)
    else:
        loss, correct, dh, dw, db = last_layer(h, params[-1], data, tol, rows)
    (grads,) = pull([jnp.zeros_like(s) for s in states[:-1]] + [dh])
    last = {**grads[-1], "w": grads[-1]["w"] + dw}
    if db is not None:
        last["b"] = grads[-1]["b"] + db
    real = data.weights > 0
    won = correct | ~real
    accuracy = jnp.sum(won & real) / jnp.maximum(jnp.sum(real), 1)
    return (Evaluation(loss, accuracy, jnp.all(won), jnp.zeros((0, 0), loss.dtype)),
            (*grads[:-1], last))
