"""compress / decompress: the model and the range coder in one compiled loop per chunk.

Both directions run the same (predict, code, learn) step per byte. The Python driver
only hands over chunks of 64 KiB so a progress bar can move; the model and coder state
live in arrays and carry over between chunks.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Callable

import numpy as np

from bottlenet.compress import coder, container
from bottlenet.compress.container import ArchiveError, Header
from bottlenet.compress.kernels import decode_chunk, encode_chunk, probe_hash
from bottlenet.compress.model import Model, Settings
from bottlenet.errors import ResourceError, SpecError
from bottlenet.memory import host_bytes

CHUNK = 1 << 16
Progress = Callable[[int, int], None] | None

# A fixed probe (text, then every byte value, then runs): the encoder's predictions on it
# are hashed into the archive so a decoder whose arithmetic differs stops at once
# instead of writing wrong bytes.
_PROBE = (b"Alice was beginning to get very tired of sitting by her sister on the bank, "
          b"and of having nothing to do. HELLO HELO HELLLO\r\n" * 3
          + bytes(range(256)) + b"\x00" * 64 + b"\xff" * 64)


@dataclasses.dataclass(frozen=True)
class Result:
    """What compress() returns: the archive and where its bits went."""

    archive: bytes
    settings: Settings
    original_length: int
    bits: np.ndarray          # ideal code length of every byte under the model, in bits
    seconds: float
    stored: bool              # the model did not beat the raw bytes; stored them instead

    @property
    def bpc(self) -> float:
        return 8.0 * len(self.archive) / max(1, self.original_length)


def fingerprint(settings: Settings) -> int:
    """Hash of the model's predictions on a fixed probe, with these settings and a small
    table: equal on two machines exactly when they compute the same numbers."""
    m = Model(dataclasses.replace(settings, table_bits=10))
    probe = np.frombuffer(_PROBE, np.uint8)
    return int(probe_hash(probe, *m.arrays(), np.zeros(256, np.int64)))


# The model never gives a byte more than (TOTAL - 255) / TOTAL, so each byte costs at
# least this many bits: an archive cannot claim more than this many bytes per payload byte.
_MAX_RATIO = math.ceil(8 / -math.log2(1 - 255 / coder.TOTAL))


def _build(settings: Settings, extra: int = 0) -> Model:
    """The model's tables, refused at once when they (and `extra` bytes) cannot fit."""
    need, free = settings.memory_bytes() + extra, host_bytes()
    if need > 0.8 * free:
        raise ResourceError(f"this needs about {need / 2**20:,.0f} MiB but "
                            f"{free / 2**20:,.0f} MiB is free; choose fewer --table-bits")
    try:
        return Model(settings)
    except MemoryError:
        raise ResourceError(f"the model needs {settings.memory_bytes() / 2**20:,.0f} MiB; "
                            "choose fewer --table-bits") from None


def compress(data: bytes, settings: Settings | None = None, progress: Progress = None,
             memory: int | None = None) -> Result:
    """Compress `data`; the context table is sized for it, within `memory` bytes if given."""
    t0 = time.perf_counter()
    settings = (settings or Settings()).check().sized_for(len(data), memory)
    src = np.frombuffer(data, np.uint8)
    n = len(src)
    coded_freq = np.zeros(n, np.int32)
    payload = b""
    if n:
        m = _build(settings, extra=3 * n)
        state = np.zeros(coder.STATE_SIZE, np.int64)
        out = np.zeros(2 * n + 64, np.uint8)   # at most 2 bytes per symbol (freq >= 1)
        freq = np.zeros(256, np.int64)
        cum = np.zeros(257, np.int64)
        coder.encoder_start(state)
        for start in range(0, n, CHUNK):
            end = min(n, start + CHUNK)
            encode_chunk(src, start, end, *m.arrays(), state, out, coded_freq, freq, cum)
            if progress:
                progress(end, n)
        payload = out[: coder.encoder_finish(state, out)].tobytes()
    stored = len(payload) >= n
    mode = container.STORED if stored else container.CODED
    header = Header(mode, settings.to_json(), n, zlib.crc32(data),
                    fingerprint(settings) if not stored else 0, 0, 0)
    archive = container.pack(header, data if stored else payload)
    bits = coder.TOTAL_BITS - np.log2(np.maximum(coded_freq, 1))
    return Result(archive, settings, n, bits, time.perf_counter() - t0, stored)


def decompress(archive: bytes, progress: Progress = None) -> bytes:
    header, payload = container.unpack(archive)
    if header.mode == container.STORED:
        data = payload
    else:
        try:
            settings = Settings.from_json(header.settings)
        except (TypeError, ValueError, SpecError) as e:
            raise ArchiveError(f"archive settings are not valid for this bottlenet: {e}") \
                from None
        if fingerprint(settings) != header.fingerprint:
            raise ArchiveError("this machine computes the model differently from the one "
                               "that wrote the archive (arithmetic fingerprint mismatch); "
                               "decode it where it was written")
        if header.length > (len(payload) + 64) * _MAX_RATIO:
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
        decode_chunk(buf, start, end, *m.arrays(), state, out, freq, cum)
        # A stream we wrote is never read past its end (plus the flush bytes).
        if state[coder.POS] > len(buf) + coder.FLUSH_BYTES:
            raise ArchiveError("archive payload ends before the data does; it is damaged")
        if progress:
            progress(end, n)
    return out.tobytes()
