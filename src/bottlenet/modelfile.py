"""Model files: a trained population in one `.npz` file.

Format (version 1). A NumPy zip archive (`numpy.savez_compressed`, no pickles) holding:

- `bottlenet.json`: uint8 bytes of a UTF-8 JSON header
  `{"format": "bottlenet-population", "version": 1, "spec": {...}, "task": {...},
    "config": {...}, "steps_run": int, "wall_time": float, "layers": L,
    "snapshot_steps": [...], "bottlenet_version": "..."}`
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

from bottlenet.config import TrainConfig
from bottlenet.errors import BottlenetError, ModelFileError
from bottlenet.population import Population
from bottlenet.spec import NetSpec
from bottlenet.tasks import Task

FORMAT = "bottlenet-population"
VERSION = 1
_HEADER = "bottlenet.json"


def _layers_to_arrays(prefix: str, params) -> dict[str, np.ndarray]:
    out = {}
    for i, layer in enumerate(params):
        for name, value in layer.items():
            out[f"{prefix}/{i}/{name}"] = np.asarray(value)
    return out


def _arrays_to_layers(files: dict, prefix: str, n_layers: int, bias: bool):
    layers = []
    for i in range(n_layers):
        layer = {"w": files[f"{prefix}/{i}/w"]}
        if bias:
            layer["b"] = files[f"{prefix}/{i}/b"]
        layers.append(layer)
    return tuple(layers)


def save(pop: Population, path: str | Path) -> Path:
    """Write the population to `path` (parent folders are created)."""
    from bottlenet import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format": FORMAT, "version": VERSION, "bottlenet_version": __version__,
        "spec": pop.spec.to_dict(), "task": pop.task.to_dict(),
        "config": pop.config and pop.config.to_dict(),  # None: weights made, not trained
        "steps_run": pop.steps_run, "wall_time": pop.wall_time, "layers": len(pop.params),
        "snapshot_steps": sorted(pop.snapshots),
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
    # Write to a temporary name first so an interrupted save never leaves half a file.
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    tmp.replace(path)
    return path


def load(path: str | Path) -> Population:
    """Read a population written by `save`; ModelFileError if it is foreign or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if _HEADER not in z.files:
                raise ModelFileError(f"{path} is not a bottlenet model file (no header)")
            files = {name: z[name] for name in z.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as e:
        raise ModelFileError(f"{path} is not a readable bottlenet model file ({e})") from None
    try:
        header = json.loads(files[_HEADER].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: the header is damaged") from None
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a bottlenet model file")
    if header.get("version") != VERSION:
        raise ModelFileError(f"{path} has format version {header.get('version')}; this "
                             f"bottlenet reads version {VERSION}")
    try:
        return _build(header, files)
    except BottlenetError as e:
        raise ModelFileError(f"{path}: inconsistent contents ({e})") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: missing or malformed entry ({e})") from None


def _build(header: dict, files: dict) -> Population:
    spec = NetSpec.from_dict(header["spec"])
    task = Task.from_dict(header["task"])
    config = header["config"] and TrainConfig.from_dict(header["config"])
    n_layers = int(header["layers"])
    if n_layers != len(spec.sizes) - 1:
        raise ValueError("layer count does not match the network spec")
    params = _arrays_to_layers(files, "params", n_layers, spec.bias)
    P = len(files["seeds"])
    for i, layer in enumerate(params):
        want = (P, spec.sizes[i], spec.sizes[i + 1])
        if layer["w"].shape != want:
            raise ValueError(f"layer {i} weights have shape {layer['w'].shape}, expected {want}")
        if spec.bias and layer["b"].shape != (P, spec.sizes[i + 1]):
            raise ValueError(f"layer {i} biases have the wrong shape")
    for name in ("solved", "solve_step", "final_loss", "final_accuracy", "diverged"):
        if files[name].shape != (P,):
            raise ValueError(f"{name} has shape {files[name].shape}, expected ({P},)")
    snapshots = {int(s): _arrays_to_layers(files, f"snapshot/{s}", n_layers, spec.bias)
                 for s in header["snapshot_steps"]}
    return Population(
        spec=spec, task=task, config=config, network_seeds=files["seeds"], params=params,
        solved=files["solved"].astype(bool), solve_step=files["solve_step"],
        final_loss=files["final_loss"], final_accuracy=files["final_accuracy"],
        diverged=files["diverged"].astype(bool), steps_run=int(header["steps_run"]),
        wall_time=float(header["wall_time"]), history_step=files["history/step"],
        history_loss=files["history/loss"], history_accuracy=files["history/accuracy"],
        history_max_weight=files["history/max_weight"], snapshots=snapshots,
    )
