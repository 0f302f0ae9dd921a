"""The network: n_in one-hot inputs -> hidden layers -> n_out outputs, as pure functions.

Parameters are a tuple of layers, each a dict {"w": (fan_in, fan_out), "b": (fan_out,)}
("b" absent without biases). A population is the same pytree with a leading axis P.
Inputs are symbol indices, not one-hot vectors: a one-hot times a matrix is a row
lookup, which is what the first layer does.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from bottlenet import activations
from bottlenet.devices import use_all_cores, use_wide_vectors
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec

use_all_cores()  # before the first computation starts JAX's CPU backend (see devices.py)
use_wide_vectors()  # 512-bit vectors where the CPU has AVX-512 (see devices.py)


def _normal_rows(key: jax.Array, rows: int, cols: int, dtype) -> jax.Array:
    """Standard normals (rows, cols) where row i comes from its own key fold_in(key, i):
    a row does not depend on how many rows there are."""
    return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), (cols,), dtype))(
        jnp.arange(rows, dtype=jnp.uint32))


def _normal_by_index(key: jax.Array, shape: tuple[int, int], first: bool, last: bool,
                     dtype) -> jax.Array:
    """Gaussian weights that do not depend on the number of symbols: the first layer is
    drawn row by row (one row per input), the last column by column (one per output), so a
    network padded to more symbols starts with exactly the same real weights and one
    compiled program serves many n. A direct layer (first and last) is drawn per element."""
    fan_in, fan_out = shape
    if first and last:
        return jax.vmap(lambda i: _normal_rows(jax.random.fold_in(key, i), fan_out, 1, dtype)
                        [:, 0])(jnp.arange(fan_in, dtype=jnp.uint32))
    if first:
        return _normal_rows(key, fan_in, fan_out, dtype)
    if last:
        return _normal_rows(key, fan_out, fan_in, dtype).T
    return jax.random.normal(key, shape, dtype)


def init(spec: NetSpec, key: jax.Array, scale: float = 1.0, dtype=jnp.float32):
    """Gaussian weights with std scale/sqrt(fan_in), biases zero.

    The first layer sees a one-hot vector, so its effective fan-in is 1 whatever n is:
    its rows start with std `scale`, as large as the codes they must become.
    """
    return _init(spec.sizes, spec.bias, key, scale, dtype)


# One compiled program per shape (op by op, the random draws alone compile for about a
# second on a CPU), shared by networks that differ only in activation or head.
@partial(jax.jit, static_argnames=("sizes", "bias", "scale", "dtype"))
def _init(sizes: tuple[int, ...], bias: bool, key: jax.Array, scale: float, dtype):
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        std = scale / (1.0 if i == 0 else fan_in) ** 0.5
        w = _normal_by_index(keys[i], (fan_in, fan_out), i == 0, i == len(sizes) - 2, dtype)
        layer = {"w": std * w}
        if bias:
            layer["b"] = jnp.zeros((fan_out,), dtype)
        layers.append(layer)
    return tuple(layers)


# Every matrix product of the numeric core is computed in full precision. On NVIDIA GPUs
# since Ampere JAX's default for float32 products is TensorFloat-32 (inputs rounded to
# 10-bit mantissas, errors near 2^-11 of a logit's size): measured on an H100, the
# chunked step's strongest other logit then missed the solve rule's 2^-20 and two tanh
# units learned 1,816 symbols in place of 2,472 (README, "Large n, and GPUs"). On a
# CPU the setting changes nothing (its products are float32 already).
PRECISION = jax.lax.Precision.HIGHEST


def matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    """a @ b in full precision (see PRECISION)."""
    return jnp.matmul(a, b, precision=PRECISION)


# Layers with at most this many inputs are computed as a sum of broadcast products rather
# than a matrix product. XLA fuses such a sum into whatever consumes it (the softmax), while
# a batched matrix product k units wide runs as a kernel of its own at a fraction of the
# machine's speed (measured: 1.7x the training steps per second at n=11, k=2).
UNROLL_FAN_IN = 16


def _affine(h: jax.Array, w: jax.Array, b: jax.Array | None) -> jax.Array:
    if w.shape[0] <= UNROLL_FAN_IN:
        z = h[:, 0:1] * w[0]
        for j in range(1, w.shape[0]):
            z = z + h[:, j:j + 1] * w[j]
    else:
        z = matmul(h, w)
    return z if b is None else z + b


def _affine_grads(h: jax.Array, w: jax.Array, dz: jax.Array, bias: bool):
    """Gradients of h @ w (+ b) as matrix products: the backward pass must reduce over the
    long axes (pairs for dw, outputs for dh), which the unrolled form would do in k separate
    passes. The bias gradient rides along as a row of ones under h, in the same product."""
    dh = matmul(dz, w.T)
    ht = h.T
    if bias:
        ht = jnp.concatenate([ht, jnp.ones_like(ht[:1])])
    dwb = matmul(ht, dz)
    return (dh, dwb[:-1], dwb[-1]) if bias else (dh, dwb)


@jax.custom_vjp
def _dense_bias(h, w, b):
    return _affine(h, w, b)


@jax.custom_vjp
def _dense_nobias(h, w):
    return _affine(h, w, None)


_dense_bias.defvjp(lambda h, w, b: (_affine(h, w, b), (h, w)),
                   lambda res, dz: _affine_grads(res[0], res[1], dz, bias=True))
_dense_nobias.defvjp(lambda h, w: (_affine(h, w, None), (h, w)),
                     lambda res, dz: _affine_grads(res[0], res[1], dz, bias=False))


def dense(h: jax.Array, layer: dict) -> jax.Array:
    """h (m, fan_in) @ w + b -> (m, fan_out), with the layout choices above."""
    return _dense_bias(h, layer["w"], layer["b"]) if "b" in layer else _dense_nobias(h, layer["w"])


def _rows(layer: dict, inputs) -> jax.Array:
    """The first layer's output for one-hot inputs: a one-hot vector times a matrix is a row
    lookup, plus the bias. Inputs given as a range of consecutive indices are a slice, which
    XLA fuses into what follows; an index array is a gather, which costs a transposing copy
    and, in the gradient, a scatter (together about 15% of a training step at n=100)."""
    if isinstance(inputs, range):
        if inputs.step != 1:
            raise SpecError(f"inputs given as a range must be consecutive, got {inputs}")
        w = layer["w"][inputs.start:inputs.stop]
    else:
        w = layer["w"][inputs]
    return w + layer["b"] if "b" in layer else w


def hidden_states(spec: NetSpec, params, inputs) -> list[jax.Array]:
    """Activations of every hidden layer for input indices (m,) (an index array, or a
    range of consecutive indices) -> [(m, k_l)]."""
    if len(params) == 1:  # direct connections
        return []
    act = activations.get(spec.activation).fn
    states = [act(_rows(params[0], inputs))]
    for layer in params[1:-1]:
        states.append(act(dense(states[-1], layer)))
    return states


def output_logits(params, states: list[jax.Array], inputs) -> jax.Array:
    """The last layer's output from the hidden states (or the inputs, without any)."""
    return dense(states[-1], params[-1]) if states else _rows(params[-1], inputs)


def forward(spec: NetSpec, params, inputs) -> jax.Array:
    """Logits (pre-head values) for input indices (m,) -> (m, n_out); inputs as in
    `hidden_states`."""
    return output_logits(params, hidden_states(spec, params, inputs), inputs)


def pair_losses(spec: NetSpec, logits: jax.Array, targets: jax.Array,
                out_mask: jax.Array | None = None, shift: jax.Array | None = None
                ) -> jax.Array:
    """Loss of each pair (m,). Masked outputs (padding) take no probability and no error.

    `shift` (m,), for the softmax head: any value near each row's largest logit (not
    differentiated), subtracted before exp for numerical safety; by default the row
    maximum. The trainer passes one it computes anyway (see train.evaluate), which saves
    a pass over the logits."""
    if spec.head == "softmax":
        if out_mask is not None:
            logits = jnp.where(out_mask, logits, -jnp.inf)
        if shift is None:
            shift = jnp.max(logits, axis=-1)
        shifted = logits - jax.lax.stop_gradient(shift)[:, None]
        target = jnp.take_along_axis(shifted, targets[:, None], axis=-1)[:, 0]
        return jnp.log(jnp.sum(jnp.exp(shifted), axis=-1)) - target
    if spec.head == "tanh":
        y, on, off = jnp.tanh(logits), 1.0, -1.0
    else:
        y, on, off = jax.nn.sigmoid(logits), 1.0, 0.0
    t = jnp.where(jnp.arange(logits.shape[-1]) == targets[:, None], on, off)
    sq = 0.5 * (y - t) ** 2
    if out_mask is not None:
        sq = jnp.where(out_mask, sq, 0.0)
    return sq.sum(-1)


def probabilities(spec: NetSpec, logits: jax.Array) -> jax.Array:
    """What the head outputs: softmax probabilities, or tanh/sigmoid values."""
    if spec.head == "softmax":
        return jax.nn.softmax(logits, axis=-1)
    return jnp.tanh(logits) if spec.head == "tanh" else jax.nn.sigmoid(logits)
