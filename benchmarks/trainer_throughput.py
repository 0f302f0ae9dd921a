"""Population trainer throughput against two baselines measured in the same run.

For (n=11, k=2), (n=30, k=3) and (n=100, k=4) on the shift task, full-batch Adam:
  - trainer: network-steps/s of `bottlenet.train` (P networks in one compiled program,
    compilation excluded by a warm-up run of the same shapes);
  - loop: one jitted step per network, called from Python, one network after another
    (the same step function, so the only difference is the population axis);
  - floor: one jitted log-softmax over the population's logits (P x pairs x n), which
    every training step must at least pay, as network-steps/s. It is timed both on one
    device and split over all the host devices the trainer uses (bottlenet asks XLA for
    one per core), and the faster of the two is the limit.
Then, at the sizes of capacity searches (n = 768 and 1024, k = 3, 32 networks), the
trainer as it runs on a CPU (in passes of networks sized for the caches, see
memory.cpu_pass_size) against the whole population in one pass.
Prints figures and ratios; asserts nothing (timings on shared machines are noisy).

    uv run python benchmarks/trainer_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import bottlenet as bn
from bottlenet import (
    memory,
    net,  # noqa: F401  (before any computation: one XLA device per core)
)
from bottlenet.evaluation import consecutive_inputs, init_population, task_arrays
from bottlenet.trainer import effective_params, make_optimizer, with_logit_scale
from bottlenet.trainer.step import State, one_step


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def trainer_rate(task, spec, P, steps):
    cfg = bn.TrainConfig(seeds=P, steps=steps, stop="never", chunk=steps, log_every=steps)
    bn.train(task, spec, cfg)  # compile
    t = best_of(lambda: bn.train(task, spec, cfg), 2)
    return P * steps / t


def loop_rate(task, spec, networks, steps):
    cfg = bn.TrainConfig(seeds=1, steps=steps)
    opt = make_optimizer(cfg)
    data = task_arrays(task)
    step = jax.jit(partial(one_step, spec, opt, None, consecutive_inputs(data), False, data))

    def run():
        for i in range(networks):
            params = jax.tree.map(lambda x: x[0], init_population(spec, jnp.array([i])))
            params = with_logit_scale(params) if cfg.logit_scale else params
            state = State(params, opt.init(params), jax.random.key(i), jnp.int32(-1),
                           jnp.float32(0), jnp.bool_(False),
                           scaled=effective_params(params)[-1] if cfg.logit_scale else None)
            for t in range(steps):
                state, _ = step(state, t)
            jax.block_until_ready(state.params)

    run()  # compile
    return networks * steps / best_of(run, 5)


def floor_rate(task, P, steps):
    """Log-softmax passes chained in a scan (each pass reads the last one's output), so
    the floor pays no dispatch overhead either, just as the trainer's scanned steps."""
    logits = jax.random.normal(jax.random.key(0), (P, task.n_pairs, task.n_out))
    run = jax.jit(lambda z: jax.lax.scan(
        lambda z, _: (jax.nn.log_softmax(z, axis=-1), None), z, None, length=steps)[0])
    placements = [logits]
    devices = jax.local_devices()
    if len(devices) > 1 and P % len(devices) == 0:
        mesh = Mesh(np.array(devices), ("pop",))
        placements.append(jax.device_put(logits, NamedSharding(mesh, PartitionSpec("pop"))))
    rates = []
    for z in placements:
        run(z).block_until_ready()
        rates.append(P * steps / best_of(lambda z=z: run(z).block_until_ready(), 3))
    return max(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps (noisier)")
    args = ap.parse_args()
    steps = 500 if args.quick else 2000
    cases = [(11, 2, 1024), (30, 3, 512), (100, 4, 256)]
    print(f"jax {jax.__version__} on {len(jax.local_devices())} {jax.devices()[0].platform} "
          f"device(s); full-batch Adam, {steps} steps per timing")
    print(f"{'n':>4} {'k':>2} {'P':>5} {'trainer':>12} {'loop':>10} {'ratio':>7} "
          f"{'floor':>12} {'trainer/floor':>13}")
    for n, k, P in cases:
        task = bn.tasks.shift(n)
        spec = bn.NetSpec(n, n, (k,))
        tr = trainer_rate(task, spec, P, steps)
        lp = loop_rate(task, spec, networks=4, steps=steps // 4)
        fl = floor_rate(task, P, steps)
        print(f"{n:>4} {k:>2} {P:>5} {tr:>12,.0f} {lp:>10,.0f} {tr / lp:>6.0f}x "
              f"{fl:>12,.0f} {tr / fl:>12.2f}x")
    print("rates are network-steps per second; ratio = trainer / loop; "
          "trainer/floor = share of the log-softmax limit reached (1.0 = at the limit)")
    if jax.default_backend() == "cpu":
        large_populations(steps // 10)


def large_populations(steps):
    print(f"\ncapacity-search sizes on the CPU, {steps} steps per timing")
    print(f"{'n':>5} {'k':>2} {'P':>3} {'passes of':>9} {'in passes':>10} {'one pass':>10} "
          f"{'ratio':>6}")
    for n in (768, 1024):
        task, spec = bn.tasks.shift(n), bn.NetSpec(n, n, (3,))
        cfg = bn.TrainConfig(seeds=32, steps=steps, stop="never", chunk=steps)
        group = memory.cpu_pass_size(spec, n, cfg, len(jax.local_devices()))
        passes = trainer_rate(task, spec, 32, steps)
        limit = memory.CPU_PASS_BYTES
        memory.CPU_PASS_BYTES = 1 << 62  # the whole population in one pass
        try:
            whole = trainer_rate(task, spec, 32, steps)
        finally:
            memory.CPU_PASS_BYTES = limit
        print(f"{n:>5} {3:>2} {32:>3} {group:>9} {passes:>10,.0f} {whole:>10,.0f} "
              f"{passes / whole:>5.2f}x")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
