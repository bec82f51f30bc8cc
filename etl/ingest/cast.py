"""Cast raw columns (strings from CSV/XLSX, or Parquet's own types) to the contract's dtypes, row by row.

A value that cannot be cast becomes null and is reported as a cast failure for its row and column, so one bad cell
quarantines its row, never the file. Empty cells and the usual null tokens (NULL, NaN, N/A, \\N) are missing values.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import polars as pl

from etl.contract import tables
from etl.ingest.readers import ROW
from etl.warehouse.connection import POLARS_TYPES

NULL_TOKENS = ("", "null", "nan", "n/a", "\\n")  # not "none": it is an allowed prompt_source
# Case variants spelled out: is_in on them is much cheaper than lower-casing every value.
_NULL_VARIANTS = sorted({v for tok in NULL_TOKENS for v in (tok, tok.upper(), tok.capitalize(), tok.title())} | {"NaN"})
TRUE_TOKENS = ("true", "t", "yes", "y", "1", "是", "真")
FALSE_TOKENS = ("false", "f", "no", "n", "0", "否", "假")
_BOOL_MAP = {**{t: True for t in TRUE_TOKENS}, **{t: False for t in FALSE_TOKENS}}

# The first format is the canonical one (tried on every value); the others only on values it did not parse.
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
)
TZ_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
LOCAL_TZ = tables.LOCAL_TZ

DTYPE_WORDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date-time (YYYY-MM-DD HH:MM:SS)",
}


@dataclass
class CastResult:
    """The typed frame (every contract column, in order, plus `_row`) and one failure row per bad cell."""

    frame: pl.DataFrame
    failures: pl.DataFrame  # columns: _row (Int64), column (str), value (str), dtype (str)


FAILURE_SCHEMA = {ROW: pl.Int64, "column": pl.String, "value": pl.String, "dtype": pl.String}


def _clean(s: pl.Series, nullable: bool = True) -> pl.Series:
    """Strip whitespace; empty → null, and null tokens too in nullable columns (in a required column 'N/A' stays,
    so its quarantine message shows the value that was written)."""
    t = s.str.strip_chars()
    tokens = _NULL_VARIANTS if nullable else [""]
    return _null_where(t, t.is_in(tokens).fill_null(False))


def _null_where(s: pl.Series, mask: pl.Series) -> pl.Series:
    """`s` with nulls where `mask` is true."""
    return pl.select(pl.when(mask).then(None).otherwise(s)).to_series().alias(s.name)


def _try_formats(s: pl.Series, formats: tuple[str, ...], parse: str) -> pl.Series:
    """Parse with the first format, then fill the gaps with the next ones (only on the values still unparsed)."""
    out: pl.Series | None = None
    for fmt in formats:
        if out is None:
            todo = s
        else:
            mask = out.is_null() & s.is_not_null()
            if not mask.any():
                break
            todo = s.filter(mask)
        if parse == "datetime":
            got = todo.str.to_datetime(fmt, strict=False, time_unit="us")
            if got.dtype.time_zone is not None:  # type: ignore[attr-defined]
                got = got.dt.convert_time_zone(LOCAL_TZ).dt.replace_time_zone(None)
        else:
            got = todo.str.to_date(fmt, strict=False)
        if out is None:
            out = got
        else:
            idx = mask.arg_true()
            out = out.scatter(idx, got)
    assert out is not None
    return out


def _from_string(s: pl.Series, dtype: str) -> pl.Series:
    if dtype == "str":
        return s
    if dtype == "int":
        parsed = s.cast(pl.Int64, strict=False)
        gaps = parsed.is_null() & s.is_not_null()
        if gaps.any():  # "12.0" (spreadsheet exports) is 12; "12.5" stays a failure
            f = s.filter(gaps).cast(pl.Float64, strict=False)
            whole = (f.is_finite() & (f == f.round(0)) & (f.abs() < 2**53)).fill_null(False)
            parsed = parsed.scatter(gaps.arg_true(), _null_where(f, ~whole).cast(pl.Int64))
        return parsed
    if dtype == "float":
        f = s.cast(pl.Float64, strict=False)
        return _null_where(f, ~f.is_finite().fill_null(True))
    if dtype == "bool":
        return s.str.to_lowercase().replace_strict(_BOOL_MAP, default=None, return_dtype=pl.Boolean)
    if dtype == "date":
        d = _try_formats(s, DATE_FORMATS, "date")
        gaps = d.is_null() & s.is_not_null()
        if gaps.any():  # spreadsheets write dates as midnight date-times
            dt = _try_formats(s.filter(gaps), DATETIME_FORMATS, "datetime")
            midnight = dt.dt.time() == datetime.time(0)
            d = d.scatter(gaps.arg_true(), _null_where(dt, ~midnight.fill_null(False)).dt.date())
        return d
    if dtype == "datetime":
        d = _try_formats(s, DATETIME_FORMATS, "datetime")
        gaps = d.is_null() & s.is_not_null()
        if gaps.any():
            utc_z = s.filter(gaps).str.replace(r"[zZ]$", "+00:00")
            d = d.scatter(gaps.arg_true(), _try_formats(utc_z, TZ_DATETIME_FORMATS, "datetime"))
        return d
    raise ValueError(f"unknown contract dtype {dtype!r}")


def _from_typed(s: pl.Series, dtype: str) -> pl.Series:
    target = POLARS_TYPES[dtype]
    if dtype == "datetime" and isinstance(s.dtype, pl.Datetime):
        if s.dtype.time_zone is not None:
            s = s.dt.convert_time_zone(LOCAL_TZ).dt.replace_time_zone(None)
        return s.cast(target)
    if dtype == "date" and isinstance(s.dtype, pl.Datetime):
        return s.dt.date()
    if dtype == "int" and s.dtype.is_float():
        whole = s.is_finite().fill_null(False) & (s == s.round(0)).fill_null(False)
        return _null_where(s, ~whole).cast(pl.Int64, strict=False)
    if dtype == "str" and s.dtype == pl.Boolean:
        return s.cast(pl.String)
    return s.cast(target, strict=False)


def cast_column(s: pl.Series, dtype: str, nullable: bool = True, cleaned: pl.Series | None = None) -> pl.Series:
    """One raw column cast to a contract dtype; values that do not cast become null."""
    if s.dtype == pl.String:
        c = cleaned if cleaned is not None else _clean(s, nullable)
        return _from_string(c, dtype).cast(POLARS_TYPES[dtype]).alias(s.name)
    if s.dtype == pl.Null:
        return pl.Series(s.name, [None] * len(s), dtype=POLARS_TYPES[dtype])
    return _from_typed(s, dtype).alias(s.name)


def cast_frame(raw: pl.DataFrame, table: tables.Table) -> CastResult:
    """Cast every contract column of a raw chunk; absent (nullable) columns become null columns."""
    columns: list[pl.Series] = []
    failures: list[pl.DataFrame] = []
    for col in table.columns:
        if col.name not in raw.columns:
            columns.append(pl.Series(col.name, [None] * raw.height, dtype=POLARS_TYPES[col.dtype]))
            continue
        src = raw[col.name]
        cleaned = _clean(src, col.nullable) if src.dtype == pl.String else None
        typed = cast_column(src, col.dtype, col.nullable, cleaned)
        present = cleaned.is_not_null() if cleaned is not None else src.is_not_null()
        bad = typed.is_null() & present
        if bad.any():
            failures.append(
                pl.DataFrame(
                    {
                        ROW: raw[ROW].filter(bad),
                        "column": pl.Series([col.name] * int(bad.sum()), dtype=pl.String),
                        "value": src.filter(bad).cast(pl.String),
                        "dtype": pl.Series([col.dtype] * int(bad.sum()), dtype=pl.String),
                    }
                )
            )
        columns.append(typed)
    frame = pl.DataFrame(columns).with_columns(raw[ROW])
    fail = pl.concat(failures) if failures else pl.DataFrame(schema=FAILURE_SCHEMA)
    return CastResult(frame, fail)
