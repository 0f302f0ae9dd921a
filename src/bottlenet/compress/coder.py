"""Range coder over integer frequency tables (LZMA's carry-propagating design).

Why our own coder instead of a library: the decoder has to find each symbol before the
model can predict the next one, so decoding is a loop of (predict, decode, learn) per
byte. That loop runs compiled (Cython); a library coder would put a Python call and an
array conversion inside it for every byte. The coder is small, and tested like a
library: round trips on random tables with near-zero frequencies (hypothesis), the
exact code length against the ideal one, and corrupted input.

Every probability the coder sees goes through `quantise` first: the one place where
floats become integers, so encoder and decoder agree exactly.

The compiled parts (and the state layout) are in kernels.pyx.
"""

from __future__ import annotations

import numpy as np

from bottlenet.compress.kernels import (  # noqa: F401  (the coder's public names)
    CODE,
    FLUSH_BYTES,
    POS,
    STATE_SIZE,
    TOTAL,
    TOTAL_BITS,
    decode_all,
    decoder_start,
    encode_all,
    encoder_finish,
    encoder_start,
    quantise,
)


def encode_symbols(symbols: np.ndarray, freqs: np.ndarray) -> bytes:
    """Code symbols[t] under the table freqs[t] (each row sums to TOTAL). For tests and
    for anyone who wants the coder without the model."""
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    freqs = np.ascontiguousarray(freqs, dtype=np.int64)
    out = np.zeros(4 * len(symbols) + 16, dtype=np.uint8)
    return bytes(out[: encode_all(symbols, freqs, out)])


def decode_symbols(data: bytes, freqs: np.ndarray) -> np.ndarray:
    freqs = np.ascontiguousarray(freqs, dtype=np.int64)
    return decode_all(np.frombuffer(data, dtype=np.uint8), freqs)
