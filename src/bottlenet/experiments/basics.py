"""C1-C3: what tiny networks learn on five symbols."""

from __future__ import annotations

import numpy as np

from bottlenet import draw, tasks
from bottlenet.construct import construct, winnable
from bottlenet.draw.claims import rate_bars
from bottlenet.draw.common import png_base64
from bottlenet.experiments.base import claim_result, rate_numbers, rate_text
from bottlenet.experiments.verdicts import c1_verdict, c2_verdict, c3_near, c3_verdict
from bottlenet.spec import NetSpec


def c1_direct(ctx):
    task = tasks.shift(5)
    pop = ctx.train(task, NetSpec(5, 5, ()))
    s, t = int(pop.solved.sum()), pop.size
    decision = c1_verdict(s, t)
    return claim_result(
        "C1", f"{rate_text(s, t)} networks solved; {pop.spec.n_connections} connections",
        decision,
        {"optimizer": "adam", "lr": pop.config.lr, "steps": pop.config.steps, "seeds": t},
        {"solved": rate_numbers(s, t), "connections": pop.spec.n_connections},
        [("The best direct network: the diagonal above the main one is strong and blue.",
          png_base64(draw.diagram(pop.spec, task, pop.network(pop.best()))))])


def c2_measure(ctx) -> tuple[dict, object]:
    """Solve rates of one tanh unit with and without biases, how many outputs can ever
    win without biases (a linear program on the best network), and a hand-made one-unit
    network with output biases (returned for its picture)."""
    task = tasks.shift(5)
    no_bias = ctx.train(task, NetSpec(5, 5, (1,), bias=False))
    bias = ctx.train(task, NetSpec(5, 5, (1,), bias=True))
    margins = winnable(no_bias.spec, no_bias.network(no_bias.best()))
    hand = construct(task, hidden=1, probability=0.9)
    t = no_bias.size
    return {"no_bias": rate_numbers(int(no_bias.solved.sum()), t),
            "bias": rate_numbers(int(bias.solved.sum()), t),
            "outputs_that_can_win_without_bias": int((margins > 1e-9).sum()),
            "hand_made_with_bias_solves": hand.solved_float32, "hand_made_scale": hand.scale,
            "lr": bias.config.lr, "steps": bias.config.steps}, hand


def c2_one_unit(ctx):
    numbers, hand = c2_measure(ctx)
    s0, s1 = numbers["no_bias"]["successes"], numbers["bias"]["successes"]
    t = numbers["no_bias"]["trials"]
    decision = c2_verdict(s0, s1, t)
    return claim_result(
        "C2", f"without biases {rate_text(s0, t)}; with biases {rate_text(s1, t)}; without "
        f"biases only {numbers['outputs_that_can_win_without_bias']} outputs can ever win "
        "(linear program); a hand-made 1-unit network with output biases solves it "
        f"({'yes' if hand.solved_float32 else 'no'}, weight scale {hand.scale:.3g} for "
        "p >= 0.9)", decision,
        {"optimizer": "adam", "lr": numbers["lr"], "steps": numbers["steps"], "seeds": t},
        numbers,
        [("Share of seeds that solved, one tanh unit (bars: Wilson 95% intervals).",
          png_base64(rate_bars(["no biases", "with biases"], [s0, s1], [t, t],
                               "one hidden unit, 5 symbols"))),
         ("A hand-made one-unit network with output biases: each output's line is tangent "
          "to a parabola, so the upper envelope gives every output its own stretch of h.",
          png_base64(draw.diagram(hand.spec, tasks.shift(5), hand.params)))])


C3_REGIMES = {"adam": 0.05, "sgd": 1.0}  # optimizer -> learning rate


def c3_measure(ctx) -> tuple[dict, dict]:
    """Per optimizer and stopping rule: steps run, networks solved, and the median
    largest |weight| of each layer over the solved networks. Returns the numbers and
    the populations (for the pictures)."""
    task = tasks.shift(5)
    spec = NetSpec(5, 5, (2,))
    runs, table = {}, {}
    for opt, lr in C3_REGIMES.items():
        for stop in ("solved", "never"):
            pop = runs[(opt, stop)] = ctx.train(task, spec, optimizer=opt, lr=lr, stop=stop)
            ok = pop.solved & ~pop.diverged
            w1 = np.abs(pop.params[0]["w"]).reshape(pop.size, -1).max(1)[ok]
            w2 = np.abs(pop.params[1]["w"]).reshape(pop.size, -1).max(1)[ok]
            table[f"{opt}, stop {'at solve' if stop == 'solved' else 'after budget'}"] = {
                "steps_run": pop.steps_run, "solved": int(ok.sum()),
                "max_w_input_hidden": float(np.median(w1)) if w1.size else None,
                "max_w_hidden_output": float(np.median(w2)) if w2.size else None}
    base = runs[("adam", "solved")]
    numbers = {"solved": rate_numbers(int(base.solved.sum()), base.size), "weights": table,
               "regimes_near_article": [k for k, v in table.items() if c3_near(v)]}
    return numbers, runs


def c3_two_units(ctx):
    numbers, runs = c3_measure(ctx)
    s, t, table = numbers["solved"]["successes"], numbers["solved"]["trials"], numbers["weights"]
    decision = c3_verdict(s, t, table)
    base = runs[("adam", "solved")]
    measured = f"{rate_text(s, t)} solved (20 connections); median largest |w| " + "; ".join(
        f"{k}: {v['max_w_input_hidden']:.1f} / {v['max_w_hidden_output']:.1f}"
        for k, v in table.items() if v["max_w_input_hidden"])
    return claim_result(
        "C3", measured, decision,
        {"regimes": list(table), "steps": base.config.steps, "seeds": t}, numbers,
        [("Training of 2 tanh units on 5 symbols, run for the whole budget (Adam): the "
          "largest weights keep creeping up as the loss falls, so where they 'settle' "
          "depends on when one stops.", png_base64(draw.training_charts(runs[("adam", "never")]))),
         ("The best network (Adam, stopped at solve).",
          png_base64(draw.diagram(base.spec, base.task, base.network(base.best()))))])
