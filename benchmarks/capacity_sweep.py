"""Capacity frontiers of the default regime against the plain one, measured in one run.

Default: shift task, tanh, k = 2, 32 seeds, threshold 50%; the default regime (learned
logit scale, Adam lr 0.01, every network keeping the weights it first solved with) with
up to 100,000 steps, and as the baseline the plain regime of earlier versions (no logit
scale, Adam lr 0.05, 20,000 steps). Every trial runs in a fresh temporary database, so
nothing is reused. Prints, per k and regime: the frontier ('+': still solved at
--max-symbols), trials, padded sizes, compiled training programs, compile time, wall
time, and the share of networks that solved at some step but not at the end (zero by
construction now), then the frontier ratio new / plain.

    uv run python benchmarks/capacity_sweep.py [--hidden 2,3,4] [--max-symbols 2048]
    uv run python benchmarks/capacity_sweep.py --no-baseline --max-symbols 16384   # GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from jax import monitoring

from bottlenet.capacity import measure, versions
from bottlenet.config import CapacityConfig
from bottlenet.store import Store
from bottlenet.trainer import compiled_segments

compiles = 0
compile_seconds = 0.0


def _count(name, duration, **kwargs):
    global compiles, compile_seconds
    if name == "/jax/core/compile/backend_compile_duration":
        compiles += 1
        compile_seconds += duration


def sweep(store: Store, cfg: CapacityConfig, max_n: int) -> dict:
    global compiles, compile_seconds
    compiles, compile_seconds = 0, 0.0
    programs = compiled_segments()
    start = time.perf_counter()
    res = measure(cfg, store, 0.5, max_n)
    ever = sum(sum(s >= 0 for s in t.solve_steps) for t in res.trials)
    end = sum(t.successes for t in res.trials)
    return {"frontier": res.frontier, "trials": len(res.frontier.tested),
            "sizes": len(res.buckets), "programs": compiled_segments() - programs,
            "compile": compile_seconds, "wall": time.perf_counter() - start,
            "lost": (ever - end) / max(1, sum(t.trials for t in res.trials))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", default="2")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--max-symbols", type=int, default=1024)
    ap.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                    help="also sweep the plain regime (lr 0.05, no logit scale, 20,000 steps)")
    args = ap.parse_args()
    monitoring.register_event_duration_secs_listener(_count)
    v = versions()
    print(f"bottlenet {v['bottlenet']}, jax {v['jax']} on {v['platform']} ({v['device']}); "
          f"shift, tanh, {args.seeds} seeds, frontier at >= 50%, n <= {args.max_symbols}")
    regimes = {"default": {"steps": args.steps}}
    if args.baseline:
        regimes["plain"] = {"steps": 20_000, "lr": 0.05, "logit_scale": False}
    print(f"{'k':>2} {'regime':>8} {'steps':>8} {'frontier':>9} {'trials':>7} {'sizes':>6} "
          f"{'programs':>9} {'compile s':>10} {'wall s':>8} {'lost':>6}")
    total_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        for k in (int(x) for x in args.hidden.split(",")):
            found = {}
            for name, regime in regimes.items():
                cfg = CapacityConfig(hidden=k, seeds=args.seeds, **regime)
                r = sweep(store, cfg, args.max_symbols)
                f = r["frontier"]
                found[name] = f.n
                frontier = f"{f.n}{'+' if f.censored else ''}"
                print(f"{k:>2} {name:>8} {cfg.steps:>8,} {frontier:>9} "
                      f"{r['trials']:>7} {r['sizes']:>6} {r['programs']:>9} {r['compile']:>10.1f} "
                      f"{r['wall']:>8.1f} {r['lost']:>6.1%}", flush=True)
                if f.censored:  # a bare "+" explains nothing
                    print(f"   k={k} {name}: {f.describe()}")
            if "plain" in found and found["plain"]:
                ratio = found["default"] / found["plain"]
                print(f"   k={k}: frontier default / plain = {ratio:.1f}x")
    print(f"total wall time {time.perf_counter() - total_start:.1f}s. 'sizes': padded sizes "
          "trained; 'programs': compiled training programs (one per size and population "
          "size); 'lost': share of networks that solved at some step but not at the end")


if __name__ == "__main__":
    main()
