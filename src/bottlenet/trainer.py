"""The population trainer: P independent networks of one shape in one compiled program.

Every network has its own seed (network i of a run with first seed s uses seed s+i, so
a network does not depend on the population size), its own optimizer state and its own
loss; `vmap` puts them side by side and `lax.scan` runs the steps without Python in
the loop. Python only sees segment boundaries: progress, early stop, snapshots.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from bottlenet.config import TrainConfig
from bottlenet.errors import ResourceError, SpecError
from bottlenet.evaluation import (
    TaskArrays,
    batch_loss,
    consecutive_inputs,
    evaluate,
    init_population,
    minibatch,
    network_keys,
    task_arrays,
)
from bottlenet.memory import cpu_pass_size, networks_per_pass
from bottlenet.population import Population, concatenate
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    steps = cfg.steps if cfg.schedule != "constant" else 0
    return _optimizer(cfg.optimizer, cfg.lr, cfg.schedule, steps)


@functools.lru_cache(maxsize=64)
def _optimizer(name: str, lr: float, schedule: str, steps: int):
    # Cached: the optimizer is a static argument of the compiled segment, so equal
    # settings must give the same object or every run would compile anew.
    rate = lr if schedule == "constant" else optax.cosine_decay_schedule(lr, steps, alpha=0.01)
    return {
        "adam": lambda: optax.adam(rate),
        "sgd": lambda: optax.sgd(rate),
        "momentum": lambda: optax.sgd(rate, momentum=0.9),
        "nesterov": lambda: optax.sgd(rate, momentum=0.9, nesterov=True),
        "rmsprop": lambda: optax.rmsprop(rate),
    }[name]()


class _State(NamedTuple):
    params: tuple  # training parameters: the network's, plus "s" in the last layer when
    #                the logit scale is learned (see effective_params)
    opt_state: optax.OptState
    key: jax.Array  # per-network key for minibatch sampling
    solve_step: jax.Array  # first step at which the network was solved, -1 = not yet
    solve_loss: jax.Array  # its loss at that step (with stop "each": its loss for good)
    diverged: jax.Array
    mask: tuple | None = None  # like the network's params: 0 = connection removed
    # The network's own last layer, s * (w, b), when the logit scale is learned: kept up
    # to date after each update, so the step's forward pass reads it like plain weights
    # (computing it inside the step cost a fifth of the step at n=100).
    scaled: dict | None = None


def with_logit_scale(params):
    """Training parameters with a learned logit scale: log s = 0 added to the last layer.

    The network's output layer becomes s * (w, b), the same function class. Why it helps:
    a solution for n symbols needs output weights that grow with n (the hand-made
    circle's scale grows like n^2), but a step of Adam moves every parameter by about the
    learning rate, so plain weights grow only linearly in the steps taken; log s moves by
    the same amount, so the scale grows geometrically and the weights w themselves stay
    near unit size, where a step of the learning rate is a fine adjustment."""
    last = dict(params[-1])
    last["s"] = jnp.zeros(jnp.shape(last["w"])[:-2], last["w"].dtype)
    return (*params[:-1], last)


def effective_params(params):
    """The network's own weights from training parameters: the logit scale folded into
    the last layer (one network, no population axis)."""
    if "s" not in params[-1]:
        return params
    last = dict(params[-1])
    scale = jnp.exp(last.pop("s"))
    return (*params[:-1], {k: v * scale for k, v in last.items()})


def _training_grads(params, weights, grads):
    """Gradients for the training parameters from those for the network's own weights
    (the step differentiates the forward pass at the weights it carries, see
    _State.scaled). With a logit scale, w = s w' and b = s b', so dL/dw' = s dL/dw and
    dL/dlog s = sum(dL/dw * w) + sum(dL/db * b)."""
    if "s" not in params[-1]:
        return grads
    last, scale = grads[-1], jnp.exp(params[-1]["s"])
    d_log_s = sum(jnp.sum(last[k] * weights[-1][k]) for k in last)
    return (*grads[:-1], {**{k: g * scale for k, g in last.items()}, "s": d_log_s})


def _masked(updates, mask):
    """Updates with removed connections held at zero (the logit scale is never masked)."""
    return tuple({k: u * m[k] if k in m else u for k, u in layer.items()}
                 for layer, m in zip(updates, mask, strict=True))


def _max_abs(params) -> jax.Array:
    """Largest weight magnitude of each layer (L,), biases excluded."""
    return jnp.stack([jnp.max(jnp.abs(layer["w"])) for layer in effective_params(params)])


def _one_step(spec: NetSpec, opt, batch: int | None, input_range: range | None,
              keep_solved: bool, data: TaskArrays, state: _State, t):
    """One update of one network; returns the new state and (loss, accuracy) at step t.
    `input_range`: the inputs as a range when they are consecutive (consecutive_inputs).
    With `keep_solved`, a network solved at step t keeps exactly the weights it was
    solved with: the update of step t and every later one is dropped."""
    weights = (effective_params(state.params) if state.scaled is None
               else (*state.params[:-1], state.scaled))
    if batch is None:
        def loss_fn(p):
            ev = evaluate(spec, p, data, input_range)
            return ev.loss, ev

        (_, ev), grads = jax.value_and_grad(loss_fn, has_aux=True)(weights)
    else:
        ev = evaluate(spec, weights, data, input_range)
        idx = minibatch(state.key, t, data, batch)
        grads = jax.grad(lambda p: batch_loss(spec, p, data, idx))(weights)
    grads = _training_grads(state.params, weights, grads)
    # Divergence is checked once per block in _run_segment, not here: checking every
    # step cost a quarter of the step time at n=11. Meanwhile a network with a
    # non-finite loss cannot count as solved.
    first = (state.solve_step < 0) & ev.solved & jnp.isfinite(ev.loss) & ~state.diverged
    solve_step = jnp.where(first, t, state.solve_step)
    solve_loss = jnp.where(first, ev.loss, state.solve_loss)
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    if state.mask is not None:
        updates = _masked(updates, state.mask)
    if keep_solved:
        learning = solve_step < 0
        updates = jax.tree.map(lambda u: u * learning.astype(u.dtype), updates)
    params = optax.apply_updates(state.params, updates)
    scaled = None if state.scaled is None else effective_params(params)[-1]
    return state._replace(params=params, opt_state=opt_state, solve_step=solve_step,
                          solve_loss=solve_loss, scaled=scaled), (ev.loss, ev.accuracy)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
                              if jnp.issubdtype(x.dtype, jnp.floating)]))


@partial(jax.jit, static_argnames=("spec", "opt", "batch", "input_range", "keep_solved",
                                   "n_blocks", "block"))
def _run_segment(spec, opt, batch, input_range, keep_solved, data, state, t0, n_blocks, block):
    """n_blocks x block steps for the whole population; one history row per block.

    Shapes: state leaves (P, ...); returns rows of loss (n_blocks, P), accuracy
    (n_blocks, P) and largest weights (n_blocks, P, L), each taken at the block's start.
    A network whose loss or weights became NaN or infinite during a block is marked
    diverged and put back to its weights and optimizer state at the block's start (its
    last finite ones at history resolution), so its record stays inspectable; the others
    are untouched, since every network is computed apart.
    """
    pop_step = jax.vmap(partial(_one_step, spec, opt, batch, input_range, keep_solved, data),
                        in_axes=(0, None))
    finite = jax.vmap(lambda s: _all_finite((s.params, s.opt_state)))

    def block_fn(state, b):
        start = t0 + b * block
        maxw = jax.vmap(_max_abs)(state.params)
        new, (loss, acc) = jax.lax.scan(pop_step, state, start + jnp.arange(block))
        diverged = state.diverged | ~finite(new) | ~jnp.all(jnp.isfinite(loss), axis=0)
        kept = jax.tree.map(
            lambda old, cur: jnp.where(diverged.reshape((-1,) + (1,) * (cur.ndim - 1)), old,
                                       cur),
            (state.params, state.opt_state, state.scaled),
            (new.params, new.opt_state, new.scaled))
        new = new._replace(params=kept[0], opt_state=kept[1], scaled=kept[2],
                           diverged=diverged)
        return new, (loss[0], acc[0], maxw)

    return jax.lax.scan(block_fn, state, jnp.arange(n_blocks))


def compiled_segments() -> int:
    """How many training programs this process has compiled (for benchmarks)."""
    return _run_segment._cache_size()  # type: ignore[attr-defined]  # jit's own count


# Training programs a process may keep before release_compiled drops them all: with
# the programs that come with each (start, evaluation), a few hundred memory mappings
# each, far below Linux's 65,530 a process.
KEEP_COMPILED = 64


def release_compiled(keep: int = KEEP_COMPILED) -> None:
    """Drop every compiled program this process keeps once there are more than `keep`
    training programs. Each holds a few hundred memory mappings for the life of the
    process: a `reproduce --full` run in one process compiled enough (sizes x passes x
    regimes) to crash in its twelfth claim ("LLVM compilation error: Cannot allocate
    memory"). Long runs call this between pieces of work (claims, sweep configurations);
    below the limit, programs stay for the next piece to reuse (the tiny test runs)."""
    if compiled_segments() > keep:
        jax.clear_caches()


@partial(jax.jit, static_argnames=("spec", "input_range"))
def _evaluate_population(spec, params, data, input_range=None):
    """Outcome of every network and its own weights, from training parameters."""
    params = jax.vmap(effective_params)(params)
    ev = jax.vmap(evaluate, in_axes=(None, 0, None, None))(spec, params, data, input_range)
    return ev.loss, ev.accuracy, ev.solved, params


@partial(jax.jit, static_argnames=("spec", "opt", "scale", "logit_scale"))
def _start(spec, opt, seeds, scale, n_in, n_out, mask, logit_scale=False):
    """The population's starting state in one compiled program (op-by-op it would be
    dozens of small compilations, more time than a short run takes), already split over
    the devices (see _spread)."""
    params = init_population(spec, seeds, scale, n_in, n_out)
    if mask is not None:
        params = jax.tree.map(jnp.multiply, params, mask)
    if logit_scale:
        params = with_logit_scale(params)
    keys = network_keys(seeds)[1]
    P = seeds.shape[0]
    scaled = jax.vmap(effective_params)(params)[-1] if logit_scale else None
    return _spread(_State(params, jax.vmap(opt.init)(params), keys,
                          jnp.full((P,), -1, jnp.int32), jnp.zeros((P,), jnp.float32),
                          jnp.zeros((P,), bool), mask, scaled))


def _spread(state: _State) -> _State:
    """Inside a compiled program: split the population axis over the local devices of the
    default backend when there are several and they divide it (several CPU "devices" run
    on separate cores); each network stays whole on one device, so networks remain
    independent. (Splitting inside the program that makes the state avoids a copy, and a
    small compilation, per array.)"""
    devices = jax.local_devices()
    P = state.solve_step.shape[0]
    if len(devices) < 2 or P % len(devices):
        return state
    sharding = NamedSharding(Mesh(np.array(devices), ("pop",)), PartitionSpec("pop"))
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), state)


def _plan(cfg: TrainConfig) -> list[tuple[int, int]]:
    """Segments (n_blocks, block) covering all steps, with boundaries at every snapshot
    step and every `chunk` steps. Few distinct shapes means few compilations."""
    stride = cfg.stride
    chunk = max(stride, cfg.chunk - cfg.chunk % stride)
    stops = sorted({s for s in cfg.snapshots if 0 < s < cfg.steps}
                   | set(range(chunk, cfg.steps, chunk)) | {cfg.steps})
    plan, t = [], 0
    for s in stops:
        full, rest = divmod(s - t, stride)
        if full:
            plan.append((full, stride))
        if rest:
            plan.append((1, rest))
        t = s
    return plan


def _unpad_params(params, n_in: int, n_out: int):
    """Numpy slices back to the real size (no compiled program per size)."""
    layers = [{k: np.asarray(v) for k, v in layer.items()} for layer in params]
    layers[0]["w"] = layers[0]["w"][:, :n_in]
    layers[-1]["w"] = layers[-1]["w"][:, :, :n_out]
    if "b" in layers[-1]:
        layers[-1]["b"] = layers[-1]["b"][:, :n_out]
    return tuple(layers)


@jax.jit
def _gather(state: _State, slots: jax.Array) -> _State:
    """The networks in `slots`, in that order, split over the devices (one compiled
    program per pair of sizes)."""
    return _spread(jax.tree.map(lambda x: x[slots], state))


@jax.jit
def _effective_population(params) -> tuple:
    return jax.vmap(effective_params)(params)


def _numpy_effective(params) -> tuple:
    """The networks' own weights as numpy arrays with axis P, computed as in the final
    evaluation (XLA's exp, not numpy's, so snapshots and final weights agree bit for bit)."""
    return jax.device_get(_effective_population(params))


def _numpy_max_abs(params) -> np.ndarray:
    """(P, L): the largest |w| of each layer of each network."""
    return np.stack([np.abs(layer["w"]).reshape(len(layer["w"]), -1).max(1)
                     for layer in params], 1)


# Shrinking the population compiles a training program of the new size (about a second
# on the 2-core machine, a third of that from the disk cache); below this saving it
# is not worth it.
COMPACT_AFTER_S = 1.0


class _Run:
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

    def __init__(self, size: int, state: _State):
        self.size, self.state = size, state
        self.owner = np.arange(size)
        self.rows: list[tuple] = []
        self.aside = np.zeros(size, bool)  # put aside: the values below are final
        self.kept: dict[str, np.ndarray] = {}  # name -> (size, ...) values of those put aside

    def _full(self, name: str, slots: np.ndarray) -> np.ndarray:
        """Per network (size, ...): the slots' values, and the kept ones of networks put
        aside. `slots` has the slot axis first."""
        live = self.owner >= 0
        out = np.empty((self.size, *slots.shape[1:]), slots.dtype)
        out[self.owner[live]] = slots[live]
        if self.aside.any():
            kept = self.kept[name][self.aside]
            # history rows repeat a kept value over the blocks (axis 1 of `slots`)
            out[self.aside] = kept[:, None] if slots.ndim > kept.ndim else kept
        return out

    def record(self, steps, loss, acc, maxw) -> None:
        """One segment's history rows (blocks, slots) as rows for every network."""
        row = [np.moveaxis(self._full(name, np.moveaxis(np.asarray(x), 1, 0)), 0, 1)
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
        params = _numpy_effective(self.state.params)
        solved = np.asarray(self.state.solve_step) >= 0
        last = self.rows[-1]
        values = {
            "loss": np.where(solved, np.asarray(self.state.solve_loss), last[1][-1][self.owner]),
            "accuracy": np.where(solved, 1.0, last[2][-1][self.owner]),
            "max_weight": _numpy_max_abs(params), "solved": solved,
            "solve_step": np.asarray(self.state.solve_step),
            "diverged": np.asarray(self.state.diverged),
            **{f"params/{i}/{k}": v for i, layer in enumerate(params) for k, v in layer.items()},
        }
        for name, v in values.items():
            if name not in self.kept:
                self.kept[name] = np.zeros((self.size, *v.shape[1:]), v.dtype)
            self.kept[name][self.owner[leaving]] = v[leaving]
        self.aside[self.owner[leaving]] = True
        fill = np.full(size - len(learning), np.flatnonzero(finished)[0])
        self.owner = np.concatenate([self.owner[learning], np.full(len(fill), -1)])
        slots = jnp.asarray(np.concatenate([learning, fill]))
        self.state = _gather(self.state, slots)

    def _full_params(self, params) -> tuple:
        return tuple({k: self._full(f"params/{i}/{k}", v) for k, v in layer.items()}
                     for i, layer in enumerate(params))

    def params(self) -> tuple:
        """Every network's own weights now (numpy, population axis in network order)."""
        return self._full_params(_numpy_effective(self.state.params))

    @property
    def solve_step(self) -> np.ndarray:
        return self._full("solve_step", np.asarray(self.state.solve_step))

    @property
    def diverged(self) -> np.ndarray:
        return self._full("diverged", np.asarray(self.state.diverged))

    def final(self, evaluation) -> tuple:
        """(loss, accuracy, solved, params) of every network: the evaluation of the slots
        still held (see _evaluate_population), and the values kept for those put aside."""
        loss, acc, solved, params = jax.device_get(evaluation)
        return (self._full("loss", loss), self._full("accuracy", acc),
                self._full("solved", solved), self._full_params(params))


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
        config = TrainConfig(**{**config.to_dict(), **overrides})
    if (spec.n_in, spec.n_out) != (task.n_in, task.n_out):
        raise SpecError(f"network is {spec.n_in}->{spec.n_out} but the task is "
                        f"{task.n_in}->{task.n_out}")
    pad_in, pad_out, pad_pairs = pad_to or (task.n_in, task.n_out, task.n_pairs)
    if pad_in < task.n_in or pad_out < task.n_out or pad_pairs < task.n_pairs:
        raise SpecError(f"pad_to {pad_to} is smaller than the task")
    if pad_to and mask is not None:
        raise SpecError("a mask cannot be combined with padding")
    if pad_to and config.batch is not None:
        raise SpecError("padding serves full-batch training only")
    padded = replace(spec, n_in=pad_in, n_out=pad_out)
    group = networks_per_pass(padded, pad_pairs, config)
    if mask is None and jax.default_backend() == "cpu":
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
    start = time.perf_counter()
    data = task_arrays(task, pad_pairs, pad_out, n_in=pad_in)
    input_range = consecutive_inputs(data)
    real_spec, spec = spec, replace(spec, n_in=pad_in, n_out=pad_out)
    opt = make_optimizer(config)
    seeds = np.arange(config.seed, config.seed + config.seeds, dtype=np.int64)
    if seeds.max() >= 2**31:
        raise SpecError("seeds must stay below 2**31")
    if mask is not None:
        shapes = jax.eval_shape(init_population, spec, jnp.zeros(config.seeds, jnp.int32))
        mask = jax.tree.map(lambda m, p: jnp.broadcast_to(jnp.asarray(m, p.dtype), p.shape),
                            tuple(dict(layer) for layer in mask), shapes)
    state = _start(spec, opt, np.asarray(seeds, np.int32), config.init_scale, task.n_in,
                   task.n_out, mask, config.logit_scale)
    run = _Run(config.seeds, state)
    snapshots = {0: run.params()} if 0 in config.snapshots else {}
    t = 0
    slots, first_at_size = config.seeds, True
    for n_blocks, block in _plan(config):
        segment_start = time.perf_counter()
        run.state, row = _run_segment(spec, opt, config.batch, input_range,
                                      config.stop == "each", data, run.state, t, n_blocks, block)
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
        _evaluate_population(spec, run.state.params, data, input_range))
    solved &= ~run.diverged
    solve_step = np.where((run.solve_step < 0) & solved, t, run.solve_step)
    if config.stop == "each" and (solve_step >= 0).all():
        t = int(solve_step.max())  # no network learned after its solve step
    history = run.history()
    kept = history[0] <= t
    return Population(
        spec=real_spec, task=task, config=config, network_seeds=seeds,
        params=_unpad_params(params, task.n_in, task.n_out),
        solved=solved, solve_step=solve_step, final_loss=loss, final_accuracy=acc,
        diverged=run.diverged, steps_run=t, wall_time=time.perf_counter() - start,
        history_step=history[0][kept], history_loss=history[1][kept],
        history_accuracy=history[2][kept], history_max_weight=history[3][kept],
        snapshots={s: _unpad_params(p, task.n_in, task.n_out) for s, p in snapshots.items()},
    )



# Live training (the playground, bottlenet.serve): a population advanced by any number of
# steps per call, every network learning every step (stop "never"), full batch.

def live_start(spec: NetSpec, config: TrainConfig, n_in: int, n_out: int) -> _State:
    """The starting state of `config.seeds` networks, exactly as `train` starts them (the
    same seeds give the same initial weights)."""
    seeds = np.arange(config.seed, config.seed + config.seeds, dtype=np.int32)
    return _start(spec, make_optimizer(config), seeds, config.init_scale, n_in, n_out, None,
                  config.logit_scale)


@partial(jax.jit, static_argnames=("spec", "opt", "input_range"))
def live_advance(spec, opt, input_range, data, state: _State, t0, steps) -> _State:
    """`steps` full-batch updates of every network from step t0. The number of steps is
    traced (a loop with a run-time trip count), so changing the playground's speed never
    compiles. A network whose weights became non-finite during the call keeps its weights
    from before the call and is marked diverged, as in _run_segment."""
    pop_step = jax.vmap(partial(_one_step, spec, opt, None, input_range, False, data),
                        in_axes=(0, None))
    new = jax.lax.fori_loop(0, steps, lambda i, s: pop_step(s, t0 + i)[0], state)
    diverged = state.diverged | ~jax.vmap(lambda s: _all_finite((s.params, s.opt_state)))(new)
    kept = jax.tree.map(
        lambda old, cur: jnp.where(diverged.reshape((-1,) + (1,) * (cur.ndim - 1)), old, cur),
        (state.params, state.opt_state, state.scaled), (new.params, new.opt_state, new.scaled))
    return new._replace(params=kept[0], opt_state=kept[1], scaled=kept[2], diverged=diverged)


def live_weights(state: _State) -> tuple:
    """Every network's own weights (the logit scale folded in), population axis first."""
    return _effective_population(state.params)


def live_set_weights(state: _State, net: int, weights: tuple) -> _State:
    """Network `net` given new weights of its own (no population axis; e.g. one weight
    edited by hand): the training parameters are set so that the network's weights are
    exactly these (with a logit scale s, the last layer's stored weights become w / s).
    Its optimizer state is kept, so training goes on from the edit as from any step."""
    params = jax.device_get(state.params)
    params = tuple({k: np.array(v) for k, v in layer.items()} for layer in params)
    for layer, new in zip(params, weights, strict=True):
        scale = np.exp(layer["s"][net]) if "s" in layer else 1.0
        for k, v in new.items():
            layer[k][net] = np.asarray(v, layer[k].dtype) / scale
    params = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding), params,
                          state.params)  # placed as before: spread over the devices
    scaled = None if state.scaled is None else _effective_population(params)[-1]
    return state._replace(params=params, scaled=scaled,
                          diverged=state.diverged.at[net].set(False))
