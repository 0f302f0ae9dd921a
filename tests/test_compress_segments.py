"""Format 12's members: a tar archive cut where its files' kind changes (segments.py),
each piece an archive of its own, one after another; and archives that follow one
another decoding to their inputs one after another."""

from __future__ import annotations

import io
import random
import struct
import tarfile

import pytest

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import Settings, compress, compress_stream, container, decompress
from bottlenet.compress.model import PROFILES
from bottlenet.compress.segments import MIN_PIECE, Piece, pieces
from test_compress_code import elf64, x86_like
from test_compress_image import drawing, pbm, pgm, photo

SMALL = Settings(hidden=8)


def prose(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    words = ["the", "network", "learns", "a", "code", "for", "every", "symbol", "it",
             "has", "seen", "and", "units", "stop", "when", "two", "of", "them", "cannot",
             "tell", "next", "one", "apart"]
    out = []
    while sum(map(len, out)) < n:
        out.append(" ".join(rng.choice(words) for _ in range(rng.randrange(5, 14)))
                   .capitalize() + ". ")
    return "".join(out).encode()[:n]


def records(n: int) -> bytes:
    return b"".join(struct.pack("<IHf", i, i * 7919 % 65536, i / 3)
                    for i in range(n // 10))[:n]


def tar_of(files: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def offsets(tar: bytes) -> dict[str, int]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        return {m.name: m.offset_data for m in t.getmembers()}


MIXED = [("notes.txt", prose(60_000)), ("small.txt", prose(3_000, 2)),
         ("photo.pgm", pgm(photo(240, 200))),
         ("prog", elf64(x86_like(50_000), [(1, 6, 4096, 50_000)])),
         ("table.bin", records(40_000)), ("more.txt", prose(40_000, 3))]


def test_a_tar_archive_is_cut_around_its_images_and_its_programs_are_found():
    tar = tar_of(MIXED)
    at = offsets(tar)
    photo_end = at["photo.pgm"] + len(MIXED[2][1])
    got = pieces(io.BytesIO(tar), len(tar))
    # the texts before the image; the image; the rest, with the program's code ranges
    assert [(p.start, p.key) for p in got] == [(0, 0), (at["photo.pgm"], at["photo.pgm"]),
                                               (photo_end, photo_end)]
    assert got[1].key_end == photo_end and got[-1].end == len(tar)
    assert got[0].code == () and got[1].code is None
    assert got[2].code == (at["prog"] + 4096 - photo_end, at["prog"] + 54_096 - photo_end)
    # no image: one piece, with the code ranges
    alone = tar_of([MIXED[0], MIXED[3], MIXED[4]])
    (one,) = pieces(io.BytesIO(alone), len(alone))
    assert (one.start, one.end, one.key, one.kind) == (0, len(alone), 0, "other")
    texts = tar_of([MIXED[0], MIXED[3], MIXED[5], ("notes2.txt", prose(80_000, 4))])
    assert pieces(io.BytesIO(texts), len(texts))[0].kind is None     # binary under 1/3
    assert one.code == (offsets(alone)["prog"] + 4096, offsets(alone)["prog"] + 54_096)
    # an image first: the tar header before it goes with it
    first = tar_of([MIXED[2], MIXED[0]])
    image_at = offsets(first)["photo.pgm"]
    image_end = image_at + len(MIXED[2][1])
    assert [(p.start, p.key, p.end) for p in pieces(io.BytesIO(first), len(first))] == [
        (0, image_at, image_end), (image_end, image_end, len(first))]


def test_a_bilevel_image_in_a_tar_archive_is_a_piece_of_its_own():
    scan = pbm(drawing(800, 400))                                    # 40 KB, a PBM
    tar = tar_of([MIXED[0], ("scan.pbm", scan), MIXED[5]])
    at = offsets(tar)["scan.pbm"]
    got = pieces(io.BytesIO(tar), len(tar))
    assert [(p.start, p.key, p.key_end) for p in got][1] == (at, at, at + len(scan))
    result = compress(tar, SMALL)
    assert [s.cm_orders for _, _, s in result.report.pieces][1] == PROFILES["bilevel"].cm_orders
    assert decompress(result.archive) == tar


def test_a_tar_archive_of_utf16_text_and_a_program():
    """UTF-16 text first (two planes), then a program (its calls filtered): the piece is
    read byte by byte, since the planes are for text alone."""
    notes = ("It was the best of times, it was the worst of times. " * 800).encode("utf-16")
    tar = tar_of([("notes.txt", notes), MIXED[3]])
    result = compress(tar, SMALL)
    (_, _, s), = result.report.pieces or ((0, 0, result.settings),)
    assert s.code_ranges and s.planes == 1
    assert decompress(result.archive) == tar
    alone = tar_of([("notes.txt", notes)])    # text alone (and its tar header): two planes
    assert compress(alone, SMALL).settings.planes == 2


@pytest.mark.parametrize("make", [
    lambda: prose(200_000),                                          # not a tar archive
    lambda: tar_of(MIXED)[:MIN_PIECE],                               # too short to cut
], ids=["plain", "short"])
def test_inputs_that_stay_one_piece(make):
    data = make()
    assert pieces(io.BytesIO(data), len(data)) == [Piece(0, len(data), 0, len(data))]


def test_a_source_that_cannot_seek_or_has_no_size_is_one_piece():
    tar = tar_of(MIXED)

    class Pipe:
        def __init__(self):
            self.f = io.BytesIO(tar)

        def read(self, n=-1):
            return self.f.read(n)

    assert pieces(Pipe(), len(tar)) == [Piece(0, len(tar), 0, len(tar))]
    assert pieces(io.BytesIO(tar), None) == [Piece(0, 0, 0, 0)]
    damaged = bytearray(tar)
    damaged[offsets(tar)["prog"] - 512 + 148:offsets(tar)["prog"] - 512 + 156] = b"garbage!"
    cut = pieces(io.BytesIO(bytes(damaged)), len(damaged))   # members up to the damage
    assert [p.key for p in cut] == [p.key for p in pieces(io.BytesIO(tar), len(tar))]
    assert cut[-1].code == () and decompress(compress(bytes(damaged), SMALL).archive) == damaged


def test_a_mixed_tar_archive_is_written_as_members_and_decodes():
    tar = tar_of(MIXED)
    result = compress(tar, SMALL)
    kinds = [(bool(s.image), bool(s.code_ranges)) for _, _, s in result.report.pieces]
    assert kinds == [(False, False), (True, False), (False, True)]
    # the texts read as text (primed); the program, the table and a text after them as
    # other data, whatever the first of them is
    first, _, last = (s for _, _, s in result.report.pieces)
    assert first.primer == 1 and first.cm_orders == PROFILES["text"].cm_orders
    assert last.primer == 0 and last.cm_orders == PROFILES["other"].cm_orders
    # the image's layout is where it is in its own member's bytes
    start, end, image = next((a, b, s.image) for a, b, s in result.report.pieces if s.image)
    assert image[0] == offsets(tar)["photo.pgm"] - start + 15 and image[1] == end - start
    assert decompress(result.archive) == tar
    assert len(result.bits) == len(tar) and result.original_length == len(tar)
    assert result.archive.count(container.MAGIC) >= 3
    # as one member (a source that cannot seek): larger (a tar archive in one member
    # decodes in the next test)
    one = io.BytesIO()

    class Pipe:
        def __init__(self):
            self.f = io.BytesIO(tar)

        def read(self, n=-1):
            return self.f.read(n)

    assert not compress_stream(Pipe(), one, len(tar), SMALL).pieces
    assert len(result.archive) < 0.95 * len(one.getvalue())


def test_settings_that_place_an_image_or_code_keep_a_tar_archive_one_member():
    """Settings that place an image or code in the whole input keep it one member; none
    anywhere (--no-code-filter, --no-image) keep none in every member. (A smaller tar
    archive than MIXED: at least 2 x MIN_PIECE bytes, its program one piece's worth.)"""
    tar = tar_of([("notes.txt", prose(3_000)), ("photo.pgm", pgm(photo(64, 48))),
                  ("prog", elf64(x86_like(60_000), [(1, 6, 4096, 60_000)]))])
    assert len(tar) >= 2 * MIN_PIECE
    assert not compress(tar, Settings(hidden=8, code_ranges=(0, 10))).report.pieces
    plain = compress(tar, Settings(hidden=8, code_ranges=(), image=()))
    assert not plain.report.pieces and plain.settings.code_ranges == ()
    no_image = compress(tar, Settings(hidden=8, image=()))      # one member, the program found
    assert not no_image.report.pieces and no_image.settings.code_ranges
    assert no_image.settings.image == () and decompress(no_image.archive) == tar


def test_archives_one_after_another_decode_to_their_inputs_one_after_another():
    a, b = compress(b"first " * 50, SMALL).archive, compress(bytes(range(256)), SMALL).archive
    assert decompress(a + b) == b"first " * 50 + bytes(range(256))
    assert decompress(a + a + b) == b"first " * 100 + bytes(range(256))
    with pytest.raises(container.ArchiveError, match="unexpected bytes"):
        decompress(a + b"x")
    with pytest.raises(container.ArchiveError, match="truncated"):
        decompress(a + b[:6])
    with pytest.raises(container.ArchiveError, match="truncated inside its trailer"):
        decompress(a + b[:-3])
    # before format 12 an archive had one member: nothing may follow it, and an older
    # member may not follow a newer one
    from pathlib import Path

    eleven = (Path(__file__).parent / "data" / "golden-v11.bn").read_bytes()
    with pytest.raises(container.ArchiveError, match="unexpected bytes"):
        decompress(eleven + a)
    with pytest.raises(container.ArchiveError, match="format 11 after its first"):
        decompress(a + eleven)
    assert decompress(eleven) == b"HELLO HELO HELLLO, said the network. " * 20
