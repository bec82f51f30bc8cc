"""The last sensitivity result per profile, in a SQLite file beside the run history: a page reload or a server
restart shows it again instead of losing it (issue 14 finding 9).

One row per specification key (app.views.sensitivity_run.spec_key: data snapshot, profile, whole spec); the payload
is the result as JSON (written and read by the app's view module). `latest(profile)` is the newest for a profile.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

SENSITIVITY_FILE = "sensitivity.sqlite"
KEEP_PER_PROFILE = 8  # older results of a profile are dropped when a new one is saved

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sensitivity_results (
    key         TEXT PRIMARY KEY,
    profile     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sensitivity_profile ON sensitivity_results (profile, created_at);
"""


def store_path(runs_path: str | Path) -> Path:
    """The store's file: beside the run history."""
    return Path(runs_path).with_name(SENSITIVITY_FILE)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10)
    con.executescript(_SCHEMA)
    return con


def save(path: str | Path, key: str, profile: str, payload: str, now: datetime | None = None) -> None:
    """Store (or replace) the result of `key`; keep the newest KEEP_PER_PROFILE of the profile."""
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()
    with closing(_connect(Path(path))) as con, con:
        con.execute("INSERT OR REPLACE INTO sensitivity_results VALUES (?, ?, ?, ?)", (key, profile, created, payload))
        con.execute("DELETE FROM sensitivity_results WHERE profile = ? AND key NOT IN (SELECT key FROM "
                    "sensitivity_results WHERE profile = ? ORDER BY created_at DESC LIMIT ?)",
                    (profile, profile, KEEP_PER_PROFILE))


def load(path: str | Path, key: str) -> str | None:
    p = Path(path)
    if not p.exists():
        return None
    with closing(_connect(p)) as con:
        row = con.execute("SELECT payload FROM sensitivity_results WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def latest(path: str | Path, profile: str) -> tuple[str, str] | None:
    """(key, payload) of the profile's newest stored result, or None."""
    p = Path(path)
    if not p.exists():
        return None
    with closing(_connect(p)) as con:
        row = con.execute("SELECT key, payload FROM sensitivity_results WHERE profile = ? ORDER BY created_at DESC "
                          "LIMIT 1", (profile,)).fetchone()
    return (row[0], row[1]) if row else None
