"""Model files: a trained population in one `.npz` file.

Format (version 2; version 1 files, which have no "dtype", still load as float32).
A NumPy zip archive (`numpy.savez_compressed`, no pickles) holding:

- `bottlenet.json`: uint8 bytes of a UTF-8 JSON header
  `{"format": "bottlenet-population", "version": 2, "spec": {...}, "task": {...},
    "config": {...}, "steps_run": int, "wall_time": float, "layers": L,
    "snapshot_steps": [...], "dtype": "float32" | "float64", "bottlenet_version": "..."}`
  (version 2 added "dtype", the precision the networks were trained or made for; a
  reader of version 1 refuses a version 2 file by its version number)
- `seeds`, `solved`, `solve_step`, `final_loss`, `final_accuracy`, `diverged`: (P,)
- `params/{l}/w` (P, fan_in, fan_out) and `params/{l}/b` (P, fan_out) for layer l
- `history/step` (T,), `history/loss` (T, P), `history/accuracy` (T, P),
  `history/max_weight` (T, P, L)
- `snapshot/{step}/{l}/w`, `snapshot/{step}/{l}/b`: weights at the snapshot steps

Each member carries a CRC-32 in the zip, so damaged bytes are caught on load; shapes
are checked against the header's network spec.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bottlenet.config import TrainConfig, check_dtype
from bottlenet.errors import BottlenetError, ModelFileError
from bottlenet.files import write_atomically
from bottlenet.memory import host_bytes
from bottlenet.population import Population
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task

FORMAT = "bottlenet-population"
VERSION = 2
READS = (1, 2)  # versions this bottlenet reads
_HEADER = "bottlenet.json"


def _layers_to_arrays(prefix: str, params) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(params):
        for name, value in layer.items():
            out[f"{prefix}/{i}/{name}"] = np.asarray(value)
    return out


def save(pop: Population, path: str | Path) -> Path:
    """Write the population to `path` (parent folders are created)."""
    from bottlenet import __version__

    path = Path(path)
    header = {
        "format": FORMAT, "version": VERSION, "bottlenet_version": __version__,
        "spec": pop.spec.to_dict(), "task": pop.task.to_dict(),
        "config": pop.config and pop.config.to_dict(),  # None: weights made, not trained
        "steps_run": pop.steps_run, "wall_time": pop.wall_time, "layers": len(pop.params),
        "snapshot_steps": sorted(pop.snapshots), "dtype": pop.dtype,
    }
    arrays: dict[str, Any] = {
        _HEADER: np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        "seeds": pop.network_seeds, "solved": pop.solved, "solve_step": pop.solve_step,
        "final_loss": pop.final_loss, "final_accuracy": pop.final_accuracy,
        "diverged": pop.diverged,
        "history/step": pop.history_step, "history/loss": pop.history_loss,
        "history/accuracy": pop.history_accuracy, "history/max_weight": pop.history_max_weight,
        **_layers_to_arrays("params", pop.params),
    }
    for step, params in pop.snapshots.items():
        arrays.update(_layers_to_arrays(f"snapshot/{step}", params))
    # Whole or not at all: an interrupted save leaves neither half a file nor a temporary.
    return write_atomically(path, lambda f: np.savez_compressed(f, **arrays))


def load(path: str | Path) -> Population:
    """Read a population written by `save`; ModelFileError if it is foreign, damaged or
    crafted. Everything in the file is untrusted: its size is checked before it is
    unpacked, the header's types and ranges, and every array's kind and shape."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is a folder, not a model file" if path.is_dir()
                             else f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a bottlenet model file (model files are the "
                             ".npz archives `train --save` writes)")
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
        if unpacked > 0.5 * host_bytes():
            raise ModelFileError(f"{path} would unpack to {unpacked / 2**30:.1f} GiB, more "
                                 "than this machine can hold")
        with np.load(path, allow_pickle=False) as z:
            if _HEADER not in z.files:
                raise ModelFileError(f"{path} is not a bottlenet model file (no header)")
            files = {name: z[name] for name in z.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError,
            NotImplementedError, RuntimeError) as e:
        raise ModelFileError(f"{path} is not a readable bottlenet model file "
                             f"({type(e).__name__})") from None
    try:
        header = json.loads(files[_HEADER].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path}: the header is damaged") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a bottlenet model file")
    version = header.get("version")
    if isinstance(version, bool) or version not in READS:
        raise ModelFileError(f"{path} has format version {version!r}; this bottlenet reads "
                             f"versions {', '.join(map(str, READS))}")
    try:
        return _build(header, files)
    except BottlenetError as e:
        raise ModelFileError(f"{path}: inconsistent contents ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: missing or malformed entry ({e})") from None


def _array(files: dict, name: str, shape: tuple, kinds: str) -> np.ndarray:
    """The member `name`, of one of the dtype kinds ('b' bool, 'i'/'u' integer, 'f'
    float) and exactly this shape."""
    a = files[name]
    if a.dtype.kind not in kinds:
        raise ValueError(f"{name} holds {a.dtype} values")
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return a


def _layers(files: dict, prefix: str, spec: NetSpec, P: int) -> tuple:
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:], strict=True)):
        layer = {"w": _array(files, f"{prefix}/{i}/w", (P, fan_in, fan_out), "f")}
        if spec.bias:
            layer["b"] = _array(files, f"{prefix}/{i}/b", (P, fan_out), "f")
        layers.append(layer)
    return tuple(layers)


def _build(header: dict, files: dict) -> Population:
    spec = NetSpec.from_dict(header["spec"])
    task = Task.from_dict(header["task"])
    if (task.n_in, task.n_out) != (spec.n_in, spec.n_out):
        raise ValueError("the task's symbols do not match the network's inputs and outputs")
    config = header["config"]  # None: weights made, not trained
    if config is not None:
        if not isinstance(config, dict):
            raise ValueError("the training settings are malformed")
        config = TrainConfig.from_dict(config)
    n_layers = header["layers"]
    if n_layers != len(spec.sizes) - 1:
        raise ValueError("layer count does not match the network spec")
    steps = header["snapshot_steps"]
    if not isinstance(steps, list) or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in steps):
        raise ValueError("snapshot steps are not a list of steps")
    steps_run, wall_time = header["steps_run"], header["wall_time"]
    if not isinstance(steps_run, int) or steps_run < 0 or \
            not isinstance(wall_time, int | float) or not wall_time >= 0:
        raise ValueError("steps run or wall time are not valid")
    P = len(files["seeds"])
    if P < 1:
        raise ValueError("the file holds no network")
    T = len(files["history/step"])
    L = len(spec.sizes) - 1
    return Population(
        spec=spec, task=task, config=config,
        network_seeds=_array(files, "seeds", (P,), "iu"),
        params=_layers(files, "params", spec, P),
        solved=_array(files, "solved", (P,), "biu").astype(bool),
        solve_step=_array(files, "solve_step", (P,), "iu"),
        final_loss=_array(files, "final_loss", (P,), "f"),
        final_accuracy=_array(files, "final_accuracy", (P,), "f"),
        diverged=_array(files, "diverged", (P,), "biu").astype(bool),
        steps_run=steps_run, wall_time=float(wall_time),
        history_step=_array(files, "history/step", (T,), "iu"),
        history_loss=_array(files, "history/loss", (T, P), "f"),
        history_accuracy=_array(files, "history/accuracy", (T, P), "f"),
        history_max_weight=_array(files, "history/max_weight", (T, P, L), "f"),
        snapshots={s: _layers(files, f"snapshot/{s}", spec, P) for s in steps},
        dtype=_dtype(header),
    )


def _dtype(header: dict) -> str:
    dtype = header.get("dtype", "float32")  # version 1: float32, the only one then
    if not isinstance(dtype, str):
        raise ValueError("dtype is not a name")
    check_dtype(dtype)
    return dtype
