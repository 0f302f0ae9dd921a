"""The decoder under a coverage-guided fuzzer (atheris: libFuzzer for Python): every
input must either decode or be refused with an ArchiveError (one line, exit code 2 in
the CLI), never crash, hang or grow without bound.

    uv sync --group fuzz-tests
    uv run python benchmarks/fuzz_decoder.py                  # 1,000,000 inputs
    uv run python benchmarks/fuzz_decoder.py --runs 20000 --seconds 120

The fuzzer starts from real archives of every format (tests/data: formats 1-15; more of
format 15 made here: text, binary, records, markup, images (a bilevel one too), stored,
empty, UTF-16 text (two planes), primed with the novels (through a ring), with format
7's and format 9's bit models, with format 12's float32 input rows, with x86 and 64-bit
ARM code, without the bit models or the maps, two members one after another) and its
earlier findings, mutates them, and keeps the inputs that reach new code (the
container's parser and the codec's driver are instrumented; the compiled kernels are
not, but every input reaches them through the driver). Limits per input: 1 s (a hang)
and 4 GiB (the process's memory: see the flags below), 4,096 bytes, and four members
decoded (`--members`; the fifth and later are not: see limit_members). It prints
libFuzzer's figures and what it found; a finding is written to the artifact folder, and
`--replay FILE` runs one again.

The primer (35 KB learnt before every default archive's first byte: ~0.1 s) depends
only on the settings an archive names, never on the rest of its bytes, so before it
starts the fuzzer primes a model for each seed's settings and builds each later model
with the same settings on an image of the primed arrays, mapped copy-on-write
(`--prime-every-time` turns that off; settings no seed has are primed every time). On the
2-core machine (one core, 2026-12-06) 60 s runs went from 92 inputs a second (the seeds'
default models, 69-115 MB, primed for every input) to 469 with whole copies of the
primed arrays; those copies then cost most of the time once the corpus held archives of
many small members (33 inputs a second, 2026-12-07: memmove and the kernel's zeroing of
fresh pages): mapped, an archive of 12 small default members decodes in 250 ms instead
of 980.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import mmap
import os
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

# Only bottlenet's own modules are instrumented: without `include`, everything first
# imported inside the block was too (numpy, pickle, datetime: 107 modules), which slowed
# every numpy call made from Python and fed numpy's own branches to the coverage signal.
with atheris.instrument_imports(include=["bottlenet"]):
    from bottlenet.compress import codec, container, kernels
    from bottlenet.compress.model import Model, Settings
    from bottlenet.errors import BottlenetError

# The arrays a Predictor learns into, restored whole after priming.
_LEARNT = ("E", "seen", "Wt", "c", "b", "ctx", "mtab", "mw", "B", "apm", "mixer", "cm")
# Arrays this large are kept in a memory file that each new model maps copy-on-write:
# a model of a small member then copies only the pages it writes (a few hundred), where
# a whole copy cost 69-115 MB of memmove and the kernel's zeroing of as many fresh pages
# for every member (each input of many small members: 33 inputs a second).
_MAPPED_FROM = 1 << 20
# Primed images kept, the least recently used dropped first: a bounded cache (no memory
# growth) large enough for the seeds' 20 primed models together (4-113 MB each, 1,206 MB):
# when it held only some, the inputs made from the others were primed every time (54 ms).
_CACHE_BYTES = 1536 << 20

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# What earlier runs found (each refused cleanly now; tests/test_compress_stream.py holds
# them): an empty coded block claiming 740,896 bytes, which decoded for 2 s.
FINDINGS = ("Qk5aGgcBDgCrHs2mwymbWqLHsHktAHeELWRLhloKwLhaAAAAAAAALQmqPAn4syZhLA==",)


class _Primed:
    """One settings' primed arrays: the small ones copied, the large ones in memory
    files (`arrays` maps them privately: writes go to the mapping's own pages)."""

    def __init__(self, predictor) -> None:
        self.small: dict[str, np.ndarray] = {}
        self.files: dict[str, tuple[int, int, tuple[int, ...], np.dtype]] = {}
        self.nbytes = 0
        for name in _LEARNT:
            a = getattr(predictor, name)
            if a is None:
                continue
            self.nbytes += a.nbytes
            if a.nbytes < _MAPPED_FROM:
                self.small[name] = a.copy()
                continue
            fd = os.memfd_create(f"primed-{name}")
            os.ftruncate(fd, a.nbytes)
            with mmap.mmap(fd, a.nbytes) as region:
                np.copyto(np.frombuffer(region, a.dtype).reshape(a.shape), a)
            self.files[name] = (fd, a.nbytes, a.shape, a.dtype)

    def arrays(self) -> dict[str, np.ndarray]:
        """The large arrays, each a private (copy-on-write) mapping of its file."""
        return {name: np.frombuffer(mmap.mmap(fd, size, access=mmap.ACCESS_COPY),
                                    dtype).reshape(shape)
                for name, (fd, size, shape, dtype) in self.files.items()}

    def restore(self, predictor) -> None:
        for name, a in self.small.items():
            np.copyto(getattr(predictor, name), a)

    def close(self) -> None:
        for fd, *_ in self.files.values():
            os.close(fd)    # the mappings made from it keep their pages


class _Filling:
    """Whether a model primed for new settings leaves its image in the cache. The images
    are made before the fuzzer starts (from the seeds: warm_up), never inside an input:
    copying a primed model's 4-113 MB into a memory file is the harness's cost, not the
    decoder's, and on CI's machine one such copy passed libFuzzer's 1 s limit per input
    (a timeout in _Primed.__init__, 2026-12-08). Inputs whose settings no seed has prime
    their model every time, as the decoder does."""

    on = True


def cache_priming() -> None:
    """Model.prime, primed once per settings: later models with the same settings are
    built on a copy-on-write image of the arrays it left (images made only while
    _Filling.on)."""
    prime, build, predictor = Model.prime, Model.__init__, kernels.Predictor
    primed: dict[Settings, _Primed] = {}
    building: list[_Primed] = []

    def built_on_primed(**arrays):
        if building:
            arrays.update(building[-1].arrays())
        return predictor(**arrays)

    def init(model: Model, settings: Settings) -> None:
        kept = primed.pop(settings, None) if settings.primer else None
        if kept is not None:
            primed[settings] = kept     # now the most recently used
        model._primed = kept            # type: ignore[attr-defined]
        if kept is None:
            build(model, settings)
            return
        building.append(kept)
        try:
            build(model, settings)
        finally:
            building.pop()

    def cached(model: Model) -> None:
        kept = getattr(model, "_primed", None)
        if kept is not None:
            kept.restore(model.predictor)
            return
        prime(model)
        if not _Filling.on or not model.settings.primer or model.settings in primed:
            return
        new = _Primed(model.predictor)
        if new.nbytes > _CACHE_BYTES:
            new.close()
            return
        while primed and new.nbytes + sum(p.nbytes for p in primed.values()) > _CACHE_BYTES:
            primed.pop(next(iter(primed))).close()
        primed[model.settings] = new

    kernels.Predictor = built_on_primed
    Model.__init__ = init               # type: ignore[method-assign]
    Model.prime = cached                # type: ignore[method-assign]


class _Enough(Exception):
    """Raised at an input's member past the limit (limit_members): decoding stops there."""


class _Members:
    """Members begun in the current input, and the most decoded (0: no limit)."""

    begun = 0
    most = 0


def limit_members(most: int) -> None:
    """Stop decoding an input at its member number `most` + 1 (codec._build, once per
    member). Archives of many members one after another are legal (format 12), and
    libFuzzer breeds them from the seeds: each member builds and primes its model (10-30
    ms on the seeds' settings, on images), so format 15's runs fell from ~1,000 inputs a
    second to 20-30 on inputs of a dozen members. The members past the first few run the
    same code as those before them."""
    build = codec._build
    _Members.most = most

    def counted(settings, extra=0):
        _Members.begun += 1
        if _Members.most and _Members.begun > _Members.most:
            raise _Enough
        return build(settings, extra)

    codec._build = counted


def one_input(data: bytes) -> None:
    """Decode `data`; a refusal is an answer, anything else a finding."""
    _Members.begun = 0
    with contextlib.suppress(BottlenetError, _Enough):
        codec.decompress(data)


def warm_up(folder: Path) -> None:
    """Decode every seed once before fuzzing, so that each seed's settings have their
    primed image, then make no more (see _Filling)."""
    for path in sorted(folder.iterdir()):
        one_input(path.read_bytes())
    _Filling.on = False


def seeds(folder: Path) -> None:
    """Real archives of every format, small enough to mutate quickly."""
    for path in sorted(DATA.glob("golden-v*.bn")):
        (folder / path.name).write_bytes(path.read_bytes())
    small = Settings(hidden=4, table_bits=12)
    made = {
        "v15-text.bn": codec.compress(b"HELLO HELO HELLLO, said the network. " * 20, small),
        "v15-binary.bn": codec.compress(bytes(range(256)) * 4, small),
        "v15-stored.bn": codec.compress(bytes((i * 7919) % 251 for i in range(600)), small),
        "v15-empty.bn": codec.compress(b"", small),
        "v15-default.bn": codec.compress(b"It was the best of times, it was the worst. " * 8),
        "v15-no-bit-models.bn": codec.compress(b"It was the age of wisdom. " * 8,
                                               Settings(cm_bits=0)),
        "v15-whole.bn": codec.compress(bytes(range(256)) * 2,   # no APMs, no bit models
                                       Settings(apm=0, cm_bits=0)),
        # fixed-length records: the record contexts at work
        "v15-records.bn": codec.compress(b"".join(i.to_bytes(2, "little") + b"REC"
                                                  for i in range(240))),
        # format 9's model (no confidence inputs, one final map) in format 15
        "v15-as-format-9.bn": codec.compress(b"It was the spring of hope. " * 8,
                                             Settings(cm_confidence=0, final_maps=1)),
        "v15-as-format-7.bn": codec.compress(b"It was the epoch of belief. " * 8,
                                             Settings(cm_map=0, cm_ways=1, final_mixer=0,
                                                      cm_confidence=0, final_maps=1)),
        # format 12's float32 input rows in format 15
        "v15-as-format-12.bn": codec.compress(b"It was the season of Darkness. " * 8,
                                              Settings(row_bits=32)),
        # x86 calls made absolute in the ranges the settings name (format 10)
        "v15-code.bn": codec.compress(b"".join(b"\x48\x89\xe8" + (i * 40).to_bytes(4, "little")
                                               for i in range(100)),
                                      Settings(code_ranges=(0, 300, 400, 700))),
        # 64-bit ARM calls (BL) and pages (ADRP) made absolute (format 12)
        "v15-code-arm64.bn": codec.compress(b"".join(
            (0x94000000 | (i * 3) % 40).to_bytes(4, "little") + (0x90000000 | i << 5).to_bytes(
                4, "little") + b"\xfd\x7b\xbf\xa9" for i in range(60)),
            Settings(code_ranges=(0, 400, 404, 720), code_arch="arm64")),
        # markup: the markup contexts at work (format 9)
        "v15-markup.bn": codec.compress(b"".join(b'<item n="%d">It was the season of '
                                                 b'Light.</item>\n' % i for i in range(20))),
        # a grey image (PGM) and a colour one at 3 bytes a pixel, given by the settings
        # (format 11): the image contexts at work
        "v15-image.bn": codec.compress(b"P5\n24 20\n255\n" + bytes(
            (5 * x + 3 * y) % 256 for y in range(20) for x in range(24))),
        "v15-image-rgb.bn": codec.compress(bytes((x * 7 + y * (x % 3)) % 256 for y in range(16)
                                                 for x in range(60)),
                                           Settings(image=(12, 900, 60, 3))),
        # UTF-16 text, read as two planes (format 14)
        "v15-utf16.bn": codec.compress(("It was the winter of despair. " * 8).encode("utf-16-le")),
        # the second primer, the novels, read through a ring (format 15)
        "v15-novels.bn": codec.compress(b"We had everything before us. " * 8,
                                        Settings(hidden=4, table_bits=12, primer=2)),
        # a bilevel image (a PBM: 8 pixels a byte), its own profile's contexts at work
        "v15-bilevel.bn": codec.compress(b"P4\n160 24\n" + np.packbits(
            np.add.outer(np.arange(24), np.arange(160)) % 37 < 9, axis=1).tobytes()),
    }
    for name, result in made.items():
        (folder / name).write_bytes(result.archive)
    # members one after another (from format 12: a tar archive's pieces, segments.py)
    (folder / "v15-members.bn").write_bytes(made["v15-text.bn"].archive
                                            + made["v15-binary.bn"].archive)
    for i, found in enumerate(FINDINGS):
        (folder / f"finding-{i}.bn").write_bytes(base64.b64decode(found))
    assert container.FORMAT_VERSION == 15  # a new format adds its seeds here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="inputs to try")
    parser.add_argument("--seconds", type=int, default=0, help="stop after this long (0: no)")
    parser.add_argument("--artifacts", type=Path, default=Path("fuzz-findings"),
                        help="folder for findings (crashes, hangs)")
    parser.add_argument("--replay", type=Path, help="run one input again and say what it does")
    parser.add_argument("--max-len", type=int, default=4096,
                        help="longest input libFuzzer makes (bytes; the seeds are cut to it)")
    parser.add_argument("--members", type=int, default=4,
                        help="decode at most this many members of an input (0: all)")
    parser.add_argument("--prime-every-time", action="store_true",
                        help="prime every model (slower; the primed arrays are the same)")
    args = parser.parse_args()
    if not args.prime_every_time:
        cache_priming()
    if args.replay:
        one_input(args.replay.read_bytes())
        print(f"{args.replay}: decoded or refused cleanly")
        return
    args.artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as corpus:
        seeds(Path(corpus))
        limit_members(args.members)   # (after the seeds, which compress; a replay decodes all)
        if not args.prime_every_time:
            warm_up(Path(corpus))
        # Longest input 4,096 bytes (16,384 before 2026-12-07): decoding costs about as
        # long as the bytes it writes, and libFuzzer grows its inputs toward the limit
        # (archives of many members, each decoding a few hundred bytes): format 15's run
        # fell from ~1,200 inputs a second to 25-30 on inputs of up to 8 KB. Every seed
        # but golden-v7-other.bn (7,774 bytes; format 7 has smaller ones) fits.
        # RSS limit 4,096 MB: two fresh CI clones held ~2,076 MB before their first inputs
        # (this checkout: 342 MB at most; the input flagged replays alone at 154 MB),
        # cause not found; turning off transparent huge pages did not change it.
        flags = [sys.argv[0], corpus, f"-runs={args.runs}", "-timeout=1", "-rss_limit_mb=4096",
                 f"-max_len={args.max_len}", "-print_final_stats=1",
                 f"-artifact_prefix={args.artifacts.resolve()}/"]
        if args.seconds:
            flags.append(f"-max_total_time={args.seconds}")
        atheris.Setup(flags, one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
