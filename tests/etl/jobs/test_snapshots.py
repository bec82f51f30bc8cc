"""Previous snapshots kept by the refresh, and rollback: the previous data go live and the app picks them up."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from etl.config import Config, load_config
from etl.jobs import snapshots
from etl.jobs.refresh import RefreshContext, refresh
from etl.stores.runs import RunStore
from etl.warehouse import connection as warehouse
from etl.warehouse.snapshot import SnapshotCache


def _config(tmp_path: Path, keep: int) -> Config:
    return load_config(env={}, overrides={
        "db": str(tmp_path / "warehouse.duckdb"), "weights_dir": str(tmp_path / "weights"),
        "archive": str(tmp_path / "archive"), "inbox": str(tmp_path / "inbox"), "keep_snapshots": keep,
    })


def _bump(ctx: RefreshContext) -> str:
    """A refresh step that changes the data: every value + 1 (so each snapshot's data differ)."""
    warehouse.execute(ctx.connection, "UPDATE indicator_values SET value = value + 1")
    return "bumped"


def _total(db: Path) -> float:
    with warehouse.connection(db, read_only=True) as con:
        return float(warehouse.scalar(con, "SELECT sum(value) FROM indicator_values"))


def _refreshes(config: Config, tmp_path: Path, n: int) -> list[Any]:
    source = tmp_path / "empty-source"
    source.mkdir(exist_ok=True)
    records = [refresh(config, "cli", source, steps=[_bump]) for _ in range(n)]
    assert all(r.status == "succeeded" for r in records), [r.error for r in records]
    return records


@pytest.fixture()
def live(fixture_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(fixture_db, db)
    return db


def test_the_refresh_keeps_the_last_n_snapshots(live: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, keep=2)
    records = _refreshes(config, tmp_path, 4)
    kept = snapshots.list_snapshots(live)
    # the outgoing live file of each refresh, newest first; the oldest two were pruned
    assert [s.id for s in kept] == [records[2].snapshot_id, records[1].snapshot_id]
    assert snapshots.live_snapshot_id(live) == records[3].snapshot_id


def test_keep_snapshots_zero_keeps_none(live: Path, tmp_path: Path) -> None:
    _refreshes(_config(tmp_path, keep=0), tmp_path, 2)
    assert snapshots.list_snapshots(live) == []


def test_rollback_restores_the_previous_data_and_the_app_picks_it_up(live: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, keep=3)
    base = _total(live)
    records = _refreshes(config, tmp_path, 2)
    cache = SnapshotCache(live)
    assert cache.get().snapshot_id == records[1].snapshot_id
    n_values = cache.get().values.height
    assert _total(live) == pytest.approx(base + 2 * n_values)

    done = snapshots.rollback(config)
    assert (done.from_id, done.to_id) == (records[1].snapshot_id, records[0].snapshot_id)
    assert _total(live) == pytest.approx(base + n_values)  # the previous snapshot's data
    snap = cache.get()  # the cache notices the new inode and reloads
    assert snap.snapshot_id == records[0].snapshot_id and cache.reloads == 2
    assert float(snap.values["value"].sum()) == pytest.approx(base + n_values)
    run = RunStore(config.paths.runs_path).get(done.run.id)  # recorded in the run history
    assert run.status == "succeeded" and run.snapshot_id == records[0].snapshot_id
    assert run.source == f"rollback to snapshot {records[0].snapshot_id}"
    assert records[1].snapshot_id in {s.id for s in snapshots.list_snapshots(live)}  # kept: it can be undone

    done = snapshots.rollback(config, records[1].snapshot_id)  # undo
    assert _total(live) == pytest.approx(base + 2 * n_values) and cache.get().snapshot_id == records[1].snapshot_id


def test_rollback_by_the_command_line_and_unknown_ids(live: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, keep=3)
    records = _refreshes(config, tmp_path, 2)
    r = CliRunner().invoke(main, ["snapshots", "--db", str(live)])
    assert r.exit_code == 0 and records[0].snapshot_id in r.output and records[1].snapshot_id in r.output
    r = CliRunner().invoke(main, ["rollback", "--db", str(live), "--to", "no-such-snapshot"])
    assert r.exit_code == 1 and "no kept snapshot 'no-such-snapshot'" in r.output
    r = CliRunner().invoke(main, ["rollback", "--db", str(live), "--to", records[0].snapshot_id])
    assert r.exit_code == 0, r.output
    assert snapshots.live_snapshot_id(live) == records[0].snapshot_id


def test_rollback_refuses_while_a_refresh_holds_the_lock(live: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, keep=3)
    _refreshes(config, tmp_path, 1)
    before = live.stat().st_ino
    lock = snapshots.refresh_lock(live).acquire()
    try:
        with pytest.raises(snapshots.RollbackBusy, match="another refresh is running"):
            snapshots.rollback(config)
    finally:
        lock.release()
    assert live.stat().st_ino == before


def test_nothing_to_roll_back_to(live: Path, tmp_path: Path) -> None:
    with pytest.raises(snapshots.SnapshotError, match="no snapshot older than the live one"):
        snapshots.rollback(_config(tmp_path, keep=3))
