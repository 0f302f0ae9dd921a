"""The `bottlenet` command. Every command catches bottlenet's typed errors at its
boundary and turns them into one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from bottlenet import activations, modelfile, tasks
from bottlenet.capacity import CapacityConfig
from bottlenet.errors import BottlenetError, SpecError
from bottlenet.net import HEADS, NetSpec
from bottlenet.stats import wilson_interval
from bottlenet.train import OPTIMIZERS, SCHEDULES, STOPS, TrainConfig

_TRAIN = TrainConfig()  # the trainer's defaults are the command's defaults

class _Commands(TyperGroup):
    """The command group. The compressor's commands are added when first asked for, so
    the others never import the compressor's compiled code (numba takes 0.7 s to import,
    a tenth of a whole `train` run)."""

    LAZY = ("compress", "decompress")

    def list_commands(self, ctx):
        return [*super().list_commands(ctx), *(n for n in self.LAZY if n not in self.commands)]

    def get_command(self, ctx, name):
        if name in self.LAZY and name not in self.commands:
            from bottlenet.compress import commands  # the commands live beside the compressor

            lazy = typer.Typer()
            for command, fn in (("compress", commands.compress_command),
                                ("decompress", commands.decompress_command)):
                lazy.command(command, help=_reflow(fn.__doc__ or ""))(cli_errors(fn))
            for command, click_command in typer.main.get_group(lazy).commands.items():
                self.add_command(click_command, command)
        return super().get_command(ctx, name)


app = typer.Typer(
    help="bottlenet: train populations of tiny bottleneck networks (one-hot inputs -> k "
    "hidden units -> softmax) on discrete mappings and measure what k units can carry.",
    cls=_Commands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def cli_errors(fn):
    """Bad input -> one clear line on stderr, exit code 2, no traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BottlenetError as e:
            err.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    return wrapper


def parse_hidden(text: str) -> tuple[int, ...]:
    """'2' -> (2,), '0' -> () (direct connections), '3,3' -> two hidden layers."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SpecError(f"--hidden takes a size or comma-separated sizes, got {text!r}") from None
    if not sizes or any(s < 0 for s in sizes) or (0 in sizes and len(sizes) > 1):
        raise SpecError(f"--hidden must be 0 (no hidden layer) or sizes >= 1, got {text!r}")
    return () if sizes == [0] else tuple(sizes)


def progress_bar() -> Progress:
    """A step counter on stderr; each caller names its task."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("steps"), TimeElapsedColumn(), console=err, transient=True)


@app.command()
@cli_errors
def train(
    task: Annotated[str, typer.Option(
        help=f"Built-in task: {', '.join(tasks.BUILTIN_TASKS)}. 'shift' is the article's "
        "'input i fires output i+1'.")] = "shift",
    symbols: Annotated[int, typer.Option(help="Number of symbols n for a built-in task.")] = 11,
    table: Annotated[Path | None, typer.Option(
        help="CSV (input,output[,frequency] per row) or JSON ({'pairs': [[in, out], ...]}) "
        "table of named pairs; replaces --task.")] = None,
    hidden: Annotated[str, typer.Option(
        help="Hidden units k; 0 = direct connections; '3,3' = two hidden layers.")] = "2",
    activation: Annotated[str, typer.Option(
        help=f"Hidden activation: {', '.join(activations.names())}.")] = "tanh",
    output: Annotated[str, typer.Option(
        help=f"Output head: {', '.join(HEADS)} (softmax = cross-entropy; tanh/sigmoid = "
        "squared error, the article's 'tanh alone').")] = "softmax",
    bias: Annotated[bool, typer.Option(help="Biases on every layer.")] = True,
    optimizer: Annotated[str, typer.Option(help=f"One of: {', '.join(OPTIMIZERS)}.")]
    = _TRAIN.optimizer,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = _TRAIN.lr,
    schedule: Annotated[str, typer.Option(
        help=f"Learning-rate schedule: {', '.join(SCHEDULES)}.")] = _TRAIN.schedule,
    steps: Annotated[int, typer.Option(help="Most training steps.")] = _TRAIN.steps,
    seeds: Annotated[int, typer.Option(help="Population size: networks trained at once.")]
    = _TRAIN.seeds,
    seed: Annotated[int, typer.Option(help="First seed; network i uses seed + i.")] = 0,
    batch: Annotated[int, typer.Option(
        help="Pairs per step, drawn by frequency; 0 = full batch.")] = 0,
    init_scale: Annotated[float, typer.Option(help="Scale of the initial weights.")]
    = _TRAIN.init_scale,
    logit_scale: Annotated[bool, typer.Option(
        help="Learn a scale s of the output layer (log-parametrised): the same networks, "
        "but the weights grow as fast as large n needs. --no-logit-scale --lr 0.05 is the "
        "article's regime.")] = _TRAIN.logit_scale,
    stop: Annotated[str, typer.Option(
        help=f"{', '.join(STOPS)}: 'each' = every network stops learning at its first "
        "solve and keeps those weights, the run ends when all have; 'solved' = the run "
        "ends once all have solved, the solved ones learning on meanwhile; 'never' = run "
        "every step.")] = _TRAIN.stop,
    snapshots: Annotated[str, typer.Option(
        help="Comma-separated steps whose weights are kept for pictures.")] = "",
    save: Annotated[Path | None, typer.Option(help="Write the population to this .npz file.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """Train a population of networks and summarise how many solved the task.

    Defaults: the article's shift task on 11 symbols, 2 tanh units, softmax output, biases;
    full-batch Adam at lr 0.02 with a learned logit scale for up to 5000 steps, 64
    networks, each stopping at its first solve: the regime that solved shift tasks
    fastest and up to the largest n in our measurements (for a thousand symbols and
    more, --lr 0.01).
    """
    from bottlenet.train import train as run_training

    t = tasks.from_file(table) if table else tasks.builtin(task, symbols, seed)
    spec = NetSpec(t.n_in, t.n_out, parse_hidden(hidden), activation, bias, output)
    try:
        snaps = tuple(int(s) for s in snapshots.split(",") if s.strip())
    except ValueError:
        raise SpecError(f"--snapshots takes comma-separated steps, got {snapshots!r}") from None
    cfg = TrainConfig(optimizer=optimizer, lr=lr, steps=steps, seeds=seeds, seed=seed,
                      batch=batch or None, schedule=schedule, init_scale=init_scale,
                      logit_scale=logit_scale, stop=stop, snapshots=snaps)
    with progress_bar() as bar:
        job = bar.add_task(f"training {seeds} networks", total=steps)
        pop = run_training(t, spec, cfg, progress=lambda d, n: bar.update(job, completed=d))
    summary = pop.summary()
    if save:
        summary["saved_to"] = str(modelfile.save(pop, save))
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)


def _fmt_describe(d: dict | None, digits: int = 0) -> str:
    if d is None:
        return "-"
    f = f"{{:.{digits}f}}"
    return (f"median {f.format(d['median'])} (quartiles {f.format(d['q1'])}-"
            f"{f.format(d['q3'])}, range {f.format(d['min'])}-{f.format(d['max'])})")


def key_value_table() -> Table:
    """Two columns, no borders: a label in bold and its value."""
    tab = Table(show_header=False, box=None, pad_edge=False)
    tab.add_column(style="bold")
    tab.add_column()
    return tab


def print_summary(s: dict) -> None:
    net = s["network"]
    hidden = "x".join(map(str, net["hidden"])) or "0"
    lo, hi = s["solved_rate_ci95"]
    tab = key_value_table()
    tab.add_row("task", f"{s['task']}: {s['symbols']['inputs']} inputs, "
                f"{s['symbols']['outputs']} outputs, {s['symbols']['pairs']} pairs")
    tab.add_row("network", f"hidden {hidden} {net['activation']}, {net['head']} output, "
                f"{'with' if net['bias'] else 'no'} biases, {s['connections']} connections")
    tab.add_row("solved", f"{s['solved']} of {s['networks']} ({100 * s['solved_rate']:.0f}%, "
                f"95% CI {100 * lo:.0f}-{100 * hi:.0f}%)")
    tab.add_row("solve step", _fmt_describe(s["solve_step"]))
    tab.add_row("final loss", _fmt_describe(s["final_loss"], 4))
    for i, d in enumerate(s["max_weight_per_layer"]):
        tab.add_row(f"max |w| layer {i + 1}", _fmt_describe(d, 2))
    tab.add_row("diverged", str(s["diverged"]))
    tab.add_row("steps run", f"{s['steps_run']} in {s['wall_time_s']:.1f}s "
                f"({s['network_steps_per_s']:,} network-steps/s)")
    if "saved_to" in s:
        tab.add_row("saved", s["saved_to"])
    out.print(tab)


@app.command()
@cli_errors
def show(
    model: Annotated[Path, typer.Argument(help="A .npz file written by `train --save`.")],
    net: Annotated[int, typer.Option(help="Which network; default: the best solved one.")] = -1,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary and weights as JSON.")]
    = False,
):
    """Summarise a saved population and print one network's weights as tables."""
    pop = modelfile.load(model)
    i = pop.best() if net < 0 else net
    if not 0 <= i < pop.size:
        raise SpecError(f"--net must be in 0..{pop.size - 1}, got {net}")
    params = pop.network(i)
    if as_json:
        s = pop.summary()
        s["shown_network"] = i
        s["weights"] = [{k: np.asarray(v).tolist() for k, v in layer.items()} for layer in params]
        print(json.dumps(s, indent=2))
        return
    print_summary(pop.summary())
    status = "solved" if pop.solved[i] else "not solved"
    out.print(f"\n[bold]network {i}[/] (seed {pop.seeds[i]}, {status}, "
              f"loss {pop.final_loss[i]:.4g})")
    for layer_table in weight_tables(pop, params):
        out.print(layer_table)


def weight_tables(pop, params) -> list[Table]:
    """One table per layer; the long side (symbols) runs down the rows."""
    sizes = pop.spec.sizes
    names = [[pop.task.in_name(j) for j in range(sizes[0])]]
    names += [[f"h{li + 1}.{j + 1}" for j in range(s)] for li, s in enumerate(sizes[1:-1])]
    names += [[pop.task.out_name(j) for j in range(sizes[-1])]]
    tables = []
    for li, layer in enumerate(params):
        w = np.asarray(layer["w"])
        b = np.asarray(layer["b"]) if "b" in layer else None
        src, dst = names[li], names[li + 1]
        title = f"layer {li + 1}: {'inputs' if li == 0 else 'hidden'} -> " \
                f"{'outputs' if li == len(params) - 1 else 'hidden'}"
        transpose = w.shape[1] > w.shape[0]  # keep the long side vertical
        tab = Table(title=title, title_justify="left")
        if transpose:
            tab.add_column("to \\ from")
            for s in src:
                tab.add_column(s, justify="right")
            if b is not None:
                tab.add_column("bias", justify="right", style="dim")
            for j, d in enumerate(dst):
                row = [f"{x:+.2f}" for x in w[:, j]]
                tab.add_row(d, *row, *([f"{b[j]:+.2f}"] if b is not None else []))
        else:
            tab.add_column("from \\ to")
            for d in dst:
                tab.add_column(d, justify="right")
            for i, s in enumerate(src):
                tab.add_row(s, *[f"{x:+.2f}" for x in w[i]])
            if b is not None:
                tab.add_row("bias", *[f"{x:+.2f}" for x in b], style="dim")
        tables.append(tab)
    return tables


def _pick_input(task, text: str) -> int:
    """--walk takes a 1-based input number (as the article counts) or a symbol name."""
    if task.in_names and text in task.in_names:
        return task.in_names.index(text)
    try:
        i = int(text) - 1
    except ValueError:
        raise SpecError(f"--walk takes an input number 1..{task.n_in} or a symbol name, "
                        f"got {text!r}") from None
    if not 0 <= i < task.n_in:
        raise SpecError(f"--walk must be in 1..{task.n_in}, got {text}")
    return i


@app.command()
@cli_errors
def draw(
    model: Annotated[Path, typer.Argument(help="A .npz file written by `train --save`.")],
    out_file: Annotated[Path, typer.Option("--out", help="Picture file: .svg or .png.")],
    net: Annotated[int, typer.Option(help="Which network; default: the best solved one.")] = -1,
    walk: Annotated[str | None, typer.Option(
        help="Walk one input (number from 1, or name) through the sums to the winner.")]
    = None,
    space: Annotated[bool, typer.Option(
        help="Draw the hidden-space code (k >= 2): codes, output arrows, winner regions.")]
    = False,
    training: Annotated[bool, typer.Option(
        help="Draw loss, accuracy and largest weights over training (whole population).")]
    = False,
    numbers: Annotated[bool | None, typer.Option(
        "--numbers/--lines", help="Article-style numbers on nodes, or lines only; default: "
        "numbers above 12 symbols.", show_default=False)] = None,
    pow2: Annotated[bool, typer.Option(
        help="In --walk, write softmax as powers of two, as the article explains it.")]
    = False,
    step: Annotated[int | None, typer.Option(
        help="Draw the weights of a snapshot step (see train --snapshots).")] = None,
):
    """Draw a saved network: diagram (default), --walk, --space or --training."""
    from bottlenet import draw as pictures

    if sum([walk is not None, space, training]) > 1:
        raise SpecError("choose one of --walk, --space, --training")
    pop = modelfile.load(model)
    i = pop.best() if net < 0 else net
    if not 0 <= i < pop.size:
        raise SpecError(f"--net must be in 0..{pop.size - 1}, got {net}")
    params = pop.network(i)
    label = f"network {i} (seed {pop.seeds[i]})"
    if step is not None:
        if step not in pop.snapshots:
            kept = ", ".join(map(str, sorted(pop.snapshots))) or "none"
            raise SpecError(f"no snapshot at step {step} (kept: {kept})")
        params = pop.network(i, step)
        label += f" at step {step}"
    if training:
        fig = pictures.training_charts(pop)
    elif walk is not None:
        fig = pictures.walkthrough(pop.spec, pop.task, params, _pick_input(pop.task, walk), pow2)
    elif space:
        fig = pictures.hidden_space(pop.spec, pop.task, params, title=None)
    else:
        fig = pictures.diagram(pop.spec, pop.task, params, numbers, title=label)
    path = pictures.save(fig, out_file)
    err.print(f"wrote {path}")


def parse_list(text: str, kind, option: str) -> list:
    """'1,2,4' -> [1, 2, 4]; empty or malformed lists are bad input."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise SpecError(f"{option} takes a comma-separated list, got {text!r}")
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise SpecError(f"{option}: {text!r} is not a list of {kind.__name__} values") from None


@app.command()
@cli_errors
def capacity(
    hidden: Annotated[str, typer.Option(help="Hidden units k, comma-separated.")] = "1,2,3",
    activation: Annotated[str, typer.Option(
        help="Activations, comma-separated: " + ", ".join(activations.names()) + ".")]
    = "tanh",
    task: Annotated[str, typer.Option(help=f"Task: {', '.join(tasks.BUILTIN_TASKS)}.")]
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
    max_symbols: Annotated[int, typer.Option(help="Largest n the search may try.")] = 1024,
    db: Annotated[Path, typer.Option(help="Results database (SQLite).")]
    = Path("results/bottlenet.db"),
    plot: Annotated[Path | None, typer.Option(
        help="Success-rate chart (.svg/.png); default results/capacity.png.")] = None,
    atlas: Annotated[Path | None, typer.Option(
        help="Frontier against k beside what k units can represent (.svg/.png), drawn "
        "when the sweep has several k; default results/capacity-atlas.png.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Re-run the last sweep recorded in --db with its own settings; finished "
        "trials are reused, never run again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
):
    """Measure capacity: the largest n that k units learn, with 95% intervals.

    For every (k, activation): the largest n that at least --threshold of the seeds
    learn within the step budget, with its Wilson 95% interval.

    n grows geometrically until a trial fails, then bisection finds the frontier. Every
    trial is stored in --db as soon as it ends: an interrupted sweep loses nothing and
    `--resume` continues it.
    """
    from bottlenet import draw as pictures
    from bottlenet.capacity import measure, representable
    from bottlenet.store import Store

    with Store(db) as store:
        if resume:
            args = store.last_sweep()
            if args is None:
                raise SpecError(f"no sweep recorded in {db} to resume")
        else:
            if not 0 < threshold <= 1:
                raise SpecError(f"--threshold must lie in (0, 1], got {threshold}")
            if max_symbols < 4:
                raise SpecError(f"--max-symbols must be at least 4, got {max_symbols}")
            ks = parse_list(hidden, int, "--hidden")
            acts = parse_list(activation, str, "--activation")
            base = {"task": task, "optimizer": optimizer, "lr": lr, "schedule": schedule,
                    "steps": steps, "seeds": seeds, "seed": seed, "bias": bias,
                    "logit_scale": logit_scale}
            configs = [dict(base, hidden=k, activation=a) for a in acts for k in ks]
            for c in configs:
                CapacityConfig(**c)  # validate everything before the first trial
            args = {"configs": configs, "threshold": threshold, "max_symbols": max_symbols}
            store.save_sweep(args)
        # sweeps recorded before the logit scale existed ran without it
        configs = [CapacityConfig(**{"logit_scale": False, **c}) for c in args["configs"]]
        results = []

        def on_trial(cfg, rec, cached):
            lo, hi = wilson_interval(rec.successes, rec.trials)
            origin = "from database" if cached else f"{rec.wall_time:.1f}s"
            err.print(f"  {cfg.label():<14} n={rec.n:<5} {rec.successes:>3}/{rec.trials} "
                      f"solved  [{100 * lo:.0f}-{100 * hi:.0f}%]  ({origin})")

        try:
            with progress_bar() as bar:
                job = bar.add_task("trial", total=None)

                def progress(done, total):
                    bar.update(job, completed=done, total=total)

                for cfg in configs:
                    err.print(f"[bold]{cfg.label()}[/]: {cfg.task}, {cfg.optimizer} lr "
                              f"{cfg.lr}, {cfg.steps} steps, {cfg.seeds} seeds")
                    results.append(measure(cfg, store, args["threshold"], args["max_symbols"],
                                           on_trial=on_trial, progress=progress))
        except KeyboardInterrupt:
            err.print(f"interrupted: {store.count()} finished trials are kept in {db}; "
                      "`bottlenet capacity --resume` continues")
            raise typer.Exit(130) from None
    plot_path = pictures.save(pictures.capacity_chart(results),
                              plot or db.parent / "capacity.png")
    ks = {r.config.hidden for r in results}
    atlas_path = None
    if len(ks) > 1:
        groups: dict[str, list] = {}
        for r in results:
            groups.setdefault(f"trained, {r.config.activation}", []).append(r)
        atlas_path = pictures.save(pictures.capacity_atlas(groups, representable(ks)),
                                   atlas or db.parent / "capacity-atlas.png")
    rows = [r.summary() for r in results]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    c0 = results[0].config
    tab = Table(title=f"capacity on {c0.task}: largest n solved by >= {args['threshold']:.0%} "
                f"of {c0.seeds} seeds in {c0.steps} steps ({c0.optimizer}, lr {c0.lr}, "
                f"{c0.schedule}{', learned logit scale' if c0.logit_scale else ''})")
    for col in ("k", "activation", "frontier n", "success at n", "95% CI", "connections",
                "trials (new)"):
        tab.add_column(col, justify="left" if col == "activation" else "right")
    for r, res in zip(rows, results, strict=True):
        lo, hi = r["success_ci95"]
        tab.add_row(str(res.config.hidden), res.config.activation,
                    f"{r['frontier_n']}{'+' if r['censored'] else ''}",
                    "-" if r["success_rate"] is None else f"{100 * r['success_rate']:.0f}%",
                    f"{100 * lo:.0f}-{100 * hi:.0f}%", str(r["connections_at_frontier"]),
                    f"{len(r['trials'])} ({r['trials_run_now']})")
    out.print(tab)
    compiled = sum(len(r["padded_sizes_compiled"]) for r in rows)
    out.print(f"padded sizes trained (one compilation each per configuration): {compiled}")
    out.print(f"chart: {plot_path}   " + (f"atlas: {atlas_path}   " if atlas_path else "")
              + f"database: {db}   ('+': passed at --max-symbols)")


@app.command()
@cli_errors
def construct(
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
    save: Annotated[Path | None, typer.Option(
        help="Write the network as a model file (for show and draw).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
):
    """Build weights by hand that solve the task for any n, and check them.

    The check uses the trainer's own forward pass: are the article's limits limits of
    representation or of training?"""
    from bottlenet import construct as hand

    if task not in ("shift", "identity", "permutation"):
        raise SpecError("construct takes --task shift, identity or permutation")
    t = tasks.builtin(task, symbols, seed)
    c = hand.construct(t, hidden, prob, radius, method)
    maxw = [float(np.max(np.abs(layer["w"]))) for layer in c.params]
    limit = hand.margin_limit(hidden, method, radius)
    result = {"task": t.name, "hidden": hidden, "method": c.method, "scale": c.scale,
              "float32_limit_estimate": limit,
              "target_probability": prob, "min_probability": c.min_probability,
              "solved_float32": c.solved_float32, "solved_float64": c.solved_float64,
              "max_weight_per_layer": maxw, "connections": c.spec.n_connections}
    if save:
        result["saved_to"] = str(modelfile.save(hand.as_population(c), save))
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
    tab.add_row("float32 limit", f"about {limit:,} symbols for this construction "
                "(estimate from its smallest margin)")
    if save:
        tab.add_row("saved", result["saved_to"])
    out.print(tab)


@app.command()
@cli_errors
def argmax(
    model: Annotated[Path, typer.Argument(help="A .npz model file.")],
    net: Annotated[int, typer.Option(help="Which network; default: the best one.")] = -1,
    as_json: Annotated[bool, typer.Option("--json", help="Print margins as JSON.")] = False,
):
    """Which outputs can ever win (be the argmax) anywhere in the hidden space.

    One linear program per output. An output that can never win explains a failure."""
    from bottlenet.construct import winnable

    pop = modelfile.load(model)
    i = pop.best() if net < 0 else net
    if not 0 <= i < pop.size:
        raise SpecError(f"--net must be in 0..{pop.size - 1}, got {net}")
    margins = winnable(pop.spec, pop.network(i))
    needed = sorted(set(int(t) for t in pop.task.solve_targets()))
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


@app.command()
@cli_errors
def reproduce(
    full: Annotated[bool, typer.Option(
        help="More seeds and longer budgets (64 seeds, 20,000 steps; capacity 32 seeds up "
        "to n=1024): much slower.")] = False,
    only: Annotated[str | None, typer.Option(
        help="Some claims only, e.g. C4,C13 (C1-C17).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")]
    = Path("results/report"),
    db: Annotated[Path, typer.Option(help="Results database (reused by later runs).")]
    = Path("results/bottlenet.db"),
    fresh: Annotated[bool, typer.Option(
        help="Run every claim again instead of reusing finished ones from --db.")] = False,
    seed: Annotated[int, typer.Option(help="First seed of every population.")] = 0,
):
    """Reproduce every claim of the article, with verdicts, pictures and a report.

    Every claim of Skarupke (2016) and its comments is measured, judged by a rule written
    in the code, drawn, and written to a self-contained HTML report with the measurements
    as JSON beside it. Finished claims are reused from --db."""
    import jax

    from bottlenet import __version__
    from bottlenet.experiments import Budget, Context, run_claim, select
    from bottlenet.report import write_report
    from bottlenet.store import Store

    claims = select(only)
    budget = Budget.full() if full else Budget.quick()
    results = []
    with Store(db) as store:
        ctx = Context(budget, store, seed)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("claims"), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            job = bar.add_task("reproducing", total=len(claims))
            for claim in claims:
                bar.update(job, description=f"{claim} running")
                try:
                    result, cached = run_claim(claim, ctx, reuse=not fresh)
                except KeyboardInterrupt:
                    err.print(f"interrupted during {claim}; finished claims are kept in {db}")
                    raise typer.Exit(130) from None
                results.append(result)
                origin = "from database" if cached else f"{result.seconds:.0f}s"
                bar.console.print(f"{claim:<4} {result.verdict:<35} {result.title} ({origin})",
                                  markup=False, highlight=False)
                bar.advance(job)
    meta = {"mode": budget.name, "claims": len(results), "version": __version__,
            "jax": jax.__version__, "platform": jax.default_backend(), "seed": seed}
    index = write_report(results, out_dir, meta)
    tab = Table(title="bottlenet reproduce", show_lines=True)
    for col, width in (("claim", 5), ("article", 22), ("measured", 44), ("verdict", 14)):
        tab.add_column(col, max_width=width, overflow="fold")
    for r in results:
        measured = r.measured if len(r.measured) < 160 else r.measured[:157] + "..."
        tab.add_row(r.id, r.article_figure, measured, r.verdict)
    out.print(tab)
    out.print(f"report: {index}   measurements: {index.parent / 'results.json'}")


def _reflow(doc: str) -> str:
    """A docstring as help text: the lines of each paragraph joined, so the terminal
    wraps them (typer keeps a docstring's own line breaks, which on an 80-column
    terminal cut every line in two); indented paragraphs (examples) stay as written."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith(" ") else " ".join(x.strip() for x in p.splitlines())
                       for p in paragraphs)


for _info in app.registered_commands:
    _info.help = _info.help or _reflow(_info.callback.__doc__ or "")


def _enable_compilation_cache() -> None:
    """Keep compiled programs on disk between runs (JAX's persistent cache): a second
    `reproduce` or sweep skips most compile time. BOTTLENET_CACHE=off disables it."""
    import os

    where = os.environ.get("BOTTLENET_CACHE", str(Path.home() / ".cache" / "bottlenet" / "jax"))
    if where.lower() in ("off", "0", "no", ""):
        return
    import jax

    try:
        jax.config.update("jax_compilation_cache_dir", where)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.3)
    except (AttributeError, ValueError):  # an older JAX without these settings
        pass


def main() -> None:
    _enable_compilation_cache()
    sys.exit(app())
