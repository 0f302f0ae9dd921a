"""A training run: the plan of compiled segments, passes when the population does not fit,
compaction when networks stop, and the Population at the end.

Python only sees segment boundaries: progress, early stop, snapshots.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bottlenet.config import TrainConfig
from bottlenet.errors import ResourceError, SpecError
from bottlenet.evaluation import (
    consecutive_inputs,
    evaluate,
    evaluate_chunked,
    init_population,
    task_arrays,
)
from bottlenet.memory import check_chunk, cpu_pass_size, networks_per_pass
from bottlenet.population import Population, concatenate
from bottlenet.softmax import check_stride as sampled_check_stride
from bottlenet.softmax import full_in_chunks, uses_sampled
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task
from bottlenet.trainer import fused
from bottlenet.trainer.parametrize import (
    effective_params,
    numpy_effective,
    numpy_max_abs,
)
from bottlenet.trainer.sampled import first_candidates
from bottlenet.trainer.step import State, gather, make_optimizer, run_segment, start


@partial(jax.jit, static_argnames=("spec", "input_range", "chunk"))
def _evaluate_population(spec, params, data, input_range=None, chunk=None):
    """Outcome of every network and its own weights, from training parameters; in
    chunks of `chunk` pairs when given (evaluate_chunked)."""
    params = jax.vmap(effective_params)(params)
    if chunk is None:
        ev = jax.vmap(evaluate, in_axes=(None, 0, None, None))(spec, params, data, input_range)
    else:
        ev = jax.vmap(evaluate_chunked, in_axes=(None, 0, None, None))(spec, params, data, chunk)
    return ev.loss, ev.accuracy, ev.solved, params


def plan(cfg: TrainConfig, stride: int | None = None) -> list[tuple[int, int]]:
    """Segments (n_blocks, block) covering all steps, with boundaries at every snapshot
    step and every `chunk` steps, blocks of `stride` steps (the history's, by default).
    Few distinct shapes means few compilations."""
    stride = stride or cfg.stride
    chunk = max(stride, cfg.chunk - cfg.chunk % stride)
    stops = sorted({s for s in cfg.snapshots if 0 < s < cfg.steps}
                   | set(range(chunk, cfg.steps, chunk)) | {cfg.steps})
    segments, t = [], 0
    for s in stops:
        full, rest = divmod(s - t, stride)
        if full:
            segments.append((full, stride))
        if rest:
            segments.append((1, rest))
        t = s
    return segments


def unpad_params(params, n_in: int, n_out: int):
    """Weights of a population trained padded (population axis first), as numpy slices
    back to the real size (no compiled program per size)."""
    layers = [{k: np.asarray(v) for k, v in layer.items()} for layer in params]
    layers[0]["w"] = layers[0]["w"][:, :n_in]
    layers[-1]["w"] = layers[-1]["w"][:, :, :n_out]
    if "b" in layers[-1]:
        layers[-1]["b"] = layers[-1]["b"][:, :n_out]
    return tuple(layers)


# Shrinking the population compiles a training program of the new size (about a second
# on the 2-core machine, a third of that from the disk cache); below this saving it
# is not worth it.
COMPACT_AFTER_S = 1.0


class Run:
    """The population during training, when networks that have stopped leave it.

    With stop="each", a network stops learning at its first solve, but vmap still
    computes it every step. Once at most half of the slots hold networks still
    learning, those are gathered into a population half the size (or smaller) and the
    stopped ones are put aside with their weights, outcome and history values, which no
    longer change: a trial at the capacity frontier, where half the networks solve
    early, then costs about half as much. Sizes are powers of two (times the device
    count), so few programs compile. `owner[slot]` is the network a slot holds; -1 marks
    a filler (a copy of a stopped network, to round the size up).
    """

    def __init__(self, size: int, state: State, spread: bool = True):
        self.size, self.state, self.spread = size, state, spread
        self.owner = np.arange(size)
        self.rows: list[tuple] = []
        self.aside = np.zeros(size, bool)  # put aside: the values in `kept` are final
        # The final values of those put aside: a dict like compact's `values` (the weights
        # under "params", a tree like the network's), leaves (size, ...); None until then.
        self.kept: dict | None = None

    def _full(self, slots: np.ndarray, kept: np.ndarray | None) -> np.ndarray:
        """Per network (size, ...): the slots' values, and the `kept` ones of networks
        put aside. `slots` has the slot axis first."""
        live = self.owner >= 0
        out = np.empty((self.size, *slots.shape[1:]), slots.dtype)
        out[self.owner[live]] = slots[live]
        if self.aside.any():
            assert kept is not None
            kept = kept[self.aside]
            # history rows repeat a kept value over the blocks (axis 1 of `slots`)
            out[self.aside] = kept[:, None] if slots.ndim > kept.ndim else kept
        return out

    def _full_tree(self, name: str, slots):
        """_full over a tree of slot values, against the kept tree of that name."""
        if self.kept is None:
            return jax.tree.map(lambda s: self._full(s, None), slots)
        return jax.tree.map(self._full, slots, self.kept[name])

    def record(self, steps, loss, acc, maxw) -> None:
        """One segment's history rows (blocks, slots) as rows for every network."""
        row = [np.moveaxis(self._full_tree(name, np.moveaxis(np.asarray(x), 1, 0)), 0, 1)
               for name, x in (("loss", loss), ("accuracy", acc), ("max_weight", maxw))]
        self.rows.append((steps, *row))

    def history(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([r[j] for r in self.rows]) for j in range(4))

    def finished(self) -> np.ndarray:
        """Per slot: solved or diverged (a stopped network either way)."""
        return (np.asarray(self.state.solve_step) >= 0) | np.asarray(self.state.diverged)

    def compact(self, finished: np.ndarray, seconds_left: float) -> None:
        """Put aside the finished networks when at most half of the slots would stay and
        the time saved on the steps left (`seconds_left` at the present size) pays for
        compiling a program of the new size (COMPACT_AFTER_S). Their history continues
        at their final values: a solved network's loss at its solve step, a diverged
        one's last row (it was put back to that row's weights)."""
        learning = np.flatnonzero(~finished & (self.owner >= 0))
        devices = len(jax.local_devices())
        size = devices << max(0, int(-(-len(learning) // devices) - 1).bit_length())
        if (size > len(self.owner) // 2
                or seconds_left * (1 - size / len(self.owner)) < COMPACT_AFTER_S):
            return
        leaving = finished & (self.owner >= 0)
        params = numpy_effective(self.state.params)
        solved = np.asarray(self.state.solve_step) >= 0
        last = self.rows[-1]
        values = {
            "loss": np.where(solved, np.asarray(self.state.solve_loss), last[1][-1][self.owner]),
            "accuracy": np.where(solved, 1.0, last[2][-1][self.owner]),
            "max_weight": numpy_max_abs(params), "solved": solved,
            "solve_step": np.asarray(self.state.solve_step),
            "diverged": np.asarray(self.state.diverged), "params": params,
        }
        if self.kept is None:
            self.kept = jax.tree.map(lambda v: np.zeros((self.size, *v.shape[1:]), v.dtype),
                                     values)
        for kept, v in zip(jax.tree.leaves(self.kept), jax.tree.leaves(values), strict=True):
            kept[self.owner[leaving]] = v[leaving]
        self.aside[self.owner[leaving]] = True
        fill = np.full(size - len(learning), np.flatnonzero(finished)[0])
        self.owner = np.concatenate([self.owner[learning], np.full(len(fill), -1)])
        slots = jnp.asarray(np.concatenate([learning, fill]))
        self.state = gather(self.state, slots, self.spread)

    def params(self) -> tuple:
        """Every network's own weights now (numpy, population axis in network order)."""
        return self._full_tree("params", numpy_effective(self.state.params))

    @property
    def solve_step(self) -> np.ndarray:
        return self._full_tree("solve_step", np.asarray(self.state.solve_step))

    @property
    def diverged(self) -> np.ndarray:
        return self._full_tree("diverged", np.asarray(self.state.diverged))

    def final(self, evaluation) -> tuple:
        """(loss, accuracy, solved, params) of every network: the evaluation of the slots
        still held (see _evaluate_population), and the values kept for those put aside."""
        loss, acc, solved, params = jax.device_get(evaluation)
        return (self._full_tree("loss", loss), self._full_tree("accuracy", acc),
                self._full_tree("solved", solved), self._full_tree("params", params))


def train(task: Task, spec: NetSpec | None = None, config: TrainConfig | None = None,
          progress: Callable[[int, int], None] | None = None,
          pad_to: tuple[int, int, int] | None = None, mask=None, **overrides) -> Population:
    """Train a population of networks on `task`.

    `spec` defaults to the article's network for the task (2 tanh units, softmax);
    keyword overrides go to TrainConfig (e.g. `train(task, steps=2000, seeds=32)`).
    `progress(done, total)` is called after each compiled segment.
    `pad_to=(n_in, n_out, n_pairs)` trains in a larger compiled shape: padded inputs
    never fire, padded outputs are masked out of the softmax, padded pairs weigh 0, and
    the real weights start exactly as without padding, so the outcome is the same while
    every task up to that size shares one compilation.
    `mask` (a pytree like the population's params, leaves (P, ...) or broadcastable, of
    0/1) removes connections: where it is 0 the weight starts at zero and stays there.

    When the whole population does not fit in memory it is trained in passes of as many
    networks as fit (network i still uses seed + i, so the outcome is the same); when
    not even one network fits, ResourceError says how much memory it needs. On a CPU a
    large population is also trained in passes, of as many networks as the caches serve
    well (memory.cpu_pass_size): faster, with the same outcome.
    """
    spec = spec or NetSpec(task.n_in, task.n_out)
    config = config or TrainConfig()
    if overrides:
        config = replace(config, **overrides)
    if (spec.n_in, spec.n_out) != (task.n_in, task.n_out):
        raise SpecError(f"network is {spec.n_in}->{spec.n_out} but the task is "
                        f"{task.n_in}->{task.n_out}")
    if config.batch is not None and config.batch > task.n_pairs:
        raise SpecError(f"a batch of {config.batch} pairs is larger than the task "
                        f"({task.n_pairs} pairs)")
    pad_in, pad_out, pad_pairs = pad_to or (task.n_in, task.n_out, task.n_pairs)
    if pad_in < task.n_in or pad_out < task.n_out or pad_pairs < task.n_pairs:
        raise SpecError(f"pad_to {pad_to} is smaller than the task")
    if pad_to and mask is not None:
        raise SpecError("a mask cannot be combined with padding")
    if pad_to and config.batch is not None:
        raise SpecError("padding serves full-batch training only")
    padded = (pad_in, pad_out, pad_pairs) != (task.n_in, task.n_out, task.n_pairs)
    uses_sampled(config, spec, padded, mask is not None)  # SpecError where it cannot
    if config.dtype == "float64":
        # JAX's x64 mode for this run alone: nothing else in the process changes precision
        with jax.enable_x64(True):
            return _train(task, spec, config, progress, (pad_in, pad_out, pad_pairs), mask)
    return _train(task, spec, config, progress, (pad_in, pad_out, pad_pairs), mask)


def _fused_step(spec: NetSpec, n_pairs: int, config: TrainConfig) -> bool:
    """Whether full-batch steps go through the compiled fused kernel (trainer/fused.py).
    Its population stays whole, on one device: its memory is O(n) a network, not the n x
    n arrays that passes of a few networks keep in the caches (memory.cpu_pass_size),
    and its threads give the cores their work."""
    return (config.batch is None and config.softmax != "sampled"
            and full_in_chunks(spec, n_pairs) and fused.takes(config.dtype, spec.hidden[-1]))


def _train(task: Task, spec: NetSpec, config: TrainConfig, progress, pad_to, mask
           ) -> Population:
    """train, in passes when the population does not fit at once."""
    pad_in, pad_out, pad_pairs = pad_to
    padded = replace(spec, n_in=pad_in, n_out=pad_out)
    group = networks_per_pass(padded, pad_pairs, config)
    if mask is None and jax.default_backend() == "cpu" and not _fused_step(padded, pad_pairs,
                                                                          config):
        group = min(group, cpu_pass_size(padded, pad_pairs, config, len(jax.local_devices())))
    if group < config.seeds:
        if mask is not None:
            raise ResourceError("a masked population must fit in memory in one pass: "
                                f"use at most {group} networks")
        passes = range(0, config.seeds, group)

        def part(i, first):
            cfg = replace(config, seed=config.seed + first, seeds=min(group, config.seeds - first))
            report = progress and (lambda d, n: progress(i * n + d, len(passes) * n))
            return _train_pass(task, spec, cfg, report, (pad_in, pad_out, pad_pairs), None)

        return concatenate([part(i, first) for i, first in enumerate(passes)], config)
    return _train_pass(task, spec, config, progress, (pad_in, pad_out, pad_pairs), mask)


def _train_pass(task: Task, spec: NetSpec, config: TrainConfig, progress, pad_to, mask
                ) -> Population:
    """One population trained at once (see train)."""
    pad_in, pad_out, pad_pairs = pad_to
    started = time.perf_counter()
    dtype = jnp.dtype(config.dtype)
    data = task_arrays(task, pad_pairs, pad_out, dtype, n_in=pad_in)
    input_range = consecutive_inputs(data)
    sampled = config.softmax == "sampled"
    real_spec, spec = spec, replace(spec, n_in=pad_in, n_out=pad_out)
    # With minibatches, the sampled softmax or full-batch steps in chunks, solve checks
    # and the final evaluation go in chunks of pairs (memory O(chunk x outputs)).
    chunk = (check_chunk(pad_pairs, pad_out) if config.batch is not None or sampled
             or full_in_chunks(spec, pad_pairs) else None)
    opt = make_optimizer(config)
    seeds = np.arange(config.seed, config.seed + config.seeds, dtype=np.int64)
    if seeds.max() >= 2**31:
        raise SpecError("seeds must stay below 2**31")
    if mask is not None:
        shapes = jax.eval_shape(init_population, spec, jnp.zeros(config.seeds, jnp.int32))
        mask = jax.tree.map(lambda m, p: jnp.broadcast_to(jnp.asarray(m, p.dtype), p.shape),
                            tuple(dict(layer) for layer in mask), shapes)
    spread = not _fused_step(spec, pad_pairs, config)
    state = start(spec, opt, np.asarray(seeds, np.int32), config.init_scale, task.n_in,
                  task.n_out, mask, config.logit_scale, dtype,
                  first_candidates(data, pad_out) if sampled else None, spread)
    run = Run(config.seeds, state, spread)
    snapshots = {0: run.params()} if 0 in config.snapshots else {}
    t = 0
    slots, first_at_size = config.seeds, True
    stride = (sampled_check_stride(config, pad_out) if sampled
              else config.check_stride(pad_pairs))
    for n_blocks, block in plan(config, stride):
        segment_start = time.perf_counter()
        run.state, row = run_segment(spec, opt, config.batch, input_range,
                                     config.stop == "each", data, run.state, t, n_blocks, block,
                                     chunk, sampled)
        run.record(t + block * np.arange(n_blocks), *row)
        t += n_blocks * block
        if t in config.snapshots:
            snapshots[t] = run.params()
        if progress:
            progress(t, config.steps)
        if config.stop == "never" or t < max(config.snapshots, default=0):
            continue
        # Stop early once every network has solved (or diverged), but not before the last
        # snapshot that was asked for.
        finished = run.finished()
        if finished[run.owner >= 0].all():
            break
        if config.stop == "each" and not first_at_size:  # (its time includes compiling)
            per_step = (time.perf_counter() - segment_start) / (n_blocks * block)
            run.compact(finished, per_step * (config.steps - t))
        first_at_size = len(run.owner) != slots
        slots = len(run.owner)
    loss, acc, solved, params = run.final(
        _evaluate_population(spec, run.state.params, data, input_range, chunk))
    solved &= ~run.diverged
    solve_step = np.where((run.solve_step < 0) & solved, t, run.solve_step)
    if config.stop == "each" and (solve_step >= 0).all():
        t = int(solve_step.max())  # no network learned after its solve step
    history = run.history()
    kept = history[0] <= t
    return Population(
        spec=real_spec, task=task, config=config, network_seeds=seeds,
        params=unpad_params(params, task.n_in, task.n_out),
        solved=solved, solve_step=solve_step, final_loss=loss, final_accuracy=acc,
        diverged=run.diverged, steps_run=t, wall_time=time.perf_counter() - started,
        history_step=history[0][kept], history_loss=history[1][kept],
        history_accuracy=history[2][kept], history_max_weight=history[3][kept],
        snapshots={s: unpad_params(p, task.n_in, task.n_out) for s, p in snapshots.items()},
        dtype=config.dtype,
    )
