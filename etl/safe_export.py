"""Exports that cannot carry a live spreadsheet formula: the one place CSV cells and XLSX sheets are made safe.

Quarantined values come straight from uploaded files, and names, rationales and district names are free text; a
cell that starts with = + - @ (or a tab / carriage return) is run as a formula by Excel and LibreOffice when the
file is opened (`=HYPERLINK(...)`, `=cmd|...`). Every export (the app's CSV and XLSX downloads, `govindex quarantine
--csv`, `govindex weights history --csv`) goes through `neutralise`:
- CSV: such a text cell gets a leading apostrophe, which spreadsheets show as text;
- XLSX: every text cell is written with `write_string` (never `write`, which turns "=..." into a formula), and such
  cells also get Excel's quote-prefix format, so editing the cell does not turn it into a formula either.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_text(value: object) -> bool:
    """Whether a spreadsheet would read this text cell as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: Any) -> Any:
    """The value as a CSV cell: formula-looking text gets a leading apostrophe; anything else is returned as is."""
    return "'" + value if is_formula_text(value) else value


def neutralise_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: neutralise(v) for k, v in row.items()}


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `frame` through `neutralise` (numbers, dates and nulls are left alone)."""
    def fix(c: str) -> pl.Expr:  # `neutralise`, vectorised (a quarantine export can be large)
        risky = pl.any_horizontal([pl.col(c).str.starts_with(p) for p in FORMULA_START]).fill_null(False)
        return pl.when(risky).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)

    cols = [fix(c) for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(cols) if cols else frame


def csv_text(frame: pl.DataFrame) -> str:
    """`frame` as CSV text with formulas neutralised (add a BOM when writing for Excel)."""
    return csv_safe(frame).write_csv()


def write_sheet(workbook: Any, name: str, frame: pl.DataFrame) -> None:
    """`frame` as a worksheet of an xlsxwriter Workbook: a bold header, text written as text (never a formula),
    numbers as numbers, nulls and NaN blank; column widths fit the longest cell (capped)."""
    ws = workbook.add_worksheet(name[:31])
    bold = workbook.add_format({"bold": True})
    quoted = workbook.add_format({"quote_prefix": True})
    widths = [len(str(c)) for c in frame.columns]
    for j, col in enumerate(frame.columns):
        ws.write_string(0, j, str(col), bold)
    for i, row in enumerate(frame.iter_rows(), start=1):
        for j, value in enumerate(row):
            _write_cell(ws, i, j, value, quoted)
            widths[j] = max(widths[j], len(str(value)) if value is not None else 0)
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(60, w + 2))


def _write_cell(ws: Any, i: int, j: int, value: Any, quoted: Any) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        ws.write_blank(i, j, None)
    elif isinstance(value, bool):
        ws.write_boolean(i, j, value)
    elif isinstance(value, (int, float)) and math.isfinite(value):
        ws.write_number(i, j, value)
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_string(i, j, value.isoformat())
    elif isinstance(value, str):
        ws.write_string(i, j, value, quoted if is_formula_text(value) else None)
    elif isinstance(value, Iterable):
        text = ", ".join(str(v) for v in value)
        ws.write_string(i, j, text, quoted if is_formula_text(text) else None)
    else:
        text = str(value)
        ws.write_string(i, j, text, quoted if is_formula_text(text) else None)
