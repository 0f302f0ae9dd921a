"""Frontier search, buckets, the results database and resuming."""

import sqlite3
import threading

import pytest

from bottlenet import capacity
from bottlenet.capacity import bucket, frontier_search, measure
from bottlenet.config import CapacityConfig
from bottlenet.errors import SpecError
from bottlenet.store import Store, StoreError, TrialRecord


def synthetic(frontier, trials=32):
    """Success falls from all to none past `frontier`; counts the calls per n."""
    calls = {}

    def rate_at(n):
        calls[n] = calls.get(n, 0) + 1
        return (trials if n <= frontier else 3), trials
    return rate_at, calls


@pytest.mark.parametrize("true", [2, 3, 4, 11, 30, 100, 257, 999])
def test_frontier_search_finds_the_right_n(true):
    rate_at, calls = synthetic(true)
    f = frontier_search(rate_at, 0.5, start=4, max_n=4096)
    assert f.n == true and not f.censored
    assert all(c == 1 for c in calls.values())  # no n is tried twice
    assert len(f.tested) <= 2 * 12 + 2  # geometric growth + bisection, not a scan
    assert [t[0] for t in f.tested] == list(calls)


def test_frontier_censored_at_max_and_zero_below_start():
    f = frontier_search(synthetic(10**6)[0], 0.5, max_n=100)
    assert f.n == 100 and f.censored
    assert frontier_search(lambda n: (0, 8), 0.5).n == 0


def test_threshold_is_respected():
    # 50% passes at threshold 0.5 but not at 0.6
    assert frontier_search(lambda n: (16 if n <= 20 else 0, 32), 0.5).n == 20
    assert frontier_search(lambda n: (16 if n <= 20 else 0, 32), 0.6).n == 0
    for bad in (0, -0.1, 1.5):
        with pytest.raises(SpecError):
            frontier_search(lambda n: (1, 1), bad)


def test_buckets_grow_by_at_most_half():
    sizes = [bucket(n) for n in range(2, 2000)]
    assert sizes[0] == 8 and len(set(sizes)) <= 30
    for n in range(2, 2000):
        assert n <= bucket(n) <= max(8, 1.5 * n)
        if n > 512:  # where trials are long, padding costs at most an eighth more symbols
            assert bucket(n) <= 1.125 * n and bucket(n) % 64 == 0
    assert [bucket(n) for n in (512, 513, 640, 641, 1024, 1025)] == [512, 576, 640, 704, 1024,
                                                                      1152]


def test_store_round_trip_and_foreign_files(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as s:
        s.put(TrialRecord("k", 5, 3, 4, (1, 2, -1, 9), 0.5), {"x": 1})
        assert s.get("k", 5) == TrialRecord("k", 5, 3, 4, (1, 2, -1, 9), 0.5)
        assert s.get("k", 6) is None
    foreign = tmp_path / "other.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    with pytest.raises(StoreError, match="not a bottlenet results database"):
        Store(foreign)
    assert foreign.read_bytes() == before
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not sqlite at all" * 10)
    with pytest.raises(StoreError):
        Store(text)
    assert text.read_text().startswith("hello")
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="version 99"):
        Store(db)


def test_two_writers_do_not_corrupt(tmp_path):
    db = tmp_path / "r.db"
    Store(db).close()

    def writer(tag):
        with Store(db) as s:
            for n in range(200):
                s.put(TrialRecord(tag, n, 1, 2, (0, -1), 0.1), {})

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Store(db) as s:
        assert s.count() == 400
        assert len(s.trials_for("a")) == 200
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class Killed(Exception):
    """Stands for Ctrl-C or kill -9 in the middle of a trial."""


def test_resume_after_interruption_runs_no_finished_trial_again(tmp_path, monkeypatch):
    cfg = CapacityConfig(hidden=2, steps=10, seeds=2)
    ran, kills = [], []

    def fake_trial(cfg, n, progress=None):
        ran.append(n)
        if len(ran) == 3 and not kills:
            kills.append(n)
            raise Killed  # the third trial never finishes
        ok = 2 if n <= 13 else 0
        return TrialRecord(cfg.key(), n, ok, 2, (1,) * ok + (-1,) * (2 - ok), 0.0)

    monkeypatch.setattr(capacity, "run_trial", fake_trial)
    with Store(tmp_path / "r.db") as store:
        with pytest.raises(Killed):
            measure(cfg, store, max_n=64)
        assert store.count() == 2  # n = 4, 8 finished and were kept
    first = list(ran)
    ran.clear()
    with Store(tmp_path / "r.db") as store:
        res = measure(cfg, store, max_n=64)
    assert res.frontier.n == 13
    assert not set(ran) & set(first[:2])  # finished trials came from the database
    assert res.ran == len(ran)
    ran.clear()
    with Store(tmp_path / "r.db") as store:
        again = measure(cfg, store, max_n=64)
    assert ran == [] and again.frontier == res.frontier


def test_real_trial_is_padded_and_stored(tmp_path):
    cfg = CapacityConfig(hidden=2, steps=1500, seeds=4)
    with Store(tmp_path / "r.db") as store:
        res = measure(cfg, store, max_n=6)
    assert res.frontier.n == 6 and res.frontier.censored
    assert res.buckets == (8,)  # n = 4 and 6 shared one padded size
    assert [t.n for t in res.trials] == [4, 6]
    assert all(t.successes >= 3 for t in res.trials)


def test_resolution_trades_precision_for_trials():
    exact = frontier_search(synthetic(300)[0], 0.5)
    coarse = frontier_search(synthetic(300)[0], 0.5, resolution=0.1)
    assert exact.n == 300
    assert 0.9 * 300 <= coarse.n <= 300
    assert len(coarse.tested) < len(exact.tested)


def test_sweep_records_round_trip_and_old_records_resume_without_the_logit_scale():
    from bottlenet.capacity import Sweep
    from bottlenet.config import CapacityConfig

    assert CapacityConfig(hidden=2).key() != CapacityConfig(hidden=2, logit_scale=False).key()
    plan = Sweep.grid([1, 2], ["tanh", "relu"], threshold=0.25, max_symbols=64, seeds=4)
    assert [(c.activation, c.hidden) for c in plan.configs] == [
        ("tanh", 1), ("tanh", 2), ("relu", 1), ("relu", 2)]
    assert Sweep.from_dict(plan.to_dict()) == plan
    old = plan.to_dict()
    for c in old["configs"]:
        del c["logit_scale"]  # recorded before the logit scale existed
    assert not any(c.logit_scale for c in Sweep.from_dict(old).configs)
    with pytest.raises(SpecError, match="threshold"):
        Sweep.grid([2], ["tanh"], threshold=1.5)
