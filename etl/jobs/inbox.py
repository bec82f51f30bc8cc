"""The inbox: pick up new raw files, skip unchanged ones by checksum, and archive or reject them after a refresh."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from etl.contract.tables import FILE_EXTENSIONS, TABLES, table_for_file

# Names that mean "still being written" or "not data": left alone, never archived.
_IGNORED_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".uploading")
_IGNORED_PREFIXES = (".", "~$")


class InboxError(RuntimeError):
    """An inbox or archive folder cannot be read or written; the message names the path."""


@dataclass(frozen=True)
class InboxFile:
    """One file found in the inbox."""

    path: Path
    sha256: str
    size_bytes: int
    table: str | None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def archive_name(self) -> str:
        return f"{self.sha256[:12]}-{self.name}"


@dataclass
class InboxPlan:
    """What a refresh does with the inbox: load these, skip these (unchanged), reject these, wait for these."""

    load: list[InboxFile] = field(default_factory=list)
    skip: list[tuple[InboxFile, str]] = field(default_factory=list)
    reject: list[tuple[InboxFile, str]] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.load or self.skip or self.reject)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _ignored(name: str) -> bool:
    lower = name.lower()
    return lower.startswith(_IGNORED_PREFIXES) or lower.endswith(_IGNORED_SUFFIXES)


def pending_files(inbox: Path, settle_seconds: float = 0.0, now: float | None = None) -> tuple[list[Path], list[Path]]:
    """(ready, waiting) top-level files of the inbox; files modified in the last `settle_seconds` are waiting."""
    if not inbox.is_dir():
        return [], []
    now = time.time() if now is None else now
    ready: list[Path] = []
    waiting: list[Path] = []
    try:
        entries = sorted(inbox.iterdir())
    except OSError as e:
        raise InboxError(f"cannot list inbox {inbox}: {e}") from e
    for p in entries:
        if not p.is_file() or _ignored(p.name):
            continue
        try:
            mtime = p.stat().st_mtime
        except FileNotFoundError:
            continue  # moved away while we looked
        (waiting if now - mtime < settle_seconds else ready).append(p)
    return ready, waiting


def plan_inbox(
    inbox: Path, loaded_checksums: set[str], settle_seconds: float = 0.0, now: float | None = None
) -> InboxPlan:
    """Sort the inbox: files to load, unchanged files to skip, files to reject (their name matches no table)."""
    ready, waiting = pending_files(inbox, settle_seconds, now)
    plan = InboxPlan(waiting=waiting)
    seen: dict[str, str] = {}
    for p in ready:
        try:
            digest, size = sha256_file(p), p.stat().st_size
        except FileNotFoundError:
            continue
        except OSError as e:
            raise InboxError(f"cannot read inbox file {p}: {e}") from e
        f = InboxFile(p, digest, size, table_for_file(p.name))
        if digest in loaded_checksums:
            plan.skip.append((f, "unchanged: the same content (sha256) was already loaded"))
        elif digest in seen:
            plan.skip.append((f, f"unchanged: the same content as {seen[digest]} in this batch"))
        elif f.table is None:
            plan.reject.append(
                (
                    f,
                    f"file name matches no table: expected <table>[_<anything>]{{{','.join(FILE_EXTENSIONS)}}}"
                    f" with table one of {', '.join(TABLES)}",
                )
            )
        else:
            seen[digest] = p.name
            plan.load.append(f)
    return plan


def stage(files: list[InboxFile], staging: Path) -> Path:
    """Hard-link (or copy) the files to load into a private folder, so files arriving meanwhile are not half-read."""
    staging.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = staging / f.name
        try:
            os.link(f.path, target)
        except OSError:
            shutil.copy2(f.path, target)
    return staging


def _move(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        # Same checksum prefix and name on the same day: identical content already archived.
        src.unlink(missing_ok=True)
        return dest
    shutil.move(str(src), dest)
    return dest


def archive_file(f: InboxFile, archive: Path, day: str) -> Path:
    """Move a loaded or skipped file to `<archive>/<YYYY-MM-DD>/<sha256[:12]>-<name>`."""
    try:
        return _move(f.path, archive / day / f.archive_name)
    except OSError as e:
        raise InboxError(f"cannot archive {f.path} to {archive / day}: {e}") from e


def reject_file(f: InboxFile, archive: Path, reason: str) -> Path:
    """Move a rejected file to `<archive>/rejected/<sha256[:12]>-<name>` with its reason beside it (.reason.txt)."""
    try:
        dest = _move(f.path, archive / "rejected" / f.archive_name)
        dest.with_name(dest.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        return dest
    except OSError as e:
        raise InboxError(f"cannot move rejected file {f.path} to {archive / 'rejected'}: {e}") from e
