import pytest
from hypothesis import settings

from bottlenet import net, tasks  # noqa: F401  (net first: one XLA device per core, as users run)
from bottlenet.spec import NetSpec

# First calls compile (XLA): timing deadlines would only measure that.
settings.register_profile("bottlenet", deadline=None)
settings.load_profile("bottlenet")


@pytest.fixture
def shift5():
    return tasks.shift(5)


@pytest.fixture
def tanh2_spec():
    return NetSpec(5, 5, (2,), "tanh")
