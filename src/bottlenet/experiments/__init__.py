"""Every claim of the article as an experiment: measured numbers, the article's figure,
a verdict from a rule written in the code, and pictures. `CLAIMS` lists them in order;
`run_claim` runs one, reusing a finished result from the results database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict

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
from bottlenet.experiments.base import (
    ARTICLE,
    RULES_VERSION,
    Budget,
    ClaimResult,
)
from bottlenet.experiments.context import Context
from bottlenet.experiments.texts import TEXTS

CLAIMS: dict[str, Callable[[Context], ClaimResult]] = {
    "C1": basics.c1_direct,
    "C2": basics.c2_one_unit,
    "C3": basics.c3_two_units,
    "C4": capacity_claims.c4_capacity,
    "C5": capacity_claims.c5_cost,
    "C6": dynamics.c6_heads,
    "C7": capacity_claims.c7_permutations,
    "C8": weights.c8_weak,
    "C9": dynamics.c9_speed,
    "C10": curves.c10_normcdf,
    "C11": dynamics.c11_cost,
    "C12": capacity_claims.c12_relu,
    "C13": falsification.c13_trample,
    "C14": falsification.c14_sparsity,
    "C15": dynamics.c15_depth,
    "C16": hello.c16_hello,
    "C17": weights.c17_bits,
    "C18": comments.c18_sinh,
    "C19": comments.c19_hard_zeros,
    "C20": comments.c20_binary,
}


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
    from bottlenet import __version__

    return (f"{claim}|{ctx.budget.name}|seed {ctx.seed}|bottlenet {__version__}"
            f"|rules {RULES_VERSION}")


def run_claim(claim: str, ctx: Context, reuse: bool = True) -> tuple[ClaimResult, bool]:
    """Run one claim's experiment, or take its finished result from the database.
    Returns the result and whether it came from the database."""
    key = claim_key(claim, ctx)
    if reuse:
        cached = ctx.store.get_claim(key)
        if cached is not None:
            # The words are data: a stored result is shown with today's, so a corrected
            # sentence needs no new measurement.
            return ClaimResult.from_dict({**cached, **asdict(TEXTS[claim])}), True
    data = measure_claim(claim, ctx)
    ctx.store.put_claim(key, data)
    return ClaimResult.from_dict(data), False


def measure_claim(claim: str, ctx: Context) -> dict:
    """Run one claim's experiment; its result as plain JSON data (what the store keeps).
    Through JSON once, so a fresh result and one read back from the database are equal
    (integer keys become strings, numpy scalars plain numbers)."""
    from bottlenet.trainer import release_compiled

    start = time.perf_counter()
    try:
        result = CLAIMS[claim](ctx)
    finally:
        release_compiled()  # a long run must not pile programs up (see release_compiled)
    result.seconds = round(time.perf_counter() - start, 2)
    return json.loads(json.dumps(result.to_dict(), default=_plain))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a claim result")


__all__ = ["ARTICLE", "CLAIMS", "Budget", "ClaimResult", "Context", "run_claim", "select"]
