"""Targets (目标值) as pure rules: an indicator's possible range, the red/amber/green status of a value against its
target (direction-aware), and the share of targets a district meets. No I/O: numbers and polars frames in and out.

API:
- `possible_range(unit) -> (low, high)`: what values the indicator can take at all ('%' and '0-100': 0–100, other
  units: 0 upward). A target outside it is refused (etl/stores/targets.py).
- `rag(value, target, direction, span, amber_band) -> "green" | "amber" | "red" | None`: green when the target is
  met (value ≥ target for higher-is-better, ≤ for lower-is-better); amber when it misses by at most
  `amber_band × span` (span: the indicator's goalpost span, so the band is in the indicator's own unit); red beyond;
  None when value or target is missing.
- `rag_frame(frame, amber_band)`: adds `status` to a frame with value, target, direction, span columns.
- `share_met(frame) -> frame`: per unit_code, targets met / targets with a status (`met`, `with_target`, `share`).
- `cycle_of(period)` / `cycle_chain(period)`: a period's assessment cycles, most specific first ('2026Q3' →
  ('2026Q3', '2026')), so a target set for a year holds for its quarters unless a quarter has its own.
"""

from __future__ import annotations

import math
import re

import polars as pl

STATUSES = ("green", "amber", "red")
PERCENT_UNITS = ("%", "0-100")
_CYCLE = re.compile(r"^\d{4}(Q[1-4])?$")


def possible_range(unit: str) -> tuple[float, float]:
    """The values an indicator in `unit` can take: 0–100 for shares and 0–100 indices, else 0 upward."""
    return (0.0, 100.0) if unit.strip() in PERCENT_UNITS else (0.0, math.inf)


def is_cycle(cycle: str) -> bool:
    """A year ('2026') or a quarter ('2026Q3')."""
    return isinstance(cycle, str) and _CYCLE.fullmatch(cycle) is not None


def cycle_chain(period: str) -> tuple[str, ...]:
    """The cycles whose target applies to `period`, most specific first: a quarter, then its year; a month's
    quarter and year; a year alone."""
    if len(period) == 4:
        return (period,)
    if "Q" in period:
        return (period, period[:4])
    if len(period) == 7 and period[4] == "-":  # 'YYYY-MM'
        q = (int(period[5:7]) - 1) // 3 + 1
        return (f"{period[:4]}Q{q}", period[:4])
    return (period,)


def rag(value: float | None, target: float | None, direction: int, span: float, amber_band: float) -> str | None:
    """Red/amber/green of `value` against `target`; see the module docstring."""
    if value is None or target is None or not math.isfinite(value) or not math.isfinite(target):
        return None
    shortfall = (target - value) if direction >= 0 else (value - target)
    if shortfall <= 1e-12:
        return "green"
    return "amber" if shortfall <= amber_band * abs(span) + 1e-12 else "red"


def rag_frame(frame: pl.DataFrame, amber_band: float) -> pl.DataFrame:
    """`frame` (value, target, direction, span) with a `status` column (green/amber/red, null without both)."""
    shortfall = pl.when(pl.col("direction") >= 0).then(pl.col("target") - pl.col("value")) \
        .otherwise(pl.col("value") - pl.col("target"))
    band = pl.col("span").abs() * amber_band
    status = (pl.when(pl.col("value").is_null() | pl.col("target").is_null() | pl.col("value").is_nan()).then(None)
              .when(shortfall <= 1e-12).then(pl.lit("green"))
              .when(shortfall <= band + 1e-12).then(pl.lit("amber"))
              .otherwise(pl.lit("red")))
    return frame.with_columns(status.cast(pl.String).alias("status"))


def share_met(frame: pl.DataFrame) -> pl.DataFrame:
    """Per unit_code: `met` (green), `with_target` (any status) and `share` (met / with_target, null when none)."""
    return (frame.group_by("unit_code")
            .agg((pl.col("status") == "green").sum().cast(pl.Int64).alias("met"),
                 pl.col("status").is_not_null().sum().cast(pl.Int64).alias("with_target"))
            .with_columns(pl.when(pl.col("with_target") > 0).then(pl.col("met") / pl.col("with_target"))
                          .otherwise(None).alias("share"))
            .sort("unit_code"))
