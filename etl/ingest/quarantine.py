"""Quarantine reads, in one place: `govindex quarantine`, the app's snapshot (data-quality page, district page and
its XLSX, the CSV download) all read quarantined rows here.

Each row carries the district it concerns (`district_code`): read from the original row, or, for tables without
a district of their own, through their references in the contract (a rating through its case, a follow-up through
its rating's case). Filters: by raw table, by source
file, by district; and what one viewer may see (`for_viewer`: every district's rows, or only their own).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import polars as pl

from etl.contract import tables
from etl.warehouse import connection as wh
from indicators.units import Units

# Columns of a quarantine read, in order (the stored columns plus the district the row concerns).
COLUMNS = ("batch_id", "table_name", "source_file", "row_number", "column_name", "check_name", "value", "reason",
           "original_row", "district_code")  # fmt: skip
SCHEMA: dict[str, pl.DataType] = {
    "batch_id": pl.Int64(), "table_name": pl.String(), "source_file": pl.String(), "row_number": pl.Int64(),
    "column_name": pl.String(), "check_name": pl.String(), "value": pl.String(), "reason": pl.String(),
    "original_row": pl.String(), "district_code": pl.String(),
}
ORDER = ('"batch_id" DESC', '"table_name"', '"source_file"', '"row_number"', '"column_name"')


def empty() -> pl.DataFrame:
    """No quarantined rows, with the columns a read returns."""
    return pl.DataFrame(schema=SCHEMA)


def _route_sql(route: tuple[tuple[str, str, str, str], ...]) -> str:
    """A scalar subquery following `route` (etl.contract.tables.district_route: hops table, column → referenced
    table, column) from the quarantined row's JSON to the district_code of the table it ends at."""
    q = wh.quote
    _table, first_col, first_ref, first_ref_col = route[0]
    sql = f'SELECT t{len(route)}."district_code" FROM {q(first_ref)} t1'
    for i, (_t, col, ref, ref_col) in enumerate(route[1:], start=2):
        sql += f" JOIN {q(ref)} t{i} ON CAST(t{i}.{q(ref_col)} AS VARCHAR) = CAST(t{i - 1}.{q(col)} AS VARCHAR)"
    sql += (f" WHERE CAST(t1.{q(first_ref_col)} AS VARCHAR) = json_extract_string(q._json, '$.{first_col}')"
            " LIMIT 1")
    return f"({sql})"


def _district_expr(present: Collection[str]) -> str:
    """SQL for the district a quarantined row `q` concerns: the district_code in its original row, else, for a
    table without one, the district reached through its references (the contract's district_route: a rating via
    its case, a follow-up via its rating's case). NULL when the original row is not JSON (`q._json` is NULL)."""
    own = "json_extract_string(q._json, '$.district_code')"
    whens = []
    for name in tables.TABLES:
        route = tables.district_route(name)
        if route and all(hop[2] in present for hop in route):
            whens.append(f"WHEN {_literal(name)} THEN {_route_sql(route)}")
    return f"coalesce({own}, CASE q.\"table_name\" {' '.join(whens)} END)" if whens else own


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select(con: wh.Connection, what: str, table: str | None, source_file: str | None, district: str | None,
            tail: str = "") -> pl.DataFrame:
    present = set(wh.table_names(con))
    if "quarantine" not in present:
        return empty() if what == "*" else pl.DataFrame({"n": [0]})
    cols = ", ".join(f"q.{wh.quote(c)}" for c in COLUMNS[:-1])
    # The original row as JSON, or NULL when it is not (a torn line): extracting from it then gives NULL, never an
    # error, however the planner orders the lookups.
    as_json = 'SELECT *, CASE WHEN json_valid("original_row") THEN "original_row" END AS _json FROM "quarantine"'
    inner = f'SELECT {cols}, {_district_expr(present)} AS "district_code" FROM ({as_json}) q'
    clauses: list[str] = []
    params: list[object] = []
    if table:
        clauses.append('"table_name" = ?')
        params.append(table)
    if source_file:
        clauses.append('("source_file" = ? OR "source_file" LIKE ?)')
        params += [source_file, f"%/{source_file}"]
    if district:
        clauses.append('"district_code" = ?')
        params.append(district)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    frame = wh.query(con, f"SELECT {what} FROM ({inner}) {where} {tail}", params)
    return frame.cast(SCHEMA) if what == "*" else frame  # type: ignore[arg-type]


def _open(db: Path | str | wh.Connection) -> wh.Connection:
    return db if isinstance(db, wh.Connection) else wh.connect(db, read_only=True)


def list_quarantine(db: Path | str | wh.Connection, *, table: str | None = None, source_file: str | None = None,
                    district: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """Quarantine records (COLUMNS), newest batch first, then by table, file, row and column."""
    con = _open(db)
    try:
        tail = "ORDER BY " + ", ".join(ORDER) + (f" LIMIT {int(limit)}" if limit is not None else "")
        return _select(con, "*", table, source_file, district, tail)
    finally:
        if con is not db:
            con.close()


def count_quarantine(db: Path | str | wh.Connection, *, table: str | None = None, source_file: str | None = None,
                     district: str | None = None) -> int:
    """Number of quarantine records matching the filters."""
    con = _open(db)
    try:
        return int(_select(con, "count(*) AS n", table, source_file, district)["n"][0])
    finally:
        if con is not db:
            con.close()


def count_by_district(db: Path | str | wh.Connection) -> dict[str, int]:
    """Quarantined rows per district they concern (distinct file and row; whole-file rejections, row 0, left out),
    counted in the warehouse (the alert rule "data largely quarantined" reads this)."""
    con = _open(db)
    try:
        frame = _select(con, '"district_code", COUNT(DISTINCT ("source_file", "row_number")) '
                             'FILTER (WHERE "row_number" > 0) AS n', None, None, None,
                        'WHERE "district_code" IS NOT NULL GROUP BY 1')
    finally:
        if con is not db:
            con.close()
    return {str(c): int(n) for c, n in frame.iter_rows() if n} if "district_code" in frame.columns else {}


def filter_quarantine(frame: pl.DataFrame, *, tables: Collection[str] | None = None,
                      districts: Collection[str] | None = None, checks: Collection[str] | None = None,
                      source_file: str | None = None) -> pl.DataFrame:
    """The rows of a quarantine read (in memory) that match every filter given (an empty filter matches all)."""
    if frame.height == 0:
        return frame
    if tables:
        frame = frame.filter(pl.col("table_name").is_in(list(tables)))
    if districts:
        frame = frame.filter(pl.col("district_code").is_in(list(districts)))
    if checks:
        frame = frame.filter(pl.col("check_name").is_in(list(checks)))
    if source_file:
        frame = frame.filter((pl.col("source_file") == source_file)
                             | pl.col("source_file").str.ends_with("/" + source_file))
    return frame


def for_viewer(frame: pl.DataFrame, *, all_districts: bool, district_code: str | None,
               units: Units | None = None) -> pl.DataFrame:
    """What one viewer may see: every row when they may see all districts' rows, else only rows of their own
    unit and, given the unit table (`units`), of every unit under it (a province's official sees its counties'
    rows); rows without a district are nobody's; a viewer with neither sees none."""
    if all_districts:
        return frame
    if not district_code or "district_code" not in frame.columns:
        return frame.clear()
    seen = (units.subtree(district_code) if units is not None else ()) or (district_code,)
    return frame.filter(pl.col("district_code").is_in(list(seen)))
