"""A "fix and resubmit" sheet per source file: its rejected rows, ready for the clerk to correct and send back.

`resubmit_frame` gives one row per quarantined input row of a file (never one per failed check): the row's values
in the table's own columns (as written in the file), then RESUBMIT_HEADER ("rating_1.csv:8": which quarantined
row it corrects) and REASON_HEADER (every reason of that row, Chinese first, joined by line breaks). A ragged CSV
line (wrong number of fields) cannot be split into columns: its cells are left empty and its original text is in
the reason. `write_resubmit` writes it as CSV (UTF-8 with BOM, opens in Excel). Saved under the table's name (e.g.
rating_fix.csv) and ingested, the corrected rows load and their quarantine records are resolved (the ingest reads
RESUBMIT_HEADER; the reason column is ignored). Rows already resolved by a later file are left out.

Cells that a spreadsheet would run as a formula (=, +, -, @ at the start, except plain numbers) are written with a
leading apostrophe; ingest strips nothing, so such a value must be corrected anyway (a local helper until the
exports share one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from etl.contract import tables
from etl.ingest import messages
from etl.ingest.rejects import RAW_LINE
from etl.ingest.readers import RESUBMIT_HEADER
from etl.warehouse import connection as wh

REASON_HEADER = "原因 / reason"
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class NothingToResubmitError(LookupError):
    """The file has no open (unresolved) quarantined rows, or no such file was ingested."""


def neutralise(text: str) -> str:
    """`text`, with a leading apostrophe when a spreadsheet would read it as a formula (plain numbers untouched)."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(text):
        return "'" + text
    return text


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _open_records(db: Path | str | wh.Connection, source_file: str) -> pl.DataFrame:
    sql = (
        'SELECT "file_id", "table_name", "source_file", "row_number", "reason", "original_row" FROM "quarantine" '
        'WHERE ("source_file" = ? OR "source_file" LIKE ?) AND "row_number" > 0 AND "resolved_by_file_id" IS NULL '
        'ORDER BY "file_id", "row_number", "column_name"'
    )
    q = wh.query(db, sql, [source_file, f"%/{source_file}"])
    if q.height == 0:
        return q
    return q.filter(pl.col("file_id") == pl.col("file_id").max())  # the newest ingest of that file name


def resubmit_frame(db: Path | str | wh.Connection, source_file: str) -> pl.DataFrame:
    """One row per open quarantined row of `source_file`: its values in the table's columns, source row, reasons."""
    q = _open_records(db, source_file)
    if q.height == 0:
        raise NothingToResubmitError(source_file)
    table = tables.TABLES[q["table_name"][0]]
    rows = (
        q.group_by("row_number", maintain_order=True)
        .agg(pl.col("source_file").first(), pl.col("original_row").first(), pl.col("reason").unique(maintain_order=True))
        .sort("row_number")
    )
    originals: list[dict[str, object]] = []
    seen: set[str] = set()
    for r in rows.iter_rows(named=True):
        try:
            orig = json.loads(r["original_row"]) if r["original_row"] else {}
        except json.JSONDecodeError:
            orig = {}
        originals.append(orig)
        seen.update(orig)
    columns = [c for c in table.column_names if c in seen] or list(table.column_names)
    out: dict[str, list[str]] = {c: [] for c in columns}
    out[RESUBMIT_HEADER], out[REASON_HEADER] = [], []
    for r, orig in zip(rows.iter_rows(named=True), originals):
        for c in columns:
            out[c].append(neutralise(_cell(orig.get(c))))
        reasons = list(r["reason"])
        if RAW_LINE in orig:
            z, e = messages.note("original_line", text=orig[RAW_LINE])
            reasons.append(f"{z}{messages.SEP}{e}")
        out[RESUBMIT_HEADER].append(f"{r['source_file']}:{r['row_number']}")
        out[REASON_HEADER].append(neutralise("\n".join(reasons)))
    return pl.DataFrame(out, schema={c: pl.String for c in out})


def write_resubmit(db: Path | str | wh.Connection, source_file: str, out: Path) -> int:
    """Write the resubmit sheet of `source_file` to `out` (CSV, UTF-8 with BOM); return the number of rows."""
    frame = resubmit_frame(db, source_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode("utf-8"))
    return frame.height


def suggested_name(db: Path | str | wh.Connection, source_file: str) -> str:
    """A file name the ingest maps to the right table: <table>_fix_<stem>.csv."""
    q = _open_records(db, source_file)
    if q.height == 0:
        raise NothingToResubmitError(source_file)
    stem = Path(q["source_file"][0]).stem
    return f"{q['table_name'][0]}_fix_{stem}.csv"
