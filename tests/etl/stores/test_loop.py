"""The loop store file: WAL, schema version and migrations, append-only tables, the hash-chained change record and
the permissions every loop operation checks (etl/stores/loop.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from etl.config import load_config
from etl.stores import evidence, ledger, loop, targets
from etl.stores.loop import Actor, LoopError, LoopStore, may_comment, may_edit, may_see, may_set_targets

OFFICIAL = Actor("zhang", "district_official", "310104")
OTHER_OFFICIAL = Actor("wang", "district_official", "310115")
LEADER = Actor("li", "leader")
ASSESSOR = Actor("zhao", "assessor")
ADMIN = Actor("root", "admin")


def test_the_store_is_wal_versioned_and_beside_the_warehouse(tmp_path: Path) -> None:
    cfg = load_config(env={}, overrides={"db": str(tmp_path / "w" / "warehouse.duckdb")})
    store = LoopStore.for_config(cfg)
    assert store.path == tmp_path / "w" / "loop.sqlite" and store.evidence_dir == tmp_path / "w" / "evidence"
    assert store.migrated == [1]
    with store.connect() as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert loop.schema_version(con) == loop.SCHEMA_VERSION
    assert LoopStore(store.path).migrated == []


def test_a_store_of_a_later_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.sqlite"
    LoopStore(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {loop.SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LoopError, match="upgrade govindex") as e:
        LoopStore(path)
    assert "请升级" in e.value.message("zh")


@pytest.mark.parametrize("table", ["targets", "ledger_versions", "ledger_comments", "evidence", "events"])
def test_versioned_tables_refuse_update_and_delete(tmp_path: Path, table: str) -> None:
    store = LoopStore(tmp_path / "loop.sqlite")
    targets.set_target(store, ASSESSOR, "310104", "high_freq_full_online_rate", "2026", 90, "why")
    item = ledger.open_item(store, OFFICIAL, "310104", "high_freq_full_online_rate", problem="p", action="a",
                            owner="o", due_date="2999-01-01")
    ledger.add_comment(store, LEADER, item.item_id, "c")
    evidence.attach(store, OFFICIAL, item.item_id, "a.pdf", b"%PDF-1.4 x")
    with store.connect() as con:
        for sql in (f"UPDATE {table} SET who = 'x'", f"DELETE FROM {table}"):
            with pytest.raises(sqlite3.IntegrityError, match="never changed"):
                con.execute(sql)


def test_the_change_record_is_chained_and_tampering_is_found(tmp_path: Path) -> None:
    store = LoopStore(tmp_path / "loop.sqlite")
    for v in (80, 85, 90):
        targets.set_target(store, ASSESSOR, "310104", "high_freq_full_online_rate", "2026", v, f"step {v}")
    assert loop.verify_events(store) == 3
    con = sqlite3.connect(store.path)
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET who = 'someone else' WHERE seq = 2")
    con.commit()
    con.close()
    with pytest.raises(LoopError, match="entry 2"):
        loop.verify_events(store)


def test_permissions_come_from_the_role_table() -> None:
    assert may_edit(OFFICIAL, "310104") and not may_edit(OFFICIAL, "310115")
    assert not any(may_edit(a, "310104") for a in (LEADER, ASSESSOR, ADMIN, OTHER_OFFICIAL))
    assert may_see(LEADER, "310115") and may_see(OFFICIAL, "310104") and not may_see(OFFICIAL, "310115")
    assert may_comment(ASSESSOR, "310104") and may_comment(LEADER, "310104") and may_comment(OFFICIAL, "310104")
    assert not may_comment(OTHER_OFFICIAL, "310104")
    assert may_set_targets(ASSESSOR) and may_set_targets(LEADER) and not may_set_targets(OFFICIAL)


def test_every_message_has_both_languages_and_renders() -> None:
    for key, (zh, en) in loop.MESSAGES.items():
        assert zh.strip() and en.strip(), key
    e = LoopError("loop.err.due_past", due="2026-01-01", today="2026-03-01")
    assert "2026-01-01" in e.message("zh") and "before today" in e.message("en") and "未作任何更改" in str(e)
