"""`bottlenet compress` and `decompress`: the lossless compressor on files. Loaded only
when one of them runs; it never imports JAX (a test checks)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from bottlenet.cli.console import (
    check_picture,
    command,
    command_group,
    err,
    key_value_table,
    out,
    parse_size,
)
from bottlenet.compress import codec, stats
from bottlenet.compress.model import (
    DEFAULT_MEMORY,
    LARGE_INPUT,
    LARGE_MEMORY,
    LEVELS,
    PROFILES,
    Settings,
    format_orders,
    parse_orders,
)
from bottlenet.errors import SpecError
from bottlenet.files import (
    STREAM,
    check_output,
    is_stream,
    open_input,
    read_input,
    write_bytes,
    write_stream,
)

app = command_group()
_DEFAULT = Settings()


def _byte_bar(console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                    transient=True)


@command(app, "compress")
def compress_command(
    file: Annotated[Path, typer.Argument(help="The file to compress; - reads standard input.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Archive to write (default: FILE.bn; standard output when "
        "FILE is -); - writes standard output.")] = None,
    level: Annotated[str, typer.Option(
        help="Preset: " + "; ".join(f"{name}: {lv.about}" for name, lv in LEVELS.items())
        + ". --hidden, --orders and --memory given beside it win; the decoder reads "
        "the settings from the archive, so `decompress` needs no level.")] = "default",
    hidden: Annotated[int | None, typer.Option(
        help="k, the hidden units every prediction passes through (default: the "
        "level's, 32 at the default level).")] = None,
    orders: Annotated[str | None, typer.Option(
        help="Contexts: previous-byte orders (0-8), 'w' the current word, 'ww' the "
        "previous and current word, 'w2' the current word and the one two back, 'm' the "
        "match model (the byte that followed the last earlier occurrence of the recent "
        "bytes), 'c' the column and the byte above it in the line before; sparse: 's2' "
        "the second byte back, 's23' the second and third, 's13' the first and third, 'a' "
        "the last byte and the position mod 4; records: 'r' the bytes one and two "
        "records back, 'rl' the byte above with the last one; markup: 'x' the last tag's "
        "name, where in the markup, and the last byte, 'xw' the same with the current "
        "word. Default: "
        f"{format_orders(_DEFAULT.orders)}, and for other data than text also "
        f"{format_orders(PROFILES['other'].added_orders)}, for markup (XML, HTML) "
        f"{format_orders(PROFILES['markup'].added_orders)}.")] = None,
    table_bits: Annotated[int, typer.Option(
        help="log2 of the context table's rows; 0 = from the file size and --memory "
        "(at most 22: 256 MiB at k=32).")] = 0,
    memory: Annotated[str | None, typer.Option(
        help="Most memory for the model's tables and history, e.g. 64M or 1G (the "
        "process takes about 45 MB more, the maps included). The context table follows "
        "the file size up to this; the bit models take at most a quarter (32 MiB by "
        "default, 44 MiB for other data than text and for markup); default "
        f"{DEFAULT_MEMORY >> 20}M for a file up to {LARGE_INPUT >> 20} MiB, "
        f"{LARGE_MEMORY >> 20}M for a longer one or standard input (at most 2^21 rows at "
        f"k=32; --level max: {LEVELS['max'].memory >> 20}M, which decompressing takes "
        "too); 400M lets files over 0.5 MB have 2^22 rows.")]
    = None,
    lr_input: Annotated[float, typer.Option(
        help="Learning rate of the context codes; 0 = chosen from the file's first bytes "
        f"({PROFILES['text'].lr_input:g} for text, {PROFILES['other'].lr_input:g} for other "
        "data).")] = _DEFAULT.lr_input,
    boost: Annotated[float, typer.Option(
        help="Fresh contexts learn (1 + boost/(times seen + 1)) times faster.")]
    = _DEFAULT.boost,
    lr_output: Annotated[float, typer.Option(
        help="Learning rate of the output layer, after the first kilobytes.")]
    = _DEFAULT.lr_output,
    lr_output_first: Annotated[float, typer.Option(
        help="Learning rate of the output layer at the first byte; it falls as "
        "1/position toward --lr-output (half-way after 1 KiB).")]
    = _DEFAULT.lr_output_first,
    seed: Annotated[int, typer.Option(help="Seed of the initial weights and hashes.")]
    = _DEFAULT.seed,
    primer: Annotated[bool, typer.Option(
        help="Let the model read built-in English first when the file looks like "
        "English prose: a licence (35 KB; 1-2% smaller, about 0.3 s longer both ways), "
        "and before prose of 64 KiB or more (at --level max, before any prose) "
        "127 KB of novels as well (1.5-11% smaller again, about 1 s longer). "
        "--no-primer never does.")] = True,
    code_filter: Annotated[bool, typer.Option(
        help="In x86 and 64-bit ARM programs and libraries (ELF, PE, COFF), make call and "
        "jump targets (ARM: and page addresses) absolute in the code their header names, "
        "so that calls to one function repeat (1-10% smaller on x86-64 and ARM64 programs "
        "and libraries). --no-code-filter never does.")] = True,
    image: Annotated[bool, typer.Option(
        help="In raster images whose header gives their layout (uncompressed BMP, PGM, "
        "PPM, PAM, TGA, TIFF; 8 or 16 bits a sample), predict each pixel from its "
        "neighbours above and to the left (12-32% smaller on photographs); so too in "
        "bilevel images (1 bit a pixel: PBM, 1-bit BMP and TIFF, and faxes, scanned pages and "
        "line art found without a header: 13-22% smaller). --no-image reads them as "
        "other data.")] = True,
    utf16: Annotated[bool, typer.Option(
        help="Read UTF-16 text (found by its bytes: one of each two nearly always zero) "
        "as two planes, each 64 KiB as its even bytes then its odd ones, so that the "
        "text's contexts see its characters side by side (14-19% smaller). --no-utf16 "
        "reads it byte by byte.")] = True,
    show_stats: Annotated[bool, typer.Option(
        "--stats", help="Also run gzip -9, bzip2 -9 and xz -9e, decode the archive to "
        "check it, and show bits per byte class.")] = False,
    plot: Annotated[Path | None, typer.Option(
        help="Picture (.png/.svg) of bits per character along the file; implies --stats.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")]
    = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
):
    """Compress a file losslessly with an online bottleneck network and a range coder.

    Each byte is predicted from hashed contexts (the previous 1..6 bytes, the current
    word with the previous one and with the one two back, the column and the byte above,
    the match model's guess; sparse contexts for other data than text) through k tanh
    units into a softmax over 256 bytes, with output biases chosen by the last 2-3
    bytes; the prediction drives a range coder, then
    the network learns from the byte. The learning rates suit text or other data, chosen
    from the first bytes; English prose is preceded by a built-in English text; x86
    programs have their calls' targets made absolute where their header says code is;
    UTF-16 text is read as two planes, its characters' bytes apart from the zeros;
    the pixels of images (BMP, PGM, PPM; bilevel ones too, such as faxes) are predicted
    from their neighbours.
    Decompression repeats the same steps, so no weights are stored. --level fast or max
    trades speed for size. Example:

        bottlenet compress alice29.txt --stats --plot bits.png
        bottlenet compress book1 --level max
        tar c folder | bottlenet compress - > folder.tar.bn
    """
    if level not in LEVELS:
        raise SpecError(f"unknown level {level!r}; choose one of: {', '.join(LEVELS)}")
    preset = LEVELS[level]
    # The levels differ from the default settings in hidden, skip, apm, the bit models,
    # the primer and memory only (a test holds them to it), so the other options'
    # defaults are every level's.
    settings = dataclasses.replace(
        preset.settings, hidden=preset.settings.hidden if hidden is None else hidden,
        orders=preset.settings.orders if orders is None else parse_orders(orders),
        table_bits=table_bits, lr_input=lr_input, boost=boost, lr_output=lr_output,
        lr_output_first=lr_output_first, seed=seed,
        primer=preset.settings.primer if primer else 0,
        code_ranges=_DEFAULT.code_ranges if code_filter else (),
        image=_DEFAULT.image if image else (),
        planes=_DEFAULT.planes if utf16 else 1).check()
    cap = preset.memory if memory is None else parse_size(memory, "--memory")
    settings.sized_for(0, cap)  # a cap too small for any table: refused before reading
    if output is None and is_stream(file):
        output = Path(STREAM)
    piped = is_stream(output)  # the archive takes standard output: the summary goes to stderr
    if piped and as_json:
        raise SpecError("--json prints to standard output, which carries the archive; "
                        "name the archive with -o FILE")
    check_picture(plot, "--plot")
    target = Path(STREAM) if piped else check_output(
        output or file.with_name(file.name + ".bn"), "--output", replace=force)
    name = "standard input" if is_stream(file) else file.name
    comparison = None
    if show_stats or plot:  # the comparisons and the picture need the whole input
        data = read_input(file)
        with _byte_bar(err) as bar:
            job = bar.add_task(f"compressing {name}", total=len(data))
            result = codec.compress(data, settings, memory=cap,
                                    progress=lambda d, n: bar.update(job, completed=d))
        write_bytes(target, result.archive)
        with _byte_bar(err) as bar:
            job = bar.add_task("checking the archive", total=len(data))
            comparison = stats.compare(data, result.archive, result.bits,
                                       lambda d, m: bar.update(job, completed=d))
        done = result.report
    else:  # a block at a time: any length, in bounded memory
        with open_input(file) as (source, size), _byte_bar(err) as bar:
            job = bar.add_task(f"compressing {name}", total=size)
            streamed = write_stream(target, lambda sink: codec.compress_stream(
                source, sink, size, settings, memory=cap,
                progress=lambda d, n: bar.update(job, completed=d)))
        if streamed is None:  # the reader of standard output went away
            return
        done = streamed
    report: dict[str, Any] = {"file": str(file), "archive": str(target), **done.figures(),
                              **(comparison.figures() if comparison else {})}
    if plot and comparison:
        from bottlenet.draw import bits_chart, save

        report["plot"] = str(save(bits_chart(
            name, result.bits, stats.rolling_bpc(result.bits), comparison.bits_by_class,
            done.archive_length, comparison.classic), plot))
    _render(report, done, piped, as_json)


def _kind_of(s: Settings) -> str:
    """A member's kind, as its settings say: an image, or the profile its bit models'
    contexts are of, with the code its ranges name."""
    if s.image:
        return "bilevel image" if s.bilevel() else "image"
    kind = next((name for name, p in PROFILES.items() if p.cm_orders == s.cm_orders),
                "data")
    return kind + (f" with {s.code_arch} code" if s.code_ranges else "")


def _render(report: dict, done: codec.Report, piped: bool, as_json: bool) -> None:
    """compress's figures: as JSON, or as tables (on stderr when the archive is piped)."""
    if as_json:
        print(json.dumps(report, indent=2))
        return
    show = err if piped else out
    tab = key_value_table()
    n, used = done.original_length, done.settings
    tab.add_row("archive", f"{'standard output' if piped else report['archive']}: {n:,} -> "
                f"{done.archive_length:,} bytes")
    tab.add_row("bits per character", f"{report['bpc']:.3f} (model alone "
                f"{report['model_bpc']:.3f}; ratio {report['ratio']:.2f})"
                + ("; stored raw, the model did not help" if done.stored else ""))
    tab.add_row("speed", f"{report['compress_kb_per_s']:,.0f} KB/s compress"
                + (f", {report['decompress_kb_per_s']:,.0f} KB/s decompress (round trip "
                   "verified)" if "verified" in report else "")
                + (" (reading the primer included)" if used.primer else ""))
    tab.add_row("model" + (" (first member)" if done.pieces else ""),
                f"contexts {format_orders(used.orders)} -> {used.hidden} tanh -> "
                f"softmax 256; table 2^{used.table_bits} rows; history 2^{used.window_bits} "
                f"bytes; input rate {used.lr_input:g}"
                + ("; primed with English prose" + (" and novels" if used.primer == 2 else "")
                   if used.primer else ""))
    if used.code_ranges and not done.pieces:
        spans, k = used.code_ranges, len(used.code_ranges) // 2
        tab.add_row(f"{used.code_arch} code", f"{sum(spans[1::2]) - sum(spans[::2]):,} bytes "
                    f"in {k} range{'s' if k > 1 else ''}, calls' targets made absolute")
    if done.pieces:
        kinds = [_kind_of(s) for _, _, s in done.pieces]
        tab.add_row("members", f"{len(done.pieces)}: the tar archive's images apart, "
                    "each read as what it is: " + ", ".join(
                        f"{kind} {(b - a) / 1e3:,.0f} KB" for kind, (a, b, _) in
                        zip(kinds, done.pieces, strict=True)))
    if used.planes == 2 and not done.pieces:
        tab.add_row("UTF-16 text", "read as two planes, a chunk at a time: the "
                    "characters' bytes, then the bytes beside them")
    if used.image and not done.pieces:
        start, end, row, pixel = used.image
        bilevel = used.bilevel()
        tab.add_row("bilevel image" if bilevel else "image",
                    f"{min(end, n) - start:,} bytes of pixels, {row:,} a row, "
                    + ("8 pixels a byte: each byte" if bilevel else f"{pixel} a pixel: each")
                    + " predicted from its neighbours")
    show.print(tab)
    if "classic" in report:
        from rich.table import Table
        t = Table(title="same file, same run")
        for col in ("compressor", "bytes", "bpc", "compress s", "decompress s"):
            t.add_column(col, justify="left" if col == "compressor" else "right")
        t.add_row("bottlenet", f"{done.archive_length:,}", f"{done.bpc:.3f}",
                  f"{done.seconds:.2f}", f"{report['decompress_s']:.2f}", style="bold")
        for m in report["classic"]:
            t.add_row(m["name"], f"{m['bytes']:,}", f"{m['bpc']:.3f}",
                      f"{m['compress_s']:.2f}", f"{m['decompress_s']:.2f}")
        show.print(t)
        c = Table(title="where the bits go")
        for col in ("byte class", "bytes", "bits/byte", "share of bits"):
            c.add_column(col, justify="left" if col == "byte class" else "right")
        for r in report["bits_by_class"]:
            c.add_row(r["class"], f"{r['bytes']:,}", f"{r['bits_per_byte']:.2f}",
                      f"{100 * r['share_of_bits']:.1f}%")
        show.print(c)
    if "plot" in report:
        show.print(f"plot: {report['plot']}")


@command(app, "decompress")
def decompress_command(
    archive: Annotated[Path, typer.Argument(
        help="A .bn archive written by `compress`; - reads standard input.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: ARCHIVE without .bn; standard "
        "output when ARCHIVE is -); - writes standard output.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
):
    """Decompress a .bn archive, a block at a time; a damaged, truncated or foreign file
    is refused (exit code 2).

    An output file appears only when the whole original was decoded and its length and
    checksum verified; on standard output, the blocks before a damaged one have been
    written by then."""
    if output is None and is_stream(archive):
        output = Path(STREAM)
    if output is None:
        if archive.suffix != ".bn":
            raise SpecError("the archive does not end in .bn; name the output with -o")
        output = archive.with_suffix("")
    if not is_stream(output):
        check_output(output, "--output", replace=force)
    t0 = time.perf_counter()
    name = "standard input" if is_stream(archive) else archive.name
    with open_input(archive, "archive") as (source, _):
        prefix = codec.peek(source)  # a foreign file is refused before any work
        with _byte_bar(err) as bar:
            job = bar.add_task(f"decompressing {name}", total=None)
            length = write_stream(output, lambda sink: codec.decompress_stream(
                source, sink, lambda d, n: bar.update(job, completed=d, total=n), prefix))
    if length is None:  # the reader of standard output went away
        return
    seconds = time.perf_counter() - t0
    (err if is_stream(output) else out).print(
        f"{'standard output' if is_stream(output) else output}: {length:,} bytes, "
        f"checksum verified, {length / 1e3 / max(seconds, 1e-9):,.0f} KB/s")
