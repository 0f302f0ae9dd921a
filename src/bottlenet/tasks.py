"""Discrete mappings a network learns: pairs (input symbol -> output symbol).

A task is n_in input symbols (one-hot), n_out output symbols, the pairs to learn, an
optional frequency per pair, and optional symbol names. Built-ins: `shift` (the
article's "input i fires output i+1"), `identity` (the autoencoder of the first
comment), `permutation`, `random` (many-to-one allowed) and tables read from CSV/JSON.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bottlenet import checks
from bottlenet.choices import TASKS
from bottlenet.errors import SpecError, TaskError
from bottlenet.files import read_input

BUILTIN_TASKS = TASKS


@dataclass(frozen=True)
class Task:
    name: str
    n_in: int
    n_out: int
    inputs: tuple[int, ...]
    targets: tuple[int, ...]
    frequencies: tuple[float, ...] | None = None
    in_names: tuple[str, ...] | None = None
    out_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.n_in < 1 or self.n_out < 2:
            raise TaskError(
                f"a task needs at least 1 input and 2 output symbols, got {self.n_in} and "
                f"{self.n_out}"
            )
        if len(self.inputs) != len(self.targets) or not self.inputs:
            raise TaskError("a task needs at least one pair, with one target per input")
        if min(self.inputs) < 0 or max(self.inputs) >= self.n_in:
            raise TaskError(f"an input index is outside 0..{self.n_in - 1}")
        if min(self.targets) < 0 or max(self.targets) >= self.n_out:
            raise TaskError(f"a target index is outside 0..{self.n_out - 1}")
        if self.frequencies is not None:
            f = np.asarray(self.frequencies, dtype=float)
            if len(f) != len(self.inputs):
                raise TaskError("frequencies must have one value per pair")
            with np.errstate(over="ignore"):
                total = f.sum()
            if not np.all(np.isfinite(f)) or np.any(f < 0) or not 0 < total < np.inf:
                raise TaskError("frequencies must be finite, non-negative, not all zero, "
                                "and their sum finite")
        for names, size, side in ((self.in_names, self.n_in, "input"),
                                  (self.out_names, self.n_out, "output")):
            if names is not None:
                for name in names:
                    symbol_name(name)
                if len(names) != size:
                    raise TaskError(f"{len(names)} {side} names for {size} {side} symbols")
                if len(set(names)) != len(names):
                    raise TaskError(f"{side} symbol names must be distinct")

    @property
    def n_pairs(self) -> int:
        return len(self.inputs)

    def weights(self) -> np.ndarray:
        """Per-pair loss weights, summing to 1."""
        f = np.ones(self.n_pairs) if self.frequencies is None else np.asarray(self.frequencies)
        return f / f.sum()

    def solve_targets(self) -> np.ndarray:
        """The output each pair must win for the task to count as solved.

        For a function this is the pair's own target. Where one input has several
        targets (the article's HELLO: L is followed by L or O), no network can make both
        win; it solves the task when each input's most frequent target wins.
        """
        w = self.weights()
        best: dict[int, tuple[float, int]] = {}
        totals: dict[tuple[int, int], float] = {}
        for i, t, wi in zip(self.inputs, self.targets, w, strict=True):
            totals[(i, t)] = totals.get((i, t), 0.0) + wi
        for (i, t), wt in sorted(totals.items()):
            if i not in best or wt > best[i][0]:
                best[i] = (wt, t)
        return np.array([best[i][1] for i in self.inputs], dtype=np.int32)

    def in_name(self, i: int) -> str:
        return self.in_names[i] if self.in_names else str(i + 1)

    def out_name(self, j: int) -> str:
        return self.out_names[j] if self.out_names else str(j + 1)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "n_in": self.n_in, "n_out": self.n_out,
            "inputs": list(self.inputs), "targets": list(self.targets),
            "frequencies": None if self.frequencies is None else list(self.frequencies),
            "in_names": None if self.in_names is None else list(self.in_names),
            "out_names": None if self.out_names is None else list(self.out_names),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Task:
        """From a file's JSON, every value of its own type, or TaskError."""
        def tup(key, kind, optional=True):
            x = d.get(key)
            if x is None and optional:
                return None
            if not isinstance(x, list) or not all(
                    isinstance(v, kind) and not isinstance(v, bool) for v in x):
                raise TaskError(f"the task's {key} are malformed")
            return tuple(x)

        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise TaskError("the task is malformed")
        for key in ("n_in", "n_out"):
            checks.whole(f"the task's {key}", d.get(key), 1, checks.SYMBOLS_MAX)
        return cls(
            name=d["name"], n_in=d["n_in"], n_out=d["n_out"],
            inputs=tup("inputs", int, False), targets=tup("targets", int, False),
            frequencies=tup("frequencies", int | float), in_names=tup("in_names", str),
            out_names=tup("out_names", str),
        )


def check_symbols(n: int) -> None:
    try:
        checks.whole("--symbols", n, 2, checks.SYMBOLS_MAX)
    except SpecError as e:
        raise TaskError(str(e)) from None


NAME_MAX = 100
SYMBOL_RULE = (f"a symbol name is text of 1 to {NAME_MAX} characters without control "
               "characters (JSON numbers are read as text)")


def symbol_name(value) -> str:
    """A symbol name as read from a table: see SYMBOL_RULE; TaskError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if (not isinstance(value, str) or not 0 < len(value) <= NAME_MAX
            or not value.isprintable()):
        shown = repr(value) if len(repr(value)) < 40 else repr(value)[:37] + "..."
        raise TaskError(f"{shown} is not a symbol name: {SYMBOL_RULE}")
    return value


def shift(n: int) -> Task:
    """The article's pattern: input i fires output i+1; the last input never fires and
    the first output is never fired (n inputs, n outputs, n-1 pairs)."""
    check_symbols(n)
    return Task(f"shift{n}", n, n, tuple(range(n - 1)), tuple(range(1, n)))


def identity(n: int) -> Task:
    """Output equals input: the autoencoder the first comment names."""
    check_symbols(n)
    return Task(f"identity{n}", n, n, tuple(range(n)), tuple(range(n)))


def permutation(n: int, seed: int = 0, perm: Sequence[int] | None = None) -> Task:
    """Input i fires output perm[i]; a random permutation from `seed` unless given."""
    check_symbols(n)
    order = np.random.default_rng(seed).permutation(n) if perm is None else perm
    perm = [int(p) for p in order]
    if sorted(perm) != list(range(n)):
        raise TaskError(f"not a permutation of 0..{n - 1}: {perm}")
    return Task(f"permutation{n}", n, n, tuple(range(n)), tuple(perm))


def random_mapping(n: int, seed: int = 0, n_out: int | None = None) -> Task:
    """Each input fires a random output; several inputs may share one."""
    check_symbols(n)
    n_out = n if n_out is None else n_out
    targets = np.random.default_rng(seed).integers(0, n_out, size=n)
    return Task(f"random{n}", n, n_out, tuple(range(n)), tuple(int(t) for t in targets))


def builtin(name: str, n: int, seed: int = 0) -> Task:
    checks.seeds("--seed", seed)
    if name == "shift":
        return shift(n)
    if name == "identity":
        return identity(n)
    if name == "permutation":
        return permutation(n, seed)
    if name == "random":
        return random_mapping(n, seed)
    raise TaskError(f"unknown task {name!r}; choose one of: {', '.join(BUILTIN_TASKS)} "
                    "(or give a table with --table FILE)")


def from_pairs(name: str, pairs: Sequence[tuple[str, str]],
               frequencies: Sequence[float] | None = None) -> Task:
    """A task from named pairs; symbols are numbered in order of first appearance."""
    if not pairs:
        raise TaskError("the table has no pairs")
    in_names: dict[str, int] = {}
    out_names: dict[str, int] = {}
    for a, b in pairs:
        in_names.setdefault(a, len(in_names))
        out_names.setdefault(b, len(out_names))
    if len(out_names) < 2:
        raise TaskError("the table needs at least 2 distinct output symbols")
    return Task(
        name, len(in_names), len(out_names),
        tuple(in_names[a] for a, _ in pairs), tuple(out_names[b] for _, b in pairs),
        None if frequencies is None else tuple(float(f) for f in frequencies),
        tuple(in_names), tuple(out_names),
    )


def from_file(path: str | Path) -> Task:
    """Read a table of pairs.

    CSV: one pair per row, `input,output[,frequency]`; a first row
    `input,output[,frequency]` is taken as a header.
    JSON: `{"pairs": [["H", "E"], ...], "frequencies": [...]}` (frequencies optional),
    or `{"pairs": [{"input": "H", "output": "E", "frequency": 2}, ...]}`.
    """
    path = Path(path)
    try:
        text = read_input(path, "table file").decode("utf-8")
    except UnicodeDecodeError:
        raise TaskError(f"{path}: a table must be UTF-8 text") from None
    return from_text(text, path.stem, path.suffix.lower() == ".json", str(path))


def from_text(text: str, name: str, is_json: bool | None = None, where: str = "table") -> Task:
    """A table given as text (CSV or JSON as for from_file; `is_json` None: JSON when
    the text starts with "{"). `where` begins each error message."""
    if is_json is None:
        is_json = text.lstrip().startswith("{")
    pairs, freqs = _parse_json(text, where) if is_json else _parse_csv(text, where)
    return from_pairs(name, pairs, freqs)


def _parse_csv(text: str, path: str):
    try:
        rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    except csv.Error as e:  # a field over the csv module's size limit, a stray quote...
        raise TaskError(f"{path}: not a readable CSV table ({e})") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["input", "output"]:
        rows = rows[1:]
    if not rows:
        raise TaskError(f"{path}: no pairs in the table")
    widths = {len(r) for r in rows}
    if len(widths) != 1 or widths.pop() not in (2, 3):
        raise TaskError(f"{path}: every row must be input,output or input,output,frequency")
    pairs = [(symbol_name(r[0].strip()), symbol_name(r[1].strip())) for r in rows]
    freqs = None
    if len(rows[0]) == 3:
        try:
            freqs = [float(r[2]) for r in rows]
        except ValueError:
            raise TaskError(f"{path}: a frequency is not a number") from None
    return pairs, freqs


def _parse_json(text: str, path: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TaskError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise TaskError(f"{path}: the JSON is nested too deeply to be a table") from None
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise TaskError(f'{path}: expected an object with a "pairs" list')
    pairs, freqs = [], []
    for p in data["pairs"]:
        if isinstance(p, dict) and "input" in p and "output" in p:
            pairs.append((symbol_name(p["input"]), symbol_name(p["output"])))
            freqs.append(p.get("frequency", 1.0))
        elif isinstance(p, list) and len(p) == 2:
            pairs.append((symbol_name(p[0]), symbol_name(p[1])))
            freqs.append(1.0)
        else:
            raise TaskError(f"{path}: each pair must be [input, output] or an object with "
                            '"input" and "output"')
    if "frequencies" in data:
        freqs = data["frequencies"]
        if not isinstance(freqs, list) or len(freqs) != len(pairs):
            raise TaskError(f"{path}: frequencies must be a list with one value per pair")
    if not all(isinstance(f, int | float) and not isinstance(f, bool) for f in freqs):
        raise TaskError(f"{path}: a frequency is not a number")
    try:
        freqs = [float(f) for f in freqs]
    except OverflowError:
        raise TaskError(f"{path}: a frequency is too large") from None
    return pairs, (None if all(f == 1.0 for f in freqs) else freqs)
