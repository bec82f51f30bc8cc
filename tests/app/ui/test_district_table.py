"""The district page's indicator table (app/ui/district_table.py): gaps in words, one component per row."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from dash import html

from app.state import AppContext
from app.ui import district_table as district
from app.ui.exports import scorecard_xlsx
from app.ui.i18n import fmt_count, fmt_interval, fmt_num, t
from app.views import frames as views
from tests.app.conftest import app_config, shrinking_profile, with_intervals

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


# -- issue 13: every value with its 95% interval and n, a missing value with its reason, a shrunk value marked ----
def _text(component: object) -> str:
    """Every string a Dash component tree shows, joined."""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    children = getattr(component, "children", None)
    return "" if children is None else _text(children)


def _cells(table: html.Table, indicator: str) -> dict[str, html.Td]:
    row = next(r for r in table.children[1].children if r.to_plotly_json()["props"]["data-indicator"] == indicator)
    return {field: cell for (field, _, _), cell in zip(district.INDICATOR_COLUMNS, row.children, strict=True)}


@pytest.fixture(scope="module")
def interval_db(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_intervals(fixture_db, tmp_path_factory.mktemp("intervals") / "w.duckdb")


def test_each_value_shows_its_interval_and_n_and_a_missing_value_its_reason(interval_db: Path,
                                                                             weights_dir: Path) -> None:
    ctx = AppContext.create(app_config(interval_db, weights_dir, rank_samples=0))
    dp = views.district_profile(ctx, "310115", None, "zh")
    rec = dp.indicators.filter(pl.col("indicator") == "hotline_ontime_rate").row(0, named=True)
    cells = _cells(district.indicator_table(dp, "zh"), "hotline_ontime_rate")
    value = _text(cells["value"])
    low, high = fmt_num(rec["ci_low"], "zh", rec["decimals"]), fmt_num(rec["ci_high"], "zh", rec["decimals"])
    assert f"95% 区间 {low}–{high}" in value and value.startswith(fmt_num(rec["value"], "zh", rec["decimals"]))
    assert _text(cells["sample"]) == fmt_count(rec["n"], "zh")  # the interval's n beside the value
    assert cells["value"].title == rec["interval_text"] and "样本量" in cells["value"].title  # the hover
    gone = _cells(district.indicator_table(dp, "zh"), "unprompted_satisfaction")["value"]
    assert _text(gone) == "样本太少，95% 区间过宽" and "—" not in _text(gone)
    en = _text(_cells(district.indicator_table(dp, "en"), "unprompted_satisfaction")["value"])
    assert en == "too few observations: the 95% interval is too wide"
    assert "收缩" not in _text(district.indicator_table(dp, "zh"))  # this profile does not shrink


def test_n_in_the_hover_reads_as_the_count_formatter_gives_it() -> None:
    """n is a count: 万 from ten thousand and 亿 from a hundred million, like the table's n column."""
    assert fmt_interval(72.44, 70.0, 75.0, 56_000, "zh") == "72.4（95% 区间 70.0–75.0，样本量 5.6 万）"
    assert fmt_interval(72.44, 70.0, 75.0, 125_000_000, "zh").endswith("样本量 1.25 亿）")
    assert fmt_interval(None, 70.0, 75.0, 56_000, "zh", reason="imprecise").endswith("样本量 5.6 万）")
    assert fmt_interval(72.44, 70.0, 75.0, 56_000, "en") == "72.4 (95% interval 70.0–75.0, n = 56,000)"


def test_a_shrunk_value_is_marked_in_the_table_and_the_scorecard(interval_db: Path, weights_dir: Path) -> None:
    shrinking_profile(weights_dir)
    ctx = AppContext.create(app_config(interval_db, weights_dir, rank_samples=0))
    dp = views.district_profile(ctx, "310115", "user-centred", "zh")
    shrunk = dp.indicators.filter(pl.col("shrunk"))
    assert shrunk.height > 0 and shrunk["shrunk_value"].null_count() == 0
    table = district.indicator_table(dp, "zh")
    ind = shrunk["indicator"][0]
    assert "收缩" in _text(_cells(table, ind)["value"])
    plain = dp.indicators.filter(~pl.col("shrunk") & pl.col("value").is_not_null())
    if plain.height:
        assert "收缩" not in _text(_cells(table, plain["indicator"][0])["value"])
    book = openpyxl.load_workbook(io.BytesIO(scorecard_xlsx(dp, "zh")))
    ws = book[t("district.indicators", "zh")]
    head = [c.value for c in ws[1]]
    col = head.index(t("export.col.shrunk_flag", "zh"))
    label = head.index(t("col.indicator", "zh"))
    flags = {r[label].value: r[col].value for r in ws.iter_rows(min_row=2) if r[label].value}
    want = dict(zip(dp.indicators["label"], dp.indicators["shrunk"], strict=True))
    assert flags == {k: t("export.yes" if v else "export.no", "zh") for k, v in want.items()}


def test_without_shrinkage_the_scorecard_has_no_shrunk_column(ctx) -> None:
    dp = views.district_profile(ctx, "310115", None, "zh")
    assert "shrunk" not in dp.indicators.columns
    book = openpyxl.load_workbook(io.BytesIO(scorecard_xlsx(dp, "zh")))
    head = [c.value for c in book[t("district.indicators", "zh")][1]]
    assert t("export.col.shrunk_flag", "zh") not in head
