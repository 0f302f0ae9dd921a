"""Gradients and forward passes against independent computations, in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf, expit, log_softmax

from bottlenet import activations, tasks
from bottlenet import net as netlib
from bottlenet.errors import SpecError
from bottlenet.evaluation import consecutive_inputs, evaluate, task_arrays
from bottlenet.spec import HEADS, NetSpec


def _loss(spec, data):
    return lambda p: evaluate(spec, p, data).loss


def _finite_difference(f, params, eps=1e-6):
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    grad = np.zeros(flat.shape)
    for i in range(flat.size):
        e = np.zeros(flat.shape)
        e[i] = eps
        grad[i] = (f(unravel(flat + e)) - f(unravel(flat - e))) / (2 * eps)
    return grad


# Every activation under the softmax head, and every head under tanh and relu: the
# head's gradient does not depend on the activation below it (the chain rule multiplies
# them), so the full product of the two lists checks nothing more.
# The default run keeps the article's two activations and every head under tanh; the
# other combinations run among the slow tests (1.4 s each).
@pytest.mark.parametrize(("activation", "head"), [
    pair if pair in {("tanh", "softmax"), ("relu", "softmax"), ("tanh", "tanh"),
                     ("tanh", "sigmoid")} else pytest.param(*pair, marks=pytest.mark.slow)
    for pair in sorted({(a, "softmax") for a in activations.names()}
                       | {(a, h) for a in ("tanh", "relu") for h in HEADS})])
def test_gradient_matches_central_differences(activation, head):
    import jax.flatten_util  # noqa: F401

    with jax.enable_x64(True):
        task = tasks.permutation(5, seed=3)
        spec = NetSpec(5, 5, (3,), activation, True, head)
        params = netlib.init(spec, jax.random.key(7), dtype=jnp.float64)
        # Non-zero biases, so their gradients are exercised away from the symmetric start.
        params = tuple({**layer, "b": layer["b"] + 0.3 * (i + 1)} for i, layer in
                       enumerate(params))
        data = task_arrays(task, dtype=jnp.float64)
        f = _loss(spec, data)
        auto = jax.flatten_util.ravel_pytree(jax.grad(f)(params))[0]
        numeric = _finite_difference(f, params)
        np.testing.assert_allclose(np.asarray(auto), numeric, rtol=1e-5, atol=1e-8)
        assert np.abs(numeric).max() > 1e-3  # the check compares something


def _numpy_forward(spec, params, inputs):
    """An independent forward pass with explicit one-hot vectors and numpy."""
    x = np.eye(spec.n_in)[inputs]
    act = {"tanh": np.tanh, "sigmoid": expit, "relu": lambda z: np.maximum(z, 0),
           "linear": lambda z: z, "softplus": lambda z: np.log1p(np.exp(z)),
           "normcdf": lambda z: erf(np.sqrt(np.pi / 2) * z / np.sqrt(2)),
           "sinh": np.sinh, "arctan": lambda z: np.arctan(np.pi / 2 * z) / (np.pi / 2),
           "leaky_relu": lambda z: np.where(z >= 0, z, 0.01 * z)}[spec.activation]
    for i, layer in enumerate(params):
        x = x @ np.asarray(layer["w"]) + (np.asarray(layer["b"]) if "b" in layer else 0)
        if i < len(params) - 1:
            x = act(x)
    return x


# every activation through two hidden layers; no hidden layer and one among the slow tests
@pytest.mark.parametrize("activation", activations.names())
@pytest.mark.parametrize("hidden", [pytest.param((), marks=pytest.mark.slow),
                                    pytest.param((2,), marks=pytest.mark.slow), (3, 4)])
def test_forward_matches_numpy(activation, hidden):
    with jax.enable_x64(True):
        spec = NetSpec(6, 7, hidden, activation)
        params = netlib.init(spec, jax.random.key(1), dtype=jnp.float64)
        inputs = np.array([0, 3, 5, 2])
        ours = np.asarray(jax.jit(netlib.forward, static_argnums=0)(spec, params, inputs))
        np.testing.assert_allclose(ours, _numpy_forward(spec, params, inputs), rtol=1e-12)


def test_softmax_loss_is_cross_entropy():
    with jax.enable_x64(True):
        spec = NetSpec(4, 5, (2,))
        params = netlib.init(spec, jax.random.key(2), dtype=jnp.float64)
        task = tasks.shift(5)
        task = tasks.Task("t", 4, 5, task.inputs, task.targets)
        logits = _numpy_forward(spec, params, np.array(task.inputs))
        expected = -log_softmax(logits, axis=1)[np.arange(4), task.targets].mean()
        got = float(evaluate(spec, params, task_arrays(task, dtype=jnp.float64)).loss)
        assert got == pytest.approx(expected, rel=1e-12)


def test_leaky_relu_takes_other_slopes_by_name():
    f = activations.get("leaky_relu:0.3").fn
    assert float(f(-2.0)) == pytest.approx(-0.6) and float(f(2.0)) == 2.0
    assert "leaky_relu:0.3" not in activations.names()  # made on demand, not registered
    for bad in ("leaky_relu:1", "leaky_relu:0", "leaky_relu:x", "leaky_relu:0.30"):
        with pytest.raises(SpecError):
            activations.get(bad)


@pytest.mark.parametrize("name", ["normcdf", "arctan"])
def test_tanh_rivals_match_its_slope_and_range(name):
    f = activations.get(name).fn
    assert float(jax.grad(f)(0.0)) == pytest.approx(1.0, rel=1e-6)
    assert float(f(1e6)) == pytest.approx(1.0, abs=1e-5)
    assert float(f(-1e6)) == pytest.approx(-1.0, abs=1e-5)
    assert float(f(0.0)) == 0.0


@pytest.mark.parametrize(("hidden", "bias"), [
    pytest.param((netlib.UNROLL_FAN_IN + 2,), True, marks=pytest.mark.slow),
    pytest.param((3, netlib.UNROLL_FAN_IN + 1), False, marks=pytest.mark.slow),
    ((2, 3), False)])
def test_dense_layer_gradients_both_ways(hidden, bias):
    # Layers up to UNROLL_FAN_IN inputs are summed unrolled, wider ones multiplied; both
    # share one hand-written backward pass, checked here with and without biases.
    import jax.flatten_util  # noqa: F401

    with jax.enable_x64(True):
        spec = NetSpec(5, 5, hidden, "tanh", bias)
        params = netlib.init(spec, jax.random.key(4), 0.7, dtype=jnp.float64)
        data = task_arrays(tasks.permutation(5, seed=1), dtype=jnp.float64)
        f = _loss(spec, data)
        auto = jax.flatten_util.ravel_pytree(jax.grad(f)(params))[0]
        np.testing.assert_allclose(np.asarray(auto), _finite_difference(f, params),
                                   rtol=1e-5, atol=1e-8)
        inputs = np.array([4, 0, 2])
        np.testing.assert_allclose(np.asarray(netlib.forward(spec, params, jnp.asarray(inputs))),
                                   _numpy_forward(spec, params, inputs), rtol=1e-12)


@pytest.mark.parametrize("hidden", [(), (3,)])
def test_consecutive_inputs_as_a_range_equal_the_index_array(hidden):
    with jax.enable_x64(True):
        spec = NetSpec(6, 6, hidden)
        params = netlib.init(spec, jax.random.key(5), dtype=jnp.float64)
        data = task_arrays(tasks.shift(6), dtype=jnp.float64)
        assert consecutive_inputs(data) == range(5)
        by_range = evaluate(spec, params, data, range(5))
        by_index = evaluate(spec, params, data)
        np.testing.assert_array_equal(by_range.logits, by_index.logits)
        g_range = jax.grad(lambda p: evaluate(spec, p, data, range(5)).loss)(params)
        g_index = jax.grad(lambda p: evaluate(spec, p, data).loss)(params)
        for a, b in zip(jax.tree.leaves(g_range), jax.tree.leaves(g_index), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    shuffled = tasks.Task("t", 4, 4, (2, 0, 1), (3, 1, 2))
    assert consecutive_inputs(task_arrays(shuffled)) is None
    # Padding continues the numbering while the padded network has inputs to spare.
    assert consecutive_inputs(task_arrays(tasks.shift(6), n_pairs=8, n_in=8)) == range(8)
    assert consecutive_inputs(task_arrays(tasks.shift(6), n_pairs=8)) is None
