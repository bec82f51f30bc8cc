"""Detect mojibake: Chinese text that was decoded with the wrong codec before the file reached us.

The file itself decodes cleanly (it is valid UTF-8), so the encoding check cannot see it; the damage is in the
characters. Per text column (contract dtype "str") a value is garbled when it holds:

- U+FFFD, the replacement character a decoder writes for bytes it could not read, or its GBK echo 锟斤拷, or the
  uninitialised-memory patterns 烫烫 / 屯屯 that some Windows programs export;
- a C1 control character (U+0080–U+009F), which no text a person typed contains but UTF-8 or GB18030 bytes read as
  Latin-1 produce;
- a Latin-1 letter or sign (U+00A1–U+00FF, the middle dot · of minority names excepted) followed directly by another
  high Latin-1 or Windows-1252 character: GB18030 read as Latin-1/Windows-1252 turns every Chinese character into
  such a pair ("上海" → "ÉÏº£"), and UTF-8 read that way gives "ä¸Š". A single "°" or "±" in ordinary text is not
  flagged.

Such a value is not loaded: the row is quarantined with check 'mojibake', so a clerk re-exports or retypes it.
"""

from __future__ import annotations

import polars as pl

from etl.contract import tables
from etl.ingest.readers import ROW

CHECK = "mojibake"
_CP1252 = "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
PATTERN = (
    "\ufffd|锟斤拷|烫烫|屯屯|[\u0080-\u009f]"
    f"|[\u00a1-\u00b6\u00b8-\u00ff][\u0080-\u00ff{_CP1252}]"
)
FAILURE_SCHEMA = {ROW: pl.Int64, "column": pl.String, "check": pl.String, "value": pl.String, "detail": pl.String}


def is_garbled(values: pl.Series) -> pl.Series:
    """True where a text value looks like mojibake (null stays false)."""
    return values.str.contains(PATTERN).fill_null(False)


def failures(raw: pl.DataFrame, table: tables.Table) -> pl.DataFrame:
    """One failure row (_row, column, check, value, detail) per garbled cell of the table's text columns."""
    out: list[pl.DataFrame] = []
    text = [c.name for c in table.columns
            if c.dtype == "str" and c.name in raw.columns and raw.schema[c.name] == pl.String]  # fmt: skip
    if not text or raw.height == 0:
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    # Every pattern needs a non-ASCII character: codes, dates and enums (nearly all cells) skip the regex. Which
    # columns hold any is found for all of them in one pass.
    any_wide = raw.select(
        [(pl.col(c).str.len_bytes() != pl.col(c).str.len_chars()).fill_null(False).any().alias(c) for c in text]
    ).row(0, named=True)
    for name in text:
        if not any_wide[name]:
            continue
        values = raw[name]
        wide = (values.str.len_bytes() != values.str.len_chars()).fill_null(False)
        rows, candidates = raw[ROW].filter(wide), values.filter(wide)
        bad = is_garbled(candidates)
        if not bad.any():
            continue
        n = int(bad.sum())
        out.append(
            pl.DataFrame(
                {
                    ROW: rows.filter(bad),
                    "column": [name] * n,
                    "check": [CHECK] * n,
                    "value": candidates.filter(bad),
                    "detail": pl.Series([None] * n, dtype=pl.String),
                },
                schema=FAILURE_SCHEMA,
            )
        )
    return pl.concat(out) if out else pl.DataFrame(schema=FAILURE_SCHEMA)
