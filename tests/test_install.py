"""Installs as a new user makes them, each from a copy of this clone into a fresh
environment: without a C compiler, with pip, and a wheel from `uv build`. Slow: each
builds the project and fills an environment (from uv's and pip's caches once warm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv")
# a file the compressor's archive is compared on, across builds
SAMPLE = ROOT / "README.md"
# what the builds must write the same archives for: text, other data (an archive's
# bytes), which the sparse contexts of format 6 model, and markup (the playground's page),
# which format 9's markup contexts model, and a colour image (PPM), which format 11's
# image contexts model
SAMPLES = (SAMPLE, ROOT / "tests" / "data" / "golden-v4-default.bn",
           ROOT / "src" / "bottlenet" / "serve" / "static" / "index.html",
           ROOT / "tests" / "data" / "photo-64x48.ppm")


def clone(dest: Path) -> Path:
    """The files a fresh clone has (tracked, and new ones git does not ignore): no build
    output, no .venv, no kernels compiled here."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if name == "uv.lock" or not (ROOT / name).is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what the test run itself sets (the kernels being
    required, the active virtual environment, a build mode)."""
    drop = ("BOTTLENET_KERNELS_REQUIRED", "BOTTLENET_PORTABLE", "BOTTLENET_NATIVE",
            "VIRTUAL_ENV", "CC")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def run(*argv, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          env=env or clean_env(), cwd=cwd, timeout=1200)


def venv(path: Path, seed: bool = False) -> Path:
    if UV is None:
        pytest.skip("needs uv")
    r = run(UV, "venv", "-q", *(["--seed"] if seed else []), "--python", sys.executable, path)
    assert r.returncode == 0, r.stderr
    return path / "bin"


def native_archive() -> bytes:
    """The archives this test run's own (editable, native) build writes for SAMPLES."""
    from conftest import needs_kernels

    needs_kernels()
    from bottlenet.compress import compress

    return b"".join(compress(p.read_bytes()).archive for p in SAMPLES)


def archive_from(bin_dir: Path) -> bytes:
    code = ("import sys; from bottlenet.compress import compress; "
            f"[sys.stdout.buffer.write(compress(open(p, 'rb').read()).archive) "
            f"for p in {[str(p) for p in SAMPLES]!r}]")
    r = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True,
                       env=clean_env(), timeout=600)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def build_mode(bin_dir: Path) -> str:
    r = run(bin_dir / "python", "-c", "from bottlenet.compress import kernels; "
            "print(kernels.BUILD)")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_without_a_c_compiler_everything_but_the_compressor_installs_and_runs(tmp_path):
    src = clone(tmp_path / "clone")
    bin_dir = venv(tmp_path / "v")
    # setuptools compiles with $CC: one that does not exist is a machine without a compiler
    r = run(UV, "pip", "install", "--python", bin_dir / "python", src,
            env=clean_env(CC=str(tmp_path / "no-such-cc")))
    assert r.returncode == 0, r.stderr
    bottlenet = bin_dir / "bottlenet"
    r = run(bottlenet, "train", "--symbols", "5", "--seeds", "4", "--steps", "300")
    assert r.returncode == 0 and "solved" in r.stdout, r.stderr
    r = run(bottlenet, "reproduce", "--only", "C1", "--out", tmp_path / "report",
            "--db", tmp_path / "results.db")
    assert r.returncode == 0 and (tmp_path / "report" / "index.html").exists(), r.stderr
    for command in ("compress", "decompress"):
        r = run(bottlenet, command, SAMPLE)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert lines[0].startswith(f"error: {command} needs the compressor's compiled kernels")


def test_pip_installs_from_a_clone_with_extras_and_portable_kernels(tmp_path):
    want = native_archive()
    src = clone(tmp_path / "clone")
    bin_dir = venv(tmp_path / "v", seed=True)  # a venv with pip, as python -m venv makes
    r = run(bin_dir / "pip", "install", "-q", f"{src}[serve]", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run(bin_dir / "python", "-c", "import starlette, uvicorn, bottlenet; "
            "print(bottlenet.__version__)")
    assert r.returncode == 0, r.stderr
    # pip builds a wheel first: portable kernels, and the same archive as the native ones
    assert build_mode(bin_dir) == "portable"
    assert archive_from(bin_dir) == want
    r = run(bin_dir / "bottlenet", "--version")
    assert r.returncode == 0 and r.stdout.startswith("bottlenet ")


def test_uv_build_makes_an_sdist_and_a_portable_wheel(tmp_path):
    want = native_archive()
    src = clone(tmp_path / "clone")
    if UV is None:
        pytest.skip("needs uv")
    r = run(UV, "build", "--out-dir", tmp_path / "dist", src)
    assert r.returncode == 0, r.stderr[-3000:]
    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    sdists = [n for n in built if n.endswith(".tar.gz")]
    wheels = [n for n in built if n.endswith(".whl")]
    assert len(sdists) == 1 and len(wheels) == 1, built
    wheel = tmp_path / "dist" / wheels[0]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert any(n.startswith("bottlenet/compress/kernels") and n.endswith((".so", ".pyd"))
               for n in names), names
    assert "bottlenet/compress/primers/" in "".join(names)  # package data travels
    bin_dir = venv(tmp_path / "v")
    r = run(UV, "pip", "install", "--python", bin_dir / "python", wheel)
    assert r.returncode == 0, r.stderr
    assert build_mode(bin_dir) == "portable"
    assert archive_from(bin_dir) == want
