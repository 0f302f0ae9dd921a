"""Times a capacity sweep and counts its compilations.

Default: shift task, tanh, k = 2, 3, 4, 32 seeds, 20,000 steps, threshold 50% (the
capacity issue's benchmark). Runs in a fresh temporary database so nothing is reused.
Prints, per k: the frontier, trials run, padded sizes, XLA compilations and wall time;
and the same sweep's compilations had every n been compiled on its own (the baseline
that padding buckets remove).

    uv run python benchmarks/capacity_sweep.py [--hidden 2,3,4] [--seeds 32] [--steps 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jax import monitoring

from bottlenet.capacity import CapacityConfig, measure
from bottlenet.store import Store

compiles = 0


def _count(name, duration, **kwargs):
    global compiles
    if name == "/jax/core/compile/backend_compile_duration":
        compiles += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="2,3,4")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--max-symbols", type=int, default=1024)
    args = ap.parse_args()
    monitoring.register_event_duration_secs_listener(_count)
    print(f"shift, tanh, adam lr 0.05, {args.seeds} seeds, {args.steps} steps, threshold 50%")
    print(f"{'k':>2} {'frontier':>9} {'trials':>7} {'padded sizes':>13} {'compiles':>9} "
          f"{'unpadded':>9} {'wall s':>8}")
    total_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        for k in (int(x) for x in args.hidden.split(",")):
            global compiles
            compiles = 0
            start = time.perf_counter()
            cfg = CapacityConfig(hidden=k, seeds=args.seeds, steps=args.steps)
            res = measure(cfg, store, 0.5, args.max_symbols)
            wall = time.perf_counter() - start
            f = res.frontier
            print(f"{k:>2} {str(f.n) + ('+' if f.censored else ''):>9} {len(f.tested):>7} "
                  f"{len(res.buckets):>13} {compiles:>9} "
                  f"{len(f.tested) * (compiles / max(len(res.buckets), 1)):>9.0f} "
                  f"{wall:>8.1f}", flush=True)
    print(f"total wall time {time.perf_counter() - total_start:.1f}s; 'unpadded' estimates the "
          "compilations had every n been its own shape (compiles per size x trials)")


if __name__ == "__main__":
    main()
