"""The online byte model: hashed contexts -> k tanh units -> softmax over 256 bytes.

This is the article's network with a different input: instead of one one-hot symbol,
each byte position switches on one input per context (the previous 1..6 bytes, the
current word, the previous and current word), hashed into a table of input rows, so
the hidden layer sees the sum of their k-dimensional codes. It predicts the next byte,
then learns from it by one SGD step on the cross-entropy (encoder and decoder take the
same step, so no weights are stored in the archive). Departures from plain SGD, each
measured on the corpus: input rows seen for the first few times learn faster (the step
is scaled by 1 + boost / (times seen + 1), like a count-based model trusting fresh
evidence); input codes are clamped so a rarely-seen row cannot grow without bound; the
output layer's rate starts high and falls as 1/position (lr_output_first -> lr_output),
which made every file of the corpus smaller, small ones most.

The match model (context 'm') finds the last earlier occurrence of the last match_min
bytes and guesses the byte that followed it; the guess enters as an input row per
(guess, match length) and through a learned direct weight onto its own logit.

This file holds the settings and the weights; the compiled predict/learn step, and the
arithmetic rules that make it identical on every IEEE-754 machine, are in kernels.pyx.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from bottlenet import checks
from bottlenet.compress import kernels
from bottlenet.compress.kernels import MATCH, WORD, WORDS
from bottlenet.errors import SpecError

MAX_ORDER = 8
WINDOW_MIN, WINDOW_MAX = 17, 25    # history windows of 128 KiB (two chunks) to 32 MiB
# The model's memory when --memory is not given, so that a `compress` or `decompress`
# process stays under 200 MB (the process itself takes about 50 MB): 2**20 rows at k = 32
# (129 MiB) with the history of a file up to 4 MiB, 2**19 rows beside the 32 MiB history
# of a longer file or a pipe. Tables of 2**21-2**22 rows (--memory 300M-600M) make large
# files 0.1-0.3% smaller.
DEFAULT_MEMORY = 150 << 20


@dataclasses.dataclass(frozen=True)
class Settings:
    """Model settings; all of them travel in the archive header."""

    hidden: int = 32                                   # k, the bottleneck
    orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6, WORD, WORDS, MATCH)
    table_bits: int = 0                                # 0: chosen from the input size
    lr_input: float = 0.07
    boost: float = 5.0
    lr_output: float = 0.003                           # ... after the first bytes:
    lr_output_first: float = 0.33                      # at byte 0, falling as 1/position
    lr_hidden_bias: float = 0.001
    clamp: float = 8.0
    init_scale: float = 0.5
    seed: int = 1
    match_min: int = 6                                 # bytes a match must share (MATCH)
    lr_match: float = 0.05                             # learning rate of the match weights
    window_bits: int = 0                               # the match model's history: a ring
    #   of 2**window_bits bytes (format 3, which streams); 0 = the whole input (1 and 2)

    def check(self) -> Settings:
        checks.whole("hidden units (--hidden)", self.hidden, 1, 1024)
        if not self.orders:
            raise SpecError("at least one context order is needed")
        for o in self.orders:
            if isinstance(o, bool) or not isinstance(o, int) or (
                    o not in (WORD, WORDS, MATCH) and not 0 <= o <= MAX_ORDER):
                raise SpecError(f"context orders are 0..{MAX_ORDER}, 'w', 'ww' or 'm', "
                                f"got {o!r}")
        if len(set(self.orders)) != len(self.orders):
            raise SpecError(f"context orders repeat: {format_orders(self.orders)}")
        checks.whole("table bits (--table-bits; 0 = from the file size)", self.table_bits,
                     0, 28)
        if self.table_bits and self.table_bits < 10:
            raise SpecError(f"table bits must be 10..28, got {self.table_bits}")
        for name in ("lr_input", "lr_output", "lr_output_first", "clamp", "init_scale",
                     "lr_match"):
            checks.positive(name.replace("_", " "), getattr(self, name))
        checks.real("boost", self.boost, 0.0, 1e6)
        checks.real("hidden-bias learning rate", self.lr_hidden_bias, 0.0)
        checks.seeds("seed (--seed)", self.seed)
        checks.whole("match length (match_min)", self.match_min, 1, 8)
        if self.window_bits and not WINDOW_MIN <= self.window_bits <= WINDOW_MAX:
            raise SpecError(f"window bits must be 0 or {WINDOW_MIN}..{WINDOW_MAX}, got "
                            f"{self.window_bits}")
        return self

    def sized_for(self, n_bytes: int | None, memory: int | None = None) -> Settings:
        """Pick the table size when left at 0: about one row per context seen, 2**12 to
        2**22 rows (2**22 rows x 32 units x 4 bytes = 512 MiB; the largest when the
        length is not known, n_bytes None), and no more rows than fit in `memory` bytes
        (--memory; DEFAULT_MEMORY when None). A table size given explicitly must fit in
        `memory` when it is given. The history window (when streaming, see window_for)
        is counted in the memory."""
        if memory is not None:
            checks.whole("--memory", memory, 1, 2**62)
            if self.rows_memory(10) > memory:
                window = (f" and a history of 2^{self.window_bits} bytes"
                          if self.window_bits else "")
                raise SpecError(f"--memory {memory:,} bytes is too small: the smallest table "
                                f"(2^10 rows at k={self.hidden}){window} needs "
                                f"{self.rows_memory(10):,} bytes")
        if self.table_bits:
            if memory is not None and self.memory_bytes() > memory:
                raise SpecError(f"--table-bits {self.table_bits} needs "
                                f"{self.memory_bytes() / 2**20:,.0f} MiB, more than --memory")
            return self
        need = 1 << 22 if n_bytes is None else max(1, n_bytes * len(self.orders))
        bits = min(22, max(12, math.ceil(math.log2(need))))
        budget = DEFAULT_MEMORY if memory is None else memory
        while bits > 10 and self.rows_memory(bits) > budget:
            bits -= 1
        return dataclasses.replace(self, table_bits=bits)

    def rows_memory(self, bits: int) -> int:
        """Bytes of a table of 2**bits rows (k float32 codes and a count per row), of
        the match model's table beside it, and of the history window when there is one."""
        window = 1 << self.window_bits if self.window_bits else 0
        return (1 << bits) * (4 * self.hidden + 1) + 8 * (1 << self.match_bits(bits)) + window

    def window_for(self, n_bytes: int | None, memory: int | None = None) -> Settings:
        """With a history window sized for n_bytes (None: not known): at least twice the
        input when it is known, so every match that formats 1-2 would find is found (a
        match reaches half the window back), at most 2**WINDOW_MAX bytes and at most a
        quarter of `memory` (the table gets the rest). A window given explicitly is kept."""
        if self.window_bits:
            return self
        if n_bytes is None:
            bits = WINDOW_MAX
        else:
            bits = (2 * n_bytes + 2 * kernels.MATCH_VERIFY - 1).bit_length()
        bits = min(WINDOW_MAX, max(WINDOW_MIN, bits))
        while memory is not None and bits > WINDOW_MIN and 4 << bits > memory:
            bits -= 1
        return dataclasses.replace(self, window_bits=bits)

    def match_bits(self, bits: int) -> int:
        """The match table: a quarter of the context table's rows (one entry per
        position, where the context table has one row per context and position)."""
        return max(10, bits - 2) if MATCH in self.orders else 0

    def memory_bytes(self) -> int:
        return self.rows_memory(self.table_bits)

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"orders": list(self.orders)}

    @classmethod
    def from_json(cls, d: dict, version: int) -> Settings:
        """Settings as an archive of format `version` wrote them."""
        names = {f.name for f in dataclasses.fields(cls)}
        if isinstance(d, dict) and version == 1:
            # Format 1 had no match model (unused without 'm' in its orders) and one
            # output rate throughout; its archives decode as they were written.
            d = d | {"match_min": cls.match_min, "lr_match": cls.lr_match,
                     "lr_output_first": d.get("lr_output")}
        if isinstance(d, dict) and version <= 2:
            d = d | {"window_bits": 0}   # the whole input was the match model's history
        if not isinstance(d, dict) or set(d) != names:
            raise ValueError("settings fields do not match this version")
        if not isinstance(d["orders"], list):
            raise ValueError("orders are not a list")
        return cls(**(d | {"orders": tuple(d["orders"])})).check()


def parse_orders(text: str) -> tuple[int, ...]:
    """'1-6,w,ww,m' or '1,2,3,w' -> (1, ..., 6, WORD, WORDS, MATCH)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip().lower()
        try:
            if part == "w":
                out.append(WORD)
            elif part == "ww":
                out.append(WORDS)
            elif part == "m":
                out.append(MATCH)
            elif "-" in part:
                lo, hi = (int(x) for x in part.split("-"))
                if not 0 <= lo <= hi <= MAX_ORDER:
                    raise SpecError(f"--orders: a range must lie in 0-{MAX_ORDER}, got {part!r}")
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise SpecError(
                f"--orders takes numbers, ranges like 1-5, 'w', 'ww' and 'm', got {text!r}"
            ) from None
    return tuple(out)


def format_orders(orders: tuple[int, ...]) -> str:
    names = {WORD: "w", WORDS: "ww", MATCH: "m"}
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
        # float64 even when a setting came as a whole number
        self.lr = np.array([s.lr_input, s.boost, s.lr_output, s.lr_hidden_bias, s.clamp,
                            s.lr_match, s.lr_output_first], np.float64)
        self.ctx = np.zeros(kernels.CTX_SIZE, np.uint64)
        self.ctx[kernels.CTX_SEED] = s.seed
        self.ctx[kernels.CTX_SHIFT] = 64 - s.table_bits
        self.scratch = np.zeros((4, max(256, k)))             # a, h, p, grad
        self.idx = np.zeros(len(s.orders), np.int64)
        match_bits = s.match_bits(s.table_bits)
        self.mtab = np.zeros(1 << match_bits if match_bits else 1, np.int64)
        self.mw = np.zeros(32)
        if match_bits:
            self.ctx[kernels.CTX_MMIN] = s.match_min
            self.ctx[kernels.CTX_MSHIFT] = 64 - match_bits
        if s.window_bits:
            # The encoder holds up to a chunk of bytes ahead in the ring, so a match may
            # reach half the window back (its check reads MATCH_VERIFY bytes more).
            self.ctx[kernels.CTX_WMASK] = (1 << s.window_bits) - 1
            self.ctx[kernels.CTX_WDIST] = (1 << (s.window_bits - 1)) - kernels.MATCH_VERIFY
        else:
            self.ctx[kernels.CTX_WMASK] = kernels.NO_WINDOW
            self.ctx[kernels.CTX_WDIST] = kernels.NO_WINDOW

    def arrays(self):
        return (self.E, self.seen, self.Wt, self.c, self.b, self.orders, self.lr, self.ctx,
                self.scratch, self.idx, self.mtab, self.mw)


def _init_output(k: int, scale: float, seed: int) -> np.ndarray:
    """Uniform(-scale, scale) from a xorshift generator written out here: NumPy keeps
    its bit generators' streams stable but not the methods that turn them into floats,
    and the decoder must start from exactly the encoder's weights."""
    x = (seed * 2654435761 + 1) & (2**64 - 1)
    vals = np.empty(k * 256)
    for i in range(k * 256):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        vals[i] = ((x >> 11) / 2.0**53 - 0.5) * 2.0 * scale
    return vals.reshape(k, 256)
