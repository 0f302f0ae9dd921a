"""C13 and C14: the two tests the author proposed but never ran."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from bottlenet import tasks
from bottlenet.draw.common import BAR
from bottlenet.evaluation import batch_loss, evaluate, init_population, minibatch, task_arrays
from bottlenet.experiments.base import (
    PARTS_RULE,
    REGIMES_RULE,
    ClaimResult,
    by_parts,
    by_regimes,
    median_or_none,
    png,
    rate_bars,
    rate_numbers,
    rate_text,
)
from bottlenet.spec import NetSpec

N, COMMON, RARE_WEIGHT, COMMON_WEIGHT = 11, 5, 1.0, 20.0


def skewed_task() -> tasks.Task:
    """Shift on 11 symbols where the first 5 pairs are 20 times as common as the rest."""
    base = tasks.shift(N)
    freqs = tuple(COMMON_WEIGHT if i < COMMON else RARE_WEIGHT for i in range(base.n_pairs))
    return tasks.Task("skewed-shift11", N, N, base.inputs, base.targets, freqs)


@partial(jax.jit, static_argnames=("spec", "steps", "batch"))
def _track(spec, params, keys, data, rare_out, rare_pair, lr, steps, batch):
    """Plain SGD for `steps` steps; per step, how far the rare outputs' weights moved and
    whether the step's examples were all common. batch=None: full batch.

    An instrument, not a second trainer: it needs every step's weight movement, which the
    trainer (segments of compiled steps, no per-step hook) does not expose; the loss, the
    minibatch draw and the initial weights are the trainer's own (evaluation module)."""

    def one(p, key):
        def step(p, t):
            if batch is None:
                def loss(q):
                    return evaluate(spec, q, data).loss
                common = jnp.bool_(False)
            else:
                idx = minibatch(key, t, data, batch)

                def loss(q):
                    return batch_loss(spec, q, data, idx)
                common = ~jnp.any(rare_pair[idx])
            g = jax.grad(loss)(p)
            new = jax.tree.map(lambda a, b: a - lr * b, p, g)
            moved = new[-1]["w"] - p[-1]["w"]
            d_rare = jnp.sqrt(jnp.sum(jnp.where(rare_out, moved, 0.0) ** 2))
            return new, (d_rare, common)

        return jax.lax.scan(step, p, jnp.arange(steps))

    return jax.vmap(one)(params, keys)


def _run(spec, task, seeds, steps, batch, lr, seed=0) -> tuple[dict, np.ndarray | None]:
    """Outcome numbers, and the per-network trample index (None for full batch).
    Network i starts from seed + i, as everywhere; its minibatch draws from its own
    stream (seed + i + 10,000)."""
    data = task_arrays(task)
    rare_pair = jnp.asarray(np.arange(task.n_pairs) >= COMMON)
    rare_out = jnp.asarray(np.isin(np.arange(N), np.asarray(task.targets)[COMMON:]))
    params = init_population(spec, jnp.arange(seeds) + seed)
    keys = jax.vmap(jax.random.key)(jnp.arange(seeds) + seed + 10_000)
    params, (d_rare, common) = _track(spec, params, keys, data, rare_out, rare_pair, lr, steps,
                                      batch)
    d_rare, common = np.asarray(d_rare), np.asarray(common)
    ev = jax.vmap(evaluate, in_axes=(None, 0, None))(spec, params, data)
    logits = np.asarray(ev.logits)
    correct = logits.argmax(-1) == np.asarray(task.targets)
    out = {"solved": rate_numbers(int(np.asarray(ev.solved).sum()), seeds),
           "rare_accuracy": float(np.mean(correct[:, COMMON:]))}
    idx = None
    if batch is not None:
        # Trample index: movement of the rare outputs' weights on steps that saw only
        # common examples, relative to their movement on steps that saw a rare one.
        on_common = (d_rare * common).sum(1) / np.maximum(common.sum(1), 1)
        on_rare = (d_rare * ~common).sum(1) / np.maximum((~common).sum(1), 1)
        idx = on_common / np.maximum(on_rare, 1e-12)
        out["trample_index"] = {"median": float(np.median(idx)),
                                "q1": float(np.percentile(idx, 25)),
                                "q3": float(np.percentile(idx, 75))}
    return out, idx


def c13_trample(ctx) -> ClaimResult:
    task = skewed_task()
    seeds, steps = ctx.budget.seeds, ctx.budget.steps
    runs, index = {}, {}
    for act in ("tanh", "relu"):
        spec = NetSpec(N, N, (4,), act)
        # One example per step: four times the steps, still far fewer examples seen.
        runs[(act, "per-example")], index[act] = _run(spec, task, seeds, 4 * steps, 1, 0.1,
                                                      ctx.seed)
        runs[(act, "full batch")], _ = _run(spec, task, seeds, steps, None, 0.5, ctx.seed)
    t_tanh = runs[("tanh", "per-example")]["trample_index"]["median"]
    t_relu = runs[("relu", "per-example")]["trample_index"]["median"]
    tramples = t_tanh > 0.1
    relu_less = t_relu < 0.8 * t_tanh
    batch_helps = all(runs[(a, "full batch")]["rare_accuracy"] >=
                      runs[(a, "per-example")]["rare_accuracy"] + 0.05 for a in ("tanh", "relu"))
    verdict = by_parts([tramples, relu_less])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    axes[0].boxplot([index[a] for a in ("tanh", "relu")],
                    tick_labels=["tanh", "relu"])
    axes[0].set_ylabel("trample index")
    axes[0].set_title("rare outputs' weight movement on common steps\n/ on rare steps "
                      "(per-example SGD)", fontsize=9)
    labels = [f"{a}\n{m}" for a, m in runs]
    axes[1].bar(range(4), [r["rare_accuracy"] for r in runs.values()], color=BAR)
    axes[1].set_xticks(range(4), labels, fontsize=8)
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title("accuracy on the rare pairs at the end", fontsize=9)
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    numbers = {f"{a}_{m}": r for (a, m), r in runs.items()}
    deciding = f"trample index tanh {t_tanh:.2f} (> 0.1), relu {t_relu:.2f} (< 0.8x tanh)"
    return ClaimResult(
        "C13", "Common cases trample rare ones; ReLU less so; batches help",
        "you'd set up a test where some outputs are far more common than others and you show "
        "that other methods trample all over the weights of less common cases, but ReLU "
        "doesn't. You'd have to watch individual weights in your network",
        "When some pairs are far more common, updates for common pairs disturb the weights "
        "that serve rare pairs; ReLU disturbs them less than tanh; batch updates help.",
        "(a hypothesis the author proposed to test)",
        f"trample index (median): tanh {t_tanh:.3f}, relu {t_relu:.3f}; rare-pair accuracy: "
        + ", ".join(f"{a} {m} {r['rare_accuracy']:.2f}" for (a, m), r in runs.items())
        + "; solved: " + ", ".join(f"{a} {m} {rate_text(r['solved']['successes'], seeds)}"
                                   for (a, m), r in runs.items()),
        verdict,
        "trample index = mean movement of the rare outputs' weights on steps that saw only "
        "common pairs / on steps that saw a rare pair (per network, median over seeds). "
        "Two parts: tanh's index exceeds 0.1 (common pairs trample rare ones); ReLU's is "
        "below 0.8x tanh's. " + PARTS_RULE + ". "
        "Whether batches help (full-batch rare-pair accuracy >= per-example + 0.05 for both "
        "activations) is reported in the numbers and does not enter the verdict",
        {"task": "shift 11, first 5 pairs 20x as frequent", "k": 4, "optimizer":
         "plain SGD (lr 0.1 per example, 0.5 full batch)",
         "steps": {"full batch": steps, "per-example": 4 * steps}, "seeds": seeds},
        {"runs": numbers, "tanh_tramples": tramples, "relu_tramples_less": relu_less,
         "batch_helps_rare_pairs": batch_helps},
        [("Left: the trample index per network. Right: how well rare pairs are learned.",
          png(fig))],
        notes="Plain SGD, so that the size of an update reflects the gradient (Adam would "
        "rescale every weight's steps). A ReLU unit that is zero for a common input passes "
        "no gradient to the outputs' weights on that unit, which is the mechanism the "
        "author had in mind.",
        deciding=deciding)


def c14_sparsity(ctx) -> ClaimResult:
    n, k = 48, 4
    task = tasks.shift(n)
    spec = NetSpec(n, n, (k,), "tanh")
    seeds = ctx.budget.seeds
    rows = {}
    for frac in (0.0, 0.25, 0.5):
        # which connections go: drawn from --seed too (seed 0 keeps the draws of before)
        rng = np.random.default_rng(1000 + int(100 * frac) + 1000 * ctx.seed)
        w1 = (rng.random((seeds, n, k)) >= frac).astype(np.float32)
        # No hidden biases in any variant: a removed connection then means an activation
        # of exactly tanh(0) = 0 for that input, kept there for ever.
        mask = ({"w": w1, "b": np.zeros((seeds, k), np.float32)},
                {"w": np.ones((seeds, k, n), np.float32), "b": np.ones((seeds, n), np.float32)})
        pop = ctx.train(task, spec, mask=mask)
        rows[frac] = {"solved": rate_numbers(int(pop.solved.sum()), pop.size),
                      "median_solve_step": median_or_none(pop.solve_step[pop.solve_step >= 0])}
    dense, sparse = rows[0.0], rows[0.25]

    def better(r):
        faster = (r["median_solve_step"] is not None and dense["median_solve_step"] is not None
                  and r["median_solve_step"] < 0.8 * dense["median_solve_step"])
        return r["solved"]["rate"] > dense["solved"]["rate"] + 0.1 or (
            faster and r["solved"]["rate"] >= dense["solved"]["rate"] - 0.05)

    helped = [f for f in (0.25, 0.5) if better(rows[f])]
    verdict = by_regimes(f in helped for f in (0.25, 0.5))
    labels = [f"{100 * f:.0f}% zero" for f in rows]
    deciding = "sparsity levels that helped: " + (
        ", ".join(f"{100 * f:.0f}%" for f in helped) or "none")
    return ClaimResult(
        "C14", "Forcing tanh activations to zero (sparsity) helps",
        "if sparsity helps, couldn't you use that knowledge to improve tanh()? Just force "
        "some values to zero and keep them there forever. If sparsity really helps, you "
        "would expect the performance of tanh to also increase.",
        "Holding a fixed random share of the tanh activations at zero makes tanh networks "
        "learn better.",
        "(a test the author proposed)",
        "; ".join(f"{100 * f:.0f}% of input->hidden connections held at zero: solved "
                  f"{rate_text(r['solved']['successes'], r['solved']['trials'])}, median "
                  f"step {r['median_solve_step']}" for f, r in rows.items()) + f" (sparse "
        f"{sparse['solved']['rate']:.2f} vs dense {dense['solved']['rate']:.2f} at 25%)",
        verdict,
        "a sparsity level helps if it raises the solve rate by > 10 points, or solves >= 20% "
        "faster at a rate no more than 5 points lower; the sparsity levels are the "
        "regimes: " + REGIMES_RULE,
        {"n": n, "k": k, "hidden_biases": "none", "optimizer": "adam",
         "steps": ctx.budget.steps, "seeds": seeds},
        {f"zero_{f}": r for f, r in rows.items()},
        [("Share of seeds solving 48 symbols with 4 tanh units, by share of activations "
          "held at zero.", png(rate_bars(labels, [r["solved"]["successes"] for r in
                                                  rows.values()],
                                          [r["solved"]["trials"] for r in rows.values()],
                                          "sparsity forced on tanh")))],
        deciding=deciding)
