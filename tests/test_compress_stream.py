"""Formats 3-4 stream: blocks, a bounded history window, and readers and writers that
never hold the whole input."""

import base64
import io

import numpy as np
import pytest

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import ArchiveError, Settings, codec, coder, container, decompress
from bottlenet.compress.model import DEFAULT_MEMORY, LARGE_MEMORY, WORD

SMALL = Settings(hidden=8, orders=(1, 2, 3, WORD), table_bits=12)
TEXT = b"the quick brown fox jumps over the lazy dog; " * 200


class Trickle(io.RawIOBase):
    """A pipe-like source: at most `step` bytes a read; records what was asked."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.at, self.asked = data, step, 0, []

    def readable(self):
        return True

    def read(self, n=-1):
        self.asked.append(n)
        take = self.step if n is None or n < 0 else min(n, self.step)
        piece = self.data[self.at:self.at + take]
        self.at += len(piece)
        return piece


class Recorder(io.RawIOBase):
    """A sink that records, with every write, how much of the source was read by then."""

    def __init__(self, source: Trickle | None = None):
        self.source, self.parts, self.read_by = source, [], []

    def writable(self):
        return True

    def write(self, b):
        self.parts.append(bytes(b))
        self.read_by.append(self.source.at if self.source else 0)
        return len(b)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(container, "BLOCK", 4096)


def test_blocks_stream_in_and_out_without_the_whole_input(small_blocks):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 9000, dtype=np.uint8).tobytes()
    data = TEXT[:6000] + noise + TEXT[:7000]     # some blocks code, the noise is stored
    source = Trickle(data, 1000)
    sink = Recorder(source)
    r = codec.compress_stream(source, sink, None, SMALL)
    assert r.original_length == len(data) and not r.stored
    assert max(n for n in source.asked if n is not None) <= container.BLOCK
    assert -1 not in source.asked                      # never "read everything"
    # the header and the first blocks went out long before the input ended
    assert sum(1 for at in sink.read_by if at < len(data)) >= 3
    archive = b"".join(sink.parts)
    assert len(archive) == r.archive_length
    blocks, rest = [], io.BytesIO(archive[8:])
    container.read_head(archive[:8], rest.read)
    while (b := container.read_block(rest.read, len(blocks) + 1, container.BLOCK)) is not None:
        blocks.append(b)
    assert len(blocks) == -(-len(data) // 4096)
    assert any(stored for _, stored, _ in blocks) and not all(s for _, s, _ in blocks)
    # decoding streams too: every block is written before the next one is read
    source = Trickle(archive, 500)
    out = Recorder(source)
    assert codec.decompress_stream(source, out) == len(data)
    assert b"".join(out.parts) == data
    assert out.read_by[0] < len(archive) // 2


def test_an_unknown_length_takes_the_largest_window_and_table():
    s = codec.settings_for(None)     # within a long input's memory: under 300 MB in all
    assert s.window_bits == 25 and s.table_bits == 21 and s.memory_bytes() <= LARGE_MEMORY
    assert s.memory_bytes() > DEFAULT_MEMORY    # (2^21 rows would not fit in 184 MiB)
    bible = codec.settings_for(4_047_392)           # bible.txt: 2^23 of history
    assert bible.table_bits == 21 and bible.memory_bytes() <= DEFAULT_MEMORY
    assert codec.settings_for(9_000_000).table_bits == 21   # longer than 4 MiB
    roomy = codec.settings_for(None, memory=1 << 30)
    assert roomy.window_bits == 25 and roomy.table_bits == 22
    capped = codec.settings_for(None, memory=64 << 20)
    assert capped.table_bits < 22 and capped.window_bits == 24 and capped.memory_bytes() <= 64 << 20
    tight = codec.settings_for(None, memory=1 << 20)   # a quarter for the history
    assert tight.window_bits == 18 and tight.memory_bytes() <= 1 << 20
    known = codec.settings_for(10_000)
    assert known.window_bits == 17 and known.table_bits < 22


def test_a_pipe_that_ends_within_its_first_block_is_sized_as_a_file():
    # (a pipe's length is not known, so its model takes the largest window and table;
    # when the input ends before the first block is full, its length is known after all)
    short = TEXT[:5000]
    sink = Recorder()
    r = codec.compress_stream(Trickle(short, 700), sink, None)
    want = codec.compress(short)
    assert r.settings == want.settings and b"".join(sink.parts) == want.archive
    assert r.settings.table_bits < codec.settings_for(None).table_bits
    assert r.settings.window_bits == 17
    sink = Recorder()                    # an empty pipe: an archive of nothing
    codec.compress_stream(Trickle(b"", 700), sink, None)
    assert codec.decompress(b"".join(sink.parts)) == b""


def test_a_pipe_longer_than_a_block_takes_the_largest_window(small_blocks):
    s = codec.compress_stream(Trickle(TEXT[:6000], 1000), Recorder(), None, SMALL).settings
    assert s.window_bits == codec.settings_for(None, SMALL).window_bits == 25


def test_the_match_model_reaches_half_the_window_back():
    # A random block repeated 70,000 bytes later: beyond the reach of a 2^17-byte window
    # (64 KiB back), within that of a 2^18-byte one. Both decode. (Without the bit
    # models, whose order-3+ counters, seen once, would know the copy at any distance.)
    block = np.random.default_rng(1).integers(0, 256, 70_000, dtype=np.uint8).tobytes()
    data = block + block[:3000]
    costs = {}
    for bits in (17, 18):
        r = codec.compress(data, Settings(hidden=8, orders=(1, 2, WORD, -3), table_bits=20,
                                          window_bits=bits, cm_bits=0))
        assert decompress(r.archive) == data
        costs[bits] = r.bits[len(block) + 100:].mean()
    assert costs[18] < 1.0 < 6.0 < costs[17]


def head_end(archive: bytes) -> int:
    """Where an archive's header ends: 8 bytes, the settings, the fingerprint and the
    header's CRC."""
    return 8 + int.from_bytes(archive[6:8], "little") + 8


def first_block_damaged(archive: bytes) -> bytes:
    """The archive with one bit flipped in its first block's bytes."""
    at = head_end(archive) + 20
    return archive[:at] + bytes([archive[at] ^ 1]) + archive[at + 1:]


def test_damaged_blocks_and_lengths_are_refused(small_blocks):
    archive = codec.compress(TEXT[:9000], SMALL).archive
    end = head_end(archive)
    with pytest.raises(ArchiveError, match="block 1"):      # a block's bytes
        decompress(first_block_damaged(archive))
    huge = container.pack_block(container.BLOCK + 1, b"x", True)
    with pytest.raises(ArchiveError, match="more than a block holds"):
        decompress(archive[:end] + huge)
    with pytest.raises(ArchiveError, match="no valid length"):
        decompress(archive[:end] + b"\xff" * 12)
    with pytest.raises(ArchiveError, match="truncated inside its trailer"):
        decompress(archive[:-3])
    short = container.pack_block(100, TEXT[:100], True)  # then a block after a short one
    with pytest.raises(ArchiveError, match="block 2 follows a block that is not full"):
        decompress(archive[:end] + short + short)


def test_a_damaged_first_block_is_refused_before_the_model_is_built(monkeypatch):
    # The fuzzer's slowest inputs (2026-12-07) were damaged archives that built and
    # primed a model (0.1-0.4 s each) before a checksum refused their first block
    damaged = first_block_damaged(codec.compress(TEXT[:3000], SMALL).archive)

    def no_model(*_args, **_kwargs):
        raise AssertionError("a model was built for a damaged first block")

    monkeypatch.setattr(codec, "_build", no_model)
    with pytest.raises(ArchiveError, match="block 1 checksum"):
        decompress(damaged)


def test_a_block_that_claims_more_than_its_coded_bytes_hold_is_refused_before_decoding():
    # Found by the fuzzer (format 8's seeds): a format 7 header, then a block claiming
    # 740,896 bytes from no coded bytes at all. The coder reads zeros past a stream's
    # end, on which the confident model decoded 700 KB (2 s) before the trailer check.
    found = base64.b64decode("Qk5aGgcBDgCrHs2mwymbWqLHsHktAHeELWRLhloKwLhaAAAAAAAALQmq"
                             "PAn4syZhLA==")
    with pytest.raises(ArchiveError, match="claims 740,896 bytes, more than its 0 coded"):
        decompress(found)
    # Zeros, about the most a coded byte ever holds (some 760 bytes), stay inside the
    # bound (1,423 bytes a coded byte, from the least probability a byte can have)
    zeros = bytes(300_000)
    archive = codec.compress(zeros).archive
    assert decompress(archive) == zeros
    assert len(zeros) <= codec._most_held(len(archive) - 30) / 1.5


def test_the_decoder_stops_as_soon_as_it_reads_past_its_stream():
    m = codec._build(codec.settings_for(len(TEXT), SMALL, sample=TEXT))
    state = np.zeros(coder.STATE_SIZE, np.int64)
    empty = np.zeros(0, np.uint8)
    coder.decoder_start(state, empty)
    out = np.zeros(1 << 16, np.uint8)
    freq, cum = np.zeros(256, np.int64), np.zeros(257, np.int64)
    m.predictor.decode(empty, 0, len(out), state, out, freq, cum)
    # it stopped at the first byte past the flush bytes, not at the chunk's end
    assert state[coder.POS] == coder.FLUSH_BYTES + 1
