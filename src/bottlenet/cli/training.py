"""`bottlenet train` and `bottlenet show`: train a population, and look at a saved one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from bottlenet.choices import (
    ACTIVATIONS,
    DTYPES,
    HEADS,
    OPTIMIZERS,
    SCHEDULES,
    SOFTMAXES,
    STOPS,
    TASKS,
)
from bottlenet.cli.console import (
    NET_HELP,
    command,
    command_group,
    err,
    key_value_table,
    out,
    parse_hidden,
    parse_list,
    pick_network,
    progress_bar,
    refuse_unused,
)
from bottlenet.config import TrainConfig
from bottlenet.errors import SpecError
from bottlenet.files import check_output
from bottlenet.softmax import DRAWN, HARD

app = command_group()
# Past this many pairs a full-batch run says what a step costs and names the cheap path.
FULL_BATCH_HINT = 4096
_TRAIN = TrainConfig()  # the trainer's defaults are the command's defaults


@command(app)
def train(
    ctx: typer.Context,
    task: Annotated[str, typer.Option(
        help=f"Built-in task: {', '.join(TASKS)}. 'shift' is the article's "
        "'input i fires output i+1'.")] = "shift",
    symbols: Annotated[int, typer.Option(help="Number of symbols n for a built-in task.")] = 11,
    table: Annotated[Path | None, typer.Option(
        help="CSV (input,output[,frequency] per row) or JSON ({'pairs': [[in, out], ...]}) "
        "table of named pairs; replaces --task.")] = None,
    hidden: Annotated[str, typer.Option(
        help="Hidden units k; 0 = direct connections; '3,3' = two hidden layers.")] = "2",
    activation: Annotated[str, typer.Option(
        help=f"Hidden activation: {', '.join(ACTIVATIONS)}; leaky_relu:S for "
        "another slope S below zero (0 < S < 1).")] = "tanh",
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
    task_seed: Annotated[int, typer.Option(
        help="Seed of the table a permutation or random task draws, apart from --seed, so "
        "networks can vary on one fixed table.")] = 0,
    batch: Annotated[int, typer.Option(
        help="Pairs per step, drawn by frequency, each against every output (a step costs "
        "batch x n instead of n x n; solves are then checked every few steps, in chunks); "
        "0 = full batch, which needs far fewer steps. Minibatches need a smaller, decaying "
        "rate to settle: --lr 0.003 --schedule cosine (README, Capacity).")] = 0,
    softmax: Annotated[str, typer.Option(
        help=f"{', '.join(SOFTMAXES)}: 'full' computes every pair against every output "
        f"(n x n a step); 'sampled' each pair against its {HARD} strongest competitors and "
        f"{DRAWN} outputs drawn at random (n x {HARD + DRAWN}), solves still checked against "
        "every output. Full is the default at any n (in chunks of pairs from about 1,200 "
        "symbols): by measurement it reaches solutions sooner (README, Capacity).")]
    = _TRAIN.softmax,
    dtype: Annotated[str, typer.Option(
        help=f"Precision: {', '.join(DTYPES)}. float64 runs this training in JAX's x64 "
        "mode (3.5-4 times the time) and its solve rule asks for a margin of 2^-49 of the "
        "logits' size instead of 2^-20.")] = _TRAIN.dtype,
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
    save: Annotated[Path | None, typer.Option(
        help="Write the population to this .npz model file (for show, draw, argmax).")]
    = None,
    force: Annotated[bool, typer.Option(help="Let --save overwrite an existing file.")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """Train a population of networks and summarise how many solved the task.

    Defaults: the article's shift task on 11 symbols, 2 tanh units, softmax output, biases;
    full-batch Adam at lr 0.02 with a learned logit scale for up to 5000 steps, 64
    networks, each stopping at its first solve: the regime that solved shift tasks
    fastest and up to the largest n in our measurements (for a thousand symbols and
    more, --lr 0.01).
    """
    from bottlenet import memory, modelfile, tasks
    from bottlenet.softmax import full_chunk_rows, full_in_chunks, uses_sampled
    from bottlenet.spec import NetSpec
    from bottlenet.trainer import train as run_training

    if table:
        refuse_unused(ctx, {"task": "--task", "symbols": "--symbols", "task_seed": "--task-seed"},
                      "with --table (the table is the task)")
    elif task in ("shift", "identity"):
        refuse_unused(ctx, {"task_seed": "--task-seed"}, f"with --task {task} (it draws no table)")
    snaps = tuple(parse_list(snapshots, int, "--snapshots")) if snapshots.strip() else ()
    cfg = TrainConfig(optimizer=optimizer, lr=lr, steps=steps, seeds=seeds, seed=seed,
                      batch=batch or None, schedule=schedule, init_scale=init_scale,
                      logit_scale=logit_scale, stop=stop, snapshots=snaps, dtype=dtype,
                      softmax=softmax)
    layers = parse_hidden(hidden)
    if save:
        check_output(save, "--save", replace=force)
    if table:
        t = tasks.from_file(table)
    else:  # refuse a size that cannot fit before the task (n pairs) is built
        tasks.check_symbols(symbols)
        memory.networks_per_pass(NetSpec(symbols, symbols, layers, activation, bias, output),
                                 symbols, cfg)
        t = tasks.builtin(task, symbols, task_seed)
    if cfg.batch is not None and cfg.batch > t.n_pairs:
        raise SpecError(f"a batch of {cfg.batch} pairs is larger than the task "
                        f"({t.n_pairs} pairs)")
    spec = NetSpec(t.n_in, t.n_out, layers, activation, bias, output)
    sampled = uses_sampled(cfg, spec)  # (SpecError now, before any work, where it cannot)
    if cfg.batch is None and not sampled and t.n_pairs > FULL_BATCH_HINT:
        chunks = (f", in chunks of {full_chunk_rows(t.n_pairs, t.n_out):,} pairs"
                  if full_in_chunks(spec, t.n_pairs) else "")
        err.print(f"note: full softmax: every step computes {t.n_pairs:,} x {t.n_out:,} "
                  f"logits per network{chunks} (README, Capacity)")
    with progress_bar() as bar:
        job = bar.add_task(f"training {seeds} networks", total=steps)
        pop = run_training(t, spec, cfg,
                           progress=lambda d, n: bar.update(job, completed=d, total=n))
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


def print_summary(s: dict) -> None:
    net = s["network"]
    hidden = "x".join(map(str, net["hidden"])) or "0"
    lo, hi = s["solved_rate_ci95"]
    tab = key_value_table()
    tab.add_row("task", f"{s['task']}: {s['symbols']['inputs']} inputs, "
                f"{s['symbols']['outputs']} outputs, {s['symbols']['pairs']} pairs")
    tab.add_row("network", f"hidden {hidden} {net['activation']}, {net['head']} output, "
                f"{'with' if net['bias'] else 'no'} biases, {s['connections']} connections")
    if s.get("softmax") == "sampled":
        tab.add_row("softmax", "sampled (each pair against its strongest competitors and "
                    "outputs drawn at random; every solve checked against every output)")
    tab.add_row("solved", f"{s['solved']} of {s['networks']} ({100 * s['solved_rate']:.0f}%, "
                f"95% CI {100 * lo:.0f}-{100 * hi:.0f}%)")
    tab.add_row("solve step", _fmt_describe(s["solve_step"]) if s["solve_step"] or not s["solved"]
                else "not recorded (the weights were made or kept, not trained by `train`)")
    tab.add_row("final loss", _fmt_describe(s["final_loss"], 4))
    for i, d in enumerate(s["max_weight_per_layer"]):
        tab.add_row(f"max |w| layer {i + 1}", _fmt_describe(d, 2))
    tab.add_row("diverged", str(s["diverged"]))
    tab.add_row("steps run", f"{s['steps_run']:,}" + (
        f" in {s['wall_time_s']:.1f}s ({s['network_steps_per_s']:,} network-steps/s)"
        if s["network_steps_per_s"] is not None else " (not timed)"))
    if "saved_to" in s:
        tab.add_row("saved", s["saved_to"])
    out.print(tab)


@command(app)
def show(
    model: Annotated[Path, typer.Argument(help="A .npz file written by `train --save`.")],
    net: Annotated[int | None, typer.Option(help=NET_HELP, show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary and weights as JSON.")]
    = False,
):
    """Summarise a saved population and print one network's weights as tables."""
    from bottlenet import modelfile

    pop = modelfile.load(model)
    i = pick_network(pop, net)
    params = pop.network(i)
    if as_json:
        s = pop.summary()
        s["shown_network"] = i
        s["weights"] = [{k: np.asarray(v).tolist() for k, v in layer.items()} for layer in params]
        print(json.dumps(s, indent=2))
        return
    print_summary(pop.summary())
    status = "solved" if pop.solved[i] else "not solved"
    out.print(f"\n[bold]network {i}[/] (seed {pop.network_seeds[i]}, {status}, "
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
