"""A task as arrays, one network's loss and outcome on it, and the seeded initial
weights of a population: what the trainer, the hand-made constructions and the
experiments share.

The solve rule lives here: a pair is won only by a strict margin (see SOLVE_RTOL)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import net as netlib
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


class TaskArrays(NamedTuple):
    """A task as arrays. Padding (more pairs or outputs than the task has) is expressed
    by pair weight 0 and out_mask False, so one compiled program can serve many sizes."""

    inputs: jax.Array  # (m,) int32
    targets: jax.Array  # (m,) int32
    solve_targets: jax.Array  # (m,) int32: what must win for "solved"
    weights: jax.Array  # (m,) loss weight per pair, sums to 1; 0 = padding
    out_mask: jax.Array  # (n_out,) bool: False = padded output


def task_arrays(task: Task, n_pairs: int | None = None, n_out: int | None = None,
                dtype=jnp.float32, n_in: int | None = None) -> TaskArrays:
    m, n = task.n_pairs, task.n_out
    n_pairs, n_out, n_in = n_pairs or m, n_out or n, n_in or task.n_in
    if n_pairs < m or n_out < n or n_in < task.n_in:
        raise SpecError("padding cannot shrink a task")

    def pad(a, size):
        return np.concatenate([a, np.zeros(size - len(a), a.dtype)])

    inputs = np.asarray(task.inputs, np.int32)
    if n_pairs <= n_in:
        # Padded pairs weigh nothing, so any valid input serves; continuing the inputs'
        # numbering keeps inputs 0..m-1 consecutive, which the trainer turns into a slice.
        inputs = np.concatenate([inputs, np.arange(m, n_pairs, dtype=np.int32)])
    # Arrays converted on the host: converting on the device is a small compilation each.
    return TaskArrays(
        jnp.asarray(pad(inputs, n_pairs)),
        jnp.asarray(pad(np.asarray(task.targets, np.int32), n_pairs)),
        jnp.asarray(pad(np.asarray(task.solve_targets(), np.int32), n_pairs)),
        jnp.asarray(pad(task.weights(), n_pairs).astype(np.dtype(dtype))),
        jnp.asarray(np.arange(n_out) < n),
    )


def consecutive_inputs(data: TaskArrays) -> range | None:
    """range(m) when the pairs' inputs are 0, 1, ..., m-1 in order (most built-in tasks),
    else None. Passed as the inputs, it makes the first layer a slice instead of a gather."""
    inputs = np.asarray(data.inputs)
    return range(len(inputs)) if np.array_equal(inputs, np.arange(len(inputs))) else None


class Evaluation(NamedTuple):
    loss: jax.Array  # weighted mean loss over pairs
    accuracy: jax.Array  # fraction of real pairs whose solve target wins strictly
    solved: jax.Array  # every real pair won strictly
    logits: jax.Array


# A pair counts as won when its target's logit beats every other output by at least
# SOLVE_RTOL times the size of the terms summed into a logit (see logit_magnitude).
# Float32 rounding moves a logit by a few units of 2^-24 of that size (about 2(k + 2)
# such units for the difference of two logits, at worst), so a win by 2^-20 of it is a
# win in any recomputation, float64 included. A tie, or a lead of a few ulps that
# another summation order could undo, is not a win.
SOLVE_RTOL = 2.0**-20
SOLVE_RTOL_FLOAT64 = 2.0**-49  # the same 16 units of rounding in float64 (see solve_rtol)


def logit_magnitude(params, last_hidden: jax.Array | None, inputs) -> jax.Array:
    """Per pair (m,): a bound of the terms summed into its logits, the last layer's
    largest |b| plus sum_l (|h_l| + 1/16) max |w_l| (the 1/16 covers rounding already
    present in h, a few ulps of 1, amplified by w)."""
    last = params[-1]
    bias = jnp.max(jnp.abs(last["b"])) if "b" in last else 0.0
    if last_hidden is None:  # direct connections: a logit is w[i, j] + b[j]
        m = len(inputs) if isinstance(inputs, range) else inputs.shape[0]
        return jnp.full((m,), jnp.max(jnp.abs(last["w"])) + bias)
    wmax = jnp.max(jnp.abs(last["w"]), axis=1)  # (k,)
    return bias + netlib.matmul(jnp.abs(last_hidden) + 0.0625, wmax)


def solve_rtol(dtype) -> float:
    """The solve rule's relative tolerance for computations in `dtype`: SOLVE_RTOL in
    float32 (and narrower), the same 16 units of rounding (2^-49 = 16 x 2^-53) in
    float64."""
    return SOLVE_RTOL if jnp.finfo(dtype).bits <= 32 else SOLVE_RTOL_FLOAT64



class _Pairs(NamedTuple):
    """Per pair (m,): weighted loss, won (or padding), real."""

    losses: jax.Array
    correct: jax.Array
    real: jax.Array
    logits: jax.Array


def _pairs(spec: NetSpec, params, rows, targets, solve_targets, weights, out_mask) -> _Pairs:
    """Loss and outcome of the pairs whose inputs are `rows` (an index array, or a range of
    consecutive indices) against every output."""
    states = netlib.hidden_states(spec, params, rows)
    logits = netlib.output_logits(params, states, rows)
    real = weights > 0
    # The row maximum with 2 tol taken off the solve target's logit is at most its
    # logit - tol exactly when every other output trails it by tol or more. Comparing
    # with tol, not 2 tol, leaves room for XLA computing the logit a last bit
    # differently inside the reduction than in the gather of `best` (seen). That
    # maximum is within 2 tol of the row's largest logit, so the softmax uses it as its
    # shift: the check costs no pass over the logits of its own (a separate "best of
    # the others" reduction cost a third of the step at n=100).
    tol = jax.lax.stop_gradient(solve_rtol(logits.dtype) * logit_magnitude(
        params, states[-1] if states else None, rows))
    masked = jnp.where(out_mask, logits, -jnp.inf)
    is_target = jnp.arange(logits.shape[-1]) == solve_targets[:, None]
    best = jnp.take_along_axis(masked, solve_targets[:, None], axis=-1)[:, 0]
    shift = jax.lax.stop_gradient(
        jnp.max(jnp.where(is_target, masked - 2 * tol[:, None], masked), axis=-1))
    losses = netlib.pair_losses(spec, logits, targets, out_mask, shift) * weights
    correct = (best - tol >= shift) | ~real
    return _Pairs(losses, correct, real, logits)


def evaluate(spec: NetSpec, params, data: TaskArrays, inputs: range | None = None
             ) -> Evaluation:
    """Loss and outcome of one network on the whole task. `inputs` may replace
    data.inputs by the same indices as a range (see consecutive_inputs).

    Compiled as one program (inside a caller's jit it is inlined as before): run
    eagerly, each of its operations and of their gradients would be compiled on its
    own, about 40 ms each on a CPU, seconds for a first call."""
    return _evaluate(spec, params, data, inputs)


@partial(jax.jit, static_argnames=("spec", "inputs"))
def _evaluate(spec: NetSpec, params, data: TaskArrays, inputs: range | None) -> Evaluation:
    rows = data.inputs if inputs is None else inputs
    p = _pairs(spec, params, rows, data.targets, data.solve_targets, data.weights,
               data.out_mask)
    acc = jnp.sum(p.correct & p.real) / jnp.maximum(jnp.sum(p.real), 1)
    return Evaluation(jnp.sum(p.losses), acc, jnp.all(p.correct), p.logits)


def evaluate_chunked(spec: NetSpec, params, data: TaskArrays, chunk: int) -> Evaluation:
    """`evaluate` in chunks of `chunk` pairs: memory O(chunk x outputs) instead of
    O(pairs x outputs), the same outcome pair by pair (the same rule on the same
    logits; the loss is summed in another order). No logits are returned."""
    m = data.inputs.shape[0]
    chunks = -(-m // chunk)

    def split(a):  # (m,) -> (chunks, chunk), padded with pairs of weight 0
        return jnp.pad(a, (0, chunks * chunk - m)).reshape(chunks, chunk)

    def one(c):
        inputs, targets, solve_targets, weights = c
        p = _pairs(spec, params, inputs, targets, solve_targets, weights, data.out_mask)
        return jnp.sum(p.losses), jnp.sum(p.correct & p.real), jnp.all(p.correct)

    losses, correct, solved = jax.lax.map(one, tuple(map(split, (
        data.inputs, data.targets, data.solve_targets, data.weights))))
    real = jnp.sum(data.weights > 0)
    return Evaluation(jnp.sum(losses), jnp.sum(correct) / jnp.maximum(real, 1),
                      jnp.all(solved), jnp.zeros((0, 0), losses.dtype))


@partial(jax.jit, static_argnames=("spec", "scale", "dtype"))
def init_population(spec: NetSpec, seeds: jax.Array, scale: float = 1.0,
                    n_in: jax.Array | None = None, n_out: jax.Array | None = None,
                    dtype=jnp.float32):
    """Initial weights of networks with the given integer seeds: pytree with axis P.

    The weights are drawn in float32 and then converted to `dtype`, so a float64 network
    starts from exactly the weights of its float32 twin (only the precision differs).

    With `n_in`/`n_out` (traced, so one program serves every size) the rows of inputs
    >= n_in and the columns of outputs >= n_out are zero: the network padded to `spec`'s
    size, its real weights equal to those of a network of the real size.
    """
    params = jax.vmap(lambda key: netlib.init(spec, key, scale))(network_keys(seeds)[0])
    params = jax.tree.map(lambda x: x.astype(dtype), params)
    if n_in is None or n_out is None:  # (given together: see train)
        return params
    layers = [dict(layer) for layer in params]
    layers[0]["w"] = jnp.where((jnp.arange(spec.n_in) < n_in)[:, None], layers[0]["w"], 0)
    keep = jnp.arange(spec.n_out) < n_out
    layers[-1]["w"] = jnp.where(keep, layers[-1]["w"], 0)
    if "b" in layers[-1]:
        layers[-1]["b"] = jnp.where(keep, layers[-1]["b"], 0)
    return tuple(layers)


def minibatch(key: jax.Array, t, data: TaskArrays, batch: int) -> jax.Array:
    """Indices of the `batch` pairs of step t, drawn by frequency with the network's own
    training key (so a network's batches do not depend on its population)."""
    return jax.random.choice(jax.random.fold_in(key, t), data.weights.shape[0], (batch,),
                             p=data.weights)


def batch_loss(spec: NetSpec, params, data: TaskArrays, idx: jax.Array) -> jax.Array:
    """Mean loss of one network over the pairs `idx` (a minibatch)."""
    logits = netlib.forward(spec, params, data.inputs[idx])
    return jnp.mean(netlib.pair_losses(spec, logits, data.targets[idx], data.out_mask))


def network_keys(seeds: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Each network's two PRNG keys, (initial weights, training), derived once from its
    integer seed: network i's randomness depends on its seed alone, never on the
    population it is trained in."""
    keys = jax.vmap(lambda s: jax.random.split(jax.random.key(s)))(seeds)
    return keys[:, 0], keys[:, 1]
