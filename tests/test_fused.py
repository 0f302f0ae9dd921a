"""The compiled fused last layer (trainer/fused.py, fused_kernel.pyx): the same loss,
outcome and gradients as autodiff and as the XLA step in chunks, under vmap and inside
a training run, with padded pairs and outputs, ties and 1-ulp leads; under vmap each
network's numbers are those it has alone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import construct, softmax, tasks
from bottlenet.check import check_population
from bottlenet.config import TrainConfig
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.spec import NetSpec
from bottlenet.trainer import chunked, fused, train
from test_chunked import _random, _reference
from test_wall import _circle_with_ties

if fused.fused_kernel is None:
    import os

    if os.environ.get("BOTTLENET_KERNELS_REQUIRED"):
        raise RuntimeError("the trainer's fused kernel was not built")
    pytest.skip("the trainer's fused kernel was not built (no C compiler at install)",
                allow_module_level=True)


@pytest.fixture(autouse=True)
def kernel_taken(monkeypatch):
    """The kernel is tested wherever it was built, also where the trainer leaves it
    aside (without 512-bit vectors: slower than XLA there, but the same numbers)."""
    monkeypatch.setattr(fused.fused_kernel, "AVX512", True)


def _fused_matches_autodiff_and_xla(spec, params, data, relative_atol=False):
    """Loss, outcome and gradients of the fused kernel equal autodiff's and XLA's chunks'
    (atol 1e-6, or 1e-6 of each gradient's largest entry)."""
    ev, grads = chunked.loss_and_grads(spec, params, data)               # fused
    xla, xla_grads = chunked.loss_and_grads(spec, params, data, rows=8)  # XLA, in chunks
    ref, ref_grads = _reference(spec, params, data)
    np.testing.assert_allclose(float(ev.loss), float(ref.loss), rtol=2e-6)
    for ours, theirs, x in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads),
                               jax.tree.leaves(xla_grads), strict=True):
        atol = 1e-6 * (float(np.abs(np.asarray(theirs)).max()) if relative_atol else 1)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=atol)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(x), rtol=2e-5, atol=atol)
    assert float(ev.accuracy) == float(ref.accuracy) == float(xla.accuracy)
    assert jax.tree.structure(grads) == jax.tree.structure(ref_grads)


# 1 to 8 units (the kernel's cases and its general one), biases or none, outputs that are
# and are not a multiple of the 16 lanes, pairs that fill 8-pair blocks and halves or not
# (all but the two-unit case among the slow tests: each compiles three programs)
@pytest.mark.parametrize(("n", "hidden", "bias"),
                         [(48, (2,), True),
                          pytest.param(50, (3,), False, marks=pytest.mark.slow),
                          pytest.param(21, (2, 6), True, marks=pytest.mark.slow),
                          pytest.param(37, (1,), True, marks=pytest.mark.slow),
                          pytest.param(33, (4,), True, marks=pytest.mark.slow),
                          pytest.param(40, (8,), False, marks=pytest.mark.slow)])
def test_loss_and_gradients_equal_autodiffs_and_the_xla_step(n, hidden, bias):
    task = tasks.permutation(n, seed=2)
    spec = NetSpec(n, n, hidden, bias=bias)
    data = task_arrays(task)
    params = _random(spec)
    assert fused.applies(jnp.zeros((1, hidden[-1]), jnp.float32))
    _fused_matches_autodiff_and_xla(spec, params, data)


# (5 s each: the default run stays under 3 minutes)
@pytest.mark.parametrize("hidden", [pytest.param((2,), marks=pytest.mark.slow),
                                    pytest.param((3,), marks=pytest.mark.slow)])
def test_blocks_far_below_the_strongest_output_change_nothing(hidden):
    """A trained network's logits spread over hundreds: most blocks of 16 outputs (in the
    kernel's order of their weights) trail the strongest by more than 87 and are left out
    of the sums and of dW. Loss, outcome and gradients stay autodiff's and XLA's."""
    n = 300
    task = tasks.permutation(n, seed=4)
    spec = NetSpec(n, n, hidden)
    data = task_arrays(task)
    params = _random(spec, 5)
    params = (params[0], {"w": params[1]["w"] * 150, "b": params[1]["b"] * 40})
    h = np.tanh(np.asarray(params[0]["w"] + params[0]["b"]))
    z = h @ np.asarray(params[1]["w"]) + np.asarray(params[1]["b"])
    assert (z < z.max(axis=1, keepdims=True) - 87).mean() > 0.8   # mostly far
    _fused_matches_autodiff_and_xla(spec, params, data, relative_atol=True)


def test_padding_a_population_and_the_solve_rule():
    """Padded pairs (weight 0) and outputs (masked) take no part; under vmap each network
    gets its own numbers, equal to its own call's; a solved network is reported solved
    and an unsolved one not."""
    task = tasks.shift(20)
    data = task_arrays(task, n_pairs=24, n_out=26, n_in=26)
    spec = NetSpec(26, 26, (2,))
    nets = [_random(spec, s) for s in range(3)]
    batched = jax.tree.map(lambda *a: jnp.stack(a), *nets)
    evs, grads = jax.vmap(lambda p: chunked.loss_and_grads(spec, p, data, range(24)))(batched)
    for i, params in enumerate(nets):
        ev, g = chunked.loss_and_grads(spec, params, data, range(24))
        ref, ref_g = _reference(spec, params, data, range(24))
        np.testing.assert_allclose(float(evs.loss[i]), float(ref.loss), rtol=2e-6)
        assert float(evs.accuracy[i]) == float(ev.accuracy) == float(ref.accuracy)
        for ours, alone, theirs in zip(jax.tree.leaves(grads), jax.tree.leaves(g),
                                       jax.tree.leaves(ref_g), strict=True):
            np.testing.assert_array_equal(np.asarray(ours)[i], np.asarray(alone))
            np.testing.assert_allclose(np.asarray(alone), np.asarray(theirs), rtol=2e-5,
                                       atol=1e-6)


def test_outcome_with_ties_ulp_leads_and_clear_wins(monkeypatch):
    """The rule of evaluation._pairs (ties and 1-ulp leads lost, a lead of 4 tolerances
    won), at the rule's own tolerance and at the step's stricter one, as in XLA's step."""
    task, spec, params = _circle_with_ties(16)
    data = task_arrays(task)
    jparams = jax.tree.map(jnp.asarray, params)
    full = evaluate(spec, jparams, data)
    assert float(chunked.loss_and_grads(spec, jparams, data)[0].accuracy) \
        == float(full.accuracy)
    monkeypatch.setattr(chunked, "STEP_TOL", 1.0)
    ev = chunked.loss_and_grads(spec, jparams, data)[0]
    assert (float(ev.accuracy), bool(ev.solved)) == (float(full.accuracy), False)
    clean = jax.tree.map(jnp.asarray, construct.construct(task, 2, 0.9, 0.9).params)
    assert bool(chunked.loss_and_grads(spec, clean, data)[0].solved)


@pytest.mark.slow
def test_training_through_the_kernel_reaches_solutions_that_the_check_confirms(monkeypatch):
    monkeypatch.setattr(softmax, "MIN_LOGITS", 0)   # the chunked step at n = 64
    calls = []
    real = fused._host
    monkeypatch.setattr(fused, "_host", lambda *a: calls.append(1) or real(*a))
    jax.clear_caches()   # (thresholds are read when a program is traced)
    try:
        pop = train(tasks.shift(64), NetSpec(64, 64, (2,)),
                    TrainConfig(seeds=4, steps=3000, lr=0.05))
    finally:
        jax.clear_caches()
    assert len(calls) > 100   # called at every step
    assert pop.solved.sum() >= 2
    result = check_population(pop)
    assert [c.solved for c in result.networks] == pop.solved.tolist()
    assert all(c.margin >= 1.4 * result.rtol for c in result.networks if c.solved)
