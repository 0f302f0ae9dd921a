"""The population trainer on the article's small cases, with real outcomes."""


import jax
import numpy as np
import pytest

from bottlenet import memory, tasks
from bottlenet.config import TrainConfig
from bottlenet.errors import ResourceError
from bottlenet.evaluation import consecutive_inputs, init_population, task_arrays
from bottlenet.memory import estimate_bytes
from bottlenet.spec import NetSpec
from bottlenet.trainer import train


@pytest.mark.slow  # (C1 in test_reproduce and the CLI tests train it in the default run)
def test_direct_connections_learn_shift5(shift5):
    pop = train(shift5, NetSpec(5, 5, ()), TrainConfig(seeds=32, steps=2000))
    assert pop.solved.all()
    assert pop.spec.n_connections == 25


@pytest.mark.slow  # (the CLI round trip trains 2 tanh units on shift5 in the default run)
def test_two_tanh_units_learn_shift5(shift5, tanh2_spec):
    pop = train(shift5, tanh2_spec, TrainConfig(seeds=32, steps=3000))
    assert pop.solved.mean() >= 0.95
    assert tanh2_spec.n_connections == 20
    assert (pop.solve_step[pop.solved] >= 0).all()
    assert (pop.solve_step[pop.solved] <= pop.steps_run).all()


@pytest.mark.slow  # (an article claim: reproduce's C-tests measure it too)
def test_one_tanh_unit_without_biases_fails_shift5(shift5):
    # With one unit and no biases, logit_j = v_j * h: only argmax(v) or argmin(v) can
    # ever win, so at most 2 of the 4 targets; no amount of training can change that.
    pop = train(shift5, NetSpec(5, 5, (1,), "tanh", bias=False),
                TrainConfig(seeds=32, steps=3000))
    assert not pop.solved.any()
    assert pop.final_accuracy.max() <= 0.5


@pytest.mark.slow  # (stop "each" against "never": test_solving, default run)
def test_early_stop_and_solve_steps(shift5, tanh2_spec):
    pop = train(shift5, tanh2_spec, TrainConfig(seeds=8, steps=20000, chunk=500, stop="solved"))
    assert pop.steps_run < 20000  # stopped once all had solved
    assert pop.steps_run % 500 == 0
    full = train(shift5, tanh2_spec, TrainConfig(seeds=8, steps=pop.steps_run, stop="never"))
    np.testing.assert_array_equal(pop.solve_step, full.solve_step)


def test_same_seed_same_result_bit_for_bit(shift5, tanh2_spec):
    cfg = TrainConfig(seeds=8, steps=400, stop="never")  # (shared: one set of compilations)
    a, b = train(shift5, tanh2_spec, cfg), train(shift5, tanh2_spec, cfg)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.history_loss, b.history_loss)


def test_different_seeds_different_initial_weights(tanh2_spec):
    params = init_population(tanh2_spec, jax.numpy.arange(4))
    w = np.asarray(params[0]["w"])
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.allclose(w[i], w[j])


def test_a_network_does_not_depend_on_its_population(shift5, tanh2_spec):
    cfg = TrainConfig(seeds=8, seed=10, steps=400, stop="never")
    pop = train(shift5, tanh2_spec, cfg)
    alone = train(shift5, tanh2_spec, TrainConfig(seeds=1, seed=13, steps=400, stop="never"))
    # equal up to float drift: vectorisation changes the last bits, 400 steps amplify them
    for x, y in zip(jax.tree.leaves(pop.network(3)), jax.tree.leaves(alone.network(0)),
                    strict=True):
        np.testing.assert_allclose(x, y, rtol=5e-4, atol=1e-5)


def test_diverging_networks_are_marked_and_do_not_poison_others(shift5):
    # Plain SGD at lr 3 on a linear hidden layer: some seeds blow up to inf/NaN, others
    # solve. The blown-up ones must be marked and frozen at finite weights, and the
    # others must train exactly as they would alone.
    spec = NetSpec(5, 5, (2,), "linear")
    cfg = TrainConfig(optimizer="sgd", lr=3.0, seeds=8, steps=200, stop="never",
                      logit_scale=False)
    pop = train(shift5, spec, cfg)
    assert 0 < pop.diverged.sum() < 8
    for leaf in jax.tree.leaves(pop.params):
        assert np.isfinite(leaf).all()
    assert not pop.solved[pop.diverged].any()
    summary = pop.summary()
    assert summary["diverged"] == pop.diverged.sum()
    assert summary["final_loss"]["n"] == 8 - pop.diverged.sum()
    # NaN in one network must not reach the others: their losses stay finite all along
    # and they solve. (Their exact weights are not compared with a lone run: at this
    # learning rate the dynamics amplify last-bit differences of vectorisation.)
    assert np.isfinite(pop.history_loss[:, ~pop.diverged]).all()
    assert pop.solved[~pop.diverged].all()
    assert not np.isfinite(pop.history_loss[:, pop.diverged]).all()


@pytest.mark.slow  # 5 s; the minibatch path also runs in test_bad_input's train commands
def test_minibatch_with_frequencies_learns():
    task = tasks.Task("skewed", 5, 5, (0, 1, 2, 3), (1, 2, 3, 4), (8.0, 1.0, 1.0, 1.0))
    pop = train(task, NetSpec(5, 5, (2,)), TrainConfig(seeds=16, steps=3000, batch=2))
    assert pop.solved.mean() >= 0.8


@pytest.mark.slow  # (test_draw, test_modelfile and test_solving use snapshots by default)
def test_snapshots_hold_the_weights_of_their_step(shift5, tanh2_spec):
    pop = train(shift5, tanh2_spec, TrainConfig(seeds=3, steps=40, snapshots=(0, 7, 40),
                                                stop="never"))
    assert sorted(pop.snapshots) == [0, 7, 40]
    init = init_population(tanh2_spec, jax.numpy.arange(3))
    np.testing.assert_array_equal(pop.snapshots[0][0]["w"], np.asarray(init[0]["w"]))
    short = train(shift5, tanh2_spec, TrainConfig(seeds=3, steps=7, stop="never"))
    np.testing.assert_allclose(pop.snapshots[7][1]["w"], short.params[1]["w"], rtol=1e-6)
    np.testing.assert_array_equal(pop.snapshots[40][1]["w"], pop.params[1]["w"])


@pytest.mark.slow  # 3 s, to keep the default run under 3 minutes
def test_history_is_recorded_at_its_stride(shift5, tanh2_spec):
    pop = train(shift5, tanh2_spec, TrainConfig(seeds=2, steps=1000, log_every=50,
                                                stop="never"))
    np.testing.assert_array_equal(pop.history_step, np.arange(0, 1000, 50))
    assert pop.history_loss.shape == (20, 2)
    assert pop.history_max_weight.shape == (20, 2, 2)
    assert pop.history_loss[-1].max() < pop.history_loss[0].min()


# one in the default run; the other optax rules differ only in their update
@pytest.mark.slow  # (plain SGD trains in the divergence tests of the default run)
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "rmsprop"])
def test_other_optimizers_reduce_the_loss(shift5, tanh2_spec, optimizer):
    lr = {"sgd": 1.0, "momentum": 0.1, "nesterov": 0.1, "rmsprop": 0.01}[optimizer]
    pop = train(shift5, tanh2_spec, TrainConfig(optimizer=optimizer, lr=lr, seeds=8,
                                                steps=500, stop="never", schedule="cosine"))
    assert np.median(pop.final_loss) < 0.5 * np.median(pop.history_loss[0])


@pytest.mark.slow  # (the heads' losses and gradients are checked in the default run)
@pytest.mark.parametrize("head", ["tanh", "sigmoid"])
def test_squared_error_heads_train(shift5, head):
    pop = train(shift5, NetSpec(5, 5, (3,), "tanh", head=head),
                TrainConfig(seeds=8, steps=3000))
    assert pop.solved.mean() >= 0.5


@pytest.mark.slow  # 9 s per shape: with the slow tests (CI runs them on every push)
@pytest.mark.parametrize(("hidden", "logit_scale"), [
    ((2,), True), ((), False), ((), True), ((2,), False), ((3,), False), ((3,), True)])
def test_padding_gives_the_same_outcome_and_loss(hidden, logit_scale):
    # Shift on 9 symbols trained as itself, and inside a 16-symbol, 20-pair program. The
    # learned scale grows geometrically, so last-bit differences of the padded program's
    # sums grow faster along the run: a looser tolerance, the same outcome.
    task = tasks.shift(9)
    spec = NetSpec(9, 9, hidden)
    # 400 steps: two segments of one shape, so one training program per size
    cfg = TrainConfig(seeds=8, steps=400, stop="never", logit_scale=logit_scale)
    plain = train(task, spec, cfg)
    assert plain.solved.any()  # the comparison covers solved networks
    padded = train(task, spec, cfg, pad_to=(16, 16, 20))
    rtol = 1e-2 if logit_scale else 1e-4
    np.testing.assert_array_equal(plain.solved, padded.solved)
    np.testing.assert_allclose(plain.final_loss, padded.final_loss, rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(plain.history_loss, padded.history_loss, rtol=rtol, atol=1e-6)
    for a, b in zip(jax.tree.leaves(plain.params), jax.tree.leaves(padded.params), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=10 * rtol, atol=10 * rtol * np.abs(b).max())
    assert padded.spec == spec


def test_mask_holds_removed_connections_at_zero(shift5, tanh2_spec):
    mask = ({"w": np.ones((5, 2)), "b": np.ones(2)}, {"w": np.ones((2, 5)), "b": np.ones(5)})
    mask[0]["w"][:, 1] = 0  # unit 2 hears no input
    mask[0]["b"][1] = 0
    pop = train(shift5, tanh2_spec, TrainConfig(seeds=8, steps=400, stop="never"), mask=mask)
    assert (pop.params[0]["w"][:, :, 1] == 0).all() and (pop.params[0]["b"][:, 1] == 0).all()
    assert (pop.params[0]["w"][:, :, 0] != 0).all()
    free = train(shift5, tanh2_spec, TrainConfig(seeds=8, steps=400, stop="never"))
    assert not np.allclose(free.params[1]["w"], pop.params[1]["w"])


@pytest.mark.slow
def test_pairs_in_any_order_train_alike():
    # Inputs 0..m-1 in order take the trainer's slice path, any other order its gather
    # path; the pairs are the same, so the outcome must be too.
    ordered = tasks.permutation(7, seed=2)
    order = np.random.default_rng(0).permutation(ordered.n_pairs)
    shuffled = tasks.Task("shuffled", 7, 7, tuple(np.array(ordered.inputs)[order]),
                          tuple(np.array(ordered.targets)[order]))
    assert consecutive_inputs(task_arrays(ordered)) is not None
    assert consecutive_inputs(task_arrays(shuffled)) is None
    spec = NetSpec(7, 7, (3,))
    cfg = TrainConfig(seeds=6, steps=400, stop="never")
    a, b = train(ordered, spec, cfg), train(shuffled, spec, cfg)
    np.testing.assert_array_equal(a.solved, b.solved)
    np.testing.assert_allclose(a.history_loss, b.history_loss, rtol=1e-4, atol=1e-6)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-4)


def test_divergence_inside_a_history_block_restores_the_block_start(shift5):
    # With 50 steps per history block, a network that blows up mid-block is put back to
    # its weights at the block's start and stays there: finite, and frozen from then on.
    spec = NetSpec(5, 5, (2,), "linear")
    cfg = TrainConfig(optimizer="sgd", lr=3.0, seeds=8, steps=400, stop="never", log_every=50,
                      logit_scale=False)
    pop = train(shift5, spec, cfg)
    gone = pop.diverged
    assert 0 < gone.sum() < 8
    for leaf in jax.tree.leaves(pop.params):
        assert np.isfinite(leaf).all()
    np.testing.assert_array_equal(pop.history_loss[-1, gone], pop.history_loss[-2, gone])
    np.testing.assert_array_equal(pop.history_max_weight[-1, gone],
                                  pop.history_max_weight[-2, gone])
    assert not pop.solved[gone].any()
    assert pop.solved[~gone].all() and np.isfinite(pop.history_loss[:, ~gone]).all()


@pytest.mark.slow  # (passes are tested by the next test; this one adds the memory rule)
def test_a_population_too_large_for_memory_trains_in_passes(shift5, tanh2_spec, monkeypatch):
    cfg = TrainConfig(seeds=8, steps=400, stop="never")  # (shared: one set of compilations)
    whole = train(shift5, tanh2_spec, cfg)
    one = estimate_bytes(tanh2_spec, shift5.n_pairs, TrainConfig(seeds=1, steps=400))
    monkeypatch.setattr(memory, "available_bytes", lambda: int(3.5 * one / 0.7))
    assert memory.networks_per_pass(tanh2_spec, shift5.n_pairs, cfg) == 2
    passes = []
    parts = train(shift5, tanh2_spec, cfg, progress=lambda d, n: passes.append((d, n)))
    assert passes[-1] == (4 * 400, 4 * 400)  # progress runs over all four passes
    np.testing.assert_array_equal(parts.solve_step, whole.solve_step)
    np.testing.assert_array_equal(parts.network_seeds, whole.network_seeds)
    assert parts.history_loss.shape == whole.history_loss.shape
    for x, y in zip(jax.tree.leaves(parts.params), jax.tree.leaves(whole.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=5e-4, atol=1e-5)  # float drift, as above


def test_a_network_larger_than_memory_is_refused_with_its_size(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 30)
    task = tasks.shift(20000)
    wide = NetSpec(20000, 20000, (2000,))  # 80 million weights, 6 copies of each
    need = memory.estimate_bytes(wide, 20000, TrainConfig(seeds=1))
    with pytest.raises(ResourceError, match=rf"needs about {need / 2**30:.1f} GiB.*1\.0 GiB"):
        train(task, wide, TrainConfig(seeds=4, steps=10))
    # full-batch steps this large go in chunks of pairs: a few (chunk x n) arrays, and the
    # sampled softmax (pairs x compared outputs) ones, neither n x n
    for softmax in ("full", "sampled"):
        cfg = TrainConfig(seeds=4, steps=10, softmax=softmax)
        assert memory.estimate_bytes(NetSpec(20000, 20000, (2,)), 20000, cfg) < 2**30


def test_a_large_population_on_a_cpu_trains_in_passes_with_the_same_outcome(
        shift5, tanh2_spec, monkeypatch):
    cfg = TrainConfig(seeds=8, steps=400, stop="never")
    whole = train(shift5, tanh2_spec, cfg)
    per_net = 4 * shift5.n_pairs * shift5.n_out
    monkeypatch.setattr(memory, "CPU_PASS_BYTES", 2 * per_net)
    assert memory.cpu_pass_size(tanh2_spec, shift5.n_pairs, cfg) == 2
    assert memory.cpu_pass_size(tanh2_spec, shift5.n_pairs, cfg, devices=4) == 4
    group = memory.cpu_pass_size(tanh2_spec, shift5.n_pairs, cfg, len(jax.local_devices()))
    passes = []
    parts = train(shift5, tanh2_spec, cfg, progress=lambda d, n: passes.append((d, n)))
    assert group < 8 and passes[-1] == (8 // group * 400,) * 2
    np.testing.assert_array_equal(parts.solve_step, whole.solve_step)
    for x, y in zip(jax.tree.leaves(parts.params), jax.tree.leaves(whole.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=5e-4, atol=1e-5)


def test_compiled_programs_are_released_past_a_limit(shift5, tanh2_spec):
    # Each compiled program holds memory mappings for the life of the process; a long run
    # that kept them all crashed (trainer.release_compiled).
    from bottlenet.trainer import compiled_segments, release_compiled

    train(shift5, tanh2_spec, TrainConfig(seeds=2, steps=20))
    held = compiled_segments()
    assert held >= 1
    release_compiled(keep=held)
    assert compiled_segments() == held  # within the limit: kept for reuse
    release_compiled(keep=held - 1)
    assert compiled_segments() == 0
