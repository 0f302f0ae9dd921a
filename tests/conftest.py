import pytest

from bottlenet import tasks
from bottlenet.net import NetSpec


@pytest.fixture
def shift5():
    return tasks.shift(5)


@pytest.fixture
def tanh2_spec():
    return NetSpec(5, 5, (2,), "tanh")
