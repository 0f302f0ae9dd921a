"""The encoder in one thread and in two (kernels.pyx: _pipelined), in the same process.

Compresses each file with the model's bits coded in the calling thread, then in a second
one (the network in the first), alternating for a few rounds, checks that both wrote the
same archive, and prints the compress speed of each (KB/s, the best round: the first
round of a process also pays for its fresh memory) and their ratio. The decoder has one
thread (the network's next step needs the byte the bits decode), and is shown for
comparison. Two threads are taken only where the tables have huge pages (inputs of 512
KiB or more: model._two_threads); a smaller file runs in one thread both times (its
"two" column says "(one)").

    uv run python benchmarks/compress_threads.py [FILE ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bottlenet.compress import codec, compress, decompress, model

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path,
                        default=[CORPUS / "alice29.txt", CORPUS / "book1", CORPUS / "bible.txt"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not model.TWO_THREADS:
        print("this process has one core, no huge pages, or BOTTLENET_THREADS=1: one thread")
        return
    built: list[model.Model] = []
    build = codec._build
    codec._build = lambda s, extra=0: built.append(build(s, extra)) or built[-1]
    print(f"{'file':<14}{'bytes':>11}{'one thread':>12}{'two':>8}{'ratio':>8}{'decode':>8}"
          "   (KB/s, best of rounds)")
    for path in args.files:
        data = path.read_bytes()
        best = {False: 0.0, True: 0.0}
        archives = {}
        for _ in range(args.rounds):
            for two in (False, True):
                model.TWO_THREADS = two
                built.clear()
                t0 = time.perf_counter()
                archives[two] = compress(data).archive
                best[two] = max(best[two], len(data) / (time.perf_counter() - t0) / 1e3)
        took = any(m.predictor.calls_in_two_threads for m in built)
        assert archives[True] == archives[False], f"{path.name}: the archives differ"
        t0 = time.perf_counter()
        assert decompress(archives[True]) == data
        dec = len(data) / (time.perf_counter() - t0) / 1e3
        two_column = f"{best[True]:>8.0f}" if took else f"{'(one)':>8}"
        print(f"{path.name:<14}{len(data):>11,}{best[False]:>12.0f}{two_column}"
              f"{best[True] / best[False]:>7.2f}x{dec:>8.0f}", flush=True)
    codec._build = build


if __name__ == "__main__":
    main()
