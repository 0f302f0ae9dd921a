"""`bottlenet reproduce`: every claim of the article, measured and judged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bottlenet import checks
from bottlenet.cli.console import (
    CLUSTER_HELP,
    cluster_status,
    command,
    command_group,
    err,
    out,
    progress_bar,
)
from bottlenet.files import check_output_folder
from bottlenet.store import DEFAULT_DB

app = command_group()


@command(app)
def reproduce(
    full: Annotated[bool, typer.Option(
        help="More seeds and longer budgets (64 seeds, 20,000 steps; capacity 32 seeds up "
        "to n=1024): much slower.")] = False,
    only: Annotated[str | None, typer.Option(
        help="Some claims only, e.g. C4,C13 (C1-C20).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")]
    = Path("results/report"),
    db: Annotated[Path, typer.Option(help="Results database (reused by later runs).")]
    = DEFAULT_DB,
    fresh: Annotated[bool, typer.Option(
        help="Run every claim again instead of reusing finished ones from --db.")] = False,
    seed: Annotated[int, typer.Option(help="First seed of every population.")] = 0,
    cluster: Annotated[str | None, typer.Option(
        help=CLUSTER_HELP + " Claims run at once, one per task.", show_default=False)]
    = None,
):
    """Reproduce every claim of the article, with verdicts, pictures and a report.

    Every claim of Skarupke (2016) and its comments is measured, judged by a rule written
    in the code, drawn, and written to a self-contained HTML report with the measurements
    as JSON beside it. Finished claims are reused from --db."""
    import jax
    from rich.table import Table

    from bottlenet import __version__
    from bottlenet.experiments import Budget, Context, run_claim, select
    from bottlenet.report import write_report
    from bottlenet.store import Store

    claims = select(only)
    checks.seeds("--seed", seed, checks.POPULATION_MAX, checks.NETWORK_SEED_MAX)
    check_output_folder(out_dir, "--out")
    budget = Budget.full() if full else Budget.quick()
    results = []
    with Store(db) as store:
        ctx = Context(budget, store, seed)
        if cluster:
            _run_on_cluster(cluster, claims, ctx, fresh)
        with progress_bar("claims") as bar:
            job = bar.add_task("reproducing", total=len(claims))
            for claim in claims:
                bar.update(job, description=f"{claim} running")
                # a long claim (C4's capacity searches) says how far it got
                ctx.note = (lambda text, c=claim: bar.update(job, description=f"{c}: {text}"))
                try:
                    result, cached = run_claim(claim, ctx, reuse=not fresh or bool(cluster))
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
    for col, width in (("claim", 5), ("article", 22), ("what decided it", 44),
                       ("verdict", 14)):
        tab.add_column(col, max_width=width, overflow="fold")
    for r in results:  # the whole measurement is in the report
        deciding = r.deciding or (r.measured if len(r.measured) < 160
                                  else r.measured[:157] + "...")
        tab.add_row(r.id, r.article_figure, deciding, r.verdict)
    out.print(tab)
    out.print(f"report: {index}   measurements: {index.parent / 'results.json'}")


def _run_on_cluster(address: str, claims: list[str], ctx, fresh: bool) -> None:
    """Run the claims not yet in the store as cluster tasks, storing each as it ends;
    the loop after this then finds every claim in the store."""
    from bottlenet import cluster
    from bottlenet.experiments import claim_key

    todo = [c for c in claims if fresh or ctx.store.get_claim(claim_key(c, ctx)) is None]
    if not todo:
        return
    ray = cluster.connect(address)

    def store(claim: str, data: dict) -> None:
        ctx.store.put_claim(claim_key(claim, ctx), data)
        err.print(f"{claim:<4} measured ({data['seconds']:.0f}s on the cluster)",
                  markup=False, highlight=False)

    try:
        with cluster_status() as show:
            cluster.claims(ray, todo, ctx.budget, ctx.seed, store, show)
    except KeyboardInterrupt:
        err.print(f"interrupted; finished claims are kept in {ctx.store.path}")
        raise typer.Exit(130) from None
    finally:
        ray.shutdown()
