"""C1-C3: what tiny networks learn on five symbols."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from bottlenet import draw, tasks
from bottlenet.construct import construct, winnable
from bottlenet.draw.claims import rate_bars
from bottlenet.experiments.base import Measured, Rate, rate_numbers, rate_text
from bottlenet.experiments.claim import Claim, Picture
from bottlenet.experiments.context import Context
from bottlenet.experiments.records import (
    NetworkRecord,
    TrainingRecord,
    network_of,
    network_record,
    training_curves,
    training_record,
)
from bottlenet.experiments.verdicts import Decision, c1_verdict, c2_verdict, c3_verdict
from bottlenet.spec import NetSpec


def _lr_and_steps(pop) -> dict[str, Any]:
    """The learning rate and steps a trained population used."""
    assert pop.config is not None  # trained, not built by hand
    return {"lr": pop.config.lr, "steps": pop.config.steps}


# ---- C1: direct connections -------------------------------------------------------------


class C1Numbers(Measured):
    solved: Rate
    connections: int
    best: NetworkRecord


def c1_measure(ctx: Context) -> C1Numbers:
    task = tasks.shift(5)
    pop = ctx.train(task, NetSpec(5, 5, ()))
    return {"regime": {"optimizer": "adam", **_lr_and_steps(pop), "seeds": pop.size},
            "solved": rate_numbers(int(pop.solved.sum()), pop.size),
            "connections": pop.spec.n_connections,
            "best": network_record(pop.spec, task, pop.network(pop.best()))}


def c1_judge(m: C1Numbers) -> Decision:
    return c1_verdict(m["solved"]["successes"], m["solved"]["trials"])


def c1_describe(m: C1Numbers) -> str:
    s = m["solved"]
    return (f"{rate_text(s['successes'], s['trials'])} networks solved; {m['connections']} "
            "connections")


def c1_draw(m: C1Numbers) -> list[Picture]:
    return [("The best direct network: the diagonal above the main one is strong and blue.",
             draw.diagram(*network_of(m["best"])))]


C1 = Claim("C1", c1_measure, c1_judge, c1_describe, c1_draw)

# ---- C2: one unit -----------------------------------------------------------------------


class C2Numbers(Measured):
    no_bias: Rate
    bias: Rate
    outputs_that_can_win_without_bias: int  # by a linear program on the best network
    hand_made_with_bias_solves: bool
    hand_made_scale: float
    hand_made: NetworkRecord


def c2_measure(ctx: Context) -> C2Numbers:
    """Solve rates of one tanh unit with and without biases, how many outputs can ever
    win without biases (a linear program on the best network), and a hand-made one-unit
    network with output biases."""
    task = tasks.shift(5)
    no_bias = ctx.train(task, NetSpec(5, 5, (1,), bias=False))
    bias = ctx.train(task, NetSpec(5, 5, (1,), bias=True))
    margins = winnable(no_bias.spec, no_bias.network(no_bias.best()))
    hand = construct(task, hidden=1, probability=0.9)
    t = no_bias.size
    return {"regime": {"optimizer": "adam", **_lr_and_steps(bias), "seeds": t},
            "no_bias": rate_numbers(int(no_bias.solved.sum()), t),
            "bias": rate_numbers(int(bias.solved.sum()), t),
            "outputs_that_can_win_without_bias": int((margins > 1e-9).sum()),
            "hand_made_with_bias_solves": bool(hand.solved_float32),
            "hand_made_scale": float(hand.scale),
            "hand_made": network_record(hand.spec, task, hand.params)}


def c2_judge(m: C2Numbers) -> Decision:
    return c2_verdict(m["no_bias"]["successes"], m["bias"]["successes"], m["no_bias"]["trials"])


def c2_describe(m: C2Numbers) -> str:
    s0, s1, t = m["no_bias"]["successes"], m["bias"]["successes"], m["no_bias"]["trials"]
    return (f"without biases {rate_text(s0, t)}; with biases {rate_text(s1, t)}; without "
            f"biases only {m['outputs_that_can_win_without_bias']} outputs can ever win "
            "(linear program); a hand-made 1-unit network with output biases solves it "
            f"({'yes' if m['hand_made_with_bias_solves'] else 'no'}, weight scale "
            f"{m['hand_made_scale']:.3g} for p >= 0.9)")


def c2_draw(m: C2Numbers) -> list[Picture]:
    t = m["no_bias"]["trials"]
    return [("Share of seeds that solved, one tanh unit (bars: Wilson 95% intervals).",
             rate_bars(["no biases", "with biases"],
                       [m["no_bias"]["successes"], m["bias"]["successes"]], [t, t],
                       "one hidden unit, 5 symbols")),
            ("A hand-made one-unit network with output biases: each output's line is "
             "tangent to a parabola, so the upper envelope gives every output its own "
             "stretch of h.", draw.diagram(*network_of(m["hand_made"])))]


C2 = Claim("C2", c2_measure, c2_judge, c2_describe, c2_draw)

# ---- C3: two units, and how large their weights grow ------------------------------------

C3_REGIMES = {"adam": 0.05, "sgd": 1.0}  # optimizer -> learning rate
C3_STOPS = {"solved": "at solve", "never": "after budget"}  # the trainer's stop -> words


class C3Weights(TypedDict):
    """One optimizer and stopping rule: the median largest |weight| of each layer over
    the networks that solved (None when none did)."""

    optimizer: str
    stop: str  # "solved" or "never"
    steps_run: int
    solved: int
    max_w_input_hidden: float | None
    max_w_hidden_output: float | None


class C3Numbers(Measured):
    solved: Rate  # Adam, stopped at solve
    weights: list[C3Weights]
    training: TrainingRecord  # Adam, run for the whole budget
    best: NetworkRecord  # Adam, stopped at solve


def c3_label(w: C3Weights) -> str:
    return f"{w['optimizer']}, stop {C3_STOPS[w['stop']]}"


def c3_measure(ctx: Context) -> C3Numbers:
    """Per optimizer and stopping rule: steps run, networks solved, and the median
    largest |weight| of each layer over the solved networks."""
    task = tasks.shift(5)
    spec = NetSpec(5, 5, (2,))
    runs, table = {}, []
    for opt, lr in C3_REGIMES.items():
        for stop in C3_STOPS:
            pop = runs[(opt, stop)] = ctx.train(task, spec, optimizer=opt, lr=lr, stop=stop)
            ok = pop.solved & ~pop.diverged
            w1 = np.abs(pop.params[0]["w"]).reshape(pop.size, -1).max(1)[ok]
            w2 = np.abs(pop.params[1]["w"]).reshape(pop.size, -1).max(1)[ok]
            table.append(C3Weights(
                optimizer=opt, stop=stop, steps_run=pop.steps_run, solved=int(ok.sum()),
                max_w_input_hidden=float(np.median(w1)) if w1.size else None,
                max_w_hidden_output=float(np.median(w2)) if w2.size else None))
    base, whole = runs[("adam", "solved")], runs[("adam", "never")]
    return {"regime": {"regimes": [c3_label(w) for w in table],
                       "steps": _lr_and_steps(base)["steps"], "seeds": base.size},
            "solved": rate_numbers(int(base.solved.sum()), base.size), "weights": table,
            "training": training_record(whole, f"{whole.size} networks, {task.name}, "
                                        "hidden 2 tanh, Adam, run for the whole budget"),
            "best": network_record(spec, task, base.network(base.best()))}


def c3_judge(m: C3Numbers) -> Decision:
    return c3_verdict(m["solved"]["successes"], m["solved"]["trials"],
                      {c3_label(w): dict(w) for w in m["weights"]})


def c3_describe(m: C3Numbers) -> str:
    s = m["solved"]
    return f"{rate_text(s['successes'], s['trials'])} solved (20 connections); median " \
        "largest |w| " + "; ".join(
            f"{c3_label(w)}: {w['max_w_input_hidden']:.1f} / {w['max_w_hidden_output']:.1f}"
            for w in m["weights"] if w["max_w_input_hidden"] and w["max_w_hidden_output"])


def c3_draw(m: C3Numbers) -> list[Picture]:
    return [("Training of 2 tanh units on 5 symbols, run for the whole budget (Adam): the "
             "largest weights keep creeping up as the loss falls, so where they 'settle' "
             "depends on when one stops.",
             draw.training_charts(training_curves(m["training"]), m["training"]["title"])),
            ("The best network (Adam, stopped at solve).", draw.diagram(*network_of(m["best"])))]


C3 = Claim("C3", c3_measure, c3_judge, c3_describe, c3_draw)

