"""Sweeps on a Ray cluster: the same trials and outcomes as on one machine, a dead worker
costs only its trial, and bad addresses or a missing Ray are one line and exit code 2.
The tests that start Ray (about 10 s each, then trials compile on every worker) run with
the slow tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bottlenet.capacity import Sweep, sweep
from bottlenet.cli import app
from bottlenet.store import Store

runner = CliRunner()
PLAN = Sweep.grid([1, 2], ["tanh"], max_symbols=16, seeds=4, steps=300)


def one_line_exit_2(r, message: str) -> None:
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize(("address", "message"), [
    ("somewhere", "--cluster takes local, auto or ray://HOST:PORT"),
    ("ray://127.0.0.1:1", "cannot reach the Ray cluster at ray://127.0.0.1:1"),
    ("ray://127.0.0.1:notaport", "is not ray://HOST:PORT"),
])
def test_bad_cluster_address_is_one_line(tmp_path, address, message, ray_installed):
    r = runner.invoke(app, ["capacity", "--hidden", "2", "--max-symbols", "4", "--db",
                            str(tmp_path / "r.db"), "--cluster", address])
    one_line_exit_2(r, message)


def test_missing_ray_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    r = runner.invoke(app, ["reproduce", "--only", "C1", "--db", str(tmp_path / "r.db"),
                            "--out", str(tmp_path / "rep"), "--cluster", "local"])
    one_line_exit_2(r, "uv sync --extra cluster")


@pytest.mark.slow  # a real sweep in a fresh process: 10 s
def test_without_cluster_ray_is_never_imported(tmp_path):
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom bottlenet.cli import app\n"
            "r = CliRunner().invoke(app, ['capacity', '--hidden', '1', '--seeds', '2', "
            "'--steps', '10', '--max-symbols', '4', '--db', sys.argv[1]])\n"
            "assert r.exit_code == 0, r.output\nprint('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.db")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow  # before the module's cluster starts: the command starts and stops its own
def test_reproduce_runs_claims_on_a_local_cluster(tmp_path, ray_installed):
    args = ["reproduce", "--only", "C1,C10", "--db", str(tmp_path / "r.db"), "--out",
            str(tmp_path / "rep"), "--cluster", "local"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert r.stderr.count("on the cluster") == 2 and "C10" in r.stdout
    assert (tmp_path / "rep" / "index.html").exists()
    r = runner.invoke(app, args)  # stored by the driver: the second run reuses both
    assert r.exit_code == 0 and "on the cluster" not in r.stderr
    assert r.stderr.count("from database") == 2


@pytest.fixture(scope="module")
def local_cluster():
    from conftest import needs

    needs("ray", "cluster-tests")
    from bottlenet import cluster

    c = cluster.connect("local", num_cpus=2)
    yield c
    c.shutdown()


def _trials(store, results):
    return {(r.config.label(), t.n): (t.successes, t.solve_steps)
            for r in results for t in store.trials_for(r.config.key())}


@pytest.mark.slow
def test_cluster_finds_the_same_trials_and_outcomes(tmp_path, local_cluster):
    from bottlenet import cluster

    with Store(tmp_path / "one.db") as one, Store(tmp_path / "many.db") as many:
        _, alone = sweep(PLAN, one)
        together = cluster.sweep(local_cluster, PLAN, many)
        assert [r.frontier for r in together] == [r.frontier for r in alone]
        assert _trials(many, together) == _trials(one, alone)
        # everything was stored by the driver, once
        assert many.count() == one.count() == sum(len(r.frontier.tested) for r in alone)


def _dies_once(cfg_dict, n):
    """A trial whose worker process dies the first time it runs (the marker file says)."""
    from bottlenet.cluster import _trial

    marker = Path(os.environ["BOTTLENET_TEST_MARKER"])
    if n == 8 and marker.exists():
        marker.unlink()
        os._exit(1)
    return _trial(cfg_dict, n)


@pytest.mark.slow
def test_a_dead_worker_costs_only_its_trial(tmp_path, local_cluster, monkeypatch):
    import ray
    from ray import cloudpickle

    from bottlenet import cluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "die"
    marker.write_text("once")
    monkeypatch.setattr(local_cluster, "trial_task", ray.remote(
        max_retries=cluster.RETRIES, num_cpus=1,
        runtime_env={"env_vars": {"BOTTLENET_TEST_MARKER": str(marker)}})(_dies_once))
    plan = Sweep.grid([2], ["tanh"], max_symbols=16, seeds=4, steps=300)
    with Store(tmp_path / "r.db") as store:
        (result,) = cluster.sweep(local_cluster, plan, store)
        assert not marker.exists()  # the worker did die on n = 8
        assert 8 in [n for n, _, _ in result.frontier.tested]
        assert store.count() == len(result.frontier.tested)  # retried, stored once
