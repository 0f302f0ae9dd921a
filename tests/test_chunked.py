"""The full-batch step in chunks of pairs (trainer.chunked): the same loss, gradients and
outcome as autodiff through evaluation.evaluate, in every chunking, and training through
it reaches solutions that the float64 check confirms."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import construct, softmax, tasks
from bottlenet import net as netlib
from bottlenet.check import check_population
from bottlenet.config import TrainConfig
from bottlenet.evaluation import evaluate, logit_magnitude, solve_rtol, task_arrays
from bottlenet.softmax import full_in_chunks
from bottlenet.spec import NetSpec
from bottlenet.trainer import chunked, train
from test_wall import _circle_with_ties


def _reference(spec, params, data, inputs=None):
    (_, ev), grads = jax.value_and_grad(
        lambda p: (lambda e: (e.loss, e))(evaluate(spec, p, data, inputs)), has_aux=True)(params)
    return ev, grads


def _random(spec, seed=0, dtype=jnp.float32):
    params = netlib.init(spec, jax.random.key(seed), dtype=dtype)
    # biases away from zero and a larger last layer, so the softmax is not flat
    return tuple({**layer, "w": layer["w"] * (1 + 2 * i),
                  **({"b": layer["b"] + 0.3 * (i + 1)} if "b" in layer else {})}
                 for i, layer in enumerate(params))


# one and two hidden layers, with and without biases, chunks that do and do not divide
# the 37 pairs
@pytest.mark.parametrize(("hidden", "bias", "rows"),
                         [pytest.param((2,), True, 8, marks=pytest.mark.slow),  # (test_fused)
                          pytest.param((3,), False, 16, marks=pytest.mark.slow),
                          ((3, 2), True, 64)])
def test_loss_and_gradients_equal_autodiffs(hidden, bias, rows):
    task = tasks.permutation(37, seed=2)
    spec = NetSpec(37, 37, hidden, bias=bias)
    data = task_arrays(task)
    params = _random(spec)
    ev, grads = chunked.loss_and_grads(spec, params, data, rows=rows)
    ref, ref_grads = _reference(spec, params, data)
    np.testing.assert_allclose(float(ev.loss), float(ref.loss), rtol=1e-6)
    for ours, theirs in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads), strict=True):
        # atol: float32 rounding of sums of ~37 terms (seen: 1.2e-7 on an entry of 6e-4)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=1e-6)
    assert float(ev.accuracy) == float(ref.accuracy)
    assert jax.tree.structure(grads) == jax.tree.structure(ref_grads)


def test_padding_and_consecutive_inputs_as_in_autodiff():
    """Padded pairs (weight 0) and outputs (masked) take no part; inputs as a range."""
    task = tasks.shift(20)
    data = task_arrays(task, n_pairs=24, n_out=26, n_in=26)
    spec = NetSpec(26, 26, (2,))
    params = _random(spec, 3)
    ev, grads = chunked.loss_and_grads(spec, params, data, range(24), rows=8)
    ref, ref_grads = _reference(spec, params, data, range(24))
    np.testing.assert_allclose(float(ev.loss), float(ref.loss), rtol=1e-6)
    for ours, theirs in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads), strict=True):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=1e-7)
    assert not np.asarray(grads[-1]["w"])[:, 20:].any()  # padded outputs learn nothing


def test_targets_apart_from_solve_targets_as_in_autodiff():
    """Inputs with several targets (the article's HELLO: L before L and O): the loss
    follows every pair's target, the rule each input's most frequent one, which the
    step takes out of the row and puts back by hand."""
    text = "HELLO WORLD, HELLO THERE, YELLOW LLAMA"
    task = tasks.from_pairs("text", list(zip(text, text[1:], strict=False)))
    data = task_arrays(task)
    assert (np.asarray(data.targets) != np.asarray(data.solve_targets)).any()
    spec = NetSpec(task.n_in, task.n_out, (3,))
    params = _random(spec, 4)
    for rows in (5, 8):
        ev, grads = chunked.loss_and_grads(spec, params, data, rows=rows)
        ref, ref_grads = _reference(spec, params, data)
        np.testing.assert_allclose(float(ev.loss), float(ref.loss), rtol=1e-6)
        for ours, theirs in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads),
                                strict=True):
            np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5,
                                       atol=1e-7)
        assert float(ev.accuracy) == float(ref.accuracy)


def test_gradient_matches_central_differences_in_float64():
    with jax.enable_x64(True):
        task = tasks.permutation(9, seed=1)
        spec = NetSpec(9, 9, (3,))
        params = _random(spec, 5, jnp.float64)
        data = task_arrays(task, dtype=jnp.float64)
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        ours = jax.flatten_util.ravel_pytree(
            chunked.loss_and_grads(spec, params, data, rows=4)[1])[0]

        loss = jax.jit(lambda v: chunked.loss_and_grads(spec, unravel(v), data, rows=4)[0].loss)

        eps = 1e-6
        numeric = np.array([float(loss(flat + eps * e) - loss(flat - eps * e)) / (2 * eps)
                            for e in np.eye(flat.size)])
        np.testing.assert_allclose(np.asarray(ours), numeric, rtol=1e-5, atol=1e-8)
        assert np.abs(numeric).max() > 1e-3


def test_outcome_with_ties_ulp_leads_and_clear_wins(monkeypatch):
    """The rule of evaluation._pairs (ties and 1-ulp leads lost, a lead of 4 tolerances
    won), at the rule's own tolerance and at the step's stricter one."""
    task, spec, params = _circle_with_ties(16)
    data = task_arrays(task)
    jparams = jax.tree.map(jnp.asarray, params)
    full = evaluate(spec, jparams, data)
    for rows in (8, 16):
        assert float(chunked.loss_and_grads(spec, jparams, data, rows=rows)[0].accuracy) \
            == float(full.accuracy)
    monkeypatch.setattr(chunked, "STEP_TOL", 1.0)
    ev = chunked.loss_and_grads(spec, jparams, data, rows=8)[0]
    assert (float(ev.accuracy), bool(ev.solved)) == (float(full.accuracy), False)
    clean = jax.tree.map(jnp.asarray, construct.construct(task, 2, 0.9, 0.9).params)
    assert bool(chunked.loss_and_grads(spec, clean, data, rows=8)[0].solved)


def test_the_step_asks_a_wider_margin_than_the_rule():
    """A pair won by 1.25 tolerances counts for the rule but not yet for the step (so a
    recomputation in another order never undoes a solve the step reported)."""
    task, spec, params = _circle_with_ties(16)
    data = task_arrays(task)
    jparams = jax.tree.map(jnp.asarray, params)
    z = np.asarray(evaluate(spec, jparams, data).logits)
    h = netlib.hidden_states(spec, jparams, data.inputs)[-1]
    tol = float(solve_rtol(jnp.float32) * logit_magnitude(jparams, h, data.inputs)[1])
    leads = (z[1, 2] - z[1, 11]) / tol  # output 11 (a copy of 2) trails pair 1's target
    w2, b2 = params[1]["w"].copy(), params[1]["b"].copy()
    b2[11] = b2[2] - (b2[2] - b2[11]) * 1.25 / leads
    params = (params[0], {"w": w2, "b": b2})
    jparams = jax.tree.map(jnp.asarray, params)
    rule = float(evaluate(spec, jparams, data).accuracy)
    step = float(chunked.loss_and_grads(spec, jparams, data, rows=8)[0].accuracy)
    assert step == pytest.approx(rule - 1 / task.n_pairs)


def test_steps_go_in_chunks_where_they_pay():
    assert not full_in_chunks(NetSpec(40, 40, (2,)), 39)
    assert not full_in_chunks(NetSpec(1024, 1024, (2,)), 1023)
    assert full_in_chunks(NetSpec(4096, 4096, (2,)), 4095)
    assert not full_in_chunks(NetSpec(4096, 4096, (2,), head="tanh"), 4095)
    assert not full_in_chunks(NetSpec(4096, 4096, ()), 4095)


@pytest.mark.slow
def test_training_in_chunks_reaches_solutions_that_the_check_confirms(monkeypatch):
    monkeypatch.setattr(softmax, "MIN_LOGITS", 0)
    monkeypatch.setattr(softmax, "CHUNK_LOGITS", 64 * 8)  # several chunks at n = 64
    calls = []
    real = chunked.loss_and_grads
    monkeypatch.setattr(chunked, "loss_and_grads",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    # The thresholds are read when a program is traced: no program compiled before them
    # (by another test, unchunked) may serve this run, nor this run's serve later ones.
    jax.clear_caches()
    try:
        pop = train(tasks.shift(64), NetSpec(64, 64, (2,)),
                    TrainConfig(seeds=4, steps=3000, lr=0.05))
    finally:
        jax.clear_caches()
    assert calls  # (traced once per compiled segment: the steps went in chunks)
    assert pop.solved.sum() >= 2
    result = check_population(pop)
    assert [c.solved for c in result.networks] == pop.solved.tolist()
    assert all(c.margin >= 1.4 * result.rtol for c in result.networks if c.solved)
