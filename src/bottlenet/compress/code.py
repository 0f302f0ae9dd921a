"""Where an input holds x86 or 64-bit ARM machine code, read from its own header
(formats 10 and 12).

x86 calls and jumps (opcodes E8 and E9) carry their target relative to the next
instruction, so the same function called from many places gives different bytes each
time. Made absolute (kernels.code_filter, as paq8's and 7-Zip's x86 filters do), the
target repeats, and the model's contexts see it repeat. In data that is not code an
E8 byte is anything, and rewriting what follows it makes the data harder to predict
(an excerpt of gdb 16% larger when filtered throughout), so the filter works only on
the ranges the file's own header names as executable: ELF sections with
SHF_EXECINSTR (or, when the section table lies beyond the sample, PT_LOAD segments with
PF_X), PE and COFF sections with code, for i386 and x86-64. The ranges travel in the
archive's settings (Settings.code_ranges), so the decoder never parses a header.

Format 12 reads 64-bit ARM (AArch64) code as well, from ELF and PE headers
(Settings.code_arch "arm64"): its instructions are 4 bytes, aligned, and the filter
(kernels.code_filter, as xz's ARM64 filter) makes absolute the targets of BL (calls,
26 bits of words relative to the instruction) and ADRP (a page's address relative to
the instruction's page, within +-512 MiB).
"""

from __future__ import annotations

import struct

MAX_RANGES = 64              # more than any executable has code sections
ARCHES = ("x86", "arm64")    # the code each filter knows (Settings.code_arch)
_ELF_ARCH = {3: "x86", 62: "x86", 183: "arm64"}   # EM_386, EM_X86_64, EM_AARCH64
_COFF_ARCH = {0x14C: "x86", 0x8664: "x86", 0xAA64: "arm64"}   # IMAGE_FILE_MACHINE_*
_SHF_EXECINSTR, _SHT_PROGBITS, _PT_LOAD, _PF_X = 4, 1, 1, 1
_SCN_CODE = 0x20 | 0x20000000  # IMAGE_SCN_CNT_CODE, IMAGE_SCN_MEM_EXECUTE


def code_ranges(sample: bytes, size: int | None) -> tuple[int, ...]:
    """The file offsets [start, end) of x86 or 64-bit ARM code (code_arch says which) in
    an input of `size` bytes (None: not known) that starts with `sample`, flat (start0,
    end0, start1, end1, ...), sorted and apart; () when its header says none, or it has
    no header this reads."""
    limit = len(sample) if size is None else size
    if len(sample) < 64:      # shorter than any header read here
        return ()
    try:
        found = _elf(sample) if sample[:4] == b"\x7fELF" else _pe(sample)
    except struct.error:      # a header cut short by the sample: no code found
        return ()
    return _tidy(found, limit)


def code_arch(sample: bytes) -> str:
    """Which of ARCHES the machine code named by the header of an input starting with
    `sample` is ("x86" when it has none: code_ranges is then empty)."""
    try:
        if sample[:4] == b"\x7fELF" and sample[5] == 1:
            return _ELF_ARCH.get(struct.unpack_from("<H", sample, 18)[0], "x86")
        machine = _coff_machine(sample)
    except (struct.error, IndexError):
        return "x86"
    return _COFF_ARCH.get(machine, "x86") if machine is not None else "x86"


def _coff_machine(d: bytes) -> int | None:
    """The machine field of a PE image's COFF header (or of a COFF object's)."""
    at = _coff_at(d)
    return None if at is None else struct.unpack_from("<H", d, at)[0]


def _coff_at(d: bytes) -> int | None:
    """Where the COFF header is: after a PE image's signature, or at a COFF object's
    start; None in an MZ file with no PE header."""
    if d[:2] != b"MZ":
        return 0
    (at,) = struct.unpack_from("<I", d, 0x3C)
    return at + 4 if d[at:at + 4] == b"PE\0\0" else None


def _tidy(found: list[tuple[int, int]], limit: int) -> tuple[int, ...]:
    """Ranges within the input, empty ones dropped, overlapping ones merged."""
    merged: list[list[int]] = []
    for start, end in sorted((s, min(e, limit)) for s, e in found if 0 <= s < min(e, limit)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(x for pair in merged[:MAX_RANGES] for x in pair)


def _elf(d: bytes) -> list[tuple[int, int]]:
    wide, little = d[4] == 2, d[5] == 1
    if d[4] not in (1, 2) or not little:
        return []
    (machine,) = struct.unpack_from("<H", d, 18)
    if machine not in _ELF_ARCH:
        return []
    if wide:
        phoff, shoff = struct.unpack_from("<QQ", d, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", d, 54)
    else:
        phoff, shoff = struct.unpack_from("<II", d, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", d, 42)
    if shnum and shoff + shnum * shentsize <= len(d):
        out = []
        for k in range(shnum):
            at = shoff + k * shentsize
            if wide:
                kind, flags = struct.unpack_from("<IQ", d, at + 4)
                offset, length = struct.unpack_from("<QQ", d, at + 24)
            else:
                kind, flags = struct.unpack_from("<II", d, at + 4)
                offset, length = struct.unpack_from("<II", d, at + 16)
            if kind == _SHT_PROGBITS and flags & _SHF_EXECINSTR:
                out.append((offset, offset + length))
        return out
    out = []
    for k in range(phnum):            # the program headers follow the ELF header
        at = phoff + k * phentsize
        if wide:
            kind, flags, offset = struct.unpack_from("<IIQ", d, at)
            (length,) = struct.unpack_from("<Q", d, at + 32)
        else:
            kind, offset = struct.unpack_from("<II", d, at)
            length, _, flags = struct.unpack_from("<III", d, at + 16)
        if kind == _PT_LOAD and flags & _PF_X:
            out.append((offset, offset + length))
    return out


def _pe(d: bytes) -> list[tuple[int, int]]:
    """A PE image (MZ, then PE at e_lfanew) or a COFF object (its header first)."""
    at = _coff_at(d)
    if at is None:
        return []
    machine, sections = struct.unpack_from("<HH", d, at)
    (optional,) = struct.unpack_from("<H", d, at + 16)
    if machine not in _COFF_ARCH or not 0 < sections <= 96 or (at == 0 and optional):
        return []
    table = at + 20 + optional
    out = []
    for k in range(sections):
        s = table + 40 * k
        length, offset = struct.unpack_from("<II", d, s + 16)
        (flags,) = struct.unpack_from("<I", d, s + 36)
        if flags & _SCN_CODE and length:
            out.append((offset, offset + length))
    return out
