"""How a population and one network show themselves in a Jupyter notebook: a summary
table and the article-style diagram, as HTML and SVG (IPython's _repr_html_ and
_repr_svg_, which Population and NetworkView forward here)."""

from __future__ import annotations

import html

from bottlenet.draw.common import svg_text
from bottlenet.draw.network import diagram


def network_svg(pop, i: int) -> str:
    """Network i's diagram as SVG text, drawn as `bottlenet draw` draws it."""
    return svg_text(diagram(pop.spec, pop.task, pop.network(i),
                            title=f"{pop.task.name}, network {i}"))


def _rows(pop) -> list[tuple[str, str]]:
    s = pop.summary()
    lo, hi = s["solved_rate_ci95"]
    spec = pop.spec
    net = (f"{spec.n_in} inputs → {'-'.join(map(str, spec.hidden)) or 'no'} {spec.activation} "
           f"units → {spec.n_out} outputs ({spec.head})")
    rows = [("task", f"{s['task']} ({s['symbols']['pairs']} pairs)"), ("network", net),
            ("solved", f"{s['solved']} of {s['networks']} (95% interval {lo:.0%}–{hi:.0%})")]
    if pop.config is not None:
        rows.append(("training", f"{pop.config.optimizer}, lr {pop.config.lr:g}, "
                                 f"{s['steps_run']:,} steps"))
    if s["final_loss"]:
        rows.append(("final loss", f"median {s['final_loss']['median']:.3g}"))
    return rows


def population_html(pop) -> str:
    """A summary table and the best network's diagram."""
    best = pop.best()
    table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                    f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                    for k, v in _rows(pop))
    return (f"<div><table>{table}</table><p>network {best} (the best):</p>"
            f"{network_svg(pop, best)}</div>")


def network_html(pop, i: int) -> str:
    acc = float(pop.final_accuracy[i])
    caption = (f"network {i} of {pop.size}: accuracy {acc:.0%}, "
               f"{'solved' if pop.solved[i] else 'not solved'}")
    return f"<div><p>{html.escape(caption)}</p>{network_svg(pop, i)}</div>"
