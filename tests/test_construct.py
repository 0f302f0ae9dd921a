"""Hand-made weights and the argmax check."""

import numpy as np
import pytest

from bottlenet import tasks
from bottlenet.config import TrainConfig
from bottlenet.construct import as_population, construct, winnable
from bottlenet.errors import SpecError
from bottlenet.spec import NetSpec
from bottlenet.trainer import train


@pytest.mark.slow  # (the command line's test constructs 200 symbols in the default run)
def test_circle_solves_1000_symbols_with_two_units():
    c = construct(tasks.shift(1000), hidden=2, probability=0.9)
    assert c.solved_float32 and c.solved_float64
    assert c.min_probability == pytest.approx(0.9, abs=1e-6)
    assert c.spec.n_connections == 4000
    # The scale is the smallest that gives p >= 0.9: 1% less falls short.
    from bottlenet.construct import _min_probability, _unit_params
    unit = _unit_params(c.task, 2, 0.9)
    assert _min_probability(c.spec, c.task, unit, 0.99 * c.scale) < 0.9


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 11, 40])
def test_line_envelope_solves_with_one_unit(n):
    c = construct(tasks.shift(n), hidden=1, probability=0.99)
    assert c.solved_float32 and c.min_probability >= 0.99 - 1e-9


@pytest.mark.slow
def test_permutation_and_more_units():
    c = construct(tasks.permutation(50, seed=4), hidden=3)
    assert c.solved_float32


def test_construction_rejects_many_to_one_and_bad_settings():
    with pytest.raises(SpecError):
        construct(tasks.random_mapping(50, seed=0))
    with pytest.raises(SpecError):
        construct(tasks.shift(5), probability=1.0)
    with pytest.raises(SpecError):
        construct(tasks.shift(5), hidden=0)


@pytest.mark.slow  # (the CLI's construct test saves and reads a construction by default)
def test_construction_as_population_round_trips(tmp_path):
    from bottlenet import load, save

    pop = as_population(construct(tasks.shift(11)))
    assert pop.config is None  # weights made, not trained: no training record
    back = load(save(pop, tmp_path / "c.npz"))
    assert back.solved.all() and back.steps_run == 0
    assert back.config is None and back.summary()["training"] is None
    np.testing.assert_array_equal(back.network(0)[1]["w"], pop.network(0)[1]["w"])


def _net(w, b):
    spec = NetSpec(3, w.shape[1], (2,), "tanh")
    return spec, ({"w": np.zeros((3, 2)), "b": np.zeros(2)},
                  {"w": np.asarray(w, float), "b": np.asarray(b, float)})


def test_argmax_check_finds_interior_and_hopeless_outputs():
    corners = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float).T * 5
    interior = np.zeros((2, 1))  # wins near the centre thanks to its bias
    between = (corners[:, [0]] + corners[:, [1]]) / 2  # midway, with a lower bias: never
    w = np.hstack([corners, interior, between])
    b = np.array([0, 0, 0, 0, 2.0, -1.0])
    spec, params = _net(w, b)
    m = winnable(spec, params)
    assert (m[:4] > 0).all()
    assert m[4] > 0  # the interior output
    assert m[5] <= 0
    # Without its bias the interior output ties at best: it cannot win outright.
    spec, params = _net(w, np.array([0, 0, 0, 0, 0.0, -1.0]))
    assert winnable(spec, params)[4] <= 1e-9


@pytest.mark.slow
def test_argmax_check_explains_one_unit_without_bias():
    # One unit, no biases: only the outputs with the largest and smallest weight can win.
    pop = train(tasks.shift(5), NetSpec(5, 5, (1,), bias=False), TrainConfig(seeds=1, steps=500))
    m = winnable(pop.spec, pop.network(0))
    assert (m > 1e-9).sum() == 2


@pytest.mark.slow
@pytest.mark.parametrize("hidden", [2, 3])
def test_grid_solves_with_far_smaller_weights_than_the_circle(hidden):
    task = tasks.shift(400)
    grid = construct(task, hidden=hidden, method="grid")
    circle = construct(task, hidden=hidden)
    assert grid.solved_float32 and grid.solved_float64
    assert grid.min_probability == pytest.approx(0.9, abs=1e-6)
    # margins ~ spacing^2 (1/n for k = 2) instead of ~ 1/n^2: a 10x smaller scale at least
    assert grid.scale < circle.scale / 10


def test_grid_limit_grows_with_k_and_is_too_large_to_check_beyond_one_unit():
    from bottlenet.construct import float32_limit, margin_limit

    assert margin_limit(2, "grid") > 100 * margin_limit(2, "circle")
    assert margin_limit(3, "grid") > 100 * margin_limit(2, "grid")
    assert margin_limit(3, "circle") == margin_limit(2, "circle")  # the circle uses 2 units
    assert float32_limit(3, "grid") == (margin_limit(3, "grid"), False)  # an estimate


@pytest.mark.slow
@pytest.mark.parametrize(("hidden", "method"), [(1, "grid"), (2, "circle")])
def test_float32_limit_estimate_is_close_to_what_the_check_measures(hidden, method):
    from bottlenet.construct import float32_limit, margin_limit

    estimate = margin_limit(hidden, method)
    measured, was_measured = float32_limit(hidden, method)
    assert was_measured and 0.9 * estimate <= measured <= estimate
    # the limit is real: below it the trainer's check passes, well above it fails
    assert construct(tasks.shift(measured - 50), hidden, 0.5, method=method).solved_float32
    assert not construct(tasks.shift(int(1.3 * estimate)), hidden, 0.5,
                         method=method).solved_float32
