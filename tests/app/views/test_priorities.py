"""Improvement priorities (app/views/priorities.py): weight × gap to target × peer feasibility, and why the old
"move to the best district" gain could not tell items apart."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from app.views import frames as views
from app.views.priorities import improvement_priority, peer_feasibility, priority_frame
from indicators.framework import Framework, Node
from indicators.model import score
from indicators.spec import ModelSpec

UNITS = ("A", "B", "C", "D", "E")


def _lagging_panel() -> tuple[Framework, pl.DataFrame]:
    """Four equally weighted indicators on a min-max scale; unit A is last on every one of them, so the best unit is
    at 100 and A at 0 everywhere: the "move to the best" gain is weight × 100 for all four. Targets differ, and on
    i4 every peer but one sits as low as A."""
    fw = Framework.from_nodes([
        Node("idx", None),
        Node("i1", "idx", is_indicator=True, target=90.0),
        Node("i2", "idx", is_indicator=True, target=30.0),
        Node("i3", "idx", is_indicator=True, target=60.0),
        Node("i4", "idx", is_indicator=True, target=90.0),
    ])
    values = {  # unit -> i1..i4 (A lowest everywhere; min-max over the units maps A to 0 and the best to 100)
        "A": (0.0, 0.0, 0.0, 0.0),
        "B": (100.0, 100.0, 100.0, 100.0),
        "C": (95.0, 60.0, 70.0, 0.0),
        "D": (92.0, 50.0, 65.0, 0.0),
        "E": (91.0, 40.0, 61.0, 0.0),
    }
    rows = [(u, "2024Q1", f"i{k + 1}", v) for u, vs in values.items() for k, v in enumerate(vs)]
    return fw, pl.DataFrame(rows, schema=["unit_code", "period", "indicator_id", "value"], orient="row")


def test_the_best_district_what_if_cannot_tell_the_items_of_a_lagging_district_apart() -> None:
    fw, data = _lagging_panel()
    res = score(fw, data, ModelSpec(normalisation={"name": "minmax", "params": {"l": 0, "u": 100}}))
    old = res.improvement_priorities("A", "2024Q1", step="best")["composite_gain"].to_numpy()
    assert np.allclose(old, 25.0)  # weight 1/4 × 100 points on every indicator: no order at all
    new = priority_frame(res, res.weights, "A", 0)
    pr = dict(zip(new["indicator"], new["priority"], strict=True))
    # gap to target: i1 90, i2 30, i3 60, i4 90 points; feasibility: every peer better on i1-i3, one of four on i4
    assert pr == pytest.approx({"i1": 0.25 * 90 * 1.0, "i3": 0.25 * 60 * 1.0, "i2": 0.25 * 30 * 1.0,
                                "i4": 0.25 * 90 * 0.25})
    assert new["indicator"].to_list() == ["i1", "i3", "i2", "i4"]
    assert len(set(np.round(new["priority"].to_numpy(), 9))) == 4
    gain = dict(zip(new["indicator"], new["composite_gain"], strict=True))
    assert gain["i1"] == pytest.approx(0.25 * 90)  # weight × gap: composite points on reaching the target


def test_a_met_target_has_no_priority_and_the_best_unit_no_feasibility() -> None:
    fw, data = _lagging_panel()
    res = score(fw, data, ModelSpec(normalisation={"name": "minmax", "params": {"l": 0, "u": 100}}))
    b = priority_frame(res, res.weights, "B", 0)  # B is the best on everything and above every target
    assert (b["gap_points"] == 0).all() and (b["priority"] == 0).all() and (b["feasibility"] == 0).all()
    assert (b["new_rank"] == b["rank"]).all()


def test_peer_feasibility_counts_the_peers_that_do_better() -> None:
    scores = np.array([[10.0, 50.0, np.nan], [20.0, 40.0, 5.0], [30.0, np.nan, 6.0], [5.0, 60.0, 7.0]])
    f = peer_feasibility(scores, 0)
    assert f[0] == pytest.approx(2 / 3) and f[1] == pytest.approx(1 / 2) and np.isnan(f[2])
    assert improvement_priority(np.array([0.5]), np.array([10.0]), np.array([0.5]))[0] == pytest.approx(2.5)


def test_the_district_profile_sorts_indicators_by_priority_and_carries_the_trend(ctx) -> None:
    dp = views.district_profile(ctx, "310115", None, "zh")
    pri = dp.indicators["priority"].drop_nulls().to_numpy()
    assert pri.size > 0 and np.all(np.diff(pri) <= 1e-12)
    row = dp.indicators.drop_nulls("priority").row(0, named=True)
    assert row["priority"] == pytest.approx(row["weight"] * row["gap_points"] * row["feasibility"])
    met = dp.indicators.filter(pl.col("gap_target") <= 0)
    assert met.height == 0 or (met["gap_points"] == 0).all()
    assert dp.priorities["priority"].to_list() == sorted(dp.priorities["priority"].to_list(), reverse=True)
    assert dp.trend["period"].to_list()[-1] == dp.period and dp.trend["rank"].to_list()[-1] == dp.summary["rank"]
    first = views.district_profile(ctx, "310115", None, "zh", dp.trend["period"][0])
    assert first.period == dp.trend["period"][0] and first.trend.height == 1  # up to the period shown
