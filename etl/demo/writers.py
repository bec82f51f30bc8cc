"""File writers with the messiness of real exports: GB18030 and BOM CSV, one XLSX, Parquet split by month."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from etl.demo.report import FileRecord


@dataclass(frozen=True)
class Layout:
    """How the demo writes one table."""

    format: str  # csv, xlsx, parquet
    encoding: str  # utf-8, utf-8-sig, gb18030, binary
    monthly: bool  # one file per month (<table>_YYYY-MM.<ext>) or one file
    crlf: bool = False  # Windows line endings, as exported by desktop tools

    def file(self, table: str, month: str | None = None) -> str:
        ext = {"csv": "csv", "xlsx": "xlsx", "parquet": "parquet"}[self.format]
        return f"{table}_{month}.{ext}" if self.monthly and month else f"{table}.{ext}"


LAYOUT: dict[str, Layout] = {
    "district": Layout("csv", "gb18030", False, crlf=True),
    "service_item": Layout("csv", "gb18030", False, crlf=True),
    "case": Layout("parquet", "binary", True),
    "rating": Layout("csv", "utf-8", False),
    "bad_rating_followup": Layout("csv", "utf-8", False),
    "hotline_ticket": Layout("csv", "gb18030", True, crlf=True),
    "survey_response": Layout("xlsx", "binary", False),
    "kiosk_event": Layout("parquet", "binary", True),
    "centre_staffing": Layout("csv", "utf-8-sig", False),
    "case_event": Layout("parquet", "binary", True),
    "queue_ticket": Layout("csv", "utf-8", True),
}

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
# A fixed workbook creation date: xlsxwriter would otherwise stamp the current time and break byte-identity.
XLSX_CREATED = _dt.datetime(2026, 1, 1, 0, 0, 0)


def to_text(df: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, formatted as the CSV will hold it, so defects can put any text in any field."""
    exprs = []
    for name, dtype in df.schema.items():
        c = pl.col(name)
        if dtype == pl.Datetime:
            exprs.append(c.dt.strftime(DATETIME_FORMAT))
        elif dtype == pl.Date:
            exprs.append(c.dt.strftime(DATE_FORMAT))
        elif dtype == pl.Boolean:
            exprs.append(pl.when(c).then(pl.lit("true")).when(c.not_()).then(pl.lit("false")).alias(name))
        else:
            exprs.append(c.cast(pl.Utf8))
    return df.select(exprs)


class Writer:
    """Writes table files into out_dir, appending to single-file CSVs across months, and records every file."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._records: dict[str, FileRecord] = {}

    def write(self, table: str, df: pl.DataFrame, month: str | None = None) -> str:
        """Write (or append) df for `table`; returns the file name. CSV frames must already be text (to_text)."""
        lay = LAYOUT[table]
        name = lay.file(table, month)
        path = self.out_dir / name
        if lay.format == "csv":
            self._csv(path, df, lay, append=name in self._records)
        elif lay.format == "parquet":
            df.write_parquet(path, compression="zstd", statistics=True)
        else:
            self._xlsx(path, df, table)
        rec = self._records.get(name)
        rows = (rec.rows if rec else 0) + len(df)
        self._records[name] = FileRecord(file=name, table=table, format=lay.format, encoding=lay.encoding, rows=rows)
        return name

    @property
    def files(self) -> list[FileRecord]:
        return sorted(self._records.values(), key=lambda r: r.file)

    @staticmethod
    def _csv(path: Path, df: pl.DataFrame, lay: Layout, append: bool) -> None:
        text = df.write_csv(include_header=not append, line_terminator="\r\n" if lay.crlf else "\n")
        data = text.encode("gb18030" if lay.encoding == "gb18030" else "utf-8")
        if lay.encoding == "utf-8-sig" and not append:
            data = b"\xef\xbb\xbf" + data
        with path.open("ab" if append else "wb") as f:
            f.write(data)

    @staticmethod
    def _xlsx(path: Path, df: pl.DataFrame, sheet: str) -> None:
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": XLSX_CREATED, "author": "govindex demo"})
        df.write_excel(wb, worksheet=sheet, autofilter=False, dtype_formats={pl.Date: "yyyy-mm-dd"},
                       float_precision=3)
        wb.close()
