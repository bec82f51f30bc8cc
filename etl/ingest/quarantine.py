"""Quarantine reads, in one place: `govindex quarantine`, the app's snapshot (data-quality page, district page and
its XLSX, the CSV download) all read quarantined rows here.

Each row carries the district it concerns (`district_code`): read from the original row, or, for ratings and
follow-ups that have no district of their own, through the case they belong to. Filters: by raw table, by source
file, by district; and what one viewer may see (`for_viewer`: every district's rows, or only their own).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import polars as pl

from etl.warehouse import connection as wh

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


def _district_expr(present: Collection[str]) -> str:
    """SQL for the district a quarantined row `q` concerns: its own district_code, else via its case (ratings),
    else via its rating's case (follow-ups); NULL when the original row is not JSON (`q._json` is then NULL)."""
    district = "json_extract_string(q._json, '$.district_code')"
    if "case" in present:
        case_of_rating = ("(SELECT c.district_code FROM \"case\" c "
                          "WHERE c.case_id = json_extract_string(q._json, '$.case_id') LIMIT 1)")
        district = f"coalesce({district}, {case_of_rating})"
        if "rating" in present:
            via_rating = ("(SELECT c.district_code FROM \"rating\" r JOIN \"case\" c ON c.case_id = r.case_id "
                          "WHERE r.rating_id = json_extract_string(q._json, '$.rating_id') LIMIT 1)")
            district = f"coalesce({district}, {via_rating})"
    return district


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


def for_viewer(frame: pl.DataFrame, *, all_districts: bool, district_code: str | None) -> pl.DataFrame:
    """What one viewer may see: every row when they may see all districts' rows, else only rows of their own
    district (rows without a district are nobody's); a viewer with neither sees none."""
    if all_districts:
        return frame
    if not district_code or "district_code" not in frame.columns:
        return frame.clear()
    return frame.filter(pl.col("district_code") == district_code)
