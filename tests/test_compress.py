"""The compressor end to end: round trips on awkward inputs, bounded growth on random
bytes, determinism, and refusal (never wrong bytes) for damaged or foreign archives."""

import dataclasses
import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import ArchiveError, Settings, compress, container, decompress, fingerprint
from bottlenet.compress.kernels import IMAGE_GRAD, IMAGE_WN, MARKUP_WORD
from bottlenet.compress.kernels import MARKUP as MARKUP_CONTEXT
from bottlenet.compress.model import MATCH, WORD, WORDS, format_orders, parse_orders
from bottlenet.errors import SpecError

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SMALL = Settings(hidden=8, orders=(1, 2, 3, WORD), table_bits=12, primer=0)  # quick
HEADER_MAX = 80       # header bytes, settings included


def round_trip(data: bytes, s: Settings | None = None) -> bytes:
    r = compress(data, s)
    assert decompress(r.archive) == data
    return r.archive


def test_empty_and_one_byte():
    assert len(round_trip(b"")) <= HEADER_MAX
    for b in (b"\x00", b"a", b"\xff"):
        assert len(round_trip(b, SMALL)) <= HEADER_MAX + 1


@pytest.mark.slow  # the hypothesis round trips cover byte values in the default run
def test_all_byte_values_and_long_runs():
    round_trip(bytes(range(256)) * 4, SMALL)
    run = round_trip(b"a" * 200_000)
    assert len(run) < 1_500          # a run costs next to nothing once learned
    round_trip(b"\x00" * 5000 + b"\xff" * 5000 + b"\x00" * 5000, SMALL)


def test_random_bytes_grow_only_by_the_header():
    data = np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    r = compress(data, SMALL)
    assert r.stored
    assert len(data) < len(r.archive) <= len(data) + HEADER_MAX
    assert decompress(r.archive) == data


def test_binary_file():
    # NumPy's compiled core: machine code, tables and strings, on any platform.
    library = next(Path(np.__file__).parent.glob("_core/_multiarray_umath*"))
    blob = library.read_bytes()[:60_000]
    archive = round_trip(blob, SMALL)
    assert len(archive) < len(blob)


@settings(max_examples=25)
@given(st.binary(max_size=2000))
def test_round_trip_of_any_bytes(data):
    round_trip(data, SMALL)


def corpus_text(name: str) -> bytes:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus text {path} not present in this checkout")
    return path.read_bytes()


def test_corpus_text_beats_bzip2_and_is_deterministic():
    import bz2

    data = corpus_text("alice29.txt")
    a = compress(data)
    assert a.bpc < 8 * len(bz2.compress(data, 9)) / len(data)   # 2.27 bpc
    assert compress(data).archive == a.archive
    assert decompress(a.archive) == data
    # The ideal code length of the model and the real archive agree to a few bytes.
    assert abs(len(a.archive) - a.bits.sum() / 8) < 400


@pytest.mark.slow
@pytest.mark.parametrize("name", ["asyoulik.txt", "lcet10.txt", "book1", "bible.txt"])
def test_corpus_round_trip_beats_xz(name):
    import lzma

    data = corpus_text(name)
    a = compress(data)
    assert len(a.archive) < len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    assert decompress(a.archive) == data


def test_golden_archive_and_fingerprint():
    # The format promise: these bytes decode, on any IEEE-754 machine, with this format
    # version. If a change to the model or coder breaks this, bump FORMAT_VERSION and
    # pin an archive of the old version below.
    text = b"HELLO HELO HELLLO, said the network. " * 20
    archive = compress(text, dataclasses.replace(SMALL, primer=-1)).archive  # primed
    assert archive[4] == container.FORMAT_VERSION
    assert hashlib.sha256(archive).hexdigest()[:16] == GOLDEN_SHA
    assert fingerprint(Settings().suited_to(text)) == GOLDEN_FINGERPRINT
    # the settings of before (matches from 6 bytes) as golden-v15.bn names them
    assert fingerprint(Settings(match_min=6).suited_to(text)) == 4189584581
    assert decompress(archive) == text


# text's match_min 8 and its bit models' ninth context, order 8 (2026-12-07): golden-v15.bn
# has 6 and eight contexts
GOLDEN_SHA = "e63c435dbba25b87"
GOLDEN_FINGERPRINT = 3843171609

DATA = Path(__file__).parent / "data"


def test_archives_of_every_earlier_format_still_decode():
    # Written by bottlenet's formats 1 (before the match model), 2 (the whole input in
    # memory), 3 (before the column and word-skip contexts, the context biases and the
    # rates per context), 4 (the output layer in float64; its pair is primed), 5
    # (before the sparse contexts), 6 (before the bit models), 7 (before the record
    # contexts), 8 (before the markup contexts), 9 (before the confidence inputs and
    # the second final map), 10 (before the image contexts), 11 (before the ARM code
    # filter), 12 (before the int16 input rows), 13 (before UTF-16's planes), 14 (before
    # the second primer) and 15 (pinned while it is still the one written, so that
    # whatever changes next is held to it), kept as bytes: as xz and zstd decode every
    # older version of their formats, so does bottlenet.
    text = (DATA / "golden-v1-default.txt").read_bytes()
    for version in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15):
        small = (DATA / f"golden-v{version}.bn").read_bytes()
        assert small[4] == version
        assert decompress(small) == b"HELLO HELO HELLLO, said the network. " * 20
        default = (DATA / f"golden-v{version}-default.bn").read_bytes()
        assert decompress(default) == text
    head, _ = container.unpack((DATA / "golden-v1-default.bn").read_bytes())
    # the container brings format 1's settings to today's fields, with the values under
    # which today's model does what format 1's did: one output rate, the whole input as
    # history, no context biases, the float64 output layer learning every output
    s = head.settings
    assert s["lr_output_first"] == s["lr_output"] and s["window_bits"] == 0
    assert s["bias_orders"] == [] and s["rates"] == [1.0] * len(s["orders"])
    assert (s["output_bits"], s["skip"]) == (64, 0.0)
    assert (s["apm"], s["cm_bits"]) == (0, 0)
    assert set(s) == {f.name for f in dataclasses.fields(Settings)}
    six = io.BytesIO((DATA / "golden-v6-default.bn").read_bytes())
    settings, _ = container.read_head(six.read(8), six.read)
    assert (settings["apm"], settings["cm_bits"]) == (1, 0)
    # other data's profile in format 7: 8 bit models' contexts (10 from format 8)
    seven = (DATA / "golden-v7-other.bn").read_bytes()
    assert seven[4] == 7 and decompress(seven) == RECORDS
    settings, _, _ = head_of(seven)
    assert len(settings["cm_orders"]) == 8
    eight = (DATA / "golden-v8-other.bn").read_bytes()
    assert eight[4] == 8 and decompress(eight) == RECORDS
    settings, _, _ = head_of(eight)
    assert len(settings["cm_orders"]) == 10 and settings["final_mixer"] == 1
    nine = (DATA / "golden-v9-markup.bn").read_bytes()
    assert nine[4] == 9 and decompress(nine) == MARKUP
    settings, _, _ = head_of(nine)
    assert {MARKUP_CONTEXT, MARKUP_WORD} <= set(settings["cm_orders"])
    assert MARKUP_CONTEXT in settings["orders"]
    assert (settings["cm_confidence"], settings["final_maps"]) == (0, 1)
    ten = io.BytesIO((DATA / "golden-v10-default.bn").read_bytes())
    settings, _ = container.read_head(ten.read(8), ten.read)
    assert (settings["cm_confidence"], settings["final_maps"]) == (1, 2)
    assert settings["image"] == []
    eleven = (DATA / "golden-v11-image.bn").read_bytes()
    assert eleven[4] == 11 and decompress(eleven) == IMAGE
    settings, _, _ = head_of(eleven)
    assert settings["image"] == [13, len(IMAGE), 48, 1]
    assert IMAGE_WN in settings["cm_orders"] and IMAGE_GRAD in settings["orders"]
    assert settings["code_arch"] == "x86"       # (the field format 12 added)
    twelve = (DATA / "golden-v12-arm64.bn").read_bytes()
    assert twelve[4] == 12 and decompress(twelve) == ARM64
    settings, _, _ = head_of(twelve)
    assert settings["code_arch"] == "arm64" and settings["code_ranges"] == [64, 6064]
    assert settings["row_bits"] == 32           # float32 input rows before format 13
    thirteen = io.BytesIO((DATA / "golden-v13-default.bn").read_bytes())
    settings, _ = container.read_head(thirteen.read(8), thirteen.read)
    assert settings["row_bits"] == 16
    assert settings["planes"] == 1              # (the field format 14 added)
    utf16 = (DATA / "golden-v14-utf16.bn").read_bytes()
    assert utf16[4] == 14
    assert decompress(utf16) == ("HELLO HELO HELLLO, said the network. " * 20).encode("utf-16-le")
    settings, _, _ = head_of(utf16)
    assert settings["planes"] == 2 and settings["primer"] == 1
    # format 15's second primer (read through a ring: a history of 2^17 bytes)
    novels = (DATA / "golden-v15-novels.bn").read_bytes()
    assert novels[4] == 15 and decompress(novels) == b"HELLO HELO HELLLO, said the network. " * 20
    settings, _, blocks = head_of(novels)
    assert (settings["primer"], settings["window_bits"]) == (2, 17)
    # ... which no earlier format has: the same archive called format 14 is refused
    end = len(novels) - len(blocks)
    as_14 = novels[:4] + b"\x0e" + novels[5:end - 4]
    as_14 += struct.pack("<I", zlib.crc32(as_14)) + novels[end:]
    with pytest.raises(container.ArchiveError, match="format 14 has primers 0 and 1"):
        decompress(as_14)
    # from format 12, members one after another (a tar archive's pieces) decode as one
    small = (DATA / "golden-v12.bn").read_bytes()
    assert decompress(small + twelve) == b"HELLO HELO HELLLO, said the network. " * 20 + ARM64


# fixed-length records (10 bytes: a count, a 16-bit code, a float): the pinned archives
# of other data (formats 7 and 8) hold them
RECORDS = b"".join(struct.pack("<IHf", i, i * 7919 % 65536, i / 3) for i in range(2000))
# a grey image in a PGM file (format 11's pinned archive holds it): slopes the image
# contexts predict, with a pattern that repeats every 7 pixels
IMAGE = b"P5\n48 40\n255\n" + bytes((3 * x + 2 * y + (x * y) % 7) % 256
                                     for y in range(40) for x in range(48))


def _arm64_program() -> bytes:
    """A little ELF64 file of 64-bit ARM code (format 12's pinned archive holds it): a
    header, 6,000 bytes of instructions (every fifth a BL to one of 50 functions, as
    compiled code calls), a section table naming them code."""
    words = [0x94000000 | ((i * 37 % 50) * 30 - i) & 0x03FFFFFF if i % 5 == 0
             else 0xA9BF7BFD + i % 3 for i in range(1500)]
    body = struct.pack(f"<{len(words)}I", *words)
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HH", head, 16, 3, 183)                       # EM_AARCH64
    struct.pack_into("<QQ", head, 32, 0, 64 + len(body))
    struct.pack_into("<HHHH", head, 54, 56, 0, 64, 1)
    return bytes(head) + body + struct.pack("<IIQQQQ", 0, 1, 6, 0, 64, len(body)) + bytes(24)


ARM64 = _arm64_program()
# markup (format 9's pinned archive holds it): the markup contexts at work
MARKUP = b"".join(b'<language code="%03d" name="Language %d" scope="I"/>\n' % (i * 37 % 1000, i)
                  for i in range(60))


def test_the_match_model_finds_long_repeats():
    # A random block repeated: the contexts have seen each 6-byte string once, but the
    # match model predicts the whole second copy; without it the copy costs far more.
    # (The network alone: the bit models' order-6 counters, seen once, know it too.)
    block = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    data = block + b"----" + block
    with_match = compress(data, Settings(table_bits=14, cm_bits=0))
    without = compress(data, Settings(table_bits=14, cm_bits=0,
                                      orders=(1, 2, 3, 4, 5, 6, WORD, WORDS)))
    second_copy = slice(len(block) + 4 + 16, None)
    assert with_match.bits[second_copy].mean() < 0.5 * without.bits[second_copy].mean()
    assert decompress(with_match.archive) == data


def head_of(archive: bytes) -> tuple[dict, int, bytes]:
    """A format 3-4 archive's settings, fingerprint, and the bytes after its header."""
    rest = io.BytesIO(archive[8:])
    settings, fp = container.read_head(archive[:8], rest.read)
    return settings, fp, rest.read()


def test_default_settings_cost_a_few_bytes_and_damaged_ones_are_refused():
    archive = compress(ARCHIVE_TEXT).archive
    (n,) = struct.unpack_from("<H", archive, 6)
    # deflated against the format's dictionary (614 bytes as plain JSON; 19 since text's
    # matches start at 8 bytes and its bit models read order 8, where format 15's
    # dictionary has the 6 and the eight contexts of before)
    assert n <= 19
    settings, fp, blocks = head_of(archive)
    assert Settings.from_json(settings).orders == Settings().orders

    def with_settings(raw: bytes) -> bytes:
        head = archive[:6] + struct.pack("<H", len(raw)) + raw + struct.pack("<I", fp)
        return head + struct.pack("<I", zlib.crc32(head)) + blocks

    for raw in (b"\xff" * 8, zlib.compress(b"{}")[2:-4] + b"junk",
                b"\x03\x00"):  # not deflate; data after the stream; not JSON
        with pytest.raises(ArchiveError, match="settings"):
            decompress(with_settings(raw))
    # an archive names the match length it was written with (0 leaves it to the encoder)
    with pytest.raises(ArchiveError, match="match_min"):
        decompress(with_settings(container._deflated(settings | {"match_min": 0})))
    # a bomb: a short stream that would inflate far past any real settings
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflate.compress(b"[" + b"0," * 10**6 + b"0]") + deflate.flush()
    with pytest.raises(ArchiveError, match="settings"):
        decompress(with_settings(bomb))


def test_settings_travel_in_the_archive():
    s = dataclasses.replace(SMALL, hidden=5, orders=(2, 4), lr_output=0.05, seed=9)
    data = b"abracadabra " * 300
    r = compress(data, s)
    assert r.settings == dataclasses.replace(s, window_bits=r.settings.window_bits,
                                             bias_bits=r.settings.bias_bits).suited_to(data)
    assert Settings.from_json(head_of(r.archive)[0]) == r.settings
    assert decompress(r.archive) == data


ARCHIVE_TEXT = b"the quick brown fox jumps over the lazy dog\n" * 50


def archive_of(data=ARCHIVE_TEXT):
    return compress(data, SMALL).archive


def test_truncated_archives_are_refused():
    a = archive_of()
    for cut in (0, 3, 7, 20, len(a) // 2, len(a) - 1):
        with pytest.raises(ArchiveError):
            decompress(a[:cut])


@settings(max_examples=60)
@given(st.data())
def test_any_flipped_bit_is_refused(data):
    a = bytearray(ARCHIVE)
    pos = data.draw(st.integers(0, len(a) - 1))
    a[pos] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(ArchiveError):
        decompress(bytes(a))


ARCHIVE = archive_of()


def test_damage_behind_good_checksums_is_caught_by_the_original_checksum():
    # Re-pack a damaged block with a fresh block checksum, as if the damage had slipped
    # past it, to test the check behind it.
    settings, fp, blocks = head_of(ARCHIVE)
    rest = io.BytesIO(blocks)
    length, stored, body = container.read_block(rest.read, 1, container.BLOCK)
    assert not stored
    damaged = bytearray(body)
    damaged[-10] ^= 0x10
    archive = (container.pack_head(settings, fp) + container.pack_block(length, damaged, False)
               + rest.read())
    with pytest.raises(ArchiveError, match="original's length and checksum|ends before"):
        decompress(archive)


def test_fingerprint_mismatch_is_refused():
    settings, fp, blocks = head_of(ARCHIVE)
    assert decompress(container.pack_head(settings, fp) + blocks) == ARCHIVE_TEXT  # exact
    with pytest.raises(ArchiveError, match="fingerprint"):
        decompress(container.pack_head(settings, fp ^ 1) + blocks)


def test_foreign_newer_and_padded_files_are_refused():
    import gzip

    with pytest.raises(ArchiveError, match="not a bottlenet archive"):
        decompress(gzip.compress(b"hello"))
    newer = bytearray(ARCHIVE)
    newer[4] = container.FORMAT_VERSION + 1
    with pytest.raises(ArchiveError, match="version"):
        decompress(bytes(newer))
    with pytest.raises(ArchiveError, match="unexpected bytes"):
        decompress(ARCHIVE + b"\x00")


def test_bad_settings_are_spec_errors():
    with pytest.raises(SpecError):
        compress(b"abc", Settings(hidden=0))
    with pytest.raises(SpecError):
        compress(b"abc", Settings(orders=(1, 1)))
    with pytest.raises(SpecError):
        parse_orders("1,q")
    assert parse_orders("1-3,w,ww") == (1, 2, 3, WORD, WORDS)
    assert parse_orders("2,m") == (2, MATCH)
    assert format_orders((1, WORD, MATCH)) == "1,w,m"
    assert format_orders(parse_orders("1-3,w,ww")) == "1,2,3,w,ww"


def test_the_kernels_are_built_without_fused_multiply_add():
    # Bit-exact decoding across machines rests on the compiler never fusing a * b + c (an
    # FMA rounds once, so machines with and without it would disagree); setup.py forbids
    # it, and the kernels are built for the machine's own instructions, FMA included.
    # (1 + 2^-30)(1 - 2^-30) = 1 - 2^-60 rounds to 1, so a * b - 1 is 0 unless fused.
    from bottlenet.compress import kernels

    assert kernels.mul_add(1 + 2**-30, 1 - 2**-30, -1.0) == 0.0


def test_the_kernels_refuse_arrays_that_do_not_fit_together():
    # The compiled loops index the tables through the context array's shifts and the
    # history through its mask: inconsistent arrays are refused, when the Predictor is
    # built and at every call (the context array may change in place), never read outside.
    from bottlenet.compress import kernels
    from bottlenet.compress.model import Model

    p = Model(dataclasses.replace(SMALL, window_bits=17, bias_bits=8).suited_to(b"")).predictor
    history, freq = np.zeros(1 << 17, np.uint8), np.zeros(256, np.int64)
    p.learn(history, 0, 100, freq)
    names = ("E", "seen", "Wt", "c", "b", "orders", "lr", "ctx", "scratch", "idx", "mtab",
             "mw", "B", "bias_orders")
    arrays = {name: getattr(p, name) for name in names}
    for slot, value in ((kernels.CTX_SHIFT, 40), (kernels.CTX_SHIFT, 0), (kernels.CTX_MMIN, 9),
                        (kernels.CTX_BSHIFT, 50)):
        ctx = p.ctx.copy()
        ctx[slot] = value
        with pytest.raises(ValueError, match="does not match"):
            kernels.Predictor(**{**arrays, "ctx": ctx})
        kept = p.ctx[slot]
        p.ctx[slot] = value  # changed in place after it was built
        with pytest.raises(ValueError, match="does not match"):
            p.learn(history, 0, 100, freq)
        p.ctx[slot] = kept
    with pytest.raises(ValueError, match="outside the history"):
        p.learn(history[:1000], 0, 2000, freq)
    with pytest.raises(ValueError, match="power of two"):
        p.learn(np.zeros(3 << 16, np.uint8), 0, 100, freq)
    with pytest.raises(ValueError, match="inconsistent"):
        kernels.Predictor(**{**arrays, "mw": np.zeros(8)})
    with pytest.raises(ValueError, match="bias orders"):
        kernels.Predictor(**{**arrays, "bias_orders": np.array([2, 9])})
    with pytest.raises(AttributeError):
        p.ctx = ctx  # the Predictor owns its arrays: they cannot be swapped under it
