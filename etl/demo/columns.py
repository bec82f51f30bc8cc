"""Small helpers that turn numpy arrays into typed polars columns (datetimes from seconds, nullable values)."""

from __future__ import annotations

from polars._typing import PolarsDataType

import numpy as np
import polars as pl


def dt(name: str, seconds: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """A Datetime("us") column from seconds since 1970 (naive local time); null where `null` is true."""
    s = pl.Series(name, np.asarray(seconds, dtype=np.int64) * 1_000_000).cast(pl.Datetime("us"))
    return _nulls(s, null)


def col(name: str, values: np.ndarray, dtype: PolarsDataType | None = None, null: np.ndarray | None = None) -> pl.Series:
    """A column from numpy values; null where `null` is true."""
    s = pl.Series(name, values, dtype=dtype) if dtype is not None else pl.Series(name, values)
    return _nulls(s, null)


def ids(prefix: str, seq: np.ndarray, width: int) -> pl.Series:
    """Identifiers like C202501-0000042 built without a Python loop."""
    return pl.select(
        pl.concat_str(pl.lit(prefix), pl.Series(seq.astype(np.int64)).cast(pl.Utf8).str.zfill(width))
    ).to_series()


def _nulls(s: pl.Series, null: np.ndarray | None) -> pl.Series:
    if null is None or not np.any(null):
        return s
    return pl.select(pl.when(pl.Series(null)).then(None).otherwise(s).alias(s.name)).to_series()


def pick(rng: np.random.Generator, options: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: probs has one row of option probabilities per draw (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None]
    k = np.minimum((u > cum).sum(axis=1), len(options) - 1)
    return options[k]
