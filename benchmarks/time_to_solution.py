"""Time to solution: the whole `bottlenet train` process for 4096 shift-11 networks
(k = 2), as a user runs it, with a warm compile cache.

Runs each command once to fill the cache, then --repeat times, and prints the best and
median wall time of the whole process (imports, compilation cache, training, summary)
for the default regime and, as the baseline measured in the same run, the article's
regime with the old stopping rule (`--no-logit-scale --lr 0.05 --stop solved`).

    uv run python benchmarks/time_to_solution.py [--seeds 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REGIMES = {"default": [], "article, stop solved": ["--no-logit-scale", "--lr", "0.05",
                                                   "--stop", "solved"]}


def run(seeds: int, extra: list[str], env: dict) -> tuple[float, dict]:
    # the console script `uv run bottlenet` starts, beside this interpreter
    cmd = [str(Path(sys.executable).parent / "bottlenet"), "train", "--symbols", "11",
           "--hidden", "2", "--seeds", str(seeds), "--json", *extra]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, BOTTLENET_CACHE=cache)
        print(f"bottlenet train --symbols 11 --hidden 2 --seeds {args.seeds}: whole process, "
              f"warm compile cache, best and median of {args.repeat}")
        print(f"{'regime':<22} {'best s':>7} {'median s':>9} {'solved':>7} {'steps':>6} "
              f"{'train s':>8}")
        best = {}
        for name, extra in REGIMES.items():
            run(args.seeds, extra, env)  # fills the compile cache
            times, summary = [], {}
            for _ in range(args.repeat):
                wall, summary = run(args.seeds, extra, env)
                times.append(wall)
            best[name] = min(times)
            print(f"{name:<22} {min(times):>7.2f} {statistics.median(times):>9.2f} "
                  f"{summary['solved']:>7} {summary['steps_run']:>6} "
                  f"{summary['wall_time_s']:>8.2f}", flush=True)
    base = best["article, stop solved"]
    print(f"default / baseline: {best['default'] / base:.2f}x the time (target: under 6 s)")


if __name__ == "__main__":
    main()
