"""Which softmax a run computes, decided from its settings alone (JAX-free, so the
command line and the results store can tell without starting the engine).

"full" (the default): every pair against every output, n x n logits a step per network;
from about 1,200 outputs in chunks of pairs (full_in_chunks; trainer/chunked.py).
"sampled" (trainer/sampled.py): each pair against its HARD strongest competitors and
DRAWN outputs drawn at random, pairs x (HARD + DRAWN). Why full stays the default: a
sampled step is 3x cheaper than a full one in chunks at 16,384 symbols (k = 3), but it
needs so many more steps that full batch reaches a solution sooner, there and at 4,096
(README, Capacity, "The sampled softmax").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bottlenet.errors import SpecError

if TYPE_CHECKING:
    from bottlenet.config import TrainConfig
    from bottlenet.spec import NetSpec

HARD = 32  # candidates kept per pair
DRAWN = 128  # outputs drawn per pair and step
# The fewest outputs the sampled softmax serves: with fewer, the draws and candidates
# would cover more than half of them, and a full step costs little anyway.
SAMPLED_MIN_OUTPUTS = 2 * (HARD + DRAWN)


# Logits a chunk holds: 4 MB in float32 (measured, two cores busy: at n = 4,096, k = 2,
# 2^19, 2^20 and 2^21 logits take 6.05, 5.94 and 8.17 ms a network-step; at 16,384, k = 3,
# 92.8, 90.8 and 112.9 ms: past 2^20 a chunk's few arrays leave the caches).
CHUNK_LOGITS = 2**20
# Below this many logits a step (m x n) is left to plain autodiff, whose arrays then fit
# in the caches and which is as fast or faster there. Measured in the trainer (8 networks
# on two cores, ms a network-step, whole array against chunks): k = 2 at n = 1,024 0.37
# against 0.57; at 1,240 0.98 against 0.71; at 1,448 1.34 against 0.93; at 2,000 4.55
# against 1.34; k = 3 at 1,024 0.55 against 0.58, at 1,448 1.69 against 0.95.
MIN_LOGITS = 1_500_000


def full_in_chunks(spec: NetSpec, n_pairs: int) -> bool:
    """Whether a full-batch step of n_pairs pairs goes by chunks of pairs
    (trainer/chunked.py): a softmax head above a hidden layer, and enough logits for
    the chunks to pay."""
    return (spec.head == "softmax" and bool(spec.hidden)
            and n_pairs * spec.n_out >= MIN_LOGITS)


def full_chunk_rows(n_pairs: int, n_out: int) -> int:
    """Pairs per chunk: about CHUNK_LOGITS logits, at least 8 pairs, at most all."""
    return min(n_pairs, max(8, 1 << max(0, (CHUNK_LOGITS // n_out).bit_length() - 1)))


def refusal(config: TrainConfig, spec: NetSpec, padded: bool = False,
            masked: bool = False) -> str | None:
    """Why the sampled softmax cannot train this network, or None when it can."""
    if spec.head != "softmax":
        return f"the sampled softmax needs the softmax head, not {spec.head}"
    if not spec.hidden:
        return "the sampled softmax needs at least one hidden layer"
    if spec.n_out < SAMPLED_MIN_OUTPUTS:
        return (f"the sampled softmax needs at least {SAMPLED_MIN_OUTPUTS} outputs "
                f"(this task has {spec.n_out}); use the full softmax")
    if config.batch is not None:
        return "the sampled softmax takes every pair each step: leave --batch out"
    if padded or masked:
        return "the sampled softmax does not serve padded or masked training"
    return None


def uses_sampled(config: TrainConfig, spec: NetSpec, padded: bool = False,
                 masked: bool = False) -> bool:
    """Whether a run trains with the sampled softmax: when asked; SpecError saying why
    when it cannot."""
    if config.softmax != "sampled":
        return False
    why = refusal(config, spec, padded, masked)
    if why:
        raise SpecError(why)
    return True


def check_stride(config: TrainConfig, n_out: int) -> int:
    """Steps between a sampled run's chances of a full check: a check costs about what
    n_out / (HARD + DRAWN) sampled steps cost, so at most a fifth of the time goes to
    checks while some network leads on every pair it was compared with but is not yet
    solved."""
    if config.log_every:
        return config.stride
    return max(config.stride, -(-4 * n_out // (HARD + DRAWN)))
