"""Injected defects: exact duplicates and a few dozen invalid rows of many kinds, each recorded for the report.

Invalid rows are added as copies of valid rows with a fresh primary key and one field broken, so nothing valid
loses a row and nothing references them; tables nobody references are corrupted in place instead. A conflicting
duplicate reuses an existing key (of a row nothing references) with different content.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from etl.demo.report import CONFLICTING_KEY, EXACT_DUPLICATE, DefectRecord
from etl.contract.tables import TABLES

FUTURE = _dt.datetime(2099, 3, 1, 10, 0, 0)  # in the future for any load time
FUTURE_TEXT = "2099-03-01 10:00:00"
UNKNOWN_DISTRICT = "310199"

Mutation = dict[str, Any]  # column -> new value, or a callable(rows) -> Series


class Injector:
    """Collects defects for one table file, then inserts the extra rows at random positions."""

    def __init__(self, rng: np.random.Generator, table: str, file: str, df: pl.DataFrame) -> None:
        self.rng, self.table, self.file = rng, table, file
        self.pk = list(TABLES[table].primary_key)
        self.df = df.with_row_index("_row")
        self.extras: list[pl.DataFrame] = []
        self.records: list[DefectRecord] = []
        self._used: set[int] = set()

    def _templates(self, count: int, where: pl.Expr | None) -> pl.DataFrame:
        cand = self.df if where is None else self.df.filter(where)
        cand = cand.filter(~pl.col("_row").is_in(list(self._used)))
        if len(cand) == 0:
            return cand
        pick = np.sort(self.rng.choice(len(cand), size=min(count, len(cand)), replace=False))
        rows = cand[pick]
        self._used.update(rows["_row"].to_list())
        return rows

    def _apply(self, rows: pl.DataFrame, mutate: Mutation) -> pl.DataFrame:
        for name, v in mutate.items():
            dtype = self.df.schema[name]
            value = v(rows) if callable(v) else pl.lit(v, dtype=dtype) if v is not None else pl.lit(None, dtype)
            rows = rows.with_columns(value.cast(dtype).alias(name) if isinstance(value, pl.Expr)
                                     else value.cast(dtype).alias(name))
        return rows

    def _keys(self, rows: pl.DataFrame) -> list[str]:
        return [
            "|".join("" if v is None else str(v) for v in r)
            for r in rows.select(pl.col(k).cast(pl.Utf8) for k in self.pk).iter_rows()
        ]

    def _record(self, kind: str, rows: pl.DataFrame) -> None:
        if len(rows):
            self.records.append(DefectRecord(table=self.table, file=self.file, kind=kind, count=len(rows),
                                             keys=self._keys(rows)))

    def extra(self, kind: str, count: int, mutate: Mutation, where: pl.Expr | None = None,
              new_key: bool = True) -> None:
        """Add `count` broken copies of valid rows (fresh key unless new_key is False)."""
        rows = self._templates(count, where)
        if new_key and len(rows):
            key = self.pk[0]
            rows = rows.with_columns(
                pl.concat_str(pl.col(key).cast(pl.Utf8), pl.lit(f"-X{len(self.records):02d}"),
                              pl.int_range(pl.len()).cast(pl.Utf8)).cast(self.df.schema[key]).alias(key))
        rows = self._apply(rows, mutate)
        self.extras.append(rows)
        self._record(kind, rows)

    def duplicate(self, count: int, where: pl.Expr | None = None) -> None:
        """Exact duplicates of valid rows."""
        rows = self._templates(count, where)
        self.extras.append(rows)
        self._record(EXACT_DUPLICATE, rows)

    def conflicting(self, count: int, mutate: Mutation, where: pl.Expr | None = None) -> None:
        """A second row with an existing key and different content."""
        self.extra(CONFLICTING_KEY, count, mutate, where, new_key=False)

    def inplace(self, kind: str, count: int, mutate: Mutation, where: pl.Expr | None = None) -> None:
        """Break existing rows (only for tables nothing references)."""
        rows = self._apply(self._templates(count, where), mutate)
        if len(rows):
            keep = self.df.filter(~pl.col("_row").is_in(rows["_row"].to_list()))
            self.df = pl.concat([keep, rows]).sort("_row")
        self._record(kind, rows)

    def finish(self) -> tuple[pl.DataFrame, list[DefectRecord]]:
        """The frame with the extra rows inserted at random positions, and the defect records."""
        base = self.df.drop("_row")
        extras = [e.drop("_row") for e in self.extras if len(e)]
        if not extras:
            return base, self.records
        extra = pl.concat(extras)
        n, k = len(base), len(extra)
        order = np.insert(np.arange(n), self.rng.integers(0, n + 1, k), np.arange(n, n + k))
        return pl.concat([base, extra])[order], self.records


def shift_text_datetime(column: str, seconds: int) -> Callable[[pl.DataFrame], pl.Series]:
    """For text frames: the datetime text in `column` moved by `seconds`."""
    def f(rows: pl.DataFrame) -> pl.Series:
        return (rows[column].str.to_datetime("%Y-%m-%d %H:%M:%S") + _dt.timedelta(seconds=seconds)
                ).dt.strftime("%Y-%m-%d %H:%M:%S")
    return f


def fresh_ids(prefix: str) -> Callable[[pl.DataFrame], pl.Series]:
    """Identifiers that match nothing (for broken references)."""
    def f(rows: pl.DataFrame) -> pl.Series:
        return pl.Series([f"{prefix}{i:07d}" for i in range(1, len(rows) + 1)])
    return f
