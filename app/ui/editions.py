"""Edition pieces the overview and district page share: the year-on-year card (a page module is never imported by
another page: Dash registers each page once)."""

from __future__ import annotations

from typing import Any

from dash import html

from app.ui import components as c
from app.ui.i18n import fmt_num, fmt_period, t
from app.views.editions import TrendView, overview_trend_frame

TREND = "editions-trend"


def trend_card(view: TrendView, lang: str, unit: str | None = None) -> html.Section:
    """Year on year across published editions: every district (overview: score and rank per cycle) or one district
    (composite, supply, demand, rank per cycle); method changes between editions are said, not only data."""
    body: list[Any]
    if not view.cycles:
        body = [html.P(t("editions.trend.none", lang), className="note")]
    elif unit is None:
        frame = overview_trend_frame(view, lang)
        cols = [c.col("name", "col.district", lang)] + [{"field": cy, "headerName": fmt_period(cy, lang)}
                                                       for cy in view.cycles]
        body = [c.grid(f"{TREND}-grid", frame.to_dicts(), cols, lang, height="auto")]
    else:
        heads = ("editions.col.cycle", "col.score", "col.supply", "col.demand", "col.rank")
        rows = [html.Tr([html.Td(fmt_period(r["cycle"], lang) + (f" ({t('editions.trend.partial', lang)})" if r["partial"] else "")),
                         html.Td(fmt_num(r["composite"], lang)), html.Td(fmt_num(r.get("supply"), lang)),
                         html.Td(fmt_num(r.get("demand"), lang)), html.Td(f"#{r['rank']}")])
                for r in view.table.sort("cycle").iter_rows(named=True)]
        body = [html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for k in heads])), html.Tbody(rows)],
                           className="table trend-table", id=f"{TREND}-table")]
    notes = [html.P(n, className="note warn") for n in view.method_notes]
    return c.card(t("editions.trend.title", lang), *body, *notes, id=TREND)
