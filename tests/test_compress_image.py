"""Format 11's image contexts: the layout read from BMP, Netpbm (PGM, PPM, PAM), TGA and
TIFF headers (image.py),
the image profile chosen from it, and what the contexts gain on a photograph-like
image (smooth surfaces, noise: no byte repeats a row apart); bilevel images (PBM, 1-bit
BMP, and without a header: line art), their profile and what it gains."""

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
    b"", b"BM", b"P5\n", b"P6\n30 20\n65535\n" + bytes(3600),     # 6 bytes a pixel
    b"P7\nWIDTH 30\nHEIGHT 20\nDEPTH 3\nENDHDR\n" + bytes(1800),     # no MAXVAL
    b"P5\n4 4\n255\n" + bytes(16),                                # too small to pay
    b"P2\n30 20\n255\n" + b"0 " * 600,                           # ASCII Netpbm
    b"The quick brown fox jumps over the lazy dog. " * 50,
    bytes(range(256)) * 8,
])
def test_inputs_without_a_readable_image_header_have_no_layout(data):
    assert image.image_layout(data, len(data)) == ()


def tga(pixels: np.ndarray, kind: int = 2, descriptor: int = 0, footer: bool = True) -> bytes:
    """An uncompressed TGA: true-colour (2) or grey (3), bottom row first, TGA 2.0's
    footer after the pixels."""
    h, w = pixels.shape[:2]
    bits = 8 * (pixels.shape[2] if pixels.ndim == 3 else 1)
    head = struct.pack("<BBBHHBHHHHBB", 0, 0, kind, 0, 0, 0, 0, 0, w, h, bits, descriptor)
    tail = bytes(8) + b"TRUEVISION-XFILE.\0" if footer else b""
    return head + pixels[::-1].tobytes() + tail


def tiff(pixels: np.ndarray, strips: int = 4, order: str = "<", compression: int = 1,
         gap: int = 0) -> bytes:
    """An uncompressed TIFF, chunky, 8 bits a sample: its header, the pixels in
    `strips` strips (`gap` bytes between each), then its one directory."""
    h, w = pixels.shape[:2]
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    rows = -(-h // strips)
    chunks = [pixels[i:i + rows].tobytes() for i in range(0, h, rows)]
    body, offsets = b"", []
    for c in chunks:
        offsets.append(8 + len(body))
        body += c + bytes(gap)
    ifd = 8 + len(body)
    extra = ifd + 2 + 12 * 8 + 4            # the strips' offsets and lengths follow
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 8), (259, 3, 1, compression),
            (273, 4, len(chunks), extra), (277, 3, 1, channels),
            (279, 4, len(chunks), extra + 4 * len(chunks)), (284, 3, 1, 1)]
    if len(chunks) == 1:
        tags[4], tags[6] = (273, 4, 1, offsets[0]), (279, 4, 1, len(chunks[0]))
    entries = b"".join(struct.pack(order + "HHI", t, k, n)
                       + struct.pack(order + ("HH" if k == 3 else "I"), v, *[0] * (k == 3))
                       for t, k, n, v in tags)
    lists = (struct.pack(f"{order}{len(chunks)}I", *offsets)
             + struct.pack(f"{order}{len(chunks)}I", *map(len, chunks)) if len(chunks) > 1 else b"")
    magic = b"II*\0" if order == "<" else b"MM\0*"
    return (magic + struct.pack(order + "I", ifd) + body + struct.pack(order + "H", len(tags))
            + entries + bytes(4) + lists)


def test_the_layout_is_read_from_16_bit_netpbm_pam_tga_and_tiff():
    grey, colour = photo(30, 20), photo(30, 20, 3)
    # 16-bit samples: two bytes each (a pixel of grey is 2 bytes; of RGB, 6: too many)
    wide = b"P5\n30 20\n4095\n" + grey.astype(">u2").tobytes()
    assert image.image_layout(wide, len(wide)) == (14, 14 + 1200, 60, 2)
    pam = (b"P7\n# a comment\nWIDTH 30\nHEIGHT 20\nDEPTH 4\nMAXVAL 255\n"
           b"TUPLTYPE RGB_ALPHA\nENDHDR\n")
    assert image.image_layout(pam + bytes(2400), None) == (len(pam), len(pam) + 2400, 120, 4)
    # TGA: no signature, so the file's size must fit its pixels (and a footer)
    data = tga(colour)
    assert image.image_layout(data, len(data)) == (18, 18 + 1800, 90, 3)
    assert image.image_layout(tga(grey, kind=3), len(tga(grey, kind=3))) == (18, 618, 30, 1)
    assert image.image_layout(data, None) == ()                       # size unknown
    assert image.image_layout(data + bytes(1 << 17), len(data) + (1 << 17)) == ()
    assert image.image_layout(data[:1000], 1000) == ()                # pixels cut
    assert image.image_layout(tga(colour, descriptor=0x40), len(data)) == ()  # interleaved
    assert image.image_layout(tga(colour, kind=10), len(data)) == ()  # run-length coded
    # TIFF, either byte order, one strip or several one after another
    for order in "<>":
        for strips in (1, 3):
            data = tiff(colour, strips, order)
            assert image.image_layout(data, len(data)) == (8, 8 + 1800, 90, 3)
    assert image.image_layout(tiff(colour, gap=16), None) == ()       # strips apart
    assert image.image_layout(tiff(colour, compression=5), None) == ()   # LZW
    assert image.image_layout(tiff(grey)[:20], None) == ()            # cut short


def test_images_as_pillow_writes_them():
    """TGA and TIFF as a real writer makes them: the layouts, and the image profile pays."""
    pil = pytest.importorskip("PIL.Image")
    needs_kernels()
    from bottlenet.compress import compress, decompress

    colour = photo(64, 48, 3)
    for fmt in ("TGA", "TIFF"):
        buf = io.BytesIO()
        pil.fromarray(colour).save(buf, fmt)
        data = buf.getvalue()
        start, end, row, pixel = image.image_layout(data, len(data))
        assert (end - start, row, pixel) == (64 * 48 * 3, 192, 3)
        pixels = colour[:, :, ::-1] if fmt == "TGA" else colour      # TGA: BGR
        assert data[start:end] in (pixels.tobytes(), pixels[::-1].tobytes())
    on, off = compress(data), compress(data, Settings(image=()))
    assert len(on.archive) < 0.93 * len(off.archive) and decompress(on.archive) == data


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


# ---- bilevel images (1 bit a pixel) -------------------------------------------------


def drawing(width: int = 480, height: int = 400, seed: int = 0) -> np.ndarray:
    """Line art in small: ellipses (overlapping ones cut each other out) and thick
    lines at every slope, at any bit of a byte; True is black."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    px = np.zeros((height, width), bool)
    for _ in range(40):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 24)
        px ^= (x - cx) ** 2 + ((y - cy) * rng.uniform(0.6, 1.6)) ** 2 < r * r
    for _ in range(12):
        a, b, t = rng.uniform(-2, 2), rng.uniform(0, height), rng.uniform(1, 3)
        px |= np.abs(y - (a * x + b)) < t * np.sqrt(1 + a * a)
    return px


def raw(px: np.ndarray) -> bytes:
    """8 pixels a byte, the first in the top bit, each row whole bytes (as a fax)."""
    return np.packbits(px, axis=1).tobytes()


def pbm(px: np.ndarray, comment: bytes = b"") -> bytes:
    h, w = px.shape
    return b"P4\n" + comment + b"%d %d\n" % (w, h) + raw(px)


def bmp1(px: np.ndarray) -> bytes:
    """A 1-bit Windows bitmap: a palette of two, rows padded to 4 bytes, bottom up."""
    h, w = px.shape
    row = (w + 31) // 32 * 4
    body = b"".join(np.packbits(r).tobytes().ljust(row, b"\0") for r in px[::-1])
    offset = 14 + 40 + 8
    head = struct.pack("<2sIHHI", b"BM", offset + len(body), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 1, 0, len(body), 2835, 2835, 2, 2)
    return head + info + b"\xff\xff\xff\0\0\0\0\0" + body


def test_the_layout_of_a_bilevel_image_is_read_from_pbm_and_1_bit_bmp_headers():
    px = drawing(100, 30)                        # 13 bytes a row in PBM, 16 in BMP
    assert image.bilevel_layout(pbm(px), None) == (10, 10 + 30 * 13, 13, 1)
    assert image.bilevel_layout(pbm(px, b"# scanned\n"), None) == (20, 20 + 30 * 13, 13, 1)
    assert image.bilevel_layout(bmp1(px), None) == (62, 62 + 30 * 16, 16, 1)
    # 8 bits a pixel are image_layout's; 1 bit is not
    assert image.image_layout(bmp1(px), None) == ()
    assert image.bilevel_layout(bmp(photo(30, 20), bits=8), None) == ()
    assert image.bilevel_layout(pbm(px)[:6], None) == ()            # header cut short
    pil = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    pil.fromarray(~px).save(buf, "TIFF")         # 1 bit, uncompressed (0 is black there)
    data = buf.getvalue()
    start, end, row, pixel = image.bilevel_layout(data, len(data))
    assert (end - start, row, pixel) == (30 * 13, 13, 1)
    assert data[start:end] == np.packbits(~px, axis=1).tobytes()
    buf = io.BytesIO()
    pil.fromarray(~px).save(buf, "TIFF", compression="group4")   # a fax's own coding
    assert image.bilevel_layout(buf.getvalue(), None) == ()


def test_a_bilevel_image_without_a_header_is_found_with_its_rows():
    needs_kernels()                              # (the record model finds the rows)
    data = raw(drawing())
    assert image.bilevel_layout(data, len(data)) == (0, len(data), 60, 1)
    assert image.bilevel_layout(data, None)[2:] == (60, 1)     # a pipe: to its end
    # rows found two or three at a time are cut to one
    a = np.frombuffer(data, np.uint8)
    assert image._fundamental(a, 120) == 60 and image._fundamental(a, 180) == 60


@pytest.mark.parametrize("data", [
    bytes(30000), b"\xff" * 30000,                                 # nothing drawn
    np.random.default_rng(1).integers(0, 256, 30000, np.uint8).tobytes(),
    np.packbits(np.random.default_rng(2).random((300, 800)) < 0.1, axis=1).tobytes(),
    b"".join(struct.pack("<IH", i, i % 7) + bytes(10) for i in range(2000)),  # records
    b"The quick brown fox jumps over the lazy dog. " * 600,
])
def test_other_data_is_not_taken_for_a_bilevel_image(data):
    needs_kernels()
    assert image.bilevel_layout(data, len(data)) == ()


def test_a_bilevel_image_gets_its_profile_pays_and_decodes():
    needs_kernels()
    from bottlenet.compress import compress, decompress

    small = Settings(hidden=8)
    for data in (raw(drawing()), pbm(drawing(seed=1)), bmp1(drawing(seed=2))):
        on = compress(data, small)
        assert on.settings.cm_orders == PROFILES["bilevel"].cm_orders
        assert on.settings.primer == 0
        off = compress(data, dataclasses.replace(small, image=()))     # --no-image
        assert off.settings.image == () and off.settings.cm_orders == PROFILES["other"].cm_orders
        assert len(on.archive) < 0.7 * len(off.archive)
        assert decompress(on.archive) == data
