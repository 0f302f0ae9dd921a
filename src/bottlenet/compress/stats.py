"""Where the bits go: the classic compressors measured in the same run, bits per byte
class, and a picture of bits per character along the file."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import lzma
import time
from pathlib import Path

import numpy as np


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


def plot(path: str | Path, name: str, data: bytes, bits: np.ndarray,
         archive_size: int, others: list[Measured]) -> Path:
    """Bits per character along the file (with the classic compressors' whole-file
    averages as lines), and the share of bits per byte class."""
    from bottlenet.draw.common import plt, save

    n = len(data)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(9, 6.5), height_ratios=(2.2, 1))
    x, y = rolling_bpc(bits)
    ax.plot(x, y, color="#2166ac", lw=1, label="bottlenet, windowed mean")
    running = np.cumsum(bits) / np.arange(1, n + 1) if n else bits
    ax.plot(np.arange(n), running, color="#053061", lw=2, label="bottlenet, average so far")
    ax.axhline(8 * archive_size / max(1, n), color="#053061", ls=":", lw=1,
               label=f"bottlenet archive {8 * archive_size / max(1, n):.3f} bpc")
    colours = ["#b2182b", "#ef8a62", "#999999"]
    for m, colour in zip(others, colours, strict=False):
        ax.axhline(m.bpc(n), color=colour, ls="--", lw=1,
                   label=f"{m.name} {m.bpc(n):.3f} bpc")
    ax.set_xlabel("position in file (bytes)")
    ax.set_ylabel("bits per character")
    ax.set_ylim(0, max(8.0, float(y.max()) if len(y) else 8.0))
    ax.set_title(f"{name}: where the bits go ({n:,} bytes)")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    rows = by_class(data, bits)
    labels = [f"{r['class']}\n{r['bits_per_byte']:.2f} bits/byte" for r in rows]
    bx.barh(labels, [100 * r["share_of_bits"] for r in rows], color="#4393c3")
    bx.invert_yaxis()
    bx.set_xlabel("share of all coded bits (%)")
    bx.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return save(fig, path)
