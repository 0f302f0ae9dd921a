"""The model in one thread and in two, in the same process.

Compresses each file with the model's bits coded in the calling thread, then in a second
one (the network in the first: kernels.pyx, _pipelined), and decompresses the archive in
one thread, then in two (the network guessing each byte a step ahead of the bits:
_guessing), alternating for a few rounds. Checks that both encoders wrote the same archive
and both decoders read the file back, and prints the speeds (KB/s, the best round: the
first round of a process also pays for its fresh memory), their ratios and the share of
the decoder's guesses that were right. Every model encodes in two threads where the
process has two cores (model._two_threads); the decoder guesses only where the tables
have huge pages (inputs of 512 KiB or more: model.HUGE_PAGES_FROM), elsewhere its "two"
column says "(one)" and times its priming (in two threads) before a one-thread loop.

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
                        default=[CORPUS / "alice29.txt", CORPUS / "lcet10.txt",
                                 CORPUS / "book1", CORPUS / "bible.txt"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not model.TWO_THREADS:
        print("this process has one core (or BOTTLENET_THREADS=1): one thread")
        return
    built: list[model.Model] = []
    build, threads = codec._build, model.TWO_THREADS
    codec._build = lambda s, extra=0: built.append(build(s, extra)) or built[-1]
    print(f"{'file':<14}{'bytes':>11}  {'compress: one':>13}{'two':>7}{'ratio':>7}"
          f"  {'decompress: one':>15}{'two':>7}{'ratio':>7}{'guessed':>9}"
          "   (KB/s, best of rounds)")
    for path in args.files:
        data = path.read_bytes()
        comp = {False: 0.0, True: 0.0}
        dec = {False: 0.0, True: 0.0}
        archives = {}
        right = wrong = 0
        for _ in range(args.rounds):
            for two in (False, True):
                model.TWO_THREADS = two
                t0 = time.perf_counter()
                archives[two] = compress(data).archive
                comp[two] = max(comp[two], len(data) / (time.perf_counter() - t0) / 1e3)
                built.clear()
                t0 = time.perf_counter()
                assert decompress(archives[two]) == data, f"{path.name}: decoded wrong"
                dec[two] = max(dec[two], len(data) / (time.perf_counter() - t0) / 1e3)
                right += sum(m.predictor.guesses_right for m in built)
                wrong += sum(m.predictor.guesses_wrong for m in built)
        assert archives[True] == archives[False], f"{path.name}: the archives differ"
        guessed = f"{right / (right + wrong):>8.0%}" if right + wrong else f"{'-':>8}"
        two_dec = f"{dec[True]:>7.0f}" if right + wrong else f"{'(one)':>7}"
        print(f"{path.name:<14}{len(data):>11,}  {comp[False]:>13.0f}{comp[True]:>7.0f}"
              f"{comp[True] / comp[False]:>6.2f}x  {dec[False]:>15.0f}{two_dec}"
              f"{dec[True] / dec[False]:>6.2f}x{guessed}", flush=True)
    model.TWO_THREADS = threads
    codec._build = build


if __name__ == "__main__":
    main()
