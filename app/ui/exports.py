"""Exports people take away: the district scorecard as XLSX (the quarantine CSV is built on its page)."""

from __future__ import annotations

import io

import polars as pl
import xlsxwriter

from app.views import frames as views
from app.ui.i18n import interval_method_label, missing_reason_label, t
from app.ui.readings import fmt_k_of_n
from etl.safe_export import write_sheet


def interval_columns(indicators: pl.DataFrame, lang: str) -> list[pl.Expr]:
    """The n, 95% interval, interval method and missing reason of each indicator value, as export columns (empty
    for a profile built before indicator values carried them); for every export of indicator values."""
    if "ci_low" not in indicators.columns:
        return []
    return [
        pl.col("n").alias(t("col.n", lang)),
        pl.col("ci_low").alias(t("col.ci_low", lang)),
        pl.col("ci_high").alias(t("col.ci_high", lang)),
        pl.col("interval_method").map_elements(lambda m: interval_method_label(m, lang), return_dtype=pl.String)
        .alias(t("col.interval_method", lang)),
        pl.col("missing_reason").map_elements(lambda r: missing_reason_label(r, lang), return_dtype=pl.String)
        .alias(t("col.missing_reason", lang)),
    ]


def scorecard_xlsx(dp: views.DistrictProfile, lang: str, edition_line: str | None = None) -> bytes:
    """The district's scorecard as an XLSX workbook: summary, dimensions, indicators, priorities, data issues.
    `edition_line` says which edition (or which unpublished refresh) the figures are from; it heads the summary."""
    buf = io.BytesIO()
    # belt and braces: even a stray write() of "=..." or "http://..." stays text
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    s = dp.summary
    summary = pl.DataFrame({
        t("col.district", lang): [dp.name], t("col.code", lang): [dp.code], t("col.period", lang): [dp.period],
        t("col.score", lang): [s["score"]], t("col.rank", lang): [s["rank"]],
        t("col.supply", lang): [s.get("supply")], t("col.demand", lang): [s.get("demand")],
        t("col.k_of_n", lang): [fmt_k_of_n(s.get("n_observed"), s.get("n_indicators"), lang)],
    })
    if edition_line:
        summary = summary.with_columns(pl.lit(edition_line).alias(t("editions.export.line", lang)))
    dims = dp.dimensions.select(
        pl.col("label").alias(t("col.dimension", lang)), pl.col("this").alias(t("district.this", lang)),
        pl.col("median").alias(t("district.median", lang)), pl.col("best").alias(t("district.best", lang)),
        pl.col("best_name").alias(t("col.district", lang)),
    )
    ind = dp.indicators.select(
        pl.col("indicator").alias("id"), pl.col("label").alias(t("col.indicator", lang)),
        pl.col("value").alias(t("col.value", lang)), pl.col("unit").alias(t("col.unit", lang)),
        pl.col("score").alias(t("col.ind_score", lang)), pl.col("rank").alias(t("col.ind_rank", lang)),
        pl.col("gap_best").alias(t("col.gap_best", lang)), pl.col("gap_target").alias(t("col.gap_target", lang)),
        pl.col("sample").alias(t("col.sample", lang)),
        *interval_columns(dp.indicators, lang),
    )
    pri = dp.priorities.select(
        pl.col("label").alias(t("col.indicator", lang)), pl.col("composite_gain").alias(t("col.gain", lang)),
        pl.col("new_rank").alias(t("col.rank", lang)),
    ) if dp.priorities.height else pl.DataFrame({t("col.indicator", lang): [], t("col.gain", lang): []})
    q = dp.quarantine.drop("original_row", "district_code", strict=False)
    for sheet, frame in ((t("district.scorecard", lang), summary), (t("col.dimension", lang), dims),
                         (t("district.indicators", lang), ind), (t("district.priorities", lang), pri),
                         (t("dq.quarantine", lang), q)):
        write_sheet(wb, sheet, frame)  # text as text: quarantined values and names never become formulas
    wb.close()
    return buf.getvalue()
