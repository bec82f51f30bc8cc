"""The version history of one weight profile as a view model: shared by `govindex weights history` and the page.

Every version (archived or current) with its date, author and content hash, which one is current and which one is
published, and the audit trail. The CLI prints it; the history page turns it into two grids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.stores.audit_trail import read_trail, trail_problem, trail_rows
from etl.stores.profiles import list_profiles, load_profile, load_profile_version, profile_versions, published_info
from indicators.profile import ProfileError


@dataclass(frozen=True)
class VersionRow:
    """One version of the profile; `error` says why it could not be read (then date, author and hash are None)."""

    version: int
    published: bool
    current: bool
    date: str | None = None
    author: str | None = None
    hash: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ProfileHistory:
    """Versions oldest first, the current and published version numbers, and the audit records oldest first."""

    name: str
    versions: tuple[VersionRow, ...]
    current: int | None
    published: int | None
    records: tuple[dict[str, Any], ...]
    problem: str | None = None  # why the audit trail fails its chain/head check; its records may be forged or cut off

    @property
    def numbers(self) -> list[int]:
        return [v.version for v in self.versions]

    def trail_rows(self) -> list[dict[str, Any]]:
        """The audit records as flat rows (changes joined), oldest first."""
        return trail_rows(list(self.records))


def profile_history(name: str, folder: Path | str) -> ProfileHistory:
    """The history of profile `name` in `folder`.

    Raises ProfileError when there is no such profile (current or archived), or its publication record is broken;
    AuditError when the audit trail cannot be read. An unreadable archived version is a row with `error`.
    """
    folder = Path(folder)
    names = list_profiles(folder)
    archived = profile_versions(name, folder)
    if name not in names and not archived:
        raise ProfileError(f"no profile {name!r} in {folder}; available: {', '.join(names)}")
    current = load_profile(name, folder).version if name in names else None
    pub = published_info(name, folder)
    published = int(pub["version"]) if pub else None
    numbers = sorted({*archived, *([current] if current is not None else [])})
    rows = []
    for v in numbers:
        try:
            p = load_profile_version(name, v, folder)
        except ProfileError as e:
            rows.append(VersionRow(v, v == published, v == current, error=str(e)))
            continue
        rows.append(VersionRow(v, v == published, v == current, p.date.isoformat(), p.author, p.content_hash()[:12]))
    return ProfileHistory(name, tuple(rows), current, published, tuple(read_trail(folder, name)),
                          trail_problem(folder))
