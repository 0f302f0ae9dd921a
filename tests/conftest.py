import importlib.util
import os
import shutil
from pathlib import Path

# JAX's persistent compilation cache for the tests (before JAX is imported): most of a
# cold run is XLA compiling small programs, ~40 ms each on these CPUs even for one
# addition, so the second run takes about half as long. Kept in .pytest_cache (ignored by
# git) and emptied past 1 GiB here, once per run (JAX's own size limit rescans the folder
# at every write, thousands of files each time); BOTTLENET_TEST_CACHE=off times a cold
# run. CLI subprocesses that the tests start inherit it (the command's own is ~/.cache).
_JAX_CACHE = Path(__file__).resolve().parent.parent / ".pytest_cache" / "jax"
_JAX_CACHE_MAX_BYTES = 1 << 30
if os.environ.get("BOTTLENET_TEST_CACHE", "").lower() not in ("off", "0", "no"):
    if "PYTEST_XDIST_WORKER" not in os.environ and _JAX_CACHE.is_dir() and sum(
            f.stat().st_size for f in _JAX_CACHE.iterdir()) > _JAX_CACHE_MAX_BYTES:
        shutil.rmtree(_JAX_CACHE, ignore_errors=True)
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(_JAX_CACHE))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

# In a worker of the default run (pytest-xdist: one per core) XLA runs each program on one
# thread: with its own thread pool per core in every worker, the workers' threads fought
# for the cores (the default run took 167 s of wall time and 308 s of CPU on 2 cores;
# with one thread each, 128 s and 237 s). The slow run (one process) keeps every core.
if "PYTEST_XDIST_WORKER" in os.environ and "multi_thread_eigen" not in os.environ.get(
        "XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                               "=false intra_op_parallelism_threads=1").strip()

# Likewise the compressor's second thread (model.TWO_THREADS) in a worker of the default
# run: two workers with two threads each on 2 cores spin-waited for each other (the
# default run took 248 s from a fresh clone, 155 s here; with one thread each, 128 s).
# tests/test_compress_threads.py forces both paths; the slow run keeps two threads.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("BOTTLENET_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from bottlenet import net, tasks  # noqa: F401, E402  (net first: one XLA device per core, as users run)
from bottlenet.spec import NetSpec  # noqa: E402

# First calls compile (XLA): timing deadlines would only measure that.
settings.register_profile("bottlenet", deadline=None)
settings.load_profile("bottlenet")


def needs(module: str, group: str) -> None:
    """Skip the calling test (or module) when `module` is not installed: it comes with
    the dependency group `group`, which a first install leaves out. `.ci/run` installs
    every group and sets BOTTLENET_TEST_GROUPS_REQUIRED, so there a missing one fails."""
    if importlib.util.find_spec(module) is not None:
        return
    if os.environ.get("BOTTLENET_TEST_GROUPS_REQUIRED"):
        raise RuntimeError(f"{module} is missing: uv sync --group {group}")
    pytest.skip(f"needs {module} (uv sync --group {group})", allow_module_level=True)


def needs_kernels() -> None:
    """Skip the calling test (or module) when the compressor's compiled kernels were not
    built (an install without a C compiler). `.ci/run` builds them and sets
    BOTTLENET_KERNELS_REQUIRED, so there missing kernels fail instead."""
    from bottlenet.compress import KERNELS_MISSING, kernels_built

    if kernels_built():
        return
    if os.environ.get("BOTTLENET_KERNELS_REQUIRED"):
        raise RuntimeError(f"the compressor {KERNELS_MISSING}")
    pytest.skip("the compressor's kernels were not built (no C compiler at install)",
                allow_module_level=True)


@pytest.fixture
def kernels_installed():
    needs_kernels()


@pytest.fixture
def ray_installed():
    needs("ray", "cluster-tests")


@pytest.fixture
def shift5():
    return tasks.shift(5)


@pytest.fixture
def tanh2_spec():
    return NetSpec(5, 5, (2,), "tanh")
