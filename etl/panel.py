"""Read the warehouse's indicator values as a scoring panel, and uncertainty specs from TOML (all I/O here)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl

from etl import warehouse
from etl.profiles import WEIGHTS_DIR
from indicators.framework import Framework
from indicators.periods import default_period
from indicators.uncertainty import UncertaintyError, UncertaintySpec

UNCERTAINTY_DIR = WEIGHTS_DIR / "uncertainty"
DEFAULT_UNCERTAINTY = UNCERTAINTY_DIR / "default.toml"


class PanelError(ValueError):
    """The warehouse holds no usable indicator values for the request; names the grain, period or indicator."""


def load_indicator_panel(
    db_path: str | Path, framework: Framework, grain: str = "quarter", periods: int | None = None
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


def default_panel_period(db_path: str | Path, frame: pl.DataFrame) -> str:
    """The latest period of `frame` that the data cover completely (see indicators.periods.default_period)."""
    try:
        months = warehouse.query(
            db_path, "SELECT DISTINCT period FROM indicator_values WHERE grain = 'month'"
        )["period"].to_list()
    except warehouse.WarehouseError as e:
        raise PanelError(f"cannot read indicator values from {db_path}: {e}") from None
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
