"""The DuckDB warehouse: the only module that opens DuckDB connections; everyone else calls it.

Raw tables are created from the contract in etl.contract.tables; beside them live the ingest bookkeeping tables
(`ingest_batches`, `ingest_files`, `quarantine`, `superseded`). Identifiers are always quoted (`case` is a keyword).

Raw tables carry NOT NULL constraints but no PRIMARY KEY constraint: keys are enforced by the ingest (anti-joins,
documented supersede rule), because a DuckDB ART index over 10M keys costs memory and makes delete-then-reinsert of
a superseded key in one transaction fail.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from etl.contract import tables

Connection = duckdb.DuckDBPyConnection

SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}

POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}

# Bookkeeping tables. Column names avoid SQL keywords (table/column/check) so ad-hoc queries stay easy.
META_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS "ingest_batches" (
        "batch_id" BIGINT NOT NULL,
        "source" VARCHAR,
        "load_time" TIMESTAMP NOT NULL,
        "started_at" TIMESTAMP NOT NULL,
        "finished_at" TIMESTAMP,
        "files_n" BIGINT,
        "rows_in" BIGINT,
        "rows_loaded" BIGINT,
        "rows_quarantined" BIGINT,
        "rows_duplicate" BIGINT,
        "status" VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS "ingest_files" (
        "file_id" BIGINT NOT NULL,
        "batch_id" BIGINT NOT NULL,
        "path" VARCHAR NOT NULL,
        "file_name" VARCHAR NOT NULL,
        "table_name" VARCHAR,
        "sha256" VARCHAR NOT NULL,
        "size_bytes" BIGINT,
        "rows_in" BIGINT NOT NULL,
        "rows_loaded" BIGINT NOT NULL,
        "rows_quarantined" BIGINT NOT NULL,
        "rows_duplicate" BIGINT NOT NULL,
        "rows_superseded" BIGINT NOT NULL,
        "encoding" VARCHAR,
        "status" VARCHAR NOT NULL,
        "message" VARCHAR,
        "started_at" TIMESTAMP NOT NULL,
        "finished_at" TIMESTAMP NOT NULL,
        "rows_blank" BIGINT NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS "quarantine" (
        "file_id" BIGINT NOT NULL,
        "batch_id" BIGINT NOT NULL,
        "table_name" VARCHAR NOT NULL,
        "source_file" VARCHAR NOT NULL,
        "row_number" BIGINT NOT NULL,
        "column_name" VARCHAR,
        "check_name" VARCHAR NOT NULL,
        "value" VARCHAR,
        "reason" VARCHAR NOT NULL,
        "original_row" VARCHAR NOT NULL,
        "resolved_by_file_id" BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS "superseded" (
        "table_name" VARCHAR NOT NULL,
        "key" VARCHAR NOT NULL,
        "old_row" VARCHAR NOT NULL,
        "superseded_by_file_id" BIGINT NOT NULL,
        "superseded_by_file" VARCHAR NOT NULL,
        "superseded_by_row" BIGINT NOT NULL,
        "superseded_at" TIMESTAMP NOT NULL
    )""",
    # warehouses created before blank rows were counted, or before quarantined rows could be resolved by a resubmission
    'ALTER TABLE "ingest_files" ADD COLUMN IF NOT EXISTS "rows_blank" BIGINT DEFAULT 0',
    'ALTER TABLE "quarantine" ADD COLUMN IF NOT EXISTS "resolved_by_file_id" BIGINT',
)

META_TABLES: tuple[str, ...] = ("ingest_batches", "ingest_files", "quarantine", "superseded")


class WarehouseError(Exception):
    """The warehouse file cannot be opened or a statement against it failed."""


def quote(identifier: str) -> str:
    """A DuckDB-quoted identifier (`case` is a keyword; quote every table and column name)."""
    return '"' + identifier.replace('"', '""') + '"'


def raw_table_ddl(table: tables.Table) -> str:
    """CREATE TABLE statement for one raw table of the contract."""
    cols = ",\n    ".join(
        f"{quote(c.name)} {SQL_TYPES[c.dtype]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n    {cols}\n)"


def polars_schema(table: tables.Table) -> dict[str, pl.DataType]:
    """The polars dtypes of a raw table, in contract column order."""
    return {c.name: POLARS_TYPES[c.dtype] for c in table.columns}


def create_schema(con: Connection) -> None:
    """Create every raw table and bookkeeping table that does not exist yet (idempotent)."""
    for name in tables.LOAD_ORDER:
        con.sql(raw_table_ddl(tables.TABLES[name]))
    for ddl in META_DDL:
        con.sql(ddl)


def connect(path: str | Path, read_only: bool = False, *, create: bool = True) -> Connection:
    """Open (and, when writable, create and initialise) the warehouse at `path`.

    A writable connection makes sure every table exists. A read-only connection needs an existing file.
    ":memory:" gives an in-memory warehouse (tests).
    """
    p = str(path)
    if p != ":memory:":
        fp = Path(p)
        if read_only and not fp.exists():
            raise WarehouseError(f"warehouse {fp} does not exist (run `govindex ingest` first)")
        if not read_only:
            fp.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(p, read_only=read_only)
    except duckdb.Error as e:  # locked by another process, not a DuckDB file, ...
        raise WarehouseError(f"cannot open warehouse {p}: {e}") from e
    if not read_only and create:
        create_schema(con)
    return con


@contextmanager
def connection(path: str | Path, read_only: bool = False) -> Iterator[Connection]:
    """`connect` as a context manager that always closes the connection."""
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def query(target: str | Path | Connection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run one SQL statement and return its result as a polars DataFrame (empty frame for statements).

    `target` is a connection or a warehouse path (opened read-only for the call and closed afterwards).
    """
    if isinstance(target, duckdb.DuckDBPyConnection):
        return _run(target, sql, params)
    with connection(target, read_only=True) as con:
        return _run(con, sql, params)


def execute(con: Connection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Run a statement whose result is not needed."""
    try:
        con.sql(sql, params=list(params) if params else None)
    except duckdb.Error as e:
        raise WarehouseError(f"{e}\nSQL: {sql}") from e


def _run(con: Connection, sql: str, params: Sequence[Any] | None) -> pl.DataFrame:
    try:
        rel = con.sql(sql, params=list(params) if params else None)
    except duckdb.Error as e:
        raise WarehouseError(f"{e}\nSQL: {sql}") from e
    if rel is None:
        return pl.DataFrame()
    return rel.pl()


def scalar(con: Connection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The single value of a one-row, one-column query (None when no row)."""
    rel = con.sql(sql, params=list(params) if params else None)
    rows = rel.fetchall() if rel is not None else []
    return rows[0][0] if rows else None


def table_names(con: Connection) -> list[str]:
    """Names of the tables present in the main schema."""
    rows = con.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    return sorted(r[0] for r in rows)


def row_count(con: Connection, table: str) -> int:
    """Number of rows in a table."""
    return int(scalar(con, f"SELECT count(*) FROM {quote(table)}"))


@contextmanager
def registered(con: Connection, name: str, frame: pl.DataFrame) -> Iterator[str]:
    """Expose a polars frame to SQL as view `name` for the duration of the block (zero-copy via arrow)."""
    con.register(name, frame.to_arrow())
    try:
        yield quote(name)
    finally:
        con.unregister(name)


def insert_frame(con: Connection, table: str, frame: pl.DataFrame) -> int:
    """Bulk-insert a frame whose columns match the table's (by name) and return the number of rows inserted."""
    if frame.height == 0:
        return 0
    cols = ", ".join(quote(c) for c in frame.columns)
    with registered(con, "_govindex_insert", frame) as view:
        execute(con, f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM {view}")
    return frame.height


@contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """BEGIN … COMMIT, rolled back on any exception."""
    con.sql("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.sql("ROLLBACK")
        raise
    con.sql("COMMIT")


def missing_values(con: Connection, table: str, column: str, values: pl.Series) -> pl.Series:
    """The distinct `values` that do not occur in table.column (an anti-join in DuckDB, no Python key sets)."""
    if values.len() == 0:
        return values
    frame = pl.DataFrame({"v": values.unique()})
    with registered(con, "_govindex_values", frame) as view:
        out = _run(
            con,
            f"SELECT v FROM {view} AS x WHERE NOT EXISTS "
            f"(SELECT 1 FROM {quote(table)} AS t WHERE t.{quote(column)} = x.v)",
            None,
        )
    return out["v"] if out.height else values.clear()
