"""The model in two threads. The encoder (kernels.pyx: _pipelined): the network
predicts in the calling thread and a second one codes the bits, for the same archive
bytes as one thread writes. The decoder (_guessing): the network takes its step on its
likeliest byte while the second thread decodes the bits, and undoes that step when the
byte decoded is another; the same bytes come out as from the loop of one thread, guesses
right or wrong (kernels.guess_wrong_every makes them wrong on purpose here). model.py has
the decoder guess only where the tables have huge pages (large inputs); here it guesses
on small inputs too, wherever two threads are taken."""

from __future__ import annotations

import numpy as np
import pytest

from bottlenet.compress import Settings, model
from bottlenet.compress.container import ArchiveError
from conftest import needs_kernels

needs_kernels()

from bottlenet.compress import codec, kernels  # noqa: E402  (after the kernels are known built)

PROSE = (b"It was the best of times, it was the worst of times, it was the age of wisdom, "
         b"it was the age of foolishness, it was the epoch of belief, it was the epoch of "
         b"incredulity, it was the season of Light, it was the season of Darkness. ")


def _inputs() -> dict[str, tuple[bytes, Settings | None]]:
    rng = np.random.default_rng(7)
    words = PROSE.split()
    text = b" ".join(words[int(i)] for i in rng.integers(0, len(words), 2500))
    records = b"".join(i.to_bytes(2, "little") + bytes([i % 7, 65 + i % 26]) + b"REC"
                       for i in range(3000))
    markup = b"".join(b'<item n="%d">%s</item>\n' % (i, words[i % len(words)])
                      for i in range(600))
    image = b"P5\n96 96\n255\n" + bytes((3 * x + 5 * y + (x * y) % 7) % 256
                                       for y in range(96) for x in range(96))
    return {
        "text": (text, None),                                   # words, the primer
        "other data": (records + bytes(rng.integers(0, 256, 4000, np.uint8)), None),
        "markup": (markup, None),
        "image": (image, None),
        "UTF-16": (text[:6000].decode().encode("utf-16-le"), None),
        "maps, no bit models": (text, Settings(cm_bits=0)),
        "48 units, the novels": (text, Settings(hidden=48, primer=2)),
    }


@pytest.fixture
def built(monkeypatch):
    """The models codec builds, kept for a look at their counters; each decoder
    guesses where it has two threads."""
    models = []
    build = codec._build

    def keep(s, extra=0):
        m = build(s, extra)
        m.predictor.guessing = m.predictor.two_threads
        models.append(m)
        return m
    monkeypatch.setattr(codec, "_build", keep)
    return models


@pytest.fixture
def wrong_guesses():
    yield kernels.guess_wrong_every
    kernels.guess_wrong_every(0)


@pytest.mark.parametrize("kind", list(_inputs()))
def test_two_threads_write_and_read_the_bytes_one_thread_does(kind, monkeypatch, built):
    data, settings = _inputs()[kind]
    archives = {}
    for two in (False, True):
        monkeypatch.setattr(model, "TWO_THREADS", two)
        built.clear()
        archives[two] = codec.compress(data, settings).archive
        calls = sum(m.predictor.calls_in_two_threads for m in built)
        assert (calls > 0) == two, calls     # the path under test was taken (or not)
    assert archives[True] == archives[False]
    for two in (False, True):
        monkeypatch.setattr(model, "TWO_THREADS", two)
        built.clear()
        assert codec.decompress(archives[True]) == data
        guesses = sum(m.predictor.guesses_right + m.predictor.guesses_wrong for m in built)
        assert (guesses > 0) == two, guesses
    right = sum(m.predictor.guesses_right for m in built)
    assert right > 0.3 * len(data)           # (the bytes are no surprise to the model)


@pytest.mark.parametrize("every", [1, 3])
@pytest.mark.parametrize("kind", list(_inputs()))
def test_every_wrong_guess_is_undone(kind, every, monkeypatch, built, wrong_guesses):
    """Each step on a wrong guess is put back whole: with every guess (or every third
    one) made wrong, the bytes still come out right."""
    data, settings = _inputs()[kind]
    monkeypatch.setattr(model, "TWO_THREADS", True)
    archive = codec.compress(data, settings).archive
    built.clear()
    wrong_guesses(every)
    assert codec.decompress(archive) == data
    wrong = sum(m.predictor.guesses_wrong for m in built)
    assert wrong > (0.9 if every == 1 else 0.3) * len(data) / every


def test_a_damaged_stream_is_refused_in_two_threads(monkeypatch, built):
    """The bits' thread stops where the stream runs out, and the network's with it."""
    monkeypatch.setattr(model, "TWO_THREADS", True)
    data = _inputs()["text"][0]
    archive = bytearray(codec.compress(data).archive)
    for at in (len(archive) // 3, len(archive) // 2):
        damaged = archive[:]
        damaged[at] ^= 0x5A
        with pytest.raises(ArchiveError):
            codec.decompress(bytes(damaged))
    with pytest.raises(ArchiveError):
        codec.decompress(bytes(archive[:len(archive) // 2]))


def test_short_calls_stay_in_one_thread(monkeypatch):
    monkeypatch.setattr(model, "TWO_THREADS", True)
    m = codec._build(codec.settings_for(len(PROSE) * 40, Settings(primer=0), sample=PROSE))
    data = np.frombuffer(PROSE * 40, np.uint8)
    p, freq = m.predictor, np.zeros(256, np.int64)
    p.learn(data, 0, 4095, freq)
    assert p.calls_in_two_threads == 0
    p.learn(data, 4095, len(data), freq)
    assert p.calls_in_two_threads == 1


def test_small_inputs_tables_are_shared_mappings_large_ones_ask_for_huge_pages(monkeypatch):
    """Two threads for every model: a small input's tables in a shared mapping (a page
    given at its first touch, read or write: no zero page copied at a write, no TLB flush
    sent to the other thread's core), a large one's in private huge pages."""
    import mmap

    monkeypatch.setattr(model, "TWO_THREADS", True)
    flags = []
    real_mmap = mmap.mmap
    monkeypatch.setattr(mmap, "mmap", lambda *a, **k: flags.append(k.get("flags"))
                        or real_mmap(*a, **k))
    small = codec._build(codec.settings_for(100_000, sample=PROSE))
    shared = {f & (mmap.MAP_SHARED | mmap.MAP_PRIVATE) for f in flags}
    assert small.predictor.two_threads and shared == {mmap.MAP_SHARED}
    assert not small.predictor.guessing
    flags.clear()
    large = codec._build(codec.settings_for(4 << 20, sample=PROSE))
    private = {f & (mmap.MAP_SHARED | mmap.MAP_PRIVATE) for f in flags}
    assert large.predictor.two_threads and large.predictor.guessing == model.HUGE_PAGES
    assert private == ({mmap.MAP_PRIVATE} if model.HUGE_PAGES else {mmap.MAP_SHARED})
