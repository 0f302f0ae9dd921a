"""The capacity wall's instruments, measured against today's full-batch path in the same run.

    uv run python benchmarks/capacity_wall.py            # about 5 minutes on 2 cores
    uv run python benchmarks/capacity_wall.py --quick    # smaller sizes, a minute

Prints:
1. the cost of one training step of one network: full batch as one n x n array by
   autodiff (the baseline: the path before chunks), full batch in chunks of pairs (what
   runs now from about 1,200 symbols), a minibatch of 256 pairs (256 x n logits, plus the
   solve check's share) and the sampled softmax (n x (32 + 128) logits), and the ratios;
2. what those steps buy: networks solved and time to solve at one n, all three ways,
   and at a larger n (k = 3) full against sampled;
3. `bottlenet check` of one k = 2 network (the hand-made circle) at n = 100,000 in
   float64, dense (n x n) against the nearest-code check, against the target of 60 s;
4. the grid construction of two units checked exactly at 10^6 symbols (target: 10 min);
5. the circle's float32 and float64 limits and the grid's float32 limit as the checker
   measures them, beside the estimates from their margins.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet import construct, tasks
from bottlenet import net as netlib
from bottlenet import softmax as softmax_rules
from bottlenet.check import check_network
from bottlenet.config import TrainConfig
from bottlenet.evaluation import solve_rtol, task_arrays
from bottlenet.memory import check_chunk
from bottlenet.softmax import full_in_chunks
from bottlenet.spec import NetSpec
from bottlenet.trainer import train, with_logit_scale
from bottlenet.trainer.sampled import first_candidates
from bottlenet.trainer.step import State, check_solved, make_optimizer, one_step

BATCH = 256


def step_seconds(n: int, k: int, batch: int | None, repeats: int = 5,
                 sampled: bool = False) -> float:
    """Seconds of one step of one network (best of `repeats`, compiled beforehand); with a
    minibatch, plus its share of the solve check that comes every check_stride steps (the
    sampled softmax checks only once its targets lead: none of that is counted)."""
    spec, data = NetSpec(n, n, (k,)), task_arrays(tasks.shift(n))
    cfg = TrainConfig(batch=batch, steps=20000)
    opt = make_optimizer(cfg)
    params = with_logit_scale(netlib.init(spec, jax.random.key(0)))
    state = State(params, opt.init(params), jax.random.key(1), jnp.int32(-1), jnp.float32(0),
                  jnp.bool_(False), None, None,
                  first_candidates(data, n) if sampled else None)
    step = jax.jit(lambda s, t: one_step(spec, opt, batch, range(n - 1), True, data, s, t,
                                         sampled)[0])

    def best(fn, *args):
        jax.block_until_ready(fn(*args))
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times.append(time.perf_counter() - t0)
        return min(times)

    seconds = best(step, state, 0)
    if batch is not None:
        pop = jax.tree.map(lambda x: x[None], state)
        chunk = check_chunk(n - 1, n)
        check = jax.jit(lambda s: check_solved(spec, data, chunk, s, 0))
        seconds += best(check, pop) / cfg.check_stride(n - 1)
    return seconds


@contextlib.contextmanager
def whole_steps():
    """Full-batch steps as before the chunks: every step one n x n array, by autodiff."""
    saved = softmax_rules.MIN_LOGITS
    softmax_rules.MIN_LOGITS = 2**62
    try:
        yield
    finally:
        softmax_rules.MIN_LOGITS = saved


def solve(n: int, batch: int | None, seeds: int, steps: int, softmax: str = "full",
          k: int = 2) -> tuple[int, float, int]:
    """(networks solved, seconds, median solve step) for k units at n: full batch or
    sampled softmax at lr 0.01 (the capacity default); minibatches at lr 0.003 with a
    cosine decay (at a constant lr their noise keeps them from a solution: see README,
    Capacity)."""
    t0 = time.perf_counter()
    regime = {"lr": 0.01} if batch is None else {"lr": 0.003, "schedule": "cosine"}
    pop = train(tasks.shift(n), NetSpec(n, n, (k,)),
                TrainConfig(seeds=seeds, steps=steps, batch=batch, softmax=softmax, **regime))
    solved = pop.solve_step[pop.solved]
    return int(pop.solved.sum()), time.perf_counter() - t0, \
        int(np.median(solved)) if len(solved) else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    quick = parser.parse_args().quick
    print(f"bottlenet capacity-wall benchmark ({jax.devices()[0].device_kind}, "
          f"{len(jax.local_devices())} XLA devices)\n")

    print("1. one step of one network (k = 3): full batch as one n x n array by autodiff "
          "(the path before chunks; the baseline) vs full batch in chunks of pairs vs "
          "minibatch of 256 pairs vs sampled softmax")
    sizes = (1024, 4096) if quick else (1024, 4096, 16384)
    for n in sizes:
        with whole_steps():
            whole = step_seconds(n, 3, None)
        full, mini = step_seconds(n, 3, None), step_seconds(n, 3, BATCH)
        sampled = step_seconds(n, 3, None, sampled=True)
        chunks = "in chunks" if full_in_chunks(NetSpec(n, n, (3,)), n - 1) else "whole   "
        print(f"   n = {n:>6}: whole {1e3 * whole:8.2f} ms   full ({chunks}) {1e3 * full:7.2f} "
              f"ms {whole / full:5.1f}x   minibatch {1e3 * mini:6.2f} ms (check's share "
              f"included) {whole / mini:5.1f}x   sampled {1e3 * sampled:6.2f} ms "
              f"{whole / sampled:5.1f}x")

    print("\n2. what the steps buy: shift task (full and sampled: lr 0.01; minibatch: lr "
          "0.003, cosine)")
    n, seeds, steps, batch_size = (512, 2, 6000, 64) if quick else (1024, 4, 20000, BATCH)
    for label, batch, softmax in (("full batch", None, "full"),
                                  (f"minibatch {batch_size}", batch_size, "full"),
                                  ("sampled", None, "sampled")):
        ok, seconds, median = solve(n, batch, seeds, steps, softmax)
        print(f"   k = 2, n = {n}, {label:<14}: {ok}/{seeds} solved in {seconds:6.1f} s "
              f"(median solve step {median}, budget {steps})")
    n, seeds = (1024, 2) if quick else (4096, 2)
    for softmax in ("full", "sampled"):
        ok, seconds, median = solve(n, None, seeds, 20000, softmax, k=3)
        print(f"   k = 3, n = {n}, {softmax:<14}: {ok}/{seeds} solved in {seconds:6.1f} s "
              f"(median solve step {median}, budget 20000)")

    print("\n3. bottlenet check of one k = 2 network (the hand-made circle), float64: "
          "dense (n x n) against nearest codes")
    n = 20_000 if quick else 100_000
    task = tasks.shift(n)
    params = construct.unit_weights(task, 2, 0.9, dtype="float32")
    seconds = {}
    for method in ("dense", "nearest"):
        t0 = time.perf_counter()
        result = check_network(NetSpec(n, n, (2,)), params, task, method=method)
        seconds[method] = time.perf_counter() - t0
        print(f"   n = {n:,}, {method:<7}: {seconds[method]:6.1f} s; won {result.won:,}/"
              f"{result.pairs:,}, smallest margin {result.margin:.2e}")
    print(f"   ratio {seconds['dense'] / seconds['nearest']:.0f}x; target <= 60 s at n = "
          f"100,000: {'met' if min(seconds.values()) <= 60 or quick else 'NOT met'}")

    print("\n4. the grid of two units checked exactly (nearest codes), float32 rule")
    n = 100_000 if quick else 1_000_000
    t0 = time.perf_counter()
    task = tasks.shift(n)
    params = construct.unit_weights(task, 2, 0.9, "grid", "float32")
    built = time.perf_counter() - t0
    result = check_network(NetSpec(n, n, (2,)), params, task, "float32")
    seconds_grid = time.perf_counter() - t0 - built
    print(f"   n = {n:,}: checked in {seconds_grid:.1f} s (built in {built:.1f} s); "
          f"{'solved' if result.solved else 'not solved'}: {result.won:,}/{result.pairs:,} "
          f"pairs won; target <= 600 s at 10^6: "
          f"{'met' if seconds_grid <= 600 or quick else 'NOT met'}")

    print("\n5. limits measured by the checker (bisection), beside the margin's estimate")
    for method, dtype in (("circle", "float32"), ("grid", "float32"), ("circle", "float64")):
        if quick and method == "grid":
            continue
        t0 = time.perf_counter()
        lo, hi = construct.checked_limit(2, method, dtype)
        found = f"fails at n = {hi:,}" if hi else "the largest n checked"
        print(f"   {method:<6} {dtype}: passes at n = {lo:,}, {found} "
              f"({time.perf_counter() - t0:.0f} s); estimate: "
              f"{construct.margin_limit(2, method, rtol=solve_rtol(np.dtype(dtype))):,}")


if __name__ == "__main__":
    main()
