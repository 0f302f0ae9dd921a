"""Memory before work: how much a training run needs, how much is free, and how many
networks to train at once. JAX is imported only to ask an accelerator for its free
memory."""

from __future__ import annotations

import os
from dataclasses import replace

from bottlenet.config import TrainConfig
from bottlenet.errors import ResourceError
from bottlenet.softmax import DRAWN, HARD, full_chunk_rows, full_in_chunks, refusal
from bottlenet.spec import NetSpec


def estimate_bytes(spec: NetSpec, n_pairs: int, cfg: TrainConfig) -> int:
    """A generous estimate of the memory one training run needs (`spec` and `n_pairs` at
    the trained size, padding included). A full-batch step holds a few (pairs x outputs)
    arrays per network: logits, probabilities, their gradient (past softmax.MIN_LOGITS,
    a few (chunk x outputs) ones: trainer/chunked.py); a minibatch step a few
    (batch x outputs) ones, and its solve check (chunk x outputs) ones; a sampled-softmax
    step a few (pairs x compared outputs x units) ones, and the same checks."""
    sampled = cfg.softmax == "sampled"
    in_chunks = cfg.batch is None and not sampled and full_in_chunks(spec, n_pairs)
    whole = cfg.batch is None and not sampled and not in_chunks
    rows = n_pairs if whole else check_chunk(n_pairs, spec.n_out)
    m = cfg.batch or n_pairs
    if in_chunks:  # a chunk's few (chunk x outputs) arrays, and the pairs' hidden states
        chunk = full_chunk_rows(n_pairs, spec.n_out)
        per_net = (6 * spec.n_params + 4 * (chunk + rows) * spec.n_out
                   + 8 * n_pairs * (sum(spec.hidden) + 2))
    elif sampled:
        compared = (HARD + DRAWN) * (max(spec.hidden, default=0) + 2)
        per_net = 6 * spec.n_params + 4 * (m * compared + rows * spec.n_out)
    else:
        per_net = 6 * spec.n_params + 4 * (m + rows) * (spec.n_out + sum(spec.hidden))
    size = 8 if cfg.dtype == "float64" else 4
    return size * cfg.seeds * per_net + result_bytes(spec, cfg)


def check_chunk(n_pairs: int, n_out: int, budget: int = 1 << 20) -> int:
    """Pairs per chunk of a chunked evaluation (a minibatch run's solve checks): a power
    of two whose (chunk x outputs) logits hold about `budget` values (4 MiB in float32),
    at most the pairs there are."""
    chunk = 1 << max(0, (budget // max(n_out, 1)).bit_length() - 1)
    return max(1, min(chunk, n_pairs))


def result_bytes(spec: NetSpec, cfg: TrainConfig) -> int:
    """The memory the trained population takes on the host: weights, snapshots, history."""
    history = 3 * (cfg.steps // cfg.stride + 2) * (len(spec.sizes) + 1)
    snaps = spec.n_params * (len(cfg.snapshots) + 2)
    return 4 * cfg.seeds * (history + snaps)


def available_bytes() -> int:
    """Free memory where the trainer runs: the accelerator's, or the host's on a CPU."""
    import jax

    try:
        stats = jax.local_devices()[0].memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory statistics
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    return host_bytes()


def host_bytes() -> int:
    """Free host memory (JAX-free)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def networks_per_pass(spec: NetSpec, n_pairs: int, cfg: TrainConfig) -> int:
    """How many networks to train at once: all of them when they fit in 70% of the free
    memory, else the largest power of two that does. Raises ResourceError, with the
    size needed, when not even one network fits."""
    kept, host = result_bytes(spec, cfg), host_bytes()
    if kept > 0.7 * host:
        raise ResourceError(
            f"the trained population needs about {kept / 2**30:.1f} GiB to hold its weights "
            f"and record, but only {host / 2**30:.1f} GiB is free: use fewer --seeds, fewer "
            "snapshots or a smaller network")
    one = estimate_bytes(spec, n_pairs, replace(cfg, seeds=1))
    have = 0.7 * available_bytes()
    if one * cfg.seeds <= have:
        return cfg.seeds
    if one > have:
        import jax

        where = jax.devices()[0].device_kind if jax.default_backend() != "cpu" else "memory"
        cheaper = (cfg.softmax != "sampled" and refusal(cfg, spec) is None
                   and estimate_bytes(spec, n_pairs, replace(cfg, seeds=1, softmax="sampled"))
                   <= have)
        raise ResourceError(
            f"one network of this size needs about {one / 2**30:.1f} GiB to train, but only "
            f"{have / 0.7 / 2**30:.1f} GiB of {where} is free: use "
            + ("the sampled softmax (--softmax sampled), " if cheaper else "")
            + "fewer symbols, or a machine (GPU) with more memory")
    return 1 << (int(have // one).bit_length() - 1)


# A full-batch step streams a few (pairs x outputs) arrays per network through memory.
# On a CPU, once one such array of the whole population outgrows what the caches keep
# close, the step slows down per network; training in passes of fewer networks (one after
# the other, network i still with seed s + i) keeps it fast. Measured on the 2-core
# machine (k = 3, 32 networks, ms per network-step): n = 512 (32 MiB) 0.29 at once, 0.30
# in passes of 16; n = 768 (72 MiB) 0.96 at once, 0.70 in passes of 8; n = 1024 (128 MiB)
# 1.87 at once, 1.13-1.24 in passes of 4 or 8. An accelerator's memory is fast enough
# that the whole population in one program is best there.
CPU_PASS_BYTES = 32 << 20


def cpu_pass_size(spec: NetSpec, n_pairs: int, cfg: TrainConfig, devices: int = 1) -> int:
    """How many networks a CPU pass should hold for speed (see CPU_PASS_BYTES): all of
    them, or the largest power of two whose (pairs x outputs) arrays fit, at least one
    per device."""
    if cfg.softmax == "sampled":
        per_net = 4 * n_pairs * (HARD + DRAWN) * (max(spec.hidden, default=0) + 1)
    else:
        per_net = 4 * (cfg.batch or n_pairs) * spec.n_out
    if cfg.seeds * per_net <= CPU_PASS_BYTES:
        return cfg.seeds
    fit = max(devices, 1 << max(0, (CPU_PASS_BYTES // per_net).bit_length() - 1))
    return min(cfg.seeds, fit)
