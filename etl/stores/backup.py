"""Backup and restore of every piece of state, consistent while the app runs, with a manifest of sha256 checksums.

What a backup holds (folders inside the backup):

- `warehouse/`: the live DuckDB snapshot, copied under the refresh lock (a refresh only ever replaces the live file by
  rename, so the copy is one whole snapshot; a leftover write-ahead log is folded in first);
- `runs/`: the run history, through SQLite's online backup API;
- `users/`: the users file;
- `loop/`: the loop store (targets, 整改台账, alerts; SQLite, through the backup API), then `evidence/`: the ledger's
  evidence files (immutable, named by SHA-256; copied after the store, so every file the store names is there);
- `weights/`: the whole weights data folder (saved profiles, their history, the audit trail and its head file),
  copied while holding the audit trail's lock so the trail and its head match;
- `archive/`: the raw-file archive of the inbox;
- `data/`: every other file beside the warehouse (stores added later, e.g. editions), found generically; SQLite
  files among them go through the backup API too;
- `config/`: the configuration file the process was started with, if any;
- `manifest.json`: format, govindex version, created at, the original paths, schema versions, and the size and
  sha256 of every file.

`restore` verifies every checksum before writing anything, refuses to overwrite existing state unless forced (then
the existing files are moved aside, never deleted) and writes into the configured paths, or into one folder
(`into`) with the same layout a default configuration uses.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import socket
import sqlite3
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from etl.config import Config
from etl.jobs.locks import LockHeld
from etl.jobs.snapshots import SnapshotError, checkpoint_live, refresh_lock, snapshot_dir, wal_path
from etl.stores import audit_trail
from etl.stores.loop import SCHEMA_VERSION as LOOP_SCHEMA_VERSION, LoopStore, schema_version as loop_schema_version
from etl.stores.runs import SCHEMA_VERSION as RUNS_SCHEMA_VERSION, RunStore, schema_version as runs_schema_version
from etl.stores.users import SCHEMA_VERSION as USERS_SCHEMA_VERSION
from etl.warehouse import connection as warehouse, migrations

MANIFEST = "manifest.json"
FORMAT = 1
SECTIONS: tuple[str, ...] = ("warehouse", "runs", "users", "loop", "evidence", "weights", "archive", "data", "config")
# Sections that hold one file (restored to the configured path itself), and those that hold a folder.
_FILE_SECTIONS: tuple[str, ...] = ("warehouse", "runs", "users", "loop")
_DIR_SECTIONS: tuple[str, ...] = ("weights", "archive", "evidence")
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Beside the warehouse but not state: locks, refresh temp files, SQLite journals (the backup API reads through them).
_NOT_STATE_SUFFIXES = (".lock", ".wal", "-wal", "-shm", "-journal", ".tmp")


class BackupError(RuntimeError):
    """A backup or restore cannot be made: the destination exists, a checksum fails, state would be overwritten."""


class BackupBusy(BackupError):
    """A refresh (or rollback, migration, another backup) holds the refresh lock for longer than we may wait."""


@dataclass(frozen=True)
class Entry:
    """One file of a backup: its section, path inside the backup, size and sha256."""

    section: str
    path: str
    size: int
    sha256: str


@dataclass
class Manifest:
    """What a backup holds (written as manifest.json)."""

    created_at: str
    govindex_version: str
    host: str
    sources: dict[str, str]
    schema_versions: dict[str, int]
    files: list[Entry] = field(default_factory=list)
    seconds: float = 0.0
    format: int = FORMAT

    def to_json(self) -> str:
        data = {
            "format": self.format, "govindex_version": self.govindex_version, "created_at": self.created_at,
            "host": self.host, "sources": self.sources, "schema_versions": self.schema_versions,
            "seconds": self.seconds, "files": [e.__dict__ for e in self.files],
        }  # fmt: skip
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            files = [Entry(**e) for e in data["files"]]
            if data["format"] > FORMAT:
                raise BackupError(f"{folder}: backup format {data['format']} is newer than this govindex reads "
                                  f"({FORMAT}); restore it with the release that made it")
            return cls(data["created_at"], data["govindex_version"], data["host"], dict(data["sources"]),
                       {k: int(v) for k, v in data["schema_versions"].items()}, files, float(data["seconds"]),
                       int(data["format"]))
        except FileNotFoundError:
            raise BackupError(f"{folder} 不是备份（没有 {MANIFEST}） · {folder} is not a backup (no {MANIFEST})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise BackupError(f"{folder / MANIFEST}: not a readable manifest ({e})") from None

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)


def _version() -> str:
    try:
        return importlib.metadata.version("govindex")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _sqlite_copy(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API; concurrent writers are fine)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


@contextmanager
def _audit_locked(weights_dir: Path) -> Iterator[None]:
    """Hold the audit trail's writer lock (the one etl.stores.audit_trail appends under) so trail and head match."""
    path = audit_trail.audit_path(weights_dir)
    if not path.is_file():
        yield
        return
    with open(path, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) if folder.is_dir() else []


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _other_data(config: Config, db: Path, config_file: Path | None) -> list[Path]:
    """Files beside the warehouse that no other section holds: stores added later (editions, …), found generically."""
    folder = db.parent
    covered = [config.paths.weights_dir, config.paths.archive, config.paths.inbox, snapshot_dir(db),
               config.paths.evidence_path]
    named = {db.resolve(), Path(config.paths.runs_path).resolve(), Path(config.users_path).resolve(),
             Path(config.paths.loop_path).resolve()}
    if config_file is not None:
        named.add(config_file.resolve())  # in the config section
    out = []
    for p in _files_under(folder):
        if p.resolve() in named or any(_inside(p, c) for c in covered):
            continue
        name = p.name
        if name.startswith(db.name) or name.endswith(_NOT_STATE_SUFFIXES) or ".before-restore-" in name:
            continue  # building files, kept snapshots, locks and journals are not state
        out.append(p)
    return out


def _warehouse_version(path: Path) -> int:
    con = warehouse.connect(path, read_only=True, create=False)  # as it is: neither migrated nor refused
    try:
        return migrations.version(con)
    finally:
        con.close()


def _runs_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return runs_schema_version(con)
    finally:
        con.close()


def _loop_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return loop_schema_version(con)
    finally:
        con.close()


def _file_state(p: Path) -> tuple[int, int, int]:
    st = p.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _copy_warehouse(db: Path, target: Path, attempts: int = 5) -> None:
    """Copy the live warehouse whole: its WAL folded in first, and copied again if a writer outside the refresh lock
    (a `govindex score`) changed the file meanwhile."""
    for _ in range(attempts):
        try:
            checkpoint_live(db)
        except SnapshotError as e:
            raise BackupError(str(e)) from None
        before = _file_state(db)
        shutil.copy2(db, target)
        if _file_state(db) == before and not wal_path(db).exists():
            return
        time.sleep(0.5)
    raise BackupError(f"the warehouse {db} kept changing while it was copied ({attempts} attempts); try again when "
                      "no `govindex score` or ingest is writing to it")


def _known_versions() -> dict[str, int]:
    """The schema version of each store this govindex reads."""
    return {"warehouse": migrations.CURRENT_VERSION, "runs": RUNS_SCHEMA_VERSION, "users": USERS_SCHEMA_VERSION,
            "audit_trail": audit_trail.SCHEMA_VERSION, "loop": LOOP_SCHEMA_VERSION}


def _users_version(path: Path) -> int:
    try:
        found = tomllib.loads(path.read_text(encoding="utf-8")).get("schema_version", 1)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BackupError(f"{path}: not a readable users file ({e})") from None
    return int(found)


def _head_version(path: Path) -> int:
    try:
        return int(json.loads(path.read_text(encoding="utf-8")).get("schema", 1))
    except (ValueError, AttributeError) as e:
        raise BackupError(f"{path}: not a readable audit-trail head ({e})") from None


def backup(config: Config, dest: str | os.PathLike[str], *, config_file: str | os.PathLike[str] | None = None,
           wait_seconds: float = 0.0) -> Manifest:
    """Write a backup of every piece of state into the new folder `dest` and return its manifest.

    Holds the refresh lock throughout (BackupBusy when a refresh keeps it longer than `wait_seconds`), so no snapshot
    is swapped mid-copy; the app keeps serving meanwhile (it only reads).
    """
    out = Path(dest)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"备份目录 {out} 已存在且非空 · {out} exists and is not empty: back up into a new folder")
    db = Path(os.path.abspath(config.paths.db))
    t0 = time.perf_counter()
    lock = refresh_lock(db)
    try:
        lock.acquire(wait_seconds, what="backup")
    except LockHeld as e:
        raise BackupBusy(f"正在刷新，暂不能备份 · a refresh is running, so no consistent backup now: {e}; try again "
                         "later or pass --wait SECONDS") from None
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        copied: list[tuple[str, Path]] = []

        def put(section: str, src: Path, rel: Path) -> Path:
            target = staging / section / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if _is_sqlite(src):
                _sqlite_copy(src, target)
            else:
                shutil.copy2(src, target)
            copied.append((section, target))
            return target

        versions: dict[str, int] = {}
        sources: dict[str, str] = {}
        if db.is_file():
            target = staging / "warehouse" / db.name
            target.parent.mkdir(parents=True)
            _copy_warehouse(db, target)
            copied.append(("warehouse", target))
            versions["warehouse"] = _warehouse_version(target)
            wal_path(target).unlink(missing_ok=True)
            sources["warehouse"] = str(db)
        runs = Path(config.paths.runs_path)
        if runs.is_file():
            versions["runs"] = _runs_version(put("runs", runs, Path(runs.name)))
            sources["runs"] = str(runs.resolve())
        users = Path(config.users_path)
        if users.is_file():
            versions["users"] = _users_version(put("users", users, Path(users.name)))
            sources["users"] = str(users.resolve())
        loop = Path(config.paths.loop_path)
        if loop.is_file():
            versions["loop"] = _loop_version(put("loop", loop, Path(loop.name)))
            sources["loop"] = str(loop.resolve())
        evidence = Path(config.paths.evidence_path)  # after the store: its files are immutable and written first
        for p in _files_under(evidence):
            if not p.name.endswith(_NOT_STATE_SUFFIXES):
                put("evidence", p, p.relative_to(evidence))
        if evidence.is_dir():
            sources["evidence"] = str(evidence.resolve())
        weights = Path(config.paths.weights_dir)
        with _audit_locked(weights):
            for p in _files_under(weights):
                put("weights", p, p.relative_to(weights))
        head = staging / "weights" / audit_trail.head_path(weights).relative_to(weights)
        if head.is_file():
            versions["audit_trail"] = _head_version(head)
        sources["weights"] = str(weights.resolve())
        archive = Path(config.paths.archive)
        for p in _files_under(archive):
            put("archive", p, p.relative_to(archive))
        sources["archive"] = str(archive.resolve())
        for p in _other_data(config, db, Path(config_file) if config_file is not None else None):
            put("data", p, p.relative_to(db.parent))
        sources["data"] = str(db.parent)
        if config_file is not None and Path(config_file).is_file():
            put("config", Path(config_file), Path(Path(config_file).name))
            sources["config"] = str(Path(config_file).resolve())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        lock.release()
    try:
        manifest = Manifest(
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), govindex_version=_version(),
            host=socket.gethostname(), sources=sources, schema_versions=versions,
            files=[Entry(section, t.relative_to(staging).as_posix(), t.stat().st_size, sha256_file(t))
                   for section, t in copied],
        )
        manifest.seconds = round(time.perf_counter() - t0, 3)
        (staging / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def verify(src: str | os.PathLike[str]) -> Manifest:
    """Check every file of the backup `src` against its manifest (size and sha256); BackupError names the bad ones."""
    folder = Path(src)
    manifest = Manifest.read(folder)
    bad = []
    for e in manifest.files:
        p = folder / e.path
        if not _inside(p, folder):
            bad.append(f"{e.path}: outside the backup")
        elif not p.is_file():
            bad.append(f"{e.path}: missing")
        elif p.stat().st_size != e.size or sha256_file(p) != e.sha256:
            bad.append(f"{e.path}: checksum does not match")
    if bad:
        raise BackupError(f"备份 {folder} 校验失败 · backup {folder} fails its checksums:\n  " + "\n  ".join(bad))
    return manifest


def relocated(config: Config, into: str | os.PathLike[str]) -> Config:
    """`config` with every state path under the folder `into`, laid out as a default configuration lays them out."""
    root = Path(into)
    db = root / Path(config.paths.db).name
    paths = config.paths.model_copy(update={
        "db": db, "runs_db": root / Path(config.paths.runs_path).name, "weights_dir": root / "weights",
        "archive": root / "archive", "inbox": root / "inbox", "loop_db": root / Path(config.paths.loop_path).name,
        "evidence_dir": root / Path(config.paths.evidence_path).name,
    })
    users = config.users.model_copy(update={"file": root / Path(config.users_path).name})
    return config.model_copy(update={"paths": paths, "users": users})


@dataclass(frozen=True)
class Restored:
    """What a restore wrote, and what it moved aside (existing state, with --force)."""

    manifest: Manifest
    written: list[Path]
    moved_aside: list[Path]
    config: Config


def _targets(manifest: Manifest, config: Config, into: Path | None) -> dict[str, Path]:
    """The file or folder each section of the backup restores into (for the config file: its folder)."""
    db = Path(os.path.abspath(config.paths.db))
    out = {
        "warehouse": db, "runs": Path(config.paths.runs_path), "users": Path(config.users_path),
        "weights": Path(config.paths.weights_dir), "archive": Path(config.paths.archive), "data": db.parent,
        "loop": Path(config.paths.loop_path), "evidence": Path(config.paths.evidence_path),
    }  # fmt: skip
    if "config" in manifest.sources:
        out["config"] = into if into is not None else Path(manifest.sources["config"]).parent
    return out


def restore(src: str | os.PathLike[str], config: Config, *, into: str | os.PathLike[str] | None = None,
            force: bool = False, wait_seconds: float = 0.0) -> Restored:
    """Restore the backup `src` into the paths of `config` (or under the folder `into`).

    Verifies every checksum first. Refuses when state already exists at a target unless `force`; then the existing
    file or folder is moved aside (suffix `.before-restore-<time>`), never deleted. The warehouse is renamed into
    place (os.replace), so a running app switches to it at its next request.
    """
    folder = Path(src)
    manifest = verify(folder)
    newer = [f"{store} v{manifest.schema_versions[store]} (this govindex: v{known})"
             for store, known in _known_versions().items() if manifest.schema_versions.get(store, 0) > known]
    if newer:
        raise BackupError("备份由更新版本的 govindex 生成 · the backup was made by a later govindex, whose schema this one "
                          f"does not know: {', '.join(newer)}; restore it with that release or a later one")
    if into is not None:
        Path(into).mkdir(parents=True, exist_ok=True)
        config = relocated(config, into)
    targets = _targets(manifest, config, Path(into) if into is not None else None)
    by_section: dict[str, list[Entry]] = {}
    for e in manifest.files:
        by_section.setdefault(e.section, []).append(e)
    existing = []
    dests: set[Path] = set()
    for section, entries in by_section.items():
        if section not in targets:
            raise BackupError(f"the backup holds a section {section!r} this govindex does not know")
        base = targets[section]
        for e in entries:
            parts = Path(e.path).parts
            rel = Path(*parts[1:]) if len(parts) > 1 and parts[0] == section else Path("..")
            if rel.is_absolute() or ".." in rel.parts:
                raise BackupError(f"the backup's manifest names a file outside its section: {e.path}")
            dest = base if section in _FILE_SECTIONS else base / rel
            if dest.resolve() in dests:
                raise BackupError(f"two files of the backup restore to {dest}: restore --into an empty folder instead")
            dests.add(dest.resolve())
            if dest.exists():
                existing.append(dest)
    if section_dirs := [targets[s] for s in _DIR_SECTIONS if s in by_section]:
        existing += [d for d in section_dirs if d.is_dir() and any(d.iterdir()) and d not in existing]
    if existing and not force:
        raise BackupError("不覆盖已有数据（如需覆盖请加 --force） · refusing to overwrite existing state (use --force; "
                          "the existing files are then moved aside):\n  " + "\n  ".join(str(p) for p in existing))
    db = targets["warehouse"]
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = refresh_lock(db)
    try:
        lock.acquire(wait_seconds, what="restore")
    except LockHeld as held:
        raise BackupBusy(f"正在刷新，暂不能恢复 · a refresh is running: {held}") from None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    moved: list[Path] = []
    written: list[Path] = []

    def aside(p: Path) -> None:
        if p.exists():
            to = p.with_name(f"{p.name}.before-restore-{stamp}")
            os.replace(p, to)
            moved.append(to)

    try:
        for d in (targets[s] for s in _DIR_SECTIONS if s in by_section or s in ("weights", "archive")):
            if force and d.is_dir() and any(d.iterdir()):
                aside(d)
        for section, entries in by_section.items():
            base = targets[section]
            for entry in entries:
                rel = Path(entry.path).relative_to(section)
                dest = base if section in _FILE_SECTIONS else base / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + f".restoring-{os.getpid()}")
                shutil.copy2(folder / entry.path, tmp)
                if sha256_file(tmp) != entry.sha256:
                    tmp.unlink()
                    raise BackupError(f"{entry.path} changed while restoring it")
                if section == "warehouse":
                    if dest.exists():  # the replaced live file stays, by a second name (a hard link, no copy)
                        kept = dest.with_name(f"{dest.name}.before-restore-{stamp}")
                        try:
                            os.link(dest, kept)
                        except OSError:  # no hard links on this file system
                            shutil.copy2(dest, kept)
                        moved.append(kept)
                    aside(wal_path(dest))  # another file's write-ahead log must never be replayed onto this one
                else:
                    aside(dest)
                if _is_sqlite(tmp):  # its old journal files belong to the replaced database
                    for suffix in ("-wal", "-shm"):
                        aside(dest.with_name(dest.name + suffix))
                os.replace(tmp, dest)
                written.append(dest)
    finally:
        lock.release()
    if "runs" in by_section:
        RunStore(targets["runs"])  # brings an older run history up to date (and refuses a newer one)
    if "loop" in by_section:
        LoopStore(targets["loop"], targets["evidence"])  # likewise for the loop store
    return Restored(manifest, written, moved, config)


def describe(manifest: Manifest) -> dict[str, Any]:
    """Per section: number of files and bytes (for the CLI's summary)."""
    out: dict[str, Any] = {}
    for e in manifest.files:
        s = out.setdefault(e.section, {"files": 0, "bytes": 0})
        s["files"] += 1
        s["bytes"] += e.size
    return out
