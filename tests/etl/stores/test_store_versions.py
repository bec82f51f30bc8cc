"""Schema versions of the stores beside the warehouse (run history, users file, audit trail): files of the previous
release are read (and stamped), files of a later release are refused with a message saying to upgrade."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from etl.stores import audit_trail, runs, users
from etl.stores.profiles import load_profile, save_profile
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
    assert store.migrated == [1, 2] and _user_version(path) == runs.SCHEMA_VERSION
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


def test_the_users_file_carries_its_version_and_a_later_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    users.add_user(path, "wang-wu", "leader", "a long password 123")
    text = path.read_text(encoding="utf-8")
    assert f"schema_version = {users.SCHEMA_VERSION}" in text
    old = "\n".join(line for line in text.splitlines() if not line.startswith("schema_version"))
    path.write_text(old, encoding="utf-8")  # as the release before versions wrote it
    assert set(users.load_users(path)) == {"wang-wu"}
    path.write_text(f"schema_version = {users.SCHEMA_VERSION + 1}\n" + old, encoding="utf-8")
    with pytest.raises(users.UserError, match="upgrade govindex"):
        users.load_users(path)


def test_the_audit_trail_head_carries_its_version_and_a_later_one_is_refused(tmp_path: Path) -> None:
    wdir = tmp_path / "weights"
    profile = load_profile("equal")
    save_profile(profile.model_copy(update={"title_en": "Equal, saved"}), wdir, who="ops", rationale="why")
    head = audit_trail.head_path(wdir)
    data = json.loads(head.read_text(encoding="utf-8"))
    assert data["schema"] == audit_trail.SCHEMA_VERSION
    del data["schema"]  # a head of the release before versions
    head.write_text(json.dumps(data), encoding="utf-8")
    assert audit_trail.verify_trail(wdir) == 1
    head.write_text(json.dumps({**data, "schema": audit_trail.SCHEMA_VERSION + 1}), encoding="utf-8")
    with pytest.raises(audit_trail.AuditError, match="upgrade govindex"):
        audit_trail.verify_trail(wdir)
    assert "upgrade govindex" in (audit_trail.trail_problem(wdir) or "")
