"""The archive format (.bn), version 15 (1-14 are read too). Integers little-endian.

Versions 3-15 stream: they are written and read block by block, so neither side needs
the whole input in memory, and an archive can be written to a pipe before the length
is known. Versions 4-15 have the same layout as 3; their models have more settings
(4: the column and word-skip contexts, a rate per context, output biases selected by
context; 5: the output layer in float32, learning only the outputs that matter; 6: each
byte coded as 8 bits refined by adaptive probability maps, and the sparse contexts,
which other data than text gets by default; 7: bit models mixed with the network; 8:
record contexts, and other data's bit models with two of them; 9: markup contexts, which
markup gets; 10: a second mixer input per bit model's context, a second final map, and
x86 calls made absolute in the code ranges its settings name; 11: image contexts in the
pixels its settings place; 12: the code ranges' architecture, x86 or 64-bit ARM; 13: the
input rows in 16-bit fixed point, twice as many in the same memory; 14: UTF-16 text read
as two planes, its even bytes then its odd ones, a chunk at a time; 15: a second primer,
longer, model.PRIMERS[2]).

    offset  size  field
    0       4     magic b"BNZ\x1a"
    4       1     format version (15; 3-14)
    5       1     mode: 1 (each block says how it is stored)
    6       2     n = length of the settings
    8       n     model settings, JSON (UTF-8, sorted keys) deflated (raw, RFC 1951)
                  against SETTINGS_DICTIONARY[version]
    8+n     4     arithmetic fingerprint (see codec.fingerprint)
    12+n    4     CRC-32 of every header byte before this field
    then blocks, each of BLOCK original bytes but the last (which may be shorter):
            varint  2 x original length + 1 if stored raw (0: no more blocks)
            varint  coded length (coded blocks only; a stored block holds its bytes)
            4       CRC-32 of the block's bytes
            ...     the block's bytes: a range-coded stream of its own, or the original
    then the trailer:
            8       original length in bytes
            4       CRC-32 of the original bytes
    (nothing may follow, but from version 12 another member: an archive of version 12+,
    laid out as above, whose original bytes follow the first's; the encoder writes a tar
    archive as one member per run of its files' kinds, segments.py)

The model runs on across blocks; only the range coder starts afresh in each one. A
block the model cannot shrink is stored raw (the model still learns from it), which
bounds the growth of incompressible input to about 7 bytes a block.

Versions 1 and 2 (read, never written) were one block with the length in the header:

    0       4     magic;  4  1  version;  5  1  mode: 0 = stored, 1 = model-coded
    6       2     n = length of the settings JSON
    8       n     settings, JSON; from version 2 deflated against SETTINGS_DICTIONARY[2]
    8+n     8     original length;  16+n  4  CRC-32 of the original
    20+n    4     arithmetic fingerprint;  24+n  8  payload length
    32+n    4     CRC-32 of the payload;  36+n  4  CRC-32 of the header bytes before it
    40+n    ...   payload (exactly `payload length` bytes)
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib

from bottlenet.errors import BottlenetError

MAGIC = b"BNZ\x1a"
FORMAT_VERSION = 15
READS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)  # every version ever written decodes
STREAMS = 3           # the first version written block by block
MEMBERS = 12          # the first whose archives may hold several members, one after
                      # another (each a whole archive: header, blocks, trailer)
BLOCK = 1 << 20       # original bytes per block (formats 3-15)
STORED, CODED = 0, 1
_FIXED = struct.Struct("<QIIQI")       # original length, crc, fingerprint, payload len, crc
# Versions 2-10 deflate the settings against the default settings of the day each
# was made (fixed for ever, whatever the defaults become): default settings cost about
# 6 bytes instead of 220, which small files feel (1-3% of a 10-50 KB archive).
SETTINGS_DICTIONARY = {
    2: b'{"boost":5.0,"clamp":8.0,"hidden":32,"init_scale":0.5,"lr_hidden_bias":0.001,'
       b'"lr_input":0.07,"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,'
       b'"match_min":6,"orders":[1,2,3,4,5,6,-1,-2,-3],"seed":1,"table_bits":17}',
    3: b'{"boost":5.0,"clamp":8.0,"hidden":32,"init_scale":0.5,"lr_hidden_bias":0.001,'
       b'"lr_input":0.07,"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,'
       b'"match_min":6,"orders":[1,2,3,4,5,6,-1,-2,-3],"seed":1,"table_bits":17,'
       b'"window_bits":18}',
    # 4: the settings of other data, then of text (a text archive, the most common,
    # finds its match at the shorter distance)
    4: b'{"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"primer":0,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,"table_bits":17,'
       b'"window_bits":18}'
       b'{"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"primer":1,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,"table_bits":17,'
       b'"window_bits":18}',
    # 5: as 4, with the float32 output layer's settings
    5: b'{"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":0,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
       b'{"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":1,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}',
    # 6: as 5, with the APMs, other data with the sparse contexts
    6: b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,"primer":0,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
       b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":1,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}',
    # 7: as 6, with the bit models
    7: b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_orders":[1,2,3,4,6,-1,-6,-9],"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,"primer":0,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
       b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_orders":[1,2,3,4,6,-1,-2,-4],"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":1,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}',
    # 8: as 7, with the count maps, 4 places a bucket and the final mixer, other data's
    # bit models with the record contexts
    8: b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-6,-9,-10,-11],"cm_ways":4,"final_mixer":1,'
       b'"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"mixer_boost":64,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,'
       b'"primer":0,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
       b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-2,-4],"cm_ways":4,"final_mixer":1,'
       b'"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"mixer_boost":0,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":1,'
       b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}',
    # 9: the markup profile's settings and other data's (with the indirect context),
    # before format 8's
    9: b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-2,-4,-14,-15,-16],"cm_ways":4,'
       b'"final_mixer":1,'
       b'"hidden":32,'
       b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"mixer_boost":64,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-14],"output_bits":32,'
       b'"primer":0,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0,1.0],"seed":1,'
       b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
       b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
       b'"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-6,-9,-10,-11,-16],"cm_ways":4,"final_mixer":1,'
       b'"hidden":32,"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
       b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
       b'"mixer_boost":64,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,'
       b'"primer":0,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],'
       b'"seed":1,"skip":0.000244140625,"table_bits":17,"window_bits":18}',
    # 10: the three profiles' settings with format 10's fields (markup's, other data's,
    # text's: the last costs least)
    10: b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
        b'"cm_confidence":1,"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-2,-4,-14,-15,-16],'
        b'"cm_ways":4,"code_ranges":[],"final_maps":2,"final_mixer":1,"hidden":32,'
        b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
        b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
        b'"mixer_boost":64,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-14],"output_bits":32,'
        b'"primer":0,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0,1.0],"seed":1,'
        b'"skip":0.000244140625,"table_bits":17,"window_bits":18}'
        b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
        b'"cm_confidence":1,"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-6,-9,-10,-11,-16],'
        b'"cm_ways":4,"code_ranges":[],"final_maps":2,"final_mixer":1,"hidden":32,'
        b'"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,'
        b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
        b'"mixer_boost":64,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,'
        b'"primer":0,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],'
        b'"seed":1,"skip":0.000244140625,"table_bits":17,"window_bits":18}'
        b'{"apm":1,"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
        b'"cm_confidence":1,"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-2,-4],"cm_ways":4,'
        b'"code_ranges":[],"final_maps":2,"final_mixer":1,"hidden":32,"init_scale":0.5,'
        b'"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,"lr_match":0.05,'
        b'"lr_output":0.003,"lr_output_first":0.33,"match_min":6,"mixer_boost":0,"orders":[1,'
        b'2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,"primer":1,"rates":[1.0,1.0,1.0,1.0,1.0,'
        b'1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,"skip":0.000244140625,"table_bits":17,'
        b'"window_bits":18}',
    # 11: the four profiles' settings with format 11's fields (image's, markup's,
    # other data's, text's: the last costs least)
    11: b'{"apm":1,"bias_bits":12,"bias_orders":[1,2,3],"boost":5.0,"clamp":8.0,'
        b'"cm_bits":16,"cm_confidence":1,"cm_map":1,"cm_orders":[-18,-19,-20,-21,'
        b'-22,-23,-24,-25,1,2,-26,-27],"cm_ways":4,"code_ranges":[],"final_maps":2,'
        b'"final_mixer":1,'
        b'"hidden":32,"image":[54,"init_scale":0.5,"lr_bias":0.25,"lr_hidden_bias":0.001,'
        b'"lr_input":0.07,"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,'
        b'"match_min":6,"mixer_boost":64,"orders":[1,2,-3,-18,-19,-22,-24,-25],"output_bits":32,'
        b'"primer":0,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],"seed":1,"skip":0.000244140625,'
        b'"table_bits":17,"window_bits":18}{"apm":1,"bias_bits":12,"bias_orders":[2,'
        b'3],"boost":5.0,"clamp":8.0,"cm_bits":16,"cm_confidence":1,"cm_map":1,"cm_orders":[1,'
        b'2,3,4,6,-1,-2,-4,-14,-15,-16],"cm_ways":4,"code_ranges":[],"final_maps":2,'
        b'"final_mixer":1,"hidden":32,"image":[],"init_scale":0.5,"lr_bias":0.03,'
        b'"lr_hidden_bias":0.001,"lr_input":0.04,"lr_match":0.05,"lr_output":0.003,'
        b'"lr_output_first":0.33,"match_min":6,"mixer_boost":64,"orders":[1,2,3,'
        b'4,5,6,-1,-2,-3,-4,-5,-14],"output_bits":32,"primer":0,"rates":[1.0,1.0,'
        b'1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0,1.0],"seed":1,"skip":0.000244140625,'
        b'"table_bits":17,"window_bits":18}{"apm":1,"bias_bits":12,"bias_orders":[1,'
        b'2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,"cm_confidence":1,"cm_map":1,'
        b'"cm_orders":[1,2,3,4,6,-1,-6,-9,-10,-11,-16],"cm_ways":4,"code_ranges":[],'
        b'"final_maps":2,"final_mixer":1,"hidden":32,"image":[],"init_scale":0.5,'
        b'"lr_bias":0.25,"lr_hidden_bias":0.001,"lr_input":0.07,"lr_match":0.05,'
        b'"lr_output":0.003,"lr_output_first":0.33,"match_min":6,"mixer_boost":64,'
        b'"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5,-8,-6,-7,-9],"output_bits":32,"primer":0,'
        b'"rates":[1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0,1.0],'
        b'"seed":1,"skip":0.000244140625,"table_bits":17,"window_bits":18}{"apm":1,'
        b'"bias_bits":12,"bias_orders":[2,3],"boost":5.0,"clamp":8.0,"cm_bits":16,'
        b'"cm_confidence":1,"cm_map":1,"cm_orders":[1,2,3,4,6,-1,-2,-4],"cm_ways":4,'
        b'"code_ranges":[],"final_maps":2,"final_mixer":1,"hidden":32,"image":[],'
        b'"init_scale":0.5,"lr_bias":0.03,"lr_hidden_bias":0.001,"lr_input":0.04,'
        b'"lr_match":0.05,"lr_output":0.003,"lr_output_first":0.33,"match_min":6,'
        b'"mixer_boost":0,"orders":[1,2,3,4,5,6,-1,-2,-3,-4,-5],"output_bits":32,'
        b'"primer":1,"rates":[1.0,1.0,1.0,1.0,1.0,1.0,2.5,2.0,0.25,1.0,1.0],"seed":1,'
        b'"skip":0.000244140625,"table_bits":17,"window_bits":18}',
}
SETTINGS_DICTIONARY[9] += SETTINGS_DICTIONARY[8]
# 12: format 11's with format 12's field (the code's architecture) in its place
SETTINGS_DICTIONARY[12] = SETTINGS_DICTIONARY[11].replace(
    b'"code_ranges":[]', b'"code_arch":"x86","code_ranges":[]')
# 13: with format 13's field (the input rows' numbers)
SETTINGS_DICTIONARY[13] = SETTINGS_DICTIONARY[12].replace(
    b'"seed":1', b'"row_bits":16,"seed":1')
# 14: with format 14's field (the planes)
SETTINGS_DICTIONARY[14] = SETTINGS_DICTIONARY[13].replace(
    b'"primer":', b'"planes":1,"primer":')
# 15: the same fields (format 15 adds a primer, not a field)
SETTINGS_DICTIONARY[15] = SETTINGS_DICTIONARY[14]
_HEAD3 = struct.Struct("<I")          # fingerprint (the header CRC follows)
_TRAILER = struct.Struct("<QI")       # original length, CRC-32 of the original
TRAILER_SIZE = _TRAILER.size
MAX_SETTINGS = 1 << 16                 # inflated settings longer than this are refused


class ArchiveError(BottlenetError):
    """A file is not a bottlenet archive, is damaged, or does not decode to its original."""


@dataclasses.dataclass(frozen=True)
class Header:
    """A version 1-2 archive's header (versions 3-15 keep length and CRC in its trailer)."""

    mode: int
    settings: dict
    length: int
    crc: int
    fingerprint: int
    payload_length: int
    payload_crc: int
    version: int


def _deflated(settings: dict) -> bytes:
    text = json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15,
                               zdict=SETTINGS_DICTIONARY[FORMAT_VERSION])
    raw = deflate.compress(text) + deflate.flush()
    if len(raw) > 0xFFFF:
        raise ValueError("the settings do not fit in an archive header")
    return raw


def version_of(prefix: bytes) -> int:
    """The format version from an archive's first bytes (at least 8 of them when there
    are), or ArchiveError when they are not a bottlenet archive this version reads."""
    if len(prefix) < 4 or prefix[:4] != MAGIC:
        raise ArchiveError("not a bottlenet archive (the first bytes are not BNZ)")
    if len(prefix) < 8:
        raise ArchiveError("archive is truncated inside its header")
    version = prefix[4]
    if version not in READS:
        raise ArchiveError(f"archive format version {version} is not one this bottlenet "
                           f"reads (it reads versions {', '.join(map(str, READS))})")
    return version


def pack_head(settings: dict, fingerprint: int) -> bytes:
    """A version 3-10 archive's header."""
    raw = _deflated(settings)
    head = (MAGIC + bytes([FORMAT_VERSION, CODED]) + struct.pack("<H", len(raw)) + raw
            + _HEAD3.pack(fingerprint))
    return head + struct.pack("<I", zlib.crc32(head))


def read_head(prefix: bytes, read) -> tuple[dict, int]:
    """The settings and fingerprint of a version 3-10 archive whose first 8 bytes are
    `prefix`; `read(n)` gives the bytes that follow."""
    if prefix[5] != CODED:
        raise ArchiveError(f"archive has unknown mode {prefix[5]}")
    (n,) = struct.unpack_from("<H", prefix, 6)
    rest = _exactly(read, n + _HEAD3.size + 4, "its header")
    head = prefix + rest[:-4]
    if zlib.crc32(head) != struct.unpack("<I", rest[-4:])[0]:
        raise ArchiveError("archive header is damaged (header checksum mismatch)")
    (fingerprint,) = _HEAD3.unpack_from(rest, n)
    return _read_settings(rest[:n], prefix[4]), fingerprint


def read_up_to(read, n: int) -> bytes:
    """n bytes from `read`, fewer only at the end (a pipe may hand over less at a time)."""
    parts, need = [], n
    while need:
        part = read(need)
        if not part:
            break
        parts.append(part)
        need -= len(part)
    return b"".join(parts)


def _exactly(read, n: int, where: str) -> bytes:
    data = read_up_to(read, n)
    if len(data) != n:
        raise ArchiveError(f"archive is truncated inside {where}")
    return data


def _varint(x: int) -> bytes:
    out = bytearray()
    while True:
        byte, x = x & 0x7F, x >> 7
        out.append(byte | (0x80 if x else 0))
        if not x:
            return bytes(out)


def _read_varint(read, where: str) -> int:
    x = 0
    for shift in range(0, 64, 7):
        byte = _exactly(read, 1, where)[0]
        x |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return x
    raise ArchiveError(f"archive is damaged ({where} holds no valid length)")


def pack_block(raw_length: int, body: bytes, stored: bool) -> bytes:
    """A version 3-6 block: its lengths, its CRC and its bytes."""
    lengths = _varint(2 * raw_length + stored) + (b"" if stored else _varint(len(body)))
    return lengths + struct.pack("<I", zlib.crc32(body)) + body


def end_of_blocks(length: int, crc: int) -> bytes:
    return _varint(0) + _TRAILER.pack(length, crc)


def read_block(read, number: int, longest_coded: int) -> tuple[int, bool, bytes] | None:
    """The next block as (original length, stored, its bytes), checked against its CRC;
    None after the last one. A block longer than BLOCK original bytes, or than
    `longest_coded` coded ones, is refused before it is read."""
    where = f"block {number}"
    word = _read_varint(read, where)
    if word == 0:
        return None
    raw_length, stored = word >> 1, bool(word & 1)
    if raw_length > BLOCK:
        raise ArchiveError(f"archive is damaged ({where} claims {raw_length:,} bytes, "
                           f"more than a block holds)")
    length = raw_length if stored else _read_varint(read, where)
    if length > longest_coded:
        raise ArchiveError(f"archive is damaged ({where} claims {length:,} coded bytes)")
    (crc,) = struct.unpack("<I", _exactly(read, 4, where))
    body = _exactly(read, length, where)
    if zlib.crc32(body) != crc:
        raise ArchiveError(f"archive is damaged ({where} checksum mismatch)")
    return raw_length, stored, body


def read_trailer(read) -> tuple[int, int]:
    """(original length, CRC-32) after the last block; only another member may follow
    (from format 12: codec.decompress_stream checks what follows)."""
    return _TRAILER.unpack(_exactly(read, _TRAILER.size, "its trailer"))


def unpack(blob: bytes) -> tuple[Header, bytes]:
    """A version 1-2 archive: check everything that can be checked before decoding;
    return header and payload."""
    version = version_of(blob[:8])
    if version >= STREAMS:
        raise ArchiveError(f"a version {version} archive is read block by block "
                           "(codec.decompress)")
    mode = blob[5]
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
    return Header(mode, settings, length, crc, fp, plen, pcrc, version), bytes(payload)


def _read_settings(raw: bytes, version: int) -> dict:
    if version >= 2:
        inflate = zlib.decompressobj(-15, zdict=SETTINGS_DICTIONARY[version])
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
    return upgrade_settings(settings, version)


def upgrade_settings(d, version: int):
    """The settings an archive of format `version` wrote, as the current format writes
    them: each later format's new fields, with the values under which the later model
    does exactly what the older one did (so every archive decodes as it was written).
    Anything but a dict is returned as it is (model.Settings.from_json refuses it)."""
    if not isinstance(d, dict):
        return d
    if version == 1:
        # No match model (unused without 'm' in its orders: the values are the defaults
        # of the day, any valid ones would do) and one output rate throughout
        d = d | {"match_min": 6, "lr_match": 0.05, "lr_output_first": d.get("lr_output")}
    if version <= 2:
        d = d | {"window_bits": 0}   # the whole input was the match model's history
    if version <= 3 and isinstance(d.get("orders"), list):
        # No context biases, every context at the input rate
        d = d | {"rates": [1.0] * len(d["orders"]), "bias_orders": [], "bias_bits": 0,
                 "lr_bias": 1.0,   # (a rate of no biases: any)
                 "primer": 0}
    if version <= 4:
        d = d | {"output_bits": 64, "skip": 0.0}   # float64, every output learnt
    if version <= 5:
        d = d | {"apm": 0}                          # bytes coded whole
    if version <= 6:
        d = d | {"cm_bits": 0, "cm_orders": []}     # no bit models
    if version <= 7:
        # counters read as they are, in buckets of one place; two mixers' mean
        d = d | {"cm_map": 0, "cm_ways": 1, "final_mixer": 0, "mixer_boost": 0}
    if version <= 9:
        # one input a context, one final map, no call filter
        d = d | {"cm_confidence": 0, "final_maps": 1, "code_ranges": []}
    if version <= 10:
        d = d | {"image": []}                       # no image contexts
    if version <= 11:
        d = d | {"code_arch": "x86"}                # the code ranges' code was x86
    if version <= 12:
        d = d | {"row_bits": 32}                    # float32 input rows
    if version <= 13:
        d = d | {"planes": 1}                       # bytes read as they are
    if version <= 14 and isinstance(d.get("primer"), int) and d["primer"] > 1:
        raise ArchiveError(f"archive settings are not valid: format {version} has "
                           "primers 0 and 1 only")
    return d
