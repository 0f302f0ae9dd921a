"""Sweeps past one machine: capacity trials and reproduce's claims as Ray tasks.

Imported only when a command gets --cluster; Ray is the optional extra `cluster`. The
driver (the command) alone reads and writes the results store: workers train and
return numbers, the driver stores each result as it comes back, so resume, reuse and the
store's guarantees are those of one machine. A worker that dies costs only its task,
which Ray runs again (`max_retries`); since only returned results are stored, nothing
is stored twice.

Capacity: every configuration's frontier search advances at once (capacity.
frontier_steps), each with the very trials it runs on one machine, so the frontiers
and the outcome of every seed are the same with and without a cluster.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bottlenet.errors import BottlenetError

RETRIES = 3  # runs of a task after its worker died


class ClusterError(BottlenetError):
    """Ray is missing, or the cluster cannot be reached."""


def _trial(cfg_dict: dict, n: int):
    """On a worker: one capacity trial, and where it ran."""
    from bottlenet.capacity import run_trial, versions
    from bottlenet.config import CapacityConfig

    return run_trial(CapacityConfig(**cfg_dict), n), versions(), _where()


def _claim(claim: str, budget, seed: int):
    """On a worker: one claim's experiment (its own capacity trials in a scratch store
    there), as the dict the driver stores."""
    from bottlenet.experiments import Context, measure_claim
    from bottlenet.store import Store

    with tempfile.TemporaryDirectory() as scratch, Store(f"{scratch}/claim.db") as store:
        return measure_claim(claim, Context(budget, store, seed)), _where()


def _where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Tally:
    """What the progress line shows: tasks waiting for an answer, finished, per worker."""

    slots: int
    pending: int = 0
    finished: int = 0
    per_worker: Counter = field(default_factory=Counter)

    def line(self) -> str:
        running = min(self.pending, self.slots)
        workers = ", ".join(f"{w} {c}" for w, c in sorted(self.per_worker.items()))
        return (f"{running} running, {self.pending - running} queued, {self.finished} "
                f"finished" + (f" (per worker: {workers})" if workers else ""))


class Cluster:
    """A connected Ray cluster: submit trials and claims, collect them as they end."""

    def __init__(self, ray, address: str):
        self.ray, self.address = ray, address
        resources = ray.cluster_resources()
        gpus = 1 if resources.get("GPU", 0) >= 1 else 0  # a GPU per task when there are
        self.slots = int(resources.get("GPU", 0)) if gpus else int(resources.get("CPU", 1))
        options = {"num_cpus": 1, "num_gpus": gpus, "max_retries": RETRIES}
        self.trial_task = ray.remote(**options)(_trial)
        self.claim_task = ray.remote(**options)(_claim)

    def wait_one(self, futures: list) -> Any:
        done, _ = self.ray.wait(futures, num_returns=1)
        return done[0]

    def get(self, future) -> Any:
        try:
            return self.ray.get(future)
        except self.ray.exceptions.RayTaskError as e:  # the task itself raised
            cause = getattr(e, "cause", None)
            if isinstance(cause, BottlenetError):  # bad input found on the worker
                raise cause from None
            raise ClusterError(f"a task failed on the cluster: {cause!r}"[:300]) from None
        except self.ray.exceptions.RayError as e:  # its worker or node was lost
            raise ClusterError(f"a task was lost on the cluster after {RETRIES} retries "
                               f"({type(e).__name__})") from None

    def cancel(self, futures) -> None:
        for f in futures:
            self.ray.cancel(f, force=True)

    def shutdown(self) -> None:
        self.ray.shutdown()


def connect(address: str, num_cpus: int | None = None) -> Cluster:
    """`local` starts Ray on this machine; `auto` joins the cluster running here (`ray
    start`); `ray://HOST:PORT` joins one through Ray Client."""
    if address not in ("local", "auto") and not address.startswith("ray://"):
        raise ClusterError(f"--cluster takes local, auto or ray://HOST:PORT, got {address!r}")
    if address.startswith("ray://"):
        _check_reachable(address)
    # Workers run the interpreter of the driver, not `uv run` again (Ray's uv hook would
    # rebuild the environment on every worker).
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        raise ClusterError("--cluster needs Ray: install the extra with "
                           "`uv sync --extra cluster`") from None
    kwargs: dict = {"include_dashboard": False, "log_to_driver": False,
                    "logging_level": logging.ERROR}
    if address == "local":
        kwargs["num_cpus"] = num_cpus
    else:
        kwargs["address"] = address
    try:
        with warnings.catch_warnings():  # Ray starts processes by fork + exec: safe here
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError, OSError) as e:
        where = "no Ray cluster runs here (start one with `ray start --head`, or use " \
            "--cluster local)" if address == "auto" else f"cannot join {address}"
        raise ClusterError(f"{where}: {' '.join(str(e).split())[:160]}") from None
    return Cluster(ray, address)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A quick TCP look, so an unreachable head fails in seconds, not after Ray's retries."""
    host, _, port = address.removeprefix("ray://").partition(":")
    try:
        with socket.create_connection((host, int(port or 10001)), timeout=timeout):
            pass
    except ValueError:
        raise ClusterError(f"--cluster: {address!r} is not ray://HOST:PORT") from None
    except OSError as e:
        raise ClusterError(f"cannot reach the Ray cluster at {address} "
                           f"({e.strerror or type(e).__name__})") from None


def sweep(cluster: Cluster, plan, store, on_config: Callable | None = None,
          on_trial: Callable | None = None, on_progress: Callable[[Tally], None] | None = None,
          resolution: float = 0.0) -> list:
    """capacity.sweep's work on a cluster: every configuration's search at once, trials
    from `store` when finished already, each new one stored as it comes back. Returns
    one CapacityResult per configuration, in the plan's order."""
    from dataclasses import asdict

    from bottlenet.capacity import (
        CapacityResult,
        curve_trials,
        frontier_steps,
        padded_size,
        trial_key,
    )
    from bottlenet.checks import SYMBOLS_MAX

    tally = Tally(cluster.slots)
    pending: dict = {}  # future -> (cfg, search, n)
    frontiers: dict = {}
    buckets: dict = {cfg: set() for cfg in plan.configs}
    ran: Counter = Counter()

    def advance(cfg, search, reply=None, first=False):
        """Feed the search its last answer; submit its next trial unless stored."""
        try:
            n = next(search) if first else search.send(reply)
            while (record := store.get(trial_key(cfg, n), n)) is not None:
                if on_trial:
                    on_trial(cfg, record, True)
                n = search.send((record.successes, record.trials))
        except StopIteration as done:
            frontiers[cfg] = done.value
            return
        pending[cluster.trial_task.remote(asdict(cfg), n)] = (cfg, search, n)

    try:
        for cfg in plan.configs:
            if on_config:
                on_config(cfg)
            advance(cfg, frontier_steps(plan.threshold, plan.start, plan.max_symbols or SYMBOLS_MAX,
                                        resolution=resolution), first=True)
        while pending:
            tally.pending = len(pending)
            if on_progress:
                on_progress(tally)
            future = cluster.wait_one(list(pending))
            cfg, search, n = pending.pop(future)
            record, versions, worker = cluster.get(future)
            store.put(record, versions)
            buckets[cfg].add(padded_size(cfg, n))
            ran[cfg] += 1
            tally.finished += 1
            tally.per_worker[worker] += 1
            if on_trial:
                on_trial(cfg, record, False)
            advance(cfg, search, (record.successes, record.trials))
    except BaseException:
        cluster.cancel(pending)
        raise
    return [CapacityResult(cfg, plan.threshold, frontiers[cfg], curve_trials(cfg, store),
                           tuple(sorted(buckets[cfg])), ran[cfg]) for cfg in plan.configs]


def claims(cluster: Cluster, todo: list[str], budget, seed: int,
           on_result: Callable[[str, dict], None],
           on_progress: Callable[[Tally], None] | None = None) -> None:
    """Run claims as tasks, all at once; `on_result(claim, data)` as each comes back."""
    tally = Tally(cluster.slots)
    pending = {cluster.claim_task.remote(c, budget, seed): c for c in todo}
    try:
        while pending:
            tally.pending = len(pending)
            if on_progress:
                on_progress(tally)
            future = cluster.wait_one(list(pending))
            claim = pending.pop(future)
            data, worker = cluster.get(future)
            tally.finished += 1
            tally.per_worker[worker] += 1
            on_result(claim, data)
    except BaseException:
        cluster.cancel(pending)
        raise
