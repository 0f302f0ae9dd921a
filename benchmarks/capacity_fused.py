"""The trainer's fused last layer (trainer/fused.py, compiled) against the XLA step in
chunks (trainer/chunked.py, the path before it), measured in the same run.

    uv run python benchmarks/capacity_fused.py            # about 3 minutes on 2 cores
    uv run python benchmarks/capacity_fused.py --trial    # and the 5-minute trial (k = 2)

Prints:
1. the last layer of one network (loss, outcome and gradients of all n x n logits),
   XLA's chunks against the fused kernel, on all cores, at n = 4,096 (k = 2) and 16,384
   (k = 3), with mild weights (as at the start of training) and spread ones (as in a
   trained network, where the kernel leaves out most blocks): medians of interleaved
   repeats, and the ratio;
2. a whole training step of 8 networks at n = 4,096, k = 2 (ms a network-step), each
   path in a process of its own (BOTTLENET_FUSED=0 turns the kernel off), and the ratio;
3. with --trial: `bottlenet train --symbols 4096 --hidden 2 --lr 0.01 --steps 10000
   --seeds 8` as a process, against the target of 5 minutes (issue 28), and what the
   XLA step would take by the ratio of 2.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

STEP_SCRIPT = """
import sys, time
from bottlenet import tasks
from bottlenet.spec import NetSpec
from bottlenet.trainer import train
n, k, seeds, steps = (int(x) for x in sys.argv[1:5])
task, spec = tasks.shift(n), NetSpec(n, n, (k,))
train(task, spec, steps=steps, seeds=seeds, lr=0.01, stop="never")   # compiles its programs
t = time.perf_counter()
train(task, spec, steps=steps, seeds=seeds, lr=0.01, stop="never")
print((time.perf_counter() - t) / steps / seeds)
"""


def last_layer(n: int, k: int, repeats: int, scale: float) -> tuple[float, float]:
    """Median seconds of one network's last layer: XLA's chunks, the fused kernel; last
    layer's weights N(0, scale^2)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from bottlenet import tasks
    from bottlenet.evaluation import task_arrays
    from bottlenet.softmax import full_chunk_rows
    from bottlenet.trainer import chunked, fused

    data = task_arrays(tasks.shift(n))
    m = data.inputs.shape[0]
    rng = np.random.default_rng(0)
    h = jnp.asarray(np.tanh(rng.normal(size=(m, k)) * 2), jnp.float32)
    last = {"w": jnp.asarray(rng.normal(size=(k, n)) * scale, jnp.float32),
            "b": jnp.asarray(rng.normal(size=n), jnp.float32)}
    tol = jnp.full((m,), 1e-5, jnp.float32)
    rows = full_chunk_rows(m, n)
    xla = jax.jit(lambda h, last, tol: chunked.last_layer(h, last, data, tol, rows))
    ours = jax.jit(lambda h, last, tol: fused.last_layer(h, last, data, tol))
    times: dict[str, list[float]] = {"xla": [], "fused": []}
    for fn in (xla, ours):
        jax.block_until_ready(fn(h, last, tol))   # compiled before the clock
    for _ in range(repeats):
        for name, fn in (("xla", xla), ("fused", ours)):
            t = time.perf_counter()
            jax.block_until_ready(fn(h, last, tol))
            times[name].append(time.perf_counter() - t)
    return statistics.median(times["xla"]), statistics.median(times["fused"])


def network_step(n: int, k: int, seeds: int, steps: int, fused: bool) -> float:
    env = {**os.environ, "BOTTLENET_FUSED": "1" if fused else "0"}
    out = subprocess.run([sys.executable, "-c", STEP_SCRIPT, str(n), str(k), str(seeds),
                          str(steps)], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trial", action="store_true",
                        help="also time the k = 2 trial at n = 4,096 with 8 seeds")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    from bottlenet.trainer import fused

    if not fused.built():
        sys.exit("the fused kernel was not built for 512-bit vectors here (no C compiler, a "
                 "portable build or a CPU without AVX-512): the trainer uses XLA's step")
    print("1. one network's last layer (all n x n logits), all cores; median of "
          f"{args.repeats}; weights N(0, 3^2) (no block far from the maximum, as early in "
          "training) and N(0, 1000^2) (most blocks far, as in a trained network)")
    for n, k in ((4096, 2), (16384, 3)):
        for scale in (3.0, 1000.0):
            xla, ours = last_layer(n, k, args.repeats, scale)
            print(f"   n = {n:6,d}, k = {k}, scale {scale:6g}: XLA chunks {xla * 1e3:7.1f} "
                  f"ms, fused {ours * 1e3:7.1f} ms: {xla / ours:.2f}x")
    print("2. a training step, 8 networks at n = 4,096, k = 2 (a process each)")
    base = network_step(4096, 2, 8, 100, fused=False)
    ours = network_step(4096, 2, 8, 100, fused=True)
    print(f"   XLA chunks {base * 1e3:.2f} ms a network-step, fused {ours * 1e3:.2f}: "
          f"{base / ours:.2f}x")
    if args.trial:
        command = [str(Path(sys.executable).parent / "bottlenet"), "train", "--symbols",
                   "4096", "--hidden", "2", "--lr", "0.01", "--steps", "10000", "--seeds", "8"]
        print("3. " + " ".join(["bottlenet", *command[1:]]))
        t = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t
        print("\n".join("   " + line for line in out.stdout.strip().splitlines()[-4:]))
        verdict = "met" if seconds <= 300 else "MISSED"
        print(f"   {verdict}: {seconds:.0f} s against 300 s (the XLA step: about "
              f"{seconds * base / ours:.0f} s by the ratio above)")


if __name__ == "__main__":
    main()
