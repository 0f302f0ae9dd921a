"""The `bottlenet` command: a thin layer that parses options, calls the library and
prints. Every command catches bottlenet's typed errors at its boundary and turns them into
one line on stderr and exit code 2.

One module per command group; a command's module (and with it JAX or matplotlib)
is imported only when that command runs or shows its own help, so `bottlenet --help` and
`--version` answer at once."""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from bottlenet import __version__

# command -> (module in bottlenet.cli, the first paragraph of its help, for the listing)
COMMANDS = {
    "train": ("training", "Train a population of networks and summarise how many solved "
              "the task."),
    "show": ("training", "Summarise a saved population and print one network's weights as "
             "tables."),
    "draw": ("pictures", "Draw a saved network: diagram (default), --walk, --space or "
             "--training; or its training as an animation (--animate --out run.html)."),
    "capacity": ("capacity", "Measure capacity: the largest n that k units learn, with 95% "
                 "intervals."),
    "construct": ("capacity", "Build weights by hand that solve the task for any n, and "
                  "check them."),
    "argmax": ("capacity", "Which outputs can ever win (be the argmax) anywhere in the "
               "hidden space."),
    "check": ("capacity", "Check saved networks by the strict solve rule, recomputed in "
              "float64: outcome and smallest winning margin of each."),
    "reproduce": ("reproduce", "Reproduce every claim of the article, with verdicts, "
                  "pictures and a report."),
    "compress": ("compress", "Compress a file losslessly with an online bottleneck network "
                 "and a range coder."),
    "decompress": ("compress", "Decompress a .bn archive, a block at a time; a damaged, "
                   "truncated or foreign file is refused (exit code 2)."),
    "serve": ("serve", "Start the playground: a page where you pick n and k, press play, "
              "and watch the hidden units fold the symbols apart; edit weights by hand, drag "
              "codes in the hidden space, share a link to the exact state, export the "
              "population as a model file."),
}


def _click():
    """click itself, or the copy newer typer versions carry inside."""
    try:
        return import_module("typer._click")  # typer >= 0.2x vendors click
    except ImportError:
        return import_module("click")


def load_command(name: str):
    """The click command `name`, from its module's own Typer app. `compress` and
    `decompress` need the compiled kernels: where the install could not build them (no C
    compiler), they stop here, in one line, with how to get them."""
    if COMMANDS[name][0] == "compress":
        from bottlenet.compress import KERNELS_MISSING, kernels_built

        if not kernels_built():
            print(f"error: {name} {KERNELS_MISSING}", file=sys.stderr)
            sys.exit(2)
    module = import_module(f"{__name__}.{COMMANDS[name][0]}")
    return typer.main.get_group(module.app).commands[name]


class _LazyCommands(TyperGroup):
    """Commands come from their modules when one is run or asked for its help; the
    listing in `bottlenet --help` uses COMMANDS' summaries and imports nothing."""

    _listing = False

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        if self._listing:
            return TyperCommand(name, help=COMMANDS[name][1])
        return load_command(name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """As click's main, but a usage error (an unknown option, 'x' for a number) is one
        line on stderr and exit code 2, like every other bad input."""
        if not kwargs.pop("standalone_mode", True):
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        click = _click()
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        except click.ClickException as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `bottlenet` alone: the help
                e.show()
            else:
                ctx = getattr(e, "ctx", None)
                hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
                message = " ".join(e.format_message().split())
                print(f"error: {message}{hint}", file=sys.stderr)
            sys.exit(e.exit_code)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def format_help(self, ctx, formatter):
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _version(value: bool) -> None:
    if value:
        print(f"bottlenet {__version__}")
        raise typer.Exit()


app = typer.Typer(
    help="bottlenet: train populations of tiny bottleneck networks (one-hot inputs -> k "
    "hidden units -> softmax) on discrete mappings and measure what k units can carry.",
    cls=_LazyCommands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    pass


def _enable_compilation_cache() -> None:
    """Keep compiled programs on disk between runs (JAX's persistent cache): a second
    `reproduce` or sweep skips most compile time. BOTTLENET_CACHE=off disables it. Set
    through JAX's environment variables, so JAX is not imported for it."""
    import os

    where = os.environ.get("BOTTLENET_CACHE", str(Path.home() / ".cache" / "bottlenet" / "jax"))
    if where.lower() in ("off", "0", "no", ""):
        return
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", where)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.3")


def main() -> None:
    _enable_compilation_cache()
    sys.exit(app())
