"""Levels: a parent's values from its children's records (pooled rates exact, others weighted and marked)."""

from __future__ import annotations

import polars as pl
import pytest

from indicators.levels import POOLED, WEIGHTED, compare_levels, level_values, roll_up
from indicators.units import from_rows

UNITS = from_rows([
    {"code": "130000", "name_zh": "河北省", "name_en": "Hebei", "level": "province"},
    {"code": "130100", "name_zh": "石家庄市", "name_en": "Shijiazhuang", "level": "city", "parent_code": "130000"},
    {"code": "130102", "name_zh": "长安区", "name_en": "Chang'an", "level": "county", "parent_code": "130100",
     "population": 1000},
    {"code": "130121", "name_zh": "井陉县", "name_en": "Jingxing", "level": "county", "parent_code": "130100",
     "population": 3000},
    {"code": "130200", "name_zh": "唐山市", "name_en": "Tangshan", "level": "city", "parent_code": "130000"},
    {"code": "130202", "name_zh": "路南区", "name_en": "Lunan", "level": "county", "parent_code": "130200",
     "population": 500},
])
# rate: value = 100 × numerator / denominator; median_days: not additive
VALUES = pl.DataFrame({
    "unit_code": ["130102", "130121", "130202"] * 2,
    "period": ["2026Q3"] * 6,
    "indicator_id": ["rate"] * 3 + ["median_days"] * 3,
    "value": [50.0, 10.0, 80.0, 4.0, 8.0, 2.0],
    "numerator": [5.0, 3.0, 40.0, None, None, None],
    "denominator": [10.0, 30.0, 50.0, 10.0, 30.0, 50.0],
})


def test_an_additive_rate_is_pooled_exactly_at_every_level() -> None:
    r = roll_up(VALUES, UNITS, additive={"rate"}).filter(pl.col("indicator_id") == "rate")
    got = {u: (v, m) for u, v, m in r.select("unit_code", "value", "method").iter_rows()}
    assert got["130100"] == (pytest.approx(100 * 8 / 40), POOLED)  # not the mean of 50 and 10
    assert got["130000"] == (pytest.approx(100 * 48 / 90), POOLED)  # from all three counties' records
    assert r.filter(pl.col("unit_code") == "130000")["denominator"].item() == 90


def test_other_indicators_are_weighted_by_sample_size_and_marked() -> None:
    r = roll_up(VALUES, UNITS, additive={"rate"}).filter(pl.col("indicator_id") == "median_days")
    got = {u: (v, m) for u, v, m in r.select("unit_code", "value", "method").iter_rows()}
    assert got["130100"] == (pytest.approx((4 * 10 + 8 * 30) / 40), WEIGHTED)
    # an indicator not declared additive is never pooled, even with numerators
    assert set(roll_up(VALUES, UNITS).filter(pl.col("indicator_id") == "rate")["method"]) == {WEIGHTED}


def test_level_values_take_leaves_as_they_are_and_parents_rolled_up() -> None:
    cities = level_values(VALUES, UNITS, "city", {"rate"})
    assert sorted(cities["unit_code"].unique().to_list()) == ["130100", "130200"]
    assert level_values(VALUES, UNITS, "county").height == VALUES.height
    assert level_values(VALUES, UNITS, 0, {"rate"})["unit_code"].unique().to_list() == ["130000"]


def test_compare_levels_sets_a_parents_score_beside_its_childrens() -> None:
    scores = pl.DataFrame({"unit_code": ["130100", "130102", "130121"], "period": ["2026Q3"] * 3,
                           "score": [40.0, 70.0, 30.0]})
    c = compare_levels(scores, UNITS, "130100").row(0, named=True)
    assert c["parent_score"] == 40.0 and c["children_mean"] == 50.0 and c["children_n"] == 2
    assert c["children_weighted_mean"] == pytest.approx((70 * 1000 + 30 * 3000) / 4000)
