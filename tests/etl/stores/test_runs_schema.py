"""The run history's schema version: an unversioned file of the previous release is stamped, a later one refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from etl.stores import runs
from etl.stores.runs import RunStore, RunStoreError


def _user_version(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("PRAGMA user_version").fetchone()[0])
    finally:
        con.close()


def test_a_previous_release_run_history_is_stamped_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)  # what the release before versions wrote: version 1's tables, user_version 0
    con.executescript(runs.MIGRATIONS[1])
    con.execute("INSERT INTO runs (trigger, status, started_at, pid, host, db_path) "
                "VALUES ('cron', 'succeeded', '2026-11-01T02:00:00+00:00', 1, 'old-host', '/srv/w.duckdb')")
    con.commit()
    con.close()
    assert _user_version(path) == 0
    store = RunStore(path)
    assert store.migrated == [1] and _user_version(path) == runs.SCHEMA_VERSION
    assert store.get(1).host == "old-host"
    assert RunStore(path).migrated == []  # the next open has nothing to do


def test_a_run_history_of_a_later_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {runs.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(RunStoreError, match="upgrade govindex"):
        RunStore(path)
