"""bottlenet: train populations of tiny bottleneck networks and measure what they carry.

The rooms, in the order of their imports: a room imports only rooms on its own line or
above it (tests/test_rooms.py reads this map and the imports, and fails otherwise).

    errors, choices       typed errors; the names a user can choose from (JAX-free)
    checks, files, stats, devices
                          numbers checked before work; files written atomically; small
                          statistics; one XLA device per core
    tasks, spec, activations
                          what to learn (pairs of symbols); the shape of a network; the
                          activation functions (a registry a spec consults)
    config                TrainConfig, CapacityConfig: how to train, how to sweep
    softmax               which softmax a run computes, full or sampled, from its settings
    net                   the network as pure JAX functions
    evaluation, memory    a task as arrays, loss and the strict solve rule, seeded init;
                          memory before work: what a run needs, how many networks fit
    draw                  every picture (matplotlib): takes data, imports no feature room
    population            weights of P networks and their record (NumPy only)
    trainer               the population trainer, in rooms: parametrize (the logit scale),
                          step (one step, segments, one rollback), sampled (the sampled
                          softmax), run (plan, passes, compaction), live (the playground's
                          Live population)
    modelfile, store      populations on disk (.npz); capacity trials in SQLite
    check                 the strict solve rule recomputed in float64, in chunks, all cores
    construct             weights made by hand and their limits
    capacity              frontier searches
    compress              the lossless compressor built on the article's network (Cython)
    experiments, report   the article's claims: each a Claim (experiments/claim.py) of
                          measure (typed numbers, all the database keeps), judge (a
                          pure rule in experiments/verdicts.py), describe and draw, the
                          last three run at every report; words as data
                          (experiments/claims.toml); the HTML report
    cluster               sweeps and claims on a Ray cluster (extra `cluster`)
    serve                 the playground: a web app that trains live (extra `serve`)
    cli, __main__         the `bottlenet` command: parses, calls the rooms above, prints
                          (`python -m bottlenet` runs it from a checkout's src/)

Importing `bottlenet` loads nothing heavy: the names below load their room on first use.
"""

from importlib import import_module

__version__ = "0.1.0"

_WHERE = {
    "BottlenetError": "errors", "ModelFileError": "errors", "ResourceError": "errors",
    "SpecError": "errors", "TaskError": "errors",
    "NetSpec": "spec", "Task": "tasks", "TrainConfig": "config", "CapacityConfig": "config",
    "Population": "population", "train": "trainer", "load": "modelfile", "save": "modelfile",
}
_ROOMS = ("activations", "tasks")  # modules offered as attributes
__all__ = sorted([*_WHERE, *_ROOMS])


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    if name in _ROOMS:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
