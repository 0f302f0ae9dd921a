"""The online byte model: hashed contexts -> k tanh units -> softmax over 256 bytes.

This is the article's network with a different input: instead of one one-hot symbol,
each byte position switches on one input per context (the previous 1..6 bytes, the
current word, the previous and current word), hashed into a table of input rows, so
the hidden layer sees the sum of their k-dimensional codes. It predicts the next byte,
then learns from it by one SGD step on the cross-entropy (encoder and decoder take the
same step, so no weights are stored in the archive). Two departures from plain SGD,
both measured on alice29.txt and book1: input rows seen for the first few times learn
faster (the step is scaled by 1 + boost / (times seen + 1), like a count-based model
trusting fresh evidence), and input codes are clamped so a rarely-seen row cannot grow
without bound.

Arithmetic: float64 with +, -, *, / and floor only (exp/tanh from detmath); stored
input rows are float32 (rounded the IEEE way). Numba without fastmath keeps every sum
in program order, so two machines with IEEE-754 doubles compute identical predictions.

Shapes: E (rows, k) float32 input codes; seen (rows,) uint8; Wt (k, 256) output
weights, transposed so the output loops run over contiguous memory; c (256,) output
biases; b (k,) hidden biases.
"""

from __future__ import annotations

import dataclasses
import math

import numba as nb
import numpy as np

from bottlenet.compress import detmath
from bottlenet.compress.coder import quantise
from bottlenet.errors import SpecError

WORD = -1                         # context code for "the current word"
WORDS = -2                        # the previous word and the current one
MAX_ORDER = 8


@dataclasses.dataclass(frozen=True)
class Settings:
    """Model settings; all of them travel in the archive header."""

    hidden: int = 32                                   # k, the bottleneck
    orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6, WORD, WORDS)
    table_bits: int = 0                                # 0: chosen from the input size
    lr_input: float = 0.07
    boost: float = 5.0
    lr_output: float = 0.015
    lr_hidden_bias: float = 0.001
    clamp: float = 8.0
    init_scale: float = 0.5
    seed: int = 1

    def check(self) -> Settings:
        if not 1 <= self.hidden <= 1024:
            raise SpecError(f"hidden units must be 1..1024, got {self.hidden}")
        if not self.orders:
            raise SpecError("at least one context order is needed")
        for o in self.orders:
            if o not in (WORD, WORDS) and not 0 <= o <= MAX_ORDER:
                raise SpecError(f"context orders are 0..{MAX_ORDER}, 'w' or 'ww', got {o}")
        if len(set(self.orders)) != len(self.orders):
            raise SpecError(f"context orders repeat: {format_orders(self.orders)}")
        if self.table_bits and not 10 <= self.table_bits <= 28:
            raise SpecError(f"table bits must be 10..28, got {self.table_bits}")
        for name in ("lr_input", "lr_output", "clamp", "init_scale"):
            if not getattr(self, name) > 0:
                raise SpecError(f"{name.replace('_', ' ')} must be positive")
        if self.boost < 0 or self.lr_hidden_bias < 0:
            raise SpecError("boost and hidden-bias learning rate must be >= 0")
        return self

    def sized_for(self, n_bytes: int) -> Settings:
        """Pick the table size when left at 0: about one row per context seen, 2**12 to
        2**22 rows (2**22 rows x 32 units x 4 bytes = 512 MiB)."""
        if self.table_bits:
            return self
        need = max(1, n_bytes * len(self.orders))
        bits = min(22, max(12, math.ceil(math.log2(need))))
        return dataclasses.replace(self, table_bits=bits)

    def memory_bytes(self) -> int:
        return (1 << self.table_bits) * (4 * self.hidden + 1)

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"orders": list(self.orders)}

    @classmethod
    def from_json(cls, d: dict) -> Settings:
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(d, dict) or set(d) != names:
            raise ValueError("settings fields do not match this version")
        return cls(**(d | {"orders": tuple(int(o) for o in d["orders"])})).check()


def parse_orders(text: str) -> tuple[int, ...]:
    """'1-6,w,ww' or '1,2,3,w' -> (1, ..., 6, WORD, WORDS)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip().lower()
        try:
            if part == "w":
                out.append(WORD)
            elif part == "ww":
                out.append(WORDS)
            elif "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise SpecError(
                f"--orders takes numbers, ranges like 1-5, 'w' and 'ww', got {text!r}") from None
    return tuple(out)


def format_orders(orders: tuple[int, ...]) -> str:
    names = {WORD: "w", WORDS: "ww"}
    return ",".join(names.get(o, str(o)) for o in orders)


class Model:
    """Weights and scratch space of one model; the compiled functions take its arrays."""

    def __init__(self, s: Settings):
        s.check()
        if not s.table_bits:
            raise SpecError("table_bits must be chosen (Settings.sized_for) before building")
        k = s.hidden
        self.settings = s
        self.E = np.zeros((1 << s.table_bits, k), np.float32)   # calloc: pages on demand
        self.seen = np.zeros(1 << s.table_bits, np.uint8)
        self.Wt = _init_output(k, s.init_scale, s.seed)
        self.c = np.zeros(256)
        self.b = np.zeros(k)
        self.orders = np.array(s.orders, np.int64)
        self.lr = np.array([s.lr_input, s.boost, s.lr_output, s.lr_hidden_bias, s.clamp])
        # the last 8 bytes, hash of the current word, seed of the hashes, previous word.
        self.ctx = np.array([0, 0, s.seed, 0], np.uint64)
        self.scratch = np.zeros((4, max(256, k)))             # a, h, p, grad
        self.idx = np.zeros(len(s.orders), np.int64)

    def arrays(self):
        return (self.E, self.seen, self.Wt, self.c, self.b, self.orders, self.lr, self.ctx,
                self.scratch, self.idx)


def _init_output(k: int, scale: float, seed: int) -> np.ndarray:
    """Uniform(-scale, scale) from a xorshift generator: the same numbers everywhere."""
    x = (seed * 2654435761 + 1) & (2**64 - 1)
    vals = np.empty(k * 256)
    for i in range(k * 256):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        vals[i] = ((x >> 11) / 2.0**53 - 0.5) * 2.0 * scale
    return vals.reshape(k, 256)


@nb.njit(cache=True, inline="always")
def _mix(key, salt):
    """64-bit hash (splitmix64 finaliser) of a context key."""
    h = (key + salt) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@nb.njit(cache=True)
def predict(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, freq) -> None:
    """Fill freq (int64, 256, sums to TOTAL) with the model's prediction of the next
    byte; leaves hidden values and probabilities in scratch for `learn`."""
    k = Wt.shape[0]
    table_bits = 0
    while (1 << table_bits) < E.shape[0]:
        table_bits += 1
    bits = np.uint64(64 - table_bits)
    hist = ctx[0]
    for o in range(orders.shape[0]):
        n = orders[o]
        if n == -1:
            key = ctx[1]
        elif n == -2:
            key = ctx[1] ^ (ctx[3] * np.uint64(0x2545F4914F6CDD1D))
        elif n >= 8:
            key = hist
        else:
            key = hist & ((np.uint64(1) << np.uint64(8 * n)) - np.uint64(1))
        salt = ctx[2] * np.uint64(0x100) + np.uint64(o + 1)
        idx[o] = np.int64(_mix(key, salt) >> bits)
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
        h[j] = detmath.tanh(a[j])
    for i in range(256):
        p[i] = c[i]
    for j in range(k):               # logits, summed over j in order for every output
        hj = h[j]
        for i in range(256):
            p[i] += Wt[j, i] * hj
    zmax = p[0]
    for i in range(1, 256):
        zmax = max(zmax, p[i])
    total = 0.0
    for i in range(256):
        e = detmath.exp_neg(p[i] - zmax)
        p[i] = e
        total += e
    inv = 1.0 / total
    for i in range(256):
        p[i] *= inv
    quantise(p[:256], freq)


@nb.njit(cache=True)
def learn(E, seen, Wt, c, b, orders, lr, ctx, scratch, idx, y) -> None:
    """One SGD step on -log p[y], then shift y into the context."""
    k = Wt.shape[0]
    h = scratch[1]
    p = scratch[2]
    g = scratch[3]
    lr_in, boost, lr_out, lr_b, clamp = lr[0], lr[1], lr[2], lr[3], lr[4]
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
    for o in range(idx.shape[0]):
        r = idx[o]
        n = seen[r]
        rate = lr_in * (1.0 + boost / (n + 1.0))
        if n < 255:
            seen[r] = n + 1
        for j in range(k):
            v = E[r, j] - rate * g[j]
            E[r, j] = min(clamp, max(-clamp, v))
    ctx[0] = (ctx[0] << np.uint64(8)) | np.uint64(y)
    letter = y | 32
    if 97 <= letter <= 122:
        ctx[1] = (ctx[1] + np.uint64(letter)) * np.uint64(0x100000001B3)
    elif ctx[1] != 0:                # a word just ended: it becomes the previous word
        ctx[3] = ctx[1]
        ctx[1] = np.uint64(0)
