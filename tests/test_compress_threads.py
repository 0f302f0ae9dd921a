"""The encoder in two threads (kernels.pyx: _pipelined): the network predicts in the
calling thread and a second one codes the bits, for the same archive bytes as one thread
writes. Here both paths are forced on small inputs (model.py takes two threads only with
huge pages: HUGE_PAGES_FROM set to 0 asks for them everywhere)."""

from __future__ import annotations

import numpy as np
import pytest

from bottlenet.compress import Settings, model
from conftest import needs_kernels

needs_kernels()

from bottlenet.compress import codec  # noqa: E402  (after the kernels are known built)

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


@pytest.mark.parametrize("kind", list(_inputs()))
def test_two_threads_write_the_bytes_one_thread_writes(kind, monkeypatch):
    data, settings = _inputs()[kind]
    monkeypatch.setattr(model, "HUGE_PAGES_FROM", 0)
    built = []
    build = codec._build
    monkeypatch.setattr(codec, "_build", lambda s, extra=0: built.append(build(s, extra))
                        or built[-1])
    archives = {}
    for two in (False, True):
        monkeypatch.setattr(model, "TWO_THREADS", two)
        built.clear()
        archives[two] = codec.compress(data, settings).archive
        calls = sum(m.predictor.calls_in_two_threads for m in built)
        assert (calls > 0) == two, calls     # the path under test was taken (or not)
    assert archives[True] == archives[False]
    assert codec.decompress(archives[True]) == data


def test_short_calls_stay_in_one_thread(monkeypatch):
    monkeypatch.setattr(model, "HUGE_PAGES_FROM", 0)
    monkeypatch.setattr(model, "TWO_THREADS", True)
    m = codec._build(codec.settings_for(len(PROSE) * 40, Settings(primer=0), sample=PROSE))
    data = np.frombuffer(PROSE * 40, np.uint8)
    p, freq = m.predictor, np.zeros(256, np.int64)
    p.learn(data, 0, 4095, freq)
    assert p.calls_in_two_threads == 0
    p.learn(data, 4095, len(data), freq)
    assert p.calls_in_two_threads == 1


def test_threads_are_taken_only_with_huge_pages(monkeypatch):
    monkeypatch.setattr(model, "TWO_THREADS", True)
    small = codec._build(codec.settings_for(100_000, sample=PROSE))
    large = codec._build(codec.settings_for(4 << 20, sample=PROSE))
    assert not small.predictor.two_threads and large.predictor.two_threads
