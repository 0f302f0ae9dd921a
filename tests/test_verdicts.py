"""Verdict rules on hand-made numbers, at both sides of every threshold; the English
statement of each rule names the thresholds the code applies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bottlenet.experiments import verdicts as v
from bottlenet.experiments.base import (
    FAILS,
    HOLDS,
    IN_PART,
    SOME_REGIMES,
    UNDECIDED,
    by_parts_in_regimes,
)

EPS = 1e-9


@pytest.mark.parametrize(("table", "verdict"), [
    ({"a": {"x": True, "y": True}, "b": {"x": True, "y": True}}, HOLDS),
    ({"a": {"x": True, "y": True}, "b": {"x": True, "y": False}}, SOME_REGIMES),
    ({"a": {"x": True, "y": False}, "b": {"x": False, "y": True}}, IN_PART),
    ({"a": {"x": False, "y": False}, "b": {"x": False, "y": False}}, FAILS),
])
def test_parts_in_regimes(table, verdict):
    assert by_parts_in_regimes(table) == verdict


# ---- C1-C3 -------------------------------------------------------------------------------

@pytest.mark.parametrize(("solved", "networks", "verdict"), [
    (64, 64, HOLDS),  # interval 94-100%: wholly above 90%
    (16, 16, UNDECIDED),  # 81-100%: straddles 90%
    (9, 10, UNDECIDED),
    (50, 64, FAILS),  # 67-87%: wholly below
    (8, 10, UNDECIDED), (3, 10, FAILS)])
def test_c1_learns_at_ninety_percent(solved, networks, verdict):
    assert v.c1_verdict(solved, networks).verdict == verdict
    assert f"{v.LEARNS:.0%}" in v.C1_RULE and "undecided" in v.C1_RULE


def test_rates_against_a_threshold_and_settling_undecided_flags():
    assert v.rate_at_least(64, 64, 0.9) is True
    assert v.rate_at_least(16, 16, 0.9) is None
    assert v.rate_at_least(0, 16, 0.5) is False
    assert v.rate_at_least(0, 0, 0.5) is None  # no trials: nothing is known

    def judge(f):
        return (HOLDS if f["a"] or f["b"] else FAILS), {"all": {"a": f["a"], "b": f["b"]}}

    assert v.settle(judge, {"a": True, "b": None}) == (HOLDS, {"all": {"a": True, "b": None}})
    assert v.settle(judge, {"a": False, "b": None})[0] == UNDECIDED
    assert v.settle(judge, {"a": False, "b": False})[0] == FAILS


@pytest.mark.parametrize(("without", "with_", "verdict"), [
    (0, 0, HOLDS), (0, 1, SOME_REGIMES), (1, 0, SOME_REGIMES), (1, 3, FAILS)])
def test_c2_one_seed_solving_breaks_a_regime(without, with_, verdict):
    assert v.c2_verdict(without, with_, 16).verdict == verdict


def w(input_hidden, hidden_output):
    return {"max_w_input_hidden": input_hidden, "max_w_hidden_output": hidden_output}


@pytest.mark.parametrize(("weights", "near"), [
    (w(9, 26), True),
    (w(9 * v.C3_FACTOR * 0.999, 26), True), (w(9 * v.C3_FACTOR * 1.001, 26), False),
    (w(9, 26 / v.C3_FACTOR * 1.001), True), (w(9, 26 / v.C3_FACTOR * 0.999), False),
    (w(None, None), False),
])
def test_c3_near_the_articles_weights(weights, near):
    assert v.c3_near(weights) is near


def test_c3_verdict():
    near, far = w(9, 26), w(30, 200)
    assert v.c3_verdict(64, 64, {"a": near, "b": near}).verdict == HOLDS
    assert v.c3_verdict(64, 64, {"a": near, "b": far}).verdict == IN_PART
    assert v.c3_verdict(3, 10, {"a": near}).verdict == FAILS
    # learning undecided: holds or does not hold (near) / in part or not (far)
    assert v.c3_verdict(10, 10, {"a": near}).verdict == UNDECIDED
    assert v.c3_verdict(10, 10, {"a": near}).parts["a"] == {"learns": None,
                                                           "weights near": True}
    assert "1 of 2 regimes" in v.c3_verdict(64, 64, {"a": near, "b": far}).deciding


# ---- C4, C5, C7, C12 ----------------------------------------------------------------------

def exact(frontiers: dict[int, int]) -> dict[int, v.Bracket]:
    """Frontiers known exactly (every seed agrees on each side)."""
    return {k: v.Bracket(n, n, n) for k, n in frontiers.items()}


def test_c4_reproduces_the_articles_capacities():
    article = {1: 3, 2: 11, 3: 30, 4: 100}
    assert v.c4_reproduces(exact(article))
    for k, n, held in [(2, 16, True), (2, 17, False), (2, 8, True), (2, 7, False),
                       (3, 45, True), (3, 46, False), (4, 100, True), (4, 99, False),
                       (4, 5000, True)]:
        assert v.c4_reproduces(exact({**article, k: n})) is held, (k, n)
    decision = v.c4_verdict({"sgd": exact(article), "adam": exact({**article, 2: 40})})
    assert decision.verdict == SOME_REGIMES and "sgd 3/11/30/100 (yes)" in decision.deciding
    assert f"factor {v.C4_FACTOR:g}" in v.C4_RULE


def test_a_frontier_bracket_comes_from_the_trials_that_decide():
    # 8/8 at 8 surely passes, 4/8 at 12 could go either way, 0/8 at 16 surely fails
    tested = [(4, 8, 8), (8, 8, 8), (16, 0, 8), (12, 4, 8)]
    assert v.bracket(12, tested) == v.Bracket(12, 8, 15)
    assert v.bracket(16, [(16, 8, 8)]) == v.Bracket(16, 16, math.inf)  # censored
    assert v.bracket(8, [(8, 5, 8), (16, 3, 8)]) == v.Bracket(8, 0, math.inf)  # nothing sure


def test_c4_undecided_where_a_bracket_straddles_the_articles_bound():
    article = exact({1: 3, 2: 11, 3: 30, 4: 100})
    straddles = {**article, 2: v.Bracket(11, 8, 20)}  # 16.5 lies inside 8-20
    assert v.c4_reproduces(straddles) is None
    assert v.c4_verdict({"a": straddles}).verdict == UNDECIDED
    # one regime surely reproduces it: "in some regimes" whatever the other turns out
    far = {**article, 2: v.Bracket(40, 30, 60)}
    assert v.c4_verdict({"a": straddles, "b": far}).verdict == UNDECIDED
    assert v.c4_verdict({"a": straddles, "b": article}).verdict in (HOLDS, UNDECIDED)
    assert v.c4_verdict({"a": straddles, "b": article, "c": far}).verdict == SOME_REGIMES
    assert "a 3/11/30/100 (undecided)" in v.c4_verdict({"a": straddles}).deciding
    assert v.c4_reproduces({**article, 4: v.Bracket(256, 256, math.inf)}) is True


@pytest.mark.parametrize(("cost", "capacity", "verdict"), [
    (1.0, 2.0, HOLDS), (0.6, 2.0, HOLDS), (0.59, 2.0, IN_PART), (1.4, 2.0, HOLDS),
    (1.41, 2.0, IN_PART), (1.0, 1.2, IN_PART), (1.0, 1.21, HOLDS), (0.3, 1.0, FAILS)])
def test_c5_slopes(cost, capacity, verdict):
    assert v.c5_verdict(cost, capacity).verdict == verdict


@pytest.mark.parametrize(("permutation", "verdict"), [
    (75, HOLDS), (74, FAILS), (134, HOLDS), (135, FAILS)])
def test_c7_ratio_to_the_shift(permutation, verdict):
    assert v.c7_verdict(exact({"shift": 100, "permutation": permutation,
                               "identity": 100})).verdict == verdict


def test_c7_undecided_when_the_brackets_allow_either():
    shift = v.Bracket(100, 90, 110)
    assert v.c7_verdict({"shift": shift, "permutation": v.Bracket(100, 95, 105),
                         "identity": v.Bracket(100, 95, 105)}).verdict == HOLDS
    wide = v.Bracket(100, 60, 150)  # 60/110 < 0.75 and 150/90 > 1.34: could be either
    assert v.c7_verdict({"shift": shift, "permutation": wide,
                         "identity": shift}).verdict == UNDECIDED
    far = v.Bracket(300, 250, 350)
    assert v.c7_verdict({"shift": shift, "permutation": wide, "identity": far}).verdict == FAILS


def c12_rates(tanh2=64, relu2=0, relu3=0, relu4=64, trials=64):
    """Seeds solving (of `trials`) per (activation, k)."""
    def r(s):
        return {"successes": s, "trials": trials}

    return {("tanh", 2): r(tanh2), ("relu", 2): r(relu2), ("relu", 3): r(relu3),
            ("relu", 4): r(relu4), ("tanh", 3): r(trials), ("tanh", 4): r(trials)}


def test_c12_regimes():
    as_article = c12_rates()
    assert v.c12_verdict({"a": as_article}).verdict == HOLDS
    assert v.c12_verdict({"a": as_article, "b": c12_rates(relu2=64)}).verdict == SOME_REGIMES
    assert v.c12_verdict({"a": c12_rates(relu3=48)}).verdict == IN_PART  # 62-84%: solves
    assert v.c12_verdict({"a": c12_rates(relu3=22)}).verdict == HOLDS  # 24-46%: does not
    assert v.c12_verdict({"a": c12_rates(relu2=48)}).verdict == FAILS
    assert v.c12_verdict({"a": c12_rates(tanh2=22)}).verdict == FAILS
    # relu k=3 at 32 of 64 (38-62%) straddles one half: reproduces or not
    d = v.c12_verdict({"a": c12_rates(relu3=32)})
    assert d.verdict == UNDECIDED and d.parts["a"] == {"reproduces": None,
                                                      "relu worse at k=2": True}
    # beside a regime that surely does not reproduce it: in some regimes, or in part
    d = v.c12_verdict({"a": c12_rates(relu3=32), "b": c12_rates(relu2=64)})
    assert d.verdict == UNDECIDED


# ---- C6, C11, C15 ------------------------------------------------------------------------

def solved(successes, trials=64):
    return {"successes": successes, "trials": trials, "rate": successes / trials}


def c6_stats(lin_w=10.0, lin_growth=2.0, diverged=0, tanh_solved=16, both_solved=64):
    return {"softmax, linear hidden": {"max_weight_end": lin_w, "growth_second_half": lin_growth,
                                       "diverged": diverged, "solved": solved(64)},
            "tanh hidden, tanh output": {"max_weight_end": 3.0, "growth_second_half": 1.0,
                                         "diverged": 0, "solved": solved(tanh_solved)},
            "tanh hidden, softmax": {"max_weight_end": 4.0, "growth_second_half": 1.1,
                                     "diverged": 0, "solved": solved(both_solved)}}


def test_c6_parts_thresholds():
    assert v.c6_parts(c6_stats()) == {"explode": True, "stagnate": True, "work": True}
    assert not v.c6_parts(c6_stats(lin_w=v.C6_EXPLODE * 4.0))["explode"]
    assert v.c6_parts(c6_stats(lin_w=v.C6_EXPLODE * 4.0 + 0.01))["explode"]
    assert not v.c6_parts(c6_stats(lin_growth=1.1))["explode"]
    assert v.c6_parts(c6_stats(lin_w=1.0, diverged=1))["explode"]
    # 64/64 against 40/64: 38 points lower, its interval (24-50) wholly above 20 points
    assert v.c6_parts(c6_stats(tanh_solved=40))["stagnate"] is True
    assert v.c6_parts(c6_stats(tanh_solved=51))["stagnate"] is None  # 20 points, +-13
    assert v.c6_parts(c6_stats(tanh_solved=62))["stagnate"] is False
    assert v.c6_parts(c6_stats(both_solved=50, tanh_solved=0))["work"] is False
    assert v.c6_parts(c6_stats(both_solved=16 * 4 - 4, tanh_solved=0))["work"] is None
    decision = v.c6_verdict({"adam": c6_stats(), "sgd": c6_stats(lin_w=1.0)})
    assert decision.verdict == SOME_REGIMES and "sgd: explode no" in decision.deciding
    undecided = v.c6_verdict({"adam": c6_stats(tanh_solved=51)})
    assert undecided.verdict == UNDECIDED and "stagnate undecided" in undecided.deciding


@pytest.mark.parametrize(("relu", "verdict"), [(0.89, HOLDS), (0.9, FAILS)])
def test_c11_relu_cheaper(relu, verdict):
    assert v.c11_verdict({"relu": relu, "tanh": 1.0, "sigmoid": 1.2}).verdict == verdict


def c15_rows(tanh_means=0.0, sigmoid_last=(0.5, 0.55, 0.6), steps=None):
    steps = steps or {("tanh", d): 100 for d in (1, 2, 3)} | {
        ("sigmoid", 1): 150, ("sigmoid", 2): 300, ("sigmoid", 3): 600}
    rows = {}
    for d in (1, 2, 3):
        rows[("tanh", d)] = {"mean_activation_per_layer_at_init": [tanh_means] * d,
                             "median_solve_step": steps[("tanh", d)], "solved": {"rate": 1.0}}
        rows[("sigmoid", d)] = {"mean_activation_per_layer_at_init":
                                [0.5] * (d - 1) + [sigmoid_last[d - 1]],
                                "median_solve_step": steps[("sigmoid", d)],
                                "solved": {"rate": 1.0}}
    return rows


def c15_parts(rows):
    return v.c15_verdict({"adam": rows}).parts["adam"]


def test_c15_parts():
    assert c15_parts(c15_rows()) == {"centring": True, "drift": True, "sigmoid slower": True}
    assert not c15_parts(c15_rows(tanh_means=v.C15_TANH_CENTRE))["centring"]
    assert c15_parts(c15_rows(tanh_means=v.C15_TANH_CENTRE - 0.01))["centring"]
    flat = (0.5, 0.5, 0.5 + v.C15_DRIFT)
    assert not c15_parts(c15_rows(sigmoid_last=flat))["drift"]
    same_gap = {("tanh", d): 100 for d in (1, 2, 3)} | {("sigmoid", d): 200 for d in (1, 2, 3)}
    assert not c15_parts(c15_rows(steps=same_gap))["sigmoid slower"]


def test_c15_regimes():
    same_gap = {("tanh", d): 100 for d in (1, 2, 3)} | {("sigmoid", d): 200 for d in (1, 2, 3)}
    assert v.c15_verdict({"adam": c15_rows(), "sgd": c15_rows()}).verdict == HOLDS
    decision = v.c15_verdict({"adam": c15_rows(steps=same_gap), "sgd": c15_rows()})
    assert decision.verdict == SOME_REGIMES
    assert "sigmoid slower: adam no, sgd yes" in decision.deciding
    assert v.c15_verdict({"adam": c15_rows(steps=same_gap)}).verdict == IN_PART


# ---- C8, C10, C14, C16, C17 ---------------------------------------------------------------

@pytest.mark.parametrize(("at20", "at50", "verdict"), [
    (0.25, 0.1, HOLDS), (0.8, 0.25, SOME_REGIMES), (0.8, 0.75, FAILS),
    (0.45, 0.1, UNDECIDED),  # 20% removed: 45% of 64 still solve (33-57%) straddles one half
    (0.8, 0.45, UNDECIDED)])
def test_c8_pruning(at20, at50, verdict):
    assert v.c8_verdict({0.0: 1.0, 0.2: at20, 0.5: at50}, 64).verdict == verdict


@pytest.mark.parametrize(("gap", "slope_gap", "verdict"), [
    (0.044, 0.017, HOLDS), (0.0459, 0.017, HOLDS), (0.0465, 0.017, IN_PART),
    (0.044, 0.0181, IN_PART), (0.03, 0.02, FAILS)])
def test_c10_gaps(gap, slope_gap, verdict):
    gaps = {"a reading": gap, "slopes": slope_gap}
    assert v.c10_verdict(gaps, "slopes").verdict == verdict


def c14_row(successes, step, trials=1000):
    return {"solved": solved(successes, trials), "median_solve_step": step}


@pytest.mark.parametrize(("row", "helps"), [
    (c14_row(900, 1000), True),  # 90% against 50%: up by far more than 10 points
    (c14_row(500, 1000), False),  # the same rate, +-4.4: surely not up by 10
    (c14_row(600, 1000), None),  # up 10 points, +-4.4: undecided
    (c14_row(500, 790), True),  # faster, at a rate surely less than 5 points lower
    (c14_row(300, 790), False),  # faster, but surely more than 5 points lower
    (c14_row(480, 790), None),  # faster, 2 points lower +-4.4: undecided
    (c14_row(500, 800), False), (c14_row(500, None), False),
    # 64 seeds cannot tell 10 points: equal rates leave "raised by 10" open
    (c14_row(32, 1000, trials=64), None)])
def test_c14_a_sparsity_level_helps(row, helps):
    dense = c14_row(500, 1000) if row["solved"]["trials"] == 1000 else c14_row(32, 1000, 64)
    assert v.c14_helps(row, dense) is helps


def test_c14_regimes():
    dense = c14_row(500, 1000)
    rows = {0.0: dense, 0.25: c14_row(900, 1000), 0.5: c14_row(500, 1000)}
    decision = v.c14_verdict(rows)
    assert decision.verdict == SOME_REGIMES and "helped: 25%" in decision.deciding
    assert v.c14_verdict({0.0: dense, 0.25: dense, 0.5: dense}).verdict == FAILS
    decision = v.c14_verdict({0.0: dense, 0.25: c14_row(600, 1000), 0.5: dense})
    assert decision.verdict == UNDECIDED and "undecided: 25%" in decision.deciding


@pytest.mark.parametrize(("flags", "verdict"), [
    ((True, True, True), HOLDS), ((True, True, False), IN_PART), ((False, True, True), FAILS),
    ((True, False, True), FAILS)])
def test_c16_parts(flags, verdict):
    assert v.c16_verdict(*flags).verdict == verdict


@pytest.mark.parametrize(("net", "direct", "verdict"), [
    (100, 101, HOLDS), (101, 101, FAILS), (None, 50, FAILS), (50, None, FAILS)])
def test_c17_bits(net, direct, verdict):
    assert v.c17_verdict(net, direct).verdict == verdict


def test_every_rule_uses_only_the_verdict_words():
    from bottlenet.experiments import CLAIMS

    names = {name.removesuffix("_RULE") for name in dir(v)
             if name.startswith("C") and name.endswith("_RULE")}
    assert names == set(CLAIMS)  # every claim's rule lives here, and only theirs
    rules = [getattr(v, f"{claim}_RULE") for claim in CLAIMS]
    assert len(rules) == len(CLAIMS)
    for rule in rules:
        assert "conditions" not in rule  # the old catch-all word is gone
        assert "hold" in rule.lower()  # each says when the claim holds


# ---- C9 ----------------------------------------------------------------------------------

def c9_row(tanh=(50, 64), sigmoid=(500, 64), relu=(30, 64), networks=64) -> dict:
    """activation -> (median solve step, networks solved) -> c9's numbers."""
    return {a: {"median_solve_step": m, "solve_steps": [m or 0] * k,
                "solved": {"successes": k, "trials": networks, "rate": k / networks}}
            for a, (m, k) in {"tanh": tanh, "sigmoid": sigmoid, "relu": relu}.items()}


def test_c9_the_claimed_order_holds():
    assert v.c9_parts(c9_row()) == {"sigmoid slow": True, "ReLU fastest": True}
    assert v.c9_verdict({"sgd k=2": c9_row(), "adam k=2": c9_row()}).verdict == HOLDS


@pytest.mark.parametrize(("sigmoid", "slow"), [
    ((v.C9_SLOWER * 50, 64), True), ((v.C9_SLOWER * 50 - EPS, 64), False),
    ((60, 32), True),  # half as many solve: surely 20 points below
    ((60, 51), None),  # 20 points below, +-12: undecided
    ((60, 62), False),
    ((None, 0), True),  # never solved: its rate is far below
])
def test_c9_sigmoid_slow_threshold(sigmoid, slow):
    assert v.c9_parts(c9_row(sigmoid=sigmoid))["sigmoid slow"] is slow


@pytest.mark.parametrize(("relu", "fastest"), [
    ((49, 64), True), ((50, 64), False),  # must be below tanh's median
    ((None, 0), False),  # never solved
    ((10, 32), False),  # surely more than 20 points below tanh
    ((10, 51), None),  # 20 points below, +-12: undecided
    ((10, 62), True),
])
def test_c9_relu_fastest_threshold(relu, fastest):
    assert v.c9_parts(c9_row(relu=relu))["ReLU fastest"] is fastest


def test_c9_relu_must_beat_sigmoid_too():
    row = c9_row(tanh=(None, 0), sigmoid=(20, 64), relu=(30, 64))
    assert not v.c9_parts(row)["ReLU fastest"]


def test_c9_regimes_and_words():
    good, bad = c9_row(), c9_row(relu=(80, 64), sigmoid=(60, 64))
    decision = v.c9_verdict({"sgd k=2": good, "adam k=2": bad})
    assert decision.verdict == SOME_REGIMES
    assert decision.parts["adam k=2"] == {"sigmoid slow": False, "ReLU fastest": False}
    assert "sgd k=2 50/500/30" in decision.deciding
    assert v.c9_verdict({"adam k=2": bad}).verdict == FAILS
    assert f"{v.C9_SLOWER:g}x tanh's" in v.C9_RULE and f"{v.C9_RATE_GAP:.0%}" in v.C9_RULE


def test_a_difference_of_two_shares_against_a_gap():
    assert v.difference_at_least((64, 64), (32, 64), 0.2) is True
    assert v.difference_at_least((64, 64), (51, 64), 0.2) is None
    assert v.difference_at_least((64, 64), (62, 64), 0.2) is False
    assert v.difference_at_least((16, 16), (0, 16), 0.5) is True
    assert v.difference_at_least((0, 0), (0, 0), 0.1) is None  # no trials: nothing known


# ---- C13 ---------------------------------------------------------------------------------

SEEDS = 64


def c13_runs(**changes) -> dict:
    """A regime where every part holds, far from every threshold: 64 seeds, each pair's
    prediction counted (rare pairs x seeds); changes: "act/mode/skew:what" -> the rare
    accuracy (a share) or the disturbance (every network's)."""
    runs: dict = {}
    for act in ("tanh", "relu"):
        for mode in ("per-example", "full batch"):
            runs.setdefault(act, {})[mode] = []
            for skew in (1, 10, 1000):
                acc = 1.0 if skew == 1 else (0.5 if mode == "per-example" else 0.8)
                dist = (3.0 if act == "tanh" else 1.0) if skew == 1000 else 0.5
                runs[act][mode].append({"skew": skew, "rare_accuracy": accuracy(acc),
                                        "disturbances": [dist] * SEEDS})
    for key, value in changes.items():
        where, what = key.split(":")
        act, mode, skew = where.split("/")
        run = next(r for r in runs[act][mode] if r["skew"] == int(skew))
        run[what] = accuracy(value) if what == "rare_accuracy" else [value] * SEEDS
    return runs


def accuracy(share: float, trials: int = 6 * SEEDS) -> dict:
    from bottlenet.experiments.base import rate_numbers

    return rate_numbers(round(share * trials), trials)


def test_c13_every_part_holds():
    assert v.c13_parts(c13_runs()) == {"tramples": True, "ReLU less": True,
                                       "batches help": True}
    assert v.c13_verdict({"k=2": c13_runs(), "k=4": c13_runs()}).verdict == HOLDS


def test_c13_trample_thresholds():
    key = "tanh/per-example/1000"
    assert v.c13_parts(c13_runs(**{f"{key}:disturbances": v.C13_TRAMPLE + EPS}))[
        "tramples"]
    assert v.c13_parts(c13_runs(**{f"{key}:disturbances": v.C13_TRAMPLE}))[
        "tramples"] is False
    # an accuracy drop decided by the interval of the difference (384 predictions each)
    assert v.c13_parts(c13_runs(**{f"{key}:rare_accuracy": 0.8}))["tramples"]
    assert v.c13_parts(c13_runs(**{f"{key}:rare_accuracy": 0.9}))[
        "tramples"] is None  # 10 points down, +-3: undecided
    assert v.c13_parts(c13_runs(**{f"{key}:rare_accuracy": 0.97}))[
        "tramples"] is False


def test_c13_a_median_is_known_to_its_interval():
    key = "tanh/per-example/1000:disturbances"
    spread = c13_runs()
    run = next(r for r in spread["tanh"]["per-example"] if r["skew"] == 1000)
    run["disturbances"] = list(np.linspace(0.5, 1.5, SEEDS))  # median 1, spread across it
    assert v.c13_parts(spread)["tramples"] is None
    assert v.c13_parts(c13_runs(**{key: 3.0}))["tramples"] is True


def test_c13_relu_less_threshold():
    key = "relu/per-example/1000:disturbances"
    assert v.c13_parts(c13_runs(**{key: v.C13_RELU_LESS * 3.0 - 0.01}))["ReLU less"]
    assert v.c13_parts(c13_runs(**{key: v.C13_RELU_LESS * 3.0}))["ReLU less"] is False


def test_c13_batches_help_is_averaged_over_the_skews_above_even():
    # gain at 10:1 of 0.3 and 0 at 1000:1: on average 0.15, it helps
    runs = c13_runs(**{"tanh/full batch/1000:rare_accuracy": 0.5,
                       "relu/full batch/1000:rare_accuracy": 0.5})
    assert v.c13_parts(runs)["batches help"]
    # no gain at all is surely below the threshold; a gain of exactly the threshold on
    # average (768 predictions a side: +-0.05) is undecided, for both activations
    same = {f"{a}/full batch/{s}:rare_accuracy": 0.5 for a in ("tanh", "relu")
            for s in (10, 1000)}
    assert v.c13_parts(c13_runs(**same))["batches help"] is False
    near = {**same, **{f"{a}/full batch/10:rare_accuracy": 0.5 + 2 * v.C13_BATCH_GAIN
                       for a in ("tanh", "relu")}}
    assert v.c13_parts(c13_runs(**near))["batches help"] is None
    # and one activation surely not helped decides the part whatever the other does
    near["relu/full batch/10:rare_accuracy"] = 0.5
    assert v.c13_parts(c13_runs(**near))["batches help"] is False


def test_c13_words_name_the_thresholds():
    decision = v.c13_verdict({"k=2": c13_runs(**{"relu/per-example/1000:disturbances": 5.0})})
    assert decision.verdict == IN_PART and "ReLU less no" in decision.deciding
    for value in (v.C13_TRAMPLE, v.C13_ACCURACY_DROP, v.C13_RELU_LESS, v.C13_BATCH_GAIN):
        assert f"{value:g}" in v.C13_RULE


# ---- C18-C20 and undecided ---------------------------------------------------------------

def test_undecided_parts_decide_only_when_every_reading_agrees():
    def parts_verdict(table):
        return v._parts_in_regimes(table, "rule").verdict

    assert parts_verdict({"a": {"x": True, "y": None}}) == UNDECIDED
    # a part measured false and one measured true: in part, whatever the undecided one says
    assert parts_verdict({"a": {"x": True, "y": False, "z": None}}) == IN_PART
    assert parts_verdict({"a": {"x": True}, "b": {"x": False}}) == SOME_REGIMES
    assert parts_verdict({"a": {"x": False, "y": None}, "b": {"x": True, "y": True}}) \
        == SOME_REGIMES


def pop_row(successes, trials, step):
    from bottlenet.experiments.base import rate_numbers

    return {"solved": rate_numbers(successes, trials), "median_solve_step": step}


@pytest.mark.parametrize(("a", "b", "better"), [
    (pop_row(16, 16, 500), pop_row(4, 16, 500), True),  # intervals apart
    (pop_row(4, 16, 500), pop_row(16, 16, 500), False),
    (pop_row(12, 16, 300), pop_row(14, 16, 450), True),  # 1.5x faster, rate 2/16 lower
    (pop_row(12, 16, 301), pop_row(14, 16, 450), None),  # not quite 1.5x faster
    (pop_row(10, 16, 300), pop_row(14, 16, 450), None),  # faster, but 4/16 lower
    (pop_row(14, 16, 450), pop_row(14, 16, 450), False),  # neither faster nor more
    (pop_row(15, 16, 450), pop_row(14, 16, 300), None),  # more (not apart), slower
    (pop_row(0, 16, None), pop_row(1, 16, 300), False)])
def test_trains_better(a, b, better):
    assert v.trains_better(a, b) is better
    assert f"1/{v.TRAINS_BETTER_SPEED:g}" in v.TRAINS_BETTER_RULE


def q(q1, q3):
    return {"q1": q1, "median": (q1 + q3) / 2, "q3": q3}


@pytest.mark.parametrize(("a", "b", "less"), [
    (q(0.1, 0.2), q(0.21, 0.4), True), (q(0.1, 0.21), q(0.21, 0.4), None),
    (q(0.41, 0.5), q(0.21, 0.4), False)])
def test_dwells_less(a, b, less):
    assert v.dwells_less(a, b) is less


def c18_row(successes, step, q1, q3):
    return {**pop_row(successes, 16, step), "meta_stable": q(q1, q3)}


def test_c18_regimes():
    rows = {"tanh": c18_row(16, 200, 0.1, 0.2), "sinh": c18_row(4, 200, 0.5, 0.6),
            "arctan": c18_row(16, 200, 0.15, 0.3)}
    d = v.c18_verdict(rows)
    assert d.parts["vs sinh"] == {"trains better": True, "dwells less": True}
    assert d.parts["vs arctan"] == {"trains better": False, "dwells less": None}
    assert d.verdict == SOME_REGIMES and "undecided" in d.deciding
    rows["arctan"] = c18_row(4, 200, 0.5, 0.6)
    assert v.c18_verdict(rows).verdict == HOLDS
    rows["sinh"] = rows["arctan"] = c18_row(16, 200, 0.1, 0.3)
    assert v.c18_verdict(rows).verdict == UNDECIDED


def c19_rows(relu, leaky, softplus, dead=0.0, softer=None):
    """relu, leaky_relu (0.01), and the softer leaks (0.1, 0.3: as `softer`, else as relu)."""
    softer = softer or relu
    return {"relu": {**relu, "dead_units": dead}, "leaky_relu": {**leaky, "dead_units": 0.0},
            "leaky_relu:0.1": {**softer, "dead_units": 0.0},
            "leaky_relu:0.3": {**softer, "dead_units": 0.0},
            "softplus": {**softplus, "dead_units": 0.0}}


def test_c19_refutes_the_hypothesis_only_where_relu_kept_its_paths():
    good, bad = pop_row(16, 16, 300), pop_row(4, 16, 300)
    d = v.c19_verdict({"shift": c19_rows(bad, good, bad)})
    assert d.parts["shift"] == {"hard zeros do not hurt": False, "softplus not better": True}
    assert d.verdict == IN_PART
    # the same numbers, but most of ReLU's units dead: no paths, so nothing refuted
    d = v.c19_verdict({"shift": c19_rows(bad, good, bad, dead=v.C19_DEAD)})
    assert d.parts["shift"]["hard zeros do not hurt"] is True and d.verdict == HOLDS
    d = v.c19_verdict({"shift": c19_rows(good, good, good),
                       "skewed": c19_rows(bad, bad, good)})
    assert d.parts["skewed"]["softplus not better"] is False and d.verdict == SOME_REGIMES
    # any degree of softening that trains better refutes it
    d = v.c19_verdict({"shift": c19_rows(bad, bad, bad, softer=good)})
    assert d.parts["shift"]["hard zeros do not hurt"] is False


def c20_part(kept, solved):
    return {"kept": kept, "solved": solved}


@pytest.mark.parametrize(("room", "crowded", "verdict"), [
    ((16, 16), (16, 16), HOLDS), ((16, 16), (3, 16), IN_PART), ((3, 16), (3, 16), FAILS),
    ((0, 0), (16, 16), IN_PART),  # nothing solved: nothing to read, the part fails
    ((8, 16), (16, 16), UNDECIDED)])  # 8 of 16 (28-72%) straddles one half
def test_c20_parts(room, crowded, verdict):
    rows = {"k=2": {"room": c20_part(*room), "crowded": c20_part(*crowded)},
            "k=3": {"room": c20_part(16, 16), "crowded": c20_part(16, 16)}}
    assert v.c20_verdict(rows).verdict == verdict
    assert f"{v.C20_KEEP:.0%}" in v.C20_RULE


def test_dwells_less_without_networks_is_undecided():
    empty = {"q1": None, "median": None, "q3": None}
    assert v.dwells_less(empty, q(0.1, 0.2)) is None
