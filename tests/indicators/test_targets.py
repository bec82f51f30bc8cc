"""Pure target rules: possible range, red/amber/green (direction-aware, amber band), share met, cycle chain."""

from __future__ import annotations

import math

import polars as pl
import pytest

from indicators.targets import cycle_chain, is_cycle, possible_range, rag, rag_frame, share_met


def test_possible_range_by_unit() -> None:
    assert possible_range("%") == (0.0, 100.0) and possible_range("0-100") == (0.0, 100.0)
    assert possible_range("ratio") == (0.0, math.inf)


@pytest.mark.parametrize("value,target,direction,expected", [
    (95.0, 95.0, 1, "green"), (96.0, 95.0, 1, "green"), (91.0, 95.0, 1, "amber"), (90.9, 95.0, 1, "red"),
    (0.5, 0.5, -1, "green"), (0.4, 0.5, -1, "green"), (0.6, 0.5, -1, "amber"), (0.61, 0.5, -1, "red"),
    (None, 95.0, 1, None), (95.0, None, 1, None), (float("nan"), 95.0, 1, None),
])
def test_rag_is_direction_aware_with_the_band_in_the_indicators_unit(value, target, direction, expected) -> None:
    span = 80.0 if direction == 1 else 2.0  # amber band 5% of span: 4.0 points / 0.1
    assert rag(value, target, direction, span, 0.05) == expected


def test_the_frame_version_agrees_with_the_scalar_one_and_share_met_counts_greens() -> None:
    cases = [(95.0, 95.0, 1, 80.0), (91.0, 95.0, 1, 80.0), (80.0, 95.0, 1, 80.0), (0.4, 0.5, -1, 2.0),
             (None, 95.0, 1, 80.0)]
    frame = pl.DataFrame(cases, schema={"value": pl.Float64, "target": pl.Float64, "direction": pl.Int64,
                                        "span": pl.Float64}, orient="row")
    frame = frame.with_columns(pl.Series("unit_code", ["a", "a", "a", "b", "b"]))
    out = rag_frame(frame, 0.05)
    assert out["status"].to_list() == [rag(v, t, d, s, 0.05) for v, t, d, s in cases]
    got = {r["unit_code"]: (r["met"], r["with_target"], r["share"]) for r in share_met(out).iter_rows(named=True)}
    assert got == {"a": (1, 3, pytest.approx(1 / 3)), "b": (1, 1, 1.0)}


def test_cycles() -> None:
    assert cycle_chain("2026Q3") == ("2026Q3", "2026") and cycle_chain("2026") == ("2026",)
    assert cycle_chain("2026-08") == ("2026Q3", "2026")
    assert is_cycle("2026") and is_cycle("2026Q4") and not is_cycle("2026Q5") and not is_cycle("26")
