"""Previous warehouse snapshots kept beside the live one, and rollback to one of them.

A refresh replaces the live file with os.replace; just before, it hard-links the outgoing file into
`<db>.snapshots/<snapshot id>.duckdb` (`keep`, no copy: the old inode simply keeps a second name) and afterwards
removes all but the newest `refresh.keep_snapshots` (`prune`). `rollback` swaps a kept snapshot back in with
os.replace under the refresh lock, keeping the outgoing live file as a snapshot too (so a rollback can be undone),
and records the swap in the run history. Readers notice the new inode (etl.warehouse.snapshot.SnapshotCache).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from etl.config import Config
from etl.jobs.locks import FileLock, LockHeld
from etl.jobs.refresh_steps import RefreshError
from etl.stores.runs import RunRecord, RunStore
from etl.warehouse import connection as warehouse

SNAPSHOTS_SUFFIX = ".snapshots"
SNAPSHOT_EXT = ".duckdb"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


class SnapshotError(RefreshError):
    """No such kept snapshot, nothing to roll back to, or the swap failed; the message says which."""


class RollbackBusy(SnapshotError):
    """A refresh (or another rollback, backup or migration) holds the refresh lock."""


@dataclass(frozen=True)
class KeptSnapshot:
    """One previous snapshot: its id (the refresh that built it), file, size and when it was last written."""

    id: str
    path: Path
    size_bytes: int
    written_at: datetime


@dataclass(frozen=True)
class Rollback:
    """What a rollback did: the snapshot that went live, the one it replaced (now kept), and the run recorded."""

    to_id: str
    from_id: str
    run: RunRecord


def refresh_lock(db: Path) -> FileLock:
    """The one lock a refresh, rollback, backup, restore and migration of the warehouse `db` hold."""
    return FileLock(db.with_name(db.name + ".refresh.lock"), "refresh")


def snapshot_dir(db: Path) -> Path:
    return db.with_name(db.name + SNAPSHOTS_SUFFIX)


def wal_path(p: Path) -> Path:
    return p.with_name(p.name + ".wal")


def list_snapshots(db: Path) -> list[KeptSnapshot]:
    """The kept snapshots of `db`, newest first (by when each was last written, then id)."""
    folder = snapshot_dir(db)
    if not folder.is_dir():
        return []
    out = []
    for p in folder.glob(f"*{SNAPSHOT_EXT}"):
        if p.is_file() and _ID.fullmatch(p.stem):
            st = p.stat()
            out.append(KeptSnapshot(p.stem, p, st.st_size, datetime.fromtimestamp(st.st_mtime, timezone.utc)))
    return sorted(out, key=lambda s: (s.written_at, s.id), reverse=True)


def live_snapshot_id(db: Path) -> str | None:
    """The id the live warehouse records (newest snapshot_info row), or None for a file without one."""
    if not db.is_file():
        return None
    with warehouse.connection(db, read_only=True) as con:
        if "snapshot_info" not in warehouse.table_names(con):
            return None
        value = warehouse.scalar(con, 'SELECT "snapshot_id" FROM "snapshot_info" ORDER BY "started_at" DESC LIMIT 1')
    return None if value is None else str(value)


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep(db: Path, snapshot_id: str) -> Path | None:
    """Keep the live file `db` as snapshot `snapshot_id` (a hard link; a copy where links are not possible).

    Call it before the live file is replaced. Returns the kept file (None when there is no live file); an id already
    kept is left as it is."""
    if not db.is_file():
        return None
    if not _ID.fullmatch(snapshot_id):
        raise SnapshotError(f"not a usable snapshot id: {snapshot_id!r}")
    folder = snapshot_dir(db)
    folder.mkdir(exist_ok=True)
    dest = folder / f"{snapshot_id}{SNAPSHOT_EXT}"
    if dest.exists():
        return dest
    try:
        os.link(db, dest)
    except OSError:  # a file system without hard links: copy, then rename into place
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.copy2(db, tmp)
        _fsync(tmp)
        os.replace(tmp, dest)
    _fsync(folder, directory=True)
    return dest


def prune(db: Path, keep_n: int) -> list[Path]:
    """Remove all but the newest `keep_n` kept snapshots of `db`; return the removed files."""
    removed = []
    for s in list_snapshots(db)[max(keep_n, 0):]:
        s.path.unlink(missing_ok=True)
        removed.append(s.path)
    return removed


def checkpoint_live(db: Path, wait_seconds: float = 30.0) -> None:
    """Fold a leftover write-ahead log of the live file into it (a writer died), so the file alone is the snapshot."""
    if not wal_path(db).exists():
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with warehouse.connection(db) as con:
                warehouse.execute(con, "CHECKPOINT")
            return
        except warehouse.WarehouseError as e:
            if time.monotonic() > deadline:
                raise SnapshotError(f"cannot checkpoint the live warehouse {db} (its WAL exists): {e}") from e
            time.sleep(0.2)


def _target(db: Path, to: str | None) -> KeptSnapshot:
    kept = list_snapshots(db)
    if to is not None:
        for s in kept:
            if s.id == to:
                return s
        known = ", ".join(s.id for s in kept) or "none"
        raise SnapshotError(f"没有保留的快照 {to!r} · no kept snapshot {to!r} (kept: {known}; see `govindex snapshots`)")
    live_written = db.stat().st_mtime if db.is_file() else float("inf")
    older = [s for s in kept if s.written_at.timestamp() < live_written]
    if not older:
        raise SnapshotError("没有更早的快照可回滚 · no snapshot older than the live one is kept "
                            "(`govindex snapshots` lists them; `--to ID` picks one)")
    return older[0]


def rollback(config: Config, to: str | None = None, *, wait_seconds: float = 0.0) -> Rollback:
    """Swap kept snapshot `to` (default: the newest one older than the live file) in as the live warehouse.

    Under the refresh lock (RollbackBusy when another holder keeps it past `wait_seconds`): the live file is kept
    as a snapshot first, then the chosen one is renamed onto the live path (os.replace); the swap is recorded in the
    run history as a 'cli' run whose source says "rollback".
    """
    db = Path(os.path.abspath(config.paths.db))
    lock = refresh_lock(db)
    try:
        lock.acquire(wait_seconds, what="rollback")
    except LockHeld as e:
        raise RollbackBusy(str(e)) from None
    try:
        target = _target(db, to)
        checkpoint_live(db)
        from_id = live_snapshot_id(db) or f"before-rollback-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
        if from_id == target.id:
            raise SnapshotError(f"快照 {target.id} 已在使用中 · snapshot {target.id} is already live")
        store = RunStore(config.paths.runs_path)
        run = store.start("cli", db, source=f"rollback to snapshot {target.id}")
        lock.update(run_id=run.id)
        t0 = time.perf_counter()
        try:
            keep(db, from_id)
            _fsync(target.path)
            os.replace(target.path, db)
            _fsync(db.parent, directory=True)
        except BaseException as e:
            store.finish(run.id, "failed", error=f"rollback: {type(e).__name__}: {e}")
            raise
        step = {"name": "rollback", "status": "ok", "seconds": round(time.perf_counter() - t0, 3),
                "note": f"{from_id} → {target.id}"}
        record = store.finish(run.id, "succeeded", snapshot_id=target.id, snapshot_path=str(db), steps=[step])
        return Rollback(to_id=target.id, from_id=from_id, run=record)
    finally:
        lock.release()
