"""compress / decompress: the model and the range coder in one compiled loop per chunk.

Both directions run the same (predict, code, learn) step per byte. The Python driver
reads and writes the archive block by block (formats 3-6, see container) and hands the
compiled loop chunks of 64 KiB, so a progress bar can move and the memory stays bounded
whatever the input's length: the model's tables, a ring of the last bytes for the match
model, and one block. The model and coder state live in arrays and carry over.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import time
import zlib
from collections.abc import Callable
from typing import Protocol

import numpy as np

from bottlenet.compress import coder, container, kernels, planes, segments
from bottlenet.compress.container import ArchiveError
from bottlenet.compress.model import Model, Settings, primer_length
from bottlenet.errors import ResourceError, SpecError
from bottlenet.memory import host_bytes

CHUNK = 1 << 16


class Source(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...

Progress = Callable[[int, int | None], None] | None  # (bytes done, total if known)

# A fixed probe (text, then every byte value, then runs): the encoder's predictions on it
# are hashed into the archive so a decoder whose arithmetic differs stops at once
# instead of writing wrong bytes.
_PROBE = (b"Alice was beginning to get very tired of sitting by her sister on the bank, "
          b"and of having nothing to do. HELLO HELO HELLLO\r\n" * 3
          + bytes(range(256)) + b"\x00" * 64 + b"\xff" * 64)


@dataclasses.dataclass(frozen=True)
class Report:
    """The figures of an archive written, whichever entry point wrote it
    (compress_stream returns it, compress() carries it in its Result)."""

    settings: Settings
    original_length: int
    archive_length: int
    model_bits: float         # the ideal code length of the input under the model
    seconds: float
    stored: bool              # every block was stored raw
    bits: np.ndarray | None   # per byte, when asked for (keep_bits)
    # format 12: the archive's members, (start, end, settings) each, when the input was
    # written as several (segments.py: a tar archive's images apart); settings above is
    # the first's
    pieces: tuple[tuple[int, int, Settings], ...] = ()

    @property
    def bpc(self) -> float:
        return 8.0 * self.archive_length / max(1, self.original_length)

    def figures(self) -> dict:
        """The figures as JSON (what `compress --json` prints of them)."""
        n, size = self.original_length, self.archive_length
        return {"original_bytes": n, "archive_bytes": size, "bpc": round(self.bpc, 4),
                "model_bpc": round(self.model_bits / n, 4) if n else 0.0,
                "ratio": round(n / size, 4), "stored_raw": self.stored,
                "compress_s": round(self.seconds, 3),
                "compress_kb_per_s": round(n / 1e3 / max(self.seconds, 1e-9), 1),
                "settings": self.settings.to_json()} | ({"members": [
                    {"start": a, "end": b, "settings": s.to_json()}
                    for a, b, s in self.pieces]} if self.pieces else {})


@dataclasses.dataclass(frozen=True)
class Result:
    """What compress() returns: the archive, and its Report with every byte's bits."""

    archive: bytes
    report: Report

    @property
    def settings(self) -> Settings:
        return self.report.settings

    @property
    def original_length(self) -> int:
        return self.report.original_length

    @property
    def bits(self) -> np.ndarray:
        """Ideal code length of every byte under the model, in bits."""
        assert self.report.bits is not None  # compress() keeps them
        return self.report.bits

    @property
    def seconds(self) -> float:
        return self.report.seconds

    @property
    def stored(self) -> bool:
        """The model beat the raw bytes in no block: all stored raw."""
        return self.report.stored

    @property
    def bpc(self) -> float:
        return self.report.bpc


@functools.lru_cache(maxsize=64)
def fingerprint(settings: Settings) -> int:
    """Hash of the model's predictions on a fixed probe, with these settings and a small
    table: equal on two machines exactly when they compute the same numbers. (A pure
    function of the settings, kept for the last 64: building and probing its model takes
    ~10 ms, once per archive written or read, which a process coding many files, the
    corpus benchmark or the fuzzer, would otherwise pay every time.)"""
    m = Model(dataclasses.replace(settings, table_bits=10, bias_bits=8))
    probe = np.frombuffer(_PROBE, np.uint8)
    return int(m.predictor.probe_hash(probe, np.zeros(256, np.int64)))


# The model never gives a byte more than (TOTAL - 255) / TOTAL, so each byte costs at
# least this many bits: an archive cannot claim more than this many bytes per payload byte.
_MAX_RATIO = math.ceil(8 / -math.log2(1 - 255 / coder.TOTAL))
# (A byte coded as 8 bits, each at most (TOTAL - P_LEAST) / TOTAL, costs a little more.)


def _most_held(coded: int) -> int:
    """The most bytes `coded` bytes of one range-coded stream can hold (8 bytes of
    slack: the coder's state flushed at the end, FLUSH_BYTES, and what the decoder reads
    ahead)."""
    return (coded + 8) * _MAX_RATIO


def _build(settings: Settings, extra: int = 0) -> Model:
    """The model's tables, refused at once when they (and `extra` bytes) cannot fit."""
    need, free = settings.memory_bytes() + extra, host_bytes()
    if need > 0.8 * free:
        raise ResourceError(f"this needs about {need / 2**20:,.0f} MiB but "
                            f"{free / 2**20:,.0f} MiB is free; choose fewer --table-bits")
    try:
        m = Model(settings)
    except MemoryError:
        raise ResourceError(f"the model needs {settings.memory_bytes() / 2**20:,.0f} MiB; "
                            "choose fewer --table-bits") from None
    m.prime()
    return m


def compress(data: bytes, settings: Settings | None = None, progress: Progress = None,
             memory: int | None = None) -> Result:
    """Compress `data`; the context table is sized for it, within `memory` bytes if given."""
    sink = io.BytesIO()
    report = compress_stream(io.BytesIO(data), sink, len(data), settings, progress, memory,
                             keep_bits=True)
    return Result(sink.getvalue(), report)


def settings_for(size: int | None, settings: Settings | None = None,
                 memory: int | None = None, sample: bytes = b"", key: int = 0,
                 kind: str | None = None) -> Settings:
    """The settings an archive of an input of `size` bytes (None: not known) that starts
    with `sample` is written with: the history window and the table sized for it, within
    `memory` bytes, and the rates for its kind of data (`kind`'s profile when given),
    read at `key` (a tar member's data, after its header: its image or code ranges
    placed there)."""
    s = (settings or Settings()).check()
    if key:
        s = _shifted(s.suited_to(sample[key:], None if size is None else size - key,
                                 kind), key)
    else:
        s = s.suited_to(sample, size, kind)
    s = s.window_for(size, memory)
    primer = primer_length(s.primer) if s.primer and size is not None else 0
    return s.sized_for(None if size is None else size + primer, memory)


def compress_stream(source: Source, sink: Sink, size: int | None = None,
                    settings: Settings | None = None, progress: Progress = None,
                    memory: int | None = None, keep_bits: bool = False) -> Report:
    """Read `source` to its end and write the archive to `sink`, a block at a time.
    `size`, when known, sizes the tables (else they take the largest default) and the
    progress total. A tar archive in a seekable source is written as several members,
    its images each one of their own and the files between them one (segments.py),
    unless `settings` place an image or code ranges (positions in the whole input)."""
    t0 = time.perf_counter()
    given = settings or Settings()
    parts = ([segments.Piece(0, size or 0, 0, size or 0)] if given.image or given.code_ranges
             else segments.pieces(source, size, given.image is None,
                                  given.code_ranges is None))
    if len(parts) == 1 and parts[0].code is None and parts[0].kind is None:
        return _compress_member(source, sink, size, settings, progress, memory, keep_bits)
    reports = []
    for part in parts:
        n = part.end - part.start
        shifted = (None if progress is None else
                   lambda d, _, at=part.start: progress(at + d, size))
        reports.append(_compress_member(_Limited(source, n), sink, n, settings, shifted,
                                        memory, keep_bits, part))
    if len(reports) == 1:
        return dataclasses.replace(reports[0], seconds=time.perf_counter() - t0)
    return Report(reports[0].settings, sum(r.original_length for r in reports),
                  sum(r.archive_length for r in reports),
                  sum(r.model_bits for r in reports), time.perf_counter() - t0,
                  all(r.stored for r in reports),
                  np.concatenate([r.bits for r in reports]) if keep_bits else None,
                  tuple((p.start, p.end, r.settings) for p, r in zip(parts, reports,
                                                                     strict=True)))


class _Limited:
    """The next `n` bytes of a source, as a source."""

    def __init__(self, source: Source, n: int):
        self._source, self._left = source, n

    def read(self, n: int = -1, /) -> bytes:
        data = self._source.read(self._left if n < 0 else min(n, self._left))
        self._left -= len(data)
        return data


def _shifted(s: Settings, by: int) -> Settings:
    """Settings whose image and code ranges, found `by` bytes into the input, are placed
    there."""
    if not by or not (s.image or s.code_ranges):
        return s
    image = (s.image[0] + by, s.image[1] + by, *s.image[2:]) if s.image else s.image
    return dataclasses.replace(s, image=image,
                               code_ranges=tuple(x + by for x in s.code_ranges or ()))


def _compress_member(source: Source, sink: Sink, size: int | None,
                     settings: Settings | None, progress: Progress, memory: int | None,
                     keep_bits: bool, piece: segments.Piece | None = None) -> Report:
    """One archive (a member): its header, blocks and trailer; for a `piece` of a tar
    archive, its settings chosen from its key member's bytes, its code ranges its
    programs' (segments.py)."""
    t0 = time.perf_counter()
    first = container.read_up_to(source.read, container.BLOCK)  # its bytes choose the rates
    if size is None and len(first) < container.BLOCK:
        size = len(first)    # a pipe that ended within its first block: sized as a file
    if piece is None:
        settings = settings_for(size, settings, memory, first)
    else:
        key, key_end = piece.key - piece.start, piece.key_end - piece.start
        settings = settings_for(size, settings, memory, first[:key_end],
                                key if key < len(first) else 0, piece.kind)
        if piece.code is not None:       # (None where the settings gave the ranges)
            settings = dataclasses.replace(settings, code_ranges=piece.code,
                                           code_arch=piece.arch)
        if settings.code_ranges and settings.planes == 2:   # UTF-16 text first, then
            settings = dataclasses.replace(settings, planes=1)   # programs: byte by byte
    m = _build(settings, extra=4 * container.BLOCK)
    ring = np.zeros(1 << settings.window_bits, np.uint8)
    wmask = len(ring) - 1
    state = np.zeros(coder.STATE_SIZE, np.int64)
    # Room for the worst a block can code to: a byte coded whole costs at most
    # TOTAL_BITS (every frequency is at least 1 of TOTAL), a byte coded as 8 bits
    # (format 6's maps) at most 8 x log2(TOTAL / P_LEAST) = 88; zeroed pages are only
    # given when written, so the room costs no memory until it is used.
    worst_bits = (8 * math.ceil(math.log2(coder.TOTAL / kernels.P_LEAST)) if settings.apm
                  else coder.TOTAL_BITS)
    out = np.zeros(-(-worst_bits // 8) * container.BLOCK + 64, np.uint8)
    coded_freq = np.zeros(CHUNK, np.float64)
    freq, cum = np.zeros(256, np.int64), np.zeros(257, np.int64)
    head = container.pack_head(settings.to_json(), fingerprint(settings))
    sink.write(head)
    written, done, crc, model_bits, all_stored = len(head), 0, 0, 0.0, True
    bits: list[np.ndarray] = []
    code = np.array(settings.code_ranges or (), np.int64)
    arm64 = settings.code_arch == "arm64"
    while block := first or container.read_up_to(source.read, container.BLOCK):
        first = b""
        crc = zlib.crc32(block, crc)
        src = np.frombuffer(block, np.uint8)
        if len(code):   # the model reads (and a stored block keeps) the filtered bytes
            src = _filtered(src, done, code, arm64, encode=True)
            block = src.tobytes()
        if settings.planes == 2:        # ... and UTF-16 text's planes (format 14)
            src = planes.split(src, CHUNK)
            block = src.tobytes()
        coder.encoder_start(state)
        for start in range(0, len(src), CHUNK):
            chunk = src[start:start + CHUNK]
            t = done + start
            at = t & wmask               # the ring is a whole number of chunks
            ring[at:at + len(chunk)] = chunk
            m.predictor.encode(ring, t, t + len(chunk), state, out, coded_freq, freq, cum)
            chunk_bits = coder.TOTAL_BITS - np.log2(coded_freq[:len(chunk)])
            model_bits += float(chunk_bits.sum())
            if keep_bits:
                bits.append(chunk_bits)
            if progress:
                progress(t + len(chunk), size)
        coded = out[: coder.encoder_finish(state, out)]
        stored = len(coded) >= len(block)
        all_stored &= stored
        packed = container.pack_block(len(block), block if stored else coded.tobytes(), stored)
        sink.write(packed)
        written += len(packed)
        done += len(src)
    tail = container.end_of_blocks(done, crc)
    sink.write(tail)
    return Report(settings, done, written + len(tail), model_bits,
                    time.perf_counter() - t0, all_stored and done > 0,
                    np.concatenate(bits) if keep_bits and bits else
                    (np.zeros(0) if keep_bits else None))


def decompress(archive: bytes, progress: Progress = None) -> bytes:
    sink = io.BytesIO()
    decompress_stream(io.BytesIO(archive), sink, progress)
    return sink.getvalue()


def decompress_stream(source: Source, sink: Sink, progress: Progress = None,
                      prefix: bytes = b"") -> int:
    """Decode the archive in `source` to `sink`; returns the original's length. Formats
    3-6 are read and written a block at a time (a damaged block stops it there, with
    ArchiveError, after the blocks before it were written); formats 1-2 whole.
    `prefix`: the archive's first bytes when the caller has read them already (to refuse
    a foreign file before it starts anything; see peek)."""
    prefix += container.read_up_to(source.read, 8 - len(prefix))
    version = container.version_of(prefix)
    if version < container.STREAMS:
        data = _decompress_v2(prefix + source.read(), progress)
        sink.write(data)
        return len(data)
    done = 0
    while True:   # format 12: members may follow one another (segments.py), each whole
        done += _decompress_member(prefix, version, source, sink, progress, done)
        prefix = container.read_up_to(source.read, 8)
        if not prefix:
            return done
        if prefix[:4] != container.MAGIC or version < container.MEMBERS:
            raise ArchiveError("archive has unexpected bytes after its end")
        version = container.version_of(prefix)
        if version < container.MEMBERS:
            raise ArchiveError(f"archive has a member of format {version} after its first; "
                               f"only members of formats {container.MEMBERS}+ follow others")


def _decompress_member(prefix: bytes, version: int, source: Source, sink: Sink,
                       progress: Progress, before: int) -> int:
    """One member of a format 3+ archive (the whole of it before format 12), whose first
    8 bytes are `prefix`: its original length; the input's `before` bytes came before."""
    settings_json, fp = container.read_head(prefix, source.read)
    settings = _settings(settings_json, fp)
    if not settings.window_bits:
        raise ArchiveError("archive settings are not valid for this bottlenet: a version "
                           f"{version} archive needs a history window")
    # The first block is read (and its checksum checked) before the model is built and
    # primed: a member whose first block is damaged is refused at once, not after 0.1-1 s
    # of priming (the fuzzer's slowest input, 2026-12-07, ended so)
    number = 1
    block = container.read_block(source.read, number, container.BLOCK)
    m = _build(settings, extra=4 * container.BLOCK)
    ring = np.zeros(1 << settings.window_bits, np.uint8)
    wmask = len(ring) - 1
    state = np.zeros(coder.STATE_SIZE, np.int64)
    freq, cum = np.zeros(256, np.int64), np.zeros(257, np.int64)
    code = np.array(settings.code_ranges or (), np.int64)
    arm64 = settings.code_arch == "arm64"
    done, crc = 0, 0
    while block is not None:
        if done % container.BLOCK:   # every block but the last is full (so chunks line up
            raise ArchiveError(      # with the ring); a writer never does otherwise
                f"archive is damaged (block {number} follows a block that is not full)")
        length, stored, body = block
        if stored:
            raw = np.frombuffer(body, np.uint8)
        else:
            if length > _most_held(len(body)):
                raise ArchiveError(f"archive is damaged (block {number} claims "
                                   f"{length:,} bytes, more than its {len(body):,} coded "
                                   "bytes can hold)")
            buf = np.frombuffer(body, np.uint8)
            coder.decoder_start(state, buf)
        for start in range(0, length, CHUNK):
            end = min(length, start + CHUNK)
            t = done + start
            at = t & wmask
            if stored:
                ring[at:at + end - start] = raw[start:end]
                m.predictor.learn(ring, t, done + end, freq)
            else:
                m.predictor.decode(buf, t, done + end, state, ring, freq, cum)
                # A stream we wrote is never read past its end (plus the flush bytes).
                if state[coder.POS] > len(buf) + coder.FLUSH_BYTES:
                    raise ArchiveError(f"archive is damaged (block {number} ends before "
                                       "its data does)")
            decoded = ring[at:at + end - start]   # as the model read them: filtered
            if settings.planes == 2:
                decoded = planes.join(decoded)
            piece = (_filtered(decoded, t, code, arm64, encode=False) if len(code)
                     else decoded).tobytes()
            crc = zlib.crc32(piece, crc)
            sink.write(piece)
            if progress:
                progress(before + done + end, None)
        done += length
        number += 1
        block = container.read_block(source.read, number, container.BLOCK)
    total, total_crc = container.read_trailer(source.read)
    if total != done or total_crc != crc:
        raise ArchiveError("decoded bytes do not match the original's length and checksum; "
                           "the archive is damaged")
    return done


def _filtered(data: np.ndarray, offset: int, code: np.ndarray, arm64: bool,
              encode: bool) -> np.ndarray:
    """A copy of `data` (the input's bytes from `offset`, a whole number of chunks
    from the block's start) with x86 calls' targets (or, `arm64`, 64-bit ARM calls' and
    page addresses) in the code ranges made absolute (encode) or relative again: per
    chunk, as the decoder undoes it chunk by chunk."""
    out = data.copy()
    for start in range(0, len(out), CHUNK):
        kernels.code_filter(out[start:start + CHUNK], offset + start, code, encode, arm64)
    return out


def peek(source: Source) -> bytes:
    """The first bytes of an archive, read to refuse a foreign or newer file before any
    work; hand them to decompress_stream as its prefix."""
    prefix = container.read_up_to(source.read, 8)
    container.version_of(prefix)
    return prefix


def _settings(settings_json: dict, fp: int) -> Settings:
    try:
        settings = Settings.from_json(settings_json)
    except (TypeError, ValueError, SpecError) as e:
        raise ArchiveError(f"archive settings are not valid for this bottlenet: {e}") \
            from None
    if fingerprint(settings) != fp:
        raise ArchiveError("this machine computes the model differently from the one "
                           "that wrote the archive (arithmetic fingerprint mismatch); "
                           "decode it where it was written")
    return settings


def _decompress_v2(archive: bytes, progress: Progress = None) -> bytes:
    """A format 1 or 2 archive: one block, the whole input's history."""
    header, payload = container.unpack(archive)
    if header.mode == container.STORED:
        data = payload
    else:
        settings = _settings(header.settings, header.fingerprint)
        if header.length > _most_held(len(payload)):
            raise ArchiveError(f"archive header claims {header.length:,} bytes, more than "
                               f"{len(payload):,} coded bytes can hold; it is damaged")
        data = _decode(payload, settings, header.length, progress)
    if zlib.crc32(data) != header.crc or len(data) != header.length:
        raise ArchiveError("decoded bytes do not match the original's checksum; the "
                           "archive is damaged")
    return data


def _decode(payload: bytes, settings: Settings, n: int, progress: Progress) -> bytes:
    m = _build(settings, extra=n)
    buf = np.frombuffer(payload, np.uint8)
    state = np.zeros(coder.STATE_SIZE, np.int64)
    out = np.zeros(n, np.uint8)
    freq = np.zeros(256, np.int64)
    cum = np.zeros(257, np.int64)
    coder.decoder_start(state, buf)
    for start in range(0, n, CHUNK):
        end = min(n, start + CHUNK)
        m.predictor.decode(buf, start, end, state, out, freq, cum)
        # A stream we wrote is never read past its end (plus the flush bytes).
        if state[coder.POS] > len(buf) + coder.FLUSH_BYTES:
            raise ArchiveError("archive payload ends before the data does; it is damaged")
        if progress:
            progress(end, n)
    return out.tobytes()
