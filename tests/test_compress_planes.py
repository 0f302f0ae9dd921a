"""Format 14's planes: UTF-16 text read a chunk at a time as its even bytes, then its odd
ones (planes.py); found by its bytes, undone by the decoder chunk by chunk."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from bottlenet.compress import Settings, planes
from bottlenet.errors import SpecError
from conftest import needs_kernels

PROSE = ("It was the best of times, it was the worst of times, it was the age of wisdom, "
         "it was the age of foolishness, it was the epoch of belief, it was the epoch of "
         "incredulity, it was the season of Light, it was the season of Darkness. ")


def prose(n: int, seed: int = 0) -> str:
    """n characters of English: runs of 3-11 words of the GPL (the primer's text) from
    places chosen at random, so that it never repeats for long."""
    from importlib import resources

    words = (resources.files("bottlenet.compress").joinpath("primers", "gpl-3.txt")
             .read_text().split())
    rng = np.random.default_rng(seed)
    out: list[str] = []
    while sum(len(w) + 1 for w in out) < n:
        at = int(rng.integers(0, len(words) - 12))
        out.extend(words[at:at + int(rng.integers(3, 12))])
    return " ".join(out)[:n]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 65_536, 65_537, 131_073, 200_001])
def test_split_and_join_are_inverse_chunk_by_chunk(n):
    data = np.random.default_rng(n).integers(0, 256, n, np.uint8)
    split = planes.split(data, 65_536)
    assert len(split) == n
    back = [planes.join(split[i:i + 65_536]) for i in range(0, n, 65_536)]
    assert (np.concatenate(back) if back else split).tobytes() == data.tobytes()
    if n >= 4:   # the even bytes first, then the odd ones
        assert split[0] == data[0] and split[1] == data[2]
        assert split[min(n, 65_536) // 2] == data[1]


def test_utf16_text_is_found_in_either_byte_order():
    needs_kernels()
    from bottlenet.compress.model import looks_like_utf16

    text = PROSE * 10
    assert looks_like_utf16(text.encode("utf-16-le"))
    assert looks_like_utf16(text.encode("utf-16-be"))
    assert looks_like_utf16(text.encode("utf-16"))                # with its byte-order mark
    assert planes.text_plane(text.encode("utf-16-be")) == text.encode()
    # not UTF-16: UTF-8 text, zeros, binary numbers whose high bytes are zero, too little
    numbers = (np.arange(3000, dtype=np.uint16) % 251 + 1).astype("<u2").tobytes()
    assert planes.zeros_alternate(numbers)           # zeros alternate, but not with text
    for data in (text.encode(), bytes(4000), numbers, "It was.".encode("utf-16-le")):
        assert not looks_like_utf16(data)


def test_two_planes_are_only_for_text():
    for bad in (3, -1, True):
        with pytest.raises(SpecError, match="planes"):
            Settings(planes=bad).check()
    with pytest.raises(SpecError, match="UTF-16"):
        Settings(planes=2, image=(0, 100, 10, 1)).check()
    with pytest.raises(SpecError, match="UTF-16"):
        Settings(planes=2, code_ranges=(0, 100)).check()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_text_as_two_planes_pays_and_decodes(encoding):
    needs_kernels()
    from bottlenet.compress import compress, decompress

    small = Settings(hidden=8, primer=0)
    data = prose(60_000).encode(encoding) + b"!"     # 2 chunks, the last of odd length
    two = compress(data, small)
    assert two.settings.planes == 2
    assert decompress(two.archive) == data
    one = compress(data, dataclasses.replace(small, planes=1))       # --no-utf16
    assert len(two.archive) < 0.85 * len(one.archive)                # (-19%)
    assert decompress(one.archive) == data
    # prose (its characters' plane is) gets the text profile and the primer
    chosen = Settings().suited_to(data, len(data))
    assert (chosen.planes, chosen.primer, chosen.image, chosen.code_ranges) == (2, 1, (), ())


def test_utf16_through_a_pipe():
    needs_kernels()
    from bottlenet.compress import compress_stream, decompress

    data = (PROSE * 100).encode("utf-16")                     # with its byte-order mark
    out = io.BytesIO()
    report = compress_stream(io.BytesIO(data), out, settings=Settings(hidden=4))
    assert report.settings.planes == 2
    assert decompress(out.getvalue()) == data


@pytest.mark.slow
def test_utf16_across_blocks():
    needs_kernels()
    from bottlenet.compress import compress, container, decompress

    data = prose(1_100_000).encode("utf-16-le") + b"\n"     # 3 blocks, the last odd
    assert len(data) > 2 * container.BLOCK
    result = compress(data, Settings(hidden=4))
    assert result.settings.planes == 2
    assert decompress(result.archive) == data
