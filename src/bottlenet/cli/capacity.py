"""`bottlenet capacity`, `construct` and `argmax`: what k units learn, what they can
represent, and which outputs can win at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bottlenet.choices import ACTIVATIONS, DTYPES, OPTIMIZERS, SCHEDULES, SOFTMAXES, TASKS
from bottlenet.cli.console import (
    CLUSTER_HELP,
    NET_HELP,
    check_picture,
    cluster_status,
    command,
    command_group,
    err,
    key_value_table,
    out,
    parse_list,
    pick_network,
    progress_bar,
    refuse_unused,
)
from bottlenet.config import CapacityConfig, check_dtype
from bottlenet.errors import SpecError
from bottlenet.files import check_output
from bottlenet.softmax import DRAWN, HARD, SAMPLED_MIN_OUTPUTS
from bottlenet.store import DEFAULT_DB

app = command_group()
# What defines a sweep; --resume takes all of them from the database instead.
_SWEEP_SETTINGS = ("hidden", "activation", "task", "seeds", "steps", "threshold", "optimizer",
                   "lr", "schedule", "logit_scale", "bias", "seed", "max_symbols", "dtype",
                   "batch", "time_budget", "start", "softmax")


@command(app)
def capacity(
    ctx: typer.Context,
    hidden: Annotated[str, typer.Option(
        help="Hidden units k, comma-separated, or ranges like 1-8.")] = "1,2,3",
    activation: Annotated[str, typer.Option(
        help="Activations, comma-separated: " + ", ".join(ACTIVATIONS) + ".")]
    = "tanh",
    task: Annotated[str, typer.Option(help=f"Task: {', '.join(TASKS)}.")]
    = "shift",
    seeds: Annotated[int, typer.Option(help="Networks per trial.")] = CapacityConfig.seeds,
    steps: Annotated[int, typer.Option(help="Step budget per network.")]
    = CapacityConfig.steps,
    threshold: Annotated[float, typer.Option(
        help="Share of seeds that must solve for n to count as learnable.")] = 0.5,
    optimizer: Annotated[str, typer.Option(help=f"One of: {', '.join(OPTIMIZERS)}.")]
    = CapacityConfig.optimizer,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = CapacityConfig.lr,
    schedule: Annotated[str, typer.Option(help=f"One of: {', '.join(SCHEDULES)}.")]
    = CapacityConfig.schedule,
    logit_scale: Annotated[bool, typer.Option(
        help="Learn a scale of the output layer (see `train --help`); --no-logit-scale "
        "--lr 0.05 is the plain regime of earlier versions.")] = CapacityConfig.logit_scale,
    bias: Annotated[bool, typer.Option(help="Biases on every layer.")] = True,
    seed: Annotated[int, typer.Option(help="First seed of every trial.")] = 0,
    max_symbols: Annotated[int | None, typer.Option(
        help="Largest n the search may try; default: no ceiling (the search grows n until "
        "a trial fails, or --time-budget or memory stops it).", show_default=False)] = None,
    start: Annotated[int, typer.Option(
        help="The first n tried; the search doubles it until a trial fails, then bisects."
    )] = 4,
    time_budget: Annotated[float | None, typer.Option(
        help="Seconds each configuration's search may spend on new trials: a trial whose "
        "likely time (the nearest trial's, scaled by the step's cost) would pass what is "
        "left is not started, and the frontier is reported as censored by budget at that "
        "n.", show_default=False)] = None,
    dtype: Annotated[str, typer.Option(
        help=f"Training precision: {', '.join(DTYPES)} (float64: JAX's x64 mode, 3.5-4 "
        "times the time; the solve rule's tolerance follows it).")] = "float32",
    batch: Annotated[int, typer.Option(
        help="Pairs per step (0 = full batch, the default: see README, Capacity, for why)."
    )] = 0,
    softmax: Annotated[str, typer.Option(
        help=f"{', '.join(SOFTMAXES)}: 'full' = every pair against every output; "
        f"'sampled' = each pair against its {HARD} strongest competitors and {DRAWN} drawn "
        f"outputs (from {SAMPLED_MIN_OUTPUTS} symbols on; every solve still checked against "
        "every output). Full is the default: see `train --help`, README, Capacity."
    )] = CapacityConfig.softmax,
    db: Annotated[Path, typer.Option(help="Results database (SQLite).")]
    = DEFAULT_DB,
    plot: Annotated[Path | None, typer.Option(
        help="Success-rate chart (.svg/.png); default: capacity.png beside --db.")] = None,
    atlas: Annotated[Path | None, typer.Option(
        help="Frontier against k beside what k units can represent (.svg/.png), drawn "
        "when the sweep has several k; default: capacity-atlas.png beside --db.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Re-run the last sweep recorded in --db with its own settings; finished "
        "trials are reused, never run again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    cluster: Annotated[str | None, typer.Option(
        help=CLUSTER_HELP + " Every configuration's search runs at once, one trial per "
        "task.", show_default=False)] = None,
):
    """Measure capacity: the largest n that k units learn, with 95% intervals.

    For every (k, activation): the largest n that at least --threshold of the seeds
    learn within the step budget, with its Wilson 95% interval.

    n grows geometrically until a trial fails, then bisection finds the frontier. Every
    trial is stored in --db as soon as it ends: an interrupted sweep loses nothing and
    `--resume` continues it.
    """
    from bottlenet import capacity as search
    from bottlenet.stats import wilson_interval
    from bottlenet.store import Store

    check_picture(plot, "--plot")
    check_picture(atlas, "--atlas")
    if resume:
        if not db.is_file():
            raise SpecError(f"--resume: there is no results database at {db}")
        refuse_unused(ctx, {name: "--" + name.replace("_", "-") for name in _SWEEP_SETTINGS},
                      "with --resume (it re-runs the last sweep with that sweep's settings)")
    plan = None if resume else search.Sweep.grid(
        parse_list(hidden, int, "--hidden", ranges=True),
        parse_list(activation, str, "--activation"), threshold, max_symbols, task=task,
        optimizer=optimizer, lr=lr, schedule=schedule, steps=steps, seeds=seeds, seed=seed,
        bias=bias, logit_scale=logit_scale, dtype=dtype, batch=batch, softmax=softmax,
        time_budget=time_budget, start=start)
    if cluster and (plan.time_budget if plan else None) is not None:
        raise SpecError("--time-budget is for sweeps on this machine (a cluster runs every "
                        "trial it is given)")

    def on_config(cfg):
        err.print(f"[bold]{cfg.label()}[/]: {cfg.task}, {cfg.optimizer} lr {cfg.lr}, "
                  f"{cfg.steps} steps, {cfg.seeds} seeds, {cfg.dtype}"
                  + (f", batch {cfg.batch}" if cfg.batch else "")
                  + (", sampled softmax" if cfg.softmax == "sampled" else ""))

    def on_start(cfg, n, estimate):
        guess = ("time unknown (first trial)" if estimate is None
                 else f"about {_duration(estimate[0])}, at most {_duration(estimate[1])} "
                 f"if every network needs all {cfg.steps:,} steps")
        err.print(f"  {cfg.label():<14} n={n:<5} starting: {guess}")

    def on_trial(cfg, rec, cached):
        lo, hi = wilson_interval(rec.successes, rec.trials)
        origin = "from database" if cached else f"{rec.wall_time:.1f}s"
        err.print(f"  {cfg.label():<14} n={rec.n:<5} {rec.successes:>3}/{rec.trials} "
                  f"solved  [{100 * lo:.0f}-{100 * hi:.0f}%]  ({origin})")

    if plan is not None:
        _check_atlas(atlas, plan)  # before the database is made
    with Store(db) as store:
        plan = search.start(plan, store)
        _check_atlas(atlas, plan)  # a resumed sweep's own k
        try:
            if cluster:
                results = _sweep_on_cluster(cluster, plan, store, on_config, on_trial)
            else:
                with progress_bar() as bar:
                    job = bar.add_task("trial", total=None)
                    results = search.run(plan, store, on_config, on_trial,
                                         lambda done, total: bar.update(
                                             job, completed=done, total=total), on_start)
        except KeyboardInterrupt:
            err.print(f"interrupted: {store.count()} finished trials are kept in {db}; "
                      "`bottlenet capacity --resume` continues")
            raise typer.Exit(130) from None
    _show(results, plan.threshold, db, plot, atlas, as_json)


def _show(results: list, threshold: float, db: Path, plot: Path | None, atlas: Path | None,
          as_json: bool) -> None:
    """A finished sweep: its charts written, its frontiers as a table (or JSON)."""
    from rich.table import Table

    from bottlenet import capacity as search
    from bottlenet import draw as pictures

    plot_path = pictures.save(pictures.capacity_chart(results),
                              plot or db.parent / "capacity.png")
    atlas_path = None
    if len({r.config.hidden for r in results}) > 1:
        atlas_path = pictures.save(pictures.capacity_atlas(*search.atlas_lines(results)),
                                   atlas or db.parent / "capacity-atlas.png")
    rows = [r.summary() for r in results]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    c0 = results[0].config
    tab = Table(title=f"capacity on {c0.task}: largest n solved by >= {threshold:.0%} "
                f"of {c0.seeds} seeds in {c0.steps} steps ({c0.optimizer}, lr {c0.lr}, "
                f"{c0.schedule}{', learned logit scale' if c0.logit_scale else ''})")
    for col in ("k", "activation", "frontier n", "success at n", "95% CI", "connections",
                "trials (new)"):
        tab.add_column(col, justify="left" if col == "activation" else "right")
    for r, res in zip(rows, results, strict=True):
        lo, hi = r["success_ci95"]
        tab.add_row(str(res.config.hidden), res.config.activation, res.frontier.describe(),
                    "-" if r["success_rate"] is None else f"{100 * r['success_rate']:.0f}%",
                    f"{100 * lo:.0f}-{100 * hi:.0f}%", str(r["connections_at_frontier"]),
                    f"{len(r['trials'])} ({r['trials_run_now']})")
    out.print(tab)
    compiled = sum(len(r["padded_sizes_compiled"]) for r in rows)
    out.print(f"padded sizes trained (one compilation each per configuration): {compiled}")
    out.print(f"chart: {plot_path}   " + (f"atlas: {atlas_path}   " if atlas_path else "")
              + f"database: {db}")
    for res in results:
        if res.frontier.stopped_by in ("budget", "memory"):
            out.print(f"{res.config.label()}: censored by {res.frontier.stopped_by} at n = "
                      f"{res.frontier.stopped_at}; the frontier is {res.frontier.n} or more"
                      + ("" if res.frontier.censored else f", below {res.frontier.failed}"))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _sweep_on_cluster(address: str, plan, store, on_config, on_trial) -> list:
    from bottlenet import cluster

    ray = cluster.connect(address)
    try:
        with cluster_status() as show:
            return cluster.sweep(ray, plan, store, on_config, on_trial, show)
    finally:
        ray.shutdown()


def _check_atlas(atlas: Path | None, plan) -> None:
    if atlas is not None and len({c.hidden for c in plan.configs}) < 2:
        raise SpecError("--atlas draws a sweep over several --hidden values; this one has one")


@command(app)
def construct(
    ctx: typer.Context,
    symbols: Annotated[int, typer.Option(help="Number of symbols n.")] = 1000,
    hidden: Annotated[int, typer.Option(help="Hidden tanh units: 1 (line envelope) or >= 2 "
                                        "(codes on a circle, or a grid).")] = 2,
    method: Annotated[str, typer.Option(
        help="circle: codes on a circle in two units (the article's picture); grid: codes "
        "on a grid in all k units, output t scoring -|h - c_t|^2 (margins shrink like "
        "n^(-2/k) instead of n^-2, so far more symbols fit in float32).")] = "circle",
    task: Annotated[str, typer.Option(help="shift, identity or permutation.")] = "shift",
    prob: Annotated[float, typer.Option(
        help="Smallest probability the correct output must get.")] = 0.9,
    radius: Annotated[float, typer.Option(help="Radius of the codes inside (-1, 1).")] = 0.9,
    seed: Annotated[int, typer.Option(help="Seed of a permutation task.")] = 0,
    dtype: Annotated[str, typer.Option(
        help=f"Precision of the weights kept and saved: {', '.join(DTYPES)} (`bottlenet "
        "check` then holds them to that precision's rule).")] = "float32",
    save: Annotated[Path | None, typer.Option(
        help="Write the network as a model file (for show, draw and check).")] = None,
    force: Annotated[bool, typer.Option(help="Let --save overwrite an existing file.")]
    = False,
    limit: Annotated[bool, typer.Option(
        "--limit", help="Also measure the largest n this construction carries under the "
        "rule of --dtype (on the shift task): bisection, each n checked exactly by "
        "`bottlenet check`'s nearest-code check (k <= 8), up to 10,000,000 symbols. "
        "Seconds for a circle, about 2 minutes for the 2-unit grid (650,000 symbols).")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
):
    """Build weights by hand that solve the task for any n, and check them.

    The check uses the trainer's own forward pass: are the article's limits limits of
    representation or of training?"""
    import numpy as np

    from bottlenet import construct as hand
    from bottlenet import modelfile, tasks

    if task not in ("shift", "identity", "permutation"):
        raise SpecError("construct takes --task shift, identity or permutation")
    if task != "permutation":
        refuse_unused(ctx, {"seed": "--seed"}, f"with --task {task} (it draws no table)")
    tasks.check_symbols(symbols)
    hand.check_settings(symbols, hidden, prob, radius, method)
    check_dtype(dtype)
    if limit:
        hand.check_limit_settings(hidden, method, dtype, radius)
    if save:
        check_output(save, "--save", replace=force)
    t = tasks.builtin(task, symbols, seed)
    c = hand.construct(t, hidden, prob, radius, method, dtype)
    maxw = [float(np.max(np.abs(layer["w"]))) for layer in c.params]
    estimate = hand.margin_limit(hidden, method, radius)
    result: dict[str, Any] = {
              "task": t.name, "hidden": hidden, "method": c.method, "scale": c.scale,
              "float32_limit_estimate": estimate,
              "target_probability": prob, "min_probability": c.min_probability,
              "solved_float32": c.solved_float32, "solved_float64": c.solved_float64,
              "dtype": c.dtype,
              "max_weight_per_layer": maxw, "connections": c.spec.n_connections}
    if save:
        result["saved_to"] = str(modelfile.save(hand.as_population(c), save))
    if limit:
        result["checked_limit"] = _checked_limit(hidden, method, dtype, radius)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    tab = key_value_table()
    tab.add_row("task", f"{t.name}: {t.n_pairs} pairs, {hidden} tanh unit(s), "
                f"{c.spec.n_connections} connections")
    tab.add_row("construction", c.method)
    tab.add_row("weight scale", f"{c.scale:.4g} (smallest giving every correct output "
                f"p >= {prob})")
    tab.add_row("worst probability", f"{c.min_probability:.6f}")
    tab.add_row("max |w|", ", ".join(f"layer {i + 1}: {w:.4g}" for i, w in enumerate(maxw)))
    tab.add_row("solved", f"float32 {'yes' if c.solved_float32 else 'NO'}, float64 "
                f"{'yes' if c.solved_float64 else 'NO'} (trainer's forward pass; a win "
                "needs a margin that rounding cannot undo)")
    tab.add_row("float32 limit", f"about {estimate:,} symbols for this construction "
                "(estimate from its smallest margin)")
    if limit:
        found = result["checked_limit"]
        beyond = found["smallest_failing"] is None
        tab.add_row(f"{dtype} limit, checked", (
            f"more than {found['largest_solved']:,} symbols (the most checked)" if beyond
            else f"{found['largest_solved']:,} symbols ({found['smallest_failing']:,} fail)")
            + f", found in {found['seconds']:.0f} s")
    if save:
        tab.add_row("saved", str(result["saved_to"]))
    out.print(tab)


def _checked_limit(hidden: int, method: str, dtype: str, radius: float) -> dict:
    """construct --limit: the bisection, with a line per check on a progress display."""
    import time

    from bottlenet import construct as hand

    start = time.perf_counter()
    with progress_bar("checks") as bar:
        job = bar.add_task(f"{dtype} limit of the {method} in {hidden} unit(s)", total=None)

        def heard(n: int, solved: bool) -> None:
            bar.update(job, advance=1, description=f"{dtype} limit: n = {n:,} "
                       f"{'solved' if solved else 'fails'}")

        lo, hi = hand.checked_limit(hidden, method, dtype, radius, on_check=heard)
    return {"largest_solved": lo, "smallest_failing": hi,
            "seconds": round(time.perf_counter() - start, 1)}


@command(app)
def argmax(
    model: Annotated[Path, typer.Argument(help="A .npz model file.")],
    net: Annotated[int | None, typer.Option(help=NET_HELP, show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print margins as JSON.")] = False,
):
    """Which outputs can ever win (be the argmax) anywhere in the hidden space.

    One linear program per output. An output that can never win explains a failure."""
    from bottlenet import modelfile
    from bottlenet.construct import winnable

    pop = modelfile.load(model)
    i = pick_network(pop, net)
    margins = winnable(pop.spec, pop.network(i))
    needed = sorted({int(t) for t in pop.task.solve_targets()})
    never = [j for j in range(pop.spec.n_out) if margins[j] <= 0]
    blocked = [j for j in needed if margins[j] <= 0]
    if as_json:
        print(json.dumps({"network": i, "margins": margins.tolist(), "never_win": never,
                          "targets_that_cannot_win": blocked}, indent=2))
        return
    names = pop.task.out_name
    out.print(f"network {i}: {pop.spec.n_out - len(never)} of {pop.spec.n_out} outputs can "
              f"win somewhere in the hidden space ({pop.spec.activation} range)")
    if never:
        out.print("never win: " + ", ".join(names(j) for j in never))
    if blocked:
        out.print("[bold red]targets that can never win[/] (the network cannot solve the "
                  "task): " + ", ".join(names(j) for j in blocked))
    else:
        out.print("every target output can win somewhere")


@command(app)
def check(
    model: Annotated[Path, typer.Argument(help="A .npz model file (train --save, construct "
                                          "--save, the playground's export).")],
    net: Annotated[int | None, typer.Option(
        help="Check only this network (default: all).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print every network's outcome and the total solved as JSON.")]
    = False,
):
    """Check saved networks by the strict solve rule, recomputed in float64: outcome and
    smallest winning margin of each.

    Every pair against every output, in float64, in chunks (memory stays small whatever
    n is) on all cores; for one hidden layer of at most 8 units and 4,096 outputs or
    more, exactly the same rule through a k-d tree of the output vectors (each pair
    against its nearest outputs, with a bound that proves the rest lose to them: seconds
    instead of an n x n pass; method "nearest" in the JSON). A network is held to the
    rule of the precision it was trained or made for: its target must beat every other
    output by 2^-20 (float32) or 2^-49 (float64) of the size of the terms summed into a
    logit. The margin column is the smallest (target - best other) over that size: how
    far from its precision's wall the network stands (negative: some pair is lost
    outright). "on hull" tells the code apart: the share of output vectors on their
    convex hull (1 for codes on a circle, about 2^k/n for a grid)."""
    from bottlenet import modelfile
    from bottlenet.check import check_population

    pop = modelfile.load(model)
    chosen = None if net is None else [pick_network(pop, net)]
    with progress_bar("chunks") as bar:
        job = bar.add_task(f"checking {pop.size if net is None else 1} network(s), "
                           f"n = {pop.task.n_out}", total=None)
        result = check_population(pop, chosen,
                                  lambda d, n: bar.update(job, completed=d, total=n))
    report = result.to_dict()
    if as_json:
        print(json.dumps(report, indent=2))
        return
    from rich.table import Table

    tab = Table(title=f"{model}: {pop.task.name}, {pop.task.n_pairs} pairs; rule of "
                f"{result.dtype} (margin >= {result.rtol:.3g} of the logit size), computed "
                "in float64")
    if any(row["method"] == "nearest" for row in report["networks"]):
        tab.caption = ("every pair against its nearest outputs, the rest excluded by a bound "
                       "(exact; see --help)")
    for col in ("network", "solved", "pairs won", "smallest margin", "at pair", "on hull"):
        tab.add_column(col, justify="right")
    for row in report["networks"]:
        hull = "-" if row["hull_share"] is None else f"{row['hull_share']:.3f}"
        tab.add_row(str(row["network"]), "yes" if row["solved"] else "[bold red]NO[/]",
                    f"{row['won']}/{row['pairs']}", f"{row['margin']:.3g}",
                    str(row["worst_pair"]), hull)
    out.print(tab)
    out.print(f"solved: {result.solved} of {len(result.networks)}   ({result.seconds:.1f} s)")
