"""Every table of the DuckDB warehouse, in one registry: raw tables (from the contract) and the tables jobs write.

Modules create tables only through here (`create(con, name)`, or `create_statement(name)`); tests check that no
other module carries a CREATE TABLE statement and that every table in a refreshed warehouse is registered. Changes
to tables that existing warehouses already have are versioned migrations in etl.warehouse.migrations. The run
history (etl.stores.runs) is a separate SQLite file and keeps its own schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etl.contract import tables

SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}


class DDLError(KeyError):
    """A table name that is not in the registry."""


@dataclass(frozen=True)
class TableDef:
    """One table: its name, its columns as SQL (name type [NOT NULL]), which module writes it, and what it holds."""

    name: str
    columns: tuple[str, ...]
    writer: str
    about: str

    def statement(self) -> str:
        """CREATE TABLE IF NOT EXISTS for this table (identifiers quoted)."""
        cols = ",\n    ".join(self.columns)
        return f"CREATE TABLE IF NOT EXISTS {quote(self.name)} (\n    {cols}\n)"


def quote(identifier: str) -> str:
    """A DuckDB-quoted identifier (`case` is a keyword; quote every table and column name)."""
    return '"' + identifier.replace('"', '""') + '"'


def _cols(spec: str) -> tuple[str, ...]:
    """'a VARCHAR NOT NULL, b DOUBLE' -> ('"a" VARCHAR NOT NULL', '"b" DOUBLE')."""
    out = []
    for part in spec.split(","):
        name, _, rest = part.strip().partition(" ")
        out.append(f"{quote(name)} {rest.strip()}")
    return tuple(out)


def _raw(table: tables.Table) -> TableDef:
    cols = tuple(
        f"{quote(c.name)} {SQL_TYPES[c.dtype]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
    )
    return TableDef(table.name, cols, "etl.ingest.files", f"raw table of the contract ({table.name})")


# Bookkeeping and job tables. Column names avoid SQL keywords (table/column/check) so ad-hoc queries stay easy.
_JOB_TABLES: tuple[TableDef, ...] = (
    TableDef("ingest_batches", _cols(
        "batch_id BIGINT NOT NULL, source VARCHAR, load_time TIMESTAMP NOT NULL, started_at TIMESTAMP NOT NULL,"
        " finished_at TIMESTAMP, files_n BIGINT, rows_in BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,"
        " rows_duplicate BIGINT, status VARCHAR"
    ), "etl.ingest.files", "one row per ingest run"),
    TableDef("ingest_files", _cols(
        "file_id BIGINT NOT NULL, batch_id BIGINT NOT NULL, path VARCHAR NOT NULL, file_name VARCHAR NOT NULL,"
        " table_name VARCHAR, sha256 VARCHAR NOT NULL, size_bytes BIGINT, rows_in BIGINT NOT NULL,"
        " rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL, rows_duplicate BIGINT NOT NULL,"
        " rows_superseded BIGINT NOT NULL, encoding VARCHAR, status VARCHAR NOT NULL, message VARCHAR,"
        " started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL, rows_blank BIGINT NOT NULL DEFAULT 0"
    ), "etl.ingest.files", "per-file accounting of every ingest (in = loaded + quarantined + duplicate + blank)"),
    TableDef("quarantine", _cols(
        "file_id BIGINT NOT NULL, batch_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, source_file VARCHAR NOT NULL,"
        " row_number BIGINT NOT NULL, column_name VARCHAR, check_name VARCHAR NOT NULL, value VARCHAR,"
        " reason VARCHAR NOT NULL, original_row VARCHAR NOT NULL, resolved_by_file_id BIGINT"
    ), "etl.ingest.files", "rows that failed a check, with the reason (row 0: the whole file was rejected)"),
    TableDef("superseded", _cols(
        "table_name VARCHAR NOT NULL, key VARCHAR NOT NULL, old_row VARCHAR NOT NULL,"
        " superseded_by_file_id BIGINT NOT NULL, superseded_by_file VARCHAR NOT NULL,"
        " superseded_by_row BIGINT NOT NULL, superseded_at TIMESTAMP NOT NULL"
    ), "etl.ingest.files", "rows replaced by a corrected re-submission"),
    TableDef("indicator_values", _cols(
        "unit_code VARCHAR NOT NULL, period VARCHAR NOT NULL, grain VARCHAR NOT NULL, indicator_id VARCHAR NOT NULL,"
        " value DOUBLE, numerator DOUBLE, denominator DOUBLE, n DOUBLE, ci_low DOUBLE, ci_high DOUBLE, se DOUBLE,"
        " interval_method VARCHAR, missing_reason VARCHAR"
    ), "etl.warehouse.indicator_values",
        "indicator values per unit, period and grain, with n, 95% interval, SE, interval method and why a value is "
        "missing (rebuilt by every refresh)"),
    # The data span the values were computed over (one row; none for an empty warehouse).
    TableDef("data_coverage", _cols("first_day DATE NOT NULL, last_day DATE NOT NULL"),
             "etl.warehouse.indicator_values", "the data span indicator_values was computed over"),
    TableDef("indicator_values_state", _cols("state VARCHAR NOT NULL"), "etl.warehouse.incremental",
             "what indicator_values was computed from (code, definitions, units, span, per-table month digests; one "
             "JSON row), so the next refresh computes only the cells a change can reach"),
    TableDef("case_history", _cols("case_id VARCHAR NOT NULL, first_at TIMESTAMP NOT NULL, last_at TIMESTAMP NOT NULL"),
             "etl.warehouse.case_history",
             "per case of case_event: its first and last event (which cases a change of case_event reaches); beside "
             "it the case_history_<digest> tables, one row per case of a formula's per-case aggregate"),
    TableDef("score_runs", _cols(
        "run_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, profile_name VARCHAR NOT NULL,"
        " profile_hash VARCHAR NOT NULL, framework_hash VARCHAR NOT NULL, spec_json VARCHAR NOT NULL,"
        " data_snapshot_id VARCHAR NOT NULL, grain VARCHAR NOT NULL, n_units BIGINT NOT NULL,"
        " n_periods BIGINT NOT NULL, warnings VARCHAR"
    ), "etl.stores.scores", "one row per stored scoring run"),
    TableDef("scores", _cols(
        "run_id VARCHAR NOT NULL, unit_code VARCHAR NOT NULL, period VARCHAR NOT NULL, node VARCHAR NOT NULL,"
        " level BIGINT NOT NULL, is_indicator BOOLEAN NOT NULL, raw_value DOUBLE, score DOUBLE, rank BIGINT,"
        " gap_to_best DOUBLE, target DOUBLE, gap_to_target DOUBLE, band VARCHAR, band_en VARCHAR,"
        " contribution DOUBLE, imputed BOOLEAN NOT NULL, treatment VARCHAR NOT NULL, below_threshold BOOLEAN NOT NULL"
    ), "etl.stores.scores", "scores, ranks, gaps, bands and contributions of each stored run"),
    TableDef("uncertainty_runs", _cols(
        "run_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, snapshot_id VARCHAR, profile_name VARCHAR NOT NULL,"
        " profile_hash VARCHAR NOT NULL, grain VARCHAR NOT NULL, period VARCHAR NOT NULL, samples BIGINT NOT NULL,"
        " samples_ok BIGINT NOT NULL, seed BIGINT NOT NULL, sampler VARCHAR NOT NULL, spec_json VARCHAR NOT NULL,"
        " failures_json VARCHAR NOT NULL, seconds DOUBLE NOT NULL"
    ), "etl.jobs.uncertainty_summary", "one row per stored Monte Carlo summary"),
    TableDef("uncertainty_ranks", _cols(
        "run_id VARCHAR NOT NULL, unit_code VARCHAR NOT NULL, nominal_score DOUBLE, nominal_rank BIGINT,"
        " median_rank DOUBLE, rank_low DOUBLE, rank_high DOUBLE, mean_rank DOUBLE, p_top1 DOUBLE,"
        " score_q05 DOUBLE, score_q25 DOUBLE, score_q50 DOUBLE, score_q75 DOUBLE, score_q95 DOUBLE"
    ), "etl.jobs.uncertainty_summary", "rank intervals per unit of each stored summary"),
    TableDef("uncertainty_inputs", _cols("run_id VARCHAR NOT NULL, inputs VARCHAR NOT NULL"),
             "etl.jobs.uncertainty_summary", "the digest of what each stored summary read, so an unchanged one is kept"),
    TableDef("snapshot_info", _cols(
        "snapshot_id VARCHAR NOT NULL, run_id BIGINT NOT NULL, trigger VARCHAR NOT NULL,"
        " started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ"
    ), "etl.jobs.refresh", "which refresh built this snapshot (newest row = the snapshot's id)"),
    TableDef("schema_version", _cols(
        "version BIGINT NOT NULL, applied_at TIMESTAMPTZ NOT NULL, about VARCHAR NOT NULL"
    ), "etl.warehouse.migrations", "one row per schema migration applied (max(version) = the schema version)"),
)

META_TABLES: tuple[str, ...] = ("ingest_batches", "ingest_files", "quarantine", "superseded")
"""The ingest's bookkeeping tables, created with the raw tables by the baseline migration (etl.warehouse.migrations)."""

REGISTRY: Mapping[str, TableDef] = {
    **{name: _raw(tables.TABLES[name]) for name in tables.LOAD_ORDER},
    **{t.name: t for t in _JOB_TABLES},
}


def table(name: str) -> TableDef:
    """The registered table `name` (raw tables are read from the contract as it stands, so a table added there needs
    no edit here); DDLError names the unknown one."""
    if name in tables.TABLES:
        return _raw(tables.TABLES[name])
    try:
        return REGISTRY[name]
    except KeyError:
        raise DDLError(f"table {name!r} is not in the warehouse DDL registry (etl.warehouse.ddl)") from None


def create_statement(name: str) -> str:
    """CREATE TABLE IF NOT EXISTS for the registered table `name`."""
    return table(name).statement()


def create(con: Any, *names: str) -> None:
    """Create the named registered tables that do not exist yet on a DuckDB connection (idempotent)."""
    for name in names:
        con.sql(create_statement(name))



#: Tables whose columns are those of a catalog formula's own SELECT (etl.warehouse.case_history), by name prefix.
DERIVED_PREFIXES: Mapping[str, str] = {
    "case_history_": "one row per case: a formula's per-case aggregate over case_event, kept up to date by the refresh",
}


def create_as(con: Any, name: str, select: str) -> None:
    """Create (or replace) the derived table `name` (a DERIVED_PREFIXES prefix) as the rows of `select`."""
    if not any(name.startswith(p) for p in DERIVED_PREFIXES):
        raise DDLError(f"table {name!r} is not a derived table of the warehouse DDL registry (etl.warehouse.ddl)")
    con.sql(f"CREATE OR REPLACE TABLE {quote(name)} AS {select}")
