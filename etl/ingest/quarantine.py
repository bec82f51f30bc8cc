"""Read the quarantine back (for the CLI and the app's data-quality page)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.warehouse import connection as wh

COLUMNS = ("batch_id", "table_name", "source_file", "row_number", "column_name", "check_name", "value", "reason",
           "original_row")  # fmt: skip


def _where(table: str | None, source_file: str | None) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if table:
        clauses.append('"table_name" = ?')
        params.append(table)
    if source_file:
        clauses.append('("source_file" = ? OR "source_file" LIKE ?)')
        params += [source_file, f"%/{source_file}"]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_quarantine(
    db: Path | str | wh.Connection, *, table: str | None = None, source_file: str | None = None, limit: int | None = None
) -> pl.DataFrame:
    """Quarantine records, newest batch first, then by file and row."""
    where, params = _where(table, source_file)
    cols = ", ".join(wh.quote(c) for c in COLUMNS)
    sql = f'SELECT {cols} FROM "quarantine" {where} ORDER BY "batch_id" DESC, "source_file", "row_number", "column_name"'
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return wh.query(db, sql, params)


def count_quarantine(db: Path | str | wh.Connection, *, table: str | None = None, source_file: str | None = None) -> int:
    """Number of quarantine records matching the filters."""
    where, params = _where(table, source_file)
    return int(wh.query(db, f'SELECT count(*) AS n FROM "quarantine" {where}', params)["n"][0])
