"""UTF-16 text read as two planes (format 14, Settings.planes).

In UTF-16 every character of Latin text is two bytes, one of them zero: the byte
contexts see half as many characters as in UTF-8, and the words (runs of letters) end
at every zero. So the encoder reads each chunk of 64 KiB (codec.CHUNK, from its block's
start, as the decoder writes them back) as its even bytes, then its odd bytes: a run of
plain text the contexts know, then a run of zeros (or of the same few high bytes) that
costs almost nothing. An odd last byte stays last. The decoder joins each chunk back as
it comes (`join`), so the planes cost no memory.

Chosen for text whose bytes at one parity are nearly all zero and whose bytes at the
other look like text (model.looks_like_utf16); its profile and primer are then chosen from the
characters' plane (`text_plane`). alice29.txt and book1 as UTF-16LE: 41,151 -> 35,199
and 227,539 -> 193,264 bytes (zpaq -m5: 40,937 and 217,964; in UTF-8: 35,002 and
192,261); with other data's profile, as the bytes alone would choose, 36,794 and 199,354.
"""

from __future__ import annotations

import numpy as np

# One parity of the sample's bytes nearly all zero (UTF-16 of Latin text: the high
# bytes), the other nearly never (the characters themselves).
ZERO_PARITY = 0.8
TEXT_PARITY = 0.02
SAMPLE = 1 << 16                 # the bytes looked at


def zeros_alternate(sample: bytes) -> bool:
    """Whether the bytes of `sample`'s first 64 KiB at one parity are nearly all zero
    and those at the other nearly never (ZERO_PARITY, TEXT_PARITY): UTF-16 of Latin
    text, either byte order, if its characters' plane (`text_plane`) reads as text
    (model.looks_like_utf16 asks both)."""
    a = np.frombuffer(sample[:SAMPLE], np.uint8)
    n = len(a) // 2
    if n < 64:
        return False
    zeros = [(a[0:2 * n:2] == 0).sum(), (a[1:2 * n:2] == 0).sum()]
    high = int(np.argmax(zeros))
    return bool(zeros[high] >= ZERO_PARITY * n and zeros[1 - high] <= TEXT_PARITY * n)


def text_plane(sample: bytes) -> bytes:
    """The plane of `sample` (its even bytes or its odd ones) with fewer zeros: UTF-16's
    characters, as bytes."""
    even, odd = sample[0::2], sample[1::2]
    return even if even.count(0) <= odd.count(0) else odd


def split(data: np.ndarray, chunk: int) -> np.ndarray:
    """`data` (a block) with each chunk of `chunk` bytes as its even bytes, then its odd
    bytes (an odd last byte last)."""
    out = np.empty_like(data)
    for start in range(0, len(data), chunk):
        c = data[start:start + chunk]
        half = len(c) // 2
        n = 2 * half
        out[start:start + half] = c[0:n:2]
        out[start + half:start + n] = c[1:n:2]
        out[start + n:start + len(c)] = c[n:]
    return out


def join(data: np.ndarray) -> np.ndarray:
    """One chunk split by `split`, as it was."""
    out = np.empty_like(data)
    half = len(data) // 2
    n = 2 * half
    out[0:n:2] = data[:half]
    out[1:n:2] = data[half:n]
    out[n:] = data[n:]
    return out
