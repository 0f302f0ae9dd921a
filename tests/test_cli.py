"""The command line: real runs, and one clear line with exit code 2 for bad input."""

import json
import re

import pytest
from typer.testing import CliRunner

from bottlenet.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_save_show_round_trip(tmp_path):
    model = tmp_path / "shift5.npz"
    r = run("train", "--symbols", 5, "--seeds", 8, "--steps", 2000, "--save", model, "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["networks"] == 8 and s["solved"] >= 7
    assert s["connections"] == 20
    assert s["saved_to"] == str(model)
    r = run("show", model)
    assert r.exit_code == 0
    assert "layer 1: inputs -> hidden" in r.stdout and "solved" in r.stdout
    r = run("show", model, "--json", "--net", 0)
    shown = json.loads(r.stdout)
    assert shown["shown_network"] == 0
    assert len(shown["weights"][0]["w"]) == 5  # 5 input rows


def test_train_from_table(tmp_path):
    table = tmp_path / "abc.csv"
    table.write_text("a,b\nb,c\nc,a\n")
    r = run("train", "--table", table, "--seeds", 4, "--steps", 500, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["symbols"] == {"inputs": 3, "outputs": 3, "pairs": 3}


@pytest.mark.slow  # 3 s, to keep the default run under 3 minutes
def test_plain_summary_is_readable():
    r = run("train", "--symbols", 4, "--seeds", 4, "--steps", 300)
    assert r.exit_code == 0
    assert "solved" in r.stdout and "of 4" in r.stdout and "connections" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--symbols", 1], "--symbols must be in 2.."),
    (["--hidden", -1], "--hidden must be 0"),
    (["--hidden", "x"], "--hidden takes"),
    (["--activation", "swish2"], "unknown activation 'swish2'"),
    (["--task", "nope"], "unknown task 'nope'"),
    (["--output", "relu"], "unknown output head"),
    (["--optimizer", "lbfgs"], "unknown optimizer"),
    (["--lr", 0], "learning rate (--lr) must be > 0"),
    (["--lr", -1], "learning rate (--lr) must be > 0"),
    (["--steps", 0], "steps (--steps) must be in 1.."),
    (["--seeds", 0], "(--seeds) must be in 1.."),
    (["--seeds", 10**5, "--symbols", 1000, "--hidden", 64], "needs about"),
    (["--table", "/nonexistent/table.csv"], "no such table file"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = run("train", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_malformed_table_file(tmp_path):
    table = tmp_path / "bad.csv"
    table.write_text("a,b,c,d\n")
    r = run("train", "--table", table)
    assert r.exit_code == 2 and "every row must be" in r.stderr


def test_show_rejects_foreign_file(tmp_path):
    f = tmp_path / "x.npz"
    f.write_bytes(b"not a zip at all")
    r = run("show", f)
    assert r.exit_code == 2 and "is not a bottlenet model file" in r.stderr


@pytest.mark.slow  # 9 s; every picture is drawn in test_draw, and errors in test_bad_input
def test_draw_commands(tmp_path):
    model = tmp_path / "m.npz"
    assert run("train", "--symbols", 5, "--seeds", 4, "--steps", 1000, "--snapshots", "0,10",
               "--save", model).exit_code == 0
    for args in (["--out", tmp_path / "d.svg"], ["--walk", 2, "--out", tmp_path / "w.png"],
                 ["--space", "--out", tmp_path / "s.svg", "--step", 10],
                 ["--training", "--out", tmp_path / "t.png"]):
        r = run("draw", model, *args)
        assert r.exit_code == 0, r.output
        assert (tmp_path / str(args[-1] if args[-1] != 10 else "s.svg")).name in r.stderr
    for args, msg in ((["--out", tmp_path / "x.gif"], ".svg or .png"),
                      (["--walk", 9, "--out", tmp_path / "w.png"], "--walk must be in 1..5"),
                      (["--step", 5, "--out", tmp_path / "a.png"], "no snapshot at step 5"),
                      (["--space", "--training", "--out", tmp_path / "a.png"], "choose one")):
        r = run("draw", model, *args)
        assert r.exit_code == 2 and msg in r.stderr, r.output


@pytest.mark.slow  # 8 s; test_capacity resumes an interrupted sweep in the default run
def test_capacity_command_and_resume(tmp_path):
    db = tmp_path / "r.db"
    args = ["capacity", "--hidden", "1,2", "--seeds", 4, "--steps", 400, "--max-symbols", 8,
            "--db", db, "--plot", tmp_path / "cap.png", "--json"]
    r = run(*args)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["config"]["hidden"] for row in rows] == [1, 2]
    assert all(row["trials_run_now"] == len(row["trials"]) for row in rows)
    assert (tmp_path / "cap.png").stat().st_size > 10000
    r = run("capacity", "--resume", "--db", db, "--plot", tmp_path / "cap.svg", "--json")
    assert r.exit_code == 0, r.output
    again = json.loads(r.stdout)
    assert all(row["trials_run_now"] == 0 for row in again)
    assert [row["frontier_n"] for row in again] == [row["frontier_n"] for row in rows]
    assert "from database" in r.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--threshold", 0], "--threshold must be in (0, 1]"),
    (["--threshold", 1.5], "--threshold must be in (0, 1]"),
    (["--hidden", ""], "comma-separated list"),
    (["--hidden", "1,,2"], "comma-separated list"),
    (["--hidden", "a"], "not a list of int"),
    (["--activation", "tanh,nope"], "unknown activation 'nope'"),
    (["--task", "nope"], "unknown task"),
])
def test_capacity_bad_input(tmp_path, args, message):
    r = run("capacity", "--db", tmp_path / "r.db", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr


def test_capacity_refuses_foreign_database_untouched(tmp_path):
    db = tmp_path / "foreign.db"
    db.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    before = db.read_bytes()
    r = run("capacity", "--db", db)
    assert r.exit_code == 2 and "not a bottlenet results database" in r.stderr
    assert db.read_bytes() == before
    r = run("capacity", "--resume", "--db", tmp_path / "new.db")
    assert r.exit_code == 2 and "no results database" in r.stderr
    assert not (tmp_path / "new.db").exists()


def test_construct_and_argmax_commands(tmp_path):
    model = tmp_path / "c.npz"
    r = run("construct", "--symbols", 60, "--save", model, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["solved_float32"] and res["min_probability"] >= 0.9 - 1e-9
    r = run("argmax", model, "--json")
    assert r.exit_code == 0
    res = json.loads(r.stdout)
    assert res["never_win"] == [0] and res["targets_that_cannot_win"] == []
    r = run("construct", "--symbols", 5, "--prob", 1.2)
    assert r.exit_code == 2 and "probability (--prob) must be in (0, 1)" in r.stderr
    r = run("construct", "--task", "random")
    assert r.exit_code == 2


def test_reproduce_command_subset(tmp_path, monkeypatch):
    from bottlenet.experiments import Budget

    monkeypatch.setattr(Budget, "quick", classmethod(lambda cls: Budget.tiny()))
    args = ["reproduce", "--only", "C1", "--db", tmp_path / "r.db", "--out", tmp_path / "rep"]
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "index.html").exists()
    assert "C1" in r.stdout and "undecided" in r.stdout  # 4 of 4 solve: 51-100%, not 90%
    r = run(*args)
    assert r.exit_code == 0 and r.stderr.count("from database") == 1
    r = run("reproduce", "--only", "C42", "--db", tmp_path / "r.db")
    assert r.exit_code == 2 and "--only takes claims from" in r.stderr


def test_help_paragraphs_are_wrapped_by_the_terminal_not_the_docstring():
    from bottlenet.cli.console import reflow

    assert reflow("Title.\n\n    one\n    two\n\n        code line\n        more\n") == (
        "Title.\n\none two\n\n    code line\n    more")
    result = runner.invoke(app, ["reproduce", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    # The docstring breaks after "written"; kept, that break left "written" alone on a
    # line of its own at 80 columns.
    assert "written in the code" in result.output


@pytest.mark.slow
def test_capacity_options_are_part_of_the_trial_key_and_survive_resume(tmp_path):
    from bottlenet.config import CapacityConfig
    from bottlenet.store import Store

    assert CapacityConfig(hidden=2).key() != CapacityConfig(hidden=2, logit_scale=False).key()
    db = tmp_path / "r.db"
    args = ["--hidden", "2", "--seeds", 2, "--steps", 300, "--max-symbols", 8, "--db", db,
            "--plot", tmp_path / "cap.png", "--json"]
    plain = json.loads(run("capacity", "--no-logit-scale", "--lr", 0.05, *args).stdout)
    scaled = json.loads(run("capacity", *args).stdout)
    assert plain[0]["config"]["logit_scale"] is False and plain[0]["config"]["lr"] == 0.05
    assert scaled[0]["config"]["logit_scale"] is True and scaled[0]["trials_run_now"] > 0
    again = json.loads(run("capacity", "--resume", "--db", db, "--json").stdout)
    assert again[0]["config"] == scaled[0]["config"] and again[0]["trials_run_now"] == 0
    # a sweep recorded before the logit scale existed resumes without it
    with Store(db) as store:
        store.save_sweep({"configs": [{k: v for k, v in plain[0]["config"].items()
                                       if k != "logit_scale"}],
                          "threshold": 0.5, "max_symbols": 8})
    old = json.loads(run("capacity", "--resume", "--db", db, "--json").stdout)
    assert old[0]["config"]["logit_scale"] is False and old[0]["trials_run_now"] == 0


@pytest.mark.slow  # (test_draw draws the atlas in the default run)
def test_capacity_atlas_is_drawn_for_several_k(tmp_path):
    r = run("capacity", "--hidden", "1,2", "--seeds", 2, "--steps", 200, "--max-symbols", 8,
            "--db", tmp_path / "r.db", "--atlas", tmp_path / "atlas.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "atlas.png").stat().st_size > 10000
    assert "atlas.png" in r.stdout


def test_a_run_too_large_for_any_memory_is_refused_with_its_size():
    # a minibatch of a million pairs against a million outputs: 4 TB of logits
    r = run("train", "--symbols", 1000000, "--batch", 999999, "--seeds", 1)
    assert r.exit_code == 2
    assert re.search(r"one network of this size needs about [\d.]+ GiB", r.stderr), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_command_listing_matches_each_command_and_loads_none():
    from bottlenet.cli import COMMANDS, load_command
    from bottlenet.cli.console import reflow
    from bottlenet.compress import kernels_built

    for name, (module, summary) in COMMANDS.items():
        if module == "compress" and not kernels_built():
            continue  # they stop at loading (test_without_the_kernels_...)
        command = load_command(name)
        assert reflow(command.callback.__doc__).split("\n\n")[0] == summary, name
    r = run("--help")
    assert r.exit_code == 0 and all(name in r.stdout for name in COMMANDS)
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.startswith("bottlenet ")


def test_help_and_import_start_nothing_heavy():
    # a fresh interpreter: `bottlenet --help` and `import bottlenet` load neither JAX nor
    # the compressor's kernels nor matplotlib, and importing bottlenet leaves XLA_FLAGS alone
    import os
    import subprocess
    import sys

    code = ("import os, sys; from bottlenet.cli import app; import bottlenet; "
            "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['--help']); "
            "assert r.exit_code == 0; "
            "print(sorted(m for m in ('jax', 'bottlenet.compress.kernels', 'matplotlib', 'numpy') "
            "if m in sys.modules),"
            " os.environ.get('XLA_FLAGS'))")
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.strip() == "[] None"


def test_python_dash_m_bottlenet_is_the_command():
    # `python -m bottlenet` runs the command from a checkout's src/ where the package is
    # not installed (benchmarks/atlas_device.sh on a bare GPU machine)
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "bottlenet", "capacity", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "--time-budget" in r.stdout
    r = subprocess.run([sys.executable, "-m", "bottlenet", "train", "--dtype", "float16"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "float16" in r.stderr


# A fresh interpreter in which the compiled kernels cannot be imported, as on an install
# made without a C compiler.
WITHOUT_KERNELS = """
import sys
from importlib.abc import MetaPathFinder

class NoKernels(MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "bottlenet.compress.kernels":
            raise ImportError("no kernels here")

sys.meta_path.insert(0, NoKernels())
"""


@pytest.mark.slow  # 8 s: three fresh interpreters
def test_without_the_kernels_only_the_compressor_stops_and_says_how_to_get_them(tmp_path):
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("hello")
    for command in ("compress", "decompress"):
        code = WITHOUT_KERNELS + (
            "from bottlenet.cli import main; "
            f"sys.argv = ['bottlenet', {command!r}, {str(tmp_path / 'a.txt')!r}]; main()")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {command} needs the "), lines
        assert "C compiler" in lines[0] and "reinstall" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    # the lab itself: the package, its claims (C16 codes HELLO with the NumPy quantiser)
    code = WITHOUT_KERNELS + (
        "import numpy as np; from bottlenet.compress import kernels_built; "
        "from bottlenet.experiments import hello; "
        "assert not kernels_built(); "
        "print(sum(hello.frequencies(np.array([0.5, 0.25, 0.25]))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "65536", r.stderr


def test_the_jax_free_names_match_the_engine():
    from bottlenet import activations, choices, tasks
    from bottlenet.config import TrainConfig

    assert tuple(activations.names()) == choices.ACTIVATIONS
    assert choices.TASKS == tasks.BUILTIN_TASKS
    for name in choices.OPTIMIZERS:
        TrainConfig(optimizer=name)  # every listed optimizer is accepted


@pytest.mark.slow  # 5 s; tables from files are trained in the default run
def test_task_seed_fixes_the_table_apart_from_the_networks(tmp_path):
    from bottlenet import modelfile

    def table(seed, task_seed):
        path = tmp_path / f"{seed}-{task_seed}.npz"
        r = run("train", "--task", "permutation", "--symbols", 8, "--steps", 1, "--seeds", 1,
                "--seed", seed, "--task-seed", task_seed, "--save", path)
        assert r.exit_code == 0, r.output
        return modelfile.load(path).task.targets

    assert table(0, 3) == table(1, 3) != table(0, 4)
    r = run("train", "--task-seed", 3)
    assert r.exit_code == 2 and "--task-seed has no effect with --task shift" in r.stderr


@pytest.mark.slow  # 5 s; the animation page is tested in the default run through serve
def test_draw_animate_plays_every_snapshot_and_the_end(tmp_path):
    model = tmp_path / "m.npz"
    assert run("train", "--symbols", 5, "--seeds", 2, "--steps", 60, "--stop", "never",
               "--snapshots", "0,10,30", "--save", model).exit_code == 0
    for extra, marker in (([], "network 0, step 10"), (["--space"], "<svg")):
        page = tmp_path / "run.html"
        r = run("draw", model, "--animate", "--net", 0, "--out", page, *extra)
        assert r.exit_code == 0, r.output
        text = page.read_text()
        labels = json.loads(re.search(r"const labels = (\[.*?\]);", text).group(1))
        assert labels == ["step 0", "step 10", "step 30", "step 60 (the end)"]
        assert text.count("<svg") == 4 and marker in text
        links = re.findall(r'(?:src|href)="([^"]+)"', text)
        assert not [v for v in links if "://" in v]  # it plays offline: nothing fetched
    for args, msg in ((["--out", tmp_path / "a.png"], "must end in .html"),
                      (["--step", 10, "--out", tmp_path / "a.html"], "--step has no effect"),
                      (["--training", "--out", tmp_path / "a.html"], "--animate plays")):
        r = run("draw", model, "--animate", *args)
        assert r.exit_code == 2 and msg in r.stderr, r.output
    plain = tmp_path / "p.npz"
    run("train", "--symbols", 5, "--seeds", 2, "--steps", 20, "--save", plain)
    r = run("draw", plain, "--animate", "--out", tmp_path / "p.html")
    assert r.exit_code == 2 and "--snapshots" in r.stderr
