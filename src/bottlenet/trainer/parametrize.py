"""Training parameters against a network's own weights: the learned logit scale.

With the logit scale, the network's output layer is s * (w, b) and training moves log s
beside w and b (see with_logit_scale). Everything else in the trainer reads a network's
own weights through effective_params, so the reparametrisation lives here alone.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def with_logit_scale(params):
    """Training parameters with a learned logit scale: log s = 0 added to the last layer.

    The network's output layer becomes s * (w, b), the same function class. Why it helps:
    a solution for n symbols needs output weights that grow with n (the hand-made
    circle's scale grows like n^2), but a step of Adam moves every parameter by about the
    learning rate, so plain weights grow only linearly in the steps taken; log s moves by
    the same amount, so the scale grows geometrically and the weights w themselves stay
    near unit size, where a step of the learning rate is a fine adjustment."""
    last = dict(params[-1])
    last["s"] = jnp.zeros(jnp.shape(last["w"])[:-2], last["w"].dtype)
    return (*params[:-1], last)


def effective_params(params):
    """The network's own weights from training parameters: the logit scale folded into
    the last layer (one network, no population axis)."""
    if "s" not in params[-1]:
        return params
    last = dict(params[-1])
    scale = jnp.exp(last.pop("s"))
    return (*params[:-1], {k: v * scale for k, v in last.items()})


def training_grads(params, weights, grads):
    """Gradients for the training parameters from those for the network's own weights
    (the step differentiates the forward pass at the weights it carries, see
    step.State.scaled). With a logit scale, w = s w' and b = s b', so dL/dw' = s dL/dw
    and dL/dlog s = sum(dL/dw * w) + sum(dL/db * b)."""
    if "s" not in params[-1]:
        return grads
    last, scale = grads[-1], jnp.exp(params[-1]["s"])
    d_log_s = sum(jnp.sum(last[k] * weights[-1][k]) for k in last)
    return (*grads[:-1], {**{k: g * scale for k, g in last.items()}, "s": d_log_s})


def max_abs(params) -> jax.Array:
    """Largest weight magnitude of each layer (L,), biases excluded (one network)."""
    return jnp.stack([jnp.max(jnp.abs(layer["w"])) for layer in effective_params(params)])


@jax.jit
def effective_population(params) -> tuple:
    """Every network's own weights (population axis first)."""
    return jax.vmap(effective_params)(params)


def numpy_effective(params) -> tuple:
    """The networks' own weights as numpy arrays with axis P, computed as in the final
    evaluation (XLA's exp, not numpy's, so snapshots and final weights agree bit for bit)."""
    return jax.device_get(effective_population(params))


def numpy_max_abs(params) -> np.ndarray:
    """(P, L): the largest |w| of each layer of each network (numpy weights)."""
    return np.stack([np.abs(layer["w"]).reshape(len(layer["w"]), -1).max(1)
                     for layer in params], 1)
