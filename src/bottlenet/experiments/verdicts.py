"""Verdict rules as pure functions of measured numbers, each with its English statement
built from the same thresholds (so the report cannot say one rule while the code applies
another); tests/test_verdicts.py feeds each rule hand-made numbers on both sides of every
threshold. Each claim's `judge` (experiments/claim.py) reads its stored measurement and
calls one of these at every report, so a corrected rule needs no new measurement.

Numbers come in as the measurements hold them (JSON-ready dicts and lists, the claims'
TypedDicts), or rearranged by the claim's judge (a table by regime, say)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any, NamedTuple

from bottlenet.experiments.base import (
    FAILS,
    HOLDS,
    IN_PART,
    PARTS_REGIMES_RULE,
    PARTS_RULE,
    REGIMES_RULE,
    SOME_REGIMES,
    UNDECIDED,
    by_parts,
    by_parts_in_regimes,
    by_regimes,
)
from bottlenet.stats import median_interval, wilson_interval


@dataclass(frozen=True)
class Decision:
    verdict: str
    parts: dict[str, dict[str, bool | None]]  # regime -> part -> held (None: undecided)
    deciding: str  # the numbers that decided it, in one short line
    rule: str


def _yes(flag: bool | None) -> str:
    return "undecided" if flag is None else "yes" if flag else "no"


def _held(parts: Mapping[str, Mapping[str, bool | None]]) -> str:
    """'sgd k=2: sigmoid slow yes, ReLU fastest no; ...' for the deciding line."""
    return "; ".join(f"{regime}: " + ", ".join(f"{p} {_yes(v)}" for p, v in row.items())
                     for regime, row in parts.items())


# ---- rates against thresholds: decided, or undecided at this budget ------------------------

def rate_at_least(successes: int, trials: int, threshold: float) -> bool | None:
    """Whether a share of seeds is at least `threshold`: yes when its Wilson 95% interval
    lies at or above it, no when it lies below, None (undecided at this budget) when it
    straddles it."""
    lo, hi = wilson_interval(successes, trials)
    if lo >= threshold:
        return True
    if hi < threshold:
        return False
    return None


def difference_at_least(a: tuple[int, int], b: tuple[int, int], gap: float) -> bool | None:
    """Whether share a (successes, trials) exceeds share b by at least `gap`: decided when
    the 95% interval of the difference (Newcombe's, from the two Wilson intervals) lies
    wholly at or above `gap` (yes) or below it (no); None when it straddles `gap`."""
    pa, pb = a[0] / max(a[1], 1), b[0] / max(b[1], 1)
    (la, ua), (lb, ub) = wilson_interval(*a), wilson_interval(*b)
    d = pa - pb
    lo = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    hi = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    if lo >= gap:
        return True
    if hi < gap:
        return False
    return None


def _or3(a: bool | None, b: bool | None) -> bool | None:
    """a or b, where None is "undecided" (Kleene's logic)."""
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _and3(a: bool | None, b: bool | None) -> bool | None:
    """a and b, where None is "undecided" (Kleene's logic)."""
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _negate(flag: bool | None) -> bool | None:
    """not flag, where None is "undecided"."""
    return None if flag is None else not flag


def _positive_difference(a: tuple[int, int], b: tuple[int, int]) -> bool | None:
    """Whether share a surely exceeds share b (True), b surely exceeds a (False), or
    neither can be told (None), by the interval of their difference."""
    if difference_at_least(a, b, 1e-12):
        return True
    if difference_at_least(b, a, 1e-12):
        return False
    return None


def _counts(row: dict) -> tuple[int, int]:
    """(successes, trials) of a rate_numbers dict."""
    return int(row["successes"]), int(row["trials"])


Parts = dict[str, dict[str, bool | None]]


def settle(judge: Callable[[dict], tuple[str, Parts]], flags: Mapping[Any, bool | None]
           ) -> tuple[str, Parts]:
    """judge(flags, each decided) -> (verdict, parts), over every way the undecided flags
    (None) could turn out: a verdict, or a part, that comes out the same every way is
    decided; otherwise it is UNDECIDED (a part: None)."""
    open_ = [k for k, v in flags.items() if v is None]
    verdicts: set[str] = set()
    merged: Parts | None = None
    for combo in product((True, False), repeat=len(open_)):
        verdict, parts = judge({**flags, **dict(zip(open_, combo, strict=True))})
        verdicts.add(verdict)
        merged = parts if merged is None else {
            r: {p: v if merged[r][p] == v else None for p, v in row.items()}
            for r, row in parts.items()}
    assert merged is not None
    return (verdicts.pop() if len(verdicts) == 1 else UNDECIDED), merged


STRADDLE = ("; a share whose 95% interval straddles its threshold is undecided, and so is "
            "the verdict when such shares could turn it either way")


# ---- C1-C3: what tiny networks learn on five symbols ----------------------------------------

LEARNS = 0.9  # share of seeds that must solve for "learns it"

C1_RULE = f"holds if at least {LEARNS:.0%} of seeds solve within the budget" + STRADDLE


def c1_verdict(solved: int, networks: int) -> Decision:
    verdict, parts = settle(
        lambda f: (HOLDS if f["learns"] else FAILS, {"all": {"learns": f["learns"]}}),
        {"learns": rate_at_least(solved, networks, LEARNS)})
    return Decision(verdict, parts, f"{solved}/{networks} solved (>= {LEARNS:.0%} needed)",
                    C1_RULE)


C2_RULE = ("the claim holds in a regime (without biases, with biases) if no seed solves "
           "there; " + REGIMES_RULE)


def c2_verdict(solved_without_bias: int, solved_with_bias: int, networks: int) -> Decision:
    held = {"without biases": solved_without_bias == 0, "with biases": solved_with_bias == 0}
    return Decision(by_regimes(held.values()), {r: {"cannot learn": h} for r, h in held.items()},
                    f"solved: {solved_without_bias}/{networks} without biases, "
                    f"{solved_with_bias}/{networks} with biases", C2_RULE)


C3_WEIGHTS = (9.0, 26.0)  # the article's largest weights: input->hidden, hidden->output
C3_FACTOR = 1.5  # "near": within this factor

C3_RULE = (f"holds if >= {LEARNS:.0%} of seeds solve and, in every regime tried, the median "
           f"largest weights lie within a factor {C3_FACTOR:g} of {C3_WEIGHTS[0]:g} and "
           f"{C3_WEIGHTS[1]:g}; holds in part if they solve but the weights match the "
           "article's in some or none of the regimes (the regimes that match are listed in "
           "the numbers); does not hold if they do not solve" + STRADDLE)


def c3_near(weights: dict) -> bool:
    """A regime's median largest weights ({"max_w_input_hidden", "max_w_hidden_output"},
    None when no network solved) within C3_FACTOR of the article's."""
    got = (weights["max_w_input_hidden"], weights["max_w_hidden_output"])
    return all(g is not None and g > 0 and abs(math.log(g / want)) < math.log(C3_FACTOR)
               for g, want in zip(got, C3_WEIGHTS, strict=True))


def c3_verdict(solved: int, networks: int, regimes: dict[str, dict]) -> Decision:
    near = {r: c3_near(w) for r, w in regimes.items()}

    def judge(f):
        learns = f["learns"]
        return (by_parts([learns, learns and all(near.values())]),
                {r: {"learns": learns, "weights near": n} for r, n in near.items()})

    verdict, parts = settle(judge, {"learns": rate_at_least(solved, networks, LEARNS)})
    return Decision(verdict, parts,
                    f"{solved}/{networks} solved; weights near {C3_WEIGHTS[0]:g} and "
                    f"{C3_WEIGHTS[1]:g} in {sum(near.values())} of {len(near)} regimes", C3_RULE)


# ---- C4, C5, C7, C12: capacity and cost ---------------------------------------------------

C4_ARTICLE = {2: 11, 3: 30, 4: 100}  # k -> the article's capacity (k = 4: "more than")
C4_FACTOR = 1.5  # "about": within this factor (the k = 4 figure is a lower bound)

C4_RULE = (f"frontier = largest n solved by >= 50% of seeds; as the seeds tell it, it lies "
           f"between the largest n tested whose share surely reaches 50% and the smallest "
           f"n surely below (Wilson 95% intervals). A regime reproduces the article if k=2 "
           f"and k=3 are within a factor {C4_FACTOR:g} of {C4_ARTICLE[2]} and "
           f"{C4_ARTICLE[3]} and k=4 reaches {C4_ARTICLE[4]}; where the bracket straddles "
           f"one of these bounds, undecided. " + REGIMES_RULE + "; " + "a verdict that "
           "undecided regimes could still turn either way is 'undecided at this budget'")


class Bracket(NamedTuple):
    """A capacity frontier with its uncertainty: `n` as the search found it (the 50%
    crossing), between `low` (the largest n tested whose share of seeds surely reaches
    the threshold: its Wilson interval lies above; 0 if none) and `high` (the smallest n
    tested whose share surely falls below, less one; infinite if none: censored)."""

    n: int
    low: int
    high: float


def bracket(n: int, tested, threshold: float = 0.5) -> Bracket:
    """The Bracket of a frontier at n from its trials `tested`: (n, successes, seeds)."""
    passing = [m for m, s, t in tested if rate_at_least(s, t, threshold) is True]
    failing = [m for m, s, t in tested if rate_at_least(s, t, threshold) is False]
    low = min(max(passing, default=0), n)
    high = max(min(failing, default=math.inf) - 1, n)
    return Bracket(n, low, high)


def _within(low: float, high: float, lo: float, hi: float) -> bool | None:
    """Whether a number known to lie in [low, high] lies in [lo, hi]: yes when all of
    [low, high] does, no when none of it does, None when it straddles a bound."""
    if lo <= low and high <= hi:
        return True
    if high < lo or low > hi:
        return False
    return None


def c4_reproduces(frontiers: dict[int, Bracket]) -> bool | None:
    """A regime's frontiers (k -> Bracket) against the article's figures (None: the
    brackets straddle a bound)."""
    held: bool | None = True
    for k, a in C4_ARTICLE.items():
        b = frontiers[k]
        held = _and3(held, _within(b.low, b.high, a / C4_FACTOR, a * C4_FACTOR) if k < 4
                     else _within(b.low, b.high, a, math.inf))
    return held


def c4_verdict(frontiers: dict[str, dict[int, Bracket]]) -> Decision:
    """frontiers: regime -> k -> Bracket."""
    held = {r: c4_reproduces(f) for r, f in frontiers.items()}
    verdict, parts = settle(
        lambda f: (by_regimes(f.values()), {r: {"reproduces": h} for r, h in f.items()}),
        held)
    return Decision(verdict, parts, "frontiers k=1..4 (as the article's?): " + "; ".join(
        f"{r} " + "/".join(str(f[k].n) for k in sorted(f)) + f" ({_yes(held[r])})"
        for r, f in frontiers.items()), C4_RULE)


C5_COST_SLOPE = (0.6, 1.4)  # log-log slope of time per example against connections
C5_CAPACITY_SLOPE = 1.2  # log-log slope of frontier against k above this: super-linear

C5_RULE = (f"cost part holds if the log-log slope of time per example against connections "
           f"lies in {C5_COST_SLOPE[0]:g}-{C5_COST_SLOPE[1]:g}; capacity part holds if the "
           f"log-log slope of frontier against k exceeds {C5_CAPACITY_SLOPE:g}; "
           + PARTS_RULE)


def c5_verdict(cost_slope: float, capacity_slope: float) -> Decision:
    linear = C5_COST_SLOPE[0] <= cost_slope <= C5_COST_SLOPE[1]
    superlinear = capacity_slope > C5_CAPACITY_SLOPE
    return Decision(by_parts([linear, superlinear]),
                    {"all": {"cost linear": linear, "capacity super-linear": superlinear}},
                    f"cost slope {cost_slope:.2f} ({C5_COST_SLOPE[0]:g}-{C5_COST_SLOPE[1]:g} "
                    f"needed), capacity slope {capacity_slope:.2f} (> {C5_CAPACITY_SLOPE:g} "
                    "needed)", C5_RULE)


C7_RATIO = (0.75, 1.34)  # a mapping's frontier over the shift's: "the same"

C7_RULE = (f"holds if the permutation and identity frontiers lie within "
           f"{C7_RATIO[0]:g}-{C7_RATIO[1]:g}x the shift's; each frontier lies in its bracket "
           "(see C4), and a ratio whose range from the brackets straddles a bound is "
           "undecided, and so is the verdict when such a ratio could turn it")


def c7_ratios(frontiers: dict[str, Bracket]) -> dict[str, float]:
    """Each mapping's frontier over the shift's."""
    return {m: b.n / max(frontiers["shift"].n, 1) for m, b in frontiers.items()}


def c7_verdict(frontiers: dict[str, Bracket]) -> Decision:
    """frontiers: mapping ("shift", "permutation", "identity") -> its Bracket."""
    shift = frontiers["shift"]
    ratios = c7_ratios(frontiers)
    same = {m: _within(b.low / max(shift.high, 1), b.high / max(shift.low, 1), *C7_RATIO)
            for m, b in frontiers.items() if m != "shift"}
    verdict, parts = settle(
        lambda f: (HOLDS if all(f.values()) else FAILS, {"all": dict(f)}), same)
    return Decision(verdict, parts,
                    "frontier / shift's: " + ", ".join(f"{m} {r:.2f}" for m, r in ratios.items())
                    + f" ({C7_RATIO[0]:g}-{C7_RATIO[1]:g} needed)", C7_RULE)


C12_SOLVES = 0.5  # share of seeds for "k units suffice"

C12_RULE = (f"a regime reproduces the claim if >= {C12_SOLVES:.0%} of seeds solve with tanh "
            "k=2 and relu k=4 but not relu k=2 or 3. Holds if every regime tried reproduces "
            "it; in some regimes if some do; in part if none does but ReLU at least fails "
            "where tanh succeeds at k=2; does not hold otherwise" + STRADDLE)
C12_USED = (("tanh", 2), ("relu", 2), ("relu", 3), ("relu", 4))


def c12_verdict(rates: dict[str, dict[tuple[str, int], dict]]) -> Decision:
    """rates: regime -> (activation, k) -> {"successes", "trials"} (rate_numbers)."""
    def judge(ok):
        reproduce = {r: ok[r, "tanh", 2] and not ok[r, "relu", 2] and not ok[r, "relu", 3]
                     and ok[r, "relu", 4] for r in rates}
        worse = {r: ok[r, "tanh", 2] and not ok[r, "relu", 2] for r in rates}
        verdict = (by_regimes(reproduce.values()) if any(reproduce.values()) else
                   IN_PART if any(worse.values()) else FAILS)
        return verdict, {r: {"reproduces": reproduce[r], "relu worse at k=2": worse[r]}
                         for r in rates}

    verdict, parts = settle(judge, {
        (r, a, k): rate_at_least(row[a, k]["successes"], row[a, k]["trials"], C12_SOLVES)
        for r, row in rates.items() for a, k in C12_USED})

    def count(part: str) -> str:
        yes = sum(row[part] is True for row in parts.values())
        open_ = sum(row[part] is None for row in parts.values())
        return f"{yes}" + (f" ({open_} undecided)" if open_ else "")

    return Decision(verdict, parts,
                    f"regimes reproducing it: {count('reproduces')} of {len(rates)}; ReLU "
                    f"worse at k=2 in {count('relu worse at k=2')}", C12_RULE)


# ---- C6: softmax alone explodes, tanh alone stagnates, both work ---------------------------

C6_EXPLODE = 2.0  # the linear network's largest weight above this times tanh+softmax's
C6_STAGNATE = 0.2  # tanh-output solve rate this much below tanh+softmax's
C6_WORKS = 0.9  # tanh+softmax solve rate

C6_RULE = (f"per regime, three parts: 'explode' if the linear network's largest weight "
           f"ends > {C6_EXPLODE:g}x the tanh+softmax one's and grows faster over the second "
           f"half, or any diverges; 'stagnate' if tanh-output networks solve at a rate "
           f">= {C6_STAGNATE * 100:g} points below tanh+softmax; 'work' if tanh+softmax "
           f"solves >= {C6_WORKS:.0%}. " + PARTS_REGIMES_RULE + STRADDLE)


def c6_parts(stats: Mapping[str, Mapping[str, Any]]) -> dict[str, bool | None]:
    """One regime. stats: design -> {"max_weight_end", "growth_second_half", "diverged",
    "solved": rate_numbers} for "softmax, linear hidden", "tanh hidden, tanh output" and
    "tanh hidden, softmax"."""
    lin, tanh_only, both = (stats[k] for k in ("softmax, linear hidden",
                                               "tanh hidden, tanh output",
                                               "tanh hidden, softmax"))
    return {
        "explode": bool((lin["max_weight_end"] > C6_EXPLODE * both["max_weight_end"]
                         and lin["growth_second_half"] > both["growth_second_half"])
                        or lin["diverged"] > 0),
        "stagnate": difference_at_least(_counts(both["solved"]), _counts(tanh_only["solved"]),
                                        C6_STAGNATE),
        "work": rate_at_least(*_counts(both["solved"]), C6_WORKS)}


def c6_verdict(stats: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Decision:
    """stats: regime -> design -> numbers (see c6_parts)."""
    return _parts_in_regimes({regime: c6_parts(s) for regime, s in stats.items()}, C6_RULE)


# ---- C11, C15: costs of activations, and depth --------------------------------------------

C11_CHEAPER = 0.9  # ReLU's time per step below this times the cheaper of tanh and sigmoid

C11_RULE = (f"holds if ReLU's time per step is below {C11_CHEAPER:.0%} of the cheaper of tanh "
            "and sigmoid, measured in the same run (best of 3)")


def c11_verdict(seconds_per_step: dict[str, float]) -> Decision:
    s = seconds_per_step
    cheaper = s["relu"] < C11_CHEAPER * min(s["tanh"], s["sigmoid"])
    return Decision(HOLDS if cheaper else FAILS, {"all": {"ReLU cheaper": cheaper}},
                    "ms per step: " + ", ".join(f"{a} {1e3 * v:.2f}" for a, v in s.items()),
                    C11_RULE)


C15_TANH_CENTRE = 0.15  # tanh layer means within this of 0
C15_SIGMOID_CENTRE = (0.5, 0.2, 0.3)  # sigmoid's within 0.2 of 0.5 and above 0.3
C15_DRIFT = 0.05  # sigmoid's last-layer mean rises by more than this from 1 to 3 layers

C15_RULE = (f"three parts: centring (tanh layer means at initialisation within "
            f"{C15_TANH_CENTRE:g} of 0, sigmoid's within {C15_SIGMOID_CENTRE[1]:g} of "
            f"{C15_SIGMOID_CENTRE[0]:g}); drift (sigmoid's last-layer mean at initialisation "
            f"rises by > {C15_DRIFT:g} from 1 to 3 layers); speed, in each regime (Adam, plain "
            "SGD), sigmoid costlier than tanh at every depth and the gap widening with depth "
            "(cost = median solve step / solve rate). " + PARTS_REGIMES_RULE)


def c15_cost(row: dict) -> float:
    """Median solve step over solve rate (infinite when none solved)."""
    return (row["median_solve_step"] or math.inf) / max(row["solved"]["rate"], 1e-3)


def c15_parts(rows: dict[tuple[str, int], dict]) -> dict[str, bool | None]:
    """One regime. rows: (activation, depth 1..3) -> {"mean_activation_per_layer_at_init":
    [...], "median_solve_step", "solved": {"rate"}}."""
    def means(act):
        return [m for d in (1, 2, 3) for m in rows[(act, d)]["mean_activation_per_layer_at_init"]]

    centre, within, floor = C15_SIGMOID_CENTRE
    centred = (all(abs(m) < C15_TANH_CENTRE for m in means("tanh"))
               and all(abs(m - centre) < within and m > floor for m in means("sigmoid")))
    last = [rows[("sigmoid", d)]["mean_activation_per_layer_at_init"][-1] for d in (1, 3)]
    drift = last[1] > last[0] + C15_DRIFT
    cost = {(a, d): c15_cost(rows[(a, d)]) for a in ("tanh", "sigmoid") for d in (1, 2, 3)}
    slower = all(cost[("sigmoid", d)] > cost[("tanh", d)] for d in (1, 2, 3))
    gap = [cost[("sigmoid", d)] / cost[("tanh", d)] for d in (1, 3)]  # inf/inf: nan, no
    return {"centring": centred, "drift": drift, "sigmoid slower": slower and gap[1] > gap[0]}


def c15_verdict(regimes: dict[str, dict[tuple[str, int], dict]]) -> Decision:
    """regimes: "adam" / "sgd" ... -> rows (see c15_parts)."""
    parts = {regime: c15_parts(rows) for regime, rows in regimes.items()}
    first = next(iter(parts.values()))
    return Decision(by_parts_in_regimes(parts), parts,
                    f"centring {_yes(first['centring'])}, drift {_yes(first['drift'])}; "
                    "sigmoid slower: " + ", ".join(f"{r} {_yes(p['sigmoid slower'])}"
                                                  for r, p in parts.items()), C15_RULE)


# ---- C8, C17: what the weights hold ---------------------------------------------------------

C8_BREAKS = 0.5  # "breaks most": fewer than this share of solved networks still solve
C8_RULE = (f"holds if removing the weakest 20% of each layer breaks most solved networks "
           f"(fewer than {C8_BREAKS:.0%} still solve); holds in some regimes if it takes 50%; "
           "otherwise does not hold" + STRADDLE)


def c8_verdict(still_solved: dict[float, float], tested: int) -> Decision:
    """still_solved: fraction of weakest weights removed -> share of the `tested` solved
    networks still solving."""
    def breaks(f: float) -> bool | None:
        return _negate(rate_at_least(round(still_solved[f] * tested), tested, C8_BREAKS))

    def judge(b):
        return (HOLDS if b[0.2] else SOME_REGIMES if b[0.5] else FAILS,
                {"20% removed": {"breaks": b[0.2]}, "50% removed": {"breaks": b[0.5]}})

    verdict, parts = settle(judge, {0.2: breaks(0.2), 0.5: breaks(0.5)})
    return Decision(verdict, parts,
                    f"still solving with 20% removed: {100 * still_solved[0.2]:.0f}%, with "
                    f"50%: {100 * still_solved[0.5]:.0f}% (of {tested})", C8_RULE)


C17_RULE = ("smallest b at which >= 50% of solved networks still solve after uniform b-bit "
            "quantisation (one scale per array). Holds if the 2-unit network needs fewer bits "
            "in all than the direct one")


def c17_verdict(bottleneck_bits: int | None, direct_bits: int | None) -> Decision:
    """Total bits to store each network (None: no quantisation kept it solving)."""
    smaller = (bottleneck_bits is not None and direct_bits is not None
               and bottleneck_bits < direct_bits)
    return Decision(HOLDS if smaller else FAILS, {"all": {"fewer bits": smaller}},
                    f"bits to store it: 2 units {bottleneck_bits}, direct {direct_bits}",
                    C17_RULE)


# ---- C10: logistic against the normal CDF -----------------------------------------------------

C10_GAPS = (0.044, 0.017)  # the commenter's figures
C10_TOLERANCE = (0.002, 0.001)

C10_RULE = (f"computed on a grid of 240,001 points over [-12, 12]. The {C10_GAPS[0]:g} holds if "
            f"some natural reading gives a gap within {C10_TOLERANCE[0]:g} of it; the "
            f"{C10_GAPS[1]:g} if the slope-matched gap is within {C10_TOLERANCE[1]:g} of it. "
            + PARTS_RULE)


def c10_matching(gaps: dict[str, float]) -> list[str]:
    """The readings whose largest gap is the commenter's first figure."""
    return [r for r, g in gaps.items() if abs(g - C10_GAPS[0]) <= C10_TOLERANCE[0]]


def c10_verdict(gaps: dict[str, float], slope_matched: str) -> Decision:
    """gaps: reading -> largest gap; slope_matched: the reading whose slopes agree at 0."""
    matching = c10_matching(gaps)
    slope_ok = abs(gaps[slope_matched] - C10_GAPS[1]) <= C10_TOLERANCE[1]
    return Decision(by_parts([bool(matching), slope_ok]),
                    {"all": {f"{C10_GAPS[0]:g}": bool(matching), f"{C10_GAPS[1]:g}": slope_ok}},
                    f"readings within {C10_TOLERANCE[0]:g} of {C10_GAPS[0]:g}: {len(matching)}; "
                    f"slope-matched gap {gaps[slope_matched]:.4f}", C10_RULE)


# ---- C14: forced sparsity ------------------------------------------------------------------------

C14_RATE_GAIN = 0.1  # solve rate up by more than this ...
C14_FASTER = 0.8  # ... or median solve step below this times the dense one's ...
C14_RATE_LOSS = 0.05  # ... at a solve rate at most this much lower

C14_RULE = (f"a sparsity level helps if it raises the solve rate by > {C14_RATE_GAIN * 100:g} "
            f"points, or solves >= {1 - C14_FASTER:.0%} faster at a rate no more than "
            f"{C14_RATE_LOSS * 100:g} points lower; the sparsity levels are the regimes: "
            + REGIMES_RULE + STRADDLE)


def c14_helps(row: dict, dense: dict) -> bool | None:
    """row, dense: {"solved": rate_numbers, "median_solve_step"} with and without
    sparsity; None when the rates cannot tell."""
    faster = (row["median_solve_step"] is not None and dense["median_solve_step"] is not None
              and row["median_solve_step"] < C14_FASTER * dense["median_solve_step"])
    a, b = _counts(row["solved"]), _counts(dense["solved"])
    gains = difference_at_least(a, b, C14_RATE_GAIN)
    loses = difference_at_least(b, a, C14_RATE_LOSS)
    return _or3(gains, _and3(faster, _negate(loses)))


def c14_verdict(rows: dict[float, dict]) -> Decision:
    """rows: share held at zero (0 = dense) -> numbers (see c14_helps)."""
    helped = {f: c14_helps(r, rows[0.0]) for f, r in rows.items() if f > 0}
    verdict, parts = settle(
        lambda h: (by_regimes(h.values()), {f"{100 * f:.0f}% zero": {"helps": v}
                                             for f, v in h.items()}), helped)
    return Decision(verdict, parts, "sparsity levels that helped: " + (
        ", ".join(f"{100 * f:.0f}%" for f, h in helped.items() if h) or "none") + (
        "; undecided: " + ", ".join(f"{100 * f:.0f}%" for f, h in helped.items() if h is None)
        if None in helped.values() else ""), C14_RULE)


# ---- C16: HELLO ----------------------------------------------------------------------------------

C16_RULE = ("holds if the code decodes to HELLO within 2 bits of -log2 of its interval, the "
            "sampled frequencies agree with the computed probabilities (Wilson interval +- "
            "0.01) and HELLO is the most likely of the three; holds in part if the last fails")


def c16_verdict(lossless: bool, sampling_agrees: bool, hello_most_likely: bool) -> Decision:
    verdict = (HOLDS if lossless and sampling_agrees and hello_most_likely else
               IN_PART if lossless and sampling_agrees else FAILS)
    return Decision(verdict, {"all": {"lossless": lossless, "sampling agrees": sampling_agrees,
                                      "HELLO most likely": hello_most_likely}},
                    f"lossless {_yes(lossless)}, sampling agrees {_yes(sampling_agrees)}, "
                    f"HELLO most likely {_yes(hello_most_likely)}", C16_RULE)


# ---- C9: sigmoid slow, ReLU fastest ------------------------------------------------------

C9_SLOWER = 3.0  # sigmoid's median solve step at least this many times tanh's ...
C9_RATE_GAP = 0.2  # ... or its solve rate this much lower (a share of seeds)

C9_RULE = (f"in each regime (optimizer x k), two parts: sigmoid is slow = its median solve "
           f"step >= {C9_SLOWER:g}x tanh's, or its solve rate at least {C9_RATE_GAP:.0%} "
           f"below tanh's; ReLU is fastest = its median solve step below both tanh's and "
           f"sigmoid's, with a solve rate less than {C9_RATE_GAP:.0%} below tanh's. "
           + PARTS_REGIMES_RULE + STRADDLE)


def c9_parts(row: dict) -> dict[str, bool | None]:
    """One regime. row: activation -> {"solved": rate_numbers, "median_solve_step": float
    | None (no network solved)}."""
    acts = ("tanh", "sigmoid", "relu")
    med = {a: row[a]["median_solve_step"] for a in acts}
    counts = {a: _counts(row[a]["solved"]) for a in acts}
    slower = (med["sigmoid"] is not None and med["tanh"] is not None
              and med["sigmoid"] >= C9_SLOWER * med["tanh"])
    sigmoid_slow = _or3(difference_at_least(counts["tanh"], counts["sigmoid"], C9_RATE_GAP),
                        slower)
    fastest = (med["relu"] is not None
               and all(med[a] is None or med["relu"] < med[a] for a in ("tanh", "sigmoid")))
    lower = difference_at_least(counts["tanh"], counts["relu"], C9_RATE_GAP)
    relu_fastest = _and3(fastest, _negate(lower))
    return {"sigmoid slow": sigmoid_slow, "ReLU fastest": relu_fastest}


def c9_verdict(rows: dict[str, dict]) -> Decision:
    """rows: regime -> activation -> numbers (see c9_parts)."""
    decision = _parts_in_regimes({regime: c9_parts(row) for regime, row in rows.items()},
                                 C9_RULE)
    medians = "; ".join(f"{regime} " + "/".join(
        "-" if row[a]["median_solve_step"] is None else f"{row[a]['median_solve_step']:g}"
        for a in ("tanh", "sigmoid", "relu")) for regime, row in rows.items())
    return Decision(decision.verdict, decision.parts,
                    f"median solve step tanh/sigmoid/relu: {medians}", C9_RULE)


# ---- C13: common pairs trample rare ones, ReLU less so, batches help -----------------------

C13_TRAMPLE = 1.0  # disturbance above this: rare outputs moved more by common pairs
C13_ACCURACY_DROP = 0.1  # rare-pair accuracy lost from even (1:1) to the highest skew
C13_RELU_LESS = 0.8  # ReLU's disturbance below this times tanh's
C13_BATCH_GAIN = 0.05  # full-batch rare-pair accuracy above per-example by this much

C13_RULE = (
    "disturbance = how far the rare outputs' weights were moved by updates for common "
    "pairs, over the whole run, divided by how far updates for rare pairs moved them; "
    "its median over seeds is known to a 95% interval (order statistics). In each regime "
    "(k), at the highest skew, three parts: tramples (common pairs trample rare ones) = "
    "tanh's "
    f"per-example disturbance > {C13_TRAMPLE:g} and its rare-pair accuracy at least "
    f"{C13_ACCURACY_DROP:g} below its accuracy at 1:1; ReLU less so = ReLU's per-example "
    f"disturbance < {C13_RELU_LESS:g}x tanh's; batches help = full-batch rare-pair "
    f"accuracy on average at least {C13_BATCH_GAIN:g} above per-example over the skews "
    "above 1:1 (at the highest skew alone both may be 0), for tanh and ReLU alike. A "
    "comparison is decided when the intervals (of the medians; of the accuracies' "
    "difference, Newcombe) lie on one side of its threshold, undecided otherwise. "
    + PARTS_REGIMES_RULE + "; " + "a verdict that undecided parts could still turn either "
    "way is 'undecided at this budget'")


def _above(values: list[float], threshold: float) -> bool | None:
    """Whether the median of the population `values` come from exceeds `threshold`:
    decided when its 95% interval lies above (yes) or at or below (no)."""
    lo, hi = median_interval(values)
    return True if lo > threshold else False if hi <= threshold else None


def _median_below(a: list[float], b: list[float], factor: float) -> bool | None:
    """Whether median(a) < factor x median(b), by the two medians' 95% intervals."""
    (alo, ahi), (blo, bhi) = median_interval(a), median_interval(b)
    if ahi < factor * blo:
        return True
    if alo >= factor * bhi:
        return False
    return None


def c13_parts(runs: dict) -> dict[str, bool | None]:
    """One regime. runs: activation ("tanh", "relu") -> mode ("per-example", "full
    batch") -> one run per skew ({"skew", "rare_accuracy": rate_numbers of the rare
    pairs' predictions, "disturbances": per network}); skew 1 is even, the highest skew
    decides the first two parts."""
    def at(act: str, mode: str) -> dict[int, dict]:
        return {r["skew"]: r for r in runs[act][mode]}

    skews = sorted(at("tanh", "per-example"))
    top, even = skews[-1], skews[0]
    tanh, relu = at("tanh", "per-example"), at("relu", "per-example")
    dropped = difference_at_least(_counts(tanh[even]["rare_accuracy"]),
                                  _counts(tanh[top]["rare_accuracy"]), C13_ACCURACY_DROP)
    tramples = _and3(_above(tanh[top]["disturbances"], C13_TRAMPLE), dropped)
    relu_less = _median_below(relu[top]["disturbances"], tanh[top]["disturbances"],
                              C13_RELU_LESS)
    skewed = [s for s in skews if s > 1] or [top]
    batches_help: bool | None = True
    for act in ("tanh", "relu"):
        # the same pairs and seeds at every skew: the pooled difference is the average one
        full, per = at(act, "full batch"), at(act, "per-example")
        pooled = [(sum(_counts(r[s]["rare_accuracy"])[0] for s in skewed),
                   sum(_counts(r[s]["rare_accuracy"])[1] for s in skewed)) for r in (full, per)]
        batches_help = _and3(batches_help, difference_at_least(pooled[0], pooled[1],
                                                               C13_BATCH_GAIN))
    return {"tramples": tramples, "ReLU less": relu_less,
            "batches help": batches_help}


def c13_verdict(regimes: dict[str, dict]) -> Decision:
    """regimes: "k=2" ... -> runs (see c13_parts)."""
    return _parts_in_regimes({regime: c13_parts(runs) for regime, runs in regimes.items()},
                             C13_RULE)


# ---- C18-C20: the comment thread's remaining claims ----------------------------------------

TRAINS_BETTER_SPEED = 1.5  # "faster": a median solve step at most 1/1.5 of the other's
TRAINS_BETTER_GAP = 0.2  # ... with a solve rate at most this much lower

TRAINS_BETTER_RULE = (
    "A trains better than B when A surely solves more often (the 95% interval of the "
    "difference of their solve rates lies above 0), or, when that interval contains 0, A's "
    f"median solve step is at most 1/{TRAINS_BETTER_SPEED:g} of B's and A's rate at most "
    f"{TRAINS_BETTER_GAP:.0%} below; it does not when B surely solves more often, or A is "
    "neither faster nor solves more; otherwise the comparison is undecided")
UNDECIDED_RULE = ("a verdict that undecided comparisons could still turn either way is "
                  "'undecided at this budget'")


def trains_better(a: dict, b: dict) -> bool | None:
    """Whether population a trains better than b (numbers as rate_numbers plus a
    "median_solve_step"); None when the numbers cannot tell (TRAINS_BETTER_RULE)."""
    more = _positive_difference(_counts(a["solved"]), _counts(b["solved"]))
    if more is not None:
        return more
    ra, rb = a["solved"]["rate"], b["solved"]["rate"]
    sa, sb = a.get("median_solve_step"), b.get("median_solve_step")
    if sa is not None and sb is not None and ra >= rb - TRAINS_BETTER_GAP \
            and sa * TRAINS_BETTER_SPEED <= sb:
        return True
    if ra <= rb and (sa is None or sb is None or sa >= sb):
        return False
    return None


def dwells_less(a: dict, b: dict) -> bool | None:
    """Whether a's networks spend a smaller share of their hidden pre-activations in the
    meta-stable band than b's: every quartile apart (a's upper quartile below b's lower:
    yes; a's lower above b's upper: no); overlapping quartiles: undecided. a, b: {"q1",
    "median", "q3"} of the per-network share averaged over training (None: no network to
    measure, undecided)."""
    if None in (a["q1"], a["q3"], b["q1"], b["q3"]):
        return None
    if a["q3"] < b["q1"]:
        return True
    if a["q1"] > b["q3"]:
        return False
    return None


C18_RIVALS = ("sinh", "arctan")
C18_RULE = (
    "for each rival of tanh (sinh, which the commenter names, and arctan, which the reply "
    "suggests he meant), two parts: tanh trains better than the rival (" + TRAINS_BETTER_RULE
    + "), and tanh's networks dwell less in the meta-stable band |f(z)| < 1/2 (the share of "
    "hidden pre-activations there, averaged over training: tanh's upper quartile over "
    "networks below the rival's lower quartile; overlapping quartiles: undecided). "
    + PARTS_REGIMES_RULE + "; " + UNDECIDED_RULE)


def _parts_in_regimes(parts: Parts, rule: str) -> Decision:
    """The verdict of parts in regimes, some of them undecided (None)."""
    verdict, parts = settle(
        lambda f: (by_parts_in_regimes(_unflat(f)), _unflat(f)),
        {(r, p): v for r, row in parts.items() for p, v in row.items()})
    return Decision(verdict, parts, _held(parts), rule)


def _unflat(flags: dict) -> Parts:
    table: Parts = {}
    for (regime, part), value in flags.items():
        table.setdefault(regime, {})[part] = value
    return table


def c18_verdict(rows: dict[str, dict]) -> Decision:
    """rows: activation ("tanh", "sinh", "arctan") -> {"solved", "median_solve_step",
    "meta_stable": quartiles}."""
    tanh = rows["tanh"]
    return _parts_in_regimes(
        {f"vs {r}": {"trains better": trains_better(tanh, rows[r]),
                     "dwells less": dwells_less(tanh["meta_stable"], rows[r]["meta_stable"])}
         for r in C18_RIVALS if r in rows}, C18_RULE)


C19_DEAD = 0.5  # a population whose networks lost this share of units has no paths left
C19_RULE = (
    "written before the run: on each task, the hypothesis (hard zeros do not hurt while "
    "gradients still reach every network through some units) is refuted if any ReLU whose "
    "zeros are softened (leaky, slope 0.01, 0.1 or 0.3 below zero) trains better than ReLU "
    f"while ReLU's networks keep most units alive (median share of dead units below "
    f"{C19_DEAD:.0%}); its second part (softplus, smooth everywhere, is not better than "
    "ReLU) is refuted if softplus trains better than ReLU. " + TRAINS_BETTER_RULE + ". "
    + PARTS_REGIMES_RULE + "; " + UNDECIDED_RULE)


def c19_verdict(tasks_: dict[str, dict]) -> Decision:
    """tasks_: task -> activation ("relu", "softplus" and the softened ReLUs, whose names
    start with "leaky_relu") -> {"solved", "median_solve_step", "dead_units": median share}."""
    parts: Parts = {}
    for task, rows in tasks_.items():
        relu = rows["relu"]
        hurt: bool | None = False
        for name, row in rows.items():
            if name.startswith("leaky_relu"):
                hurt = _or3(hurt, trains_better(row, relu))
        paths = relu["dead_units"] < C19_DEAD
        parts[task] = {
            "hard zeros do not hurt": _negate(_and3(hurt, paths)),
            "softplus not better": _negate(trains_better(rows["softplus"], relu))}
    return _parts_in_regimes(parts, C19_RULE)


C20_KEEP = 0.5  # share of solved tanh networks that must still solve read through sign(h)
C20_RULE = (
    "two parts, for every k tried: where 2^k binary codes are enough (n = 2^k symbols), "
    f"at least {C20_KEEP:.0%} of the tanh networks that solve still solve read through "
    "sign(h); and binary units carry what tanh units carry: where tanh networks solve n = "
    f"4 x 2^k symbols, at least {C20_KEEP:.0%} of them still solve read through sign(h). "
    + PARTS_RULE + STRADDLE)


def c20_verdict(rows: dict[str, dict]) -> Decision:
    """rows: "k=2" ... -> {"room": {"kept": x, "solved": y}, "crowded": {...}}: of the y
    networks that solved, x still solve through sign(h) (y = 0: the part fails, there is
    nothing to read)."""
    def kept(r: dict) -> bool | None:
        return r["solved"] > 0 and rate_at_least(r["kept"], r["solved"], C20_KEEP)

    def every(where: str) -> bool | None:
        held: bool | None = True
        for r in rows.values():
            held = _and3(held, kept(r[where]))
        return held

    verdict, parts = settle(
        lambda f: (by_parts(f.values()), {"all": dict(f)}),
        {"2^k symbols still solve": every("room"),
         "4 x 2^k symbols still solve": every("crowded")})
    return Decision(verdict, parts,
                    "; ".join(f"{k}: {r['room']['kept']}/{r['room']['solved']} at 2^k, "
                              f"{r['crowded']['kept']}/{r['crowded']['solved']} at 4x2^k"
                              for k, r in rows.items()), C20_RULE)
