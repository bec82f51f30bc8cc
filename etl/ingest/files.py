"""Ingest a folder (or list) of source files into the warehouse: read → cast → validate → dedupe → load → account.

Files go in table load order (tables.LOAD_ORDER), then by name, each in its own transaction, so references are
checked against the warehouse plus the files of this batch already loaded, and a failure leaves earlier files in.

Rules (the contract's "every input row is accounted for"):
- a file whose sha256 was already ingested (loaded or partial) for the same table is 'unchanged': nothing changes
  but the log line;
- a file that cannot be read at all is 'rejected' whole (rows_in = 0) with a message; the batch goes on. A rejected
  checksum is not remembered as done: the same file is tried again next time (the cause may have been the
  environment — a missing permission, a full disk — rather than the file);
- a row failing any check goes to `quarantine`: one record per failed check, the row counted once;
- primary-key duplicates: an identical copy (in the file or already in the warehouse) is counted as duplicate and
  skipped; rows of ONE file that share a key but differ are all quarantined (check 'conflicting_duplicate'), since
  nothing says which is right; a row whose key is already in the warehouse with different content SUPERSEDES it
  (a later file is a corrected re-submission): the old row is moved to `superseded` with the file that replaced it;
- rows_in == rows_loaded + rows_quarantined + rows_duplicate is asserted before the file's log line is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from etl.ingest import cast, readers
from etl.contract import schemas, tables
from etl.warehouse import connection as wh
from etl.ingest.accounting import FileReport, IngestReport
from etl.errors import RejectedFileError, SourceNotFoundError

LOCAL_TZ = ZoneInfo(tables.LOCAL_TZ)
STAGE = "_govindex_stage"
DUP_KEYS = "_govindex_dup_keys"
DUCKDB_MEMORY_LIMIT = "1536MB"
QUARANTINE_COLUMNS = (
    "file_id", "batch_id", "table_name", "source_file", "row_number", "column_name", "check_name", "value", "reason",
    "original_row",
)  # fmt: skip


def local_now() -> dt.datetime:
    """Wall-clock time in Asia/Shanghai, naive (the data's timestamps are naive local times)."""
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


def _naive_local(t: dt.datetime) -> dt.datetime:
    return t.astimezone(LOCAL_TZ).replace(tzinfo=None) if t.tzinfo is not None else t


def discover(source: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """Source files under a folder (recursively, hidden entries skipped) as (path, display name), and ignored names."""
    if not source.exists():
        raise SourceNotFoundError(f"source folder {source} does not exist")
    if source.is_file():
        return [(source, source.name)], []
    found: list[tuple[Path, str]] = []
    ignored: list[str] = []
    for p in sorted(source.rglob("*")):
        rel = p.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix.lower() in readers.FORMATS:
            found.append((p, rel.as_posix()))
        else:
            ignored.append(rel.as_posix())
    return found, ignored


def load_order_key(item: tuple[Path, str]) -> tuple[int, str]:
    """Sort key: table load order first (unknown tables last), then the file's name."""
    table = tables.table_for_file(item[0].name)
    order = tables.load_order()
    rank = order.index(table) if table else len(order)
    return rank, item[1]


def ingest_folder(
    source: Path, db_path: Path | str | wh.Connection, *, now: dt.datetime | None = None, chunk_rows: int = readers.CHUNK_ROWS
) -> IngestReport:
    """Ingest every CSV/XLSX/Parquet file under `source` into the warehouse at `db_path`."""
    found, ignored = discover(Path(source))
    if not found:
        raise SourceNotFoundError(f"no CSV, XLSX or Parquet file in {source}")
    report = _ingest(found, db_path, now=now, source=str(source), chunk_rows=chunk_rows)
    report.ignored = ignored
    return report


def ingest_files(
    paths: Iterable[Path | str],
    db_path: Path | str | wh.Connection,
    *,
    now: dt.datetime | None = None,
    chunk_rows: int = readers.CHUNK_ROWS,
) -> IngestReport:
    """Ingest the given files (named by their file name in messages)."""
    items = [(Path(p), Path(p).name) for p in paths]
    missing = [str(p) for p, _ in items if not p.is_file()]
    if missing:
        raise SourceNotFoundError(f"no such file: {', '.join(missing)}")
    return _ingest(items, db_path, now=now, source=None, chunk_rows=chunk_rows)


def _ingest(
    items: Sequence[tuple[Path, str]], db_path: Path | str | wh.Connection, *, now: dt.datetime | None, source: str | None, chunk_rows: int
) -> IngestReport:
    load_time = _naive_local(now) if now is not None else local_now()
    with wh.connection(db_path) as con:  # an open connection (the refresh's) is used as is and left open
        con.sql("SET preserve_insertion_order = false")
        # Bound DuckDB's buffer pool (it spills to disk beyond it) so a 10M-row ingest stays well under 4 GB.
        con.sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        batch_id = int(wh.scalar(con, 'SELECT coalesce(max("batch_id"), 0) + 1 FROM "ingest_batches"'))
        started = local_now()
        wh.execute(
            con,
            'INSERT INTO "ingest_batches" ("batch_id", "source", "load_time", "started_at", "status") VALUES (?, ?, ?, ?, ?)',
            [batch_id, source, load_time, started, "running"],
        )
        report = IngestReport(batch_id, wh.database_file(con))
        schema_cache: dict[str, schemas.TableSchema] = {}
        for path, name in sorted(items, key=load_order_key):
            report.files.append(_ingest_one(con, path, name, batch_id, load_time, schema_cache, chunk_rows))
        status = "ok" if report.processed else "failed"
        wh.execute(
            con,
            'UPDATE "ingest_batches" SET "finished_at" = ?, "files_n" = ?, "rows_in" = ?, "rows_loaded" = ?, '
            '"rows_quarantined" = ?, "rows_duplicate" = ?, "status" = ? WHERE "batch_id" = ?',
            [local_now(), len(report.files), report.rows_in, report.rows_loaded, report.rows_quarantined,
             report.rows_duplicate, status, batch_id],
        )  # fmt: skip
        con.sql("CHECKPOINT")
        return report


def _ingest_one(
    con: wh.Connection,
    path: Path,
    name: str,
    batch_id: int,
    load_time: dt.datetime,
    schema_cache: dict[str, schemas.TableSchema],
    chunk_rows: int,
) -> FileReport:
    started = local_now()
    file_id = int(wh.scalar(con, 'SELECT coalesce(max("file_id"), 0) + 1 FROM "ingest_files"'))
    rep = FileReport(path=str(path.resolve()), name=name, table=tables.table_for_file(path.name), file_id=file_id)
    try:
        rep.sha256, rep.size = readers.checksum(path)
    except OSError as e:
        return _finish(con, rep, batch_id, started, "rejected", f"{name}: cannot read the file: {e}")
    previous = wh.query(
        con,
        'SELECT "file_name", "batch_id", "status" FROM "ingest_files" WHERE "sha256" = ? '
        'AND "table_name" IS NOT DISTINCT FROM ? AND "status" NOT IN (\'unchanged\', \'rejected\') '
        'ORDER BY "file_id" LIMIT 1',
        [rep.sha256, rep.table],
    )
    if previous.height:
        prev = previous.row(0, named=True)
        msg = f"same content as {prev['file_name']} (batch {prev['batch_id']}, {prev['status']}): nothing to do"
        return _finish(con, rep, batch_id, started, "unchanged", msg)
    try:
        src = readers.inspect_file(path, name, digest=(rep.sha256, rep.size))
        rep.encoding = src.encoding
        con.sql("BEGIN TRANSACTION")
        try:
            _load(con, src, rep, batch_id, load_time, schema_cache, chunk_rows)
        except BaseException:
            con.sql("ROLLBACK")
            raise
        con.sql("COMMIT")
    except RejectedFileError as e:
        rep.rows_in = rep.rows_loaded = rep.rows_quarantined = rep.rows_duplicate = rep.rows_superseded = 0
        return _finish(con, rep, batch_id, started, "rejected", str(e))
    except Exception as e:  # a file nobody foresaw must not stop the batch: reject it, loudly, and go on
        rep.rows_in = rep.rows_loaded = rep.rows_quarantined = rep.rows_duplicate = rep.rows_superseded = 0
        msg = f"{name}: unexpected error while ingesting ({type(e).__name__}: {e}); file rejected, please report"
        return _finish(con, rep, batch_id, started, "rejected", msg)
    finally:
        con.sql(f"DROP TABLE IF EXISTS {wh.quote(STAGE)}")
        con.sql(f"DROP TABLE IF EXISTS {wh.quote(DUP_KEYS)}")
    status = "partial" if rep.rows_quarantined else "loaded"
    return _finish(con, rep, batch_id, started, status, rep.message)


def _finish(
    con: wh.Connection, rep: FileReport, batch_id: int, started: dt.datetime, status: str, message: str
) -> FileReport:
    rep.status, rep.message = status, message
    rep.check()
    wh.execute(
        con,
        'INSERT INTO "ingest_files" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [rep.file_id, batch_id, rep.path, rep.name, rep.table, rep.sha256, rep.size, rep.rows_in, rep.rows_loaded,
         rep.rows_quarantined, rep.rows_duplicate, rep.rows_superseded, rep.encoding, rep.status, rep.message,
         started, local_now()],
    )  # fmt: skip
    return rep


# ------------------------------------------------------------------------------------------------- one file
def _load(
    con: wh.Connection,
    src: readers.SourceFile,
    rep: FileReport,
    batch_id: int,
    load_time: dt.datetime,
    schema_cache: dict[str, schemas.TableSchema],
    chunk_rows: int,
) -> None:
    table = tables.TABLES[src.table]
    ts = schema_cache.get(src.table)
    if ts is None:
        ts = schema_cache[src.table] = schemas.build_schema(table, load_time=load_time, unique_key=False)
    cols = ", ".join(f"{wh.quote(c.name)} {wh.SQL_TYPES[c.dtype]}" for c in table.columns)
    con.sql(f'CREATE TEMP TABLE {wh.quote(STAGE)} ({cols}, "_row" BIGINT)')
    notes: list[str] = []
    failures_seen: list[pl.DataFrame] = []
    ctx = (rep.file_id, batch_id, src.table, src.name)

    def lookup(ref_table: str, ref_col: str, values: pl.Series) -> pl.Series:
        return wh.missing_values(con, ref_table, ref_col, values)

    for chunk in readers.iter_chunks(src, chunk_rows):
        if chunk.absent and not notes:
            notes.append(f"column(s) {', '.join(chunk.absent)} absent from the file: read as empty")
        rep.rows_in += chunk.frame.height + len(chunk.structural)
        if chunk.structural:
            q = _structural_records(chunk.structural, ctx)
            _write_quarantine(con, q)
            failures_seen.append(q.select("row_number", "column_name", "check_name", "value"))
            rep.rows_quarantined += len({s.row for s in chunk.structural})
        typed = cast.cast_frame(chunk.frame, table)
        fails = _row_failures(typed, ts, table, lookup)
        if fails.height:
            q = _failure_records(fails, chunk.frame, ctx)
            _write_quarantine(con, q)
            failures_seen.append(q.select("row_number", "column_name", "check_name", "value"))
            bad = fails[readers.ROW].unique()
            rep.rows_quarantined += bad.len()
            good = typed.frame.filter(~pl.col(readers.ROW).is_in(bad.implode()))
        else:
            good = typed.frame
        wh.insert_frame(con, STAGE, good)
    _dedupe_and_load(con, table, rep, ctx)
    if rep.rows_superseded:
        notes.append(f"{rep.rows_superseded} earlier row(s) superseded (see table superseded)")
    if rep.rows_duplicate:
        notes.append(f"{rep.rows_duplicate} duplicate row(s) skipped")
    if rep.rows_in == 0:
        notes.append("no data rows (header only)")
    q_all = pl.concat(failures_seen) if failures_seen else None
    if q_all is not None and q_all.height:
        notes.insert(0, summarise(q_all, rep.rows_quarantined, src.name))
    rep.message = "; ".join(notes)


def _row_failures(
    typed: cast.CastResult, ts: schemas.TableSchema, table: tables.Table, lookup: schemas.MissingLookup
) -> pl.DataFrame:
    """Cast, schema and reference failures of a chunk (a cell that failed to cast is not also called empty)."""
    cast_f = typed.failures.select(
        readers.ROW,
        "column",
        pl.lit("dtype").alias("check"),
        "value",
        pl.col("dtype").replace_strict(cast.DTYPE_WORDS, return_dtype=pl.String).map_elements(
            lambda w: f"cannot be read as {w}", return_dtype=pl.String
        ).alias("reason"),
    ) if typed.failures.height else pl.DataFrame(schema=schemas.FAILURE_SCHEMA)
    schema_f = schemas.validate(typed.frame, ts)
    if cast_f.height and schema_f.height:
        schema_f = schema_f.join(
            cast_f.select(readers.ROW, "column", pl.lit(True).alias("_cast")), on=[readers.ROW, "column"], how="left"
        ).filter(~((pl.col("check") == "not_nullable") & pl.col("_cast").fill_null(False))).drop("_cast")
    ref_f = schemas.reference_failures(typed.frame, table, lookup)
    return pl.concat([cast_f.cast(schemas.FAILURE_SCHEMA), schema_f, ref_f])  # type: ignore[arg-type]


def _original_json(raw: pl.DataFrame) -> pl.DataFrame:
    """`_row` and the original row as JSON (Chinese kept readable: no ASCII escaping)."""
    cols = [c for c in raw.columns if c != readers.ROW]
    return raw.select(readers.ROW, pl.struct([pl.col(c).cast(pl.String) for c in cols]).struct.json_encode().alias("original_row"))


def _failure_records(fails: pl.DataFrame, raw: pl.DataFrame, ctx: tuple[int | None, int, str, str]) -> pl.DataFrame:
    file_id, batch_id, table, name = ctx
    originals = _original_json(raw.filter(pl.col(readers.ROW).is_in(fails[readers.ROW].unique().implode())))
    value_txt = pl.when(pl.col("value").is_null()).then(pl.lit("empty")).otherwise(
        pl.concat_str(pl.lit("'"), pl.col("value"), pl.lit("'"))
    )
    return (
        fails.join(originals, on=readers.ROW, how="left")
        .select(
            pl.lit(file_id, pl.Int64).alias("file_id"),
            pl.lit(batch_id, pl.Int64).alias("batch_id"),
            pl.lit(table).alias("table_name"),
            pl.lit(name).alias("source_file"),
            pl.col(readers.ROW).alias("row_number"),
            pl.col("column").alias("column_name"),
            pl.col("check").alias("check_name"),
            "value",
            pl.concat_str(
                pl.lit(f"{name} row "), pl.col(readers.ROW).cast(pl.String), pl.lit(", column "), pl.col("column"),
                pl.lit(": value "), value_txt, pl.lit(" "), pl.col("reason"),
            ).alias("reason"),  # fmt: skip
            "original_row",
        )
        .sort("row_number", "column_name")
    )


def _structural_records(
    structural: list[readers.StructuralFailure], ctx: tuple[int | None, int, str, str]
) -> pl.DataFrame:
    file_id, batch_id, table, name = ctx
    return pl.DataFrame(
        [
            {
                "file_id": file_id,
                "batch_id": batch_id,
                "table_name": table,
                "source_file": name,
                "row_number": s.row,
                "column_name": None,
                "check_name": "field_count",
                "value": f"{s.actual} fields",
                "reason": f"{name} row {s.row}: has {s.actual} fields but the header has {s.expected}",
                "original_row": json.dumps({"_raw_line": s.text}, ensure_ascii=False),
            }
            for s in structural
        ],
        schema={c: (pl.Int64 if c in ("file_id", "batch_id", "row_number") else pl.String) for c in QUARANTINE_COLUMNS},
    )


def _write_quarantine(con: wh.Connection, records: pl.DataFrame) -> None:
    wh.insert_frame(con, "quarantine", records.select(QUARANTINE_COLUMNS))


def summarise(failures: pl.DataFrame, rows: int, name: str, top: int = 3) -> str:
    """'N row(s) quarantined: level allowed ×2 (first: row 5 '6'); …' from quarantine records of one file."""
    groups = (
        failures.group_by("column_name", "check_name", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("row_number").first().alias("row"), pl.col("value").first().alias("value"))
        .sort("n", descending=True, maintain_order=True)
    )
    parts = []
    for g in groups.head(top).iter_rows(named=True):
        where = f"{g['column_name']} " if g["column_name"] else ""
        shown = "empty" if g["value"] is None else f"'{g['value']}'"
        parts.append(f"{where}{g['check_name']} ×{g['n']} (first: row {g['row']}, value {shown})")
    more = f"; +{groups.height - top} more kinds" if groups.height > top else ""
    return f"{rows} row(s) quarantined in {name}: " + "; ".join(parts) + more


# --------------------------------------------------------------------------------------------- dedupe + load
def key_json_sql(quoted_key: Sequence[str], alias: str) -> str:
    """SQL for a row's key as JSON ({"col": value, ...}), reading the quoted key columns from table alias `alias`."""
    return "to_json(struct_pack(" + ", ".join(f"{k} := {alias}.{k}" for k in quoted_key) + "))"


def _dedupe_and_load(con: wh.Connection, table: tables.Table, rep: FileReport, ctx: tuple[int | None, int, str, str]) -> None:
    """Within-file duplicates, then duplicates/conflicts against the warehouse, then the insert (all in SQL)."""
    file_id, batch_id, tname, name = ctx
    stage, target = wh.quote(STAGE), wh.quote(table.name)
    key = [wh.quote(k) for k in table.primary_key]
    rest = [wh.quote(c) for c in table.column_names if c not in table.primary_key]
    all_cols = ", ".join(wh.quote(c) for c in table.column_names)
    key_list = ", ".join(key)
    content = f"ROW({', '.join(rest)})" if rest else "1"
    on = " AND ".join(f"s.{k} = t.{k}" for k in key)
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in rest) or "TRUE"
    key_json = key_json_sql(key, "s")

    # Keys repeated within the file, found by one hash aggregate on the key alone (most files have none, and then
    # steps 1-2 are skipped); the content comparisons below only touch the rows of those keys.
    dup = wh.quote(DUP_KEYS)
    wh.execute(con, f"CREATE OR REPLACE TEMP TABLE {dup} AS SELECT {key_list} FROM {stage} GROUP BY {key_list} HAVING count(*) > 1")
    if wh.row_count(con, DUP_KEYS):
        dup_rows = f"(SELECT s.* FROM {stage} AS s SEMI JOIN {dup} AS t ON {on})"
        # 1. Keys repeated within the file: conflicting (contents differ) → quarantine every copy.
        conflicts = wh.query(
            con,
            f"""WITH d AS {dup_rows},
                k AS (SELECT {key_list} FROM d GROUP BY {key_list} HAVING count(DISTINCT {content}) > 1)
                SELECT s."_row", {key_json} AS key, to_json(struct_pack({', '.join(f'{wh.quote(c)} := s.{wh.quote(c)}' for c in table.column_names)})) AS original_row,
                       list(s."_row") OVER (PARTITION BY {', '.join('s.' + k for k in key)}) AS rows
                FROM d s JOIN k t ON {on}""",
        )
        if conflicts.height:
            keycols = ", ".join(table.primary_key)
            records = conflicts.select(
                pl.lit(file_id, pl.Int64).alias("file_id"),
                pl.lit(batch_id, pl.Int64).alias("batch_id"),
                pl.lit(tname).alias("table_name"),
                pl.lit(name).alias("source_file"),
                pl.col("_row").alias("row_number"),
                pl.lit(keycols).alias("column_name"),
                pl.lit("conflicting_duplicate").alias("check_name"),
                pl.col("key").alias("value"),
                pl.concat_str(
                    pl.lit(f"{name} row "), pl.col("_row").cast(pl.String), pl.lit(f", column {keycols}: value "),
                    pl.col("key"), pl.lit(" appears on rows "),
                    pl.col("rows").list.sort().cast(pl.List(pl.String)).list.join(", "),
                    pl.lit(" of the file with different contents; none loaded"),
                ).alias("reason"),  # fmt: skip
                "original_row",
            )
            _write_quarantine(con, records)
            rep.rows_quarantined += records.height
            with wh.registered(con, "_govindex_conflicts", conflicts.select("_row")) as view:
                wh.execute(con, f'DELETE FROM {stage} WHERE "_row" IN (SELECT "_row" FROM {view})')
        # 2. Identical copies within the file: keep the first, count the rest.
        before = wh.row_count(con, STAGE)
        wh.execute(
            con,
            f'DELETE FROM {stage} WHERE "_row" IN (SELECT "_row" FROM (SELECT s."_row", row_number() OVER '
            f'(PARTITION BY {", ".join("s." + k for k in key)} ORDER BY s."_row") AS n FROM {dup_rows} AS s) WHERE n > 1)',
        )
        rep.rows_duplicate += before - wh.row_count(con, STAGE)
    wh.execute(con, f"DROP TABLE IF EXISTS {dup}")
    # 3. Identical to a warehouse row: duplicate.
    before = wh.row_count(con, STAGE)
    overlap = before and wh.row_count(con, table.name) and int(
        wh.scalar(con, f"SELECT count(*) FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {on})")
    )
    if overlap:
        wh.execute(con, f"DELETE FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {on} AND {same})")
        rep.rows_duplicate += before - wh.row_count(con, STAGE)
        # 4. Same key, different content: this (later) file supersedes the warehouse row.
        n_conf = int(wh.scalar(con, f"SELECT count(*) FROM {stage} AS s JOIN {target} AS t ON {on}"))
        if n_conf:
            wh.execute(
                con,
                f'INSERT INTO "superseded" SELECT ?, {key_json_sql(key, "t")}, to_json(struct_pack('
                + ", ".join(f"{wh.quote(c)} := t.{wh.quote(c)}" for c in table.column_names)
                + f'))::VARCHAR, ?, ?, s."_row", ? FROM {stage} AS s JOIN {target} AS t ON {on}',
                [table.name, file_id, name, local_now()],
            )
            wh.execute(con, f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {on})")
            rep.rows_superseded += n_conf
    rep.rows_loaded = wh.row_count(con, STAGE)
    wh.execute(con, f"INSERT INTO {target} ({all_cols}) SELECT {all_cols} FROM {stage}")
