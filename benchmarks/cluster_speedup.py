"""A fixed capacity sweep on one machine without Ray, then on a local Ray cluster with 1
and with 2 workers: wall time, and speed-up against the run without Ray, all in one
run. Checks on the way that every run finds the same frontiers.

The sweep: k = 1, 2, 3 (tanh), 8 seeds, 1,000 steps, n up to 32. Each worker compiles
its own training programs, so on a small sweep much of a worker's time is compiling;
the speed-up grows with the trials per worker.

    uv run python benchmarks/cluster_speedup.py [--hidden 1,2,3] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bottlenet import cluster
from bottlenet.capacity import Sweep, sweep
from bottlenet.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", default="1,2,3")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--max-symbols", type=int, default=32)
    a = ap.parse_args()
    plan = Sweep.grid([int(k) for k in a.hidden.split(",")], ["tanh"],
                      max_symbols=a.max_symbols, seeds=a.seeds, steps=a.steps)
    print(f"sweep: k = {a.hidden}, {a.seeds} seeds, {a.steps} steps, n <= {a.max_symbols}; "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with Store(Path(tmp) / "alone.db") as store:
            _, alone = sweep(plan, store)
            trials = store.count()
        base = time.perf_counter() - start
        print(f"{'without Ray':<22} {base:7.1f} s  {trials} trials  1.00x  frontiers "
              f"{[r.frontier.n for r in alone]}")
        for w in (int(x) for x in a.workers.split(",")):
            start = time.perf_counter()
            ray = cluster.connect("local", num_cpus=w)
            up = time.perf_counter() - start
            with Store(Path(tmp) / f"ray{w}.db") as store:
                results = cluster.sweep(ray, plan, store)
            ray.shutdown()
            wall = time.perf_counter() - start
            same = [r.frontier for r in results] == [r.frontier for r in alone]
            print(f"{f'Ray, {w} worker(s)':<22} {wall:7.1f} s  (start {up:.0f} s)  "
                  f"{base / wall:.2f}x  same frontiers: {same}")


if __name__ == "__main__":
    main()
