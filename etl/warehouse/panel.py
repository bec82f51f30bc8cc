"""Read the warehouse's indicator values as a scoring panel, and uncertainty specs from TOML (all I/O here)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import polars as pl

from etl.warehouse import connection as warehouse
from etl.warehouse.indicator_values import COVERAGE_TABLE, read_data_coverage
from etl.stores.profiles import SHIPPED_DIR
from indicators.framework import Framework
from indicators.periods import complete_months, default_period
from indicators.uncertainty.problem import UncertaintyError, UncertaintySpec

UNCERTAINTY_DIR = SHIPPED_DIR / "uncertainty"  # shipped, read-only package data
DEFAULT_UNCERTAINTY = UNCERTAINTY_DIR / "default.toml"


class PanelError(ValueError):
    """The warehouse holds no usable indicator values for the request; names the grain, period or indicator."""


def load_indicator_panel(
    db_path: str | Path | warehouse.Connection, framework: Framework, grain: str = "quarter", periods: int | None = None
) -> pl.DataFrame:
    """Long frame (unit_code, period, indicator_id, value) of the framework's indicators at `grain`, oldest first.

    Reads the `indicator_values` table read-only. `periods` keeps only the last N periods. Indicators of the
    framework absent from the table are an error naming them (a silent all-NaN column would drop out of every
    aggregate).
    """
    codes = list(framework.indicators)
    try:
        frame = warehouse.query(
            db_path,
            "SELECT unit_code, period, indicator_id, value FROM indicator_values WHERE grain = ? ORDER BY period",
            [grain],
        )
    except warehouse.WarehouseError as e:
        raise PanelError(f"cannot read indicator values from {db_path}: {e}") from None
    if frame.height == 0:
        raise PanelError(f"{db_path}: no indicator values at grain {grain!r} (run `govindex refresh` first)")
    frame = frame.filter(pl.col("indicator_id").is_in(codes))
    absent = sorted(set(codes) - set(frame["indicator_id"].unique().to_list()))
    if absent:
        raise PanelError(f"{db_path}: no values at grain {grain!r} for indicator(s) {', '.join(absent)}")
    if periods is not None:
        keep = sorted(frame["period"].unique().to_list())[-periods:]
        frame = frame.filter(pl.col("period").is_in(keep))
    return frame.sort("period", "unit_code", "indicator_id")


def covered_months(db_path: str | Path | warehouse.Connection) -> tuple[str, ...]:
    """The months the warehouse's data cover from their first to their last day, oldest first.

    From the `data_coverage` span recorded with the indicator values (indicators.periods.complete_months). A
    warehouse built before that table existed falls back to the month labels present in `indicator_values` (a month
    with any data then counts as complete). Pass the result as `months` to indicators.periods.default_period.
    """
    try:
        with warehouse.connection(db_path, read_only=True) as con:
            return covered_months_in(con)
    except (warehouse.WarehouseError, duckdb.Error) as e:
        raise PanelError(f"cannot read the data coverage from {db_path}: {e}") from None


def covered_months_in(con: warehouse.Connection) -> tuple[str, ...]:
    """`covered_months` on an open connection (for readers that load several tables in one go)."""
    names = set(warehouse.table_names(con))
    if COVERAGE_TABLE in names:
        span = read_data_coverage(con)
        return complete_months(*span) if span is not None else ()
    if "indicator_values" not in names:
        return ()
    labels = warehouse.query(con, "SELECT DISTINCT period FROM indicator_values WHERE grain = 'month'")
    return tuple(sorted(labels["period"].to_list()))


def default_panel_period(db_path: str | Path | warehouse.Connection, frame: pl.DataFrame) -> str:
    """The latest period of `frame` that the data cover completely (see indicators.periods.default_period)."""
    months = covered_months(db_path)
    periods = frame["period"].unique().to_list()
    chosen = default_period(periods, months)
    if chosen is None:
        raise PanelError(f"{db_path}: no periods in the indicator values")
    return chosen


def read_uncertainty_spec(path: str | Path | None = None) -> UncertaintySpec:
    """Parse an uncertainty spec TOML file (default: weights/uncertainty/default.toml); errors name the file."""
    p = Path(path) if path is not None else DEFAULT_UNCERTAINTY
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UncertaintyError(f"{p}: no such uncertainty spec file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UncertaintyError(f"{p}: cannot read ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise UncertaintyError(f"{p}: not valid TOML: {e}") from None
    return UncertaintySpec.from_dict(data, source=str(p))
