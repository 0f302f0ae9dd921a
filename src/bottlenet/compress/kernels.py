"""Everything compiled: deterministic exp/tanh, the range coder, the byte model's
predict/learn step, and the per-chunk coding loops.

Why one file: numba's on-disk cache (cache=True) checks only the source file of the
function it caches. A loop compiled here inlines predict, learn, exp and the coder; had
they lived in other files, editing one of them would leave a stale loop in the cache,
and an encoder and decoder built from different caches would disagree. With one file,
any edit recompiles everything.

Arithmetic rules (they make decoding bit-exact on any IEEE-754 machine): float64 with
+, -, *, / and floor only; exp and tanh built from those instead of libm; no fastmath,
so numba neither reorders sums nor fuses multiply-adds; every sum in an order fixed by
this code. Integers: the coder state and frequencies are int64.

Model arrays (see model.Model): E (rows, k) float32 input codes; seen (rows,) uint8;
Wt (k, 256) output weights, transposed so the output loops run over contiguous memory;
c (256,) output biases; b (k,) hidden biases; orders (contexts: byte orders, WORD,
WORDS, MATCH); lr (float64: input rate, boost, output rate, hidden-bias rate, clamp,
match rate, output rate at byte 0); ctx (uint64, slots CTX_*); scratch (4, >=256) for
pre-activations, hidden values, probabilities and gradients; idx (table rows); mtab
(int64) the match model's table: hash of the last few bytes -> the position that
followed them; mw (32,) the weight from each match-length bucket to the guessed byte's
logit.

Range coder state (int64 array, so a caller can stop after any chunk and continue):
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

# ---- deterministic exp and tanh -------------------------------------------------------

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


# ---- range coder ---------------------------------------------------------------------

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


@nb.njit(cache=True)
def encode_all(symbols, freqs, out) -> int:
    state = np.zeros(STATE_SIZE, np.int64)
    cum = np.zeros(freqs.shape[1] + 1, np.int64)
    encoder_start(state)
    for t in range(symbols.shape[0]):
        cumulate(freqs[t], cum)
        s = symbols[t]
        encode(state, out, cum[s], freqs[t, s])
    return encoder_finish(state, out)


@nb.njit(cache=True)
def decode_all(buf, freqs):
    state = np.zeros(STATE_SIZE, np.int64)
    cum = np.zeros(freqs.shape[1] + 1, np.int64)
    out = np.zeros(freqs.shape[0], np.int64)
    decoder_start(state, buf)
    for t in range(freqs.shape[0]):
        cumulate(freqs[t], cum)
        out[t] = decode(state, buf, freqs[t], cum)
    return out


# ---- the byte model ------------------------------------------------------------------

WORD = -1                         # context code for "the current word"
WORDS = -2                        # the previous word and the current one
MATCH = -3                        # the match model's guess: the byte that followed the
                                  # last earlier occurrence of the recent bytes, and how
                                  # long that occurrence has matched
# Slots of the uint64 context array: the last 8 bytes, hash of the current word, seed of
# the hashes, hash of the previous word, 64 - table bits (hash -> row shift); the match
# model's position of its guess in the history, its match length, the bytes seen so
# far, the bytes hashed to find a match, and 64 - match table bits; the history's
# window: position p of the history is at index p & CTX_WMASK, and a match is taken only
# up to CTX_WDIST bytes back (format 3 keeps a ring of the last bytes; formats 1 and 2
# kept the whole input: mask all ones, no distance limit).
(CTX_HIST, CTX_WORD, CTX_SEED, CTX_PREV_WORD, CTX_SHIFT, CTX_MPTR, CTX_MLEN, CTX_POS,
 CTX_MMIN, CTX_MSHIFT, CTX_WMASK, CTX_WDIST) = range(12)
CTX_SIZE = 12
NO_WINDOW = 2**63 - 1             # CTX_WMASK and CTX_WDIST of a history kept whole
FIRST_BYTES = 1024.0             # the output layer's extra rate halves after this many
MATCH_VERIFY = 32                 # a candidate match is checked this many bytes back
MATCH_LONGEST = 65535             # match lengths stop counting here

@nb.njit(cache=True, inline="always")
def _mix(key, salt):
    """64-bit hash (splitmix64 finaliser) of a context key."""
    h = (key + salt) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def _match_bucket(length) -> int:
    """Match lengths 1..15 as they are, longer ones in steps of 8 up to 31."""
    if length < 16:
        return length
    return min(31, 16 + ((length - 16) >> 3))


@nb.njit(cache=True)
def predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, history, freq) -> None:
    """Fill freq (int64, 256, sums to TOTAL) with the model's prediction of the next
    byte; leaves hidden values and probabilities in scratch for `learn`. `history` holds
    the bytes coded so far (the match model reads its guess there)."""
    k = Wt.shape[0]
    hist = ctx[CTX_HIST]
    for o in range(orders.shape[0]):
        n = orders[o]
        if n == WORD:
            key = ctx[CTX_WORD]
        elif n == WORDS:
            key = ctx[CTX_WORD] ^ (ctx[CTX_PREV_WORD] * np.uint64(0x2545F4914F6CDD1D))
        elif n == MATCH:
            # An input row per (guessed byte, match length): the network learns how far
            # to trust a guess of each length, and the guess reaches the output through
            # the k units like every other context.
            length = np.int64(ctx[CTX_MLEN])
            key = np.uint64(0)
            if length > 0:
                guess = np.uint64(history[np.int64(ctx[CTX_MPTR] & ctx[CTX_WMASK])])
                key = (guess + np.uint64(1)) | (np.uint64(_match_bucket(length)) << np.uint64(9))
        elif n >= 8:
            key = hist
        else:
            key = hist & ((np.uint64(1) << np.uint64(8 * n)) - np.uint64(1))
        salt = ctx[CTX_SEED] * np.uint64(0x100) + np.uint64(o + 1)
        idx[o] = np.int64(_mix(key, salt) >> ctx[CTX_SHIFT])
    a = scratch[0]
    h = scratch[1]
    p = scratch[2]
    for j in range(k):
        a[j] = b[j]
    for o in range(idx.shape[0]):
        r = idx[o]
        for j in range(k):
            a[j] += E[r, j]
    for j in range(k):
        h[j] = tanh(a[j])
    for i in range(256):
        p[i] = c[i]
    for j in range(k):               # logits, summed over j in order for every output
        hj = h[j]
        for i in range(256):
            p[i] += Wt[j, i] * hj
    length = np.int64(ctx[CTX_MLEN])  # 0 without the match model: nothing sets it
    if length > 0:
        # The match model's direct connection: its guess's logit gets a learned weight
        # per match length (a one-hot input wired straight to the guessed output).
        p[history[np.int64(ctx[CTX_MPTR] & ctx[CTX_WMASK])]] += mw[_match_bucket(length)]
    zmax = p[0]
    for i in range(1, 256):
        zmax = max(zmax, p[i])
    total = 0.0
    for i in range(256):
        e = exp_neg(p[i] - zmax)
        p[i] = e
        total += e
    inv = 1.0 / total
    for i in range(256):
        p[i] *= inv
    quantise(p[:256], freq)


@nb.njit(cache=True, inline="always")
def _match_update(ctx, mtab, history, y) -> None:
    """After byte y (already at history[pos - 1]): extend or drop the current match, and
    look the last CTX_MMIN bytes up in the match table when there is none. A candidate is
    kept only when the bytes before it really match (the table is a hash)."""
    pos = np.int64(ctx[CTX_POS]) + 1
    ctx[CTX_POS] = np.uint64(pos)
    mask = np.int64(ctx[CTX_WMASK])
    length = np.int64(ctx[CTX_MLEN])
    if length > 0:
        ptr = np.int64(ctx[CTX_MPTR])
        if history[ptr & mask] == y:
            ctx[CTX_MLEN] = np.uint64(min(length + 1, MATCH_LONGEST))
            ctx[CTX_MPTR] = np.uint64(ptr + 1)
        else:
            ctx[CTX_MLEN] = np.uint64(0)
    mmin = np.int64(ctx[CTX_MMIN])
    if mmin == 0 or pos < mmin:
        return
    key = ctx[CTX_HIST] & ((np.uint64(1) << np.uint64(8 * mmin)) - np.uint64(1))
    slot = np.int64(_mix(key, ctx[CTX_SEED] * np.uint64(0x100) + np.uint64(0xFF))
                    >> ctx[CTX_MSHIFT])
    if ctx[CTX_MLEN] == 0:
        cand = mtab[slot]
        if cand > 0 and pos - cand <= np.int64(ctx[CTX_WDIST]):
            n = 0
            while n < MATCH_VERIFY and cand - 1 - n >= 0 and \
                    history[(cand - 1 - n) & mask] == history[(pos - 1 - n) & mask]:
                n += 1
            if n >= mmin:
                ctx[CTX_MLEN] = np.uint64(n)
                ctx[CTX_MPTR] = np.uint64(cand)
    mtab[slot] = pos


@nb.njit(cache=True)
def learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, history, y) -> None:
    """One SGD step on -log p[y], then shift y into the context."""
    k = Wt.shape[0]
    h = scratch[1]
    p = scratch[2]
    g = scratch[3]
    lr_in, boost, lr_out, lr_b, clamp = lr[0], lr[1], lr[2], lr[3], lr[4]
    # The output layer's rate starts at lr[6] and falls as 1 / position toward lr_out: the
    # first kilobytes are where a file's bits go fastest, and a rate that suits them
    # would keep the weights noisy for the rest of the file.
    lr_out += (lr[6] - lr_out) * FIRST_BYTES / (FIRST_BYTES + np.float64(ctx[CTX_POS]))
    p[y] -= 1.0                      # d loss / d logits = p - onehot(y)
    for j in range(k):
        hj = h[j]
        step = lr_out * hj
        # d loss / d h[j] = sum_i p[i] Wt[j, i], summed in 8 interleaved partial sums: a
        # single running sum is a 256-add dependency chain (the slowest part of a byte);
        # 8 fixed lanes run in parallel and still add in an order fixed by this code.
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        for i in range(0, 256, 8):
            a0 += p[i] * Wt[j, i]
            a1 += p[i + 1] * Wt[j, i + 1]
            a2 += p[i + 2] * Wt[j, i + 2]
            a3 += p[i + 3] * Wt[j, i + 3]
            a4 += p[i + 4] * Wt[j, i + 4]
            a5 += p[i + 5] * Wt[j, i + 5]
            a6 += p[i + 6] * Wt[j, i + 6]
            a7 += p[i + 7] * Wt[j, i + 7]
        for i in range(256):
            Wt[j, i] -= step * p[i]
        acc = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
        g[j] = acc * (1.0 - hj * hj)  # d loss / d pre-activation
        b[j] -= lr_b * g[j]
    for i in range(256):
        c[i] -= lr_out * p[i]
    length = np.int64(ctx[CTX_MLEN])
    if length > 0:
        bucket = _match_bucket(length)
        mw[bucket] -= lr[5] * p[history[np.int64(ctx[CTX_MPTR] & ctx[CTX_WMASK])]]
    for o in range(idx.shape[0]):
        r = idx[o]
        n = seen[r]
        rate = lr_in * (1.0 + boost / (n + 1.0))
        if n < 255:
            seen[r] = n + 1
        for j in range(k):
            v = E[r, j] - rate * g[j]
            E[r, j] = min(clamp, max(-clamp, v))
    ctx[CTX_HIST] = (ctx[CTX_HIST] << np.uint64(8)) | np.uint64(y)
    letter = y | 32
    if 97 <= letter <= 122:
        ctx[CTX_WORD] = (ctx[CTX_WORD] + np.uint64(letter)) * np.uint64(0x100000001B3)
    elif ctx[CTX_WORD] != 0:         # a word just ended: it becomes the previous word
        ctx[CTX_PREV_WORD] = ctx[CTX_WORD]
        ctx[CTX_WORD] = np.uint64(0)
    _match_update(ctx, mtab, history, y)


# ---- coding loops --------------------------------------------------------------------

# Positions t are the input's; the bytes are at history[t & CTX_WMASK] (the whole input,
# or format 3's ring). coded_freq[t - start]: the frequency each byte was coded with.

@nb.njit(cache=True)
def encode_chunk(data, start, end, E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw,
                 state, out, coded_freq, freq, cum) -> None:
    mask = np.int64(ctx[CTX_WMASK])
    for t in range(start, end):
        predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, freq)
        y = data[t & mask]
        cumulate(freq, cum)
        encode(state, out, cum[y], freq[y])
        coded_freq[t - start] = freq[y]
        learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, y)


@nb.njit(cache=True)
def decode_chunk(buf, start, end, E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw,
                 state, out, freq, cum) -> None:
    mask = np.int64(ctx[CTX_WMASK])
    for t in range(start, end):
        predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, out, freq)
        cumulate(freq, cum)
        y = decode(state, buf, freq, cum)
        out[t & mask] = y
        learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, out, y)


@nb.njit(cache=True)
def learn_chunk(data, start, end, E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw,
                freq) -> None:
    """The model's steps over bytes that are not coded (a block stored raw): encoder and
    decoder both take them, so the model stays the same on both sides."""
    mask = np.int64(ctx[CTX_WMASK])
    for t in range(start, end):
        predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, freq)
        learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, data[t & mask])


@nb.njit(cache=True)
def probe_hash(data, E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, freq) -> int:
    h = np.uint64(0xCBF29CE484222325)                 # FNV-1a over all predictions
    for t in range(data.shape[0]):
        predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, freq)
        for i in range(256):
            h = (h ^ np.uint64(freq[i])) * np.uint64(0x100000001B3)
        learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, mtab, mw, data, data[t])
    return np.int64(h & np.uint64(0xFFFFFFFF))
