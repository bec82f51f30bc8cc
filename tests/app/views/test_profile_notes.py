"""The weights page says what an older profile names that the catalog no longer weighs (context or retired)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from app.views import reweight
from indicators.catalog import RetiredDef
from indicators.profile import WeightProfile


def _profile(weights: dict[str, float]) -> WeightProfile:
    return WeightProfile.from_dict({"name": "old", "title_zh": "旧方案", "title_en": "Old", "author": "t",
                                    "date": dt.date(2025, 1, 1), "rationale": {"zh": "旧"}, "weights": weights})


def test_a_profile_weighting_a_context_indicator_gets_a_bilingual_note(ctx) -> None:
    p = _profile({"online_rate_60plus": 2.0, "item_coverage_rate": 1.0})
    zh, en = reweight.profile_notes(ctx, p, "zh"), reweight.profile_notes(ctx, p, "en")
    assert len(zh) == len(en) == 1
    assert "老年人网办率" in zh[0] and "背景指标" in zh[0]
    assert "Online take-up aged 60+" in en[0] and "context" in en[0]
    assert p.resolved_weights(ctx.framework)["online_rate_60plus"] == 0.0
    assert reweight.profile_notes(ctx, _profile({"item_coverage_rate": 1.0}), "zh") == []


def test_a_profile_naming_a_retired_indicator_gets_the_catalog_s_reason(ctx, monkeypatch) -> None:
    fw = ctx.framework
    monkeypatch.setattr(ctx, "framework", dataclasses.replace(fw, retired={"gone_rate": "saturated"}))
    monkeypatch.setattr(ctx.catalog, "retired", (RetiredDef(id="gone_rate", retired_in="issue 18",
                                                            reason_zh="已饱和", reason_en="saturated"),))
    p = _profile({"gone_rate": 1.0})
    [zh] = reweight.profile_notes(ctx, p, "zh")
    [en] = reweight.profile_notes(ctx, p, "en")
    assert "gone_rate" in zh and "已饱和" in zh and "退役" in zh
    assert "gone_rate" in en and "saturated" in en and "retired" in en


def test_the_district_table_marks_a_context_indicator_and_says_why(ctx) -> None:
    from app.ui import district_table
    from app.views import frames as views

    dp = views.district_profile(ctx, "310115", None, "zh")
    rows = {r["indicator"]: r for r in district_table.indicator_rows(dp, "zh")}
    ctx_row, scored = rows["online_rate_60plus"], rows["item_coverage_rate"]
    assert ctx_row["label"].endswith("（背景指标）") and "保证线下的适老服务" in ctx_row["context_note"]
    assert scored["context_note"] is None and not scored["label"].endswith("（背景指标）")
    tr = district_table.indicator_row(ctx_row, 12)
    label_cell = tr.children[[f for f, _, _ in district_table.INDICATOR_COLUMNS].index("label")]
    assert label_cell.title == ctx_row["context_note"]
