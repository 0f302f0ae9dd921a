"""`bottlenet draw`: pictures of a saved network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bottlenet.cli.console import (
    NET_HELP,
    check_picture,
    command,
    command_group,
    err,
    pick_network,
    refuse_unused,
)
from bottlenet.errors import SpecError
from bottlenet.files import check_output

app = command_group()


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


@command(app)
def draw(
    ctx: typer.Context,
    model: Annotated[Path, typer.Argument(help="A .npz file written by `train --save`.")],
    out_file: Annotated[Path, typer.Option(
        "--out", help="Picture file: .svg or .png (.html with --animate).")],
    net: Annotated[int | None, typer.Option(help=NET_HELP, show_default=False)] = None,
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
    animate: Annotated[bool, typer.Option(
        "--animate", help="Every snapshot step and the end, as one self-contained HTML "
        "page that plays them (the diagram, or with --space the hidden space): train "
        "with --snapshots first, e.g. --snapshots 0,10,20,50,100,200.")] = False,
):
    """Draw a saved network: diagram (default), --walk, --space or --training; or its
    training as an animation (--animate --out run.html)."""
    from bottlenet import draw as pictures
    from bottlenet import modelfile

    if sum([walk is not None, space, training]) > 1:
        raise SpecError("choose one of --walk, --space, --training")
    if animate:
        if walk is not None or training:
            raise SpecError("--animate plays the diagram or, with --space, the hidden space")
        refuse_unused(ctx, {"step": "--step"}, "with --animate (it plays every step kept)")
        check_output(out_file, "--out", suffixes=(".html",))
        pop = modelfile.load(model)
        i = pick_network(pop, net)
        path = _animate(pop, i, space, numbers, out_file)
        err.print(f"wrote {path}")
        return
    if training:
        refuse_unused(ctx, {"net": "--net", "step": "--step"},
                      "with --training (it draws the whole population's record)")
    if walk is None:
        refuse_unused(ctx, {"pow2": "--pow2"}, "without --walk")
    if walk is not None or space or training:
        refuse_unused(ctx, {"numbers": "--numbers/--lines"}, "outside the diagram")
    check_picture(out_file, "--out")
    pop = modelfile.load(model)
    i = pick_network(pop, net)
    params = pop.network(i)
    label = f"network {i} (seed {pop.network_seeds[i]})"
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
        from bottlenet.check import hull_share

        fig = pictures.hidden_space(pop.spec, pop.task, params, title=None,
                                    hull_share=hull_share(params))
    else:
        fig = pictures.diagram(pop.spec, pop.task, params, numbers, title=label)
    path = pictures.save(fig, out_file)
    err.print(f"wrote {path}")


def _animate(pop, i: int, space: bool, numbers: bool | None, out_file: Path) -> Path:
    """Network i at every snapshot step and at the end, as an animation page."""
    from bottlenet import draw as pictures
    from bottlenet.draw.common import svg_text
    from bottlenet.files import write_text

    if not pop.snapshots:
        raise SpecError("this model kept no snapshots to animate: train it with "
                        "--snapshots (e.g. --snapshots 0,10,20,50,100,200) and --save")
    steps = sorted(pop.snapshots)
    views = [(f"step {s:,}", pop.network(i, s)) for s in steps]
    if pop.steps_run > steps[-1]:
        views.append((f"step {pop.steps_run:,} (the end)", pop.network(i)))
    frames = []
    for label, params in views:
        fig = (pictures.hidden_space(pop.spec, pop.task, params, title=label) if space
               else pictures.diagram(pop.spec, pop.task, params, numbers,
                                     title=f"network {i}, {label}"))
        frames.append((label, svg_text(fig)))
    title = f"{pop.task.name}: network {i} (seed {pop.network_seeds[i]}) during training"
    return write_text(out_file, pictures.animation_html(frames, title))
