"""Times a capacity sweep and counts its compilations.

Default: shift task, tanh, k = 2, 3, 4, 32 seeds, 20,000 steps, threshold 50% (the
capacity issue's benchmark). Runs in a fresh temporary database so nothing is reused.
Prints, per k: the frontier, trials run, padded sizes, compiled training programs (the
baseline without padding is one per trial), all XLA compilations, compile time and
wall time.

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
from bottlenet.train import _run_segment

compiles = 0
compile_seconds = 0.0


def _count(name, duration, **kwargs):
    global compiles, compile_seconds
    if name == "/jax/core/compile/backend_compile_duration":
        compiles += 1
        compile_seconds += duration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="2,3,4")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--max-symbols", type=int, default=1024)
    args = ap.parse_args()
    monitoring.register_event_duration_secs_listener(_count)
    print(f"shift, tanh, adam lr 0.05, {args.seeds} seeds, {args.steps} steps, threshold 50%")
    print(f"{'k':>2} {'frontier':>9} {'trials':>7} {'padded sizes':>13} {'trainer':>8} "
          f"{'all XLA':>8} {'compile s':>10} {'wall s':>8}")
    total_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        for k in (int(x) for x in args.hidden.split(",")):
            global compiles, compile_seconds
            compiles, compile_seconds = 0, 0.0
            programs = _run_segment._cache_size()
            start = time.perf_counter()
            cfg = CapacityConfig(hidden=k, seeds=args.seeds, steps=args.steps)
            res = measure(cfg, store, 0.5, args.max_symbols)
            wall = time.perf_counter() - start
            f = res.frontier
            trainer = _run_segment._cache_size() - programs
            print(f"{k:>2} {str(f.n) + ('+' if f.censored else ''):>9} {len(f.tested):>7} "
                  f"{len(res.buckets):>13} {trainer:>8} {compiles:>8} {compile_seconds:>10.1f} "
                  f"{wall:>8.1f}", flush=True)
    print(f"total wall time {time.perf_counter() - total_start:.1f}s. 'trainer': compiled "
          "training programs (without padding there would be one per trial); 'all XLA': every "
          "compilation, small eager ones included")


if __name__ == "__main__":
    main()
