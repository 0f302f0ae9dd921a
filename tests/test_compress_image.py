"""Format 11's image contexts: the layout read from BMP, PGM and PPM headers (image.py),
the image profile chosen from it, and what the contexts gain on a photograph-like
image (smooth surfaces, noise: no byte repeats a row apart)."""

from __future__ import annotations

import dataclasses
import io
import struct

import numpy as np
import pytest

from bottlenet.compress import Settings, image
from bottlenet.compress.model import PROFILES
from bottlenet.errors import SpecError
from conftest import needs_kernels


def photo(width: int, height: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A photograph's statistics in small: smooth shapes and shading, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(float)
    planes = []
    for c in range(channels):
        v = (128 + 60 * np.sin(x / (9 + 3 * c)) * np.cos(y / 13) + 0.4 * x - 0.3 * y
             + 40 * ((x - width / 2) ** 2 + (y - height / 3) ** 2 < (width / 5) ** 2))
        planes.append(v + rng.normal(0, 3, v.shape))
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def pgm(pixels: np.ndarray, comment: bytes = b"") -> bytes:
    h, w = pixels.shape[:2]
    kind = b"P5" if pixels.ndim == 2 or pixels.shape[2] == 1 else b"P6"
    return kind + b"\n" + comment + b"%d %d\n255\n" % (w, h) + pixels.tobytes()


def bmp(pixels: np.ndarray, top_down: bool = False, bits: int = 24,
        compression: int = 0) -> bytes:
    """An uncompressed Windows bitmap: BGR(A) rows padded to 4 bytes, bottom row first
    (unless top_down), after a palette at 8 bits."""
    h, w = pixels.shape[:2]
    row = (w * bits + 31) // 32 * 4
    palette = bytes(b for i in range(256) for b in (i, i, i, 0)) if bits == 8 else b""
    offset = 14 + 40 + len(palette)
    rows = pixels if top_down else pixels[::-1]
    body = b"".join(r.tobytes().ljust(row, b"\0") for r in rows)
    head = struct.pack("<2sIHHI", b"BM", offset + len(body), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bits, compression,
                       len(body), 2835, 2835, 0, 0)
    return head + info + palette + body


def test_the_layout_is_read_from_bmp_pgm_and_ppm_headers():
    grey, colour = photo(30, 20), photo(30, 20, 3)
    assert image.image_layout(pgm(grey), None) == (13, 13 + 600, 30, 1)
    # comments may stand between the fields
    assert image.image_layout(pgm(grey, b"# a comment\n"), None) == (25, 25 + 600, 30, 1)
    assert image.image_layout(pgm(colour), None) == (13, 13 + 1800, 90, 3)
    # BMP rows are padded to 4 bytes; bottom-up or top-down, each row follows its
    # neighbour; 8 bits a pixel comes after a palette
    assert image.image_layout(bmp(colour), None) == (54, 54 + 20 * 92, 92, 3)
    assert image.image_layout(bmp(colour, top_down=True), None) == (54, 54 + 20 * 92, 92, 3)
    assert image.image_layout(bmp(grey, bits=8), None) == (1078, 1078 + 20 * 32, 32, 1)
    rgba = np.concatenate([colour, np.full((20, 30, 1), 255, np.uint8)], -1)
    assert image.image_layout(bmp(rgba, bits=32), None) == (54, 54 + 20 * 120, 120, 4)
    # the pixels end at the input's end when it is shorter than the header says
    data = pgm(grey)
    assert image.image_layout(data[:400], len(data) - 200) == (13, len(data) - 200, 30, 1)


@pytest.mark.parametrize("data", [
    b"", b"BM", b"P5\n", b"P5\n30 20\n65535\n" + bytes(1200),      # 16-bit samples
    b"P5\n4 4\n255\n" + bytes(16),                                # too small to pay
    b"P2\n30 20\n255\n" + b"0 " * 600,                           # ASCII Netpbm
    b"The quick brown fox jumps over the lazy dog. " * 50,
    bytes(range(256)) * 8,
])
def test_inputs_without_a_readable_image_header_have_no_layout(data):
    assert image.image_layout(data, len(data)) == ()


def test_a_header_that_claims_more_rows_than_any_file_has_no_layout_in_a_pipe():
    data = b"P5\n64 99999999999999999999\n255\n" + bytes(64 * 10)
    assert image.image_layout(data, None) == ()
    assert image.image_layout(data, len(data))[1] == len(data)   # cut at the input's end


def test_compressed_and_truncated_bitmaps_have_no_layout():
    colour = photo(30, 20, 3)
    assert image.image_layout(bmp(colour, compression=1), None) == ()    # RLE
    assert image.image_layout(bmp(colour)[:30], None) == ()              # header cut short
    assert image.image_layout(bmp(photo(30, 20), bits=16), None) == ()


def test_an_image_gets_the_image_profile_and_no_primer():
    data = pgm(photo(64, 48))
    s = Settings().suited_to(data, len(data))
    assert s.image == (13, len(data), 64, 1)
    assert s.cm_orders == PROFILES["image"].cm_orders and s.primer == 0
    assert Settings(image=()).suited_to(data, len(data)).image == ()
    # a layout the caller gives is kept, whatever the header says
    assert Settings(image=(0, 10, 5, 1)).suited_to(data, len(data)).image == (0, 10, 5, 1)


@pytest.mark.parametrize("bad", [(1, 2, 3), (5, 5, 8, 1), (0, 10, 8, 5), (0, 10, 4, 8),
                                 (0, 2**60, 8, 1), (0, 10, 0, 1), (-1, 10, 8, 1),
                                 (0, 10, True, 1), (0, 10, image.MAX_ROW_BYTES + 1, 1)])
def test_a_bad_image_layout_is_refused(bad):
    with pytest.raises(SpecError, match="an image is"):
        Settings(image=bad).check()


@pytest.mark.parametrize("make", [lambda p: pgm(p), lambda p: bmp(p)],
                         ids=["grey PGM", "colour BMP"])
def test_the_image_contexts_pay_and_decode(make):
    needs_kernels()
    from bottlenet.compress import compress, decompress

    pixels = photo(96, 64) if make(photo(8, 8)).startswith(b"P5") else photo(96, 64, 3)
    data = make(pixels)
    with_image = compress(data)
    assert with_image.settings.image
    without = compress(data, Settings(image=()))
    assert len(with_image.archive) < 0.93 * len(without.archive)
    assert decompress(with_image.archive) == data


def test_an_image_in_a_pipe_is_read_to_its_header_s_end():
    needs_kernels()
    from bottlenet.compress import compress_stream, decompress

    data = pgm(photo(80, 60))
    out = io.BytesIO()
    piped = compress_stream(io.BytesIO(data), out, settings=Settings())   # size unknown
    assert piped.settings.image == (13, len(data), 80, 1)
    assert decompress(out.getvalue()) == data


def test_the_profile_rates_are_other_data_s():
    assert dataclasses.replace(PROFILES["image"], orders=(), added_orders=(),
                               cm_orders=()) == dataclasses.replace(
        PROFILES["other"], added_orders=(), cm_orders=())
