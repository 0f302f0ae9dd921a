"""The capacity wall's instruments: the chunked and float64 checks agree with the trainer's
own rule, minibatch steps reach solutions the check confirms, float64 stays in its run,
and a search stopped by its budget says so."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bottlenet import capacity, construct, modelfile, tasks
from bottlenet.check import check_network, check_population
from bottlenet.config import CapacityConfig, TrainConfig
from bottlenet.errors import SpecError
from bottlenet.evaluation import evaluate, evaluate_chunked, solve_rtol, task_arrays
from bottlenet.spec import NetSpec
from bottlenet.store import Store, TrialRecord
from bottlenet.trainer import train


def _circle_with_ties(n: int):
    """The hand-made circle on shift n (every pair won by a wide margin), then: output 3
    a copy of output 5 (pair 4 exactly tied with output 3 - no win), output 7 a copy of
    output 9 with its bias 1 ulp lower (pair 8 leads by 1 ulp - no win), output 11 a copy
    of output 2 with its bias lowered by 4 x the tolerance (pair 1 wins)."""
    task = tasks.shift(n)
    c = construct.construct(task, 2, 0.9, 0.9)
    w1, b1 = (np.array(c.params[0][k]) for k in ("w", "b"))
    w2, b2 = (np.array(c.params[1][k]) for k in ("w", "b"))
    w2[:, 3], b2[3] = w2[:, 5], b2[5]
    # the logit of output 9 for pair 8 is about 33: one ulp of it, taken off the bias
    w2[:, 7], b2[7] = w2[:, 9], b2[9] - np.spacing(np.float32(33.0))
    size = float(np.max(np.abs(b2)) + 2.2 * np.max(np.abs(w2)))
    w2[:, 11], b2[11] = w2[:, 2], b2[2] - np.float32(4 * solve_rtol(np.float32) * size)
    return task, NetSpec(n, n, (2,)), ({"w": w1, "b": b1}, {"w": w2, "b": b2})


def test_chunked_and_float64_checks_equal_the_full_check_with_ties_and_ulp_leads():
    task, spec, params = _circle_with_ties(16)
    data = task_arrays(task)
    jparams = jax.tree.map(jnp.asarray, params)
    full = evaluate(spec, jparams, data)
    logits = np.asarray(full.logits)
    assert logits[4, 3] == logits[4, 5]  # the tie is exact
    assert 0 < logits[8, 9] - logits[8, 7] <= 2 * np.spacing(logits[8, 9])
    # lost: pairs 4 (tie) and 8 (1-2 ulps), and 2, 6 and 10, whose targets 3, 7 and 11
    # now carry another output's code; pair 1 beats its near copy 11 by 4 tolerances
    won = int(round(float(full.accuracy) * task.n_pairs))
    assert won == task.n_pairs - 5 and not bool(full.solved)
    for chunk in (1, 3, 4, 64):  # chunks that do and do not divide the 15 pairs
        part = evaluate_chunked(spec, jparams, data, chunk)
        assert bool(part.solved) == bool(full.solved)
        assert float(part.accuracy) == float(full.accuracy)
        np.testing.assert_allclose(float(part.loss), float(full.loss), rtol=1e-5)
    checked = check_network(spec, params, task, "float32")
    assert (checked.won, checked.pairs, checked.solved) == (won, task.n_pairs, False)
    assert checked.margin < 0 and checked.worst_pair in (2, 6, 10)
    # the circle itself: every check says solved
    c = construct.construct(task, 2, 0.9, 0.9)
    clean = jax.tree.map(jnp.asarray, c.params)
    assert bool(evaluate(spec, clean, data).solved)
    assert bool(evaluate_chunked(spec, clean, data, 4).solved)
    assert check_network(spec, c.params, task).solved


@functools.cache
def _nearest_cases() -> list:
    """(name, spec, params, task, dtype): networks whose pairs the nearest-code check
    settles by its bound, by more neighbours, or only with every output (made once)."""
    return list(_made_nearest_cases())


def _made_nearest_cases():
    rng = np.random.default_rng(0)
    task, spec, params = _circle_with_ties(16)
    yield "ties and 1-ulp leads", spec, params, task, "float32"
    for method in ("grid", "circle"):
        for dtype in ("float32", "float64"):
            t = tasks.shift(300)
            yield method, NetSpec(300, 300, (2,)), construct.unit_weights(
                t, 2, 0.9, method, dtype), t, dtype
    t = tasks.shift(12)  # a trained code
    pop = train(t, NetSpec(12, 12, (2,)), TrainConfig(steps=400, seeds=1, lr=0.05))
    yield "trained", pop.spec, pop.network(0), t, "float32"
    yield "one unit", NetSpec(12, 12, (1,)), (  # a k-d tree of one dimension (plus lift)
        {"w": rng.normal(size=(12, 1)), "b": rng.normal(size=1)},
        {"w": rng.normal(size=(1, 12)) * 3, "b": rng.normal(size=12)}), t, "float32"
    t = tasks.shift(200)  # random weights, biases that follow no code: the bound rarely helps
    yield "random", NetSpec(200, 200, (3,)), (
        {"w": rng.normal(size=(200, 3)), "b": rng.normal(size=3)},
        {"w": rng.normal(size=(3, 200)) * 3, "b": rng.normal(size=200) * 3}), t, "float64"
    yield "no biases", NetSpec(200, 200, (2,), bias=False), (
        {"w": rng.normal(size=(200, 2))}, {"w": rng.normal(size=(2, 200))}), t, "float32"
    w2 = rng.normal(size=(2, 200))
    w2[0, 7] = np.nan  # a diverged network: handed to the dense pass
    yield "diverged", NetSpec(200, 200, (2,), bias=False), (
        {"w": rng.normal(size=(200, 2))}, {"w": w2}), t, "float32"


# (the default run takes two candidate lists; one alone among the slow tests)
@pytest.mark.parametrize("neighbours", [pytest.param((2,), marks=pytest.mark.slow), (2, 5),
                                        (64,)])
def test_the_nearest_code_check_equals_the_dense_one(monkeypatch, neighbours):
    from bottlenet import check

    monkeypatch.setattr(check, "NEAREST_K", neighbours)
    monkeypatch.setattr(check, "NEAREST_ROWS", 7)  # blocks that do not divide the pairs
    for name, spec, params, task, dtype in _nearest_cases():
        dense = check_network(spec, params, task, dtype, method="dense")
        near = check_network(spec, params, task, dtype, method="nearest")
        assert (near.solved, near.won, near.pairs) == (dense.solved, dense.won,
                                                       dense.pairs), name
        np.testing.assert_allclose(near.margin, dense.margin, rtol=1e-9, atol=1e-15,
                                   err_msg=name)
        assert near.hull_share == dense.hull_share


def test_check_chooses_the_nearest_code_check_for_many_outputs():
    from bottlenet import check

    assert check.nearest_applies(NetSpec(5000, 5000, (2,)), ({}, {}))
    assert not check.nearest_applies(NetSpec(500, 500, (2,)), ({}, {}))
    assert not check.nearest_applies(NetSpec(5000, 5000, (2, 2)), ({}, {}, {}))
    assert not check.nearest_applies(NetSpec(5000, 5000, (16,)), ({}, {}))


@pytest.mark.slow  # 8 s; the exact check is tested against the dense one above
def test_construct_measures_its_limit_by_the_exact_check():
    from typer.testing import CliRunner

    from bottlenet.cli import app

    r = CliRunner().invoke(app, ["construct", "--hidden", "1", "--symbols", "50", "--limit",
                                 "--json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.stdout)["checked_limit"]
    # one unit's line envelope: the estimate says about 1,130
    assert 1000 < found["largest_solved"] < 1300
    assert found["smallest_failing"] == found["largest_solved"] + 1
    task = tasks.shift(found["smallest_failing"])
    params = construct.unit_weights(task, 1, 0.9, "grid", "float32")
    assert not check_network(NetSpec(task.n_in, task.n_out, (1,)), params, task).solved
    r = CliRunner().invoke(app, ["construct", "--hidden", "9", "--limit"])
    assert r.exit_code == 2 and "at most 8 hidden units" in r.stderr


def test_construct_limit_refuses_what_memory_cannot_hold(monkeypatch):
    from typer.testing import CliRunner

    from bottlenet.cli import app

    monkeypatch.setattr(construct, "host_bytes", lambda: 50 << 20)
    r = CliRunner().invoke(app, ["construct", "--method", "grid", "--symbols", "50",
                                 "--limit"])
    ceiling = construct.limit_ceiling(2, "grid")  # 1.5x the margin's estimate: ~10^6
    assert r.exit_code == 2 and f"{ceiling:,} symbols" in r.stderr and "GiB" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_check_holds_each_network_to_its_precisions_rule():
    # The circle at n = 5000 has margins of about 5e-7 of its logits' size: below
    # float32's 2^-20 (9.5e-7), far above float64's 2^-49.
    task = tasks.shift(5000)
    params = construct.unit_weights(task, 2, 0.9)
    spec = NetSpec(5000, 5000, (2,))
    as32 = check_network(spec, jax.tree.map(lambda a: a.astype(np.float32), params), task)
    as64 = check_network(spec, params, task, "float64")
    assert not as32.solved and as64.solved
    assert 1e-7 < as64.margin < solve_rtol(np.float32)


@pytest.mark.slow  # (the default run stays under 3 minutes)
def test_minibatch_steps_reach_solutions_that_the_check_confirms(tmp_path):
    pop = train(tasks.shift(12), NetSpec(12, 12, (2,)),
                TrainConfig(seeds=8, steps=6000, batch=6, lr=0.02))
    assert pop.solved.sum() >= 4
    assert np.isnan(pop.history_accuracy).sum() == 0  # rows come from the full checks
    path = modelfile.save(pop, tmp_path / "m.npz")
    result = check_population(modelfile.load(path))
    assert [c.solved for c in result.networks] == pop.solved.tolist()
    # every solve step is a check step (the check's schedule), and weights were kept
    stride = pop.config.check_stride(11)
    assert all(s % stride == 0 for s in pop.solve_step[pop.solved])


def test_a_minibatch_step_costs_less_than_a_full_step():
    # the program's size tells: the full step's logits are pairs x outputs
    from bottlenet import net as netlib
    from bottlenet.trainer.parametrize import with_logit_scale
    from bottlenet.trainer.step import State, make_optimizer, one_step

    n = 256
    spec, data = NetSpec(n, n, (3,)), task_arrays(tasks.shift(n))
    params = with_logit_scale(netlib.init(spec, jax.random.key(0)))
    cfg = TrainConfig()
    opt = make_optimizer(cfg)
    state = State(params, opt.init(params), jax.random.key(1), jnp.int32(-1),
                  jnp.float32(0), jnp.bool_(False), None, None)

    def flops(batch):
        step = jax.jit(lambda s: one_step(spec, opt, batch, None, False, data, s, 0)[0])
        return step.lower(state).compile().cost_analysis()["flops"]

    assert flops(32) * 8 < flops(None)


@pytest.mark.slow  # (the default run stays under 3 minutes)
def test_float64_training_stays_in_its_run():
    task = tasks.shift(6)
    pop64 = train(task, NetSpec(6, 6, (2,)), TrainConfig(seeds=2, steps=100, dtype="float64"))
    assert pop64.params[0]["w"].dtype == np.float64 and pop64.dtype == "float64"
    assert not jax.config.jax_enable_x64
    assert jnp.zeros(1).dtype == jnp.float32
    pop32 = train(task, NetSpec(6, 6, (2,)), TrainConfig(seeds=2, steps=100))
    assert pop32.params[0]["w"].dtype == np.float32 and pop32.dtype == "float32"
    # the same seeds start from the same weights: float64 differs only in precision
    np.testing.assert_allclose(pop64.history_max_weight[0], pop32.history_max_weight[0],
                               rtol=1e-7)


def test_model_files_carry_the_dtype_and_old_ones_load(tmp_path):
    import json
    import zipfile

    pop = train(tasks.shift(5), NetSpec(5, 5, (2,)), TrainConfig(seeds=2, steps=50,
                                                                 dtype="float64"))
    path = modelfile.save(pop, tmp_path / "m.npz")
    assert modelfile.load(path).dtype == "float64"

    def rewrite(change):
        with np.load(path) as f:
            files = dict(f)
        header = json.loads(files["bottlenet.json"].tobytes())
        change(header)
        files["bottlenet.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        out = tmp_path / "other.npz"
        np.savez(out, **files)
        return out

    def as_v1(h):
        h["version"] = 1
        del h["dtype"]
        del h["config"]["dtype"]

    assert modelfile.load(rewrite(as_v1)).dtype == "float32"
    with pytest.raises(modelfile.ModelFileError, match="version 3"):
        modelfile.load(rewrite(lambda h: h.update(version=3)))
    with pytest.raises(modelfile.ModelFileError):
        modelfile.load(rewrite(lambda h: h.update(dtype="float16")))
    assert zipfile.is_zipfile(path)


def test_capacity_keys_keep_their_old_form_at_the_defaults():
    old = CapacityConfig(hidden=2).key()
    assert "dtype" not in old and "batch" not in old
    assert CapacityConfig(hidden=2, dtype="float64").key() != old
    assert CapacityConfig(hidden=2, batch=64).key() != old
    assert CapacityConfig(hidden=2, batch=64).train_config(8).batch == 7
    with pytest.raises(SpecError, match="dtype"):
        CapacityConfig(hidden=2, dtype="float16")


def test_a_search_stopped_by_its_budget_is_reported_as_censored(tmp_path, monkeypatch):
    # trials pass up to n = 40 and take 10 s x (n / 4)^2: with a budget of 300 s the
    # search runs n = 4, 8 (10 + 40 s), then n = 16, estimated at 160 s (50 + 160 fits),
    # then n = 32, estimated at 640 s, does not fit: censored by budget at 32.
    ran = []

    def fake_trial(cfg, n, progress=None):
        ran.append(n)
        ok = 2 if n <= 40 else 0
        return TrialRecord(cfg.key(), n, ok, 2, (5,) * ok + (-1,) * (2 - ok),
                           10.0 * (n / 4) ** 2 * 5 / cfg.steps)

    monkeypatch.setattr(capacity, "run_trial", fake_trial)
    cfg = CapacityConfig(hidden=2, seeds=2, steps=5)
    starts = []
    with Store(tmp_path / "r.db") as store:
        result = capacity.measure(cfg, store, time_budget=300.0,
                                  on_start=lambda c, n, est: starts.append((n, est)))
    f = result.frontier
    assert ran == [4, 8, 16]
    assert (f.n, f.censored, f.stopped_by, f.stopped_at) == (16, True, "budget", 32)
    assert "censored by budget at n = 32" in f.describe()
    # no estimate before the first trial; n = 4 and 8 train in one padded size (8), so
    # the second trial is estimated at the first one's time, the third at 4x the second's
    assert starts[0] == (4, None)
    # every fake network runs the whole budget, so likely and longest agree
    assert [est for _, est in starts[1:]] == [(pytest.approx(10.0), pytest.approx(10.0)),
                                              (pytest.approx(160.0), pytest.approx(160.0))]
    assert result.summary()["stopped_by"] == "budget"


def test_a_search_without_a_ceiling_brackets_the_frontier():
    f = capacity.frontier_search(lambda n: (1, 1) if n <= 100 else (0, 1), max_n=10**7)
    assert (f.n, f.failed, f.censored, f.stopped_by) == (100, 101, False, "")
    stop_at = {}

    def rate(n):
        if n > 300:
            stop_at["n"] = n
            raise capacity.StopSearch("memory", n)
        return (1, 1)

    f = capacity.frontier_search(rate, max_n=10**7)
    assert (f.n, f.censored, f.stopped_by, f.stopped_at) == (256, True, "memory", 512)
    assert f.describe() == "256+ (censored by memory at n = 512)"


def test_capacity_cli_reports_the_budget_stop(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bottlenet.cli import app

    def fake_trial(cfg, n, progress=None):
        return TrialRecord(cfg.key(), n, 2, 2, (1, 1), 100.0 * n)

    monkeypatch.setattr(capacity, "run_trial", fake_trial)
    r = CliRunner().invoke(app, ["capacity", "--hidden", "2", "--seeds", "2", "--steps", "5",
                                 "--time-budget", "3000", "--db", str(tmp_path / "r.db")])
    assert r.exit_code == 0, r.output
    assert "censored by budget at n = 16" in " ".join(r.output.split())
    assert "starting: about" in r.output


def test_check_cli(tmp_path):
    from typer.testing import CliRunner

    from bottlenet.cli import app

    pop = train(tasks.shift(8), NetSpec(8, 8, (2,)), TrainConfig(seeds=3, steps=200))
    path = modelfile.save(pop, tmp_path / "m.npz")
    r = CliRunner().invoke(app, ["check", str(path), "--json"])
    assert r.exit_code == 0, r.output
    import json

    report = json.loads(r.stdout)
    assert report["solved"] == int(pop.solved.sum()) and report["total"] == 3
    assert [n["solved"] for n in report["networks"]] == pop.solved.tolist()
    r = CliRunner().invoke(app, ["check", str(path), "--net", "5"])
    assert r.exit_code == 2
    r = CliRunner().invoke(app, ["train", "--symbols", "8", "--dtype", "float16"])
    assert r.exit_code == 2 and "unknown dtype" in r.output
    r = CliRunner().invoke(app, ["train", "--symbols", "8", "--batch", "9"])
    assert r.exit_code == 2 and "larger than the task" in r.output


def test_hull_share_tells_a_circle_code_from_a_grid_code():
    from bottlenet.check import hull_share

    task = tasks.shift(100)
    circle = construct.construct(task, 2, 0.9, 0.9, "circle").params
    grid = construct.construct(task, 2, 0.9, 0.9, "grid").params
    assert hull_share(circle) == pytest.approx(99 / 100)  # output 0 is no one's target
    assert hull_share(grid) <= 0.06
    assert hull_share((circle[0],)) is None  # no hidden layer to speak of


def test_a_trial_estimate_scales_the_nearest_trial():
    # the nearest trial (n = 64, padded to 64) took 8 s and ran 100 of 1,000 steps: at
    # n = 128 a step costs 4x, so likely 32 s, and 320 s if it needs all 1,000 steps
    cfg = CapacityConfig(hidden=2, seeds=2, steps=1000)
    done = [TrialRecord(cfg.key(), 64, 2, 2, (80, 100), 8.0),
            TrialRecord(cfg.key(), 8, 2, 2, (10, 20), 1.0)]
    likely, longest = capacity.estimate_seconds(cfg, 128, done)
    assert (likely, longest) == (pytest.approx(32.0), pytest.approx(320.0))
    assert capacity.estimate_seconds(cfg, 128, []) is None
