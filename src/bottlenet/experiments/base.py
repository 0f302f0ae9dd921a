"""What every claim's experiment shares: budgets, the report's record of a claim, the
verdict words, and the typed numbers that several claims measure (a rate, quartiles)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np

from bottlenet.stats import wilson_interval

# The verdict words. "In some regimes": every part of the claim holds, but only in some
# of the regimes tried (optimizers, biases, sparsity levels...). "In part": some of the
# claim's parts hold and others were measured false.
HOLDS = "holds"
SOME_REGIMES = "holds in some regimes"
IN_PART = "holds in part"
FAILS = "does not hold"
# A verdict the numbers cannot give yet: comparisons whose intervals overlap could still
# turn it either way (more seeds, `--full`, may decide it).
UNDECIDED = "undecided at this budget"
VERDICTS = (HOLDS, SOME_REGIMES, IN_PART, FAILS, UNDECIDED)

PARTS_RULE = "all parts: holds; some: holds in part; none: does not hold"
REGIMES_RULE = ("in every regime tried: holds; in some: holds in some regimes; in none: "
                "does not hold")


def yes(flag) -> str:
    return "yes" if flag else "no"


def by_parts(parts) -> str:
    """The verdict of a claim made of parts: all hold, some do, none does."""
    parts = list(parts)
    return HOLDS if all(parts) else IN_PART if any(parts) else FAILS


def by_regimes(holds) -> str:
    """The verdict of a claim measured in several regimes: in all, in some, in none."""
    holds = list(holds)
    return HOLDS if all(holds) else SOME_REGIMES if any(holds) else FAILS


def by_parts_in_regimes(table: Mapping[str, Mapping[str, bool | None]]) -> str:
    """The verdict of a claim made of parts, each measured in several regimes (table:
    regime -> part -> held): every part in every regime; every part in some regime; some
    part somewhere; nothing."""
    regimes = [list(parts.values()) for parts in table.values()]
    if all(all(r) for r in regimes):
        return HOLDS
    if any(all(r) for r in regimes):
        return SOME_REGIMES
    return IN_PART if any(any(r) for r in regimes) else FAILS


PARTS_REGIMES_RULE = ("every part in every regime: holds; every part in some regime: holds "
                      "in some regimes; some part somewhere: holds in part; none: does not "
                      "hold")

# The network as the article trained it: plain weights (no learned logit scale), Adam at
# lr 0.05 (the regime earlier bottlenet versions defaulted to). Claims about the article's
# dynamics and costs are measured in it; C4 adds the default regime beside it.
ARTICLE_REGIME: dict[str, Any] = {"lr": 0.05, "logit_scale": False}

ARTICLE = ('Malte Skarupke, "Neural Networks Are Impressively Good At Compression", '
           "Probably Dance, 30 April 2016, and its comment thread")


@dataclass(frozen=True)
class Budget:
    """How hard to look: seeds per population and steps per run."""

    seeds: int
    steps: int
    capacity_seeds: int
    capacity_steps: int
    capacity_max_n: int
    timing_population: int  # networks per timed run (cost claims C5, C11)
    timing_steps: int
    name: str
    resolution: float = 0.0  # capacity frontiers to this relative precision (0: exact)

    @classmethod
    def quick(cls) -> Budget:
        return cls(16, 3000, 8, 4000, 256, 128, 200, "quick", 0.1)

    @classmethod
    def full(cls) -> Budget:
        # Frontiers to 1/16 of n: with 32 seeds a success rate is known to about +-0.17
        # near one half, and at k = 3 the rate falls from 22/32 to 8/32 between n = 640
        # and 768, so the n where it crosses one half is uncertain by about 5% anyway;
        # bisecting to one symbol cost about seven more 10-minute trials per frontier.
        return cls(64, 20000, 32, 20000, 1024, 256, 1000, "full", 1 / 16)

    @classmethod
    def tiny(cls) -> Budget:
        """For tests: enough to get a measured verdict, fast."""
        return cls(4, 400, 3, 400, 16, 8, 20, "tiny", 0.1)


@dataclass
class ClaimResult:
    """One claim as the report shows it: made at every report from the stored
    measurement (Claim.result), never stored itself."""

    id: str
    title: str
    quote: str  # the article's words (or the comment's)
    claim: str  # the claim in our words
    article_figure: str
    measured: str
    verdict: str
    rule: str  # the rule that turned the numbers into the verdict
    regime: dict
    numbers: dict = field(default_factory=dict)  # the measurement, and the verdict's parts
    pictures: list[tuple[str, str]] = field(default_factory=list)  # (caption, base64 PNG)
    notes: str = ""
    seconds: float = 0.0
    deciding: str = ""  # the numbers that decided the verdict, in one short line
    out_of_reach: str = ""  # regimes meant but not measured, and why

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    def to_dict(self) -> dict:
        """JSON-ready, pictures by caption only (the report's results.json)."""
        d = asdict(self)
        d["pictures"] = [c for c, _ in self.pictures]
        return d


# ---- typed numbers: what a claim's `measure` returns is a TypedDict built of these ----------
# JSON-ready on purpose (no tuples, no integer keys, no NaN where a verdict reads it): the
# store keeps exactly this, and judge/describe/draw read it back the same way.

class Measured(TypedDict):
    """What every claim's measurement holds: how it was measured (the regime: seeds,
    steps, optimizer...; free-form, shown with the numbers in the report)."""

    regime: dict[str, Any]


class Rate(TypedDict):
    """A share of seeds (rate_numbers)."""

    successes: int
    trials: int
    rate: float
    ci95: list[float]


class Quartiles(TypedDict):
    """Lower quartile, median and upper quartile (None where nothing was measured)."""

    q1: float | None
    median: float | None
    q3: float | None


def rate_text(successes: int, trials: int) -> str:
    lo, hi = wilson_interval(successes, trials)
    return f"{successes}/{trials} ({100 * successes / max(trials, 1):.0f}%, 95% CI " \
           f"{100 * lo:.0f}-{100 * hi:.0f}%)"


def rate_numbers(successes: int, trials: int) -> Rate:
    lo, hi = wilson_interval(successes, trials)
    return {"successes": int(successes), "trials": int(trials),
            "rate": successes / max(trials, 1), "ci95": [lo, hi]}


def quartiles(values) -> Quartiles:
    """Quartiles of the finite values (None without any: JSON has no NaN)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"q1": None, "median": None, "q3": None}
    return {"q1": float(np.percentile(v, 25)), "median": float(np.median(v)),
            "q3": float(np.percentile(v, 75))}


def median_or_none(values) -> float | None:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None
