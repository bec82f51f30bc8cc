"""The district page's indicator table: every indicator as one row, highest improvement priority first.

A plain HTML table (renders at once, prints, wraps long names and headers instead of cutting them). Each row is
built by `indicator_row` from one display dict of `indicator_rows`, and carries `data-indicator`, so per-row controls
(e.g. "open a rectification item from this gap") can be added in one place.
"""

from __future__ import annotations

import math

from dash import html

from app.ui import figures
from app.ui.i18n import fmt_count, fmt_num, fmt_signed, t
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


def indicator_rows(dp: views.DistrictProfile, lang: str) -> list[dict]:
    """The indicator table's rows as display text, highest priority first (the XLSX and the page read the same)."""
    rows = []
    for r in dp.indicators.iter_rows(named=True):
        dec = int(r["decimals"])
        rows.append({
            "indicator": r["indicator"],
            "label": r["label"],
            "side": t(f"side.{r['side']}", lang) if r["side"] else "",
            "dimension": r["dimension"],
            "value": fmt_num(r["value"], lang, dec),
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
            "sample": fmt_count(r["sample"], lang),
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
        if field == "gap_target":
            cls = f"{cls} {'short' if row['short'] else 'met'}"
        cells.append(html.Td(text, className=cls, title=row["indicator"] if field == "label" else None))
    weak = row.get("rank") is not None and row["rank"] > weak_rank
    return html.Tr(cells, className="row-weak" if weak else None, **{"data-indicator": row["indicator"]})


def indicator_table(dp: views.DistrictProfile, lang: str, table_id: str = "district-indicators") -> html.Table:
    """Every indicator, highest improvement priority first; a plain table so it renders at once, prints and wraps
    long names and headers instead of cutting them."""
    weak = math.ceil(0.75 * int(dp.summary.get("n") or 16))
    head = html.Thead(html.Tr([html.Th(t(key, lang), className=cls if cls in ("num", "centre") else None)
                               for _, key, cls in INDICATOR_COLUMNS]))
    body = html.Tbody([indicator_row(r, weak) for r in indicator_rows(dp, lang)])
    return html.Table([head, body], id=table_id, className="data-table indicator-table")
