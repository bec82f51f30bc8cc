"""Schema versions of the warehouse: an ordered registry of migrations (version → function) and the check on open.

Every warehouse records the migrations applied to it in its `schema_version` table (one row per version). A
writable connection (`etl.warehouse.connection.connect`) brings an older warehouse up to `CURRENT_VERSION`, each
migration in its own transaction together with its `schema_version` row, so a failure leaves the previous version
intact. Migrations are idempotent (CREATE … IF NOT EXISTS, ADD COLUMN IF NOT EXISTS): applying one to a warehouse
that already has its change is harmless.

A warehouse with no `schema_version` table predates versions (the release before it, commit cd17ae7): it counts as
version 0 and gets every migration. A read-only connection never migrates: it refuses an older warehouse that lacks
a change (the message says to run `govindex migrate`) and a newer one (written by a later govindex).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from etl.contract import tables
from etl.warehouse import ddl
from etl.warehouse.ddl import quote

VERSION_TABLE = "schema_version"


class SchemaVersionError(RuntimeError):
    """The warehouse's schema version does not match this govindex; the message says what to run."""


class SchemaTooOld(SchemaVersionError):
    """An older warehouse opened read-only: `govindex migrate` (or a refresh) brings it up to date."""


class SchemaTooNew(SchemaVersionError):
    """A warehouse written by a later govindex: this one must not read or change it."""


@dataclass(frozen=True)
class Migration:
    """One step: the version it brings a warehouse to, what it changes, and the function that does it."""

    version: int
    about: str
    apply: Callable[[Any], None]


def _baseline(con: Any) -> None:
    """Version 1: every raw table of the contract and the ingest bookkeeping tables (the release before versions)."""
    ddl.create(con, *tables.load_order(), *ddl.META_TABLES)


# Columns added since the baseline, as `ALTER TABLE … ADD COLUMN` specs (DuckDB cannot add a NOT NULL column).
_V2_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ingest_files", "rows_blank", "BIGINT DEFAULT 0"),
    ("quarantine", "resolved_by_file_id", "BIGINT"),
)


def _blank_rows_and_resubmissions(con: Any) -> None:
    """Version 2: ingest_files.rows_blank (blank rows skipped) and quarantine.resolved_by_file_id (fix-and-resubmit)."""
    for table, column, spec in _V2_COLUMNS:
        con.sql(f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(column)} {spec}")


# Version 3: every indicator value carries its n, 95% interval, SE, interval method and missing reason.
_V3_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("indicator_values", "n", "DOUBLE"),
    ("indicator_values", "ci_low", "DOUBLE"),
    ("indicator_values", "ci_high", "DOUBLE"),
    ("indicator_values", "se", "DOUBLE"),
    ("indicator_values", "interval_method", "VARCHAR"),
    ("indicator_values", "missing_reason", "VARCHAR"),
)


def _indicator_uncertainty(con: Any) -> None:
    """Version 3: indicator_values.n, ci_low, ci_high, se, interval_method, missing_reason (NULL until the next
    refresh recomputes the values; a warehouse without the table gets it from that refresh)."""
    if "indicator_values" not in _tables(con):
        return
    for table, column, spec in _V3_COLUMNS:
        con.sql(f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(column)} {spec}")


# Version 4: units are data — the unit table (`district`) names each unit's level, parent and peer group.
_V4_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("district", "level", "VARCHAR"),
    ("district", "parent_code", "VARCHAR"),
    ("district", "peer_group", "VARCHAR"),
)


def _unit_hierarchy(con: Any) -> None:
    """Version 4: district.level, parent_code, peer_group (empty for the units loaded before: a flat set)."""
    if "district" not in _tables(con):
        return
    for table, column, spec in _V4_COLUMNS:
        con.sql(f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(column)} {spec}")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw tables of the contract and the ingest bookkeeping tables", _baseline),
    Migration(2, "ingest_files.rows_blank, quarantine.resolved_by_file_id", _blank_rows_and_resubmissions),
    Migration(3, "indicator_values.n, ci_low, ci_high, se, interval_method, missing_reason", _indicator_uncertainty),
    Migration(4, "district.level, parent_code, peer_group (units as data)", _unit_hierarchy),
)
CURRENT_VERSION = MIGRATIONS[-1].version


def _tables(con: Any) -> set[str]:
    rows = con.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return {r[0] for r in rows}


def version(con: Any) -> int:
    """The schema version a warehouse records (0: no `schema_version` table, i.e. built before versions)."""
    if VERSION_TABLE not in _tables(con):
        return 0
    row = con.sql(f"SELECT max(version) FROM {quote(VERSION_TABLE)}").fetchall()
    return int(row[0][0]) if row and row[0][0] is not None else 0


def _too_new(found: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"数据仓库的结构版本为 {found}，高于本程序支持的 {CURRENT_VERSION}：请升级 govindex，或用 `govindex rollback` / "
        f"`govindex restore` 换回旧版本的数据 · the warehouse has schema version {found}, newer than the {CURRENT_VERSION} "
        "this govindex knows: it was written by a later release; upgrade govindex (or restore a backup made by "
        "this one)"
    )


def _missing_columns(con: Any) -> list[str]:
    """Columns of later versions missing from tables that exist (what an unversioned file would need)."""
    present = _tables(con)
    missing = []
    # (v3's indicator_values columns are not asked of an unversioned file: readers fill them with NULL when absent,
    # and a bare file a test or a tool wrote need not carry them)
    for table, column, _spec in _V2_COLUMNS:
        if table in present:
            cols = con.sql(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
                params=[table],
            ).fetchall()
            if column not in {c[0] for c in cols}:
                missing.append(f"{table}.{column}")
    return missing


def check(con: Any) -> int:
    """For a read-only connection: the version, or SchemaTooOld / SchemaTooNew saying what to do.

    An unversioned file is accepted when it lacks nothing later versions add (a bare file a test or a tool made);
    one that does is a previous release's warehouse and must be migrated first.
    """
    found = version(con)
    if found > CURRENT_VERSION:
        raise _too_new(found)
    stale = 0 < found < CURRENT_VERSION or (found == 0 and _missing_columns(con))
    if stale:
        raise SchemaTooOld(
            f"数据仓库的结构版本为 {found}，本程序需要 {CURRENT_VERSION}：请先运行 `govindex migrate`（或一次 `govindex "
            f"refresh`） · the warehouse has schema version {found}; this govindex needs {CURRENT_VERSION}: run "
            "`govindex migrate` (or a refresh) first"
        )
    return found


def migrate(con: Any, *, now: datetime | None = None) -> list[int]:
    """Apply the pending migrations in order, each in a transaction with its `schema_version` row; return the versions
    applied (empty when up to date). Raises SchemaTooNew for a warehouse of a later release."""
    found = version(con)
    if found > CURRENT_VERSION:
        raise _too_new(found)
    applied: list[int] = []
    for m in MIGRATIONS:
        if m.version <= found:
            continue
        con.sql("BEGIN TRANSACTION")
        try:
            ddl.create(con, VERSION_TABLE)
            m.apply(con)
            con.sql(
                f"INSERT INTO {quote(VERSION_TABLE)} VALUES (?, ?, ?)",
                params=[m.version, now or datetime.now(timezone.utc), m.about],
            )
        except BaseException:
            con.sql("ROLLBACK")
            raise
        con.sql("COMMIT")
        applied.append(m.version)
    return applied


def history(con: Any) -> list[tuple[int, datetime, str]]:
    """(version, applied_at, about) of every migration applied, oldest first ([] for an unversioned file)."""
    if VERSION_TABLE not in _tables(con):
        return []
    rows = con.sql(f"SELECT version, applied_at, about FROM {quote(VERSION_TABLE)} ORDER BY version").fetchall()
    return [(int(v), at, str(about)) for v, at, about in rows]
