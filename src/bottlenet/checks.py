"""The rules every number a user gives must pass, in one place. Each setting is checked
where it is defined (TrainConfig, CapacityConfig, NetSpec, the compressor's Settings,
construct), with these helpers, so the command line, the library and files read back
all refuse the same values with the same words. JAX-free.

Why these limits: seeds become 32-bit PRNG seeds (JAX, NumPy, the compressor's hashes)
and network i of a population uses seed + i, so the whole range must fit; step counts
live in 32-bit counters on the accelerator; NaN and infinity compare false with
everything, so a plain `x > 0` would let NaN through.
"""

from __future__ import annotations

import math
import numbers

from bottlenet.errors import SpecError

SEED_MAX = 2**32 - 1
NETWORK_SEED_MAX = 2**31 - 1  # a network's seed is an int32 (JAX's PRNG key from it)
STEPS_MAX = 2**31 - 1
SYMBOLS_MAX = 10**7          # beyond this no network fits a 2-unit bottleneck in memory
POPULATION_MAX = 2**20
HIDDEN_MAX = 4096


def whole(name: str, value, lo: int, hi: int) -> int:
    """An integer in lo..hi (bools and floats are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise SpecError(f"{name} must be in {lo}..{hi:,}, got {value:,}")
    return value


def real(name: str, value, lo: float | None = None, hi: float | None = None, *,
         above: bool = False, below: bool = False) -> float:
    """A finite number, >= lo (> lo when `above`) and <= hi (< hi when `below`)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise SpecError(f"{name} must be a finite number, got {v}")
    low_ok = lo is None or (v > lo if above else v >= lo)
    high_ok = hi is None or (v < hi if below else v <= hi)
    if not (low_ok and high_ok):
        left = "any" if lo is None else f"{'(' if above else '['}{lo:g}"
        right = "any" if hi is None else f"{hi:g}{')' if below else ']'}"
        where = (f"> {lo:g}" if above else f">= {lo:g}") if hi is None else f"in {left}, {right}"
        raise SpecError(f"{name} must be {where}, got {v:g}")
    return v


def positive(name: str, value) -> float:
    return real(name, value, 0.0, above=True)


def seeds(name: str, first, count: int = 1, limit: int = SEED_MAX) -> int:
    """A first seed such that first .. first + count - 1 are all valid seeds (at most
    `limit`: SEED_MAX, or NETWORK_SEED_MAX for networks' seeds)."""
    first = whole(name, first, 0, limit)
    if first + count - 1 > limit:
        power = (limit + 1).bit_length() - 1
        raise SpecError(f"{name} + population size must stay below 2^{power}: {first:,} + "
                        f"{count:,} networks is too far")
    return first
