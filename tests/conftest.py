import importlib.util
import os

import pytest
from hypothesis import settings

from bottlenet import net, tasks  # noqa: F401  (net first: one XLA device per core, as users run)
from bottlenet.spec import NetSpec

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
