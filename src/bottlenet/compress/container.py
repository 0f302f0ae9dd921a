"""The archive format (.bn), version 2 (1 is read too). All integers little-endian.

    offset  size  field
    0       4     magic b"BNZ\\x1a"
    4       1     format version (2; 1 had no match model, and decodes the same)
    5       1     mode: 0 = stored (payload is the original bytes), 1 = model-coded
    6       2     n = length of the settings JSON
    8       n     model settings, JSON (UTF-8, sorted keys); from version 2 deflated
                  (raw, RFC 1951) against SETTINGS_DICTIONARY
    8+n     8     original length in bytes
    16+n    4     CRC-32 of the original bytes
    20+n    4     arithmetic fingerprint (see codec.fingerprint)
    24+n    8     payload length in bytes
    32+n    4     CRC-32 of the payload
    36+n    4     CRC-32 of every header byte before this field
    40+n    ...   payload (exactly `payload length` bytes; nothing may follow)

Stored mode bounds the growth of incompressible input to the header (about 50 bytes).
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib

from bottlenet.errors import BottlenetError

MAGIC = b"BNZ\x1a"
FORMAT_VERSION = 2
READS = (1, 2)  # every version ever written still decodes
STORED, CODED = 0, 1
_FIXED = struct.Struct("<QIIQI")       # original length, crc, fingerprint, payload len, crc
FIXED_SIZE = _FIXED.size
# Version 2 deflates the settings against the default settings of the day it was made
# (fixed for ever, whatever the defaults become): default settings cost about 6 bytes
# instead of 220, which small files feel (1-3% of a 10-50 KB archive).
SETTINGS_DICTIONARY = (
    b'{"boost":5.0,"clamp":8.0,"hidden":32,"init_scale":0.5,"lr_hidden_bias":0.001,'
    b'"lr_input":0.07,"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,'
    b'"match_min":6,"orders":[1,2,3,4,5,6,-1,-2,-3],"seed":1,"table_bits":17}')
MAX_SETTINGS = 1 << 16                 # inflated settings longer than this are refused


class ArchiveError(BottlenetError):
    """A file is not a bottlenet archive, is damaged, or does not decode to its original."""


@dataclasses.dataclass(frozen=True)
class Header:
    mode: int
    settings: dict
    length: int
    crc: int
    fingerprint: int
    payload_length: int
    payload_crc: int


def pack(h: Header, payload: bytes) -> bytes:
    text = json.dumps(h.settings, sort_keys=True, separators=(",", ":")).encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=SETTINGS_DICTIONARY)
    settings = deflate.compress(text) + deflate.flush()
    if len(settings) > 0xFFFF:
        raise ValueError("the settings do not fit in an archive header")
    head = (MAGIC + bytes([FORMAT_VERSION, h.mode]) + struct.pack("<H", len(settings))
            + settings + _FIXED.pack(h.length, h.crc, h.fingerprint, len(payload),
                                     zlib.crc32(payload)))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def unpack(blob: bytes) -> tuple[Header, bytes]:
    """Check everything that can be checked before decoding; return header and payload."""
    if len(blob) < 4 or blob[:4] != MAGIC:
        raise ArchiveError("not a bottlenet archive (the first bytes are not BNZ)")
    if len(blob) < 8:
        raise ArchiveError("archive is truncated inside its header")
    version, mode = blob[4], blob[5]
    if version not in READS:
        raise ArchiveError(f"archive format version {version} is not one this bottlenet "
                           f"reads (it reads versions {', '.join(map(str, READS))})")
    (n,) = struct.unpack_from("<H", blob, 6)
    end = 8 + n + _FIXED.size
    if len(blob) < end + 4:
        raise ArchiveError("archive is truncated inside its header")
    (header_crc,) = struct.unpack_from("<I", blob, end)
    if zlib.crc32(blob[:end]) != header_crc:
        raise ArchiveError("archive header is damaged (header checksum mismatch)")
    if mode not in (STORED, CODED):
        raise ArchiveError(f"archive has unknown mode {mode}")
    settings = _read_settings(blob[8:8 + n], version)
    length, crc, fp, plen, pcrc = _FIXED.unpack_from(blob, 8 + n)
    payload = blob[end + 4:]
    if len(payload) < plen:
        raise ArchiveError(f"archive is truncated: {len(payload):,} of {plen:,} payload "
                           "bytes present")
    if len(payload) > plen:
        raise ArchiveError(f"archive has {len(payload) - plen:,} unexpected bytes after its "
                           "payload")
    if zlib.crc32(payload) != pcrc:
        raise ArchiveError("archive payload is damaged (payload checksum mismatch)")
    if mode == STORED and plen != length:
        raise ArchiveError("archive header is inconsistent (stored length mismatch)")
    return Header(mode, settings, length, crc, fp, plen, pcrc), bytes(payload)


def _read_settings(raw: bytes, version: int) -> dict:
    if version >= 2:
        inflate = zlib.decompressobj(-15, zdict=SETTINGS_DICTIONARY)
        try:
            raw = inflate.decompress(raw, MAX_SETTINGS)
        except zlib.error:
            raise ArchiveError("archive settings are damaged (not deflated data)") from None
        if inflate.unconsumed_tail or inflate.unused_data or not inflate.eof:
            raise ArchiveError("archive settings are damaged or too long")
    try:
        settings = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveError("archive settings are not readable JSON") from None
    return settings
