"""The district page's indicator table: every indicator as one row, highest improvement priority first.

A plain HTML table (renders at once, prints, wraps long names and headers instead of cutting them). Each row is
built by `indicator_row` from one display dict of `indicator_rows`, and carries `data-indicator`, so per-row controls
(e.g. "open a rectification item from this gap") can be added in one place.
"""

from __future__ import annotations

import math

from dash import html

from app.ui import figures
from app.ui.i18n import fmt_count, fmt_num, fmt_signed, missing_reason_label, t
from app.views import frames as views


def gap_target_text(gap: float | None, decimals: int, lang: str) -> str:
    """The gap to target in words: '↓ 差距 16.5' (short of it), '✓ 已达标' or '✓ 已达标（超出 0.5）'."""
    if gap is None:
        return t("na", lang)
    if gap > 0:
        return t("district.gap_short", lang, v=fmt_num(gap, lang, decimals))
    if gap < 0:
        return t("district.gap_met_by", lang, v=fmt_num(-gap, lang, decimals))
    return t("district.gap_met", lang)


def gap_best_text(gap: float | None, decimals: int, lang: str) -> str:
    """The gap to the best district: '全市最优' or '落后 12.3' (in the indicator's unit)."""
    if gap is None:
        return t("na", lang)
    if gap <= 0:
        return t("district.gap_best_zero", lang)
    return t("district.gap_best_short", lang, v=fmt_num(gap, lang, decimals))


def interval_line(r: dict, decimals: int, lang: str) -> str:
    """The line under a value: '95% 区间 65.1–79.0', '全量统计，无抽样误差', or '' when the interval is unknown."""
    if r.get("interval_method") == "none":
        return t("interval.census_short", lang)
    lo, hi = r.get("ci_low"), r.get("ci_high")
    if lo is None or hi is None:
        return ""
    return t("interval.short", lang, low=fmt_num(lo, lang, decimals), high=fmt_num(hi, lang, decimals))


def missing_text(r: dict, lang: str) -> str:
    """Why a value is missing, in words ('样本太少，95% 区间过宽'); no stated reason reads as no cases in the period."""
    return missing_reason_label(r.get("missing_reason") or "no_cases", lang)


def indicator_rows(dp: views.DistrictProfile, lang: str) -> list[dict]:
    """The indicator table's rows as display text, highest priority first (the XLSX and the page read the same).

    A value carries its 95% interval (`interval`), its n (`sample`: the interval's n, else the denominator) and the
    full `interval_text` for its hover; a missing value carries its reason (`missing`) instead of a bare dash; a
    value the profile shrank toward the city level is `shrunk` (with the scored value in `shrunk_title`)."""
    rows = []
    for r in dp.indicators.iter_rows(named=True):
        dec = int(r["decimals"])
        value = r["value"]
        shrunk = bool(r.get("shrunk"))
        n = r.get("n") if r.get("n") is not None else r["sample"]
        context = r.get("role") == "context"
        rows.append({
            "indicator": r["indicator"],
            "context": context,
            # a context indicator is marked, its note in the hover: shown, never scored
            "label": f"{r['label']}{t('mark.context', lang)}" if context else r["label"],
            "context_note": t("role.context_note", lang, why=r.get("role_note") or "") if context else None,
            "side": t(f"side.{r['side']}", lang) if r["side"] else "",
            "dimension": r["dimension"],
            "value": fmt_num(value, lang, dec) if value is not None else None,
            "missing": missing_text(r, lang) if value is None else None,
            "interval": interval_line(r, dec, lang) if value is not None else "",
            "interval_text": r.get("interval_text") or "",
            "shrunk": shrunk,
            "shrunk_mark": t("mark.shrunk", lang) if shrunk else "",
            "shrunk_title": t("mark.shrunk_title", lang, v=fmt_num(r.get("shrunk_value"), lang, dec),
                              raw=fmt_num(value, lang, dec)) if shrunk else None,
            "unit": r["unit"],
            "target": fmt_num(r.get("target"), lang, dec),
            "score": fmt_num(r["score"], lang),
            "rank": r["rank"],
            "gap_best": gap_best_text(r["gap_best"], dec, lang),
            "gap_target": gap_target_text(r["gap_target"], dec, lang),
            "short": r["gap_target"] is not None and r["gap_target"] > 0,
            "priority": fmt_num(r.get("priority"), lang, 2),
            "gain": fmt_signed(r.get("composite_gain"), lang, 2) if r.get("composite_gain") else t("na", lang),
            "trend": figures.sparkline_text(r["trend"]),
            "sample": fmt_count(n, lang),
            "direction": "↑" if r["direction"] > 0 else "↓",
        })
    return rows


# (field, header key, class) of the indicator table, left to right
INDICATOR_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("priority", "col.priority", "num"),
    ("label", "col.indicator", "name"),
    ("side", "col.side", ""),
    ("direction", "col.direction", "centre"),
    ("value", "col.value", "num"),
    ("unit", "col.unit", ""),
    ("target", "col.target", "num"),
    ("gap_target", "col.gap_target", "gap"),
    ("gap_best", "col.gap_best", "gap"),
    ("gain", "col.gain_target", "num"),
    ("score", "col.ind_score", "num"),
    ("rank", "col.ind_rank", "num"),
    ("trend", "col.trend", "sparkline"),
    ("sample", "col.sample", "num"),
)


def indicator_row(row: dict, weak_rank: int) -> html.Tr:
    """One indicator's row (cells in INDICATOR_COLUMNS order); `data-indicator` names it for tests and later
    per-row controls; the bottom quarter of the city (rank above `weak_rank`) is highlighted."""
    cells = []
    for field, _, cls in INDICATOR_COLUMNS:
        value = row.get(field)
        text = "—" if value is None or value == "" and field != "side" else str(value)
        if field == "value":
            cells.append(value_cell(row, cls))
            continue
        if field == "gap_target":
            cls = f"{cls} {'short' if row['short'] else 'met'}"
        title = (row.get("context_note") or row["indicator"]) if field == "label" else None
        cells.append(html.Td(text, className=cls, title=title))
    weak = row.get("rank") is not None and row["rank"] > weak_rank
    classes = " ".join(c for c, on in (("row-weak", weak), ("row-context", row.get("context"))) if on)
    return html.Tr(cells, className=classes or None, **{"data-indicator": row["indicator"]})


def value_cell(row: dict, cls: str) -> html.Td:
    """The value with a 收缩 mark when the profile shrank it and its 95% interval on a line below; a missing value
    reads as its reason. The hover (title) is the full text: value, interval and n, or why it is missing."""
    if row.get("value") is None:
        return html.Td(html.Span(row.get("missing") or "—", className="missing-reason"), className=f"{cls} missing",
                       title=row.get("interval_text") or None)
    parts: list = [row["value"]]
    if row.get("shrunk"):
        parts.append(html.Span(row["shrunk_mark"], className="mark shrunk", title=row.get("shrunk_title")))
    if row.get("interval"):
        parts += [html.Br(), html.Span(row["interval"], className="ci")]
    return html.Td(parts, className=cls, title=row.get("interval_text") or None)


def indicator_table(dp: views.DistrictProfile, lang: str, table_id: str = "district-indicators") -> html.Table:
    """Every indicator, highest improvement priority first; a plain table so it renders at once, prints and wraps
    long names and headers instead of cutting them."""
    weak = math.ceil(0.75 * int(dp.summary.get("n") or 16))
    head = html.Thead(html.Tr([html.Th(t(key, lang), className=cls if cls in ("num", "centre") else None)
                               for _, key, cls in INDICATOR_COLUMNS]))
    body = html.Tbody([indicator_row(r, weak) for r in indicator_rows(dp, lang)])
    return html.Table([head, body], id=table_id, className="data-table indicator-table")
