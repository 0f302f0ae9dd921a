"""Every command's options at and beyond their edges (hypothesis): a run either refuses
with exit code 2 and one line on stderr, or reaches its work; never a traceback, and a
refused run leaves nothing behind. The work itself (training, a sweep, compressing...)
is replaced by a stand-in that stops the run, so these tests are about what is checked
before the work starts, which is where every check belongs.

Each option has values that must be accepted and values that must be refused; some
refusals come from combinations (the `refused` rule of each command)."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

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
from bottlenet.cli import app
from bottlenet.compress import kernels_built
from conftest import needs_kernels

runner = CliRunner()
# the compressor's commands are tested where its compiled kernels were built (conftest)
KERNELS = kernels_built()
WORK = ("bottlenet.trainer.train", "bottlenet.capacity.run", "bottlenet.check.check_population",
        "bottlenet.construct.construct", "bottlenet.experiments.run_claim",
        *(("bottlenet.compress.codec.compress", "bottlenet.compress.codec.decompress")
          if KERNELS else ()))
FLAG = object()  # an option that takes no value
EXAMPLES = settings(max_examples=25, suppress_health_check=list(HealthCheck))


class ReachedWork(Exception):
    """The stand-in for the work: the run got past every check."""


def _reached(*args, **kwargs):
    raise ReachedWork


@dataclass(frozen=True)
class Opt:
    flag: str | None  # None: a positional argument
    good: st.SearchStrategy
    bad: st.SearchStrategy | None = None
    required: bool = False


def ints(lo, hi, cap=None):
    top = hi if cap is None else min(hi, cap)
    edges = [lo - 1, hi + 1, -2**63, 2**64 + 1]
    return (st.one_of(st.integers(lo, top), st.sampled_from([lo, top])).map(str),
            st.sampled_from([str(v) for v in edges] + ["1.5", "x", ""]))


def reals(lo, hi, bad=()):
    return (st.floats(lo, hi).map(repr),
            st.sampled_from(["nan", "inf", "-inf", "1e400", "x", *bad]))


def choice(names, bad=("nope", "")):
    return st.sampled_from(list(names)), st.sampled_from(list(bad))


def flag():
    return st.just(FLAG), None


def opt(flag_name, pair, required=False):
    good, bad = pair
    return Opt(flag_name, good, bad, required)


OUT_BAD = st.sampled_from(["{d}", "{d}/file.txt/x.npz", "/proc/bottlenet/x.npz"])
PICTURE = (st.sampled_from(["{d}/p.svg", "{d}/new/p.png"]),
           st.sampled_from(["{d}/p.gif", "{d}", "{d}/file.txt/p.png"]))
DB = (st.sampled_from(["{d}/r.db", "{d}/new/r.db"]),
      st.sampled_from(["{d}", "{d}/file.txt", "{d}/file.txt/r.db"]))
SEED = (st.integers(0, 2**32 - 1 - 2**20).map(str),
        st.sampled_from(["-1", str(2**32), str(2**64 + 1), "x"]))
# a network's seed is an int32 (JAX's key): the first seed plus the population stays below
# 2^31 (reproduce reserves room for its largest population, 2^20 networks)
NETWORK_SEED = (st.integers(0, 2**31 - 2**20).map(str),
                st.sampled_from(["-1", str(2**31), str(2**32), str(2**64 + 1), "x"]))

TRAIN = [
    opt("--task", choice(TASKS)),
    opt("--symbols", ints(2, 10**7, cap=30)),
    opt("--table", (st.sampled_from(["{d}/ok.csv", "{d}/ok.json"]),
                    st.sampled_from(["{d}/nul.csv", "{d}/nested.json", "{d}/deep.json",
                                     "{d}/missing.csv", "{d}", "{d}/sum.csv",
                                     "{d}/long.csv", "{d}/in.txt"]))),
    opt("--hidden", (st.sampled_from(["0", "1", "2", "3,3"]),
                     st.sampled_from(["-1", "", "2,,3", "0,2", "x", "4097", "2,-1"]))),
    opt("--activation", choice(ACTIVATIONS)),
    opt("--output", choice(HEADS, ("relu", ""))),
    opt("--optimizer", choice(OPTIMIZERS)),
    opt("--lr", reals(1e-4, 1.0, ("0", "-1"))),
    opt("--schedule", choice(SCHEDULES)),
    opt("--steps", ints(1, 2**31 - 1, cap=40)),
    opt("--seeds", ints(1, 2**20, cap=4)),
    opt("--seed", NETWORK_SEED),
    opt("--task-seed", SEED),
    opt("--batch", ints(0, 2**31 - 1, cap=8)),
    opt("--dtype", choice(DTYPES, ("float16", ""))),
    opt("--softmax", choice(SOFTMAXES, ("sparse", ""))),
    opt("--init-scale", reals(0.01, 5.0, ("0", "-1"))),
    opt("--stop", choice(STOPS)),
    opt("--snapshots", (st.sampled_from(["0", "1", "0,1"]),
                        st.sampled_from(["x", "-1", "1,,2", str(2**40)]))),
    opt("--save", (st.sampled_from(["{d}/m.npz", "{d}/new/sub/m.npz", "{d}/existing.npz"]),
                   OUT_BAD)),
    opt("--force", flag()),
    opt("--json", flag()),
]


def train_refused(a: dict) -> bool:
    draws_no_table = "--table" in a or a.get("--task", "shift") in ("shift", "identity")
    return (("--table" in a and ("--task" in a or "--symbols" in a))
            or ("--task-seed" in a and draws_no_table)
            or (a.get("--save") == "{d}/existing.npz" and "--force" not in a)
            or int(a.get("--batch", 0)) > _pairs(a)
            # every task drawn here has fewer outputs than the sampled softmax serves
            or a.get("--softmax") == "sampled")


def _pairs(a: dict) -> int:
    """How many pairs the task of a train command line has (see the fixtures' tables)."""
    if "--table" in a:
        return {"{d}/ok.csv": 3, "{d}/ok.json": 2}[a["--table"]]
    n = int(a.get("--symbols", 11))
    return n - 1 if a.get("--task", "shift") == "shift" else n


NET = ints(0, 3)
SHOW = [opt(None, (st.just("{d}/model.npz"),
                   st.sampled_from(["{d}/in.txt", "{d}/missing.npz", "{d}", "{d}/a.bn"])),
            required=True),
        opt("--net", NET), opt("--json", flag())]
DRAW = [*SHOW[:2], opt("--out", PICTURE, required=True),
        opt("--walk", (st.sampled_from(["1", "5"]), st.sampled_from(["0", "6", "x"]))),
        opt("--space", flag()), opt("--training", flag()),
        opt("--step", (st.just("10"), st.sampled_from(["7", "-1", str(2**64)]))),
        opt("--pow2", flag()), opt("--numbers", flag())]


def draw_refused(a: dict) -> bool:
    views = sum(k in a for k in ("--walk", "--space", "--training"))
    return (views > 1 or ("--training" in a and ("--net" in a or "--step" in a))
            or ("--pow2" in a and "--walk" not in a) or ("--numbers" in a and views > 0))


CAPACITY = [
    opt("--hidden", (st.sampled_from(["1", "2,3", "0"]),
                     st.sampled_from(["", "x", "-1", "1,,2", "4097"]))),
    opt("--activation", (st.sampled_from(["tanh", "relu,tanh"]), st.sampled_from(["nope", ""]))),
    opt("--task", choice(TASKS)),
    opt("--seeds", ints(1, 2**20, cap=8)),
    opt("--steps", ints(1, 2**31 - 1, cap=100)),
    opt("--threshold", reals(0.01, 1.0, ("0", "-0.5", "1.5"))),
    opt("--optimizer", choice(OPTIMIZERS)),
    opt("--lr", reals(1e-4, 1.0, ("0", "-1"))),
    opt("--seed", NETWORK_SEED),
    opt("--max-symbols", ints(4, 10**7, cap=64)),
    opt("--time-budget", reals(1.0, 1e6, ("0", "-1"))),
    opt("--start", ints(2, 10**7, cap=16)),
    opt("--dtype", choice(DTYPES, ("float16", ""))),
    opt("--batch", ints(0, 2**31 - 1, cap=8)),
    opt("--softmax", choice(SOFTMAXES, ("sparse", ""))),
    opt("--db", DB), opt("--plot", PICTURE), opt("--atlas", PICTURE),
    opt("--resume", flag()), opt("--json", flag()),
]


def capacity_refused(a: dict) -> bool:
    several_k = len(a.get("--hidden", "1,2,3").split(",")) > 1
    sampled_refused = a.get("--softmax") == "sampled" and (
        "0" in a.get("--hidden", "1,2,3").split(",") or int(a.get("--batch", 0)) > 0)
    return ("--resume" in a or ("--atlas" in a and not several_k) or sampled_refused
            or int(a.get("--start", 4)) > int(a.get("--max-symbols", 10**7)))


CONSTRUCT = [
    opt("--symbols", (st.integers(2, 200).map(str),
                      st.sampled_from(["1", str(10**7 + 1), str(10**6), "x"]))),
    opt("--hidden", ints(1, 4096, cap=4)),
    opt("--method", choice(("circle", "grid"))),
    opt("--task", choice(("shift", "identity", "permutation"), ("random", "x"))),
    opt("--prob", reals(0.01, 0.99, ("0", "1", "-1"))),
    opt("--radius", reals(0.01, 0.99, ("0", "1", "-1"))),
    opt("--seed", SEED),
    opt("--dtype", choice(DTYPES, ("float16", ""))),
    opt("--save", (st.sampled_from(["{d}/c.npz", "{d}/existing.npz"]), OUT_BAD)),
    opt("--force", flag()),
    opt("--limit", flag()),
]


def construct_refused(a: dict) -> bool:
    return (("--seed" in a and a.get("--task") != "permutation")
            or (a.get("--save") == "{d}/existing.npz" and "--force" not in a)
            or ("--limit" in a and int(a.get("--hidden", 2)) > 8))


REPRODUCE = [
    opt("--only", (st.sampled_from(["C1", "c4, C13"]),
                   st.sampled_from(["", "C99", ",", "C1,,C2"]))),
    opt("--seed", NETWORK_SEED),
    opt("--out", (st.sampled_from(["{d}/rep", "{d}/new/rep"]),
                  st.sampled_from(["{d}/file.txt", "{d}/file.txt/rep"]))),
    opt("--db", DB), opt("--full", flag()), opt("--fresh", flag()),
]

COMPRESS = [
    opt(None, (st.just("{d}/in.txt"), st.sampled_from(["{d}/missing.txt", "{d}"])),
        required=True),
    opt("--hidden", ints(1, 1024, cap=64)),
    opt("--orders", (st.sampled_from(["1,2,w", "1-3", "0", "ww,4", "2,m"]),
                     # ("x" is the markup context since format 9: a valid order)
                     st.sampled_from(["", "9", "1-100", "q", "1,1", "-1", "3-1",
                                      "1-99999999999", "m,m", "mm"]))),
    opt("--table-bits", (st.sampled_from(["0", "10", "16"]),
                         st.sampled_from(["5", "29", "-1", str(2**64)]))),
    opt("--lr-input", reals(1e-4, 1.0, ("-1",))),  # 0 is valid: the rate chosen from the data
    opt("--lr-output", reals(1e-4, 1.0, ("0", "-1"))),
    opt("--lr-output-first", reals(1e-4, 1.0, ("0", "-1"))),
    opt("--boost", reals(0.0, 100.0, ("-1", "1e7"))),
    opt("--seed", (st.integers(0, 2**32 - 1).map(str),
                   st.sampled_from(["-1", str(2**32), str(2**64 + 1)]))),
    opt("-o", (st.sampled_from(["{d}/o.bn", "{d}/new/o.bn", "{d}/existing.npz"]),
               st.sampled_from(["{d}", "{d}/file.txt/o.bn"]))),
    opt("--plot", PICTURE), opt("--stats", flag()), opt("--force", flag()),
]


def output_taken(a: dict) -> bool:
    return a.get("-o") in ("{d}/existing.npz", "{d}/in.txt") and "--force" not in a


DECOMPRESS = [
    opt(None, (st.just("{d}/a.bn"),
               st.sampled_from(["{d}/in.txt", "{d}/missing.bn", "{d}", "{d}/model.npz"])),
        required=True),
    opt("-o", (st.sampled_from(["{d}/out.txt", "{d}/in.txt"]),
               st.sampled_from(["{d}", "{d}/file.txt/x"]))),
    opt("--force", flag()),
]


@st.composite
def command_lines(draw, options):
    """(argv with {d} placeholders, the chosen values by flag, whether a value is bad)."""
    chosen: dict = {}
    bad = False
    for o in options:
        kinds = ["good"] if o.required else ["absent", "absent", "good"]
        if o.bad is not None:
            kinds.append("bad")
        kind = draw(st.sampled_from(kinds))
        if kind == "absent":
            continue
        chosen[o.flag] = draw(o.good if kind == "good" else o.bad)
        bad = bad or kind == "bad"
    argv = []
    for o in options:
        if o.flag in chosen:
            value = chosen[o.flag]
            argv += [value] if o.flag is None else [o.flag] if value is FLAG else [o.flag, value]
    return argv, {k: v for k, v in chosen.items() if k is not None}, bad


@pytest.fixture(scope="module")
def fixtures():
    """A folder of inputs every example starts from: a model, an archive, tables."""
    from bottlenet import modelfile, tasks, train
    from bottlenet.config import TrainConfig
    from bottlenet.spec import NetSpec

    base = Path(tempfile.mkdtemp(prefix="bottlenet-bad-input-"))
    src = base / "inputs"
    src.mkdir()
    pop = train(tasks.shift(5), NetSpec(5, 5, (2,)),
                TrainConfig(steps=20, seeds=4, snapshots=(10,), chunk=10))
    modelfile.save(pop, src / "model.npz")
    text = b"the cat sat on the mat; " * 40
    (src / "in.txt").write_bytes(text)
    if KERNELS:
        from bottlenet.compress import codec
        from bottlenet.compress.model import Settings

        (src / "a.bn").write_bytes(codec.compress(text, Settings(hidden=4)).archive)
    (src / "file.txt").write_text("a regular file\n")
    (src / "existing.npz").write_bytes(b"someone's file")
    (src / "ok.csv").write_text("A,B\nB,C\nC,A\n")
    (src / "ok.json").write_text(json.dumps({"pairs": [["A", "B"], ["B", 3]]}))
    (src / "nul.csv").write_text("A\x00,B\nB,C\n")
    (src / "nested.json").write_text(json.dumps({"pairs": [["A", ["B"]], ["B", "C"]]}))
    (src / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (src / "sum.csv").write_text("A,B,1e308\nB,C,1e308\nC,A,1e308\n")
    (src / "long.csv").write_text("A," + "B" * 200_000 + "\nB,C\n")
    yield base, src
    shutil.rmtree(base, ignore_errors=True)


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size if p.is_file() else -1
            for p in folder.rglob("*")}


def check(fixtures, command: str, argv: list, refused: bool):
    """Run the command in a fresh copy of the inputs and check the contract."""
    base, src = fixtures
    d = Path(tempfile.mkdtemp(dir=base))
    shutil.copytree(src, d, dirs_exist_ok=True)
    argv = [command, *(a.replace("{d}", str(d)) for a in argv)]
    before = _listing(d)
    cwd = os.getcwd()
    os.chdir(d)  # relative defaults (results/...) land in the example's folder
    try:
        with contextlib.ExitStack() as stack:
            for work in WORK:  # modules imported before any patch: none binds a stand-in
                importlib.import_module(work.rpartition(".")[0])
            for work in WORK:
                stack.enter_context(mock.patch(work, _reached))
            r = runner.invoke(app, argv)
    finally:
        os.chdir(cwd)
    after = _listing(d)
    assert not [p for p in after if p.endswith((".tmp", ".part"))], (argv, after)
    if isinstance(r.exception, ReachedWork):
        assert not refused, f"should have been refused: {argv}"
        return
    assert "Traceback" not in r.output and (r.exception is None or isinstance(
        r.exception, SystemExit)), (argv, r.output, repr(r.exception))
    if r.exit_code == 0:
        assert not refused, f"should have been refused: {argv}"
        return
    assert r.exit_code == 2, (argv, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, r.stderr)
    assert refused, f"refused a valid command line: {argv}: {r.stderr}"
    assert after == before, f"a refused run left files behind: {argv}"


ARGMAX = SHOW[:2]  # the model and --net
CHECK = SHOW  # the model, --net and --json
# command -> (its options, the rule for combinations that must be refused)
COMMANDS = {
    "train": (TRAIN, train_refused), "show": (SHOW, None), "argmax": (ARGMAX, None),
    "check": (CHECK, None),
    "draw": (DRAW, draw_refused), "capacity": (CAPACITY, capacity_refused),
    "construct": (CONSTRUCT, construct_refused), "reproduce": (REPRODUCE, None),
    **({"compress": (COMPRESS, output_taken), "decompress": (DECOMPRESS, output_taken)}
       if KERNELS else {}),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@EXAMPLES
@given(data=st.data())
def test_options_at_and_beyond_their_edges(fixtures, command, data):
    options, combination_refused = COMMANDS[command]
    argv, chosen, bad = data.draw(command_lines(options))
    check(fixtures, command, argv,
          bad or (combination_refused is not None and combination_refused(chosen)))


# ---- crafted files: valid containers, absurd contents --------------------------------

ODD = st.sampled_from([-1, 0, 1, 3, 7, 2**31, 2**64, 1.5, float("nan"), "x", "", None,
                       [], [1, 2], [[1]], {}, True])


def _model_members(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@st.composite
def crafted_models(draw):
    """(header changes, array changes): each a small list of edits of a real model."""
    header_edits = draw(st.lists(st.tuples(st.sampled_from([
        ("spec", "n_in"), ("spec", "hidden"), ("spec", "activation"), ("spec", "bias"),
        ("spec", "head"), ("task", "inputs"), ("task", "targets"), ("task", "n_out"),
        ("task", "in_names"), ("task", "frequencies"), ("config", "lr"),
        ("config", "steps"), ("config",), ("layers",), ("snapshot_steps",),
        ("steps_run",), ("wall_time",), ("version",)]), ODD), max_size=2))
    array_edits = draw(st.lists(st.tuples(
        st.sampled_from(["seeds", "solved", "final_loss", "params/0/w", "params/1/b",
                         "history/loss", "history/step", "history/max_weight",
                         "snapshot/10/0/w"]),
        st.one_of(st.none(), st.tuples(
            st.lists(st.integers(0, 6), max_size=3),
            st.sampled_from(["float32", "int64", "bool", "<U3", "complex64"])))),
        max_size=2))
    return header_edits, array_edits


@settings(max_examples=30, suppress_health_check=list(HealthCheck))
@given(crafted_models(), st.sampled_from([["show"], ["argmax"], ["draw", "--training"],
                                          ["draw"], ["draw", "--space"]]))
def test_crafted_model_files(fixtures, edits, command):
    base, src = fixtures
    members = _model_members(src / "model.npz")
    header = json.loads(members["bottlenet.json"].tobytes())
    header_edits, array_edits = edits
    for path, value in header_edits:
        node = header
        for key in path[:-1]:
            node = node[key] if isinstance(node.get(key), dict) else {}
        node[path[-1]] = value
    members["bottlenet.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    for name, change in array_edits:
        if change is None:
            members.pop(name, None)
        else:
            shape, dtype = change
            members[name] = np.zeros(shape, dtype)
    d = Path(tempfile.mkdtemp(dir=base))
    np.savez(d / "crafted.npz", **members)  # valid zip and CRCs: only the contents lie
    argv = [*command, "{d}/crafted.npz"]
    if command[0] == "draw":
        argv += ["--out", "{d}/x.png"]
    r = runner.invoke(app, [a.replace("{d}", str(d)) for a in argv])
    assert r.exit_code in (0, 2) and (r.exception is None or isinstance(
        r.exception, SystemExit)), (header_edits, array_edits, repr(r.exception))
    if r.exit_code == 2:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@settings(max_examples=30, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["hidden", "orders", "table_bits", "lr_input", "boost",
                                        "seed", "clamp", "init_scale", "extra"]),
                       st.one_of(ODD, st.lists(ODD, max_size=3)), max_size=2),
       st.sampled_from([None, 0, 1, 10**6, 2**40, 2**64 - 1]),
       st.sampled_from([None, 0, 1]), st.booleans())
def test_crafted_archives(fixtures, settings_edits, length, mode, delete_key):
    """Archives whose checksums are all valid but which say absurd things: settings, the
    original's length in the trailer, a block's length or how it is stored."""
    needs_kernels()
    import io
    import struct

    from bottlenet.compress import container

    base, src = fixtures
    blob = (src / "a.bn").read_bytes()
    rest = io.BytesIO(blob[8:])
    settings_, fp = container.read_head(blob[:8], rest.read)
    raw_length, stored, body = container.read_block(rest.read, 1, container.BLOCK)
    assert container.read_block(rest.read, 2, container.BLOCK) is None
    total, crc = container.read_trailer(rest.read)
    if delete_key and settings_:
        settings_.pop(sorted(settings_)[0])
    settings_.update(settings_edits)
    if mode is not None:  # 0: the coded bytes claimed stored; 1: a length they cannot hold
        raw_length, stored = (len(body), True) if mode == 0 else (container.BLOCK, False)
    crafted = (container.pack_head(settings_, fp)
               + container.pack_block(raw_length, body, stored)
               + container.end_of_blocks(total if length is None else length % 2**64, crc))
    assert struct.unpack_from("<H", crafted, 6)[0] > 0
    d = Path(tempfile.mkdtemp(dir=base))
    (d / "x.bn").write_bytes(crafted)
    r = runner.invoke(app, ["decompress", str(d / "x.bn"), "-o", str(d / "x")])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    if r.exit_code == 2:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert sorted(p.name for p in d.iterdir()) == ["x.bn"], "left files behind"
    else:
        assert r.exit_code == 0 and (d / "x").read_bytes() == (src / "in.txt").read_bytes()
