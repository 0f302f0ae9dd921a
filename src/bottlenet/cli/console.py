"""What every command shares: the two consoles, the error boundary, progress bars, tables
and the parsing of list options. Only the command line imports this module."""

from __future__ import annotations

import contextlib
import functools
import inspect
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bottlenet.choices import PICTURE_FORMATS
from bottlenet.errors import BottlenetError, SpecError
from bottlenet.files import check_output

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


def command_group() -> typer.Typer:
    """A module's own Typer app; `command(app)` registers its functions on it."""
    return typer.Typer(pretty_exceptions_enable=False, add_completion=False)


def command(app: typer.Typer, name: str | None = None):
    """Register a command: its errors become one line and exit 2, and its docstring
    becomes help text that the terminal wraps (see reflow)."""
    def register(fn):
        app.command(name, help=reflow(fn.__doc__ or ""))(cli_errors(fn))
        return fn
    return register


def reflow(doc: str) -> str:
    """A docstring as help text: the lines of each paragraph joined, so the terminal
    wraps them (typer keeps a docstring's own line breaks, which on an 80-column
    terminal cut every line in two); indented paragraphs (examples) stay as written."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith(" ") else " ".join(x.strip() for x in p.splitlines())
                       for p in paragraphs)


def progress_bar(unit: str = "steps"):
    """A counter on stderr; each caller names its task."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn(unit), TimeElapsedColumn(), console=err, transient=True)


CLUSTER_HELP = ("Run on a Ray cluster (extra `cluster`): 'local' starts one on this "
                "machine, 'auto' joins the one running here, ray://HOST:PORT a remote one.")


@contextlib.contextmanager
def cluster_status():
    """A status line on stderr for work on a cluster; yields show(tally)."""
    from rich.status import Status

    with Status("connecting to the cluster", console=err) as status:
        yield lambda tally: status.update(tally.line())


def key_value_table() -> Table:
    """Two columns, no borders: a label in bold and its value."""
    tab = Table(show_header=False, box=None, pad_edge=False)
    tab.add_column(style="bold")
    tab.add_column()
    return tab


def parse_hidden(text: str) -> tuple[int, ...]:
    """'2' -> (2,), '0' -> () (direct connections), '3,3' -> two hidden layers."""
    try:
        sizes = [int(s) for s in text.split(",")]  # an empty item ("2,,3") is a typo
    except ValueError:
        raise SpecError(f"--hidden takes a size or comma-separated sizes, got {text!r}") from None
    if not sizes or any(s < 0 for s in sizes) or (0 in sizes and len(sizes) > 1):
        raise SpecError(f"--hidden must be 0 (no hidden layer) or sizes >= 1, got {text!r}")
    return () if sizes == [0] else tuple(sizes)


RANGE_MAX = 64  # a range in a list option expands to at most this many more values


_SIZE_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str, option: str) -> int:
    """'200M', '1.5G', '65536' -> bytes (binary units: K = 1024; a trailing B or iB is
    allowed)."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    unit = t[-1:] if t[-1:] in _SIZE_UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise SpecError(f"{option} takes a size such as 200M or 1G, got {text!r}") from None
    if not 0 < value * _SIZE_UNITS[unit] < 2**62:
        raise SpecError(f"{option} must be a positive size below 4 EiB, got {text!r}")
    return int(value * _SIZE_UNITS[unit])


def parse_list(text: str, kind, option: str, ranges: bool = False) -> list:
    """'1,2,4' -> [1, 2, 4]; with `ranges`, '1-4' -> [1, 2, 3, 4] too (whole numbers from
    0, at most RANGE_MAX apart); empty or malformed lists are bad input."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise SpecError(f"{option} takes a comma-separated list, got {text!r}")
    out: list = []
    try:
        for t in items:
            lo, dash, hi = t.partition("-")
            if ranges and dash and lo:
                if not 0 <= int(lo) <= int(hi) <= int(lo) + RANGE_MAX:
                    raise SpecError(f"{option}: {t!r} is not a range like 1-8 (at most "
                                    f"{RANGE_MAX} apart)")
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(kind(t))
    except ValueError:
        raise SpecError(f"{option}: {text!r} is not a list of {kind.__name__} values") from None
    return out


NET_HELP = "Which network (0..P-1); default: the best solved one."


def pick_network(pop, net: int | None) -> int:
    """The network a --net option names; None: the best solved one."""
    if net is None:
        return pop.best()
    if not 0 <= net < pop.size:
        raise SpecError(f"--net must be in 0..{pop.size - 1}, got {net}")
    return net


def check_picture(path: Path | None, option: str) -> None:
    """A picture path, checked before any work (suffix, folder, writable); pictures are
    views a rerun redraws, so an existing one is replaced."""
    if path is not None:
        check_output(path, option, suffixes=PICTURE_FORMATS)


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user set option `name` (the function's parameter name) on the
    command line, as opposed to leaving its default."""
    source = ctx.get_parameter_source(name)  # click's enum (typer may vendor click)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def refuse_unused(ctx: typer.Context, options: dict[str, str], why: str) -> None:
    """Refuse options (parameter name -> flag) the user set that would be ignored."""
    ignored = [flag for name, flag in options.items() if given(ctx, name)]
    if ignored:
        raise SpecError(f"{', '.join(ignored)} {'has' if len(ignored) == 1 else 'have'} "
                        f"no effect {why}")
