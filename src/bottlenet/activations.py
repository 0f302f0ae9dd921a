"""Hidden-layer activations by name.

Each entry keeps the function and the range of its outputs; the range is what a later
check ("can output j ever win?") needs, and what pictures use to draw the hidden space.
"""

from __future__ import annotations

import functools
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


_HALF_PI = math.pi / 2


def _arctan(x):
    # (2/pi) arctan(pi/2 x): arctan scaled into tanh's range (-1, 1) with tanh's slope 1
    # at zero, so only the shape differs: it approaches +-1 like 1/x, tanh like e^-2x
    # (Martin Cohen's "maybe inverse tan?" in the article's comments).
    return jnp.arctan(_HALF_PI * x) / _HALF_PI


# ReLU whose zeros are softened: a slope below zero, so every unit passes some gradient
# for every input (the Glorot-Bordes-Bengio question, claim C19).
LEAKY_SLOPE = 0.01  # "leaky_relu"
LEAKY_PREFIX = "leaky_relu:"  # "leaky_relu:0.1": another slope below zero (0 < slope < 1)


@functools.cache
def _leaky(slope: float) -> Activation:
    return Activation(f"{LEAKY_PREFIX}{slope:g}", lambda x: jax.nn.leaky_relu(x, slope),
                      -math.inf, math.inf, f"max(x, {slope:g} x)")


def _parametrised(name: str) -> Activation | None:
    """"leaky_relu:S": ReLU with its zeros softened to slope S (the graded series of C19);
    None for any other name, or a slope outside (0, 1)."""
    if not name.startswith(LEAKY_PREFIX):
        return None
    try:
        slope = float(name[len(LEAKY_PREFIX):])
    except ValueError:
        return None
    return _leaky(slope) if 0 < slope < 1 and f"{LEAKY_PREFIX}{slope:g}" == name else None

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
register("sinh", jnp.sinh, -math.inf, math.inf, "sinh(x): slope 1 at zero, no saturation "
         "(what tanh replaced, says a commenter)")
register("arctan", _arctan, -1, 1, "(2/pi) arctan(pi x/2): arctan in tanh's range, slope 1 at 0")
register("leaky_relu", _leaky(LEAKY_SLOPE).fn, -math.inf, math.inf,
         f"max(x, {LEAKY_SLOPE:g} x): relu with its zeros softened")


def get(name: str) -> Activation:
    """The activation `name`: a registered one, or "leaky_relu:S" for a slope 0 < S < 1
    below zero (written as Python's %g writes it: "leaky_relu:0.1")."""
    found = _REGISTRY.get(name) or _parametrised(name)
    if found is None:
        raise SpecError(f"unknown activation {name!r}; choose one of: {', '.join(names())}, "
                        f"or {LEAKY_PREFIX}S for another slope 0 < S < 1")
    return found


def names() -> list[str]:
    return sorted(_REGISTRY)
