"""bottlenet on files you name, against xz -9e and zpaq -m5: what the corpus leaves out.

The corpus (compress_corpus.py) has no markup, no machine code and no images; this
script takes any files, or slices of them (`FILE:START:END`, bytes), and prints for each
its size, the profile bottlenet chose (text, markup, other, image, bilevel, utf-16; "N
parts" for a tar archive written as members) and the machine code (x86, or 64-bit ARM:
"arm64" after the bytes) or the image pixels its header names (or, for a bilevel image,
found), bottlenet's archive, bottlenet's without what the header gave (the call filter,
the image contexts: "plain", where there is either; UTF-16's planes stay), xz -9e's
and zpaq -m5's (when Debian's zpaq is installed), then the totals and bottlenet's ratio
to each. Sizes only (every archive is decoded and compared); for speed see
compress_corpus.py.

    uv run python benchmarks/compress_files.py /usr/lib/x86_64-linux-gnu/libjq.so.1 \\
        /usr/share/X11/xkb/rules/base.xml /usr/bin/gdb:200000:600000 photo.bmp
"""

from __future__ import annotations

import argparse
import lzma
from pathlib import Path

from compress_corpus import STRONG

from bottlenet.compress import Settings, compress, decompress
from bottlenet.compress.model import profile_of


def _read(spec: str) -> tuple[str, bytes]:
    """FILE or FILE:START:END."""
    path, _, cut = spec.partition(":")
    data = Path(path).read_bytes()
    if cut:
        start, _, end = cut.partition(":")
        data = data[int(start or 0):int(end) if end else None]
    return Path(path).name + (f"[{cut}]" if cut else ""), data


def _code_bytes(code: tuple[int, ...], arch: str) -> str:
    """The bytes of code the header names, and their architecture unless x86."""
    n = sum(code[1::2]) - sum(code[::2])
    return f"{n:,}" + (f" {arch}" if n and arch != "x86" else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="FILE or FILE:START:END")
    args = ap.parse_args()
    zpaq = STRONG["zpaq -m5"][0]()
    if zpaq is None:
        print(f"missing: zpaq -m5 ({STRONG['zpaq -m5'][1]}); its column is left out")
    cols = ["bottlenet", "plain", "xz -9e"] + (["zpaq -m5"] if zpaq else [])
    head = (f"{'file':<28}{'bytes':>11} {'profile':>8} {'code':>16} {'pixels':>10} "
            + " ".join(f"{c:>10}" for c in cols))
    print(head + "\n" + "-" * len(head))
    totals = dict.fromkeys(["bytes", *cols], 0)
    for spec in args.files:
        name, data = _read(spec)
        result = compress(data)
        assert decompress(result.archive) == data, f"{name}: round trip failed"
        # (a tar archive's members: what they found together)
        found = [s for _, _, s in result.report.pieces] or [result.settings]
        code = tuple(x for s in found for x in s.code_ranges or ())
        pixels = sum(s.image[1] - s.image[0] for s in found if s.image)
        row = {"bottlenet": len(result.archive),
               "plain": len(compress(data, Settings(code_ranges=(), image=())).archive)
               if code or pixels else len(result.archive),
               "xz -9e": len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))}
        if zpaq:
            row["zpaq -m5"] = zpaq(data)
        totals["bytes"] += len(data)
        for c in cols:
            totals[c] += row[c]
        profile = (("bilevel" if result.settings.bilevel() else "image") if pixels
                   else "utf-16" if result.settings.planes == 2
                   else profile_of(data[:1 << 16])) if not (
            result.report.pieces) else f"{len(result.report.pieces)} parts"
        print(f"{name[:27]:<28}{len(data):>11,} {profile:>8} "
              f"{_code_bytes(code, result.settings.code_arch):>16} "
              f"{pixels:>10,} "
              + " ".join(f"{row[c]:>10,}" for c in cols), flush=True)
    print("-" * len(head))
    print(f"{'all':<28}{totals['bytes']:>11,} {'':>8} {'':>16} {'':>10} "
          + " ".join(f"{totals[c]:>10,}" for c in cols))
    for c in cols[1:]:
        print(f"bottlenet / {c}: {totals['bottlenet'] / max(1, totals[c]):.3f}")


if __name__ == "__main__":
    main()
