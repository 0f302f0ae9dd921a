"""Results database: every capacity trial a row, in SQLite (stdlib sqlite3, WAL).

A trial is one configuration at one n: how many of its seeds solved, their solve steps,
timing and versions. Finished trials are looked up before anything is trained, so an
interrupted sweep (Ctrl-C or kill -9) resumes where it stopped and never runs a trial
twice; each trial is committed on its own, so none is lost. WAL mode and a busy timeout
let two sweeps write to one database safely.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bottlenet.errors import BottlenetError
from bottlenet.files import check_output

SCHEMA_NAME = "bottlenet-results"
SCHEMA_VERSION = 1
DEFAULT_DB = Path("results/bottlenet.db")


class StoreError(BottlenetError):
    """The database is not ours, is from an incompatible version, or is unreadable."""


@dataclass(frozen=True)
class TrialRecord:
    config_key: str
    n: int
    successes: int
    trials: int
    solve_steps: tuple[int, ...]  # per seed, -1 = not solved
    wall_time: float

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


class Store:
    def __init__(self, path: str | Path = DEFAULT_DB):
        self.path = Path(path)
        check_output(self.path, "--db")  # a folder, below a file, unwritable: refused
        if self.path.exists():
            self._check_existing()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"{self.path}: cannot open the results database ({e})") from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                                "value TEXT NOT NULL)")
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?), "
                                "('version', ?)", (SCHEMA_NAME, str(SCHEMA_VERSION)))
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS trials (config TEXT NOT NULL, n INTEGER NOT "
                    "NULL, successes INTEGER NOT NULL, trials INTEGER NOT NULL, solve_steps "
                    "TEXT NOT NULL, wall_time REAL NOT NULL, versions TEXT NOT NULL, created "
                    "REAL NOT NULL, PRIMARY KEY (config, n))")
                self.db.execute("CREATE TABLE IF NOT EXISTS sweeps (id INTEGER PRIMARY KEY, "
                                "args TEXT NOT NULL, created REAL NOT NULL)")
                self.db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, "
                                "result TEXT NOT NULL, created REAL NOT NULL)")
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise StoreError(f"{self.path}: cannot use the results database ({e})") from None

    def _check_existing(self) -> None:
        """Read-only look at an existing file: refuse foreign or newer databases before
        anything is written to them."""
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
                if not tables:
                    return  # an empty SQLite file: ours to fill
                if "meta" not in tables:
                    raise StoreError(f"{self.path} is not a bottlenet results database")
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            finally:
                con.close()
        except sqlite3.DatabaseError:
            raise StoreError(f"{self.path} is not a bottlenet results database") from None
        if meta.get("schema") != SCHEMA_NAME:
            raise StoreError(f"{self.path} is not a bottlenet results database")
        if meta.get("version") != str(SCHEMA_VERSION):
            raise StoreError(f"{self.path} has results format version {meta.get('version')}; "
                             f"this bottlenet reads version {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, key: str, n: int) -> TrialRecord | None:
        row = self.db.execute("SELECT successes, trials, solve_steps, wall_time FROM trials "
                              "WHERE config = ? AND n = ?", (key, n)).fetchone()
        if row is None:
            return None
        return TrialRecord(key, n, row[0], row[1], tuple(json.loads(row[2])), row[3])

    def put(self, record: TrialRecord, versions: dict) -> None:
        # INSERT OR IGNORE: if another sweep finished the same trial meanwhile, keep its row.
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
                record.config_key, record.n, record.successes, record.trials,
                json.dumps(list(record.solve_steps)), record.wall_time, json.dumps(versions),
                time.time()))

    def trials_for(self, key: str) -> list[TrialRecord]:
        rows = self.db.execute("SELECT n, successes, trials, solve_steps, wall_time FROM "
                               "trials WHERE config = ? ORDER BY n", (key,)).fetchall()
        return [TrialRecord(key, r[0], r[1], r[2], tuple(json.loads(r[3])), r[4]) for r in rows]

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def save_sweep(self, args: dict) -> None:
        with self.db:
            self.db.execute("INSERT INTO sweeps (args, created) VALUES (?, ?)",
                            (json.dumps(args, sort_keys=True), time.time()))

    def last_sweep(self) -> dict | None:
        row = self.db.execute("SELECT args FROM sweeps ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else json.loads(row[0])

    def get_claim(self, key: str) -> dict | None:
        """A finished claim experiment (reproduce), or None."""
        row = self.db.execute("SELECT result FROM claims WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_claim(self, key: str, result: dict) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                            (key, json.dumps(result), time.time()))
