"""The XLSX exports a leader forwards unchanged (issue 14, finding 6), read back with openpyxl: cover sheet, Chinese
headers, number formats, colours that mean better/worse, no column that says nothing, periods in words.
Each test failed on the scorecard export before this rewrite (the overview had no export at all)."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from app.ui import exports
from app.ui.exports import ExportMeta, export_meta, overview_xlsx, scorecard_xlsx
from app.ui.i18n import fmt_period, t
from app.views import frames as views
from indicators.spec import BandSpec
from tests.app.conftest import app_config

LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _header(ws) -> dict[str, int]:
    """Header text → column number (1-based) of a table sheet."""
    return {c.value: c.column for c in ws[1] if c.value is not None}


def _column(ws, header: str) -> list:
    j = _header(ws)[header]
    return [ws.cell(row=i, column=j) for i in range(2, ws.max_row + 1) if ws.cell(row=i, column=1).value is not None]


@pytest.fixture()
def dp(ctx) -> views.DistrictProfile:
    return views.district_profile(ctx, "310115", None, "zh")


@pytest.fixture()
def scorecard(ctx, dp) -> openpyxl.Workbook:
    meta = export_meta(ctx, None, dp.period, dp.source, "zh", "评估版本 E-2025-1")
    return _book(scorecard_xlsx(dp, "zh", meta=meta))


def test_the_scorecard_opens_on_a_cover_with_title_period_profile_edition_time_coverage_and_directions(
        ctx, dp, scorecard) -> None:
    cover = scorecard.worksheets[0]
    assert cover.title == "评分卡"
    cells = {str(c.value) for row in cover.iter_rows() for c in row if c.value is not None}
    text = "\n".join(cells)
    assert "浦东新区" in cover["A1"].value and t("app.title", "zh") in cover["A1"].value
    assert fmt_period(dp.period, "zh") in cells and "Q" not in fmt_period(dp.period, "zh")  # 2024年第四季度, not 2024Q4
    assert ctx.profile(None).title_zh in cells
    assert "评估版本 E-2025-1" in cells
    assert re.search(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}（北京时间）", text), "no export time in Beijing time"
    assert any("16 个区；已隔离问题数据 2 行" in c for c in cells), "no data coverage line"
    # the district's own composite and rank as the page shows them (they move whenever the catalog changes)
    summary = dp.summary
    assert f"第 {int(summary['rank'])} 名 / 共 16 个区" in cells and f"{float(summary['score']):.1f} 分" in cells
    assert any(c.startswith("背景指标：") and "保证线下的适老服务" in c for c in cells), "no context note in the export"
    # the direction of every indicator, in words
    ups, downs = t("export.direction.up", "zh"), t("export.direction.down", "zh")
    directions = [c.value for row in cover.iter_rows() for c in row if c.value in (ups, downs)]
    assert len(directions) == len(ctx.framework.indicators)
    assert downs in directions and ups in directions


def test_numbers_have_formats_people_read_scores_with_fen_samples_as_integers_percentages_as_percent(
        scorecard, dp) -> None:
    ind = scorecard["指标明细"]
    sample = _column(ind, "样本量")
    assert all(isinstance(c.value, int) for c in sample if c.value is not None)  # never 36.000
    assert {c.number_format for c in sample} == {'[>=100000]0!.0,"万";#,##0'}  # 3381.1万 for 33,811,200
    assert {c.number_format for c in _column(ind, "得分")} == {'0.0"分"'}
    assert {c.number_format for c in _column(ind, "排名")} == {"0"}
    units = [c.value for c in _column(ind, "单位")]
    values = _column(ind, "数值")
    pct = [v for v, u in zip(values, units, strict=True) if u == "%"]
    other = [v for v, u in zip(values, units, strict=True) if u != "%"]
    assert pct and all(c.number_format.endswith("%") for c in pct)
    assert other and not any(c.number_format.endswith("%") for c in other)
    # percentages are written as shares so Excel's % shows the same number as the page
    first = dp.indicators.filter(pl.col("unit") == "%").row(0, named=True)
    assert pct[0].value == pytest.approx(first["value"] / 100)
    dims = scorecard["维度"]
    assert {c.number_format for c in _column(dims, "本区")} == {'0.0"分"'}


def test_a_negative_gap_to_target_is_green_and_a_positive_one_red(scorecard) -> None:
    gaps = [c for c in _column(scorecard["指标明细"], "距目标") if c.value is not None]
    good = [c for c in gaps if c.value < 0]
    bad = [c for c in gaps if c.value > 0]
    assert good and bad
    assert {c.font.color.rgb[-6:] for c in good} == {exports.GREEN[1:]}
    assert {c.font.color.rgb[-6:] for c in bad} == {exports.RED[1:]}
    assert all(c.number_format.startswith("+") for c in gaps)  # the sign is shown


def test_a_column_with_the_same_value_on_every_row_is_left_out(ctx, dp) -> None:
    """The priorities sheet had 排名 15 on every row: a new rank that does not vary says nothing."""
    pri = dp.priorities.with_columns(pl.lit(15).alias("new_rank"), pl.lit(1).alias("rank_gain"))
    book = _book(scorecard_xlsx(dataclasses.replace(dp, priorities=pri), "zh"))
    headers = set(_header(book["改进优先项"]))
    assert t("export.col.new_rank", "zh") not in headers and "排名" not in headers
    assert "综合分提升" in headers
    varied = dp.priorities.with_columns(pl.Series("new_rank", list(range(15, 15 - dp.priorities.height, -1))))
    book = _book(scorecard_xlsx(dataclasses.replace(dp, priorities=varied), "zh"))
    assert t("export.col.new_rank", "zh") in set(_header(book["改进优先项"]))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_header_is_in_the_reader_s_language_including_the_quarantine_sheet(ctx, lang: str) -> None:
    dp = views.district_profile(ctx, "310115", None, lang)
    book = _book(scorecard_xlsx(dp, lang, meta=export_meta(ctx, None, dp.period, dp.source, lang)))
    q = book[t("dq.quarantine", lang)]
    headers = list(_header(q))
    assert headers and not {"table_name", "row_number", "column_name", "value", "reason"} & set(headers)
    for ws in book.worksheets[1:]:
        for h in _header(ws):
            if lang == "zh":
                assert not LATIN_WORD.search(h), f"{ws.title}: header {h!r} is not Chinese"
            else:
                assert not re.search(r"[\u4e00-\u9fff]", h), f"{ws.title}: header {h!r} is not English"
    if lang == "zh":  # the table by its Chinese title, the check in words
        assert _column(q, "表")[0].value.startswith("办件")


def test_a_field_a_view_model_gains_is_exported_with_its_header(dp) -> None:
    """Other helpers add fields to the view models (n, imputed, rank intervals): the spec table names them."""
    ind = dp.indicators.with_columns(pl.lit(1234.0).alias("n"), pl.lit(7).alias("rank_lo"))
    book = _book(scorecard_xlsx(dataclasses.replace(dp, indicators=ind), "zh"))
    headers = _header(book["指标明细"])
    assert t("export.col.n", "zh") in headers and t("export.col.rank_lo", "zh") in headers
    assert _column(book["指标明细"], t("export.col.rank_lo", "zh"))[0].value == 7
    assert "decimals" not in headers and "trend" not in headers  # internal fields stay out


def test_text_that_looks_like_a_formula_stays_text(dp) -> None:
    evil = "=HYPERLINK(\"http://x\")"
    data = scorecard_xlsx(dataclasses.replace(dp, name=evil), "zh")
    cover = _book(data).worksheets[0]
    district = next(r[1] for r in cover.iter_rows() if r[0].value == "区")
    assert district.value.startswith(evil) and district.data_type == "s"


# -- the overview --------------------------------------------------------------------------------------------------
@pytest.fixture()
def overview_book(ctx):
    ov = views.overview(ctx, None, "zh")
    return ov, _book(overview_xlsx(ov, "zh", export_meta(ctx, None, ov.period, ov.source, "zh", "快照 S1")))


def test_the_overview_exports_ranking_intervals_bands_and_a_cover(ctx, overview_book) -> None:
    ov, book = overview_book
    assert [ws.title for ws in book.worksheets] == ["封面", "综合排名"]
    cover_text = {str(c.value) for row in book["封面"].iter_rows() for c in row if c.value is not None}
    assert "快照 S1" in cover_text and fmt_period(ov.period, "zh") in cover_text
    ws = book["综合排名"]
    h = _header(ws)
    for header in ("排名", "区", "综合得分", "等级", "排名区间 (5–95%)", "排名变化", "供给侧", "需求侧"):
        assert header in h, header
    names = [c.value for c in _column(ws, "区")]
    assert names == ov.table["name"].to_list()
    intervals = [c.value for c in _column(ws, "排名区间 (5–95%)")]
    lo, hi = ov.table["rank_lo"].to_list(), ov.table["rank_hi"].to_list()
    assert intervals == [f"{int(a)}–{int(b)}" for a, b in zip(lo, hi, strict=True)]
    bands = {c.value for c in _column(ws, "等级")}
    assert bands <= set(BandSpec().labels_zh) and bands
    change = [c for c in _column(ws, "排名变化") if c.value]
    assert {c.font.color.rgb[-6:] for c in change if c.value > 0} == {exports.GREEN[1:]}
    assert {c.font.color.rgb[-6:] for c in change if c.value < 0} == {exports.RED[1:]}


def test_band_labels_follow_the_profile_s_band_rule() -> None:
    import numpy as np

    scores = np.array([95.0, 85.0, 70.0, 10.0, np.nan])
    assert exports.band_labels(scores, BandSpec(), "zh") == ["优秀", "良好", "一般", "较差", None]
    q = BandSpec(method="quantile")
    labels = exports.band_labels(np.arange(1.0, 9.0), q, "en")
    assert labels[-1] == q.labels_en[0] and labels[0] == q.labels_en[-1]


def test_the_download_routes_send_both_workbooks(fixture_db: Path, weights_dir: Path) -> None:
    from app.server import create_app
    from app.web.auth_config import AuthSettings

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                        auth=AuthSettings(mode="demo")).server.test_client()
    r = client.get("/download/overview.xlsx?lang=en")
    assert r.status_code == 200 and r.mimetype == exports.XLSX_MIME
    assert [ws.title for ws in _book(r.data).worksheets] == ["Cover", "Ranking"]
    r = client.get("/download/scorecard/310115.xlsx")
    assert r.status_code == 200 and _book(r.data).worksheets[0].title == "评分卡"
    assert client.get("/download/scorecard/999999.xlsx").status_code == 404


def test_meta_defaults_keep_the_old_call_working(dp) -> None:
    book = _book(scorecard_xlsx(dp, "en", "Snapshot S1"))
    text = {str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None}
    assert "Snapshot S1" in text
    assert isinstance(ExportMeta(period="2024Q1", profile_title="x").exported_at.tzinfo, object)
