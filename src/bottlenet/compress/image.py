"""Where an input holds a raster image, read from its own header (format 11).

A photograph's bytes seldom repeat exactly, a row apart or anywhere (the record model
finds no length in them), but each pixel is close to its neighbours above and to the
left: the image contexts (kernels.IMAGE_*) read those neighbours, which needs the
image's layout: where its pixels start and end, the bytes a row (padding included) and
a pixel. This reads it from the headers of uncompressed images:

- Windows bitmaps (BMP: 8 bits a pixel (grey or a palette), 24 (BGR) and 32 (BGRA),
  rows padded to 4 bytes);
- the binary Netpbm formats: PGM `P5` (grey), PPM `P6` (RGB) and PAM `P7` (1-4
  channels), 8 or 16 bits a sample;
- Truevision TGA (uncompressed: colour-mapped and grey at 8 bits a pixel, BGR and BGRA
  at 24 and 32);
- TIFF (uncompressed, its channels interleaved, 8 or 16 bits a sample, its strips one
  after another in the file).

A 16-bit sample is two bytes, which the contexts take as two channels of the pixel (the
high byte, from the neighbours' high bytes, is the one that pays). A pixel may have at
most 4 bytes (Settings.image): 16-bit RGB images keep the other profiles. The layout
travels in the archive's settings, so the decoder never parses a header; files whose
header this does not read keep the other profiles.

Bilevel images (1 bit a pixel) are read a byte (8 pixels) at a time, with a profile of
their own (model.PROFILES["bilevel"]): from a PBM (`P4`), 1-bit BMP or TIFF header, and
without a header where the bytes look like one and the record model finds its rows
(`bilevel_layout`: faxes, scanned and rendered pages, line art). Choosing so is the
encoder's alone: the archive carries the layout and the contexts (formats 13 and
later), and the decoder reads them there.
"""

from __future__ import annotations

import math
import re
import struct

import numpy as np

MIN_ROWS, MIN_ROW_BYTES = 8, 8     # smaller images gain nothing from a profile of their own
MAX_ROW_BYTES = 1 << 20            # a row further back than any window keeps
MAX_PIXEL_BYTES = 4                # Settings.image's bound (format 11)
_PNM = re.compile(rb"P([56])(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)"
                  rb"(?:\s+|#[^\n]*\n)+(\d+)\s")
_PBM = re.compile(rb"P4(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)\s")
_PAM_FIELD = re.compile(rb"[ \t]*([A-Z]+)[ \t]*([^\n]*)\n")
# A TGA file has no signature: besides its header's own rules, its size must be its
# pixels' end plus at most this much (TGA 2.0's extension area, developer area, footer).
_TGA_TAIL = 1 << 16


def image_layout(sample: bytes, size: int | None) -> tuple[int, ...]:
    """(start, end, row bytes, pixel bytes) of the raster image in an input of `size`
    bytes (None: not known, as in a pipe) that starts with `sample`: its pixels lie in
    [start, end), cut at the input's end; () when it has no header this reads, or too
    small an image."""
    try:
        if sample[:2] == b"BM":
            layout = _bmp(sample)
        elif sample[:2] in (b"P5", b"P6"):
            layout = _pnm(sample)
        elif sample[:3] == b"P7\n":
            layout = _pam(sample)
        elif sample[:4] in (b"II*\0", b"MM\0*"):
            layout = _tiff(sample)
        else:
            layout = _tga(sample, size)
    except (struct.error, ValueError, KeyError, IndexError):
        return ()                 # a header cut short by the sample, garbled, or missing
                                  # a field (a PAM's, a TIFF's tag)
    return _checked(layout, size)


def _checked(layout: tuple[int, int, int, int] | None, size: int | None) -> tuple[int, ...]:
    """(start, end, row bytes, pixel bytes) from (start, rows, row bytes, pixel bytes),
    cut at the input's end; () where the image is too small or too large."""
    if not layout:
        return ()
    start, rows, row, pixel = layout
    end = start + rows * row if size is None else min(start + rows * row, size)
    if (rows < MIN_ROWS or not MIN_ROW_BYTES <= row <= MAX_ROW_BYTES
            or not 1 <= pixel <= min(row, MAX_PIXEL_BYTES)
            or end - start < MIN_ROWS * row or end >= 2**60):   # (2^60: Settings' bound)
        return ()
    return (start, end, row, pixel)


# Bilevel images (1 bit a pixel, 8 pixels a byte: faxes, scanned and rendered pages,
# line art) read with the image contexts, at a row's bytes and one byte a "pixel": the
# bytes above, around and left hold the pixels above and around each of the byte's 8.
# Without a header, a sample is taken for one where most bytes are all white or all
# black (BILEVEL_PLAIN of them) and the others mostly runs, at most two changes between
# neighbouring bits (BILEVEL_RUNS: an edge crossing the byte; 22% of all byte values,
# 98-99% in a fax, a rendered page and a plot, at most 54% in the corpus and 23 other
# files of this machine, 35% in a dithered photograph), and the record model finds its
# rows (kernels.record_length). With a row's length so found, those three images came
# out 13-22% smaller than read as other data (the fax of the Canterbury corpus, ptt5:
# 29,340 -> 25,366 bytes with PROFILES["bilevel"], zpaq -m5 28,563); read so, the
# corpus's and those 23 files' with records came out 3-27% larger.
BILEVEL_PLAIN = 0.5
BILEVEL_RUNS = 0.9
_CHANGES = np.array([bin((b ^ (b >> 1)) & 0x7F).count("1") for b in range(256)])


def bilevel_layout(sample: bytes, size: int | None) -> tuple[int, ...]:
    """The layout (as image_layout's, a byte a "pixel") of a bilevel image in an input
    of `size` bytes that starts with `sample`: from a PBM (P4), 1-bit BMP or 1-bit TIFF
    header (uncompressed), or without a header where the sample looks like one (see
    above); () if not."""
    try:
        if sample[:2] == b"BM":
            return _checked(_bmp(sample, bilevel=True), size)
        if sample[:2] == b"P4":
            m = _PBM.match(sample)
            return _checked((m.end(), int(m[2]), (int(m[1]) + 7) // 8, 1) if m else None,
                            size)
        if sample[:4] in (b"II*\0", b"MM\0*"):
            return _checked(_tiff(sample, bilevel=True), size)
    except (struct.error, ValueError, KeyError, IndexError):
        return ()
    a = np.frombuffer(sample, np.uint8)
    plain = (a == 0) | (a == 255)
    edges = a[~plain]
    if (plain.sum() < BILEVEL_PLAIN * len(a) or len(edges) < max(256, len(a) >> 8)
            or (_CHANGES[edges] <= 2).mean() < BILEVEL_RUNS):
        return ()
    from bottlenet.compress import kernels

    row = _fundamental(a, kernels.record_length(sample))
    rows = (2**60 - 1 if size is None else size) // row if row else 0
    return _checked((0, rows, row, 1), size)


def _fundamental(a: np.ndarray, row: int) -> int:
    """Of `row` and its divisors (rows found two or more at a time), the distance at
    which the bytes that are not all white or all black repeat most often."""
    best, share = 0, -1.0
    divisors = {d for i in range(1, math.isqrt(row) + 1) if row % i == 0 for d in (i, row // i)}
    for q in sorted(divisors):
        if q >= MIN_ROW_BYTES and len(a) > 2 * q:
            now, above = a[q:], a[:-q]
            edge = (now != 0) & (now != 255)
            s = float((now[edge] == above[edge]).mean()) if edge.any() else 0.0
            if s > share:
                best, share = q, s
    return best


def _bmp(d: bytes, bilevel: bool = False) -> tuple[int, int, int, int] | None:
    """BITMAPINFOHEADER or later (40+ bytes), uncompressed (BI_RGB; BI_BITFIELDS at 32
    bits, whose masks change no byte's place); at 1 bit a pixel where `bilevel`, else
    8, 24 or 32."""
    (offset,) = struct.unpack_from("<I", d, 10)
    header, width, height, planes, bits, compression = struct.unpack_from("<IiiHHI", d, 14)
    if header < 40 or planes != 1 or width <= 0 or height == 0:
        return None
    if bilevel:
        ok = bits == 1 and compression == 0
    else:
        ok = bits in (8, 24) and compression == 0 or bits == 32 and compression in (0, 3)
    if not ok:
        return None
    row = (width * bits + 31) // 32 * 4
    return offset, abs(height), row, max(bits // 8, 1)


def _sample_bytes(maxval: int) -> int:
    """Bytes a Netpbm sample of this maxval takes (0: not a valid maxval)."""
    return 1 if 0 < maxval < 256 else (2 if 256 <= maxval < 65536 else 0)


def _pnm(d: bytes) -> tuple[int, int, int, int] | None:
    m = _PNM.match(d)
    if m is None:
        return None
    channels = 1 if m[1] == b"5" else 3
    width, height, depth = int(m[2]), int(m[3]), _sample_bytes(int(m[4]))
    if not depth or width <= 0:
        return None
    return m.end(), height, width * channels * depth, channels * depth


def _pam(d: bytes) -> tuple[int, int, int, int] | None:
    """A PAM header: `P7`, then lines of a name and its value (comments start with #),
    up to ENDHDR."""
    at, fields = 3, {}
    while True:
        if d[at:at + 1] == b"#":
            at = d.index(b"\n", at) + 1
            continue
        m = _PAM_FIELD.match(d, at)
        if m is None:
            return None
        at = m.end()
        if m[1] == b"ENDHDR":
            break
        fields[m[1]] = m[2].strip()
    width, height = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
    channels, depth = int(fields[b"DEPTH"]), _sample_bytes(int(fields[b"MAXVAL"]))
    if not depth or width <= 0 or channels <= 0:
        return None
    return at, height, width * channels * depth, channels * depth


def _tga(d: bytes, size: int | None) -> tuple[int, int, int, int] | None:
    """An uncompressed TGA: colour-mapped (type 1, 8 bits a pixel), true-colour (2, 24
    or 32 bits: BGR, BGRA) or grey (3, 8 bits). With no signature, it is taken only
    where every field agrees and the file ends within _TGA_TAIL of its pixels (so its
    size must be known)."""
    if size is None or len(d) < 18:
        return None
    id_length, map_type, kind, _, map_length, map_bits = struct.unpack_from("<BBBHHB", d)
    width, height, bits, descriptor = struct.unpack_from("<HHBB", d, 12)
    alpha = descriptor & 15
    if descriptor & 0xC0 or not width or not height:
        return None
    if kind == 1:
        ok = map_type == 1 and bits == 8 and map_length and map_bits in (15, 16, 24, 32)
    elif kind in (2, 3):
        ok = map_type == 0 and map_length == 0 and (
            bits == 24 and alpha == 0 or bits == 32 and alpha in (0, 8)
            if kind == 2 else bits == 8 and alpha == 0)
    else:
        ok = False
    if not ok:
        return None
    start = 18 + id_length + (map_length * ((map_bits + 7) // 8) if map_type else 0)
    pixel = bits // 8
    end = start + width * height * pixel
    if not end <= size <= end + _TGA_TAIL:
        return None
    return start, height, width * pixel, pixel


_TIFF_TYPES = {3: "H", 4: "I"}     # SHORT, LONG: the types the tags read here may have
_TIFF_MOST = 1 << 16               # values a tag may have (strips), for this to read it


def _tiff(d: bytes, bilevel: bool = False) -> tuple[int, int, int, int] | None:
    """A TIFF's first image: uncompressed (Compression 1), chunky (PlanarConfiguration
    1), 8 or 16 bits a sample (1 bit and one channel where `bilevel`: rows of whole
    bytes), its strips one after another (the pixels one run)."""
    order = "<" if d[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", d, 4)
    (count,) = struct.unpack_from(order + "H", d, ifd)
    tags: dict[int, list[int]] = {}
    for k in range(count):
        tag, kind, n, value = struct.unpack_from(order + "HHI4s", d, ifd + 2 + 12 * k)
        if kind not in _TIFF_TYPES or n > _TIFF_MOST:
            continue
        form = order + _TIFF_TYPES[kind] * n
        if struct.calcsize(form) <= 4:   # the values themselves, else where they are
            tags[tag] = list(struct.unpack_from(form, value))
        else:
            tags[tag] = list(struct.unpack_from(form, d, *struct.unpack(order + "I", value)))
    width, height = tags[256][0], tags[257][0]
    bits = tags.get(258, [1])
    channels = tags.get(277, [1])[0]
    if (tags.get(259, [1])[0] != 1 or tags.get(284, [1])[0] != 1 or width <= 0
            or len(set(bits)) != 1
            or (bits[0] != 1 or channels != 1 if bilevel else bits[0] not in (8, 16))):
        return None
    offsets, lengths = tags[273], tags[279]
    if len(offsets) != len(lengths) or any(
            a + n != b for a, n, b in zip(offsets, lengths, offsets[1:], strict=False)):
        return None                  # strips apart: not one run of pixels
    if bilevel:
        return offsets[0], height, (width + 7) // 8, 1
    pixel = channels * bits[0] // 8
    return offsets[0], height, width * pixel, pixel
