"""Hidden-layer activations by name.

Each entry keeps the function and the range of its outputs; the range is what a later
check ("can output j ever win?") needs, and what pictures use to draw the hidden space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

from bottlenet.errors import SpecError


@dataclass(frozen=True)
class Activation:
    name: str
    fn: Callable[[jax.Array], jax.Array]
    low: float  # infimum of the outputs (may be -inf)
    high: float  # supremum of the outputs (may be inf)
    about: str


_SQRT_HALF_PI = math.sqrt(math.pi / 2)


def _normcdf(x):
    # 2*Phi(a*x) - 1 with a = sqrt(pi/2): the normal CDF shifted and scaled into tanh's
    # range (-1, 1) with tanh's slope 1 at zero, so it is a drop-in rival to tanh
    # (the commenter's proposal, made zero-centred).
    return 2.0 * ndtr(_SQRT_HALF_PI * x) - 1.0


_REGISTRY: dict[str, Activation] = {}


def register(name: str, fn, low: float, high: float, about: str = "") -> None:
    """Add an activation under `name` (overwrites an existing one of that name)."""
    _REGISTRY[name] = Activation(name, fn, float(low), float(high), about)


register("tanh", jnp.tanh, -1, 1, "tanh(x), the article's choice")
register("sigmoid", jax.nn.sigmoid, 0, 1, "logistic 1/(1+e^-x)")
register("relu", jax.nn.relu, 0, math.inf, "max(x, 0)")
register("linear", lambda x: x, -math.inf, math.inf, "identity: no squashing")
register("normcdf", _normcdf, -1, 1, "2*Phi(sqrt(pi/2) x)-1: normal CDF in tanh's range")
register("softplus", jax.nn.softplus, 0, math.inf, "log(1+e^x), a smooth relu")


def get(name: str) -> Activation:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SpecError(
            f"unknown activation {name!r}; choose one of: {', '.join(names())}"
        ) from None


def names() -> list[str]:
    return sorted(_REGISTRY)
