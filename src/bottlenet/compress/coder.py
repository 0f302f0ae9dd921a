"""Range coder over integer frequency tables (LZMA's carry-propagating design).

Why our own coder instead of a library: the decoder has to find each symbol before the
model can predict the next one, so decoding is a loop of (predict, decode, learn) per
byte. That loop runs compiled (numba); a library coder would put a Python call and an
array conversion inside it for every byte. The coder is small, and tested like a
library: round trips on random tables with near-zero frequencies (hypothesis), the
exact code length against the ideal one, and corrupted input.

Every probability the coder sees goes through `quantise` first: the one place where
floats become integers, so encoder and decoder agree exactly.

Coder state lives in an int64 array so a caller can stop after any chunk of symbols
and continue later (progress bars, chunked I/O):
    state[LOW]    low end of the interval, up to 33 bits (bit 32 is a pending carry)
    state[RANGE]  width of the interval, 2**24 <= range < 2**32 after normalisation
    state[CACHE]  the last byte not yet written (a carry may still change it)
    state[PENDING] how many bytes wait: the cache plus following 0xFF bytes
    state[POS]    write (encoder) or read (decoder) position in the byte buffer
    state[CODE]   decoder only: the code value, code < range
"""

from __future__ import annotations

import numba as nb
import numpy as np

TOTAL_BITS = 16
TOTAL = 1 << TOTAL_BITS          # every frequency table sums to exactly this
_TOP = 1 << 24                   # renormalise when the range falls below 2**24
_MASK32 = (1 << 32) - 1

LOW, RANGE, CACHE, PENDING, POS, CODE = range(6)
STATE_SIZE = 6
FLUSH_BYTES = 5                  # the encoder writes at most this many bytes on finish


@nb.njit(cache=True)
def quantise(p, freq) -> None:
    """Probabilities p (>= 0, summing to about 1) -> integer freq >= 1 summing to TOTAL.

    Every symbol keeps at least 1/TOTAL, so any byte can still be coded (at most 16
    bits); the rounding remainder goes to the most probable symbol.
    """
    n = p.shape[0]
    # n more than the floor of 1 per symbol is held back, so that probabilities whose
    # float sum exceeds 1 by rounding never overshoot TOTAL (that would need a repair
    # that can reorder near-equal symbols); the remainder goes to the likeliest symbol.
    spare = TOTAL - 2 * n
    s = 0
    best = 0
    qbest = -1.0
    for i in range(n):
        q = p[i]
        if not q > 0.0:          # also catches NaN
            q = 0.0
        elif q > 1.0:
            q = 1.0
        f = 1 + np.int64(np.floor(q * spare))
        freq[i] = f
        s += f
        if q > qbest:            # the likeliest symbol by probability, not by floor
            best = i
            qbest = q
    # Only unnormalised input (sum(p) clearly above 1) overshoots: take from the largest.
    rest = TOTAL - s
    while rest < 0:
        i = 0
        for j in range(n):
            if freq[j] > freq[i]:
                i = j
        take = min(-rest, freq[i] - 1)
        freq[i] -= take
        rest += take
    freq[best] += rest


@nb.njit(cache=True)
def encoder_start(state) -> None:
    state[LOW] = 0
    state[RANGE] = _MASK32
    state[CACHE] = 0
    state[PENDING] = 1
    state[POS] = 0
    state[CODE] = 0


@nb.njit(cache=True, inline="always")
def _shift_low(state, out) -> None:
    low = state[LOW]
    if low < 0xFF000000 or low > _MASK32:
        carry = low >> 32
        byte = state[CACHE]
        while True:
            out[state[POS]] = (byte + carry) & 0xFF
            state[POS] += 1
            byte = 0xFF
            state[PENDING] -= 1
            if state[PENDING] == 0:
                break
        state[CACHE] = (low >> 24) & 0xFF
    state[PENDING] += 1
    state[LOW] = (low & 0x00FFFFFF) << 8


@nb.njit(cache=True, inline="always")
def encode(state, out, start, freq) -> None:
    """Code the symbol whose cumulative frequency is `start` and frequency `freq`.

    `out` must have room for 4 more bytes than written so far plus FLUSH_BYTES.
    """
    r = state[RANGE] >> TOTAL_BITS
    state[LOW] += r * start
    state[RANGE] = r * freq
    while state[RANGE] < _TOP:
        state[RANGE] <<= 8
        _shift_low(state, out)


@nb.njit(cache=True)
def encoder_finish(state, out) -> int:
    """Flush the pending bytes; returns the number of bytes written in all."""
    for _ in range(FLUSH_BYTES):
        _shift_low(state, out)
    return state[POS]


@nb.njit(cache=True, inline="always")
def _next_byte(state, buf) -> int:
    pos = state[POS]
    state[POS] = pos + 1
    # Reading past the end yields zeros; the caller checks POS against the length,
    # and the container's checksum catches any damage.
    return buf[pos] if pos < buf.shape[0] else 0


@nb.njit(cache=True)
def decoder_start(state, buf) -> None:
    state[LOW] = 0
    state[RANGE] = _MASK32
    state[CACHE] = 0
    state[PENDING] = 0
    state[POS] = 0
    code = 0
    for _ in range(FLUSH_BYTES):
        code = ((code << 8) | _next_byte(state, buf)) & _MASK32
    state[CODE] = code


@nb.njit(cache=True, inline="always")
def decode(state, buf, freq, cum) -> int:
    """Decode one symbol under `freq` (cum[i] = sum of freq[:i], cum[n] = TOTAL)."""
    r = state[RANGE] >> TOTAL_BITS
    target = state[CODE] // r
    if target >= TOTAL:          # impossible for a stream we wrote: damaged input
        target = TOTAL - 1
    # Binary search for the symbol s with cum[s] <= target < cum[s + 1].
    lo = 0
    hi = freq.shape[0]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if cum[mid] <= target:
            lo = mid
        else:
            hi = mid
    state[CODE] -= r * cum[lo]
    state[RANGE] = r * freq[lo]
    while state[RANGE] < _TOP:
        state[RANGE] <<= 8
        state[CODE] = ((state[CODE] << 8) | _next_byte(state, buf)) & _MASK32
    return lo


@nb.njit(cache=True, inline="always")
def cumulate(freq, cum) -> None:
    s = 0
    for i in range(freq.shape[0]):
        cum[i] = s
        s += freq[i]
    cum[freq.shape[0]] = s


def encode_symbols(symbols: np.ndarray, freqs: np.ndarray) -> bytes:
    """Code symbols[t] under the table freqs[t] (each row sums to TOTAL). For tests and
    for anyone who wants the coder without the model."""
    symbols = np.ascontiguousarray(symbols, dtype=np.int64)
    freqs = np.ascontiguousarray(freqs, dtype=np.int64)
    out = np.zeros(4 * len(symbols) + 16, dtype=np.uint8)
    return bytes(out[: _encode_all(symbols, freqs, out)])


def decode_symbols(data: bytes, freqs: np.ndarray) -> np.ndarray:
    freqs = np.ascontiguousarray(freqs, dtype=np.int64)
    return _decode_all(np.frombuffer(data, dtype=np.uint8), freqs)


@nb.njit(cache=True)
def _encode_all(symbols, freqs, out) -> int:
    state = np.zeros(STATE_SIZE, np.int64)
    cum = np.zeros(freqs.shape[1] + 1, np.int64)
    encoder_start(state)
    for t in range(symbols.shape[0]):
        cumulate(freqs[t], cum)
        s = symbols[t]
        encode(state, out, cum[s], freqs[t, s])
    return encoder_finish(state, out)


@nb.njit(cache=True)
def _decode_all(buf, freqs):
    state = np.zeros(STATE_SIZE, np.int64)
    cum = np.zeros(freqs.shape[1] + 1, np.int64)
    out = np.zeros(freqs.shape[0], np.int64)
    decoder_start(state, buf)
    for t in range(freqs.shape[0]):
        cumulate(freqs[t], cum)
        out[t] = decode(state, buf, freqs[t], cum)
    return out
