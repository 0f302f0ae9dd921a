"""bottlenet's compressor against the classic and the strong compressors on the corpus.

Every file of the corpus, in one run: archive size and bits per character of bottlenet,
of gzip -9, bzip2 -9 and xz -9e (Python's gzip, bz2 and lzma modules) and, when they are
installed, of PPMd var. H order 16 (`pyppmd`, in the dev group), zpaq -m5 (Debian's
`zpaq`) and paq9a (Debian's `python3-paq`, run by the system Python); the script says
which are missing. bottlenet's compress and decompress speed in KB/s (the decoded bytes
are compared with the original) is for a warm process; the one-off start (imports,
loading the compiled loop) is printed once. Then whole `bottlenet compress` and
`decompress` processes, as a user runs them: the time on a 10 KB file (the first 10 KB
of alice29.txt) and the peak resident memory on bible.txt. Then the targets of issue 31,
met or missed: the English texts together <= 1.43 bpc and below zpaq, alice29.txt <=
1.85, book1 <= 1.98, the mixed and binary files together <= 60,000 bytes and smaller
than xz -9e and zpaq, >= 250 KB/s both ways, a 10 KB file's process under 1 s, a peak
of at most 250 MB on bible.txt.

    uv run python benchmarks/compress_corpus.py [--corpus ../shared/corpus] [--skip bible.txt]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

t_import = time.perf_counter()
from bottlenet.compress import Settings, compress, decompress  # noqa: E402
from bottlenet.compress.stats import classic  # noqa: E402

GROUPS = {"text": ["alice29.txt", "asyoulik.txt", "lcet10.txt", "book1", "bible.txt"],
          "mixed": ["obj1", "sum", "progp", "trans", "bib"]}
SYSTEM_PYTHON = "/usr/bin/python3"


def _ppmd() -> Callable[[bytes], int] | None:
    try:
        import pyppmd
    except ImportError:
        return None
    return lambda data: len(pyppmd.compress(data, max_order=16, mem_size=256 << 20,
                                            variant="H"))


def _zpaq() -> Callable[[bytes], int] | None:
    if shutil.which("zpaq") is None:
        return None

    def size(data: bytes) -> int:
        with tempfile.TemporaryDirectory() as d:
            src, archive = Path(d) / "f", Path(d) / "f.zpaq"
            src.write_bytes(data)
            subprocess.run(["zpaq", "a", str(archive), str(src), "-m5"], check=True,
                           capture_output=True)
            return archive.stat().st_size
    return size


def _paq9a() -> Callable[[bytes], int] | None:
    code = "import paq, sys; sys.stdout.buffer.write(paq.compress(sys.stdin.buffer.read()))"
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import paq"], capture_output=True).returncode:
        return None
    return lambda data: len(subprocess.run([SYSTEM_PYTHON, "-c", code], input=data,
                                           capture_output=True, check=True).stdout)


STRONG = {"PPMd o16": (_ppmd, "pip package pyppmd (uv sync: it is in the dev group)"),
          "zpaq -m5": (_zpaq, "Debian package zpaq"),
          "paq9a": (_paq9a, "Debian package python3-paq")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--skip", default="", help="comma-separated file names to leave out")
    ap.add_argument("--hidden", type=int, default=Settings().hidden)
    args = ap.parse_args()
    settings = Settings(hidden=args.hidden)
    strong = {}
    for name, (make, where) in STRONG.items():
        fn = make()
        if fn is None:
            print(f"missing: {name} ({where}); its column is left out")
        else:
            strong[name] = fn
    t0 = time.perf_counter()
    decompress(compress(b"warm up the compiled loops " * 10, settings).archive)
    print(f"one-off start: imports {t0 - t_import:.1f} s, first (de)compression "
          f"{time.perf_counter() - t0:.1f} s; settings: {settings}")
    names = ["bottlenet", "gzip -9", "bzip2 -9", "xz -9e", *strong]
    head = f"{'file':<13}{'bytes':>10} " + " ".join(f"{c:>16}" for c in names) + \
        f" {'comp KB/s':>10} {'dec KB/s':>9}"
    skip = set(filter(None, args.skip.split(",")))
    totals = {}
    for group, files in GROUPS.items():
        print(f"\n{group}\n{head}\n{'-' * len(head)}")
        total = dict.fromkeys(["n", "tc", "td", *names], 0.0)
        bpc = {}
        for name in files:
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
            sizes = {"bottlenet": len(result.archive), **{m.name: m.size for m in classic(data)}}
            for k, fn in strong.items():   # timed too: the speed baselines of this run
                t = time.perf_counter()
                sizes[k] = fn(data)
                total[f"t {k}"] = total.get(f"t {k}", 0.0) + time.perf_counter() - t
            bpc[name] = 8 * sizes["bottlenet"] / n
            print(f"{name:<13}{n:>10,} " + " ".join(
                f"{f'{sizes[c]:,} {8 * sizes[c] / n:5.3f}':>16}" for c in names)
                + f" {n / 1e3 / tc:>10.0f} {n / 1e3 / td:>9.0f}", flush=True)
            total["n"] += n
            total["tc"] += tc
            total["td"] += td
            for c in names:
                total[c] += sizes[c]
        n = total["n"]
        if n:
            print(f"{'all':<13}{n:>10,.0f} " + " ".join(
                f"{f'{total[c]:,.0f} {8 * total[c] / n:5.3f}':>16}" for c in names)
                + f" {n / 1e3 / total['tc']:>10.0f} {n / 1e3 / total['td']:>9.0f}")
        totals[group] = (total, bpc)
    totals["process"] = _processes(args.corpus, skip)
    _targets(totals)


# The command, reporting its own peak resident memory (VmHWM, Linux) as it exits: the
# rusage of a child would also count the pages it shared with this process before exec.
_COMMAND = """import atexit, os
def peak():
    with open("/proc/self/status") as f:
        kb = next(line for line in f if line.startswith("VmHWM")).split()[1]
    with open(os.environ["BOTTLENET_PEAK_FILE"], "w") as f:
        f.write(kb)
atexit.register(peak)
from bottlenet.cli import main
main()
"""


def _run(*args: str | Path) -> tuple[float, float]:
    """A `bottlenet` process: its wall time in seconds and its peak resident memory in
    MB. Bytecode caches are allowed, as on a user's machine (this one sets
    PYTHONDONTWRITEBYTECODE, which makes every start compile every module)."""
    with tempfile.TemporaryDirectory() as d:
        peak_file = Path(d) / "peak"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["BOTTLENET_PEAK_FILE"] = str(peak_file)
        cmd = [sys.executable, "-c", _COMMAND, *map(str, args)]
        t = time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - t
        if done.returncode:
            raise SystemExit(f"bottlenet {args} failed: {done.stderr.decode()}")
        return seconds, int(peak_file.read_text()) * 1024 / 1e6


def _processes(corpus: Path, skip: set[str]) -> dict:
    """Whole processes: a 10 KB file's compression (best of 3, after one run that writes
    the bytecode caches) and the peak memory of compressing and decompressing bible.txt."""
    out: dict = {}
    print("\nwhole processes (bottlenet compress / decompress, default settings)")
    with tempfile.TemporaryDirectory() as d:
        small = Path(d) / "alice-10k.txt"
        small.write_bytes((corpus / "alice29.txt").read_bytes()[:10_240])
        runs = [_run("compress", small, "-o", Path(d) / "s.bn", "--force") for _ in range(4)]
        out["small_s"] = min(s for s, _ in runs[1:])
        print(f"  10 KB file: {out['small_s']:.2f} s, peak {runs[-1][1]:.0f} MB")
        bible = corpus / "bible.txt"
        if bible.exists() and bible.name not in skip:
            s, out["peak_c"] = _run("compress", bible, "-o", Path(d) / "b.bn")
            print(f"  bible.txt compress: {s:.1f} s, peak {out['peak_c']:.0f} MB")
            s, out["peak_d"] = _run("decompress", Path(d) / "b.bn", "-o", Path(d) / "b")
            print(f"  bible.txt decompress: {s:.1f} s, peak {out['peak_d']:.0f} MB")
            if (Path(d) / "b").read_bytes() != bible.read_bytes():
                raise SystemExit("bible.txt: round trip through the command failed")
    return out


def _targets(totals: dict) -> None:
    """Issue 31's targets on what this run measured (and issue 14's comparisons with
    xz and zpaq, kept)."""
    print("\ntargets (issue 31)")
    rows = []
    text, text_bpc = totals.get("text", ({"n": 0}, {}))
    mixed, _ = totals.get("mixed", ({"n": 0}, {}))
    if text["n"]:
        bpc = 8 * text["bottlenet"] / text["n"]
        rows.append((f"texts together <= 1.43 bpc: {bpc:.3f}", bpc <= 1.43))
        if "zpaq -m5" in text:
            rows.append((f"texts smaller than zpaq -m5: {text['bottlenet']:,.0f} vs "
                         f"{text['zpaq -m5']:,.0f}", text["bottlenet"] < text["zpaq -m5"]))
        for name, most in (("alice29.txt", 1.85), ("book1", 1.98)):
            if name in text_bpc:
                rows.append((f"{name} <= {most} bpc: {text_bpc[name]:.3f}",
                             text_bpc[name] <= most))
    if mixed["n"]:
        rows.append((f"mixed files together <= 60,000 bytes: {mixed['bottlenet']:,.0f}",
                     mixed["bottlenet"] <= 60_000))
        rows.extend((f"mixed files smaller than {other}: {mixed['bottlenet']:,.0f} vs "
                     f"{mixed[other]:,.0f}", mixed["bottlenet"] < mixed[other])
                    for other in ("xz -9e", "zpaq -m5") if other in mixed)
    n = text["n"] + mixed["n"]
    if n:
        tc, td = text.get("tc", 0) + mixed.get("tc", 0), text.get("td", 0) + mixed.get("td", 0)
        # against the strong compressors' speed in this same run (compressing; each of
        # them decompresses at about its compression speed)
        base = "".join(
            f", {name} {n / 1e3 / t:.0f} ({n / 1e3 / tc / (n / 1e3 / t):.2f}x)"
            for name in ("zpaq -m5", "paq9a", "PPMd o16")
            if (t := text.get(f"t {name}", 0.0) + mixed.get(f"t {name}", 0.0)))
        rows.append((f"compress >= 250 KB/s: {n / 1e3 / tc:.0f}{base}", n / 1e3 / tc >= 250))
        rows.append((f"decompress >= 250 KB/s: {n / 1e3 / td:.0f}", n / 1e3 / td >= 250))
    proc = totals.get("process", {})
    if "small_s" in proc:
        rows.append((f"compress process on a 10 KB file < 1 s: {proc['small_s']:.2f} s",
                     proc["small_s"] < 1))
    if "peak_c" in proc:
        peak = max(proc["peak_c"], proc["peak_d"])
        rows.append((f"peak memory on bible.txt <= 250 MB: {proc['peak_c']:.0f} MB "
                     f"compressing, {proc['peak_d']:.0f} MB decompressing", peak <= 250))
    for text_, ok in rows:
        print(f"  {'met   ' if ok else 'MISSED'} {text_}")


if __name__ == "__main__":
    main()
