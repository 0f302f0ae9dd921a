"""bottlenet's compressor against gzip -9, bzip2 -9 and xz -9e on the corpus texts.

For each text, in one run: archive size and bits per character of bottlenet and of the
three classic compressors (Python's gzip, bz2 and lzma modules), bottlenet's compress
and decompress speed in KB/s (the decoded bytes are compared with the original), and
whether the issue's targets hold (smaller than xz everywhere; smaller than bzip2 on
alice29.txt and book1; >= 50 KB/s compress, >= 20 KB/s decompress). Speeds are for a
warm process: the one-off start (imports, loading the compiled loop, ~1-3 s) is printed
once, separately.

    uv run python benchmarks/compress_corpus.py [--corpus ../shared/corpus] [--skip bible.txt]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

t_import = time.perf_counter()
from bottlenet.compress import Settings, compress, decompress  # noqa: E402
from bottlenet.compress.stats import classic  # noqa: E402

TEXTS = ["alice29.txt", "asyoulik.txt", "lcet10.txt", "book1", "bible.txt"]
BEAT_BZIP2 = {"alice29.txt", "book1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--skip", default="", help="comma-separated file names to leave out")
    ap.add_argument("--hidden", type=int, default=Settings().hidden)
    args = ap.parse_args()
    settings = Settings(hidden=args.hidden)
    t0 = time.perf_counter()
    decompress(compress(b"warm up the compiled loops " * 10, settings).archive)
    print(f"one-off start: imports {t0 - t_import:.1f} s, first (de)compression "
          f"{time.perf_counter() - t0:.1f} s; settings: {settings}")
    head = (f"{'file':<13}{'bytes':>10} {'bottlenet':>16} {'gzip -9':>16} {'bzip2 -9':>16} "
            f"{'xz -9e':>16} {'comp KB/s':>10} {'dec KB/s':>9}  targets")
    print(head)
    print("-" * len(head))
    skip = set(filter(None, args.skip.split(",")))
    total = {"n": 0, "bn": 0, "gzip -9": 0, "bzip2 -9": 0, "xz -9e": 0, "tc": 0.0, "td": 0.0}
    for name in TEXTS:
        path = args.corpus / name
        if name in skip or not path.exists():
            continue
        data = path.read_bytes()
        n = len(data)
        t = time.perf_counter()
        result = compress(data, settings)
        tc = time.perf_counter() - t
        t = time.perf_counter()
        back = decompress(result.archive)
        td = time.perf_counter() - t
        assert back == data, f"{name}: round trip failed"
        others = {m.name: m.size for m in classic(data)}
        size = len(result.archive)
        ok = [size < others["xz -9e"], n / 1e3 / tc >= 50, n / 1e3 / td >= 20]
        if name in BEAT_BZIP2:
            ok.append(size < others["bzip2 -9"])
        cells = [f"{s:>8,} {8 * s / n:5.3f}" for s in
                 (size, others["gzip -9"], others["bzip2 -9"], others["xz -9e"])]
        print(f"{name:<13}{n:>10,} {' '.join(f'{c:>16}' for c in cells)} "
              f"{n / 1e3 / tc:>10.0f} {n / 1e3 / td:>9.0f}  {'met' if all(ok) else 'MISSED'}",
              flush=True)
        total["n"] += n
        total["bn"] += size
        for k in ("gzip -9", "bzip2 -9", "xz -9e"):
            total[k] += others[k]
        total["tc"] += tc
        total["td"] += td
    n = total["n"]
    if n:
        cells = [f"{s:>8,} {8 * s / n:5.3f}" for s in
                 (total["bn"], total["gzip -9"], total["bzip2 -9"], total["xz -9e"])]
        print(f"{'all':<13}{n:>10,} {' '.join(f'{c:>16}' for c in cells)} "
              f"{n / 1e3 / total['tc']:>10.0f} {n / 1e3 / total['td']:>9.0f}")
        print(f"bottlenet / xz -9e size: {total['bn'] / total['xz -9e']:.3f}; "
              f"/ bzip2 -9: {total['bn'] / total['bzip2 -9']:.3f}")


if __name__ == "__main__":
    main()
