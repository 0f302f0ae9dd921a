"""Every claim of the article as an experiment (a `Claim`: measure, judge, describe,
draw). `CLAIMS` lists them in order; `run_claim` gives one as the report shows it,
measuring it only when the results database does not hold its measurement yet.

The database keeps measurements only (typed numbers, JSON): verdicts, sentences and
pictures are made from them at every report, so a corrected rule or chart needs no new
measurement."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from bottlenet.errors import SpecError
from bottlenet.experiments import (
    basics,
    capacity_claims,
    comments,
    curves,
    dynamics,
    falsification,
    hello,
    weights,
)
from bottlenet.experiments.base import ARTICLE, Budget, ClaimResult
from bottlenet.experiments.claim import Claim
from bottlenet.experiments.context import Context

_ALL: list[Claim[Any]] = [
    basics.C1, basics.C2, basics.C3, capacity_claims.C4, capacity_claims.C5, dynamics.C6,
    capacity_claims.C7, weights.C8, dynamics.C9, curves.C10, dynamics.C11,
    capacity_claims.C12, falsification.C13, falsification.C14, dynamics.C15, hello.C16,
    weights.C17, comments.C18, comments.C19, comments.C20]
CLAIMS: dict[str, Claim[Any]] = {c.id: c for c in _ALL}


def select(only: str | None) -> list[str]:
    """'C4,C13' -> ['C4', 'C13'] in article order; None -> all."""
    if only is None:
        return list(CLAIMS)
    wanted = [c.strip().upper() for c in only.split(",")]
    unknown = [c for c in wanted if c not in CLAIMS]
    if unknown:
        raise SpecError(f"--only takes claims from {', '.join(CLAIMS)}, comma-separated; "
                        f"got {only!r}")
    return [c for c in CLAIMS if c in wanted]


def claim_key(claim: str, ctx: Context) -> str:
    """The database key of a claim's measurement: what it was measured with (budget,
    seed) and the version of its measurement (Claim.schema), nothing about its rule."""
    return f"{claim}|{ctx.budget.name}|seed {ctx.seed}|measurement {CLAIMS[claim].schema}"


def judge_claim(claim: str, stored: dict) -> ClaimResult:
    """A stored measurement ({"numbers", "seconds"}) as the report shows it."""
    return CLAIMS[claim].result(stored["numbers"], stored["seconds"])


def run_claim(claim: str, ctx: Context, reuse: bool = True) -> tuple[ClaimResult, bool]:
    """One claim as the report shows it, measured now or taken from the database.
    Returns it and whether its measurement came from the database."""
    key = claim_key(claim, ctx)
    stored = ctx.store.get_claim(key) if reuse else None
    cached = stored is not None
    if stored is None:
        stored = measure_claim(claim, ctx)
        ctx.store.put_claim(key, stored)
    return judge_claim(claim, stored), cached


def measure_claim(claim: str, ctx: Context) -> dict:
    """Run one claim's experiment: {"numbers": its measurement, "seconds": its time}, as
    the store keeps it. Through JSON once, so a fresh measurement and one read back from
    the database are the same (numpy scalars become plain numbers)."""
    from bottlenet.trainer import release_compiled

    start = time.perf_counter()
    try:
        numbers = CLAIMS[claim].measure(ctx)
    finally:
        release_compiled()  # a long run must not pile programs up (see release_compiled)
    stored = {"numbers": numbers, "seconds": round(time.perf_counter() - start, 2)}
    return json.loads(json.dumps(stored, default=_plain))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a claim's measurement")


__all__ = ["ARTICLE", "CLAIMS", "Budget", "Claim", "ClaimResult", "Context", "claim_key",
           "judge_claim", "measure_claim", "run_claim", "select"]
