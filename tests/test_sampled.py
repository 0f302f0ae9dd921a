"""The sampled softmax: its loss, its candidates, when it is chosen, and that what it
reports as solved is solved by the full strict check."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import capacity, modelfile, tasks
from bottlenet import net as netlib
from bottlenet.check import check_population
from bottlenet.config import CapacityConfig, TrainConfig
from bottlenet.errors import SpecError
from bottlenet.evaluation import evaluate, task_arrays
from bottlenet.softmax import DRAWN, HARD, SAMPLED_MIN_OUTPUTS, uses_sampled
from bottlenet.spec import NetSpec
from bottlenet.store import Store
from bottlenet.trainer import train
from bottlenet.trainer.sampled import (
    _draws,
    _repeats,
    first_candidates,
    leads,
    loss_and_candidates,
)

# compiled whole (the trainer calls them inside its step): op by op, each size would
# compile every operation on its own
_draws = jax.jit(_draws, static_argnums=(1, 2, 3))
_repeats = jax.jit(_repeats, static_argnums=3)

N = 400  # a few outputs more than the draws and candidates cover
_evaluate = jax.jit(evaluate, static_argnums=0)
_leads = jax.jit(leads, static_argnums=0)


def _network(n=N, k=2, seed=0, dtype=jnp.float32):
    spec = NetSpec(n, n, (k,))
    params = jax.tree.map(lambda x: x.astype(dtype), netlib.init(spec, jax.random.key(seed)))
    return spec, params, task_arrays(tasks.shift(n), dtype=dtype)


def test_gradient_matches_central_differences_along_random_directions():
    with jax.enable_x64(True):
        spec, params, data = _network(dtype=jnp.float64)
        hard = first_candidates(data, N)
        key = jax.random.key(5)

        @jax.jit
        def loss(p):
            return loss_and_candidates(spec, p, data, data.inputs, hard, key)[0]

        grad = jax.grad(loss)(params)
        rng = np.random.default_rng(0)
        for _ in range(4):
            v = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape)), params)
            plus = jax.tree.map(lambda x, d: x + 1e-6 * d, params, v)
            minus = jax.tree.map(lambda x, d: x - 1e-6 * d, params, v)
            numeric = (loss(plus) - loss(minus)) / 2e-6
            exact = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grad),
                                                       jax.tree.leaves(v), strict=True))
            assert float(exact) == pytest.approx(float(numeric), rel=1e-6, abs=1e-9)


def test_the_draws_are_distinct_one_per_stratum_and_estimate_the_rest_without_bias():
    drawn, log_size = _draws(jax.random.key(1), 7, N, jnp.float32)
    edges = (np.arange(DRAWN + 1) * N) // DRAWN
    d = np.asarray(drawn)
    assert ((d >= edges[:-1]) & (d < edges[1:])).all()  # one in each stratum
    np.testing.assert_allclose(np.exp(np.asarray(log_size)), np.diff(edges), rtol=1e-6)
    # Horvitz-Thompson: the weighted draws' mean equals the sum over every output
    values = np.random.default_rng(2).exponential(size=N)
    keys = jax.random.split(jax.random.key(3), 400)
    drawn = np.asarray(jax.vmap(lambda k: _draws(k, 1, N, jnp.float32)[0][0])(keys))
    estimates = np.sum(values[drawn] * np.diff(edges), axis=1)
    assert np.mean(estimates) == pytest.approx(values.sum(), rel=0.03)


@pytest.mark.parametrize("n", [N, 1000, 4097])
def test_repeats_found_through_the_strata_are_every_draw_equal_to_a_candidate(n):
    drawn = np.asarray(_draws(jax.random.key(n), 50, n, jnp.float32)[0])
    rng = np.random.default_rng(n)
    hard = rng.integers(0, n, (50, HARD))
    hard[:, :5] = drawn[:, rng.integers(0, DRAWN, 5)]  # some candidates are drawn again
    target = rng.integers(0, n, (50, 1))
    target[:10, 0] = drawn[:10, 3]
    expected = (drawn[:, :, None] == hard[:, None, :]).any(-1) | (drawn == target)
    got = np.asarray(_repeats(jnp.asarray(drawn), jnp.asarray(hard), jnp.asarray(target), n))
    np.testing.assert_array_equal(got, expected)


def test_the_sampled_loss_averaged_over_draws_is_the_full_loss():
    """At the start, where no output stands out, the candidates hold little of the
    softmax's sum and the draws estimate the rest: averaged over draws the sampled loss
    is the full one (the sum's estimate is unbiased, its log nearly so)."""
    spec, params, data = _network()
    full = float(_evaluate(spec, params, data).loss)
    hard = first_candidates(data, N)
    sampled = jax.jit(jax.vmap(lambda key: loss_and_candidates(
        spec, params, data, data.inputs, hard, key)[0]))
    values = sampled(jax.random.split(jax.random.key(0), 64))
    assert float(np.mean(values)) == pytest.approx(full, rel=0.05)  # an estimate, not far off


def test_candidates_never_hold_the_target_or_an_output_twice_and_find_the_strongest():
    spec, params, data = _network()
    hard = first_candidates(data, N)
    logits = np.asarray(netlib.forward(spec, params, data.inputs))
    targets = np.asarray(data.targets)
    step = jax.jit(lambda hard, t: loss_and_candidates(spec, params, data, data.inputs, hard,
                                                        jax.random.key(t))[1])
    for t in range(300):
        hard = step(hard, t)
        h = np.asarray(hard)
        assert not (h == targets[:, None]).any()
        assert all(len(set(row)) == HARD for row in h)
    # after n / DRAWN steps and more, most pairs hold their strongest rival
    rival = np.where(np.arange(N) == targets[:, None], -np.inf, logits).argmax(1)
    assert np.mean([r in row for r, row in zip(rival, np.asarray(hard), strict=True)]) > 0.9


def test_lead_on_every_compared_output_is_reported_and_lost_by_one_pair():
    spec, params, data = _network()
    # a circle code that wins every pair: output j's vector points where input j - 1's
    # hidden state does
    w = np.zeros((2, N), np.float32)
    angles = 2 * np.pi * np.arange(N) / N
    w[:, 1:] = np.stack([np.cos(angles[:-1]), np.sin(angles[:-1])]) * 1e4
    first = {"w": np.zeros((N, 2), np.float32), "b": np.zeros(2, np.float32)}
    first["w"][:N - 1] = np.arctanh(0.9 * np.stack([np.cos(angles[:-1]),
                                                    np.sin(angles[:-1])], 1))
    params = ({k: jnp.asarray(v) for k, v in first.items()},
              {"w": jnp.asarray(w), "b": jnp.zeros(N, jnp.float32)})
    assert bool(_evaluate(spec, params, data).solved)
    hard = first_candidates(data, N)
    ahead, share = _leads(spec, params, data, data.inputs, hard, jax.random.key(0))
    assert bool(ahead) and float(share) == 1.0
    # pair 0's target loses to its first candidate
    w2 = np.array(w)
    w2[:, int(hard[0, 0])] = w[:, 1] * 1.01
    params = (params[0], {"w": jnp.asarray(w2), "b": params[1]["b"]})
    ahead, share = _leads(spec, params, data, data.inputs, hard, jax.random.key(0))
    assert not bool(ahead) and float(share) < 1.0


def test_the_sampled_softmax_is_used_when_asked_and_refused_where_it_cannot_serve():
    big = NetSpec(4096, 4096, (3,))
    assert not uses_sampled(TrainConfig(), big)  # full is the default at any size
    assert uses_sampled(TrainConfig(softmax="sampled"), NetSpec(1024, 1024, (3,)))
    for spec, cfg, why in [
        (NetSpec(4096, 4096, (3,), head="tanh"), {}, "softmax head"),
        (NetSpec(4096, 4096, ()), {}, "hidden layer"),
        (big, {"batch": 64}, "--batch"),
        (NetSpec(100, 100, (3,)), {}, f"at least {SAMPLED_MIN_OUTPUTS} outputs"),
    ]:
        with pytest.raises(SpecError, match=why):
            uses_sampled(TrainConfig(softmax="sampled", **cfg), spec)


@pytest.mark.slow  # (6 s: the default run stays under 3 minutes)
def test_sampled_training_reaches_solutions_the_float64_check_confirms(tmp_path):
    task = tasks.shift(512)
    pop = train(task, NetSpec(512, 512, (3,)), seeds=2, steps=3000, lr=0.01,
                softmax="sampled")
    assert pop.config.softmax == "sampled"
    assert pop.solved.all() and (pop.solve_step > 0).all()
    assert check_population(pop).solved == 2  # the strict rule, float64, every output
    # the model file says how it trained; a full run's file stays as before
    back = modelfile.load(modelfile.save(pop, tmp_path / "s.npz"))
    assert back.config.softmax == "sampled"
    full = train(tasks.shift(5), NetSpec(5, 5, (2,)), seeds=1, steps=50)
    assert full.config.softmax == "full" and "softmax" not in full.config.to_dict()
    assert modelfile.load(modelfile.save(full, tmp_path / "f.npz")).config.softmax == "full"


def test_capacity_keys_keep_full_trials_and_mark_sampled_ones(tmp_path):
    full, sampled = CapacityConfig(hidden=2), CapacityConfig(hidden=2, softmax="sampled")
    assert full.key() == sampled.key()  # and the same as before the setting existed
    assert "softmax" not in json.loads(full.key())
    big = 4096
    assert capacity.trial_key(full, big) == full.key()
    assert json.loads(capacity.trial_key(sampled, big))["softmax"] == "sampled"
    # "sampled" trains small trials with the full softmax (it needs a few hundred outputs),
    # and shares them with the full-softmax sweep
    assert capacity.trial_key(sampled, 64) == full.key()
    # a stored sampled trial is never read as a full one
    with Store(tmp_path / "r.db") as store:
        store.put(capacity.TrialRecord(capacity.trial_key(sampled, big), big, 1, 2, (5, -1),
                                       1.0), {})
        assert [r.n for r in capacity.curve_trials(sampled, store)] == [big]
        assert capacity.curve_trials(full, store) == []
    with pytest.raises(SpecError, match="softmax head"):
        capacity.Sweep.grid([2], ["tanh"], head="tanh", softmax="sampled")
    # a sweep recorded before the setting resumes with the full softmax
    old = capacity.Sweep.grid([2], ["tanh"]).to_dict()
    for c in old["configs"]:
        del c["softmax"]
    assert capacity.Sweep.from_dict(old).configs[0].softmax == "full"
