"""exp and tanh built from IEEE-754 +, -, *, / and floor only.

The decoder must reproduce the encoder's probabilities bit for bit. Library exp/tanh
(libm, LLVM intrinsics, SIMD variants) may round the last bit differently on another
machine or version; these functions cannot, because every operation they use is
correctly rounded by IEEE-754 and numba (without fastmath) neither reorders nor fuses
them. Accuracy (relative error < 3e-7) matters only for learning, not for correctness.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# 2**n for n in [-1074 .. 0] would be overkill: exp is only asked for x >= -EXP_FLOOR.
EXP_FLOOR = 40.0
_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
# Exact powers of two 2**-n, n = 0..63 (built by Python; powers of two are exact).
_POW2_NEG = np.array([2.0**-n for n in range(64)], dtype=np.float64)


@nb.njit(cache=True, inline="always")
def exp_neg(x: float) -> float:
    """e**x for x <= 0, clamped at x = -EXP_FLOOR."""
    if x < -EXP_FLOOR:
        x = -EXP_FLOOR
    y = x * _LOG2E                      # e**x = 2**y, y in [-57.7, 0]
    n = np.floor(y)
    u = (y - n) * _LN2                  # 2**(y-n) = e**u, u in [0, ln 2)
    # Taylor series of e**u to u**8 (Horner): error < u**9/9! < 1.1e-7 on [0, ln 2).
    p = 1.0 + u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (
        1.0 / 120.0 + u * (1.0 / 720.0 + u * (1.0 / 5040.0 + u * (1.0 / 40320.0))))))))
    return p * _POW2_NEG[int(-n)]


@nb.njit(cache=True, inline="always")
def tanh(x: float) -> float:
    e = exp_neg(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return t if x >= 0.0 else -t
