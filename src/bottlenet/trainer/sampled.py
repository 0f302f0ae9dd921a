"""The sampled softmax: each pair against its strongest competitors and a few outputs
drawn at random, so that a step costs pairs x (HARD + DRAWN) instead of pairs x n per
network (softmax.py decides when it is used).

A full-batch step computes every pair against every output; at thousands of symbols
that is almost all of the work, and a solution takes about a thousand passes over the
pairs whether they come in full batches or in minibatches (README, Capacity). What a
pair's softmax needs is its few strongest competitors, exactly, and a fair estimate of
the rest:

    loss_i = log(e^z_t + sum_{j in H_i} e^z_j + sum_{j in D_i, not in H_i, j != t} w_j e^z_j) - z_t

H_i, the pair's candidates, are HARD outputs kept from step to step: after each step the
strongest draw takes the place of the weakest candidate when it leads it, so H_i comes
to hold the strongest competitors without any pass over all n outputs. D_i are DRAWN
outputs, one from each of DRAWN equal strata of the outputs (distinct by construction,
each output drawn with probability 1/w_j, w_j the size of its stratum): weighted by w_j
they are an unbiased estimate of the sum over the outputs that are not candidates.

Once per block, `leads` says whether every pair's solve target leads every output it is
compared with, by the strict rule: a necessary condition of "solved", at the price of
one sampled step. Only when it holds for some network does the trainer run the full
strict check (every pair against every output, in chunks: step.check_solved), on the
weights it then keeps: every solve reported is a solve by the strict rule.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from bottlenet import net as netlib
from bottlenet.evaluation import TaskArrays, logit_magnitude, solve_rtol
from bottlenet.softmax import DRAWN, HARD
from bottlenet.spec import NetSpec


def first_candidates(data: TaskArrays, n_out: int) -> jax.Array:
    """(m, HARD) starting candidates of one network: the outputs after each pair's target
    (distinct, never the target; any start will do, the draws replace them)."""
    return ((data.targets[:, None] + 1 + jnp.arange(HARD)) % n_out).astype(jnp.int32)


def _draws(key: jax.Array, m: int, n_out: int, dtype) -> tuple[jax.Array, jax.Array]:
    """One output from each of DRAWN strata per pair, (m, DRAWN), and the log of each
    stratum's size (the draw's weight)."""
    edges = (jnp.arange(DRAWN + 1) * n_out) // DRAWN
    size = edges[1:] - edges[:-1]
    u = jax.random.uniform(key, (m, DRAWN), dtype)
    drawn = edges[:-1] + jnp.minimum((u * size).astype(jnp.int32), size - 1)
    return drawn.astype(jnp.int32), jnp.log(size.astype(dtype))


def _candidate_logits(h: jax.Array, last: dict, idx: jax.Array) -> jax.Array:
    """Logits of the outputs idx (m, C) for last hidden states h (m, k), unit by unit
    (few units: a sum of products fuses with the gathers, see net.UNROLL_FAN_IN)."""
    columns = last["w"].T[idx]  # (m, C, k)
    if h.shape[1] <= netlib.UNROLL_FAN_IN:
        z = sum(h[:, u, None] * columns[:, :, u] for u in range(h.shape[1]))
    else:
        z = jnp.einsum("mk,mck->mc", h, columns, precision=netlib.PRECISION)
    return z + last["b"][idx] if "b" in last else z


def _stratum(outputs: jax.Array, n_out: int) -> jax.Array:
    """The stratum of each output (the u with edges[u] <= j < edges[u + 1], see _draws)."""
    return ((outputs + 1) * DRAWN + n_out - 1) // n_out - 1


def _repeats(drawn: jax.Array, hard: jax.Array, target: jax.Array, n_out: int) -> jax.Array:
    """(m, DRAWN): the draws that are one of the pair's candidates or its target. A
    candidate can only be the draw of its own stratum, so one gather per candidate finds
    it (comparing every draw with every candidate cost a sixth of the step)."""
    stratum = _stratum(hard, n_out)
    hit = jnp.take_along_axis(drawn, stratum, axis=1) == hard
    rows = jnp.arange(drawn.shape[0])[:, None]
    return jnp.zeros(drawn.shape, bool).at[rows, stratum].max(hit) | (drawn == target)


def _compared(spec: NetSpec, params, data: TaskArrays, inputs, hard: jax.Array,
              key: jax.Array):
    """A pair's hidden state, and the logits of its target, its candidates and its draws
    (a candidate equal to the target, and a draw counted elsewhere, at -inf), with the
    draws and the log of their weights."""
    n_out = params[-1]["w"].shape[-1]
    h = netlib.hidden_states(spec, params, inputs)[-1]
    # The barrier makes the draws once: XLA would otherwise fuse the random numbers into
    # each of their consumers and compute them again there.
    drawn, log_size = jax.lax.optimization_barrier(
        _draws(key, data.targets.shape[0], n_out, h.dtype))
    target = data.targets[:, None]
    z = _candidate_logits(h, params[-1], jnp.concatenate([target, hard, drawn], axis=1))
    z_target, z_hard, z_drawn = z[:, 0], z[:, 1:HARD + 1], z[:, HARD + 1:]
    z_hard = jnp.where(hard == target, -jnp.inf, z_hard)
    z_drawn = jnp.where(_repeats(drawn, hard, target, n_out), -jnp.inf, z_drawn)
    return h, z_target, z_hard, z_drawn, drawn, log_size


def loss_and_candidates(spec: NetSpec, params, data: TaskArrays, inputs, hard: jax.Array,
                        key: jax.Array):
    """The sampled loss of one network (weighted over pairs like the full loss), and the
    next candidates (m, HARD)."""
    _, z_target, z_hard, z_drawn, drawn, log_size = _compared(spec, params, data, inputs,
                                                              hard, key)
    every = jnp.concatenate([z_target[:, None], z_hard, z_drawn + log_size], axis=1)
    loss = jnp.sum((jax.nn.logsumexp(every, axis=1) - z_target) * data.weights)

    # The next candidates: the strongest draw takes the place of the weakest candidate
    # when it leads it (a repeated or target draw is -inf, so no output is kept twice).
    # One exchange a step is plenty: a competitor is drawn about once in n / DRAWN steps;
    # and an argmin and an argmax cost far less than a top-k over all those compared.
    z_hard, z_drawn = jax.lax.stop_gradient((z_hard, z_drawn))
    weakest = jnp.argmin(z_hard, axis=1)
    strongest = jnp.argmax(z_drawn, axis=1)
    rows = jnp.arange(hard.shape[0])
    better = z_drawn[rows, strongest] > z_hard[rows, weakest]
    return loss, hard.at[rows, weakest].set(
        jnp.where(better, drawn[rows, strongest], hard[rows, weakest]))


def leads(spec: NetSpec, params, data: TaskArrays, inputs, hard: jax.Array, key: jax.Array
          ) -> tuple[jax.Array, jax.Array]:
    """(whether every real pair's solve target leads every output it is compared with,
    by the strict rule; the share of real pairs whose target does): a necessary
    condition of "solved", asked once per block (step.run_segment) rather than each step."""
    h, _, z_hard, z_drawn, drawn, _ = _compared(spec, params, data, inputs, hard, key)
    solve = data.solve_targets[:, None]
    z_solve = _candidate_logits(h, params[-1], solve)[:, 0]
    seen = jnp.concatenate([hard, drawn], axis=1)
    rivals = jnp.where(seen == solve, -jnp.inf, jnp.concatenate([z_hard, z_drawn], axis=1))
    tol = solve_rtol(h.dtype) * logit_magnitude(params, h, inputs)
    real = data.weights > 0
    ahead = (z_solve - tol >= jnp.max(rivals, axis=1)) | ~real
    return jnp.all(ahead), jnp.sum(ahead & real) / jnp.maximum(jnp.sum(real), 1)
