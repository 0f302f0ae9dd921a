"""C1-C3: what tiny networks learn on five symbols."""

from __future__ import annotations

import numpy as np

from bottlenet import draw, tasks
from bottlenet.construct import construct, winnable
from bottlenet.experiments.base import (
    ClaimResult,
    png,
    rate_bars,
    rate_numbers,
    rate_text,
)
from bottlenet.experiments.verdicts import c1_verdict, c2_verdict, c3_near, c3_verdict
from bottlenet.spec import NetSpec


def c1_direct(ctx) -> ClaimResult:
    task = tasks.shift(5)
    pop = ctx.train(task, NetSpec(5, 5, ()))
    s, t = int(pop.solved.sum()), pop.size
    decision = c1_verdict(s, t)
    return ClaimResult(
        "C1", "Direct connections learn the shift",
        "Whenever input 1 fires, fire output 2 ... I'll make the connections that the "
        "network learns stronger",
        "A 5x5 network with no hidden layer (25 connections) learns 'input i fires output "
        "i+1'.",
        "learns it; 25 connections", f"{rate_text(s, t)} networks solved; "
        f"{pop.spec.n_connections} connections", decision.verdict, decision.rule,
        {"optimizer": "adam", "lr": pop.config.lr, "steps": pop.config.steps, "seeds": t},
        {"solved": rate_numbers(s, t), "connections": pop.spec.n_connections},
        [("The best direct network: the diagonal above the main one is strong and blue.",
          png(draw.diagram(pop.spec, task, pop.network(pop.best()))))],
        deciding=decision.deciding)


def c2_one_unit(ctx) -> ClaimResult:
    task = tasks.shift(5)
    no_bias = ctx.train(task, NetSpec(5, 5, (1,), bias=False))
    bias = ctx.train(task, NetSpec(5, 5, (1,), bias=True))
    margins = winnable(no_bias.spec, no_bias.network(no_bias.best()))
    can_win = int((margins > 1e-9).sum())
    hand = construct(task, hidden=1, probability=0.9)
    s0, s1, t = int(no_bias.solved.sum()), int(bias.solved.sum()), no_bias.size
    decision = c2_verdict(s0, s1, t)
    return ClaimResult(
        "C2", "One hidden unit cannot learn the shift",
        "This network can not learn different behaviors for different input nodes because "
        "they all have to go through that one node in the middle.",
        "With one hidden unit, 5 symbols cannot be learned: the sum loses where a value "
        "came from.",
        "cannot learn it", f"without biases {rate_text(s0, t)}; with biases "
        f"{rate_text(s1, t)}; without biases only {can_win} outputs can ever win (linear "
        f"program); a hand-made 1-unit network with output biases solves it "
        f"({'yes' if hand.solved_float32 else 'no'}, weight scale {hand.scale:.3g} for "
        "p >= 0.9)", decision.verdict, decision.rule,
        {"optimizer": "adam", "lr": bias.config.lr, "steps": bias.config.steps, "seeds": t},
        {"no_bias": rate_numbers(s0, t), "bias": rate_numbers(s1, t),
         "outputs_that_can_win_without_bias": can_win,
         "hand_made_with_bias_solves": hand.solved_float32, "hand_made_scale": hand.scale},
        [("Share of seeds that solved, one tanh unit (bars: Wilson 95% intervals).",
          png(rate_bars(["no biases", "with biases"], [s0, s1], [t, t], "one hidden unit, "
                        "5 symbols"))),
         ("A hand-made one-unit network with output biases: each output's line is tangent "
          "to a parabola, so the upper envelope gives every output its own stretch of h.",
          png(draw.diagram(hand.spec, task, hand.params)))],
        notes="Without biases logit_j = v_j h, so only the outputs with the largest and the "
        "smallest v_j can ever win: the article is right for that network. Output biases "
        "turn the logits into lines a + b h whose upper envelope can give every output a "
        "winning interval, so the impossibility is not about one unit as such.",
        deciding=decision.deciding)


def c3_two_units(ctx) -> ClaimResult:
    task = tasks.shift(5)
    spec = NetSpec(5, 5, (2,))
    runs = {}
    for opt, lr in (("adam", 0.05), ("sgd", 1.0)):
        for stop in ("solved", "never"):
            runs[(opt, stop)] = ctx.train(task, spec, optimizer=opt, lr=lr, stop=stop)
    base = runs[("adam", "solved")]
    s, t = int(base.solved.sum()), base.size
    table = {}
    for (opt, stop), pop in runs.items():
        ok = pop.solved & ~pop.diverged
        w1 = np.abs(pop.params[0]["w"]).reshape(pop.size, -1).max(1)[ok]
        w2 = np.abs(pop.params[1]["w"]).reshape(pop.size, -1).max(1)[ok]
        table[f"{opt}, stop {'at solve' if stop == 'solved' else 'after budget'}"] = {
            "steps_run": pop.steps_run, "solved": int(ok.sum()),
            "max_w_input_hidden": float(np.median(w1)) if w1.size else None,
            "max_w_hidden_output": float(np.median(w2)) if w2.size else None}
    decision = c3_verdict(s, t, table)
    near = [k for k, v in table.items() if c3_near(v)]
    measured = f"{rate_text(s, t)} solved (20 connections); median largest |w| " + "; ".join(
        f"{k}: {v['max_w_input_hidden']:.1f} / {v['max_w_hidden_output']:.1f}"
        for k, v in table.items() if v["max_w_input_hidden"])
    return ClaimResult(
        "C3", "Two tanh units learn five symbols; weights near 9 and 26",
        "the real weights in my test code are +9 and -9 on the connections going from the "
        "input layer to the middle layer, and +26 and -26 on the connections going from "
        "the middle layer to the output layer",
        "2 tanh units with a softmax output learn the 5-symbol shift with 20 connections, "
        "and the weights settle near +-9 (input to hidden) and +-26 (hidden to output).",
        "learns; |w| ~ 9 and ~ 26", measured, decision.verdict, decision.rule,
        {"regimes": list(table), "steps": base.config.steps, "seeds": t},
        {"solved": rate_numbers(s, t), "weights": table, "regimes_near_article": near},
        [("Training of 2 tanh units on 5 symbols, run for the whole budget (Adam): the "
          "largest weights keep creeping up as the loss falls, so where they 'settle' "
          "depends on when one stops.", png(draw.training_charts(runs[("adam", "never")]))),
         ("The best network (Adam, stopped at solve).",
          png(draw.diagram(spec, task, base.network(base.best()))))],
        notes="Weights settle nowhere in particular: with softmax the loss keeps rewarding "
        "larger output weights, so the figures depend on optimizer and stopping rule; the "
        "article's 9 and 26 are one such stopping point.",
        deciding=decision.deciding)
