"""The quantiser in NumPy: the compiled `kernels.quantise`, step for step, for code that
must not need the compiled kernels (C16's exact arithmetic coding of HELLO runs where no C
compiler built them). tests/test_coder.py holds the two equal on random and edge inputs."""

from __future__ import annotations

import numpy as np

TOTAL_BITS = 16
TOTAL = 1 << TOTAL_BITS  # every frequency table sums to exactly this


def quantise(p: np.ndarray, freq: np.ndarray) -> None:
    """Probabilities p (>= 0, summing to about 1) -> integer freq >= 1 summing to TOTAL,
    written into freq[:len(p)]: each symbol gets 1 + floor(q (TOTAL - 2n)) with q = p
    clamped to [0, 1] (NaN -> 0), and the remainder goes to the first symbol with the
    largest q; only an input whose sum is clearly above 1 overshoots, and then the largest
    frequencies give back the excess."""
    if len(freq) < len(p):
        raise ValueError("freq is shorter than p")
    n = len(p)
    if not n:
        return
    p = np.asarray(p, np.float64)
    q = np.where(p > 0.0, p, 0.0)  # NaN compares false: 0
    q = np.where(q < 1.0, q, 1.0)
    f = 1 + (q * float(TOTAL - 2 * n)).astype(np.int64)  # truncation: floor for q >= 0
    best = int(np.argmax(q))
    rest = TOTAL - int(f.sum())
    while rest < 0:
        i = int(np.argmax(f))
        take = min(-rest, int(f[i]) - 1)
        if take <= 0:  # more symbols than TOTAL can hold; the kernel never gets such
            break
        f[i] -= take
        rest += take
    f[best] += rest
    freq[:n] = f
