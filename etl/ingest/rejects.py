"""What the ingest writes about rows it did not load: failed checks as quarantine records (with the clerk-facing
message from etl.ingest.messages), structural failures, the per-file summary, and quarantined rows resolved by a
later file or a resubmission."""

from __future__ import annotations

import json
from typing import NamedTuple

import polars as pl

from etl.contract import schemas, tables
from etl.ingest import cast, messages, mojibake, readers
from etl.ingest.accounting import FileReport
from etl.warehouse import connection as wh

QUARANTINE_COLUMNS = (
    "file_id", "batch_id", "table_name", "source_file", "row_number", "column_name", "check_name", "value", "reason",
    "original_row",
)  # fmt: skip
RAW_LINE = "_raw_line"  # key of a structural failure's original line in `original_row`


class Ctx(NamedTuple):
    """Where quarantine records of a file come from (the sheet is None except for XLSX)."""

    file_id: int | None
    batch_id: int
    table: str
    name: str
    sheet: str | None



class CellChecks(NamedTuple):
    """The checks of a chunk that need nothing but the chunk (no warehouse): mojibake, cast and schema failures
    (row_failures' columns), so they can run on the read-ahead thread (etl.ingest.readahead) while the warehouse
    loads the file before."""

    garbled: pl.DataFrame
    cast: pl.DataFrame
    schema: pl.DataFrame


def cell_checks(raw: pl.DataFrame, typed: cast.CastResult, ts: schemas.TableSchema, table: tables.Table) -> CellChecks:
    """Mojibake, cast and schema failures of a chunk (row_failures without the reference checks).

    A cell that failed to cast is not also called empty."""
    garbled = mojibake.failures(raw, table)
    cast_f = typed.failures.select(
        readers.ROW, "column", pl.lit("dtype").alias("check"), "value", pl.col("dtype").alias("detail")
    ) if typed.failures.height else pl.DataFrame(schema=schemas.FAILURE_SCHEMA)
    schema_f = schemas.validate(typed.frame, ts)
    if cast_f.height and schema_f.height:
        schema_f = schema_f.join(
            cast_f.select(readers.ROW, "column", pl.lit(True).alias("_cast")), on=[readers.ROW, "column"], how="left"
        ).filter(~((pl.col("check") == "not_nullable") & pl.col("_cast").fill_null(False))).drop("_cast")
    return CellChecks(garbled, cast_f, schema_f)


def row_failures(
    raw: pl.DataFrame,
    typed: cast.CastResult,
    ts: schemas.TableSchema,
    table: tables.Table,
    lookup: schemas.MissingLookup,
    checks: CellChecks | None = None,
) -> pl.DataFrame:
    """Mojibake, cast, schema and reference failures of a chunk: _row, column, check, value, detail. `checks`: the
    chunk's cell_checks when they were run already (on the read-ahead thread).

    A cell that failed to cast is not also called empty; a garbled cell is not also checked against the contract
    (its value is unreadable, so "not an allowed value" would only repeat the same problem).
    """
    garbled, cast_f, schema_f = checks if checks is not None else cell_checks(raw, typed, ts, table)
    ref_f = schemas.reference_failures(typed.frame, table, lookup)
    rest = pl.concat([cast_f.cast(schemas.FAILURE_SCHEMA), schema_f, ref_f])  # type: ignore[arg-type]
    if garbled.height:
        rest = rest.join(garbled.select(readers.ROW, "column"), on=[readers.ROW, "column"], how="anti")
    return pl.concat([garbled, rest])


def original_json(raw: pl.DataFrame) -> pl.DataFrame:
    """`_row` and the original row as JSON (Chinese kept readable: no ASCII escaping)."""
    cols = [c for c in raw.columns if c not in (readers.ROW, readers.RESUBMIT)]
    return raw.select(readers.ROW, pl.struct([pl.col(c).cast(pl.String) for c in cols]).struct.json_encode().alias("original_row"))


QUARANTINE_SCHEMA = {c: (pl.Int64 if c in ("file_id", "batch_id", "row_number") else pl.String) for c in QUARANTINE_COLUMNS}


def failure_records(fails: pl.DataFrame, raw: pl.DataFrame, ctx: Ctx) -> pl.DataFrame:
    """Quarantine records of cell failures, each with its catalogue message."""
    originals = original_json(raw.filter(pl.col(readers.ROW).is_in(fails[readers.ROW].unique().implode())))
    joined = fails.join(originals, on=readers.ROW, how="left").sort(readers.ROW, "column")
    reasons = [
        messages.cell(
            f["check"], file=ctx.name, sheet=ctx.sheet, row=f[readers.ROW], column=f["column"], value=f["value"],
            detail=f["detail"],
        )  # fmt: skip
        for f in joined.select(readers.ROW, "column", "check", "value", "detail").iter_rows(named=True)
    ]
    return joined.select(
        pl.lit(ctx.file_id, pl.Int64).alias("file_id"),
        pl.lit(ctx.batch_id, pl.Int64).alias("batch_id"),
        pl.lit(ctx.table).alias("table_name"),
        pl.lit(ctx.name).alias("source_file"),
        pl.col(readers.ROW).alias("row_number"),
        pl.col("column").alias("column_name"),
        pl.col("check").alias("check_name"),
        "value",
        pl.Series("reason", reasons, dtype=pl.String),
        "original_row",
    )


def structural_records(structural: list[readers.StructuralFailure], ctx: Ctx) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "file_id": ctx.file_id,
                "batch_id": ctx.batch_id,
                "table_name": ctx.table,
                "source_file": ctx.name,
                "row_number": s.row,
                "column_name": None,
                "check_name": "field_count",
                "value": s.text,
                "reason": messages.cell(
                    "field_count", file=ctx.name, row=s.row, column=None, value=None, actual=s.actual,
                    expected=s.expected,
                ),  # fmt: skip
                "original_row": json.dumps({RAW_LINE: s.text}, ensure_ascii=False),
            }
            for s in structural
        ],
        schema=QUARANTINE_SCHEMA,
    )


def write_quarantine(con: wh.Connection, records: pl.DataFrame) -> None:
    wh.insert_frame(con, "quarantine", records.select(QUARANTINE_COLUMNS))


def summarise(failures: pl.DataFrame, rows: int, name: str, top: int = 3) -> tuple[str, str]:
    """('隔离 N 行…', 'N row(s) quarantined: level 不在允许值内 ×2 (first: row 5 '6'); …') from one file's records."""
    groups = (
        failures.group_by("column_name", "check_name", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("row_number").first().alias("row"), pl.col("value").first().alias("value"))
        .sort("n", descending=True, maintain_order=True)
    )
    zh, en = [], []
    for g in groups.head(top).iter_rows(named=True):
        kind = messages.CELL_KINDS[messages.kind_of(g["check_name"])]
        where = f"{g['column_name']} " if g["column_name"] else ""
        shown_zh = "（空）" if g["value"] is None else f"“{g['value']}”"
        shown_en = "empty" if g["value"] is None else f"'{g['value']}'"
        z, _ = messages.note("quarantined_part", what=where + kind.label_zh, n=g["n"], row=g["row"], value=shown_zh)
        _, e = messages.note("quarantined_part", what=where + kind.label_en, n=g["n"], row=g["row"], value=shown_en)
        zh.append(z)
        en.append(e)
    if groups.height > top:
        more = messages.note("more_kinds", n=groups.height - top)
        zh.append(more[0])
        en.append(more[1])
    return (
        messages.note("quarantined", file=name, n=rows, parts="；".join(zh))[0],
        messages.note("quarantined", file=name, n=rows, parts="; ".join(en))[1],
    )


def resolve_named(con: wh.Connection, rep: FileReport, refs: pl.DataFrame) -> int:
    """Resolve the quarantined rows a resubmission names ("rating_1.csv:8") on its rows that were not quarantined.

    This reaches rows the key cannot (a ragged line, an empty or garbled key). A name matches the newest file of
    that name with unresolved records.
    """
    quarantined = wh.query(con, 'SELECT DISTINCT "row_number" FROM "quarantine" WHERE "file_id" = ?', [rep.file_id])
    parts = (
        refs.filter(~pl.col(readers.ROW).is_in(quarantined["row_number"].implode()))
        .select(pl.col(readers.RESUBMIT).str.strip_chars().str.extract_groups(r"^(?P<file>.+):(?P<row>\d+)$"))
        .unnest(readers.RESUBMIT)
        .drop_nulls()
        .select(pl.col("file").alias("source_file"), pl.col("row").cast(pl.Int64).alias("row_number"))
        .unique()
    )
    if parts.height == 0:
        return 0
    with wh.registered(con, "_govindex_resubmits", parts) as view:
        where = (
            f'q."resolved_by_file_id" IS NULL AND q."row_number" > 0 AND q."file_id" <> ? AND EXISTS (SELECT 1 FROM '
            f'{view} AS r WHERE r."source_file" = q."source_file" AND r."row_number" = q."row_number") AND q."file_id" = '
            f'(SELECT max(q2."file_id") FROM "quarantine" AS q2 WHERE q2."source_file" = q."source_file" '
            f'AND q2."resolved_by_file_id" IS NULL)'
        )
        n = int(wh.scalar(con, f'SELECT count(*) FROM (SELECT DISTINCT q."file_id", q."row_number" FROM "quarantine" AS q '
                               f"WHERE {where})", [rep.file_id]))  # fmt: skip
        if n:
            wh.execute(con, f'UPDATE "quarantine" AS q SET "resolved_by_file_id" = ? WHERE {where}', [rep.file_id, rep.file_id])
    return n


def resolve_earlier(con: wh.Connection, table: tables.Table, rep: FileReport, stage: str) -> int:
    """Mark earlier quarantined rows of this table whose primary key this file has just loaded (the rows in the
    `stage` table) as resolved by it.

    Only unresolved, row-level records of other files count; the key is compared as text (the quarantine keeps the
    row as written, the stage holds typed values). Returns the number of rows (not records) resolved.
    """
    match = " AND ".join(
        f"trim(json_extract_string(q.\"original_row\", '$.{k}')) = CAST(s.{wh.quote(k)} AS VARCHAR)"
        for k in table.primary_key
    )
    done = wh.query(
        con,
        f'UPDATE "quarantine" AS q SET "resolved_by_file_id" = ? WHERE q."table_name" = ? '
        f'AND q."resolved_by_file_id" IS NULL AND q."row_number" > 0 AND q."file_id" <> ? '
        f'AND EXISTS (SELECT 1 FROM {wh.quote(stage)} AS s WHERE {match}) RETURNING "file_id", "row_number"',
        [rep.file_id, table.name, rep.file_id],
    )
    return done.unique().height
