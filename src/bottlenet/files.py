"""Files a command writes: checked before the work, written whole or not at all.

The rules (the README's "Input rules" states them for users):
- A missing folder on the way to an output is created.
- An output path that is a folder, lies below a regular file, or sits where nothing can
  be written is refused before any work starts, by really trying: the missing folders
  are made and a probe file written and removed, then everything made is removed again.
- Files that hold results (model files, archives, decompressed files) never replace an
  existing file unless the user says --force; pictures and reports are views that a
  rerun redraws, so they are replaced.
- Every file is written to a temporary name beside it and renamed into place, so a
  failed or interrupted write leaves neither a partial file nor the temporary one.
JAX-free.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bottlenet.errors import BottlenetError


class FileError(BottlenetError):
    """A file cannot be read or written where the user asked."""


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()  # what open() would give a new file; mkstemp gives 0o600


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def check_output(path: Path, option: str, *, replace: bool = True,
                 suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse now what would fail after the work: see the module's rules. `replace`:
    whether an existing file may be overwritten (False for results without --force)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise FileError(f"{option}: {path.name!r} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise FileError(f"{option}: {path} is a folder; give a file name")
    if path.exists() or path.is_symlink():
        if not replace:
            raise FileError(f"{option}: {path} exists; use --force to overwrite it")
        if not os.access(path, os.W_OK):
            raise FileError(f"{option}: {path} exists and cannot be overwritten "
                              "(permission denied)")
    _probe_folder(path.parent, option)
    return path


def check_output_folder(path: Path, option: str) -> Path:
    """A folder that will receive files (a report): it may exist; it must not be a file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileError(f"{option}: {path} is a file, not a folder")
    _probe_folder(path, option)
    return path


def _probe_folder(folder: Path, option: str) -> None:
    made: list[Path] = []
    try:
        missing = []
        p = folder
        while not p.exists():
            missing.append(p)
            p = p.parent
        if not p.is_dir():
            raise FileError(f"{option}: cannot make folder {folder}: {p} is a file")
        for d in reversed(missing):
            d.mkdir()
            made.append(d)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".bottlenet-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise FileError(f"{option}: cannot write in {folder} ({_why(e)})") from None
    finally:
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call write(file) on a temporary file beside `path`, then rename it into place.
    Missing folders are created; on any failure the temporary file is removed and an
    OSError becomes a FileError naming the path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise FileError(f"cannot write {path} ({_why(e)})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise FileError(f"cannot write {path} ({_why(e)})") from None
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically, or to standard output when `path` is `-`."""
    if is_stream(path):
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # the reader went away (`| head`): not our error
            pass
        return path
    return write_atomically(path, lambda f: f.write(data))


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


STREAM = "-"  # as a file name: standard input, or standard output


def is_stream(path: Path | None) -> bool:
    return path is not None and str(path) == STREAM


class _Reader:
    """A binary input whose read errors are FileErrors naming it (not write errors of
    the file being written from it)."""

    def __init__(self, f: IO[bytes], name: str):
        self.f, self.name = f, name

    def read(self, n: int = -1) -> bytes:
        try:
            return self.f.read(n)
        except OSError as e:
            raise FileError(f"cannot read {self.name} ({_why(e)})") from None

    # (a reader that can go back: the compressor looks a tar archive's members over
    # before it writes them, compress/segments.py)
    def seekable(self) -> bool:
        try:
            return self.f.seekable()
        except (OSError, ValueError):
            return False

    def seek(self, offset: int, whence: int = 0) -> int:
        try:
            return self.f.seek(offset, whence)
        except OSError as e:
            raise FileError(f"cannot read {self.name} ({_why(e)})") from None

    def tell(self) -> int:
        return self.f.tell()


@contextlib.contextmanager
def open_input(path: Path, what: str = "file"):
    """(reader, size in bytes or None when not known) of an input file (`-`: standard
    input), for reading a piece at a time; or one line saying why not."""
    if is_stream(path):
        yield _Reader(sys.stdin.buffer, "standard input"), None
        return
    path = Path(path)
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise FileError(f"no such {what}: {path}") from None
    except IsADirectoryError:
        raise FileError(f"{path} is a folder, not a {what}") from None
    except OSError as e:
        raise FileError(f"cannot read {path} ({_why(e)})") from None
    with f:
        size = os.fstat(f.fileno()).st_size if path.is_file() else None
        yield _Reader(f, str(path)), size


def write_stream(path: Path, produce: Callable[[IO[bytes]], object]):
    """Call produce(file) on `path` written atomically (see write_atomically), or on
    standard output when `path` is `-`; returns what produce returned, or None when the
    reader of standard output went away (`| head`: not our error)."""
    if not is_stream(path):
        produced: list[object] = []
        write_atomically(path, lambda f: produced.append(produce(f)))
        return produced[0]
    try:
        result = produce(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return result
    except BrokenPipeError:
        with contextlib.suppress(OSError):  # no "Exception ignored" at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return None


def read_input(path: Path, what: str = "file") -> bytes:
    """The bytes of an input file (`-`: standard input), or one line saying why not."""
    if is_stream(path):
        try:
            return sys.stdin.buffer.read()
        except (OSError, MemoryError) as e:
            raise FileError(f"cannot read standard input ({e})") from None
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileError(f"no such {what}: {path}") from None
    except IsADirectoryError:
        raise FileError(f"{path} is a folder, not a {what}") from None
    except (OSError, MemoryError) as e:
        why = _why(e) if isinstance(e, OSError) else "not enough memory"
        raise FileError(f"cannot read {path} ({why})") from None
