"""The district page's generated reading: a pure function of the view model, in both languages."""

from __future__ import annotations

import re

import polars as pl

from app.ui.readings_district import district_reading
from app.views.frames import DistrictProfile
from app.views.scoring import ScoreSource


def _dp(rank_before: int = 9) -> DistrictProfile:
    return DistrictProfile(
        code="310115", name="浦东新区", period="2026Q3",
        summary={"score": 52.09, "rank": 7, "n": 16, "supply": 60.0, "demand": 40.0, "supply_rank": 2,
                 "demand_rank": 12},
        dimensions=pl.DataFrame({"code": ["supply", "value", "institution"], "label": ["供给侧", "价值引领", "制度革新"],
                                 "this": [60.0, 70.0, 30.0], "median": [55.0, 61.1, 46.9]}),
        indicators=pl.DataFrame({"indicator": ["a", "b", "c", "d"], "gap_target": [5.0, -1.0, 0.0, None]}),
        priorities=pl.DataFrame({"label": ["差评按期整改率", "掌上办比例", "免提交率", "即办件比例"],
                                 "priority": [3.1, 2.0, 1.0, 0.5], "composite_gain": [3.4, 2.1, 1.0, 0.6]}),
        quarantine=pl.DataFrame(), source=ScoreSource(),
        trend=pl.DataFrame({"period": ["2026Q1", "2026Q2", "2026Q3"], "score": [50.0, 51.0, 52.09],
                            "rank": [10, rank_before, 7]}),
    )


def test_the_reading_says_rank_change_sides_dimensions_targets_and_what_to_fix_first() -> None:
    zh = district_reading(_dp(), "zh")
    assert zh.startswith("浦东新区2026年第三季度综合得分 52.1 分，全市第 7 名（共 16 个区），较上期上升 2 名")
    assert "供给侧第 2 名，需求侧第 12 名，供给明显强于用户感受" in zh
    assert "价值引领最强（+8.9 分）" in zh and "制度革新最弱（-16.9 分）" in zh  # against the median, sides left out
    assert "2 项指标已达到目标，1 项尚未达标" in zh
    assert "“差评按期整改率”、“掌上办比例”、“免提交率”" in zh and "即办件比例" not in zh
    assert "提高约 6.5 分" in zh and zh.endswith("。")
    assert not re.search(r"[A-Za-z]{3,}", zh), zh  # Chinese throughout
    en = district_reading(_dp(), "en")
    assert "rank 7 of 16, up 2 place(s)" in en and "supply clearly ahead" in en and "about 6.5 points" in en


def test_the_reading_says_a_fall_and_leaves_out_what_it_does_not_know() -> None:
    assert "较上期下降 2 名" in district_reading(_dp(rank_before=5), "zh")
    dp = _dp()
    bare = DistrictProfile(dp.code, dp.name, dp.period, {"score": None, "rank": None, "n": 16}, pl.DataFrame(),
                           pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), ScoreSource())
    text = district_reading(bare, "zh")
    assert text == "浦东新区2026年第三季度综合得分 — 分，全市第 — 名（共 16 个区）。"
