"""Where an input holds a raster image, read from its own header (format 11).

A photograph's bytes seldom repeat exactly, a row apart or anywhere (the record model
finds no length in them), but each pixel is close to its neighbours above and to the
left: the image contexts (kernels.IMAGE_*) read those neighbours, which needs the
image's layout: where its pixels start and end, the bytes a row (padding included) and
a pixel. This reads it from the headers of uncompressed images: Windows bitmaps (BMP:
8 bits a pixel (grey or a palette), 24 (BGR) and 32 (BGRA), rows padded to 4 bytes)
and the binary Netpbm formats (PGM `P5` grey and PPM `P6` RGB, 8 bits a sample). The
layout travels in the archive's settings (Settings.image), so the decoder never parses
a header; files whose header this does not read keep the other profiles.
"""

from __future__ import annotations

import re
import struct

MIN_ROWS, MIN_ROW_BYTES = 8, 8     # smaller images gain nothing from a profile of their own
MAX_ROW_BYTES = 1 << 20            # a row further back than any window keeps
_PNM = re.compile(rb"P([56])(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)"
                  rb"(?:\s+|#[^\n]*\n)+(\d+)\s")


def image_layout(sample: bytes, size: int | None) -> tuple[int, ...]:
    """(start, end, row bytes, pixel bytes) of the raster image in an input of `size`
    bytes (None: not known, as in a pipe) that starts with `sample`: its pixels lie in
    [start, end), cut at the input's end; () when it has no header this reads, or too
    small an image."""
    try:
        layout = _bmp(sample) if sample[:2] == b"BM" else _pnm(sample)
    except struct.error:       # a header cut short by the sample
        return ()
    if not layout:
        return ()
    start, rows, row, pixel = layout
    end = start + rows * row if size is None else min(start + rows * row, size)
    if (rows < MIN_ROWS or not MIN_ROW_BYTES <= row <= MAX_ROW_BYTES or pixel > row
            or end - start < MIN_ROWS * row or end >= 2**60):   # (2^60: Settings' bound)
        return ()
    return (start, end, row, pixel)


def _bmp(d: bytes) -> tuple[int, int, int, int] | None:
    """BITMAPINFOHEADER or later (40+ bytes), uncompressed (BI_RGB; BI_BITFIELDS at 32
    bits, whose masks change no byte's place)."""
    (offset,) = struct.unpack_from("<I", d, 10)
    header, width, height, planes, bits, compression = struct.unpack_from("<IiiHHI", d, 14)
    if header < 40 or planes != 1 or width <= 0 or height == 0:
        return None
    if not (bits in (8, 24) and compression == 0 or bits == 32 and compression in (0, 3)):
        return None
    row = (width * bits + 31) // 32 * 4
    return offset, abs(height), row, bits // 8


def _pnm(d: bytes) -> tuple[int, int, int, int] | None:
    m = _PNM.match(d)
    if m is None:
        return None
    channels = 1 if m[1] == b"5" else 3
    width, height, maxval = int(m[2]), int(m[3]), int(m[4])
    if not 0 < maxval < 256 or width <= 0:
        return None
    return m.end(), height, width * channels, channels
