"""The district page's indicator table (app/ui/district_table.py): gaps in words, one component per row."""

from __future__ import annotations

import pytest

from app.ui import district_table as district
from app.views import frames as views

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_gaps_read_as_short_or_met_with_their_sign_explained() -> None:
    assert district.gap_target_text(16.52, 1, "zh") == "↓ 差距 16.5"
    assert district.gap_target_text(-5.9, 1, "zh") == "✓ 已达标（超出 5.9）"  # negative = better than target
    assert district.gap_target_text(0.0, 1, "en") == "✓ met"
    assert district.gap_target_text(None, 1, "zh") == "—"
    assert district.gap_best_text(0.0, 1, "zh") == "全市最优" and district.gap_best_text(3.25, 2, "en") == "behind by 3.25"


def test_indicator_rows_are_one_component_per_row_sorted_by_priority(ctx) -> None:
    dp = views.district_profile(ctx, "310115", None, "zh")
    table = district.indicator_table(dp, "zh")
    rows = table.children[1].children
    assert len(rows) == dp.indicators.height
    assert [r.to_plotly_json()["props"]["data-indicator"] for r in rows] == dp.indicators["indicator"].to_list()
    first = district.indicator_rows(dp, "zh")[0]
    assert first["gap_target"].startswith(("↓ 差距", "✓ 已达标"))
    big = district.indicator_rows(dp.__class__(**{**dp.__dict__, "indicators": dp.indicators.with_columns(
        sample=dp.indicators["sample"] * 0 + 33_811_200)}), "zh")
    assert big[0]["sample"] == "3,381.1 万"
