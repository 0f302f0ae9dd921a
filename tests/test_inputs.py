"""The rules behind every check: numbers (checks.py) and output files (files.py)."""

import math
import os
import stat

import pytest

from bottlenet import checks
from bottlenet.errors import SpecError
from bottlenet.files import FileError, check_output, check_output_folder, write_atomically


@pytest.mark.parametrize("value", [-1, 11, 1.0, True, "3", None, 2**64])
def test_whole_refuses_what_is_not_a_whole_number_in_range(value):
    with pytest.raises(SpecError):
        checks.whole("x", value, 0, 10)


def test_whole_accepts_both_ends():
    assert checks.whole("x", 0, 0, 10) == 0 and checks.whole("x", 10, 0, 10) == 10


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0.0, -1.0, "1", None])
def test_positive_refuses_nan_infinity_and_non_positive(value):
    with pytest.raises(SpecError):
        checks.positive("x", value)


def test_open_and_closed_ends():
    assert checks.real("p", 1.0, 0.0, 1.0, above=True) == 1.0
    with pytest.raises(SpecError, match=r"in \(0, 1\)"):
        checks.real("p", 1.0, 0.0, 1.0, above=True, below=True)
    with pytest.raises(SpecError, match=r"in \(0, 1\]"):
        checks.real("p", 0.0, 0.0, 1.0, above=True)


def test_seed_range_covers_the_whole_population():
    assert checks.seeds("s", checks.SEED_MAX - 3, 4) == checks.SEED_MAX - 3
    with pytest.raises(SpecError, match="population"):
        checks.seeds("s", checks.SEED_MAX - 3, 5)
    with pytest.raises(SpecError):
        checks.seeds("s", -1)


def test_output_rules(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileError, match="is a folder"):
        check_output(tmp_path, "--save")
    with pytest.raises(FileError, match="is a file"):
        check_output(tmp_path / "file" / "x.npz", "--save")
    with pytest.raises(FileError, match="--force"):
        check_output(tmp_path / "file", "--save", replace=False)
    with pytest.raises(FileError, match=r"\.svg or \.png"):
        check_output(tmp_path / "p.gif", "--out", suffixes=(".svg", ".png"))
    with pytest.raises(FileError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file", "--out")
    # a missing folder is fine, and checking it leaves nothing behind
    assert check_output(tmp_path / "a" / "b" / "x.npz", "--save")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_unwritable_folder_is_refused_before_the_work(tmp_path):
    if os.geteuid() == 0:
        where = "/proc/bottlenet-test/x.npz"  # root may write anywhere but here
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        where = str(locked / "x.npz")
    with pytest.raises(FileError, match="cannot write"):
        check_output(where, "--save")


def test_atomic_write_leaves_nothing_on_failure_and_normal_permissions(tmp_path):
    target = tmp_path / "out" / "m.bin"

    def half_then_fail(f):
        f.write(b"half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomically(target, half_then_fail)
    assert list((tmp_path / "out").iterdir()) == []
    write_atomically(target, lambda f: f.write(b"whole"))
    assert target.read_bytes() == b"whole" and list((tmp_path / "out").iterdir()) == [target]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
