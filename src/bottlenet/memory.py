"""Memory before work: how much a training run needs, how much is free, and how many
networks to train at once. JAX is imported only to ask an accelerator for its free
memory."""

from __future__ import annotations

import os
from dataclasses import replace

from bottlenet.config import TrainConfig
from bottlenet.errors import ResourceError
from bottlenet.spec import NetSpec


def estimate_bytes(spec: NetSpec, n_pairs: int, cfg: TrainConfig) -> int:
    """A generous estimate of the memory one training run needs (`spec` and `n_pairs` at
    the trained size, padding included). A full-batch step holds a few (pairs x outputs)
    arrays per network: logits, probabilities, their gradient."""
    m = cfg.batch or n_pairs
    per_net = 6 * spec.n_params + 4 * (m + n_pairs) * (spec.n_out + sum(spec.hidden))
    return 4 * cfg.seeds * per_net + result_bytes(spec, cfg)


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
        raise ResourceError(
            f"one network of this size needs about {one / 2**30:.1f} GiB to train, but only "
            f"{have / 0.7 / 2**30:.1f} GiB of {where} is free: use fewer symbols, or a "
            "machine (GPU) with more memory")
    return 1 << (int(have // one).bit_length() - 1)
