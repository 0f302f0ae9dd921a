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
from bottlenet.trainer.step import (
    State,
    keep_finite,
    one_step,
    optimizer_with_rate_in_state,
    start,
    with_learning_rate,
)


@partial(jax.jit, static_argnames=("spec", "opt", "input_range"))
def _advance(spec, opt, input_range, data, state: State, t0, steps) -> State:
    """`steps` full-batch updates of every network from step t0. The number of steps is
    traced (a loop with a run-time trip count), so changing the playground's speed never
    compiles. A network whose weights became non-finite during the call keeps its weights
    from before the call and is marked diverged (keep_finite)."""
    pop_step = jax.vmap(partial(one_step, spec, opt, None, input_range, False, data),
                        in_axes=(0, None))
    new = jax.lax.fori_loop(0, steps, lambda i, s: pop_step(s, t0 + i)[0], state)
    return keep_finite(state, new)


# Live training programs (one per shape: n, k, population, activation...) a process keeps
# before release_live_programs drops every compiled program: each holds 13-24 MB and a
# few hundred memory mappings for the life of the process (a playground that was given
# 183 shapes reached Linux's 65,530 mappings and died).
LIVE_KEEP = 16


def release_live_programs(keep: int = LIVE_KEEP) -> bool:
    """Drop every compiled program once more than `keep` live training programs are kept
    (the next run of each shape compiles again); whether it did. Call it only when no
    computation is under way (the playground's one worker, between runs)."""
    if _advance._cache_size() > keep:  # type: ignore[attr-defined]  # jit's own count
        jax.clear_caches()
        return True
    return False


class Live:
    """`config.seeds` networks of `spec` learning `data`, started exactly as `train`
    starts them (the same seeds give the same initial weights, and the same steps as
    `train` with stop "never"; a constant learning rate). The learning rate is held in
    the optimizer's state, so runs that differ only in it share one compiled program."""

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
        _advance(spec, self.opt, self.input_range, data, self.state, 0, 0)

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
        self.state = jax.block_until_ready(
            _advance(self.spec, self.opt, self.input_range, self.data, self.state, t0, steps))

    def weights(self) -> tuple:
        """Every network's own weights (the logit scale folded in), population axis first
        (device arrays)."""
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
                layer[k][net] = np.asarray(v, layer[k].dtype) / scale
        params = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding), params,
                              state.params)  # placed as before: spread over the devices
        scaled = None if state.scaled is None else effective_population(params)[-1]
        self.state = state._replace(params=params, scaled=scaled,
                                    diverged=state.diverged.at[net].set(False))
