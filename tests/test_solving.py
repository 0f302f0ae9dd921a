"""What "solved" means: a strict win that survives recomputation, kept once found."""


import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import net as netlib
from bottlenet import tasks
from bottlenet.config import TrainConfig
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.spec import NetSpec
from bottlenet.trainer import effective_params, train, with_logit_scale


def _two_codes(bias1: float = 0.0):
    """3 symbols, 2 tanh units: input 0 has code (0.9, 0), inputs 1 and 2 share (-0.9, 0);
    outputs 1 and 2 have identical weights, so their logits tie on every input."""
    a = float(np.arctanh(np.float32(0.9)))
    w1 = np.array([[a, 0.0], [-a, 0.0], [-a, 0.0]], np.float32)
    w2 = np.array([[1.0, -1.0, -1.0], [0.0, 0.0, 0.0]], np.float32)
    b2 = np.array([0.0, bias1, 0.0], np.float32)
    return ({"w": jnp.asarray(w1), "b": jnp.zeros(2)}, {"w": jnp.asarray(w2), "b": jnp.asarray(b2)})


def test_a_tie_is_not_a_solve():
    spec = NetSpec(3, 3, (2,))
    ev = evaluate(spec, _two_codes(), task_arrays(tasks.identity(3)))
    # input 0 wins outright; inputs 1 and 2 tie between outputs 1 and 2: neither is a win
    assert not bool(ev.solved)
    assert float(ev.accuracy) == pytest.approx(1 / 3)


def test_a_lead_of_a_few_ulps_is_not_a_win_but_a_real_margin_is():
    spec = NetSpec(2, 2, (2,))
    task = tasks.identity(2)
    params = _two_codes()
    params = ({"w": params[0]["w"][:2], "b": params[0]["b"]},
              {"w": params[1]["w"][:, :2], "b": params[1]["b"][:2]})
    data = task_arrays(task)
    assert bool(evaluate(spec, params, data).solved)  # margins of 1.8
    # Now output 1 beats output 0 on input 0 ... by nothing but rounding.
    lead = float(np.spacing(np.float32(0.9))) * 2
    close = (params[0], {"w": jnp.asarray([[1.0, 1.0], [0.0, 0.0]]),
                         "b": jnp.asarray([0.0, lead])})
    ev = evaluate(spec, close, task_arrays(tasks.Task("t", 2, 2, (0,), (1,))))
    assert not bool(ev.solved)
    ev = evaluate(spec, (params[0], {"w": close[1]["w"], "b": jnp.asarray([0.0, 1e-3])}),
                  task_arrays(tasks.Task("t", 2, 2, (0,), (1,))))
    assert bool(ev.solved)


def _float64_margins(spec, params, task) -> np.ndarray:
    """Independent float64 forward pass (numpy): target logit minus the best other."""
    x = np.eye(spec.n_in)[list(task.inputs)]
    for i, layer in enumerate(params):
        x = x @ np.asarray(layer["w"], np.float64) + np.asarray(layer["b"], np.float64)
        if i < len(params) - 1:
            x = np.tanh(x)
    rows = np.arange(task.n_pairs)
    target = x[rows, list(task.targets)]
    x[rows, list(task.targets)] = -np.inf
    return target - x.max(axis=1)


def test_solved_weights_win_strictly_in_float64():
    task = tasks.shift(48)
    spec = NetSpec(48, 48, (2,))
    pop = train(task, spec, TrainConfig(seeds=8, steps=3000, logit_scale=True, lr=0.03))
    assert pop.solved.sum() >= 4
    np.testing.assert_array_equal(pop.solved, pop.solve_step >= 0)
    for i in np.flatnonzero(pop.solved):
        assert _float64_margins(spec, pop.network(i), task).min() > 0


@pytest.mark.slow  # 8 s; solved weights are confirmed in float64 just above
def test_a_network_keeps_the_weights_it_solved_with():
    # Plain SGD at lr 3 on linear units: some networks solve and then blow up. Run to the
    # end, they are lost (diverged or unsolved); with stop "each" every network that ever
    # solved is solved at the end, with the weights of its solve step.
    task, spec = tasks.shift(5), NetSpec(5, 5, (2,), "linear")
    cfg = {"optimizer": "sgd", "lr": 3.0, "seeds": 16, "steps": 200, "logit_scale": False}
    never = train(task, spec, TrainConfig(stop="never", **cfg))
    lost = (never.solve_step >= 0) & ~never.solved
    assert lost.any()  # the case this test is about occurs
    each = train(task, spec, TrainConfig(stop="each", **cfg))
    np.testing.assert_array_equal(each.solve_step, never.solve_step)
    assert each.solved[never.solve_step >= 0].all()
    assert not each.diverged[lost].any()
    i = int(np.flatnonzero(lost)[0])
    at = train(task, spec, TrainConfig(stop="never", snapshots=(int(never.solve_step[i]),),
                                       **cfg))
    for x, y in zip(jax.tree.leaves(each.network(i)),
                    jax.tree.leaves(at.network(i, int(never.solve_step[i]))), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # the keep-what-was-found rule itself is tested by the next tests
def test_stopped_networks_leave_the_population_without_changing_any_outcome(monkeypatch):
    # 64 networks, most solving early: the population shrinks (here even where the
    # time saved would not pay for compiling), yet every network ends as it would have
    # in the full population run to the end.
    from bottlenet.trainer import run
    monkeypatch.setattr(run, "COMPACT_AFTER_S", 0.0)
    sizes = []
    gather = run.gather
    monkeypatch.setattr(run, "gather", lambda state, slots, *spread: sizes.append(len(slots))
                        or gather(state, slots, *spread))
    task, spec = tasks.shift(11), NetSpec(11, 11, (2,))
    cfg = {"seeds": 64, "steps": 2000, "chunk": 100, "log_every": 20, "lr": 0.05,
           "logit_scale": False}
    each = train(task, spec, TrainConfig(stop="each", **cfg))
    assert sizes and sizes[0] <= 32  # the population did shrink
    full = train(task, spec, TrainConfig(stop="never", **cfg))
    np.testing.assert_array_equal(each.solve_step, full.solve_step)
    assert each.solved.all()
    assert each.steps_run == each.solve_step.max()
    assert each.history_loss.shape[1] == 64
    # after its solve step, a network's history stays at its solved values
    i = int(np.argmin(each.solve_step))
    after = each.history_step > each.solve_step[i]
    assert np.ptp(each.history_loss[after, i]) == 0


def test_logit_scale_is_the_same_function_class_and_its_gradient_is_right():
    from bottlenet.trainer.parametrize import training_grads
    with jax.enable_x64(True):
        spec = NetSpec(5, 5, (3,))
        data = task_arrays(tasks.permutation(5, seed=1), dtype=jnp.float64)
        params = with_logit_scale(netlib.init(spec, jax.random.key(3), dtype=jnp.float64))
        params[-1]["s"] = jnp.asarray(0.7)
        plain = effective_params(params)
        assert set(plain[-1]) == {"w", "b"}
        np.testing.assert_allclose(plain[-1]["w"], np.exp(0.7) * params[-1]["w"])

        def loss(p):
            return evaluate(spec, effective_params(p), data).loss

        flat, unravel = jax.flatten_util.ravel_pytree(params)
        grads = jax.grad(loss)(params)
        auto = np.asarray(jax.flatten_util.ravel_pytree(grads)[0])
        eps = 1e-6
        numeric = np.array([(loss(unravel(flat + eps * e)) - loss(unravel(flat - eps * e)))
                            / (2 * eps) for e in np.eye(flat.size)])
        np.testing.assert_allclose(auto, numeric, rtol=1e-5, atol=1e-9)
        assert abs(float(grads[-1]["s"])) > 1e-3  # the scale's own gradient is exercised
        # The trainer differentiates at the scaled weights and applies the chain rule
        # itself (training_grads): the same numbers.
        weights = effective_params(params)
        by_hand = training_grads(
            params, weights, jax.grad(lambda w: evaluate(spec, w, data).loss)(weights))
        for a, b in zip(jax.tree.leaves(by_hand), jax.tree.leaves(grads), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_logit_scale_reaches_further():
    # 2 tanh units, 96 symbols, 3000 steps: the plain network solves none in our runs,
    # the learned scale most of them.
    task, spec = tasks.shift(96), NetSpec(96, 96, (2,))
    scaled = train(task, spec, TrainConfig(seeds=8, steps=3000, logit_scale=True, lr=0.01))
    plain = train(task, spec, TrainConfig(seeds=8, steps=3000, lr=0.05, logit_scale=False))
    assert scaled.solved.sum() >= 6 > plain.solved.sum()
