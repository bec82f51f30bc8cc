"""Which files under a folder the ingest reads: kept apart from the readers and the checks (polars, pyarrow, pandera)
so a refresh can list a source folder, to tell whether anything is new, without importing them."""

from __future__ import annotations

from pathlib import Path

from etl.contract.tables import FILE_EXTENSIONS
from etl.errors import SourceNotFoundError


def discover(source: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """Source files under a folder (recursively, hidden entries skipped) as (path, display name), and ignored names."""
    if not source.exists():
        raise SourceNotFoundError(f"source folder {source} does not exist")
    if source.is_file():
        return [(source, source.name)], []
    found: list[tuple[Path, str]] = []
    ignored: list[str] = []
    for p in sorted(source.rglob("*")):
        rel = p.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix.lower() in FILE_EXTENSIONS:
            found.append((p, rel.as_posix()))
        else:
            ignored.append(rel.as_posix())
    return found, ignored
