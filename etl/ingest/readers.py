"""Read one source file (CSV in UTF-8/UTF-8-BOM/GB18030, XLSX, Parquet) into polars frames of raw values.

Every frame carries `_row`, the 1-based row number a person sees when opening the file in their own program: for
CSV the header is row 1 and the first record row 2 (the record number, which equals the text line number unless a
quoted cell spans several lines); for XLSX it is the sheet's own row number (the header may sit below blank or title
rows: it is found as the first row, among the first HEADER_SEARCH_ROWS, that holds the table's required columns);
for Parquet it is the record index + 1, so "row N" means the same as for a CSV export of it.

Blank rows (every cell of the file's contract columns empty or whitespace, e.g. an empty line or ",,,," in a CSV, an
empty row in a sheet) are not data: they are dropped from the frame and counted in `Chunk.blank`.

CSV and XLSX values are read as strings so that a bad value ("abc" in an int column) is quarantined for its row
instead of failing the file; `etl.ingest.cast` then casts each column to the contract's dtype. CSV rows with the wrong
number of fields come back as structural failures. A file that cannot be read at all raises a RejectedFileError
whose text comes from the message catalogue (etl.ingest.messages; library error text is chained, never shown).
Large CSV/Parquet files are streamed in chunks so memory stays bounded.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from etl.contract import tables
from etl.ingest import messages
from etl.errors import (
    DuplicateColumnsError,
    EmptyFileError,
    EncodingError,
    MissingColumnsError,
    ParseError,
    UnknownTableError,
    UnsupportedFormatError,
)

ROW = "_row"
# A resubmission (etl.ingest.resubmit) names, per row, the quarantined row it corrects ("rating_1.csv:8") in this
# column; it is read as RESUBMIT (every other non-contract column is ignored).
RESUBMIT_HEADER = "原行号 / source row"
RESUBMIT = "_resubmit_of"
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
HEADER_SEARCH_ROWS = 30  # an XLSX header must be within the sheet's first 30 rows
CHUNK_ROWS = 1_000_000  # rows per chunk: ~100 MB of raw strings; fewer per-chunk reference look-ups
_BLOCK = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    """A source file identified: which table it holds, its format, checksum and (for CSV) text encoding."""

    path: Path
    name: str  # how messages name the file (path relative to the source folder)
    table: str
    fmt: str
    sha256: str
    size: int
    encoding: str | None  # "utf-8", "utf-8-sig" or "gb18030" for CSV; None otherwise


@dataclass(frozen=True)
class StructuralFailure:
    """A CSV record that cannot be split into the header's columns (too many or too few fields)."""

    row: int
    expected: int
    actual: int
    text: str


@dataclass
class Chunk:
    """Up to CHUNK_ROWS records of one file: raw values (contract columns present in the file) plus `_row`."""

    frame: pl.DataFrame
    structural: list[StructuralFailure] = field(default_factory=list)
    absent: tuple[str, ...] = ()  # nullable contract columns the file does not have (read as empty)
    blank: int = 0  # blank rows dropped from this chunk
    sheet: str | None = None  # XLSX: the sheet's name (messages name it)
    header_row: int = 1  # the row number of the header in the file


def file_format(path: Path) -> str:
    """'csv', 'xlsx' or 'parquet' from the file name; UnsupportedFormatError otherwise."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(messages.file_message("unsupported_format", file=path.name))
    return fmt


def checksum(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _decodes(path: Path, encoding: str) -> bool:
    """True when the whole file decodes strictly in `encoding` and holds no NUL byte (binary)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as f:
            while block := f.read(_BLOCK):
                if b"\x00" in block:
                    return False
                decoder.decode(block, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' (BOM), 'utf-8' or 'gb18030' (also covers GBK/GB2312), tried strictly in that order."""
    with path.open("rb") as f:
        head = f.read(3)
    if head == codecs.BOM_UTF8:
        if _decodes(path, "utf-8-sig"):
            return "utf-8-sig"
    elif _decodes(path, "utf-8"):
        return "utf-8"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise EncodingError(messages.file_message("encoding", file=path.name))


def inspect_file(path: Path, name: str | None = None, digest: tuple[str, int] | None = None) -> SourceFile:
    """Identify a source file: its table (from the name), format, checksum and encoding; raise if unusable.

    `digest` is (sha256, size) when the caller has already hashed the file (saves a second read of a large file).
    """
    display = name or path.name
    fmt = file_format(path)
    table = tables.table_for_file(path.name)
    if table is None:
        known = ", ".join(tables.load_order())
        raise UnknownTableError(messages.file_message("unknown_table", file=display, ext=path.suffix, known=known))
    digest_hex, size = digest if digest is not None else checksum(path)
    if size == 0:
        raise EmptyFileError(messages.file_message("empty_file", file=display))
    encoding = detect_encoding(path) if fmt == "csv" else None
    return SourceFile(path, display, table, fmt, digest_hex, size, encoding)


def _normalise(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower()


def resolve_columns(src: SourceFile, header: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Map a header to contract columns: (normalised header, absent nullable columns). Raise when unusable."""
    table = tables.TABLES[src.table]
    names = [_normalise(h) for h in header]
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)} & set(table.column_names))  # type: ignore[func-returns-value]
    if dupes:
        raise DuplicateColumnsError(messages.file_message("duplicate_columns", file=src.name, columns=", ".join(dupes)))
    missing = [c for c in table.columns if c.name not in seen]
    required = [c.name for c in missing if not c.nullable]
    if required:
        header_txt = ", ".join(h for h in header[:30]) or "-"
        raise MissingColumnsError(
            messages.file_message(
                "missing_columns", file=src.name, table=src.table, columns=", ".join(required), found=header_txt
            )
        )
    return names, tuple(c.name for c in missing)


def _keep_name(name: str, wanted: set[str], i: int) -> str:
    """A header cell's column name in the frame: the contract name, RESUBMIT, or a positional name (dropped)."""
    if name in wanted:
        return name
    return RESUBMIT if name == _normalise(RESUBMIT_HEADER) else f"_extra_{i}"


def iter_chunks(src: SourceFile, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Stream a file as chunks of raw values; raises RejectedFileError subclasses when it cannot be read."""
    if src.fmt == "csv":
        yield from _csv_chunks(src, chunk_rows)
    elif src.fmt == "parquet":
        yield from _parquet_chunks(src, chunk_rows)
    else:
        yield from _xlsx_chunks(src, chunk_rows)


def read_file(path: Path) -> pl.DataFrame:
    """The whole file as one raw frame with `_row` (structural CSV failures left out); for tools and tests."""
    src = inspect_file(path)
    frames = [c.frame for c in iter_chunks(src)]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


# ---------------------------------------------------------------------------------------------------------- CSV
def _csv_header(src: SourceFile) -> list[str]:
    with src.path.open("rb") as f:
        head = f.read(1 << 16)
    text = head.decode(src.encoding or "utf-8", errors="ignore")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error as e:
        raise ParseError(messages.file_message("parse_csv", file=src.name)) from e
    if not any(h.strip() for h in header):
        raise EmptyFileError(messages.file_message("no_header", file=src.name))
    return header


def _csv_chunks(src: SourceFile, chunk_rows: int) -> Iterator[Chunk]:
    header = _csv_header(src)
    names, absent = resolve_columns(src, header)
    wanted = set(tables.TABLES[src.table].column_names)
    # Unique names for pyarrow: non-contract columns (kept out of the frame) get positional names.
    col_names = [_keep_name(n, wanted, i) for i, n in enumerate(names)]
    keep = [n for n in col_names if n in wanted or n == RESUBMIT]
    invalid: list[StructuralFailure] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(StructuralFailure(int(row.number or 0), row.expected_columns, row.actual_columns, row.text))
        return "skip"

    read_opts = pacsv.ReadOptions(
        use_threads=False,  # needed for row numbers of invalid rows
        block_size=16 << 20,
        column_names=col_names,
        skip_rows=1,
        encoding="utf8" if src.encoding in ("utf-8", "utf-8-sig") else (src.encoding or "utf8"),
    )
    parse_opts = pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=True, ignore_empty_lines=False)
    conv_opts = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in col_names},
        include_columns=keep,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pacsv.open_csv(src.path, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
    except pa.ArrowInvalid as e:
        if "Empty CSV file" in str(e):  # header only, no trailing newline: zero data rows
            yield Chunk(pl.DataFrame({**{k: pl.Series(k, [], pl.String) for k in keep}, ROW: pl.Series([], dtype=pl.Int64)}), [], absent)
            return
        raise ParseError(messages.file_message("parse_csv", file=src.name)) from e
    valid_seen = 0  # valid records yielded so far
    reported = 0  # structural failures already yielded
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    batches = _guarded(reader, src)
    done = False
    while not done:
        batch = next(batches, None)
        if batch is not None:
            pending.append(batch)
            pending_rows += batch.num_rows
        else:
            done = True
        if pending_rows >= chunk_rows or (done and (pending_rows or len(invalid) > reported or valid_seen == 0)):
            table = pa.Table.from_batches(pending, schema=reader.schema) if pending else None
            frame = (
                pl.from_arrow(table) if table is not None else pl.DataFrame({k: pl.Series(k, [], pl.String) for k in keep})
            )
            assert isinstance(frame, pl.DataFrame)
            rows = _record_numbers(valid_seen, frame.height, invalid)
            frame = frame.with_columns(pl.Series(ROW, rows, dtype=pl.Int64))
            new_invalid = sorted(invalid[reported:], key=lambda s: s.row)
            reported = len(invalid)
            valid_seen += frame.height
            pending, pending_rows = [], 0
            frame, blank = drop_blank(frame)
            yield Chunk(frame, new_invalid, absent, blank)


def _guarded(reader: pacsv.CSVStreamingReader, src: SourceFile) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError) as e:
            raise ParseError(messages.file_message("parse_csv", file=src.name)) from e
        yield batch


def _record_numbers(start: int, n: int, invalid: list[StructuralFailure]) -> np.ndarray:
    """Record numbers of valid records start..start+n-1 (0-based among valid ones), skipping invalid records.

    Invalid record j (sorted) has q_j = (its number) - 2 - j valid records before it; valid record i is preceded by
    #{j: q_j <= i} invalid ones, so its number is 2 + i + that count.
    """
    idx = np.arange(start, start + n, dtype=np.int64)
    if not invalid:
        return idx + 2
    nums = np.sort(np.fromiter((s.row for s in invalid), dtype=np.int64))
    q = nums - 2 - np.arange(len(nums), dtype=np.int64)
    return idx + 2 + np.searchsorted(q, idx, side="right")


# ------------------------------------------------------------------------------------------------------ Parquet
def _parquet_chunks(src: SourceFile, chunk_rows: int) -> Iterator[Chunk]:
    try:
        pf = pq.ParquetFile(src.path)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as e:  # a damaged footer can hold non-UTF-8 names
        raise ParseError(messages.file_message("parse_parquet", file=src.name)) from e
    header = list(pf.schema_arrow.names)
    names, absent = resolve_columns(src, header)
    wanted = set(tables.TABLES[src.table].column_names)
    rename = {h: n for h, n in zip(header, names) if n in wanted}
    start = 0
    try:
        for batch in _parquet_batches(src, pf, chunk_rows, list(rename)):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.rename(rename).with_columns(
                pl.int_range(start + 2, start + 2 + frame.height, dtype=pl.Int64).alias(ROW)
            )
            start += frame.height
            frame, blank = drop_blank(frame)
            yield Chunk(frame, [], absent, blank)
    except (pa.ArrowException, OSError, UnicodeDecodeError, pl.exceptions.PanicException) as e:
        # a panic here is polars refusing bytes pyarrow let through (a damaged file), not a bug to propagate
        raise ParseError(messages.file_message("parse_parquet", file=src.name)) from e
    if start == 0:
        yield Chunk(pl.DataFrame({**{n: pl.Series(n, [], pl.String) for n in rename.values()}, ROW: pl.Series([], dtype=pl.Int64)}), [], absent)


def _parquet_batches(
    src: SourceFile, pf: pq.ParquetFile, chunk_rows: int, columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """A Parquet file's record batches (chunk_rows at most), every string byte checked as UTF-8.

    Always pyarrow's reader, never polars' own: on a damaged file polars' reader can panic, or ask for an
    exabyte of memory and abort the whole process (a length field flipped in a page header), where pyarrow raises
    an error the ingest turns into a rejection naming the file."""
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
        # Parquet does not guarantee valid UTF-8 in string columns (a damaged file can hold any bytes), and
        # polars would keep them and crash the first time a value reaches Python: check every byte here.
        batch.validate(full=True)
        yield batch


# --------------------------------------------------------------------------------------------------------- XLSX
def _xlsx_chunks(src: SourceFile, chunk_rows: int) -> Iterator[Chunk]:
    try:
        book = fastexcel.read_excel(src.path)
        sheet = book.sheet_names[0]
        # No header row and no skipped rows: row i of the frame is the sheet's row i + 1 (calamine would otherwise
        # start at the first used row and shift every row number by the blank rows above it). Every cell as text.
        raw = book.load_sheet(0, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except Exception as e:  # fastexcel raises its own exception classes for every kind of broken workbook
        raise ParseError(messages.file_message("parse_xlsx", file=src.name)) from e
    assert isinstance(raw, pl.DataFrame)
    if raw.width == 0 or raw.height == 0:
        raise EmptyFileError(messages.file_message("empty_sheet", file=src.name, sheet=sheet))
    at = _find_header(src, raw, sheet)
    header = ["" if v is None else str(v) for v in raw.row(at)]
    names, absent = resolve_columns(src, header)
    wanted = set(tables.TABLES[src.table].column_names)
    pick = [(raw.columns[i], n) for i, n in enumerate(_keep_name(n, wanted, i) for i, n in enumerate(names))
            if n in wanted or n == RESUBMIT]  # fmt: skip
    frame = (
        raw.slice(at + 1)
        .select([pl.col(c).cast(pl.String).alias(n) for c, n in pick])
        .with_columns(pl.int_range(at + 2, raw.height + 1, dtype=pl.Int64).alias(ROW))
    )
    frame, blank = drop_blank(frame)
    for offset in range(0, max(frame.height, 1), chunk_rows):
        yield Chunk(frame.slice(offset, chunk_rows), [], absent, blank if offset == 0 else 0, sheet, at + 1)


def _find_header(src: SourceFile, raw: pl.DataFrame, sheet: str) -> int:
    """Index of the header row: the first of the first HEADER_SEARCH_ROWS rows naming every required column."""
    required = {c.name for c in tables.TABLES[src.table].columns if not c.nullable}
    for i, row in enumerate(raw.head(HEADER_SEARCH_ROWS).iter_rows()):
        if required <= {_normalise(str(v)) for v in row if v is not None}:
            return i
    first = next((i for i, row in enumerate(raw.head(HEADER_SEARCH_ROWS).iter_rows()) if any(
        v is not None and str(v).strip() for v in row)), None)  # fmt: skip
    if first is not None and not any(_normalise(str(v)) in required for v in raw.row(first) if v is not None):
        # No row looks like a header at all: say where it must be.
        raise MissingColumnsError(
            messages.file_message(
                "header_not_found", file=src.name, sheet=sheet, rows=HEADER_SEARCH_ROWS,
                required=", ".join(sorted(required)),
            )  # fmt: skip
        )
    return first if first is not None else 0  # a header that lacks some required columns: resolve_columns names them


# ------------------------------------------------------------------------------------------------------ blank rows
def drop_blank(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The frame without its blank rows (every column but `_row` null, empty or whitespace), and how many there were.

    Only rows whose first column is empty are examined in full, so a file without blank rows costs one cheap scan.
    """
    cols = [c for c in frame.columns if c not in (ROW, RESUBMIT)]
    if not cols or frame.height == 0:
        return frame, 0

    def empty(c: str) -> pl.Expr:
        col = pl.col(c)
        if frame.schema[c] == pl.String:
            return col.is_null() | (col.str.strip_chars() == "")
        return col.is_null()

    first = frame.select(empty(cols[0]).fill_null(True)).to_series()
    if not first.any():
        return frame, 0
    candidates = frame.filter(first)
    blank = candidates.select(pl.all_horizontal([empty(c) for c in cols]).fill_null(True)).to_series()
    n = int(blank.sum())
    if n == 0:
        return frame, 0
    return frame.join(candidates.filter(blank).select(ROW), on=ROW, how="anti", maintain_order="left"), n
