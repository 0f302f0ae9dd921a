"""Where an input's kind of data changes: the members of a tar archive (format 12).

A profile (text, markup, other data, an image's layout, a program's code ranges) is
chosen from an input's first bytes, which in a tar archive describe its first member
only: a program's calls stay relative, a photograph gets no image contexts. So the
encoder reads a tar archive's member headers first (its source must be seekable and
its size known: a file, not a pipe) and

- writes each image among its members as an archive of its own (the image profile,
  whose contexts are the image's neighbours, needs a model of its own), one after
  another in the same file, as gzip writes members; memory stays that of one model;
- writes the members between images as one archive, with the code ranges of every
  program among them, so their calls are made absolute, and the profile its first
  bytes give (as any input's), or other data's where other data has BINARY_SHARE of
  its bytes.

Members of other kinds are not cut apart: files in one archive are often alike (a
keyboard rules database as a list and as XML, 0.8 MB: 79% larger written as three
pieces, text and markup, each model starting cold, than as one; a source tree 2.5%
larger), while an image's contexts pay whatever came before. (Nor is the profile of
the kind with the most bytes taken: on that source tree, text by a little, the text
profile came out 7.8% larger than other data's, which its first bytes gave.)

The decoder needs nothing of this: it decodes the members one after another. Inputs
that are not tar archives are one piece, as before.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
from typing import Any

from bottlenet.compress import code, image
from bottlenet.compress.model import profile_of

SAMPLE = 1 << 16            # the bytes of a member read for its header (as a whole input's)
MIN_PIECE = 1 << 15         # a piece shorter than this joins its neighbour
MAX_MEMBERS = 1 << 16       # a tar archive's members looked at (the rest: the last piece)
# A run of members where other data has at least this share of the bytes is read with
# other data's profile, whatever its first member is: its contexts serve text as well
# (a tar's text, binaries and transcripts behind alice29.txt: 4.0% smaller than read
# with the text profile its first bytes gave)
BINARY_SHARE = 1 / 3


@dataclasses.dataclass(frozen=True)
class Piece:
    """[start, end) of the input, whose profile is read in [key, key_end) (a member's
    data, not the tar headers and padding that follow; start <= key <= key_end <= end);
    `code`: its programs' code ranges (from `start`) of architecture `arch`, None: as
    the profile's sample says."""

    start: int
    end: int
    key: int
    key_end: int
    code: tuple[int, ...] | None = None
    arch: str = "x86"
    kind: str | None = None          # its profile, when not its first bytes' (PROFILES)


def pieces(source: Any, size: int | None, images: bool = True,
           programs: bool = True) -> list[Piece]:
    """The pieces of an input of `size` bytes in `source` (read from its current
    position, which is restored): one for anything but a tar archive in a seekable
    source of known size; its images cut apart unless not `images`, its programs' code
    found unless not `programs` (--no-image, --no-code-filter)."""
    whole = [Piece(0, size or 0, 0, size or 0)]
    if (size is None or size < 2 * MIN_PIECE or not (images or programs)
            or not _seekable(source)):
        return whole
    at = source.tell()
    try:
        members = _members(source, at, size)
    finally:
        source.seek(at)
    if not members:
        return whole
    return _join([m if images else dataclasses.replace(m, image=False) for m in members],
                 size, programs)


def _seekable(source) -> bool:
    try:
        return bool(source.seekable())
    except (AttributeError, OSError, ValueError):
        return False


@dataclasses.dataclass(frozen=True)
class _Member:
    start: int                       # its data's first byte in the input
    end: int
    image: bool                      # an image whose header image.py reads
    binary: bool = False             # other data by its first bytes (profile_of)
    code: tuple[int, ...] = ()       # its code ranges, in the input
    arch: str = "x86"


def _members(source, at: int, size: int) -> list[_Member]:
    """A tar archive's members with data, in order; [] when the input is not a tar
    archive (or is one tarfile cannot read)."""
    source.seek(at)
    head = source.read(512)
    if len(head) < 512 or head[257:262] != b"ustar":     # ustar, GNU and pax alike
        return []
    source.seek(at)
    found = []
    try:
        with tarfile.open(fileobj=_Window(source, at, size), mode="r:") as tar:
            for k, member in enumerate(tar):
                if k >= MAX_MEMBERS:
                    break
                if member.isfile() and member.size and member.offset_data < size:
                    end = min(member.offset_data + member.size, size)
                    source.seek(at + member.offset_data)
                    sample = source.read(min(SAMPLE, end - member.offset_data))
                    found.append(_member(sample, member.offset_data, end))
    except (tarfile.TarError, OSError, ValueError, EOFError):
        pass                          # a damaged tail: the members read so far
    return found


def _member(sample: bytes, start: int, end: int) -> _Member:
    """A member whose data [start, end) begins with `sample`."""
    if image.image_layout(sample, end - start) or image.bilevel_layout(sample, end - start):
        return _Member(start, end, True)
    ranges = code.code_ranges(sample, end - start)
    return _Member(start, end, False, profile_of(sample) == "other",
                   tuple(start + x for x in ranges), code.code_arch(sample))


def _join(members: list[_Member], size: int, programs: bool) -> list[Piece]:
    """Pieces from the members: each image of at least MIN_PIECE bytes one, the runs
    between them one each (a run under MIN_PIECE joins the piece before it, or the
    image after it when it comes first: a tar header)."""
    out: list[Piece] = []
    run: list[_Member] = []
    at = 0                                   # where the run in `run` starts
    for m in members:
        if not m.image or m.end - m.start < MIN_PIECE:
            run.append(m)
            continue
        begin = m.start
        if m.start - at >= MIN_PIECE:
            out.append(_run_piece(run, at, m.start, programs))
        elif out:
            out[-1] = dataclasses.replace(out[-1], end=m.start)
        else:
            begin = at
        out.append(Piece(begin, m.end, m.start, m.end))
        run, at = [], m.end
    if size - at >= MIN_PIECE or not out:
        out.append(_run_piece(run, at, size, programs))
    else:
        out[-1] = dataclasses.replace(out[-1], end=size)
    return out


def _run_piece(run: list[_Member], start: int, end: int, programs: bool) -> Piece:
    """A piece of the members `run` in [start, end): other data's profile where other
    data (programs, tables, ...) has at least BINARY_SHARE of its bytes, else the profile
    its own first bytes give (tar headers and all, as any input's); and every program's
    code ranges (of the first program's architecture, up to code.MAX_RANGES)."""
    binary = sum(m.end - m.start for m in run if m.binary)
    kind = "other" if binary >= BINARY_SHARE * (end - start) else None
    if not programs:
        return Piece(start, end, start, end, kind=kind)
    found = [m for m in run if m.code]
    arch = found[0].arch if found else "x86"
    ranges = [x - start for m in found if m.arch == arch for x in m.code]
    return Piece(start, end, start, end, tuple(ranges[:2 * code.MAX_RANGES]), arch, kind)


class _Window(io.RawIOBase):
    """`size` bytes of `source` from `at`, as a file of their own (tarfile seeks)."""

    def __init__(self, source, at: int, size: int):
        self._source, self._at, self._size, self._pos = source, at, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self._size - self._pos))
        self._source.seek(self._at + self._pos)
        data = self._source.read(n)
        b[:len(data)] = data
        self._pos += len(data)
        return len(data)
