"""The SQLite stores beside the warehouse (run history, loop store) open their files one way and bring their schema
up to date one way.

- `open_wal(path, on_error)`: a connection in autocommit mode with WAL, synchronous=NORMAL, foreign keys on and
  rows by name; `on_error(sqlite3.Error)` builds the store's own exception when the file cannot be opened.
- `migrate(con, migrations, newer=..., failed=...)`: applies the pending scripts of `migrations` (version → script)
  after the file's `PRAGMA user_version`, each in one transaction with its version; `newer(found, supported)` is
  raised for a file of a later release, `failed(version, error)` when a script fails (rolled back).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def open_wal(path: str | os.PathLike[str], on_error: Callable[[sqlite3.Error], Exception]) -> Iterator[sqlite3.Connection]:
    try:
        con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    except sqlite3.Error as e:
        raise on_error(e) from e
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA foreign_keys=ON")
        yield con
    finally:
        con.close()


def schema_version(con: sqlite3.Connection) -> int:
    """The file's schema version (`PRAGMA user_version`; 0: never stamped)."""
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def migrate(con: sqlite3.Connection, migrations: Mapping[int, str], *, newer: Callable[[int, int], Exception],
            failed: Callable[[int, sqlite3.Error], Exception]) -> list[int]:
    """Apply the pending migrations in order; return the versions applied (see the module docstring)."""
    found, supported = schema_version(con), max(migrations)
    if found > supported:
        raise newer(found, supported)
    applied = []
    for version in sorted(v for v in migrations if v > found):
        try:
            con.executescript(f"BEGIN IMMEDIATE;\n{migrations[version]}\nPRAGMA user_version = {int(version)};\nCOMMIT;")
        except sqlite3.Error as e:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise failed(version, e) from e
        applied.append(version)
    return applied
