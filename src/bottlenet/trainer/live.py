"""Live training (the playground, bottlenet.serve): a population advanced by any number
of steps per call, every network learning every step (stop "never"), full batch, and
weights that can be edited by hand between calls."""

from __future__ import annotations

from functools import partial

import jax
import numpy as np

from bottlenet.config import TrainConfig
from bottlenet.evaluation import TaskArrays, consecutive_inputs
from bottlenet.spec import NetSpec
from bottlenet.trainer.parametrize import effective_population
from bottlenet.trainer.run import unpad_params
from bottlenet.trainer.step import (
    State,
    keep_finite,
    one_step,
    optimizer_with_rate_in_state,
    start,
    with_learning_rate,
)


def _advance(spec, opt, input_range, data, state: State, t0, steps) -> State:
    """`steps` full-batch updates of every network from step t0. The number of steps is
    traced (a loop with a run-time trip count), so changing the playground's speed never
    compiles. A network whose weights became non-finite during the call keeps its weights
    from before the call and is marked diverged (keep_finite)."""
    pop_step = jax.vmap(partial(one_step, spec, opt, None, input_range, False, data),
                        in_axes=(0, None))
    new = jax.lax.fori_loop(0, steps, lambda i, s: pop_step(s, t0 + i)[0], state)
    return keep_finite(state, new)


# Compiled live training programs kept (one per shape: the padded n, k, population,
# activation...): past this, the one used least recently is dropped, and its memory with
# it (each holds 13-24 MB and a few hundred memory mappings while it lives: a playground
# given 183 shapes reached Linux's 65,530 mappings and died).
LIVE_KEEP = 16


class ProgramCache:
    """Compiled programs by shape, the least recently used dropped past `keep` (a jitted
    function's programs are freed with it). `shapes` counts the misses: the shapes this
    process has compiled, for release_live_programs."""

    def __init__(self, fn, keep: int = LIVE_KEEP):
        self.fn, self.keep, self.shapes = fn, keep, 0
        self.programs: dict = {}

    def __call__(self, *static):
        program = self.programs.pop(static, None)
        if program is None:
            self.shapes += 1
            program = jax.jit(partial(self.fn, *static))
        self.programs[static] = program  # the most recent last
        while len(self.programs) > self.keep:
            del self.programs[next(iter(self.programs))]
        return program


advance_program = ProgramCache(_advance)  # (spec, opt, input_range) -> program


def release_live_programs(every: int = 4 * LIVE_KEEP) -> bool:
    """The smaller programs each shape also compiles (its start, the logit scale folded
    in) are kept by JAX's own caches, outside any ProgramCache: after every `every` new
    shapes, drop every compiled program (the next run of each shape compiles again);
    whether it did. Call it only when no computation is under way (the playground's one
    worker, between runs)."""
    if advance_program.shapes >= every:
        jax.clear_caches()
        advance_program.programs.clear()
        advance_program.shapes = 0
        return True
    return False


class Live:
    """`config.seeds` networks of `spec` learning `data`, started exactly as `train`
    starts them (the same seeds give the same initial weights, and the same steps as
    `train` with stop "never"; a constant learning rate). The learning rate is held in
    the optimizer's state, so runs that differ only in it share one compiled program.

    `spec` and `data` may be padded to a larger size than the task's `n_in` x `n_out` (as
    `train(pad_to=...)` pads): padded inputs never fire, padded outputs are masked out,
    and the real weights start and move exactly as without padding, so every size of a
    bucket shares one compiled program. `weights()` and `set_weights` speak of the real
    size."""

    def __init__(self, spec: NetSpec, config: TrainConfig, data: TaskArrays, n_in: int,
                 n_out: int):
        self.spec, self.config, self.data = spec, config, data
        self.n_in, self.n_out = n_in, n_out
        self.input_range = consecutive_inputs(data)
        if config.schedule != "constant":
            raise ValueError("live training takes a constant learning rate")
        self.opt = optimizer_with_rate_in_state(config.optimizer)
        self.reset()
        # Compile the training program now (zero steps: the trip count is traced), so the
        # first call of `advance` does not wait for a compilation.
        self.program = advance_program(spec, self.opt, self.input_range)
        self.program(data, self.state, 0, 0)

    def reset(self) -> None:
        """Back to the initial weights."""
        seeds = np.arange(self.config.seed, self.config.seed + self.config.seeds,
                          dtype=np.int64).astype(np.int32)  # as `train` makes them
        state = start(self.spec, self.opt, seeds, self.config.init_scale, self.n_in,
                      self.n_out, None, self.config.logit_scale)
        self.state = state._replace(opt_state=with_learning_rate(state.opt_state,
                                                                 self.config.lr))

    def advance(self, t0: int, steps: int) -> None:
        """`steps` updates of every network, the first being step t0."""
        self.state = jax.block_until_ready(self.program(self.data, self.state, t0, steps))

    def weights(self) -> tuple:
        """Every network's own weights (the logit scale folded in), population axis first,
        at the real size (numpy arrays)."""
        return unpad_params(jax.device_get(self.padded_weights()), self.n_in, self.n_out)

    def padded_weights(self) -> tuple:
        """weights() at the compiled size (device arrays), for compiled programs that read
        them (the same program serves every size of the bucket)."""
        return effective_population(self.state.params)

    def diverged(self) -> np.ndarray:
        return np.asarray(jax.device_get(self.state.diverged))

    def set_weights(self, net: int, weights: tuple) -> None:
        """Network `net` given new weights of its own (no population axis; e.g. one weight
        edited by hand): the training parameters are set so that the network's weights
        are exactly these (with a logit scale s, the last layer's stored weights become
        w / s). Its optimizer state is kept, so training goes on from the edit as from any
        step."""
        state = self.state
        params = jax.device_get(state.params)
        params = tuple({k: np.array(v) for k, v in layer.items()} for layer in params)
        for layer, new in zip(params, weights, strict=True):
            scale = np.exp(layer["s"][net]) if "s" in layer else 1.0
            for k, v in new.items():
                v = np.asarray(v, layer[k].dtype)
                # the real weights sit in the corner of a padded array; the rest stays 0
                layer[k][net][tuple(slice(0, d) for d in v.shape)] = v / scale
        params = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding), params,
                              state.params)  # placed as before: spread over the devices
        scaled = None if state.scaled is None else effective_population(params)[-1]
        self.state = state._replace(params=params, scaled=scaled,
                                    diverged=state.diverged.at[net].set(False))
