"""Warehouse schema versions: the previous release's warehouse is migrated and readable, a later one is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from app.cli import main
from etl.jobs.snapshots import list_snapshots
from etl.warehouse import connection as warehouse, migrations
from etl.warehouse.snapshot import DataUnavailable, SnapshotCache, load_snapshot

PREVIOUS_RELEASE = Path(__file__).resolve().parents[2] / "fixtures" / "warehouse_cd17ae7" / "warehouse.sql"


@pytest.fixture()
def old_db(tmp_path: Path) -> Path:
    """A warehouse built by the DDL of the release before schema versions (commit cd17ae7), with a few rows."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(PREVIOUS_RELEASE.read_text(encoding="utf-8"))
    con.close()
    return path


def _columns(con: warehouse.Connection, table: str) -> set[str]:
    rows = con.sql("SELECT column_name FROM information_schema.columns WHERE table_name = ?", params=[table])
    return {r[0] for r in rows.fetchall()}


def _columns_untouched(db: Path, table: str) -> set[str]:
    """A table's columns read without migrating (a read-only open of the old file)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return _columns(con, table)
    finally:
        con.close()


def test_the_fixture_is_the_previous_release_schema(old_db: Path) -> None:
    con = duckdb.connect(str(old_db), read_only=True)
    try:
        assert "schema_version" not in {r[0] for r in con.sql("SHOW TABLES").fetchall()}
        assert "rows_blank" not in _columns(con, "ingest_files")
        assert "resolved_by_file_id" not in _columns(con, "quarantine")
    finally:
        con.close()


def test_a_reader_refuses_the_old_warehouse_and_names_the_command(old_db: Path) -> None:
    with pytest.raises(warehouse.SchemaMismatch, match="govindex migrate"):
        load_snapshot(old_db)


def test_the_app_says_what_to_run_instead_of_failing(old_db: Path) -> None:
    with pytest.raises(DataUnavailable, match="govindex migrate"):
        SnapshotCache(old_db).get()  # the pages catch DataUnavailable and show its message


def test_opening_the_previous_release_warehouse_migrates_it_and_the_data_stay_readable(old_db: Path) -> None:
    with warehouse.connection(old_db) as con:  # a writable open (what a refresh or `govindex migrate` does)
        assert migrations.version(con) == migrations.CURRENT_VERSION
        assert [v for v, _at, _about in migrations.history(con)] == [m.version for m in migrations.MIGRATIONS]
        assert {"rows_blank"} <= _columns(con, "ingest_files")
        assert {"resolved_by_file_id"} <= _columns(con, "quarantine")
        assert warehouse.scalar(con, "SELECT rows_blank FROM ingest_files") == 0  # the added column's default
    snap = load_snapshot(old_db)  # now a reader accepts it
    assert snap.values.height == 6 and snap.districts.height == 3
    assert snap.quarantine_total == 1 and snap.snapshot_id == "20261101T020000Z-r1"
    assert snap.periods == ["2026Q3"]


def test_migrations_are_idempotent(old_db: Path) -> None:
    with warehouse.connection(old_db) as con:
        for m in migrations.MIGRATIONS:  # each applied again onto a warehouse that has it
            m.apply(con)
        assert migrations.migrate(con) == []
        assert warehouse.scalar(con, "SELECT count(*) FROM schema_version") == len(migrations.MIGRATIONS)


def test_a_failing_migration_leaves_the_previous_version(old_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(con: warehouse.Connection) -> None:
        con.sql('ALTER TABLE "district" ADD COLUMN "half_done" BIGINT')
        raise RuntimeError("disk full")

    failing = (*migrations.MIGRATIONS, migrations.Migration(migrations.CURRENT_VERSION + 1, "broken", broken))
    with warehouse.connection(old_db) as con:
        pass  # bring it to the current version first
    monkeypatch.setattr(migrations, "MIGRATIONS", failing)
    monkeypatch.setattr(migrations, "CURRENT_VERSION", migrations.CURRENT_VERSION + 1)
    con = warehouse.connect(old_db, create=False)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            migrations.migrate(con)
        assert migrations.version(con) == migrations.CURRENT_VERSION - 1
        assert "half_done" not in _columns(con, "district")
    finally:
        con.close()


def test_a_warehouse_of_a_later_release_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "future.duckdb"
    with warehouse.connection(db) as con:
        warehouse.execute(con, "INSERT INTO schema_version VALUES (?, now(), 'from the future')",
                          [migrations.CURRENT_VERSION + 1])
    for read_only in (True, False):
        with pytest.raises(warehouse.SchemaMismatch, match="upgrade govindex"):
            warehouse.connect(db, read_only=read_only)


def test_a_new_warehouse_starts_at_the_current_version(tmp_path: Path) -> None:
    with warehouse.connection(tmp_path / "new.duckdb") as con:
        assert migrations.version(con) == migrations.CURRENT_VERSION


def test_govindex_migrate_swaps_in_a_migrated_copy_and_keeps_the_old_file(old_db: Path, tmp_path: Path) -> None:
    before = old_db.read_bytes()
    r = CliRunner().invoke(main, ["migrate", "--db", str(old_db)])
    assert r.exit_code == 0, r.output
    assert f"migrated from schema v0 to v{migrations.CURRENT_VERSION}" in r.output
    assert load_snapshot(old_db).values.height == 6
    kept = list_snapshots(old_db)
    assert len(kept) == 1 and kept[0].id.startswith("before-migrate-v0")
    assert kept[0].path.read_bytes() == before  # `govindex rollback` can undo the migration
    r = CliRunner().invoke(main, ["migrate", "--db", str(old_db)])
    assert r.exit_code == 0 and "up to date" in r.output
    shutil.rmtree(tmp_path / "warehouse.duckdb.snapshots")


def test_version_3_gives_indicator_values_their_n_interval_and_missing_reason(old_db: Path, tmp_path: Path) -> None:
    """The previous release's indicator_values lack n, ci_low, ci_high, se, interval_method and missing_reason:
    a reader refuses the file (it names `govindex migrate`), a writable open adds them (NULL until the next refresh
    recomputes the values), and a warehouse without indicator_values is left for the refresh to create it."""
    added = {"n", "ci_low", "ci_high", "se", "interval_method", "missing_reason"}
    con = duckdb.connect(str(old_db), read_only=True)
    try:
        assert not added & _columns(con, "indicator_values")
    finally:
        con.close()
    with pytest.raises(warehouse.SchemaMismatch, match="govindex migrate"):
        warehouse.connect(old_db, read_only=True)
    with warehouse.connection(old_db) as con:
        assert added <= _columns(con, "indicator_values")
        assert warehouse.scalar(con, "SELECT count(*) FROM indicator_values WHERE se IS NULL") == 6
        assert 3 in [v for v, _at, _about in migrations.history(con)]
    bare = tmp_path / "bare.duckdb"
    c = duckdb.connect(str(bare))
    c.close()
    with warehouse.connection(bare) as con:
        assert migrations.version(con) == migrations.CURRENT_VERSION


def test_version_4_adds_the_contracts_nullable_columns_and_drops_not_null_where_now_optional(old_db: Path) -> None:
    """The previous release's rating table lacks the GB/T 39734 sub-dimensions and the invitation, and holds the
    legacy prompted / prompt_source as NOT NULL: a writable open adds the columns (NULL for the old rows) and lets
    the legacy ones be empty, so an export without them loads into an old warehouse too."""
    from etl.contract import tables

    new = {*tables.ONLINE_SUBDIMENSIONS, *tables.OFFLINE_SUBDIMENSIONS, "invited_at", "invite_channel"}
    assert not new & _columns_untouched(old_db, "rating")
    with warehouse.connection(old_db) as con:
        assert new <= _columns(con, "rating")
        nullable = dict(con.sql("SELECT column_name, is_nullable FROM information_schema.columns "
                                "WHERE table_name = 'rating'").fetchall())
        assert nullable["prompted"] == nullable["prompt_source"] == "YES"
        assert nullable["rating_id"] == "NO"
        con.sql("INSERT INTO rating (rating_id, case_id, channel, rated_at, level) "
                "VALUES ('rx', 'cx', 'app', TIMESTAMP '2026-01-01 10:00:00', 5)")


def test_version_4_adds_the_contract_columns_older_raw_tables_lack(old_db: Path) -> None:
    """Issue 18: the previous release's raw tables lack service_item.catalogue_code, case.applicant_district_code,
    hotline_ticket.first_response_at and .reopened; a writable open adds them (NULL for the old rows, so the
    indicators built on them are missing with reason 'not_recorded', never zero) and keeps the rows."""
    added = {"service_item": {"catalogue_code"}, "case": {"applicant_district_code"},
             "hotline_ticket": {"first_response_at", "reopened"}}
    con = duckdb.connect(str(old_db), read_only=True)
    try:
        before = {t: _columns(con, t) for t in added}
        rows = {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in added}
    finally:
        con.close()
    assert all(not cols & before[t] for t, cols in added.items())
    with warehouse.connection(old_db) as con:
        for t, cols in added.items():
            assert cols <= _columns(con, t), t
            assert warehouse.scalar(con, f'SELECT count(*) FROM "{t}"') == rows[t]
            for c in cols:
                assert warehouse.scalar(con, f'SELECT count({c}) FROM "{t}"') == 0
        assert 4 in [v for v, _at, _about in migrations.history(con)]


def test_version_4_gives_the_unit_table_levels_parents_and_peer_groups(old_db: Path) -> None:
    """A previous release's `district` table lacks level, parent_code and peer_group: a writable open adds them,
    empty (a flat set of units), and the units read back with their names."""
    from etl.warehouse.units import read_units

    added = {"level", "parent_code", "peer_group"}
    assert not added & _columns_untouched(old_db, "district")
    with warehouse.connection(old_db) as con:
        assert added <= _columns(con, "district")
        units = read_units(con)
    assert len(units) == 3 and all(u.parent_code is None and u.peer_group is None for u in units)
    assert units.children(None) == units.codes
