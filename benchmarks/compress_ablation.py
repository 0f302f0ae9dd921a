"""What each part of `bottlenet compress`'s model is worth: bytes and speed without it.

Compresses the corpus (the five English texts and the five mixed files) with the default
settings, then once with each part taken away (a context, the sparse contexts of other
data, format 8's record contexts, count maps, buckets of four places and final mixer,
format 9's indirect context of other data, format 10's confidence inputs, second final
map and call filter, the bit models, the probability maps and
their mixer, the context biases, the primer, the novels after it, text's order-8 bit
model and its matches from 8 bytes, the fresh-row boost, the falling output rate, the
output layer's skipping) and
with each level (`--level fast|max`), and prints, per variant, the archives' total
bytes per group, the change against the default in bytes and percent (variant minus default: what
a part taken away saves when it is there), and the compress speed of the whole run
(KB/s, one process, warm; a part's cost in speed is the variant's KB/s against the
default's). Speeds come from one shared machine: read them as rough, the bytes as exact.

    uv run python benchmarks/compress_ablation.py [--corpus ../shared/corpus] [--skip bible.txt]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from bottlenet.compress import Settings, compress
from bottlenet.compress.kernels import INDIRECT_1, RECORD, RECORD_LEFT
from bottlenet.compress.model import (
    LEVELS,
    PROFILES,
    WORDS_CM_ORDERS,
    format_orders,
    profile_of,
)


def _is_other(data: bytes) -> bool:
    """Whether the encoder gives `data` other data's profile (sparse, record and
    indirect contexts), as it chooses: from its first bytes."""
    return profile_of(data[:1 << 16]) == "other"


GROUPS = {"text": ["alice29.txt", "asyoulik.txt", "lcet10.txt", "book1", "bible.txt"],
          "mixed": ["obj1", "sum", "progp", "trans", "bib"]}


def _without(context: int) -> Callable[[bytes], Settings]:
    """The default settings less one context, for a file (other data keeps the sparse
    contexts its profile adds to the default ones)."""
    def settings(data: bytes) -> Settings:
        chosen = Settings().suited_to(data[:1 << 16]).orders   # the profile's contexts too
        return Settings(orders=tuple(o for o in chosen if o != context))
    return settings


def variants() -> dict[str, tuple[Settings | Callable[[bytes], Settings], int | None]]:
    """name -> (settings, or settings per file, and the memory cap): the default, each
    part taken away, each level."""
    base = Settings()
    out: dict = {"default": (base, None)}
    for o in base.orders + PROFILES["other"].added_orders:
        out[f"without context {format_orders((o,))}"] = (_without(o), None)
    # other data's own contexts (text never gets them): with its rates given, the orders
    # stay as given
    plain = dataclasses.replace(base, rates=tuple(
        PROFILES["other"].rates.get(o, 1.0) for o in base.orders))
    out["without the sparse contexts (other data)"] = (
        lambda data: plain if _is_other(data) else base, None)
    out["without the bit models (format 6)"] = (dataclasses.replace(base, cm_bits=0), None)
    # format 8's parts of the bit models, each taken away, and format 9's indirect context
    no_records = tuple(o for o in PROFILES["other"].cm_orders if o not in (RECORD, RECORD_LEFT))
    out["without the record contexts (other data)"] = (
        lambda data: dataclasses.replace(base, cm_orders=no_records) if _is_other(data)
        else base, None)
    no_indirect = tuple(o for o in PROFILES["other"].cm_orders if o != INDIRECT_1)
    out["without the indirect context (other data)"] = (
        lambda data: dataclasses.replace(base, cm_orders=no_indirect) if _is_other(data)
        else base, None)
    format7 = tuple(o for o in no_records if o != INDIRECT_1)
    out["without the count maps"] = (dataclasses.replace(base, cm_map=0), None)
    out["without 4 places a bucket (1)"] = (dataclasses.replace(base, cm_ways=1), None)
    out["without the final mixer (mean of 2)"] = (
        dataclasses.replace(base, final_mixer=0), None)
    out["without the confidence inputs (format 10)"] = (
        dataclasses.replace(base, cm_confidence=0), None)
    out["without the second final map (format 10)"] = (
        dataclasses.replace(base, final_maps=1), None)
    out["as format 9 (the two above)"] = (
        dataclasses.replace(base, cm_confidence=0, final_maps=1), None)
    out["without the call filter (x86 code)"] = (
        dataclasses.replace(base, code_ranges=()), None)
    out["as format 7 (the parts above)"] = (
        lambda data: dataclasses.replace(base, cm_map=0, cm_ways=1, final_mixer=0,
                                         cm_confidence=0, final_maps=1, code_ranges=(),
                                         cm_orders=format7 if _is_other(data)
                                         else WORDS_CM_ORDERS),
        None)
    out["without bit models, maps, mixer (whole)"] = (
        dataclasses.replace(base, apm=0, cm_bits=0), None)
    out["without context biases"] = (dataclasses.replace(base, bias_orders=()), None)
    out["without the primer"] = (dataclasses.replace(base, primer=0), None)
    out["without the novels (the licence alone)"] = (
        lambda data: dataclasses.replace(base, primer=1)
        if base.suited_to(data[:1 << 16], len(data)).primer == 2 else base, None)
    out["without text's order-8 bit model"] = (
        lambda data: dataclasses.replace(base, cm_orders=WORDS_CM_ORDERS)
        if profile_of(data[:1 << 16]) == "text" else base, None)
    out["text's matches from 6 bytes"] = (
        dataclasses.replace(base, match_min=6), None)
    out["without the boost of fresh rows"] = (dataclasses.replace(base, boost=0.0), None)
    out["without the falling output rate"] = (dataclasses.replace(
        base, lr_output_first=base.lr_output), None)
    out["without skipping (every output learns)"] = (dataclasses.replace(base, skip=0.0),
                                                     None)
    for name, level in LEVELS.items():
        if name != "default":
            out[f"--level {name}"] = (level.settings, level.memory)
    return out


def _change(size: int, base: int) -> str:
    return f"{size - base:+,} ({100 * (size - base) / base:+.2f}%)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "corpus")
    ap.add_argument("--skip", default="", help="comma-separated file names to leave out")
    ap.add_argument("--only", default="", help="comma-separated variant names to run "
                    "(the default always runs)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    data = {g: [(args.corpus / f).read_bytes() for f in files
                if f not in skip and (args.corpus / f).exists()]
            for g, files in GROUPS.items()}
    raw = sum(len(d) for ds in data.values() for d in ds)
    compress(b"warm up the compiled loops " * 10)
    only = set(filter(None, args.only.split(",")))
    print(f"{raw:,} bytes: {', '.join(f'{g} {sum(map(len, ds)):,}' for g, ds in data.items())}"
          f"; default contexts {format_orders(Settings().orders)}\n")
    head = (f"{'variant':<42}" + "".join(f"{g + ' bytes':>14}{'change':>18}" for g in data)
            + f"{'KB/s':>7}")
    print(head + "\n" + "-" * len(head))
    base: dict[str, int] = {}
    for name, (settings, memory) in variants().items():
        if only and name != "default" and name not in only:
            continue
        sizes, t = {}, time.perf_counter()
        for g, ds in data.items():
            sizes[g] = sum(len(compress(d, settings(d) if callable(settings) else settings,
                                        memory=memory).archive) for d in ds)
        speed = raw / 1e3 / (time.perf_counter() - t)
        base = base or sizes
        cells = "".join(
            f"{sizes[g]:>14,}{_change(sizes[g], base[g]):>18}"
            for g in data)
        print(f"{name:<42}{cells}{speed:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
