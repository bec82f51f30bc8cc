"""Ingest a folder (or list) of source files into the warehouse: read → cast → validate → dedupe → load → account.

Files go in table load order (tables.LOAD_ORDER), then by name, so references are checked against the warehouse plus
the files of this batch already loaded. Consecutive files share a transaction up to GROUP_BYTES of input
(_ingest_group): a file's rows, quarantine records and log line are committed together or not at all, a failure
leaves earlier files in (a group with a failing file is replayed file by file), and no file is ever half-loaded.

Rules (the contract's "every input row is accounted for"):
- a file whose sha256 was already ingested (loaded or partial) for the same table is 'unchanged': nothing changes
  but the log line. Its quarantined rows are not checked again (the same bytes fail the same checks, except a
  reference to a row that has arrived since, and re-reading every partial file on every refresh would make a
  refresh with nothing new cost a full re-validation): the log line says how many are still open and how to retry
  them — the file's fix sheet (`govindex quarantine --resubmit <file>`), corrected or, once the referenced rows
  have arrived, as it is, is a new file whose rows are validated again and resolve their records;
- a file that cannot be read at all is 'rejected' whole (rows_in = 0) with a message; the batch goes on. The
  rejection is also written to `quarantine` as one record with row_number 0 (check_name the kind of rejection), so
  `govindex quarantine`, its CSV and the data-quality page list it with the rows. A rejected checksum is not
  remembered as done: the same file is tried again next time (the cause may have been the environment — a missing
  permission, a full disk — rather than the file);
- blank rows (every cell empty) are skipped and counted as rows_blank;
- a row failing any check goes to `quarantine`: one record per failed check, the row counted once. Text columns
  are checked for mojibake (etl.ingest.mojibake) as well as against the contract;
- a quarantined row is resolved (`resolved_by_file_id`) when a later file loads a row with its primary key (a
  corrected re-submission, e.g. from `resubmit.resubmit_frame`);
- every message comes from the catalogue in etl.ingest.messages (Chinese first, English beside);
- primary-key duplicates: an identical copy (in the file or already in the warehouse) is counted as duplicate and
  skipped; rows of ONE file that share a key but differ are all quarantined (check 'conflicting_duplicate'), since
  nothing says which is right; a row whose key is already in the warehouse with different content SUPERSEDES it
  (a later file is a corrected re-submission): the old row is moved to `superseded` with the file that replaced it;
- rows_in == rows_loaded + rows_quarantined + rows_duplicate + rows_blank is asserted before the file's log line
  is written.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import polars as pl

from etl.ingest import messages, mojibake, readahead, readers, sequences
from etl.contract import schemas, tables
from etl.warehouse import connection as wh, ddl
from etl.ingest.accounting import FileReport, IngestReport
from etl.ingest.listing import discover  # noqa: F401  (re-exported: callers import it from here)
from etl.ingest.rejects import (
    QUARANTINE_SCHEMA, Ctx, failure_records, resolve_earlier, resolve_named, row_failures, structural_records,
    summarise, write_quarantine,
)
from etl.errors import (
    DuplicateColumnsError,
    EmptyFileError,
    EncodingError,
    MissingColumnsError,
    ParseError,
    RejectedFileError,
    SourceNotFoundError,
    UnknownTableError,
    UnsupportedFormatError,
)

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo(tables.LOCAL_TZ)
STAGE = "_govindex_stage"
DUP_KEYS = "_govindex_dup_keys"
# Consecutive files are loaded in one transaction up to this many bytes of input (see _ingest_group).
GROUP_BYTES = 64 << 20
# A file's checked rows are kept in memory up to this size, spilled into a temp table beyond (see Stage).
STAGE_MEMORY_BYTES = 256 << 20
# The check name a whole-file rejection is quarantined under (row_number 0), by the error's class.
REJECTION_CHECKS: dict[type[RejectedFileError], str] = {
    UnknownTableError: "unknown_table", UnsupportedFormatError: "unsupported_format", EmptyFileError: "empty_file",
    EncodingError: "encoding", ParseError: "parse", MissingColumnsError: "missing_columns",
    DuplicateColumnsError: "duplicate_columns",
}  # fmt: skip


def local_now() -> dt.datetime:
    """Wall-clock time in Asia/Shanghai, naive (the data's timestamps are naive local times)."""
    return dt.datetime.now(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


def _naive_local(t: dt.datetime) -> dt.datetime:
    return t.astimezone(LOCAL_TZ).replace(tzinfo=None) if t.tzinfo is not None else t


def load_order_key(item: tuple[Path, str]) -> tuple[int, str]:
    """Sort key: table load order first (unknown tables last), then the file's name."""
    table = tables.table_for_file(item[0].name)
    order = tables.load_order()
    rank = order.index(table) if table else len(order)
    return rank, item[1]


def ingest_folder(
    source: Path,
    db_path: Path | str | wh.Connection,
    *,
    now: dt.datetime | None = None,
    chunk_rows: int = readers.CHUNK_ROWS,
    checksums: Mapping[str, tuple[str, int]] | None = None,
    code_pattern: str | None = None,
) -> IngestReport:
    """Ingest every CSV/XLSX/Parquet file under `source` into the warehouse at `db_path`.

    `checksums` (resolved path → (sha256, size)) are digests the caller already has (the refresh's manifest), so
    those files are not read once more just to checksum them. `code_pattern`: the deployer's unit codes
    (`[units] code_pattern`) instead of GB/T 2260's."""
    found, ignored = discover(Path(source))
    if not found:
        raise SourceNotFoundError(f"no CSV, XLSX or Parquet file in {source}")
    report = _ingest(found, db_path, now=now, source=str(source), chunk_rows=chunk_rows, checksums=checksums,
                     code_pattern=code_pattern)
    report.ignored = ignored
    return report


def ingest_files(
    paths: Iterable[Path | str],
    db_path: Path | str | wh.Connection,
    *,
    now: dt.datetime | None = None,
    chunk_rows: int = readers.CHUNK_ROWS,
    code_pattern: str | None = None,
) -> IngestReport:
    """Ingest the given files (named by their file name in messages)."""
    items = [(Path(p), Path(p).name) for p in paths]
    missing = [str(p) for p, _ in items if not p.is_file()]
    if missing:
        raise SourceNotFoundError(f"no such file: {', '.join(missing)}")
    return _ingest(items, db_path, now=now, source=None, chunk_rows=chunk_rows, code_pattern=code_pattern)


def _ingest(
    items: Sequence[tuple[Path, str]],
    db_path: Path | str | wh.Connection,
    *,
    now: dt.datetime | None,
    source: str | None,
    chunk_rows: int,
    checksums: Mapping[str, tuple[str, int]] | None = None,
    code_pattern: str | None = None,
) -> IngestReport:
    load_time = _naive_local(now) if now is not None else local_now()
    with wh.connection(db_path) as con:  # an open connection (the refresh's) is used as is and left open
        con.sql("SET preserve_insertion_order = false")
        # DuckDB's buffer pool is bounded on every connection from the configuration ([warehouse] memory_limit,
        # etl.warehouse.connection.configure), so a 10M-row ingest stays well under 4 GB.
        batch_id = int(wh.scalar(con, 'SELECT coalesce(max("batch_id"), 0) + 1 FROM "ingest_batches"'))
        started = local_now()
        wh.execute(
            con,
            'INSERT INTO "ingest_batches" ("batch_id", "source", "load_time", "started_at", "status") VALUES (?, ?, ?, ?, ?)',
            [batch_id, source, load_time, started, "running"],
        )
        report = IngestReport(batch_id, wh.database_file(con))
        schema_cache: dict[str, schemas.TableSchema] = {
            t: schemas.build_schema(tables.TABLES[t], load_time=load_time, unique_key=False, code_pattern=code_pattern)
            for t in tables.TABLES if code_pattern is not None}
        state = OpenRecords.read(con)
        present = PresentKeys(con)
        ordered = sorted(items, key=load_order_key)
        ahead = readahead.Readahead(ordered, chunk_rows, lambda t: _schema(schema_cache, t, load_time), checksums,
                                    _ingested(con))  # fmt: skip
        try:
            with wh.deferred_checkpoints(con):
                for group in _groups(ordered):
                    report.files += _ingest_group(
                        con, group, _Batch(batch_id, load_time, schema_cache, chunk_rows, state, present, ahead)
                    )
        finally:
            ahead.close()
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


def _schema(cache: dict[str, schemas.TableSchema], table: str, load_time: dt.datetime) -> schemas.TableSchema:
    """The table's schema for this batch (built once; `cache` may hold the deployer's code_pattern ones)."""
    ts = cache.get(table)
    if ts is None:
        ts = cache[table] = schemas.build_schema(tables.TABLES[table], load_time=load_time, unique_key=False)
    return ts


def _ingested(con: wh.Connection) -> set[tuple[str, str | None]]:
    """(sha256, table) of the files whose bytes were ingested (loaded or partial): what `_ingest_one` finds as
    'unchanged'. The read-ahead does not read them (readahead.Readahead.done); the batch adds its own."""
    rows = con.sql('SELECT DISTINCT "sha256", "table_name" FROM "ingest_files" '
                   "WHERE \"status\" NOT IN ('unchanged', 'rejected') AND \"sha256\" IS NOT NULL").fetchall()
    return {(r[0], r[1]) for r in rows}


class _GroupFailure(Exception):
    """A file failed inside a group's shared transaction: the group is rolled back and replayed file by file."""


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _groups(items: Sequence[tuple[Path, str]]) -> Iterator[list[tuple[Path, str]]]:
    """Consecutive files (in load order) that share one transaction: up to GROUP_BYTES of input each. A file of
    GROUP_BYTES or more is a group of its own."""
    group: list[tuple[Path, str]] = []
    size = 0
    for item in items:
        n = _file_size(item[0])
        if group and size + n > GROUP_BYTES:
            yield group
            group, size = [], 0
        group.append(item)
        size += n
    if group:
        yield group


class _Batch(NamedTuple):
    """What every file of a batch is ingested with (_ingest_one's arguments but the file's own)."""

    batch_id: int
    load_time: dt.datetime
    schema_cache: dict[str, schemas.TableSchema]
    chunk_rows: int
    state: OpenRecords
    present: PresentKeys
    ahead: readahead.Readahead  # the files' digests and chunks, read one file ahead on a worker thread


def _ingest_group(con: wh.Connection, group: Sequence[tuple[Path, str]], b: _Batch) -> list[FileReport]:
    """Ingest a group of files in ONE transaction, each file's rows with its log line (module docstring: rows,
    quarantine records and the ingest_files line of a file are committed together or not at all).

    One COMMIT per file cost a fifth of the ingest: a file under DuckDB's row group size (122,880 rows: the monthly
    case, ticket and kiosk files) is written to the write-ahead log at its commit and again at the checkpoint,
    where a group's rows of one table fill whole row groups that go to the database file once. When a file of the
    group fails while loading (a RejectedFileError from a later chunk, an unforeseen error), the whole group is
    rolled back and replayed file by file, each in its own transaction as a single file is, so the files before it
    stay loaded and the failing one is rejected with nothing of it left; an interrupt rolls the group back and stops
    the batch (no file is ever half-loaded)."""

    def one(path: Path, name: str, grouped: bool) -> FileReport:
        read = b.ahead.take(path, name)
        try:
            rep = _ingest_one(con, path, name, b.batch_id, b.load_time, b.schema_cache, b.chunk_rows, b.state,
                              read.known, b.present, grouped=grouped, read=read)  # fmt: skip
        finally:
            read.close()
        if rep.status in ("loaded", "partial"):
            b.ahead.done.add((rep.sha256, rep.table))
        return rep

    if len(group) == 1:
        return [one(*group[0], grouped=False)]
    con.sql("BEGIN TRANSACTION")
    try:
        done = [one(path, name, grouped=True) for path, name in group]
    except _GroupFailure:
        con.sql("ROLLBACK")
        b.state.reset(con)  # what the rolled-back files added to the batch's caches is gone from the warehouse
        b.present.clear()
        return [one(path, name, grouped=False) for path, name in group]
    except BaseException:
        con.sql("ROLLBACK")
        raise
    con.sql("COMMIT")
    return done


def _ingest_one(
    con: wh.Connection,
    path: Path,
    name: str,
    batch_id: int,
    load_time: dt.datetime,
    schema_cache: dict[str, schemas.TableSchema],
    chunk_rows: int,
    state: OpenRecords,
    known: tuple[str, int] | None = None,
    present: PresentKeys | None = None,
    grouped: bool = False,
    read: readahead.FileRead | None = None,
) -> FileReport:
    """One file, in its own transaction; or, `grouped`, inside the group's (_ingest_group), where a failure while
    loading raises _GroupFailure for the group to be replayed file by file. `read`: the file's digest and chunks
    (read ahead on the worker thread, readahead.Readahead); read here when not given."""
    if read is None:
        ts = _schema(schema_cache, t, load_time) if (t := tables.table_for_file(path.name)) in tables.TABLES else None
        read = readahead.FileRead(path, name, known, ts, chunk_rows)
    started = local_now()
    file_id = int(wh.scalar(con, 'SELECT coalesce(max("file_id"), 0) + 1 FROM "ingest_files"'))
    rep = FileReport(path=str(path.resolve()), name=name, table=tables.table_for_file(path.name), file_id=file_id)
    try:
        rep.sha256, rep.size = read.digest()
    except OSError as e:
        msg = messages.file_message("cannot_read", file=name, detail=e.strerror or type(e).__name__)
        return _finish(con, rep, batch_id, started, "rejected", msg, state, check="cannot_read")
    previous = wh.query(
        con,
        'SELECT "file_id", "file_name", "batch_id", "status" FROM "ingest_files" WHERE "sha256" = ? '
        'AND "table_name" IS NOT DISTINCT FROM ? AND "status" NOT IN (\'unchanged\', \'rejected\') '
        'ORDER BY "file_id" LIMIT 1',
        [rep.sha256, rep.table],
    )
    if previous.height:
        prev = previous.row(0, named=True)
        notes = [messages.note("unchanged", file=prev["file_name"], batch=prev["batch_id"], status=prev["status"])]
        still = _open_quarantined_rows(con, int(prev["file_id"]))
        if still:  # the same bytes are not checked again: say how to retry them (module docstring)
            notes.append(messages.note("unchanged_open", n=still, file=prev["file_name"]))
        return _finish(con, rep, batch_id, started, "unchanged", messages.join_notes(notes), state)
    try:
        src = read.source()
        rep.encoding = src.encoding
        if grouped:
            try:
                _load(con, src, rep, batch_id, load_time, schema_cache, chunk_rows, state, present or PresentKeys(con),
                      read.chunks())
            except Exception as e:
                raise _GroupFailure(name) from e
            except BaseException as e:
                if _is_file_failure(e):
                    raise _GroupFailure(name) from e
                raise
        else:
            con.sql("BEGIN TRANSACTION")
            try:
                _load(con, src, rep, batch_id, load_time, schema_cache, chunk_rows, state, present or PresentKeys(con),
                      read.chunks())
            except BaseException:
                con.sql("ROLLBACK")
                raise
            con.sql("COMMIT")
    except _GroupFailure:
        raise
    except RejectedFileError as e:
        _zero(rep)
        check = next((c for k, c in REJECTION_CHECKS.items() if isinstance(e, k)), "rejected")
        return _finish(con, rep, batch_id, started, "rejected", str(e), state, check=check)
    except BaseException as e:  # a file nobody foresaw must not stop the batch: reject it, loudly, and go on
        if not _is_file_failure(e):
            raise
        _zero(rep)
        # The library's text (temp paths, internals) goes to the log for the administrator, not to the clerk.
        log.exception("unexpected error while ingesting %s", name)
        msg = messages.file_message("unexpected", file=name, error=type(e).__name__)
        return _finish(con, rep, batch_id, started, "rejected", msg, state, check="unexpected")
    finally:
        if not (grouped and sys.exc_info()[0] is _GroupFailure):  # else the transaction may be aborted: the group's
            Stage.clear(con)  # rollback drops the temp tables, its replay the view
            con.sql(f"DROP TABLE IF EXISTS {wh.quote(DUP_KEYS)}")
    status = "partial" if rep.rows_quarantined else "loaded"
    return _finish(con, rep, batch_id, started, status, rep.message, state)


def _is_file_failure(e: BaseException) -> bool:
    """An error that belongs to the file being read, not to the process: any Exception, and a Rust panic from a
    pyo3 reader (polars, fastexcel), which Python sees as a BaseException named PanicException. Interrupts and
    exits still stop the batch."""
    return isinstance(e, Exception) or type(e).__name__ == "PanicException"


@dataclass
class OpenRecords:
    """What the warehouse's quarantine holds unresolved, read once per batch and kept up to date by it, so files
    with nothing to resolve (nearly all) cost no quarantine query."""

    rejected_files: set[str]  # source files with an open whole-file rejection record
    tables: set[str]  # tables with open row-level records

    def reset(self, con: wh.Connection) -> None:
        """Read again from the warehouse (after a rolled-back group)."""
        fresh = OpenRecords.read(con)
        self.rejected_files, self.tables = fresh.rejected_files, fresh.tables

    @classmethod
    def read(cls, con: wh.Connection) -> OpenRecords:
        q = wh.query(
            con,
            'SELECT DISTINCT "source_file", "table_name", "row_number" = 0 AS whole FROM "quarantine" '
            'WHERE "resolved_by_file_id" IS NULL',
        )
        return cls(
            set(q.filter(pl.col("whole"))["source_file"].to_list()), set(q.filter(~pl.col("whole"))["table_name"].to_list())
        )


class PresentKeys:
    """The referenced keys (Column.references) a batch has found in the warehouse, so the next file that names
    them is not checked against the warehouse again: the 16 district codes and few thousand item codes every monthly
    file repeats cost one look-up per batch instead of one per file and column.

    Every reference is to a primary key, and a batch never takes a key out of the warehouse (a superseded row is
    replaced by one with the same key), so a key once found stays found for the rest of the batch. A look-up runs
    inside the file's transaction before its rows are written, so what it finds is committed by earlier files (a
    file rolled back later cannot leave a key here that it wrote itself). A column whose found keys outgrow
    MAX_CACHED is not cached at all from then on (case ids: a new month's are new, so the cache would never hit, and
    filtering every file's values through it cost a hash table of all its keys per file)."""

    MAX_CACHED = 100_000

    def __init__(self, con: wh.Connection) -> None:
        self.con = con
        self.found: dict[tuple[str, str], pl.Series] = {}
        self.uncached: set[tuple[str, str]] = set()

    def missing(self, ref_table: str, ref_col: str, values: pl.Series) -> pl.Series:
        """The distinct `values` not in ref_table.ref_col (schemas.MissingLookup)."""
        col = (ref_table, ref_col)
        known = self.found.get(col)
        todo = values if known is None else values.filter(~values.is_in(known.implode()))
        if todo.len() == 0:
            return values.clear()
        absent = wh.missing_values(self.con, ref_table, ref_col, todo)
        if col not in self.uncached:
            new = todo.filter(~todo.is_in(absent.implode())).unique()
            grown = new if known is None else pl.concat([known, new])
            if grown.len() > self.MAX_CACHED:
                self.found.pop(col, None)
                self.uncached.add(col)
            else:
                self.found[col] = grown
        return absent

    def clear(self) -> None:
        """Forget every key (after a rolled-back group: what it found may have been its own rows)."""
        self.found.clear()
        self.uncached.clear()


def _zero(rep: FileReport) -> None:
    rep.rows_in = rep.rows_loaded = rep.rows_quarantined = rep.rows_duplicate = rep.rows_superseded = 0
    rep.rows_blank = rep.rows_resolved = 0


INGEST_FILES_COLUMNS = (
    "file_id", "batch_id", "path", "file_name", "table_name", "sha256", "size_bytes", "rows_in", "rows_loaded",
    "rows_quarantined", "rows_duplicate", "rows_superseded", "encoding", "status", "message", "started_at",
    "finished_at", "rows_blank",
)  # fmt: skip


def _open_quarantined_rows(con: wh.Connection, file_id: int) -> int:
    """Rows of an ingested file still quarantined (no later file loaded their key)."""
    return int(wh.scalar(con, 'SELECT count(DISTINCT "row_number") FROM "quarantine" WHERE "file_id" = ? '
                              'AND "row_number" > 0 AND "resolved_by_file_id" IS NULL', [file_id]))


def _finish(
    con: wh.Connection,
    rep: FileReport,
    batch_id: int,
    started: dt.datetime,
    status: str,
    message: str,
    state: OpenRecords,
    check: str | None = None,
) -> FileReport:
    """Write the file's log line; a rejected file (`check` = kind of rejection) also gets a quarantine record."""
    rep.status, rep.message = status, message
    rep.check()
    cols = ", ".join(wh.quote(c) for c in INGEST_FILES_COLUMNS)
    wh.execute(
        con,
        f'INSERT INTO "ingest_files" ({cols}) VALUES ({", ".join("?" * len(INGEST_FILES_COLUMNS))})',
        [rep.file_id, batch_id, rep.path, rep.name, rep.table, rep.sha256, rep.size, rep.rows_in, rep.rows_loaded,
         rep.rows_quarantined, rep.rows_duplicate, rep.rows_superseded, rep.encoding, rep.status, rep.message,
         started, local_now(), rep.rows_blank],
    )  # fmt: skip
    if status in ("rejected", "loaded", "partial") and rep.name in state.rejected_files:
        # A file's whole-file rejection record stands for its latest state: a new rejection replaces it, a load
        # of the same file name resolves it (the ingest_files log keeps the history).
        earlier = '"source_file" = ? AND "row_number" = 0 AND "resolved_by_file_id" IS NULL'
        if status == "rejected":
            wh.execute(con, f'DELETE FROM "quarantine" WHERE {earlier}', [rep.name])
        else:
            wh.execute(con, f'UPDATE "quarantine" SET "resolved_by_file_id" = ? WHERE {earlier}', [rep.file_id, rep.name])
    if status == "rejected" and check is not None:
        record = {
            "file_id": rep.file_id, "batch_id": batch_id, "table_name": rep.table or "?", "source_file": rep.name,
            "row_number": 0, "column_name": None, "check_name": check, "value": None, "reason": message,
            "original_row": "",
        }  # fmt: skip
        write_quarantine(con, pl.DataFrame([record], schema=QUARANTINE_SCHEMA))
        state.rejected_files.add(rep.name)
    elif status in ("loaded", "partial"):
        state.rejected_files.discard(rep.name)
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
    state: OpenRecords,
    present: PresentKeys,
    prepared: Iterable[readahead.Prepared] | None = None,
) -> None:
    """Load one file's rows (`prepared`: its chunks cast and cell-checked, e.g. on the read-ahead thread; read and
    checked here when not given)."""
    table = tables.TABLES[src.table]
    ts = _schema(schema_cache, src.table, load_time)
    stage = Stage(con, table)  # the typed rows that passed every check, chunk by chunk
    notes: list[tuple[str, str]] = []
    failures_seen: list[pl.DataFrame] = []
    refs: list[pl.DataFrame] = []  # a resubmission's rows: (_row, the quarantined row it corrects)
    absent_noted = False
    ctx = Ctx(rep.file_id, batch_id, src.table, src.name, None)

    for chunk, typed, checks in prepared if prepared is not None else readahead.prepared_chunks(src, chunk_rows, ts):
        if ctx.sheet is None and chunk.sheet is not None:
            ctx = ctx._replace(sheet=chunk.sheet)
            if chunk.header_row != 1:
                notes.append(messages.note("header_row", row=chunk.header_row))
        if chunk.absent and not absent_noted:
            notes.append(messages.note("absent", columns=", ".join(chunk.absent)))
            absent_noted = True
        rep.rows_in += chunk.frame.height + len(chunk.structural) + chunk.blank
        rep.rows_blank += chunk.blank
        if chunk.structural:
            q = structural_records(chunk.structural, ctx)
            write_quarantine(con, q)
            failures_seen.append(q.select("row_number", "column_name", "check_name", "value"))
            rep.rows_quarantined += len({s.row for s in chunk.structural})
        fails = row_failures(chunk.frame, typed, ts, table, present.missing, checks)
        if fails.height:
            q = failure_records(fails, chunk.frame, ctx)
            write_quarantine(con, q)
            failures_seen.append(q.select("row_number", "column_name", "check_name", "value"))
            bad = fails[readers.ROW].unique()
            rep.rows_quarantined += bad.len()
            good = typed.frame.filter(~pl.col(readers.ROW).is_in(bad.implode()))
        else:
            good = typed.frame
        if readers.RESUBMIT in chunk.frame.columns:
            refs.append(chunk.frame.select(readers.ROW, readers.RESUBMIT).filter(pl.col(readers.ROW).is_in(good[readers.ROW].implode())))
        stage.append(good)
    _dedupe_and_load(con, table, rep, ctx, stage.show(), failures_seen)
    rep.rows_resolved = resolve_named(con, rep, pl.concat(refs)) if refs else 0
    if table.name in state.tables:
        rep.rows_resolved += resolve_earlier(con, table, rep, STAGE)
    if rep.rows_quarantined:
        state.tables.add(table.name)
    if rep.rows_superseded:
        notes.append(messages.note("superseded", n=rep.rows_superseded))
    if rep.rows_resolved:
        notes.append(messages.note("resolved", n=rep.rows_resolved))
    if rep.rows_duplicate:
        notes.append(messages.note("duplicate", n=rep.rows_duplicate))
    if rep.rows_blank:
        notes.append(messages.note("blank", n=rep.rows_blank))
    if rep.rows_in == rep.rows_blank:
        notes.append(messages.note("no_rows"))
    q_all = pl.concat(failures_seen) if failures_seen else None
    if q_all is not None and q_all.height:
        notes.insert(0, summarise(q_all, rep.rows_quarantined, src.name))
    rep.message = messages.join_notes(notes)


def _check_sequences(
    con: wh.Connection, table: tables.Table, rep: FileReport, ctx: Ctx, st: Stage, seen: list[pl.DataFrame]
) -> None:
    """Quarantine the staged rows that break a rule across rows (etl.ingest.sequences) and drop them from the stage.

    The quarantined row's `original_row` is the row as checked (typed values written as text)."""
    fails = sequences.failures(con, table, STAGE, None if st.spilled else st.frame)
    if fails.height == 0:
        return
    rows = fails[readers.ROW].unique()
    with wh.registered(con, "_govindex_seq_rows", rows.to_frame()) as view:
        raw = wh.query(con, f'SELECT * FROM {wh.quote(STAGE)} WHERE "_row" IN (SELECT "_row" FROM {view})')
    q = failure_records(fails, raw, ctx)
    write_quarantine(con, q)
    seen.append(q.select("row_number", "column_name", "check_name", "value"))
    rep.rows_quarantined += st.drop(rows)


# --------------------------------------------------------------------------------------------- dedupe + load
class Stage:
    """A file's rows that passed every check, shown to SQL as STAGE for the dedupe and the final insert.

    A file of up to STAGE_MEMORY_BYTES is held as polars frames and shown as an arrow view (zero-copy), so its rows
    are written once, into the target table; rows the dedupe drops are filtered out and the view re-registered.
    A larger file (the scale-25 rating export: 8M rows) spills into a temp table as it is read, chunk by chunk,
    inside DuckDB's memory limit, so the ingest's peak memory stays bounded whatever the file's size.
    """

    def __init__(self, con: wh.Connection, table: tables.Table) -> None:
        self.con, self.table = con, table
        self.frames: list[pl.DataFrame] = []
        self.size = 0
        self.spilled = False
        self._unique_key: bool | None = None  # no two rows share a key (found by may_repeat)

    def append(self, frame: pl.DataFrame) -> None:
        self._unique_key = None
        if self.spilled:
            wh.insert_frame(self.con, STAGE, frame)
            return
        self.frames.append(frame)
        self.size += int(frame.estimated_size())
        if self.size > STAGE_MEMORY_BYTES:
            cols = ", ".join(f"{wh.quote(c.name)} {ddl.SQL_TYPES[c.dtype]}" for c in self.table.columns)
            self.con.sql(f'CREATE TEMP TABLE {wh.quote(STAGE)} ({cols}, "_row" BIGINT)')
            for f in self.frames:
                wh.insert_frame(self.con, STAGE, f)
            self.frames, self.spilled = [], True

    def show(self) -> Stage:
        """Make STAGE readable (after the last append)."""
        if not self.spilled:
            self._show()
        return self

    @property
    def frame(self) -> pl.DataFrame:
        schema = {**wh.polars_schema(self.table), readers.ROW: pl.Int64()}
        return pl.concat(self.frames, rechunk=False) if self.frames else pl.DataFrame(schema=schema)

    def _show(self) -> None:
        self.con.unregister(STAGE)
        self.con.register(STAGE, wh.arrow_view(self.frame))

    @staticmethod
    def clear(con: wh.Connection) -> None:
        """Remove the view or the temp table (no-op when there is none)."""
        con.unregister(STAGE)
        con.sql(f"DROP TABLE IF EXISTS {wh.quote(STAGE)}")

    @property
    def height(self) -> int:
        return wh.row_count(self.con, STAGE) if self.spilled else sum(f.height for f in self.frames)

    def drop(self, rows: pl.Series) -> int:
        """Drop the rows whose `_row` is in `rows`; returns how many were dropped."""
        if rows.len() == 0:
            return 0
        before = self.height
        if self.spilled:
            with wh.registered(self.con, "_govindex_drop", rows.rename(readers.ROW).to_frame()) as view:
                wh.execute(self.con, f'DELETE FROM {wh.quote(STAGE)} WHERE "_row" IN (SELECT "_row" FROM {view})')
        else:
            self.frames = [self.frame.filter(~pl.col(readers.ROW).is_in(rows.implode()))]
            self._show()
        return before - self.height

    def may_repeat(self, key: Sequence[str]) -> bool:
        """False when no two rows share a key (checked in polars for a file held in memory, the common case: a hash of
        the key columns, without a temp table); True when they may (a spilled stage is checked in SQL).

        As many distinct row hashes as rows proves the keys unique (equal keys hash alike); a hash collision only
        sends the file to the exact check in SQL. Counting the hashes is ~10x cheaper than counting the key structs
        (which compares the strings themselves)."""
        if self.spilled:
            return True
        if self._unique_key is None:
            self._unique_key = self.frame.select(list(key)).hash_rows().n_unique() == self.height
        return not self._unique_key

    def drop_where(self, sql: str, params: Sequence[object] | None = None) -> int:
        """Drop the rows a query (selecting `_row` from STAGE) returns; returns how many were dropped."""
        return self.drop(wh.query(self.con, sql, params)[readers.ROW])


def key_json_sql(quoted_key: Sequence[str], alias: str) -> str:
    """SQL for a row's key as JSON ({"col": value, ...}), reading the quoted key columns from table alias `alias`."""
    return "to_json(struct_pack(" + ", ".join(f"{k} := {alias}.{k}" for k in quoted_key) + "))"


def _dedupe_and_load(
    con: wh.Connection, table: tables.Table, rep: FileReport, ctx: Ctx, st: Stage, seen: list[pl.DataFrame] | None = None
) -> None:
    """Within-file duplicates, then duplicates/conflicts against the warehouse, then the insert (in SQL over the
    stage view; dropped rows are filtered out of the stage frame)."""
    file_id, batch_id, tname, name, sheet = ctx
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
    repeats = st.may_repeat(table.primary_key)
    if repeats:
        wh.execute(con, f"CREATE OR REPLACE TEMP TABLE {dup} AS SELECT {key_list} FROM {stage} GROUP BY {key_list} HAVING count(*) > 1")
    if repeats and wh.row_count(con, DUP_KEYS):
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
                pl.Series("reason", [
                    messages.cell("conflicting_duplicate", file=name, sheet=sheet, row=r["_row"], column=keycols,
                                  value=r["key"], detail=", ".join(str(x) for x in sorted(r["rows"])))
                    for r in conflicts.iter_rows(named=True)
                ], dtype=pl.String),
                "original_row",
            )  # fmt: skip
            write_quarantine(con, records)
            rep.rows_quarantined += records.height
            st.drop(conflicts["_row"])
        # 2. Identical copies within the file: keep the first, count the rest.
        rep.rows_duplicate += st.drop_where(
            f'SELECT "_row" FROM (SELECT s."_row", row_number() OVER '
            f'(PARTITION BY {", ".join("s." + k for k in key)} ORDER BY s."_row") AS n FROM {dup_rows} AS s) WHERE n > 1'
        )
    wh.execute(con, f"DROP TABLE IF EXISTS {dup}")
    # 2b. Rules across rows (a case's steps) need the whole file with its keys settled: checked here.
    if table.across_rows:
        _check_sequences(con, table, rep, ctx, st, seen if seen is not None else [])
    # 3. Identical to a warehouse row: duplicate. The warehouse is read only within the range of the file's first
    # key column (wh.value_range: its row groups outside it are skipped, the result is the same).
    span = wh.value_range(con, stage, key[0]) if st.height and wh.row_count(con, table.name) else []
    on_t = f"{on} AND t.{key[0]} BETWEEN ? AND ?"
    if span and not wh.scalar(con, f"SELECT EXISTS (SELECT 1 FROM {target} AS t WHERE t.{key[0]} BETWEEN ? AND ?)", span):
        span = []  # no warehouse row in the file's key range (a new month): nothing to compare, no join
    overlap = bool(span) and int(
        wh.scalar(con, f"SELECT count(*) FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {on_t})", span)
    )
    if overlap:
        rep.rows_duplicate += st.drop_where(
            f'SELECT s."_row" FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {target} AS t WHERE {on_t} AND {same})', span
        )
        # 4. Same key, different content: this (later) file supersedes the warehouse row.
        n_conf = int(wh.scalar(con, f"SELECT count(*) FROM {stage} AS s JOIN {target} AS t ON {on_t}", span))
        if n_conf:
            wh.execute(
                con,
                f'INSERT INTO "superseded" SELECT ?, {key_json_sql(key, "t")}, to_json(struct_pack('
                + ", ".join(f"{wh.quote(c)} := t.{wh.quote(c)}" for c in table.column_names)
                + f'))::VARCHAR, ?, ?, s."_row", ? FROM {stage} AS s JOIN {target} AS t ON {on_t}',
                [table.name, file_id, name, local_now(), *span],
            )
            wh.execute(con, f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {on_t})", span)
            rep.rows_superseded += n_conf
    rep.rows_loaded = st.height
    if st.height:
        wh.execute(con, f"INSERT INTO {target} ({all_cols}) SELECT {all_cols} FROM {stage}")
