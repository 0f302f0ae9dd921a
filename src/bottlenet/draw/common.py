"""What every picture shares: one diverging colour scale and saving by suffix.

Colour convention (as in the article, and explained once in each legend): blue is
positive, red is negative, the deeper the colour the larger the magnitude; it is used
for weights and activations alike.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen needed; must precede pyplot
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bottlenet.choices import PICTURE_FORMATS  # noqa: E402
from bottlenet.errors import SpecError  # noqa: E402
from bottlenet.files import write_atomically  # noqa: E402

CMAP = plt.get_cmap("RdBu")  # low = red (negative), high = blue (positive)
# Chart colours, named once (the weights' blue/red scale is CMAP above)
WIN = "#1a9641"  # the winning output; accuracy and success
BAR = "#4a90c2"  # bars of measured values
MUTED = "#555555"  # captions, and weights that are exactly zero
PALE = "#999999"  # references and weak weights
FORMATS = PICTURE_FORMATS
# Diagrams of more symbols than this print the article's numbers on the nodes (the
# article switched at 11); the playground follows the same rule.
AUTO_NUMBERS_ABOVE = 12


def signed_colour(value: float, scale: float) -> str:
    """Hex colour of `value` on the diverging scale symmetric around 0 with range `scale`;
    clipped away from white so weak values stay visible."""
    x = 0.0 if scale <= 0 else float(np.clip(value / scale, -1, 1))
    x = np.sign(x) * (0.25 + 0.75 * abs(x)) if x != 0 else 0.0
    return mcolors.to_hex(CMAP(0.5 + 0.5 * x))


def sign_of_colour(colour: str) -> int:
    """+1 for a blue colour, -1 for a red one, 0 for grey (used by tests and checks)."""
    r, _, b = mcolors.to_rgb(colour)
    return int(np.sign(round(b - r, 3)))


def _savefig(fig, file, fmt: str, dpi: int = 150) -> None:
    """Write and close `fig`. Fixed metadata and hash salt: the same network gives the same
    SVG bytes."""
    plt.rcParams["svg.hashsalt"] = "bottlenet"
    meta = {"Date": None} if fmt == "svg" else {"Software": None}
    try:
        fig.savefig(file, format=fmt, dpi=dpi, bbox_inches="tight", metadata=meta)
    finally:
        plt.close(fig)


def save(fig, path: str | Path, dpi: int = 150) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        plt.close(fig)
        raise SpecError(f"picture files must end in .svg or .png, got {path.name!r}")
    return write_atomically(path, lambda f: _savefig(fig, f, path.suffix.lower()[1:], dpi))


def png_base64(fig, dpi: int = 100) -> str:
    """`fig` as base64 PNG text, for an image inside HTML (the claims' report); closed."""
    buffer = io.BytesIO()
    _savefig(fig, buffer, "png", dpi)
    return base64.b64encode(buffer.getvalue()).decode()


def svg_text(fig) -> str:
    """`fig` as SVG markup without the XML prolog, so it can sit inside HTML; closed."""
    buffer = io.BytesIO()
    _savefig(fig, buffer, "svg")
    text = buffer.getvalue().decode("utf-8")
    return text[text.index("<svg"):]
