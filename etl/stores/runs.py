"""Refresh run history in a SQLite file (WAL) beside the warehouse: it survives snapshot swaps and many processes.

Its schema version is SQLite's `PRAGMA user_version`; opening a file brings it up to `SCHEMA_VERSION` through the
ordered `MIGRATIONS` (version → script, idempotent, each in one transaction with its version), and a file written by
a later govindex is refused.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, NamedTuple

import polars as pl
import psutil

from etl.config import RUNS_FILE, Config
from etl.stores import sqlite as sqlite_store

Trigger = Literal["cron", "manual", "cli", "inbox"]
Status = Literal["running", "succeeded", "failed", "interrupted"]
TRIGGERS: tuple[str, ...] = ("cron", "manual", "cli", "inbox")
STATUSES: tuple[str, ...] = ("running", "succeeded", "failed", "interrupted")
INBOX_OUTCOMES: tuple[str, ...] = ("loaded", "skipped", "rejected")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger           TEXT NOT NULL CHECK (trigger IN ({", ".join(repr(t) for t in TRIGGERS)})),
    status            TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    pid               INTEGER NOT NULL,
    pid_started       REAL,
    host              TEXT NOT NULL,
    db_path           TEXT NOT NULL,
    source            TEXT,
    files             INTEGER NOT NULL DEFAULT 0,
    files_skipped     INTEGER NOT NULL DEFAULT 0,
    files_rejected    INTEGER NOT NULL DEFAULT 0,
    rows_loaded       INTEGER NOT NULL DEFAULT 0,
    rows_quarantined  INTEGER NOT NULL DEFAULT 0,
    rows_duplicate    INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    snapshot_id       TEXT,
    snapshot_path     TEXT,
    steps             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS inbox_files (
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    outcome      TEXT NOT NULL CHECK (outcome IN ({", ".join(repr(o) for o in INBOX_OUTCOMES)})),
    reason       TEXT,
    archived_to  TEXT,
    at           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_files_sha ON inbox_files (sha256);
"""

#: version → the script that brings a run history to it from the version before (0: an empty or unversioned file;
#: the release before versions wrote exactly version 1's tables, so for it the script changes nothing).
#: 2: `pid_boot_start`, the writing process's start in seconds since boot (see `_alive`).
MIGRATIONS: dict[int, str] = {1: _SCHEMA, 2: "ALTER TABLE runs ADD COLUMN pid_boot_start REAL;"}
SCHEMA_VERSION = max(MIGRATIONS)

# Column order and types of list_runs(), also used for the empty frame.
RUN_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "trigger": pl.String,
    "status": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64,
    "files": pl.Int64,
    "files_skipped": pl.Int64,
    "files_rejected": pl.Int64,
    "rows_loaded": pl.Int64,
    "rows_quarantined": pl.Int64,
    "rows_duplicate": pl.Int64,
    "error": pl.String,
    "snapshot_id": pl.String,
    "snapshot_path": pl.String,
    "source": pl.String,
    "db_path": pl.String,
    "pid": pl.Int64,
    "host": pl.String,
    "steps": pl.String,
}


class RunStoreError(RuntimeError):
    """The run-history store cannot be used (unknown run id, unreadable file)."""


@dataclass
class RunRecord:
    """One refresh run as recorded in the history."""

    id: int
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    pid: int
    host: str
    db_path: str
    source: str | None = None
    files: int = 0
    files_skipped: int = 0
    files_rejected: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    error: str | None = None
    snapshot_id: str | None = None
    snapshot_path: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat()
        d["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        d["duration_s"] = self.duration_s
        return d

    def summary(self) -> str:
        """A few human lines (CLI output)."""
        dur = f"{self.duration_s:.1f} s" if self.duration_s is not None else "-"
        lines = [
            f"run #{self.id} [{self.trigger}] {self.status} in {dur} (started {self.started_at.isoformat()})",
            f"  files: {self.files} loaded, {self.files_skipped} skipped (unchanged), {self.files_rejected} rejected",
            f"  rows: {self.rows_loaded} loaded, {self.rows_quarantined} quarantined, {self.rows_duplicate} duplicate",
            f"  snapshot: {self.snapshot_id or '-'} → {self.snapshot_path or '-'}",
        ]
        for s in self.steps:
            note = f" — {s['note']}" if s.get("note") else ""
            lines.append(f"  step {s['name']}: {s['status']} in {s.get('seconds', 0):.2f} s{note}")
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class ProcessStart(NamedTuple):
    """When a process started: `epoch` as psutil reports it (boot time + time since boot) and `since_boot`."""

    epoch: float
    since_boot: float


def _process_start(pid: int) -> ProcessStart | None:
    try:
        epoch = psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    # psutil adds the kernel's boot time (/proc/stat btime) to the start in clock ticks since boot. btime is
    # wall-clock time minus the time since boot, so it moves whenever the wall clock is stepped (NTP, a VM restored
    # from a snapshot) and can flip between two whole seconds as the clock is corrected. Read back to back, the
    # difference is the start since boot, which no clock change moves.
    return ProcessStart(epoch, epoch - psutil.boot_time())


def _alive(pid: int, pid_started: float | None, pid_boot_start: float | None, host: str) -> bool:
    """Whether the process that wrote a 'running' row still exists (same pid AND same start, same host).

    The start is compared as time since boot (to well under a second; the kernel counts it in clock ticks):
    comparing wall-clock starts marks a live refresh 'interrupted' when the boot time steps by a second, as the
    scheduler test saw once. Rows written before `pid_boot_start` existed keep the wall-clock comparison."""
    if host != socket.gethostname():
        return True  # another machine's run: we cannot tell, so never mark it interrupted
    started = _process_start(pid)
    if started is None:
        return False
    # A reused pid has a different start.
    if pid_boot_start is not None:
        return abs(started.since_boot - pid_boot_start) < 0.5
    return pid_started is None or abs(started.epoch - pid_started) < 1.0


class RunStore:
    """The run history: a SQLite database in WAL mode, safe for concurrent processes."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            self.migrated = migrate(con, self.path)  # versions applied on this open (usually none)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with sqlite_store.open_wal(self.path, lambda e: RunStoreError(f"cannot open run history {self.path}: {e}")) \
                as con:
            yield con

    # --- writing -------------------------------------------------------------------------------------------------
    def start(self, trigger: str, db_path: str | os.PathLike[str], source: str | None = None) -> RunRecord:
        """Record a new run as 'running' by this process."""
        if trigger not in TRIGGERS:
            raise RunStoreError(f"unknown trigger {trigger!r} (allowed: {', '.join(TRIGGERS)})")
        self.reconcile()
        pid = os.getpid()
        started = _process_start(pid)
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO runs (trigger, status, started_at, pid, pid_started, pid_boot_start, host, db_path, source)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (trigger, _now().isoformat(), pid, started and started.epoch, started and started.since_boot,
                 socket.gethostname(), str(db_path), source),
            )
            run_id = int(cur.lastrowid or 0)
        return self.get(run_id)

    def update(self, run_id: int, **fields: Any) -> None:
        """Set columns of a run (counts, snapshot, steps) while it runs."""
        if not fields:
            return
        allowed = set(RunRecord.__dataclass_fields__) - {"id", "started_at", "pid", "host", "trigger"}
        unknown = set(fields) - allowed
        if unknown:
            raise RunStoreError(f"unknown run field(s): {', '.join(sorted(unknown))}")
        values = [json.dumps(v, ensure_ascii=False) if k == "steps" else v for k, v in fields.items()]
        values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as con:
            con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values, run_id))

    def finish(self, run_id: int, status: str, error: str | None = None, **fields: Any) -> RunRecord:
        """Close a run with its final status."""
        if status not in STATUSES or status == "running":
            raise RunStoreError(f"a run cannot finish as {status!r}")
        self.update(run_id, status=status, error=error, finished_at=_now(), **fields)
        return self.get(run_id)

    def reconcile(self) -> int:
        """Mark runs left 'running' by processes that no longer exist as 'interrupted'; return how many."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, pid, pid_started, pid_boot_start, host FROM runs WHERE status = 'running'").fetchall()
            dead = [r["id"] for r in rows if not _alive(r["pid"], r["pid_started"], r["pid_boot_start"], r["host"])]
            for run_id in dead:
                con.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?,"
                    " error = COALESCE(error, 'the refresh process died before finishing (killed or crashed);"
                    " the previous snapshot kept serving') WHERE id = ? AND status = 'running'",
                    (_now().isoformat(), run_id),
                )
        return len(dead)

    def record_inbox_file(
        self,
        run_id: int,
        sha256: str,
        name: str,
        size_bytes: int,
        outcome: str,
        reason: str | None,
        archived_to: str | None,
    ) -> None:
        if outcome not in INBOX_OUTCOMES:
            raise RunStoreError(f"unknown inbox outcome {outcome!r}")
        with self._connect() as con:
            con.execute(
                "INSERT INTO inbox_files (sha256, name, size_bytes, run_id, outcome, reason, archived_to, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sha256, name, size_bytes, run_id, outcome, reason, archived_to, _now().isoformat()),
            )

    # --- reading -------------------------------------------------------------------------------------------------
    def loaded_checksums(self) -> set[str]:
        """Checksums of inbox files already loaded into a snapshot that went live."""
        with self._connect() as con:
            return {r[0] for r in con.execute("SELECT sha256 FROM inbox_files WHERE outcome = 'loaded'")}

    def inbox_files(self, run_id: int | None = None) -> pl.DataFrame:
        q = "SELECT * FROM inbox_files" + (" WHERE run_id = ?" if run_id is not None else "") + " ORDER BY rowid"
        with self._connect() as con:
            rows = [dict(r) for r in con.execute(q, (run_id,) if run_id is not None else ())]
        schema = {
            "sha256": pl.String, "name": pl.String, "size_bytes": pl.Int64, "run_id": pl.Int64,
            "outcome": pl.String, "reason": pl.String, "archived_to": pl.String, "at": pl.String,
        }  # fmt: skip
        return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)

    def get(self, run_id: int) -> RunRecord:
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunStoreError(f"no run #{run_id} in {self.path}")
        return _record(row)

    def last(self, status: str | None = None) -> RunRecord | None:
        self.reconcile()
        q = "SELECT * FROM runs" + (" WHERE status = ?" if status else "") + " ORDER BY id DESC LIMIT 1"
        with self._connect() as con:
            row = con.execute(q, (status,) if status else ()).fetchone()
        return None if row is None else _record(row)

    def list(self, limit: int = 50) -> pl.DataFrame:
        self.reconcile()
        with self._connect() as con:
            rows = con.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        records = [_record(r) for r in rows]
        data = [{k: r.to_dict()[k] for k in RUN_SCHEMA} for r in records]
        for d, r in zip(data, records):
            d["started_at"], d["finished_at"] = r.started_at, r.finished_at
            d["steps"] = json.dumps(r.steps, ensure_ascii=False)
        if not data:
            return pl.DataFrame(schema=RUN_SCHEMA)
        return pl.DataFrame(data, schema=RUN_SCHEMA, orient="row")


schema_version = sqlite_store.schema_version  # the run history's schema version (0: never stamped)


def migrate(con: sqlite3.Connection, path: str | os.PathLike[str] = "run history") -> list[int]:
    """Apply the pending MIGRATIONS, each in one transaction with its `user_version`; return the versions applied.
    RunStoreError for a file of a later release."""
    return sqlite_store.migrate(
        con, MIGRATIONS,
        newer=lambda found, supported: RunStoreError(
            f"运行记录 {path} 的结构版本为 {found}，高于本程序支持的 {supported}：请升级 govindex · the run history has "
            f"schema version {found}, newer than the {supported} this govindex knows: upgrade govindex"),
        failed=lambda version, e: RunStoreError(f"cannot migrate run history {path} to version {version}: {e}"))


def _record(row: sqlite3.Row) -> RunRecord:
    d = dict(row)
    d.pop("pid_started", None)
    d.pop("pid_boot_start", None)
    d["started_at"] = _ts(d["started_at"])
    d["finished_at"] = _ts(d["finished_at"])
    d["steps"] = json.loads(d["steps"] or "[]")
    return RunRecord(**d)


def runs_path_for(config_or_path: Config | str | os.PathLike[str]) -> Path:
    """The run-history file for a Config, a warehouse path (*.duckdb → runs.sqlite beside it) or a *.sqlite path."""

    if isinstance(config_or_path, Config):
        return config_or_path.paths.runs_path
    p = Path(config_or_path)
    if p.suffix in (".sqlite", ".sqlite3", ".db"):
        return p
    return p.with_name(RUNS_FILE)


def list_runs(config_or_path: Config | str | os.PathLike[str], limit: int = 50) -> pl.DataFrame:
    """The latest runs, newest first (columns: RUN_SCHEMA; times are UTC). Empty frame when nothing ran yet."""
    path = runs_path_for(config_or_path)
    if not path.exists():
        return pl.DataFrame(schema=RUN_SCHEMA)
    return RunStore(path).list(limit)


def last_run(config_or_path: Config | str | os.PathLike[str], status: str | None = None) -> RunRecord | None:
    """The most recent run (optionally with the given status), or None."""
    path = runs_path_for(config_or_path)
    if not path.exists():
        return None
    return RunStore(path).last(status)
