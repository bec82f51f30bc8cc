"""The DuckDB warehouse: the only module that opens DuckDB connections; everyone else calls it.

Tables are created from the registry in etl.warehouse.ddl: the raw tables of the contract (etl.contract.tables)
and beside them the ingest bookkeeping tables (`ingest_batches`, `ingest_files`, `quarantine`, `superseded`). Identifiers are always quoted (`case` is a keyword).

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

from etl.config import WarehouseConfig
from etl.contract import tables
from etl.warehouse import ddl, migrations
from etl.warehouse.ddl import quote

Connection = duckdb.DuckDBPyConnection

POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}


#: DuckDB settings applied to every connection this process opens (`configure`, from the Config's [warehouse])
_SETTINGS: dict[str, str | int] = {}


def configure(memory_limit: str, threads: int) -> None:
    """Apply the configuration's [warehouse] section (memory limit, threads; 0 = DuckDB's default) to every later
    connection of this process; called once where the process builds its Config."""
    _SETTINGS.clear()
    _SETTINGS["memory_limit"] = memory_limit.replace(" ", "")
    if threads > 0:
        _SETTINGS["threads"] = threads


configure(WarehouseConfig.model_fields["memory_limit"].default, WarehouseConfig.model_fields["threads"].default)


class WarehouseError(Exception):
    """The warehouse file cannot be opened or a statement against it failed."""


class SchemaMismatch(WarehouseError):
    """The warehouse's schema version is older (run `govindex migrate`) or newer than this govindex (the message says)."""


def raw_table_ddl(table: tables.Table) -> str:
    """The DDL of one raw table of the contract (from the registry, etl.warehouse.ddl)."""
    return ddl.create_statement(table.name)


def polars_schema(table: tables.Table) -> dict[str, pl.DataType]:
    """The polars dtypes of a raw table, in contract column order."""
    return {c.name: POLARS_TYPES[c.dtype] for c in table.columns}


def create_schema(con: Connection) -> None:
    """Create every raw table and bookkeeping table that does not exist yet and apply pending schema migrations
    (idempotent; etl.warehouse.migrations). SchemaMismatch for a warehouse of a later release."""
    try:
        migrations.migrate(con)
    except migrations.SchemaVersionError as e:
        raise SchemaMismatch(str(e)) from e


def connect(path: str | Path, read_only: bool = False, *, create: bool = True) -> Connection:
    """Open (and, when writable, create and initialise) the warehouse at `path`.

    A writable connection makes sure every table exists and applies pending schema migrations; a read-only one
    needs an existing file of this release's schema version (SchemaMismatch says what to run otherwise).
    `create=False` opens the file as it is, without either (tools that inspect or stamp a file).
    ":memory:" gives an in-memory warehouse (tests).
    """
    p = str(path)
    if p != ":memory:":
        fp = Path(p)
        if read_only and not fp.exists():
            raise WarehouseError(f"warehouse {fp} does not exist (run `govindex ingest` first)")
        if not read_only and not fp.parent.is_dir():  # a mistyped folder is refused, never created
            raise WarehouseError(f"the folder {fp.parent} of warehouse {fp} does not exist; create it first")
    try:
        con = duckdb.connect(p, read_only=read_only)
    except duckdb.Error as e:  # locked by another process, not a DuckDB file, ...
        raise WarehouseError(f"cannot open warehouse {p}: {e}") from e
    try:
        for key, value in _SETTINGS.items():  # names are ours; values validated by etl.config.WarehouseConfig
            con.execute(f"SET {key} = '{value}'" if isinstance(value, str) else f"SET {key} = {int(value)}")
    except duckdb.Error as e:
        con.close()
        raise WarehouseError(f"cannot apply the [warehouse] settings {_SETTINGS}: {e}") from e
    try:
        if not read_only and create:
            create_schema(con)
        elif read_only and create:
            migrations.check(con)  # a read-only reader never migrates: older and newer files are refused
    except SchemaMismatch:
        con.close()
        raise
    except migrations.SchemaVersionError as e:
        con.close()
        raise SchemaMismatch(str(e)) from e
    return con


@contextmanager
def connection(path: str | Path | Connection, read_only: bool = False) -> Iterator[Connection]:
    """`connect` as a context manager that always closes the connection.

    Given an open connection (a refresh shares one across its steps), yields it as is and leaves it open: its owner
    closes it.
    """
    if isinstance(path, duckdb.DuckDBPyConnection):
        yield path
        return
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def database_file(con: Connection) -> str:
    """The file an open connection writes to (":memory:" for an in-memory warehouse)."""
    path = con.sql("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return str(path[0][0]) if path and path[0][0] else ":memory:"


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


def arrow_view(frame: pl.DataFrame) -> Any:
    """The frame as arrow for DuckDB to read, text as arrow string views: polars' own layout, so nothing is copied
    (the default, large_string, copies every string: a tenth of a second per 2M values)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


@contextmanager
def registered(con: Connection, name: str, frame: pl.DataFrame) -> Iterator[str]:
    """Expose a polars frame to SQL as view `name` for the duration of the block (zero-copy via arrow)."""
    con.register(name, arrow_view(frame))
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


@contextmanager
def deferred_checkpoints(con: Connection) -> Iterator[Connection]:
    """Within the block, a COMMIT does not checkpoint (DuckDB checkpoints at commit once the write-ahead log passes
    `checkpoint_threshold`, 16 MB by default: an ingest committing file by file rewrote the database file after
    nearly every file, a quarter of its time). Every commit is still durable (in the WAL); the caller checkpoints
    once at the end. The previous threshold is restored on the way out."""
    previous = scalar(con, "SELECT current_setting('checkpoint_threshold')")
    con.sql("SET checkpoint_threshold = '1TB'")
    try:
        yield con
    finally:
        con.sql(f"SET checkpoint_threshold = '{previous}'")


def value_range(con: Connection, relation: str, column: str) -> list[Any]:
    """[min, max] of a column of a table or view (quoted names), as parameters for a BETWEEN.

    An equality join `s.k = t.k` only matches rows of t whose k lies within s.k's range, so adding
    `t.k BETWEEN ? AND ?` with these bounds changes no result; but DuckDB prunes t's row groups by their min/max
    (zonemaps) on a constant range, and the tables are loaded month by month, so a probe of this month's keys reads
    a sliver of a large table instead of all of it (the hash joins scanned every row group of case_event per file)."""
    row = con.sql(f"SELECT min({column}), max({column}) FROM {relation}").fetchall()
    return [row[0][0], row[0][1]]


def missing_values(con: Connection, table: str, column: str, values: pl.Series) -> pl.Series:
    """The distinct `values` that do not occur in table.column (an anti-join in DuckDB, no Python key sets; the
    table is read only within the values' range, see value_range)."""
    if values.len() == 0:
        return values
    frame = pl.DataFrame({"v": values.unique()})
    with registered(con, "_govindex_values", frame) as view:
        col = f"t.{quote(column)}"
        out = _run(
            con,
            f"SELECT v FROM {view} AS x WHERE NOT EXISTS "
            f"(SELECT 1 FROM {quote(table)} AS t WHERE {col} = x.v AND {col} BETWEEN ? AND ?)",
            value_range(con, view, "v"),
        )
    return out["v"] if out.height else values.clear()
