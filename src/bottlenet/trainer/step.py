"""One training step of every network, and segments of steps as one compiled program.

Every network has its own seed, optimizer state and loss; `vmap` puts them side by side
and `lax.scan` runs the steps without Python in the loop. A network whose weights turn
non-finite is put back to its last finite state and marked diverged (keep_finite, the
one rollback every caller uses).
"""

from __future__ import annotations

import functools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from bottlenet.config import TrainConfig
from bottlenet.evaluation import (
    TaskArrays,
    batch_loss,
    evaluate,
    evaluate_chunked,
    init_population,
    minibatch,
    network_keys,
)
from bottlenet.softmax import full_in_chunks
from bottlenet.spec import NetSpec
from bottlenet.trainer import chunked
from bottlenet.trainer import sampled as sampled_softmax
from bottlenet.trainer.parametrize import (
    effective_params,
    max_abs,
    training_grads,
    with_logit_scale,
)


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    steps = cfg.steps if cfg.schedule != "constant" else 0
    return _optimizer(cfg.optimizer, cfg.lr, cfg.schedule, steps)


# Each optimizer by name, taking its learning rate (a number or a schedule)
OPTIMIZERS = {
    "adam": optax.adam,
    "sgd": optax.sgd,
    "momentum": functools.partial(optax.sgd, momentum=0.9),
    "nesterov": functools.partial(optax.sgd, momentum=0.9, nesterov=True),
    "rmsprop": optax.rmsprop,
}


@functools.lru_cache(maxsize=64)
def _optimizer(name: str, lr: float, schedule: str, steps: int):
    # Cached: the optimizer is a static argument of the compiled segment, so equal
    # settings must give the same object or every run would compile anew.
    rate = lr if schedule == "constant" else optax.cosine_decay_schedule(lr, steps, alpha=0.01)
    return OPTIMIZERS[name](rate)


@functools.cache
def optimizer_with_rate_in_state(name: str) -> optax.GradientTransformation:
    """The optimizer `name` with its learning rate held in its state (optax's
    inject_hyperparams) instead of in the compiled program, so one program serves every
    rate (the playground: each rate baked in compiled a new program, 13-24 MB and a few
    hundred memory mappings each). Set the rate with `with_learning_rate`."""
    return optax.inject_hyperparams(OPTIMIZERS[name])(learning_rate=0.0)


def with_learning_rate(opt_state, lr: float):
    """An optimizer_with_rate_in_state state (any leading population axes) at rate lr."""
    rates = opt_state.hyperparams["learning_rate"]
    return opt_state._replace(hyperparams={**opt_state.hyperparams,
                                           "learning_rate": jnp.full_like(rates, lr)})


class State(NamedTuple):
    """The training state of a population (leaves with axis P)."""

    params: tuple  # training parameters: the network's, plus "s" in the last layer when
    #                the logit scale is learned (see parametrize.effective_params)
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
    # With the sampled softmax (trainer.sampled): each pair's candidates (m, HARD).
    candidates: jax.Array | None = None


def _masked(updates, mask):
    """Updates with removed connections held at zero (the logit scale is never masked)."""
    return tuple({k: u * m[k] if k in m else u for k, u in layer.items()}
                 for layer, m in zip(updates, mask, strict=True))


def one_step(spec: NetSpec, opt, batch: int | None, input_range: range | None,
             keep_solved: bool, data: TaskArrays, state: State, t, sampled: bool = False):
    """One update of one network; returns the new state and (loss, accuracy) at step t.
    `input_range`: the inputs as a range when they are consecutive (consecutive_inputs).
    With `keep_solved`, a network solved at step t keeps exactly the weights it was
    solved with: the update of step t and every later one is dropped.

    Full batch (`batch` None), the step's own evaluation of every pair decides whether
    the network is solved (from softmax.MIN_LOGITS logits on, computed in chunks of
    pairs by trainer.chunked, whose rule asks for a margin 3/2 as wide). With
    minibatches the step computes `batch` pairs against every output (batch x n_out, not
    n_in x n_out) and returns the batch's loss and a NaN accuracy; whether it is solved
    is checked on a schedule (check_solved). With the `sampled` softmax every pair is
    computed against its candidates and draws only (trainer.sampled); the step returns
    the sampled loss and a NaN accuracy, and a full check runs on a schedule once some
    network's targets all lead (run_segment)."""
    weights = (effective_params(state.params) if state.scaled is None
               else (*state.params[:-1], state.scaled))
    solve_step, solve_loss = state.solve_step, state.solve_loss
    candidates = state.candidates
    if sampled:
        key = jax.random.fold_in(state.key, t)
        (loss, candidates), grads = jax.value_and_grad(
            sampled_softmax.loss_and_candidates, argnums=1, has_aux=True)(
                spec, weights, data, input_range or data.inputs, state.candidates, key)
        accuracy = jnp.full_like(loss, jnp.nan)
    elif batch is None:
        if full_in_chunks(spec, data.inputs.shape[0]):
            ev, grads = chunked.loss_and_grads(spec, weights, data, input_range)
        else:
            def loss_fn(p):
                ev = evaluate(spec, p, data, input_range)
                return ev.loss, ev

            (_, ev), grads = jax.value_and_grad(loss_fn, has_aux=True)(weights)
        solve_step, solve_loss = _first_solve(state, ev, t)
        loss, accuracy = ev.loss, ev.accuracy
    else:
        idx = minibatch(state.key, t, data, batch)
        loss, grads = jax.value_and_grad(lambda p: batch_loss(spec, p, data, idx))(weights)
        accuracy = jnp.full_like(loss, jnp.nan)
    grads = training_grads(state.params, weights, grads)
    updates, opt_state = opt.update(grads, state.opt_state, state.params)
    if state.mask is not None:
        updates = _masked(updates, state.mask)
    if keep_solved:
        learning = solve_step < 0
        updates = jax.tree.map(lambda u: u * learning.astype(u.dtype), updates)
    params = optax.apply_updates(state.params, updates)
    scaled = None if state.scaled is None else effective_params(params)[-1]
    return state._replace(params=params, opt_state=opt_state, solve_step=solve_step,
                          solve_loss=solve_loss, scaled=scaled, candidates=candidates
                          ), (loss, accuracy)


def _first_solve(state: State, ev, t) -> tuple[jax.Array, jax.Array]:
    """(solve_step, solve_loss) with a network solved for the first time by `ev` marked at
    step t. Divergence is checked once per block in run_segment, not each step (that cost
    a quarter of the step time at n=11); meanwhile a network with a non-finite loss
    cannot count as solved."""
    first = (state.solve_step < 0) & ev.solved & jnp.isfinite(ev.loss) & ~state.diverged
    return (jnp.where(first, t, state.solve_step).astype(jnp.int32),  # (x64: t is int64)
            jnp.where(first, ev.loss, state.solve_loss))


def check_solved(spec: NetSpec, data: TaskArrays, chunk: int, state: State, t):
    """Every network checked by the strict rule on every pair, in chunks of `chunk`
    pairs (memory O(P x chunk x n_out)); a network solved for the first time is marked
    solved at step t (its weights now, which keep_solved then keeps). Returns the state
    and the population's (loss, accuracy) on the whole task."""
    weights = jax.vmap(effective_params)(state.params)
    ev = jax.vmap(evaluate_chunked, in_axes=(None, 0, None, None))(spec, weights, data, chunk)
    solve_step, solve_loss = _first_solve(state, ev, t)
    return state._replace(solve_step=solve_step, solve_loss=solve_loss), (ev.loss, ev.accuracy)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
                              if jnp.issubdtype(x.dtype, jnp.floating)]))


def keep_finite(old: State, new: State, losses: jax.Array | None = None) -> State:
    """`new`, except that a network whose weights or optimizer state became NaN or
    infinite since `old` (or whose `losses`, (steps, P), were not all finite) is marked
    diverged and put back to its weights and optimizer state in `old`, so its record stays
    inspectable; the others are untouched, since every network is computed apart."""
    bad = ~jax.vmap(lambda s: _all_finite((s.params, s.opt_state)))(new)
    diverged = old.diverged | bad
    if losses is not None:
        diverged = diverged | ~jnp.all(jnp.isfinite(losses), axis=0)
    kept = jax.tree.map(
        lambda o, c: jnp.where(diverged.reshape((-1,) + (1,) * (c.ndim - 1)), o, c),
        (old.params, old.opt_state, old.scaled), (new.params, new.opt_state, new.scaled))
    return new._replace(params=kept[0], opt_state=kept[1], scaled=kept[2], diverged=diverged)


@partial(jax.jit, static_argnames=("spec", "opt", "batch", "input_range", "keep_solved",
                                   "n_blocks", "block", "chunk", "sampled"))
def run_segment(spec, opt, batch, input_range, keep_solved, data, state, t0, n_blocks, block,
                chunk=None, sampled=False):
    """n_blocks x block steps for the whole population; one history row per block.

    Shapes: state leaves (P, ...); returns rows of loss (n_blocks, P), accuracy
    (n_blocks, P) and largest weights (n_blocks, P, L), each taken at the block's start.
    With minibatches (`batch`), every network is checked at each block's start, in
    chunks of `chunk` pairs (check_solved): the block is the check's schedule. With the
    `sampled` softmax the population is checked so at a block's start only when some
    network still learning leads on every pair against the outputs it is compared with
    (sampled.leads, whose share of pairs is the block's accuracy row: an upper bound).
    Divergence is checked at the end of each block (keep_finite): a network that diverged
    goes back to its state at the block's start, its last finite one at history
    resolution.
    """
    pop_step = jax.vmap(partial(one_step, spec, opt, batch, input_range, keep_solved, data,
                                sampled=sampled), in_axes=(0, None))

    def block_fn(state, b):
        start = t0 + b * block
        maxw = jax.vmap(max_abs)(state.params)
        if batch is not None:
            state, row = check_solved(spec, data, chunk, state, start)
        elif sampled:
            keys = jax.vmap(lambda k: jax.random.fold_in(jax.random.fold_in(k, start), 1))(
                state.key)  # (apart from the draws of step `start`)
            ahead, share = jax.vmap(lambda p, c, k: sampled_softmax.leads(
                spec, p, data, input_range or data.inputs, c, k))(
                    jax.vmap(effective_params)(state.params), state.candidates, keys)
            cue = jnp.any(ahead & (state.solve_step < 0) & ~state.diverged)
            state = jax.lax.cond(cue, lambda s: check_solved(spec, data, chunk, s, start)[0],
                                 lambda s: s, state)
        new, (loss, acc) = jax.lax.scan(pop_step, state, start + jnp.arange(block))
        if batch is None:
            row = (loss[0], share if sampled else acc[0])
        return keep_finite(state, new, loss), (*row, maxw)

    return jax.lax.scan(block_fn, state, jnp.arange(n_blocks))


def compiled_segments() -> int:
    """How many training programs this process has compiled (for benchmarks)."""
    return run_segment._cache_size()  # type: ignore[attr-defined]  # jit's own count


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


@partial(jax.jit, static_argnames=("spec", "opt", "scale", "logit_scale", "dtype", "spread"))
def start(spec, opt, seeds, scale, n_in, n_out, mask, logit_scale=False,
          dtype=jnp.float32, candidates=None, spread=True) -> State:
    """The population's starting state in one compiled program (op-by-op it would be
    dozens of small compilations, more time than a short run takes), already split over
    the devices (see _spread; not with `spread` False). `candidates` (m, HARD): every
    network's first candidates of the sampled softmax, None without it."""
    params = init_population(spec, seeds, scale, n_in, n_out, dtype)
    if mask is not None:
        params = jax.tree.map(jnp.multiply, params, mask)
    if logit_scale:
        params = with_logit_scale(params)
    keys = network_keys(seeds)[1]
    P = seeds.shape[0]
    scaled = jax.vmap(effective_params)(params)[-1] if logit_scale else None
    if candidates is not None:
        candidates = jnp.broadcast_to(candidates, (P, *candidates.shape))
    state = State(params, jax.vmap(opt.init)(params), keys, jnp.full((P,), -1, jnp.int32),
                  jnp.zeros((P,), dtype), jnp.zeros((P,), bool), mask, scaled, candidates)
    return _spread(state) if spread else state


def _spread(state: State) -> State:
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


@partial(jax.jit, static_argnames=("spread",))
def gather(state: State, slots: jax.Array, spread: bool = True) -> State:
    """The networks in `slots`, in that order, split over the devices unless `spread` is
    False (one compiled program per pair of sizes)."""
    state = jax.tree.map(lambda x: x[slots], state)
    return _spread(state) if spread else state
