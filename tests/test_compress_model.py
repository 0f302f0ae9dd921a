"""Formats 4-5's model: the input's first bytes choose the rates and the primer, and the
column context, the context biases and the primer each make their kind of input smaller;
format 5's output layer (float32, learning only the outputs that matter)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import Settings, compress, decompress
from bottlenet.compress import model as model_module
from bottlenet.compress.codec import settings_for
from bottlenet.compress.model import (
    COLUMN,
    LEVELS,
    MATCH,
    PROFILES,
    WORD,
    looks_like_prose,
    looks_like_text,
    parse_orders,
    primer_bytes,
)
from bottlenet.errors import SpecError

# English that is not in the primer (the primer is a licence; this is a walk).
ENGLISH = (
    b"We left the house before the sun was up and walked along the river to the old mill. "
    b"The water was high after the rain, and the path was soft under our boots. My sister "
    b"talked about the summer she spent by the sea, when she was twelve and wanted to be a "
    b"sailor, and I listened and watched the birds over the fields. When we reached the "
    b"bridge we stopped to eat the bread and cheese we had carried in a paper bag, and an "
    b"old man with a dog asked us where we were going. We told him we did not know yet, "
    b"and he laughed and said that it was the best way to travel.\n")
CODE = b"for (i = 0; i < n; i++) {\n    total += weights[i] * values[i];\n}\n" * 30
# Machine code (NumPy's compiled core, past its headers)
BINARY = next(Path(np.__file__).parent.glob("_core/_multiarray_umath*")).read_bytes()[
    300_000:340_000]


def test_the_first_bytes_tell_text_prose_and_other_data_apart():
    assert looks_like_text(ENGLISH) and looks_like_prose(ENGLISH)
    assert looks_like_text(CODE) and not looks_like_prose(CODE)
    assert not looks_like_text(BINARY) and not looks_like_prose(BINARY)
    assert looks_like_text(b"") and not looks_like_prose(b"")


def test_the_profile_and_the_primer_are_chosen_and_written_as_numbers():
    text, other = PROFILES["text"], PROFILES["other"]
    prose = settings_for(len(ENGLISH), sample=ENGLISH)
    assert (prose.lr_input, prose.lr_bias, prose.primer) == (text.lr_input, text.lr_bias, 1)
    assert prose.rates[prose.orders.index(WORD)] == text.rates[WORD]
    assert prose.rates[prose.orders.index(MATCH)] == text.rates[MATCH]
    code = settings_for(len(CODE), sample=CODE)
    assert code.lr_input == text.lr_input and code.primer == 0
    binary = settings_for(len(BINARY), sample=BINARY)
    assert (binary.lr_input, binary.primer) == (other.lr_input, 0)
    assert set(binary.rates) == {1.0} and binary.bias_orders == other.bias_orders
    assert (prose.cm_orders, binary.cm_orders) == (text.cm_orders, other.cm_orders)
    # matches from 8 shared bytes in text, 6 in other data and markup
    markup = settings_for(100, sample=b"<doc><p>It was the best of times.</p></doc>" * 3)
    assert (prose.match_min, code.match_min, binary.match_min, markup.match_min) == (
        8, 8, 6, 6)
    # the mixers' boost: none after the primer (its bytes taught them), else MIXER_BOOST
    assert (prose.mixer_boost, code.mixer_boost, binary.mixer_boost) == (
        0, model_module.MIXER_BOOST, model_module.MIXER_BOOST)
    # what a caller sets is kept
    mine = Settings(lr_input=0.1, lr_bias=0.2, primer=0, bias_orders=(4,),
                    rates=(2.0,) * len(Settings().orders))
    chosen = settings_for(len(ENGLISH), mine, sample=ENGLISH)
    assert chosen == dataclasses.replace(mine, table_bits=chosen.table_bits,
                                         window_bits=chosen.window_bits,
                                         bias_bits=chosen.bias_bits,
                                         cm_orders=text.cm_orders,
                                         mixer_boost=model_module.MIXER_BOOST,
                                         match_min=text.match_min,
                                         code_ranges=(), image=(), planes=1)
    assert settings_for(len(ENGLISH), Settings(match_min=3), sample=ENGLISH).match_min == 3
    assert settings_for(100, Settings(cm_orders=(1, 2, 3, 4, 5, 6, 7, 8))).cm_orders == (
        1, 2, 3, 4, 5, 6, 7, 8)


def test_the_primer_makes_short_english_smaller_and_decodes():
    primed, plain = compress(ENGLISH), compress(ENGLISH, Settings(primer=0))
    assert (primed.settings.primer, plain.settings.primer) == (1, 0)
    assert len(primed.archive) < 0.8 * len(plain.archive)
    assert decompress(primed.archive) == ENGLISH
    assert decompress(plain.archive) == ENGLISH


def test_the_long_primer_goes_to_long_prose_and_to_max_and_decodes():
    """Format 15's primer 2 (the licence, then excerpts of novels): chosen for prose of
    LONG_PRIMER_FROM bytes or more, and at --level max for any prose."""
    from_ = model_module.LONG_PRIMER_FROM
    assert from_ == 65_536 < len(primer_bytes(2))     # a process about twice as long
    assert primer_bytes(2).startswith(primer_bytes(1))
    assert [model_module.primer_length(n) for n in (1, 2)] == [
        len(primer_bytes(n)) for n in (1, 2)]
    assert settings_for(from_ - 1, sample=ENGLISH).primer == 1
    assert settings_for(from_, sample=ENGLISH).primer == 2
    assert settings_for(None, sample=ENGLISH).primer == 1     # a pipe: its length unknown
    top = LEVELS["max"].settings
    assert settings_for(len(ENGLISH), top, sample=ENGLISH).primer == 2
    assert settings_for(len(CODE), top, sample=CODE).primer == 0
    assert settings_for(len(BINARY), top, sample=BINARY).primer == 0
    assert settings_for(len(ENGLISH), dataclasses.replace(top, primer=0),
                        sample=ENGLISH).primer == 0           # --no-primer
    # English it has not read codes smaller after the novels than after the licence
    # alone; a history shorter than the primer (2^17 bytes here) reads it through a ring
    small = Settings(hidden=8, table_bits=14)
    long, short = (compress(ENGLISH, dataclasses.replace(small, primer=p)) for p in (2, 1))
    assert long.settings.window_bits == 17 and len(primer_bytes(2)) > 1 << 17
    assert len(long.archive) < 0.97 * len(short.archive)
    assert decompress(long.archive) == ENGLISH


def test_a_primer_that_is_not_the_formats_is_refused(monkeypatch):
    name, _ = model_module.PRIMERS[1]
    monkeypatch.setitem(model_module.PRIMERS, 1, (name, "0" * 64))
    with pytest.raises(SpecError, match="reinstall"):
        compress(ENGLISH)


def test_the_column_context_learns_a_table():
    # Fixed-width records: what comes next is best told by the byte above it.
    rng = np.random.default_rng(1)
    names = ["alpha", "beta ", "gamma", "delta"]
    table = "".join(f"{i:05d} {rng.uniform(-9, 9):+7.3f} {names[rng.integers(4)]} "
                    f"{rng.integers(1000):03d}\n" for i in range(2500)).encode()
    # (the network's column context alone: the bit models have one too, format 7)
    with_column = compress(table, Settings(orders=parse_orders("1-4,c"), primer=0, cm_bits=0))
    without = compress(table, Settings(orders=parse_orders("1-4"), primer=0, cm_bits=0))
    assert COLUMN in with_column.settings.orders
    assert len(with_column.archive) < 0.95 * len(without.archive)
    assert decompress(with_column.archive) == table


def test_context_biases_make_binary_data_smaller():
    # (without the bit models, which learn some of what the biases do: 2% then, 1% with)
    with_biases = compress(BINARY, Settings(cm_bits=0))
    without = compress(BINARY, Settings(bias_orders=(), cm_bits=0))
    assert with_biases.settings.bias_orders and not without.settings.bias_orders
    assert len(with_biases.archive) < 0.99 * len(without.archive)
    assert decompress(with_biases.archive) == BINARY


def test_lines_longer_than_the_window_reach_round_trip():
    # The byte above lies more than half the window back: the column context must not
    # read it (the encoder's ring may hold newer bytes there than the decoder's).
    rng = np.random.default_rng(2)
    long_line = rng.integers(97, 123, 90_000, dtype=np.uint8).tobytes()
    data = long_line + b"\n" + long_line[:80_000] + b"\nshort\nlines\n" * 6000
    s = Settings(hidden=4, window_bits=17, orders=parse_orders("1,c,m"), primer=0)
    r = compress(data, s)
    assert r.settings.window_bits == 17
    assert decompress(r.archive) == data


def test_bad_rates_and_bias_orders_are_refused():
    for bad in (Settings(rates=(1.0, 2.0)), Settings(bias_orders=(9,)),
                Settings(bias_orders=(1, 2, 3, 4, 5)), Settings(bias_bits=5),
                Settings(primer=7), Settings(primer=-3), Settings(primer=True),
                Settings(lr_input=-1.0),
                Settings(output_bits=16), Settings(output_bits=True), Settings(skip=-0.1),
                Settings(skip=2.0), Settings(output_bits=64)):
        with pytest.raises(SpecError):
            bad.check()


def test_the_output_layer_in_float32_codes_as_well_as_in_float64():
    data = ENGLISH + BINARY[:8000] + CODE
    f32, f64 = compress(data), compress(data, Settings(output_bits=64, skip=0.0))
    assert f32.settings.output_bits == 32 and f64.settings.output_bits == 64
    assert abs(f32.bits.sum() - f64.bits.sum()) < 0.01 * f64.bits.sum()
    assert decompress(f32.archive) == data and decompress(f64.archive) == data


def test_int16_input_rows_code_as_well_as_float32_in_half_the_memory():
    """Format 13: the input rows in steps of 1/4096 (ROW_ONE) cost no more than float32's
    at the same number of rows; a row takes half the bytes, so the default memory holds
    twice the rows; both decode, and format 12's float32 rows can still be asked for."""
    from bottlenet.compress import kernels

    data = ENGLISH + BINARY[:8000] + CODE
    q, f = (compress(data, Settings(row_bits=bits, table_bits=16)) for bits in (16, 32))
    assert (q.settings.row_bits, f.settings.row_bits) == (16, 32)
    assert abs(q.bits.sum() - f.bits.sum()) < 0.002 * f.bits.sum()
    assert decompress(q.archive) == data and decompress(f.archive) == data
    s = settings_for(len(data), sample=ENGLISH)
    m = model_module.Model(s)
    assert m.predictor.E.dtype == np.int16 and m.predictor.E.shape[1] == 32
    big = [settings_for(2_000_000, Settings(row_bits=bits), sample=ENGLISH).table_bits
           for bits in (16, 32)]
    assert big == [21, 20]          # the default memory holds twice the rows
    # the rows learn within +-ROW_LIMIT whatever the steps: a huge input rate saturates
    hot = model_module.Model(settings_for(len(data), Settings(lr_input=1e3),
                                          sample=ENGLISH))
    hot.predictor.learn(np.frombuffer(data, np.uint8), 0, len(data), np.zeros(256, np.int64))
    assert np.abs(hot.predictor.E).max() == kernels.ROW_LIMIT
    with pytest.raises(SpecError, match="row bits are 16 or 32"):
        Settings(row_bits=8).check()


def test_the_skip_threshold_leaves_out_only_outputs_that_do_not_matter():
    # A threshold above every probability freezes the output layer (it must cost a lot);
    # the default one must cost next to nothing against learning every output. (The
    # network alone: the bit models would make up for much of a frozen output layer.)
    data = ENGLISH + BINARY[:8000] + CODE
    default, every, frozen = (compress(data, Settings(skip=skip, cm_bits=0)).bits.sum()
                              for skip in (Settings.skip, 0.0, 1.0))
    assert frozen > 1.1 * every
    assert default < 1.005 * every


def test_tables_start_on_a_cache_line():
    m = model_module.Model(settings_for(1 << 20, sample=ENGLISH))
    for table in (m.predictor.E, m.predictor.B):           # (the tables of at least 2 MiB)
        assert table.ctypes.data % 64 == 0 and not table.any()


@pytest.mark.parametrize("missing", ["MAP_PRIVATE", "MADV_HUGEPAGE"])
def test_without_private_mappings_or_huge_pages_the_archive_is_the_same(monkeypatch, missing):
    """Windows has no MAP_PRIVATE (the tables are then plain NumPy zeros), macOS no
    MADV_HUGEPAGE (the mapping is not advised): forced here, the same bytes come out.
    (With a large input's history, so that the tables ask for huge pages.)"""
    import mmap

    text = b"the quick brown fox jumps over the lazy dog; " * 200
    large = Settings(window_bits=model_module.HUGE_PAGES_FROM)
    want = compress(text, large).archive
    mapped = []
    real_mmap = mmap.mmap
    monkeypatch.setattr(mmap, "mmap", lambda *a, **k: mapped.append(a) or real_mmap(*a, **k))
    monkeypatch.delattr(mmap, missing)
    assert compress(text, large).archive == want
    assert decompress(want) == text
    assert bool(mapped) == (missing != "MAP_PRIVATE")  # which path the tables took


def test_only_large_inputs_tables_ask_for_huge_pages(monkeypatch):
    """Huge pages are zeroed whole at first touch, up to a second and a half of a
    process's time (model.HUGE_PAGES_FROM): a small input's tables do not ask for them,
    a large input's and a pipe's (length unknown) do."""
    asked = []
    real = model_module._zeros
    monkeypatch.setattr(model_module, "_zeros", lambda shape, dtype, huge_pages:
                        asked.append(huge_pages) or real(shape, dtype, huge_pages))
    for size, huge in ((10_000, False), (300_000, False), (600_000, True), (None, True)):
        asked.clear()
        model_module.Model(settings_for(size, sample=ENGLISH))
        assert asked and set(asked) == {huge}, size


def test_levels_change_only_units_skip_apms_bit_models_primer_and_memory():
    """`compress --level` relies on this: every other option's default is every level's."""
    assert LEVELS["default"].settings == Settings() and LEVELS["default"].memory is None
    for name, level in LEVELS.items():
        changed = {f.name for f in dataclasses.fields(Settings)
                   if getattr(level.settings, f.name) != getattr(Settings(), f.name)}
        assert changed <= {"hidden", "skip", "apm", "cm_bits", "primer"}, name
        level.settings.check()


def test_other_data_gets_the_sparse_contexts_and_they_make_it_smaller():
    from bottlenet.compress.model import DEFAULT_ORDERS

    other = settings_for(len(BINARY), sample=BINARY)
    assert other.orders == DEFAULT_ORDERS + PROFILES["other"].added_orders
    assert len(other.rates) == len(other.orders)
    assert settings_for(len(ENGLISH), sample=ENGLISH).orders == DEFAULT_ORDERS
    mine = Settings(orders=(1, 2, 3, MATCH))
    assert settings_for(len(BINARY), mine, sample=BINARY).orders == (1, 2, 3, MATCH)
    with_sparse = compress(BINARY).archive
    # rates given: the orders stay as given, the default contexts alone
    without = compress(BINARY, Settings(rates=(1.0,) * len(DEFAULT_ORDERS))).archive
    assert len(with_sparse) < len(without)
    assert decompress(with_sparse) == BINARY


def test_the_apms_refine_the_bits_and_decode():
    """Format 6 codes each byte as 8 bits through three adaptive probability maps and a
    mixer (apm=1); apm=0 codes it whole, as formats 1-5 did. Both decode, blocks stored raw included
    (their bytes move the maps on both sides: test_compress_stream)."""
    from bottlenet.compress import kernels

    table = kernels.apm_table()
    assert len(table) == kernels.APM_MAPS * kernels.APM_SIZE
    assert len(kernels.mixer_table()) == kernels.MIX_SETS * kernels.MIX_INPUTS
    first = table[:kernels.APM_STEPS].astype(int)
    assert (np.diff(first) > 0).all() and 0 < first[0] < 64 and first[-1] > 65536 - 64
    part_pays(BINARY, Settings(), Settings(apm=0, cm_bits=0), "apm")
    with pytest.raises(SpecError, match="apm is 0 or 1"):
        Settings(apm=2).check()


def test_the_bit_models_join_the_mixer_and_decode():
    """Format 7 adds bit models (cm_bits: counters in hashed buckets, one per context and
    nibble) as the mixer's inputs; cm_bits=0 is format 6's model exactly. Both decode,
    the bit models make text and other data smaller, and they need the maps."""
    from bottlenet.compress import kernels

    for data in (ENGLISH, BINARY):
        part_pays(data, Settings(), Settings(cm_bits=0), "cm_bits", values=(16, 0))
    assert kernels.cm_entries(10, 8) == 8 * kernels.CM_BUCKET << 10
    assert Settings().bit_models_memory() == 36 << 20    # the text profile's 9 contexts
    assert Settings(cm_orders=(1, 2, 3)).bit_models_memory() == 12 << 20
    assert Settings(cm_bits=0).bit_models_memory() == 0
    with pytest.raises(SpecError, match="bit model bits"):
        Settings(apm=0).check()           # the bit models feed the maps' mixer
    with pytest.raises(SpecError, match="bit model bits"):
        Settings(cm_bits=5).check()
    for wrong in (tuple(range(1, 9)) * 2, (1,) * 8, (1, 2, 3, 4, 5, 6, 7, 99)):
        with pytest.raises(SpecError, match="1 to 12 different contexts"):
            Settings(cm_orders=wrong).check()


def test_records_are_found_and_their_contexts_pay():
    """Format 8: the record length is found in the data (a byte value recurring at one
    distance, as paq8's record model finds it); other data's bit models then read the
    bytes one and two records back and the byte above with the last one. Fixed-length
    records and a raster image (a bitmap stored row after row, read here as other data:
    test_compress_image.py has bilevel images' own profile) shrink by a third or more
    against format 7's contexts; English finds no record length."""
    import struct

    from bottlenet.compress import kernels

    records = b"".join(struct.pack("<IHf", i, i * 7919 % 65536, i / 3) for i in range(2000))
    row = np.zeros(48, np.uint8)
    row[[5, 20, 33]] = [0x18, 0xFF, 0x81]
    image = np.tile(row, (400, 1))
    image[np.random.default_rng(1).random(image.shape) < 0.02] ^= 0x10
    image_bytes = image.tobytes()
    assert kernels.record_length(records) == 10
    assert kernels.record_length(image_bytes) == 48
    assert kernels.record_length(ENGLISH) == 0
    assert kernels.record_length(bytes(300)) == 0    # a run: every byte 1 apart
    format7 = Settings(cm_orders=(1, 2, 3, 4, 6, kernels.WORD, kernels.SPARSE_23, kernels.ALIGN),
                       image=())
    for data in (records, image_bytes):
        now = compress(data, Settings(image=()))
        assert kernels.RECORD in now.settings.cm_orders
        assert len(now.archive) < 0.67 * len(compress(data, format7).archive)
        assert decompress(now.archive) == data


def test_markup_is_found_and_its_contexts_pay():
    """Format 9: text (UTF-8 too) with a '<' and a '>' in every 300 bytes is markup; the markup
    contexts (the last tag's name and where the input is in the markup, with the last
    byte and with the current word) make XML smaller than the text profile's contexts;
    prose and code stay text. The state follows tags, attributes and their values."""
    from bottlenet.compress import kernels

    assert kernels.markup_state(b"")[0] == kernels.MARKUP_CONTENT
    assert kernels.markup_state(b"<title")[0] == kernels.MARKUP_NAME
    assert kernels.markup_state(b'<a href="x')[0] == kernels.MARKUP_VALUE
    assert kernels.markup_state(b'<a href="x" ')[0] == kernels.MARKUP_TAG
    content, tag = kernels.markup_state(b'<a href="x">text')
    assert content == kernels.MARKUP_CONTENT and tag == kernels.markup_state(b"<a")[1]
    assert kernels.markup_state(b"</a>")[1] != tag     # a closing tag is its own name
    assert kernels.markup_state(bytes(range(256)) * 3)[0] in range(4)   # any input
    rng = np.random.default_rng(3)
    words = [b"river", b"mill", b"bridge", b"sailor", b"bread", b"summer", b"field"]
    xml = b"".join(
        b'<entry id="%d" kind="%s">\n  <title>The %s</title>\n  <note lang="en">%s %s'
        b"</note>\n</entry>\n" % (i, rng.choice(words), rng.choice(words),
                                   rng.choice(words), rng.choice(words))
        for i in range(300))
    assert model_module.profile_of(xml) == "markup"
    assert model_module.profile_of(ENGLISH) == model_module.profile_of(CODE) == "text"
    assert model_module.profile_of(BINARY) == "other"
    assert model_module.profile_of(np.random.default_rng(0).bytes(1 << 16)) == "other"
    # markup in other languages than English: UTF-8 beside the tags
    assert model_module.profile_of(xml.replace(b"river", "rivière".encode())) == "markup"
    now = compress(xml)
    assert kernels.MARKUP in now.settings.orders
    assert {kernels.MARKUP, kernels.MARKUP_WORD} <= set(now.settings.cm_orders)
    text = PROFILES["text"]
    as_text = compress(xml, Settings(orders=model_module.DEFAULT_ORDERS,
                                     cm_orders=text.cm_orders,
                                     rates=tuple(text.rates.get(o, 1.0)
                                                 for o in model_module.DEFAULT_ORDERS)))
    assert len(now.archive) < 0.99 * len(as_text.archive)   # 897 against 913 bytes
    assert decompress(now.archive) == xml and decompress(as_text.archive) == xml
    assert parse_orders("1,x,xw") == (1, kernels.MARKUP, kernels.MARKUP_WORD)
    # the state is kept whenever a context reads it: the network's alone too
    net_only = Settings(orders=(1, 2, 3, WORD), cm_bits=0)
    with_x = dataclasses.replace(net_only, orders=net_only.orders + (kernels.MARKUP,))
    part_pays(xml, with_x, net_only, "orders", (with_x.orders, net_only.orders))


def test_the_indirect_context_pays_on_other_data():
    """Format 9: other data's bit models (and markup's) read the last byte with the two
    bytes that followed it the last times (paq8's indirect context): machine code
    shrinks; English (the text profile) does not get it."""
    from bottlenet.compress import kernels

    now = compress(BINARY)
    assert kernels.INDIRECT_1 in now.settings.cm_orders
    assert kernels.INDIRECT_1 not in compress(ENGLISH).settings.cm_orders
    without = compress(BINARY, Settings(cm_orders=tuple(
        o for o in now.settings.cm_orders if o != kernels.INDIRECT_1)))
    assert len(now.archive) < len(without.archive)
    assert decompress(now.archive) == BINARY and decompress(without.archive) == BINARY
    assert parse_orders("i1,i2") == (kernels.INDIRECT_1, kernels.INDIRECT_2)
    net_only = Settings(orders=(1, 2, 3, WORD), cm_bits=0)
    with_i2 = dataclasses.replace(net_only, orders=net_only.orders + (kernels.INDIRECT_2,))
    part_pays(BINARY, with_i2, net_only, "orders", (with_i2.orders, net_only.orders))


def part_pays(data: bytes, on: Settings, off: Settings, field: str,
              values: tuple[int, int] = (1, 0)) -> None:
    """A part of the model (the settings' `field`, at values[0] in `on`, values[1] in
    `off`) makes `data` smaller (its coded bytes: the settings' header, deflated, may
    differ by a byte either way), and both archives decode."""
    with_part, without = compress(data, on), compress(data, off)
    assert (getattr(with_part.settings, field), getattr(without.settings, field)) == values
    assert _coded(with_part.archive) < _coded(without.archive)
    assert decompress(with_part.archive) == data and decompress(without.archive) == data


def _coded(archive: bytes) -> int:
    """An archive's bytes after its settings (8 bytes, then as many as bytes 6-7 say)."""
    return len(archive) - 8 - int.from_bytes(archive[6:8], "little")


def test_count_maps_refine_the_counters():
    """Format 8 reads each bit model's counter through a map by context and count (what
    a probability after so many bits, and after this last bit, has been worth); cm_map=0
    is format 7's reading.
    The maps make text and other data smaller; both decode; they need the bit models."""
    for data in (ENGLISH, BINARY):
        part_pays(data, Settings(), Settings(cm_map=0), "cm_map")
    with pytest.raises(SpecError, match="cm_map is 0 or 1"):
        Settings(cm_map=2).check()


def test_buckets_of_four_places_keep_the_contexts_seen_often():
    """Format 8: a context's bucket may take 4 places, the least used replaced; format
    7's one place lets contexts seen once evict those seen often. In small tables
    (cm_bits 10: 1024 buckets a context) the four places make English smaller."""
    path = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "alice29.txt"
    if not path.exists():
        pytest.skip(f"corpus text {path} not present in this checkout")
    text = path.read_bytes()[:100_000]
    part_pays(text, Settings(cm_bits=10), Settings(cm_bits=10, cm_ways=1), "cm_ways",
              values=(4, 1))
    with pytest.raises(SpecError, match="cm_ways is 1, 2 or 4"):
        Settings(cm_ways=3).check()


def test_a_final_mixer_of_three_mixers():
    """Format 8 adds a third mixer (weights by the last byte) and mixes the three by a
    final mixer (weights chosen as the first's) in place of format 7's mean of two, and
    leaves out the two maps of the network's probability by the last bytes. Other data
    gets smaller; both decode; it needs the bit models."""
    from bottlenet.compress import kernels

    part_pays(BINARY, Settings(), Settings(final_mixer=0), "final_mixer")
    assert len(kernels.mixer_table(8, True)) == (
        kernels.MIX_WIDE_SETS + kernels.MIX_BYTE_SETS + kernels.MIX_FINAL_SETS) * 13
    with pytest.raises(ValueError, match="final mixer"):
        kernels.mixer_table(0, True)
    # beside it, the network's probability goes through the match map alone (the maps by
    # the last bytes are not made: 6 MiB)
    assert len(kernels.apm_table(True, True)) == (2 * kernels.APM_SIZE
                                                   + kernels.CM_MAPS_SIZE)
    assert len(kernels.apm_table(True)) == (kernels.APM_WIDE_MAPS * kernels.APM_SIZE
                                            + kernels.CM_MAPS_SIZE)
    with pytest.raises(SpecError, match="final_mixer is 0 or 1"):
        Settings(final_mixer=2).check()
    # the first mixers learn faster at the start (other data: MIXER_BOOST)
    part_pays(BINARY, Settings(), Settings(mixer_boost=0), "mixer_boost",
              values=(model_module.MIXER_BOOST, 0))
    with pytest.raises(SpecError, match="mixer_boost"):
        Settings(mixer_boost=256).check()


def test_confidence_inputs_and_a_second_final_map():
    """Format 10 gives the mixers a second input per bit model's context, its first
    scaled by how many bits the context has seen (kernels.CM_TRUST: the mixer learns how
    far to trust a context by its age), and refines the final probability by a second
    map, by the last byte and the tree node. The inputs make text and other data
    smaller, the map text; every archive decodes; the tables have their sizes; both
    need the bit models."""
    from bottlenet.compress import kernels
    from test_compress_planes import prose

    text = prose(20_000, seed=3).encode()    # (561 bytes of English were too few to tell)
    for data in (text, BINARY):
        part_pays(data, Settings(primer=0), Settings(primer=0, cm_confidence=0),
                  "cm_confidence")
    part_pays(text, Settings(primer=0), Settings(primer=0, final_maps=1), "final_maps",
              values=(2, 1))
    wide = kernels.MIX_WIDE_SETS + kernels.MIX_BYTE_SETS + kernels.MIX_FINAL_SETS
    assert len(kernels.mixer_table(8, True, True)) == wide * (kernels.MIX_INPUTS + 16)
    assert len(kernels.apm_table(True, True, 2)) == (3 * kernels.APM_SIZE
                                                      + kernels.CM_MAPS_SIZE)
    with pytest.raises(ValueError, match="confidence inputs go with"):
        kernels.mixer_table(0, False, True)
    with pytest.raises(ValueError, match="final mixer"):
        kernels.apm_table(True, False, 2)
    with pytest.raises(SpecError, match="cm_confidence is 0 or 1"):
        Settings(cm_confidence=2).check()
    with pytest.raises(SpecError, match="final_maps is 1 or 2"):
        Settings(final_maps=3).check()
    # without the bit models (--level fast) neither is made, whatever the settings say
    fast = compress(ENGLISH, Settings(cm_bits=0))
    assert decompress(fast.archive) == ENGLISH
