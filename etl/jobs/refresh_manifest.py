"""What a refresh's result depends on, written beside the live warehouse after every successful refresh, so a
refresh with nothing new can tell in well under a second and keep the live snapshot instead of rebuilding it.

The manifest (`<db>.refresh.json`) records, for the snapshot it describes:
- `inputs`: a digest of everything besides the raw files that the indicator values, scores and uncertainty summary
  are computed from: the indicator catalog (indicators/catalog/*), the formulas' module, the weight profiles (the
  store folder and the shipped ones, published pointers and history included), the [refresh] settings and the
  govindex version;
- `files`: a checksum cache, path → (size, mtime_ns, ctime_ns, sha256), so an unchanged file is not read again
  (the rule git's index uses: same size and both timestamps, same content).

Nothing new means: the live snapshot is the one the manifest describes, the inputs digest is the same, and every
raw file to ingest is already in the live warehouse (its sha256 is logged there as loaded or partial for its table)
— for the inbox: the inbox has no file at all to load, skip or reject.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata, util
from pathlib import Path
from typing import TYPE_CHECKING

import indicators
from etl.contract import tables
from etl.ingest.listing import discover
from etl.jobs import snapshots
from etl.warehouse import connection as warehouse
from weights import SHIPPED_DIR

# Nothing here imports the ingest's readers and checks, the catalog's models or the indicator stage: a refresh with
# nothing new reads files' bytes and the live warehouse's log, no more (tests/etl/jobs/test_refresh_imports.py).

if TYPE_CHECKING:
    from etl.config import Config

log = logging.getLogger("govindex.refresh")

MANIFEST_SUFFIX = ".refresh.json"
VERSION = 1

Checksums = dict[str, tuple[str, int]]  # resolved path → (sha256, size)


def manifest_path(db: Path) -> Path:
    return db.with_name(db.name + MANIFEST_SUFFIX)


def _hash_tree(h: hashlib._Hash, root: Path) -> None:
    if root.is_file():
        h.update(root.name.encode() + b"\0" + root.read_bytes() + b"\0")
        return
    if not root.is_dir():
        h.update(f"absent:{root}\0".encode())
        return
    for p in sorted(root.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")


def _version() -> str:
    try:
        return metadata.version("govindex")
    except metadata.PackageNotFoundError:
        return "unknown"


def inputs_digest(config: Config) -> str:
    """sha256 over the catalog, the formulas' module, the weight profiles, the [refresh] settings and the version."""
    h = hashlib.sha256()
    catalog_dir = Path(indicators.__file__).resolve().parent / "catalog"  # etl.contract.catalog.default_catalog_dir
    formulas = util.find_spec("etl.warehouse.indicator_values")  # its file, without importing the indicator stage
    assert formulas is not None and formulas.origin is not None
    parts = (catalog_dir, Path(formulas.origin), Path(config.paths.weights_path), SHIPPED_DIR)
    for i, part in enumerate(parts):  # contents only: the same files in a moved folder are the same inputs
        h.update(f"[{i}]".encode())
        _hash_tree(h, part)
    h.update(config.refresh.model_dump_json().encode())
    h.update(_version().encode())
    return h.hexdigest()


@dataclass
class Manifest:
    snapshot_id: str | None = None
    inputs: str | None = None
    files: dict[str, list[object]] = field(default_factory=dict)  # path → [size, mtime_ns, ctime_ns, sha256]
    ingests: str | None = None  # the live file's ingest log mark (a `govindex ingest` straight into it moves it)

    @classmethod
    def read(cls, db: Path) -> Manifest:
        """The manifest beside `db`; an empty one when there is none or it cannot be read (then nothing is skipped)."""
        p = manifest_path(db)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
            if raw.get("version") != VERSION:
                return cls()
            return cls(raw.get("snapshot_id"), raw.get("inputs"), dict(raw.get("files") or {}), raw.get("ingests"))
        except (OSError, ValueError, AttributeError):
            return cls()

    def write(self, db: Path) -> None:
        """Write atomically (temp file + os.replace); a failure is logged, never fails the refresh."""
        p = manifest_path(db)
        tmp = p.with_name(p.name + ".tmp")
        body = {"version": VERSION, "snapshot_id": self.snapshot_id, "inputs": self.inputs, "files": self.files,
                "ingests": self.ingests}  # fmt: skip
        try:
            tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, p)
        except OSError as e:
            log.warning("could not write the refresh manifest %s: %s", p, e)

    def checksums(self, paths: list[Path]) -> Checksums:
        """sha256 and size of each file, from the cache when size and timestamps are unchanged (the cache is
        updated with what was read)."""
        out: Checksums = {}
        for path in paths:
            key = str(path.resolve())
            st = path.stat()
            cached = self.files.get(key)
            if cached and list(cached[:3]) == [st.st_size, st.st_mtime_ns, st.st_ctime_ns]:
                out[key] = (str(cached[3]), int(st.st_size))
                continue
            from etl.ingest import readers  # local: only a file not seen before is read

            digest, size = readers.checksum(path)
            self.files[key] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest]
            out[key] = (digest, size)
        return out

    def keep_only(self, paths: Mapping[str, object]) -> None:
        """Forget cached checksums of files not among `paths` (moved away, archived)."""
        self.files = {k: v for k, v in self.files.items() if k in paths}


@dataclass(frozen=True)
class Verdict:
    """Whether a refresh has anything to do, why, and the checksums it computed (handed to the ingest)."""

    unchanged: bool
    reason: str
    live_snapshot: str | None
    checksums: Checksums
    files: int = 0


@dataclass(frozen=True)
class LiveState:
    """What the live file says about itself: its snapshot, its ingest log mark, the files loaded into it."""

    snapshot_id: str | None
    ingests: str | None
    loaded: frozenset[tuple[str, str | None]]  # (sha256, table) of every file loaded or partly loaded


def live_state(db: Path) -> LiveState:
    """A read-only look at the live file (WarehouseError when it cannot be opened)."""
    with warehouse.connection(db, read_only=True) as con:
        names = warehouse.table_names(con)
        if "snapshot_info" not in names or "indicator_values" not in names:
            return LiveState(None, None, frozenset())
        sid = warehouse.scalar(
            con, 'SELECT "snapshot_id" FROM "snapshot_info" WHERE "finished_at" IS NOT NULL ORDER BY "started_at" DESC LIMIT 1'
        )
        mark = warehouse.scalar(con, "SELECT count(*) || ':' || coalesce(max(file_id), 0) FROM ingest_files")
        rows = con.sql(  # tuples, not a frame: no pyarrow (nor numpy) to import for a refresh with nothing new
            "SELECT DISTINCT sha256, table_name FROM ingest_files WHERE status IN ('loaded', 'partial')"
        ).fetchall()
    return LiveState(None if sid is None else str(sid), str(mark), frozenset((r[0], r[1]) for r in rows))


def check(db: Path, manifest: Manifest, source: Path | None, inbox_empty: bool, inputs: str) -> Verdict:
    """Decide whether the refresh has nothing new (see the module docstring); `inputs` is this run's
    `inputs_digest`. Never raises for a missing or odd
    manifest or live file: anything unexpected means "changed" (the full refresh then runs)."""
    paths: list[Path] = []
    if source is not None:
        try:
            found, _ = discover(source)
            paths = [p for p, _ in found]
        except (OSError, ValueError) as e:
            return Verdict(False, f"cannot list {source}: {e}", None, {})
    checksums = manifest.checksums(paths) if paths else {}
    if source is None and not inbox_empty:
        return Verdict(False, "the inbox has files", None, checksums)
    if not db.exists():
        return Verdict(False, "no live warehouse yet", None, checksums)
    if snapshots.wal_path(db).exists():
        return Verdict(False, "the live warehouse has a write-ahead log", None, checksums)
    if manifest.inputs != inputs:
        return Verdict(False, "catalog, weight profiles, settings or version changed", None, checksums)
    try:
        live = live_state(db)
    except warehouse.WarehouseError as e:
        return Verdict(False, f"cannot read the live warehouse: {e}", None, checksums)
    if live.snapshot_id is None or live.snapshot_id != manifest.snapshot_id:
        return Verdict(False, "the live snapshot is not the one the last refresh built", live.snapshot_id, checksums)
    if live.ingests != manifest.ingests:
        return Verdict(False, "files were ingested into the live warehouse since", live.snapshot_id, checksums)
    for p in paths:
        sha, _ = checksums[str(p.resolve())]
        if (sha, tables.table_for_file(p.name)) not in live.loaded:
            return Verdict(False, f"new or changed file {p.name}", live.snapshot_id, checksums)
    return Verdict(True, "nothing new", live.snapshot_id, checksums, files=len(paths))
