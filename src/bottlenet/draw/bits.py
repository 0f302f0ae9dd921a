"""Where a compressed file's bits go: bits per character along the file beside the
classic compressors' averages, and the share of bits per byte class."""

from __future__ import annotations

import numpy as np

from bottlenet.draw.common import PALE, plt


def bits_chart(name: str, bits: np.ndarray, window: tuple[np.ndarray, np.ndarray],
               rows: list[dict], archive_size: int, others: list):
    """Bits per character along the file (with the classic compressors' whole-file
    averages as lines), and the share of bits per byte class. `bits` (one value per
    byte), `window` (centres, windowed means) and `rows` (per byte class: "class",
    "bits_per_byte", "share_of_bits") come from the compressor's statistics
    (compress.stats.rolling_bpc and by_class): the picture only draws them."""
    n = len(bits)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(9, 6.5), height_ratios=(2.2, 1))
    x, y = window
    ax.plot(x, y, color="#2166ac", lw=1, label="bottlenet, windowed mean")
    running = np.cumsum(bits) / np.arange(1, n + 1) if n else bits
    ax.plot(np.arange(n), running, color="#053061", lw=2, label="bottlenet, average so far")
    ax.axhline(8 * archive_size / max(1, n), color="#053061", ls=":", lw=1,
               label=f"bottlenet archive {8 * archive_size / max(1, n):.3f} bpc")
    colours = ["#b2182b", "#ef8a62", PALE]
    for m, colour in zip(others, colours, strict=False):
        ax.axhline(m.bpc(n), color=colour, ls="--", lw=1,
                   label=f"{m.name} {m.bpc(n):.3f} bpc")
    ax.set_xlabel("position in file (bytes)")
    ax.set_ylabel("bits per character")
    ax.set_ylim(0, max(8.0, float(y.max()) if len(y) else 8.0))
    ax.set_title(f"{name}: where the bits go ({n:,} bytes)")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    labels = [f"{r['class']}\n{r['bits_per_byte']:.2f} bits/byte" for r in rows]
    bx.barh(labels, [100 * r["share_of_bits"] for r in rows], color="#4393c3")
    bx.invert_yaxis()
    bx.set_xlabel("share of all coded bits (%)")
    bx.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    return fig
