"""The district page's one-paragraph reading, generated from its numbers (Chinese and English through i18n).

A pure function of the view model (app.views.frames.DistrictProfile): rank and its change on the previous period,
the supply/demand split, the strongest and weakest dimension against the city median, how many indicators meet
their target, and the three indicators to fix first with the composite points reaching their targets would add.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from app.ui.i18n import fmt_num, fmt_period, fmt_signed, t

# A side is "clearly" ahead when its rank is better by more than this many places.
SIDE_GAP = 3


def _int(x: Any) -> int | None:
    try:
        return int(x)
    except (TypeError, ValueError):
        return None


def _rank_change(trend: pl.DataFrame, period: str) -> int | None:
    """Places gained since the period before `period` (positive = moved up), None without a previous rank."""
    if trend.height == 0 or "period" not in trend.columns:
        return None
    periods = trend["period"].to_list()
    if period not in periods:
        return None
    i = periods.index(period)
    if i == 0:
        return None
    now, before = _int(trend["rank"][i]), _int(trend["rank"][i - 1])
    if now is None or before is None:
        return None
    return before - now


def district_reading(dp: Any, lang: str) -> str:
    """One paragraph about the district `dp` (a DistrictProfile) in `lang`."""
    s = dp.summary
    parts = [t("reading.district.head", lang, name=dp.name, period=fmt_period(dp.period, lang),
               score=fmt_num(s.get("score"), lang), rank=s.get("rank") or "—", n=s.get("n") or "—")]
    change = _rank_change(dp.trend, dp.period)
    if change is not None:
        key = "reading.district.up" if change > 0 else "reading.district.down" if change < 0 else "reading.district.same"
        parts.append(t(key, lang, k=abs(change)))
    srank, drank = _int(s.get("supply_rank")), _int(s.get("demand_rank"))
    if srank is not None and drank is not None:
        parts.append(t("reading.district.sides", lang, srank=srank, drank=drank))
        if drank - srank > SIDE_GAP:
            parts.append(t("reading.district.supply_ahead", lang))
        elif srank - drank > SIDE_GAP:
            parts.append(t("reading.district.demand_ahead", lang))
    dims = dp.dimensions
    if dims.height and {"this", "median", "label", "code"} <= set(dims.columns):
        d = (dims.filter(~pl.col("code").is_in(["supply", "demand"]))
             .with_columns((pl.col("this") - pl.col("median")).alias("vs"))
             .filter(pl.col("vs").is_not_null()).sort("vs", descending=True))
        if d.height >= 2:
            top, low = d.row(0, named=True), d.row(-1, named=True)
            parts.append(t("reading.district.dims", lang, strong=top["label"], weak=low["label"],
                           sd=t("reading.points", lang, v=fmt_signed(top["vs"], lang)),
                           wd=t("reading.points", lang, v=fmt_signed(low["vs"], lang))))
    ind = dp.indicators
    if ind.height and "gap_target" in ind.columns:
        known = ind.filter(pl.col("gap_target").is_not_null())
        met = known.filter(pl.col("gap_target") <= 0).height
        parts.append(t("reading.district.targets", lang, met=met, short=known.height - met))
    pri = dp.priorities
    if pri.height and "priority" in pri.columns:
        top3 = pri.head(3)
        sep = "、" if lang == "zh" else ", "
        items = sep.join(f"“{x}”" if lang == "zh" else x for x in top3["label"].to_list())
        gain = float(top3["composite_gain"].fill_null(0).sum()) if "composite_gain" in top3.columns else 0.0
        parts.append(t("reading.district.priorities", lang, items=items, gain=fmt_num(gain, lang)))
    parts.append(t("reading.district.end", lang))
    return "".join(parts)
