"""Format 10's x86 call filter and format 12's 64-bit ARM one: where the header says
code is, the filters themselves, and what they are worth to an archive."""

from __future__ import annotations

import dataclasses
import io
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_kernels

needs_kernels()  # before the compressor's imports, which load its compiled kernels

from bottlenet.compress import Settings, compress, container, decompress, kernels
from bottlenet.compress.code import MAX_RANGES, code_arch, code_ranges
from bottlenet.errors import SpecError


def elf64(body: bytes, sections: list[tuple[int, int, int, int]], machine: int = 62,
          programs: list[tuple[int, int, int, int]] = ()) -> bytes:
    """A little-endian ELF64 file: its header, `programs` (type, flags, offset, size)
    right after it, `body` from offset 4096, and a section table (type, flags, offset,
    size) at the end."""
    phoff, shoff = 64, 4096 + len(body)
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HH", head, 16, 3, machine)
    struct.pack_into("<QQ", head, 32, phoff if programs else 0, shoff)
    struct.pack_into("<HHHH", head, 54, 56, len(programs), 64, len(sections))
    table = b"".join(struct.pack("<IIQQQQQQ", kind, flags, offset, 0, 0, size, size, 0)
                     for kind, flags, offset, size in programs)
    start = bytes(head) + table
    shdrs = b"".join(struct.pack("<IIQQQQ", 0, kind, flags, 0, offset, size) + bytes(24)
                     for kind, flags, offset, size in sections)
    return start + bytes(4096 - len(start)) + body + shdrs


def x86_like(n: int, seed: int = 1) -> bytes:
    """Bytes with the calls of machine code: every few bytes an E8 whose target is one of
    a few dozen functions, relative to the next instruction (as a compiler writes it)."""
    rng = random.Random(seed)
    functions = [rng.randrange(4096, 4096 + n) for _ in range(40)]
    out = bytearray()
    while len(out) < n - 5:
        ops = rng.randrange(3, 12)
        out += bytes(rng.choice(b"\x48\x89\x8b\xc3\x0f\x85\x31\xc0") for _ in range(ops))
        here = 4096 + len(out) + 5
        out += b"\xe8" + struct.pack("<i", rng.choice(functions) - here)
    return bytes(out[:n])


def test_the_code_ranges_come_from_the_header():
    body = x86_like(20_000)
    # .text (PROGBITS, SHF_EXECINSTR) and .rodata (no EXECINSTR): .text alone
    elf = elf64(body, [(1, 6, 4096, 15_000), (1, 2, 19_096, 5_000)])
    assert code_ranges(elf, len(elf)) == (4096, 19_096)
    # adjacent sections merged; a range past the end of the input cut at it
    elf = elf64(body, [(1, 6, 4096, 100), (1, 6, 4196, 50), (1, 6, 20_000, 10**9)])
    assert code_ranges(elf, len(elf)) == (4096, 4246, 20_000, len(elf))
    # the section table beyond the sample (a file over the first block): the
    # executable PT_LOAD segments, whose headers come first
    elf = elf64(body, [(1, 6, 4096, 15_000)], programs=[(1, 5, 0, 19_096), (1, 6, 0, 99)])
    assert code_ranges(elf[:10_000], len(elf)) == (0, 19_096)
    # other machines (32-bit ARM), other data, and headers cut short have none
    assert code_ranges(elf64(body, [(1, 6, 4096, 15_000)], machine=40), 30_000) == ()
    assert code_ranges(b"\x7fELF\x02\x01" + bytes(10), 16) == ()
    assert code_ranges(np.random.default_rng(1).bytes(5000), 5000) == ()
    assert code_ranges(b"It was the best of times. " * 10, 260) == ()


def test_pe_and_coff_sections_with_code():
    # a PE image: MZ, e_lfanew, PE, a COFF header with an optional header of 224 bytes,
    # then sections: .text (CNT_CODE | MEM_EXECUTE) and .data
    pe = bytearray(0x400)
    pe[:2] = b"MZ"
    struct.pack_into("<I", pe, 0x3C, 0x80)
    pe[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HH", pe, 0x84, 0x14C, 2)
    struct.pack_into("<H", pe, 0x84 + 16, 224)
    table = 0x84 + 20 + 224
    struct.pack_into("<IIIII", pe, table + 8, 0x5000, 0x1000, 0x4E00, 0x400, 0)
    struct.pack_into("<I", pe, table + 36, 0x60000020)
    struct.pack_into("<IIII", pe, table + 48, 0x800, 0x6000, 0x800, 0x5200)
    struct.pack_into("<I", pe, table + 76, 0xC0000040)
    assert code_ranges(bytes(pe), 0x5A00) == (0x400, 0x5200)
    # a COFF object (x86-64): its header first, no optional header
    obj = bytearray(200)
    struct.pack_into("<HH", obj, 0, 0x8664, 1)
    struct.pack_into("<II", obj, 20 + 16, 120, 60)
    struct.pack_into("<I", obj, 20 + 36, 0x60500020)
    assert code_ranges(bytes(obj), 200) == (60, 180)
    assert code_arch(bytes(obj)) == "x86" and code_arch(bytes(pe)) == "x86"
    struct.pack_into("<H", obj, 0, 0xAA64)      # 64-bit ARM (format 12)
    assert code_ranges(bytes(obj), 200) == (60, 180) and code_arch(bytes(obj)) == "arm64"
    struct.pack_into("<H", obj, 0, 0x1C0)       # 32-bit ARM: none
    assert code_ranges(bytes(obj), 200) == ()


def test_the_filter_is_undone_exactly_whatever_the_bytes():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 300_000).astype(np.uint8)
    data[rng.integers(0, len(data), 30_000)] = 0xE8   # many calls, many false ones
    data[rng.integers(0, len(data), 10_000)] = 0xFF
    ranges = np.array([10, 70_000, 70_001, 200_000, 250_000, 300_000], np.int64)
    for offset in (0, 65_536, 1 << 40):
        work = data.copy()
        kernels.code_filter(work, offset, ranges, True)
        assert not np.array_equal(work, data) or offset == 1 << 40
        kernels.code_filter(work, offset, ranges, False)
        assert np.array_equal(work, data)
    with pytest.raises(ValueError, match="pairs"):
        kernels.code_filter(data.copy(), 0, np.array([1], np.int64), True)
    # a call's target made absolute: the same target from two places, the same bytes
    calls = bytearray(b"\x90" * 40)
    calls[0:5] = b"\xe8" + struct.pack("<i", 100 - 5)
    calls[20:25] = b"\xe8" + struct.pack("<i", 100 - 25)
    work = np.frombuffer(bytes(calls), np.uint8).copy()
    kernels.code_filter(work, 0, np.array([0, 40], np.int64), True)
    assert bytes(work[1:5]) == bytes(work[21:25]) == struct.pack("<I", 100)


def test_the_call_filter_pays_on_code_and_decodes():
    """A program's calls made absolute: smaller, and the archive decodes to the input;
    the ranges travel in the settings (format 10), () turns the filter off."""
    body = x86_like(30_000)
    elf = elf64(body, [(1, 6, 4096, 30_000)])
    small = Settings(hidden=8)
    on, off = compress(elf, small), compress(elf, dataclasses.replace(small, code_ranges=()))
    assert on.settings.code_ranges == (4096, 34_096) and off.settings.code_ranges == ()
    assert len(on.archive) < 0.97 * len(off.archive)
    assert decompress(on.archive) == elf and decompress(off.archive) == elf
    # real x86 programs where there are any (this machine's own)
    path = Path("/bin/true")
    real = path.read_bytes() if path.exists() else b""
    if not code_ranges(real, len(real)):
        pytest.skip("no x86 ELF program on this machine")
    on, off = compress(real, small), compress(real, dataclasses.replace(small, code_ranges=()))
    assert len(on.archive) < len(off.archive) and decompress(on.archive) == real


@pytest.mark.slow
def test_the_call_filter_across_blocks_and_a_stored_one():
    """A range across two blocks, the first stored raw (random bytes: the model cannot
    shrink them, so the archive keeps them as filtered, and the decoder unfilters them),
    the second coded."""
    noise = np.random.default_rng(5).bytes(container.BLOCK)
    big = noise + x86_like(60_000)
    ranges = (1000, len(big))
    a = compress(big, Settings(code_ranges=ranges, hidden=8, cm_bits=10))
    assert a.settings.code_ranges == ranges and decompress(a.archive) == big
    rest = io.BytesIO(a.archive[8:])
    container.read_head(a.archive[:8], rest.read)
    first, second = (container.read_block(rest.read, n, container.BLOCK) for n in (1, 2))
    assert first[1] and not second[1]             # stored, coded
    assert first[2] != noise                       # stored as filtered


def test_bad_code_ranges_are_refused():
    for bad in ((5,), (10, 5), (0, 10, 8, 20), (0, 2**61), (0, True), (0, 1.5),
                tuple(range(2 * MAX_RANGES + 2))):
        with pytest.raises(SpecError, match="code ranges"):
            Settings(code_ranges=bad).check()
    Settings(code_ranges=(0, 10, 11, 20)).check()
    # archives of formats before 10 had no filter
    assert container.upgrade_settings({}, 9)["code_ranges"] == []


def arm64_like(n: int, seed: int = 1, at: int = 4096) -> bytes:
    """Words of 64-bit ARM code placed at file offset `at`: every few instructions a BL
    to one of a few dozen functions, or an ADRP of one of a few pages, relative to the
    instruction (its page), as a compiler writes them."""
    rng = random.Random(seed)
    functions = [at + 4 * rng.randrange(n // 4) for _ in range(40)]
    pages = [rng.randrange(1 << 10) for _ in range(20)]
    plain = [rng.randrange(1 << 32) & 0x0FFFFFFF | 0xA9000000 for _ in range(30)]  # STPs
    words = []
    while len(words) < n // 4:
        here = at + 4 * len(words)
        kind = rng.random()
        if kind < 0.15:
            words.append(0x94000000 | ((rng.choice(functions) - here) >> 2) & 0x03FFFFFF)
        elif kind < 0.25:
            page = (rng.choice(pages) - (here >> 12)) & 0x1FFFFF
            words.append(0x90000000 | (page & 3) << 29 | (page >> 2) << 5 | rng.randrange(31))
        else:
            words.append(rng.choice(plain))
    return struct.pack(f"<{len(words)}I", *words)


def test_arm64_code_is_found_by_its_header():
    body = arm64_like(20_000)
    elf = elf64(body, [(1, 6, 4096, 15_000), (1, 2, 19_096, 5_000)], machine=183)
    assert code_ranges(elf, len(elf)) == (4096, 19_096) and code_arch(elf) == "arm64"
    assert code_arch(elf64(body, [(1, 6, 4096, 15_000)])) == "x86"
    assert code_arch(b"\x7fELF\x02\x01") == code_arch(b"") == "x86"   # cut short: none
    assert Settings().suited_to(elf, len(elf)).code_arch == "arm64"
    assert Settings().suited_to(b"text " * 100, 500).code_arch == "x86"


def test_the_arm64_filter_is_undone_exactly_whatever_the_bytes():
    rng = np.random.default_rng(4)
    data = rng.integers(0, 256, 300_000).astype(np.uint8)
    words = data[:len(data) // 4 * 4].view("<u4")
    pick = rng.random(len(words))
    words[pick < 0.2] = words[pick < 0.2] & 0x03FFFFFF | 0x94000000          # BL
    adrp = (pick >= 0.2) & (pick < 0.4)
    words[adrp] = words[adrp] & ~np.uint32(0x9F000000) | 0x90000000           # ADRP
    ranges = np.array([10, 70_001, 70_003, 200_000, 250_000, 300_000], np.int64)
    for offset in (0, 3, 65_536, (1 << 40) + 2):     # (aligned by file offset)
        work = data.copy()
        kernels.code_filter(work, offset, ranges + offset, True, True)
        assert not np.array_equal(work, data)
        kernels.code_filter(work, offset, ranges + offset, False, True)
        assert np.array_equal(work, data)
    # a call's target and a page made absolute: the same from two places, the same bytes
    code = struct.pack("<4I", 0x94000000 | (400 - 0) >> 2, 0x90000000 | 3 << 5,
                       0x94000000 | (400 - 8) >> 2, 0x90000000 | 3 << 5)
    words = np.frombuffer(code, np.uint8).copy()
    kernels.code_filter(words, 0, np.array([0, 16], np.int64), True, True)
    assert bytes(words[0:4]) == bytes(words[8:12]) and bytes(words[4:8]) == bytes(words[12:16])
    moved = np.frombuffer(code, np.uint8).copy()
    kernels.code_filter(moved, 8192, np.array([8192, 8192 + 16], np.int64), True, True)
    assert bytes(moved[4:8]) != bytes(words[4:8])       # another page: another address


def test_the_arm64_filter_pays_on_code_and_decodes():
    body = arm64_like(40_000)
    elf = elf64(body, [(1, 6, 4096, 40_000)], machine=183)
    small = Settings(hidden=8)
    on, off = compress(elf, small), compress(elf, dataclasses.replace(small, code_ranges=()))
    assert on.settings.code_arch == "arm64" and on.settings.code_ranges == (4096, 44_096)
    assert len(on.archive) < 0.95 * len(off.archive)
    assert decompress(on.archive) == elf and decompress(off.archive) == elf
    # the same ranges read as x86 code: another filter, and no gain
    x86 = compress(elf, dataclasses.replace(small, code_ranges=(4096, 44_096)))
    assert x86.settings.code_arch == "x86" and decompress(x86.archive) == elf
    assert len(on.archive) < len(x86.archive)


def test_a_bad_code_architecture_is_refused():
    with pytest.raises(SpecError, match="architecture"):
        Settings(code_arch="mips").check()
    assert container.upgrade_settings({}, 11)["code_arch"] == "x86"
    assert "code_arch" not in container.upgrade_settings({}, 12)
