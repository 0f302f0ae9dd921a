"""Small statistics used in summaries: Wilson intervals and robust descriptions."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a success rate (95% by default); (0, 1) for no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # The ends are exactly 0 and 1 at the extremes (rounding would leave them a hair off).
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


def describe(values) -> dict | None:
    """Median, quartiles and range of a sample; None when it is empty."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    q = np.percentile(v, [0, 25, 50, 75, 100])
    return {"n": int(v.size), "min": float(q[0]), "q1": float(q[1]), "median": float(q[2]),
            "q3": float(q[3]), "max": float(q[4])}


def median_interval(values, level: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median of the population a sample comes
    from: the order statistics x(j) and x(n+1-j) with j the largest rank such that a
    Binomial(n, 1/2) falls below j with probability at most (1 - level)/2 (so the
    interval covers the median with probability >= level). Too few values for that
    (n < 6 at 95%): (-inf, inf). NaN values are dropped; infinite ones kept."""
    from scipy.stats import binom

    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    n = v.size
    if n == 0:
        return -math.inf, math.inf
    j = int(binom.ppf((1 - level) / 2, n, 0.5))  # P(B <= j - 1) <= alpha/2 < P(B <= j)
    if binom.cdf(j - 1, n, 0.5) > (1 - level) / 2:
        j -= 1
    if j < 1:
        return -math.inf, math.inf
    return float(v[j - 1]), float(v[n - j])
