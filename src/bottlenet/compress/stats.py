"""Where the bits go: the classic compressors measured in the same run, bits per byte
class, rolling bits per character for the picture, and `compare`, which puts them
together with a checked round trip (what `compress --stats` shows)."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import lzma
import time
from collections.abc import Callable

import numpy as np

from bottlenet.errors import BottlenetError


@dataclasses.dataclass(frozen=True)
class Measured:
    name: str
    size: int
    compress_s: float
    decompress_s: float

    def bpc(self, n: int) -> float:
        return 8.0 * self.size / max(1, n)


# Python's own modules at their strongest settings, as the issue and SOURCES.md name them.
CLASSIC = {
    "gzip -9": (lambda d: gzip.compress(d, 9, mtime=0), gzip.decompress),
    "bzip2 -9": (lambda d: bz2.compress(d, 9), bz2.decompress),
    "xz -9e": (lambda d: lzma.compress(d, preset=9 | lzma.PRESET_EXTREME), lzma.decompress),
}


def classic(data: bytes) -> list[Measured]:
    """Compress and decompress with gzip, bzip2 and xz; each round trip is checked."""
    rows = []
    for name, (comp, decomp) in CLASSIC.items():
        t0 = time.perf_counter()
        packed = comp(data)
        t1 = time.perf_counter()
        if decomp(packed) != data:
            raise RuntimeError(f"{name} did not round-trip")  # would be a library bug
        rows.append(Measured(name, len(packed), t1 - t0, time.perf_counter() - t1))
    return rows


BYTE_CLASSES = {
    "lower-case letters": lambda b: (b >= 97) & (b <= 122),
    "upper-case letters": lambda b: (b >= 65) & (b <= 90),
    "spaces": lambda b: b == 32,
    "line ends": lambda b: (b == 10) | (b == 13),
    "digits": lambda b: (b >= 48) & (b <= 57),
}


def by_class(data: bytes, bits: np.ndarray) -> list[dict]:
    """Bytes, mean bits and share of all bits for each byte class ("other" = the rest)."""
    b = np.frombuffer(data, np.uint8)
    total = float(bits.sum()) or 1.0
    rest = np.ones(len(b), bool)
    rows = []
    for name, test in [*BYTE_CLASSES.items(), ("punctuation and other", None)]:
        sel = rest.copy() if test is None else test(b)
        rest &= ~sel
        if sel.any():
            rows.append({"class": name, "bytes": int(sel.sum()),
                         "bits_per_byte": float(bits[sel].mean()),
                         "share_of_bits": float(bits[sel].sum()) / total})
    return rows


def rolling_bpc(bits: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Mean bits per byte over consecutive windows: (window centres, means)."""
    n = len(bits)
    w = max(64, n // points)
    m = n // w
    if m == 0:
        return np.array([n / 2]), np.array([bits.mean() if n else 0.0])
    means = bits[: m * w].reshape(m, w).mean(axis=1)
    return (np.arange(m) + 0.5) * w, means


@dataclasses.dataclass(frozen=True)
class Comparison:
    """An archive checked and set beside the classic compressors (compress --stats)."""

    original_length: int
    decompress_s: float  # decoding the archive back, checked equal to the input
    classic: list[Measured]
    bits_by_class: list[dict]

    def figures(self) -> dict:
        n = self.original_length
        return {"decompress_s": round(self.decompress_s, 3),
                "decompress_kb_per_s": round(n / 1e3 / max(self.decompress_s, 1e-9), 1),
                "verified": True,
                "classic": [{"name": m.name, "bytes": m.size, "bpc": round(m.bpc(n), 4),
                             "compress_s": round(m.compress_s, 4),
                             "decompress_s": round(m.decompress_s, 4)} for m in self.classic],
                "bits_by_class": self.bits_by_class}


def compare(data: bytes, archive: bytes, bits: np.ndarray,
            progress: Callable[[int, int | None], None] | None = None) -> Comparison:
    """Decode `archive` (it must give `data` back: BottlenetError otherwise, a bug), time
    it, then measure gzip, bzip2 and xz on `data` and where the model's `bits` went."""
    from bottlenet.compress import codec

    t0 = time.perf_counter()
    back = codec.decompress(archive, progress=progress)
    seconds = time.perf_counter() - t0
    if back != data:
        raise BottlenetError("the archive did not decode to the original (a bug)")
    return Comparison(len(data), seconds, classic(data), by_class(data, bits))
