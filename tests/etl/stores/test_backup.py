"""Backup and restore: a backup restored into an empty folder gives the same pages and the same audit chain."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from polars.testing import assert_frame_equal

from app.cli import main
from app.state import AppContext
from app.views import frames as views
from etl.config import Config, load_config
from etl.jobs.snapshots import refresh_lock
from etl.stores import alerts, audit_trail, backup as backups, evidence, ledger, loop, runs, targets, users
from etl.stores.profiles import load_profile, publish_profile, save_profile
from etl.stores.runs import list_runs
from etl.stores.users import add_user, load_users
from etl.warehouse import migrations


def _config(root: Path) -> Config:
    return load_config(env={}, overrides={
        "db": str(root / "warehouse.duckdb"), "weights_dir": str(root / "weights"), "archive": str(root / "archive"),
        "inbox": str(root / "inbox"), "rank_samples": 0,
    })


@pytest.fixture()
def state(demo_env: dict[str, Path], tmp_path: Path) -> Config:
    """Every kind of state: a demo warehouse and its run history, a saved and published profile with its audit trail,
    a user, an archived inbox file, and a store added later beside the warehouse (found generically)."""
    root = tmp_path / "live"
    root.mkdir()
    for name in ("warehouse.duckdb", "runs.sqlite"):
        shutil.copy2(demo_env["db"].with_name(name), root / name)
    config = _config(root)
    profile = load_profile("equal")
    saved = save_profile(profile.model_copy(update={"title_en": "Equal, saved"}), root / "weights", who="ops",
                         rationale="a saved version")
    publish_profile("equal", saved.version, "ops", "leaders see this one", root / "weights")
    add_user(config.users_path, "zhang-san", "assessor", "a long password 123")
    (root / "archive" / "2026-11-01").mkdir(parents=True)
    (root / "archive" / "2026-11-01" / "case_310101.csv").write_text("case_id\nC1\n", encoding="utf-8")
    con = sqlite3.connect(root / "editions.sqlite")  # e.g. a store a later release adds beside the warehouse
    con.execute("CREATE TABLE editions (id INTEGER, title TEXT)")
    con.execute("INSERT INTO editions VALUES (1, '2026年第三季度')")
    con.commit()
    con.close()
    return config


def _pages(config: Config) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    ctx = AppContext.create(config)
    ov = views.overview(ctx, "user-centred", "zh")
    code = ov.table["unit_code"][0]
    dp = views.district_profile(ctx, code, "user-centred", "zh")
    return ov.table, dp.indicators, dp.dimensions


@pytest.mark.slow
def test_a_backup_restored_into_an_empty_folder_gives_the_same_pages_and_audit_chain(
        state: Config, tmp_path: Path) -> None:
    manifest = backups.backup(state, tmp_path / "bk")
    sections = {e.section for e in manifest.files}
    assert sections == {"warehouse", "runs", "users", "weights", "archive", "data"}
    assert manifest.schema_versions == {"warehouse": migrations.CURRENT_VERSION, "runs": runs.SCHEMA_VERSION,
                                        "users": users.SCHEMA_VERSION, "audit_trail": audit_trail.SCHEMA_VERSION}
    on_disk = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    assert {f["path"] for f in on_disk["files"]} >= {"data/editions.sqlite", "weights/history/audit.head.json"}

    done = backups.restore(tmp_path / "bk", state, into=tmp_path / "empty")
    restored = done.config
    assert restored.paths.db == tmp_path / "empty" / "warehouse.duckdb" and not done.moved_aside
    for a, b in zip(_pages(state), _pages(restored), strict=True):
        assert_frame_equal(a, b)
    weights_a, weights_b = state.paths.weights_dir, restored.paths.weights_dir
    assert audit_trail.verify_trail(weights_b) == audit_trail.verify_trail(weights_a) == 2
    assert audit_trail.head_path(weights_b).read_bytes() == audit_trail.head_path(weights_a).read_bytes()
    assert load_users(restored.users_path) == load_users(state.users_path)
    assert_frame_equal(list_runs(restored), list_runs(state))
    assert (tmp_path / "empty" / "archive" / "2026-11-01" / "case_310101.csv").read_text() == "case_id\nC1\n"
    con = sqlite3.connect(tmp_path / "empty" / "editions.sqlite")
    assert con.execute("SELECT title FROM editions").fetchall() == [("2026年第三季度",)]
    con.close()


def test_restore_verifies_checksums_and_never_overwrites_without_force(fixture_db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy2(fixture_db, live / "warehouse.duckdb")
    config = _config(live)
    add_user(config.users_path, "li-si", "assessor", "another long password")
    backups.backup(config, tmp_path / "bk")

    with pytest.raises(backups.BackupError, match="refusing to overwrite existing state"):
        backups.restore(tmp_path / "bk", config)  # the live state is still there
    users = tmp_path / "bk" / "users" / "users.toml"
    good = users.read_bytes()
    users.write_bytes(good.replace(b"assessor", b"admin"))  # tampered with
    with pytest.raises(backups.BackupError, match="users/users.toml: checksum does not match"):
        backups.restore(tmp_path / "bk", config, into=tmp_path / "other")
    assert not (tmp_path / "other" / "warehouse.duckdb").exists()  # nothing written before the check
    users.write_bytes(good)
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    future = {**manifest, "schema_versions": {**manifest["schema_versions"], "runs": runs.SCHEMA_VERSION + 1}}
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(future), encoding="utf-8")
    with pytest.raises(backups.BackupError, match="made by a later govindex"):
        backups.restore(tmp_path / "bk", config, into=tmp_path / "other")
    assert not (tmp_path / "other" / "warehouse.duckdb").exists()
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    before = (live / "warehouse.duckdb").stat().st_ino
    done = backups.restore(tmp_path / "bk", config, force=True)
    assert (live / "warehouse.duckdb").stat().st_ino != before  # swapped in by rename
    assert {p.name.split(".before-restore-")[0] for p in done.moved_aside} == {"warehouse.duckdb", "users.toml"}
    assert all(p.exists() for p in done.moved_aside)  # moved aside, never deleted
    assert "li-si" in load_users(config.users_path)


def test_backup_while_a_refresh_holds_the_lock_refuses_or_waits(fixture_db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy2(fixture_db, live / "warehouse.duckdb")
    config = _config(live)
    lock = refresh_lock(live / "warehouse.duckdb").acquire()
    try:
        with pytest.raises(backups.BackupBusy, match="a refresh is running"):
            backups.backup(config, tmp_path / "refused")
        assert not (tmp_path / "refused").exists()
        r = CliRunner().invoke(main, ["backup", str(tmp_path / "refused"), "--db", str(live / "warehouse.duckdb")])
        assert r.exit_code == 1 and "a refresh is running" in r.output
        threading.Timer(0.5, lock.release).start()  # the refresh finishes while the backup waits
        manifest = backups.backup(config, tmp_path / "waited", wait_seconds=30)
    finally:
        lock.release()
    assert manifest.files and backups.verify(tmp_path / "waited").files == manifest.files


def test_backup_refuses_a_non_empty_destination(fixture_db: Path, tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "x").write_text("x")
    with pytest.raises(backups.BackupError, match="exists and is not empty"):
        backups.backup(_config(tmp_path), tmp_path / "dest")


def test_a_warehouse_written_during_the_copy_is_copied_again(fixture_db: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer outside the refresh lock (`govindex score`) touching the file mid-copy must not leave a torn copy."""
    live = tmp_path / "live"
    live.mkdir()
    db = live / "warehouse.duckdb"
    shutil.copy2(fixture_db, db)
    real_copy = shutil.copy2
    copies: list[Path] = []

    def copy_while_written(src: Path, dst: Path) -> object:
        if Path(src) == db.resolve() or Path(src) == db:
            copies.append(Path(src))
            if len(copies) == 1 or always:
                os.utime(db, ns=(time.time_ns(), time.time_ns() + len(copies)))  # a write lands meanwhile
        return real_copy(src, dst)

    monkeypatch.setattr(backups.shutil, "copy2", copy_while_written)
    monkeypatch.setattr(backups.time, "sleep", lambda s: None)
    always = False
    backups.backup(_config(live), tmp_path / "bk")
    assert len(copies) == 2
    always = True
    with pytest.raises(backups.BackupError, match="kept changing"):
        backups.backup(_config(live), tmp_path / "bk2")
    assert not (tmp_path / "bk2").exists() and not (tmp_path / "bk2.partial").exists()


def test_restore_refuses_a_manifest_naming_files_outside_their_section(fixture_db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy2(fixture_db, live / "warehouse.duckdb")
    config = _config(live)
    save_profile(load_profile("equal").model_copy(update={"title_en": "x"}), config.paths.weights_dir, who="ops",
                 rationale="why")
    backups.backup(config, tmp_path / "bk")
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["section"] == "weights")
    (tmp_path / "bk" / "evil.txt").write_bytes((tmp_path / "bk" / entry["path"]).read_bytes())
    entry["path"] = "weights/../evil.txt"  # inside the backup, but would land outside the weights folder
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(backups.BackupError, match="outside its section"):
        backups.restore(tmp_path / "bk", config, into=tmp_path / "into")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "into" / "evil.txt").exists()


def test_the_loop_store_and_its_evidence_go_through_backup_and_restore(fixture_db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy2(fixture_db, live / "warehouse.duckdb")
    config = _config(live)
    store = loop.LoopStore.for_config(config)
    official, leader = loop.Actor("zhang", "district_official", "310104"), loop.Actor("li", "leader")
    when = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    targets.set_target(store, leader, "310104", "high_freq_full_online_rate", "2026", 90, "区情", now=when)
    item = ledger.open_item(store, official, "310104", "high_freq_full_online_rate", problem="p", action="a",
                            owner="o", due_date="2026-04-01", now=when)
    ref = evidence.attach(store, official, item.item_id, "方案.pdf", b"%PDF-1.4 evidence", now=when)
    [alert] = alerts.record(store, [alerts.AlertDraft("overdue", "k", "310104", item_id=item.item_id)], now=when)
    alerts.mark_read(store, leader, [alert.alert_id], now=when)

    manifest = backups.backup(config, tmp_path / "bk")
    assert {"loop", "evidence"} <= {e.section for e in manifest.files}
    assert manifest.schema_versions["loop"] == loop.SCHEMA_VERSION
    assert not any(e.section == "data" and "loop" in e.path for e in manifest.files)  # not also found generically

    done = backups.restore(tmp_path / "bk", config, into=tmp_path / "empty")
    back = loop.LoopStore.for_config(done.config)
    assert back.path == tmp_path / "empty" / "loop.sqlite" and back.evidence_dir == tmp_path / "empty" / "evidence"
    assert loop.verify_events(back) == loop.verify_events(store) == 4  # target, item, evidence, alert
    assert ledger.get_item(back, leader, item.item_id, now=when) == ledger.get_item(store, leader, item.item_id,
                                                                                    now=when)
    assert evidence.read(back, leader, ref.evidence_id) == (ref, b"%PDF-1.4 evidence")
    assert [a.read for a in alerts.list_alerts(back, leader)] == [True]
    assert targets.current_targets(back) == targets.current_targets(store)

    with pytest.raises(backups.BackupError, match="refusing to overwrite"):
        backups.restore(tmp_path / "bk", config)
    moved = backups.restore(tmp_path / "bk", config, force=True).moved_aside
    assert {p.name.split(".before-restore-")[0] for p in moved} >= {"loop.sqlite", "evidence"}
    assert evidence.read(loop.LoopStore.for_config(config), leader, ref.evidence_id)[1] == b"%PDF-1.4 evidence"
