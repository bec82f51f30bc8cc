"""Roll up and drill down between levels on the district page (issue 20): a parent unit (a province over its
counties) has no stored composite of its own — the refresh scores the units the records attach to; its pooled
score is a view (etl.stores.levels.score_level: `govindex rank`, the overview's province map) — so its page
summarises its units' scores (count, mean, population-weighted mean, lowest and highest) and lists them ranked
within it, each a link to its own page; at many units the page index lists the parents, not 2,844 cards.

A parent's summary is of its units' scores, not a score of the parent (indicators.levels: aggregation is not
linear, so the two differ); the note says so.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from dash import dcc, html

from app.ui import components as c
from app.ui import many_units, unit_finder
from app.ui.i18n import fmt_num, t
from indicators.units import Units


def rollup(table: pl.DataFrame, units: Units, parent: str) -> dict[str, Any]:
    """The parent's summary of its units' scores in `table` (unit_code, score): n, mean, weighted (by
    population), lo, hi; None where no unit under it has a score."""
    under = set(units.subtree(parent)) - {parent}
    d = table.filter(pl.col("unit_code").cast(pl.String).is_in(list(under)) & pl.col("score").is_not_null()
                     & pl.col("score").is_not_nan())
    if d.height == 0:
        return {"n": 0, "mean": None, "weighted": None, "lo": None, "hi": None}
    pop = [float(_population(units, str(u))) for u in d["unit_code"].to_list()]
    scores = d["score"].cast(pl.Float64).to_list()
    total = sum(pop)
    return {"n": d.height, "mean": sum(scores) / d.height,
            "weighted": sum(s * p for s, p in zip(scores, pop, strict=True)) / total if total else None,
            "lo": min(scores), "hi": max(scores)}


def _population(units: Units, code: str) -> int:
    u = units.get(code)
    return (u.population or 0) if u is not None else 0


def parent_body(table: pl.DataFrame, districts: pl.DataFrame, units: Units, parent: str, lang: str,
                period: str | None, grid_id: str) -> html.Div:
    """A parent unit's page body: the roll-up KPIs and its units ranked within it (a grid; names link down)."""
    s = rollup(table, units, parent)
    u = units.get(parent)
    name = u.name(lang) if u is not None else parent
    kids = many_units.with_units(table, districts, lang).filter(
        pl.col("unit_code").cast(pl.String).is_in(list(set(units.subtree(parent)) - {parent}))).sort(
        "rank", nulls_last=True)
    rows = unit_finder.rows(kids, lang)
    kpis = html.Div([
        c.kpi(t("levels.n", lang), f"{s['n']:,}"),
        c.kpi(t("levels.mean", lang), fmt_num(s["mean"], lang)),
        c.kpi(t("levels.weighted", lang), fmt_num(s["weighted"], lang)),
        c.kpi(t("levels.range", lang), f"{fmt_num(s['lo'], lang)} – {fmt_num(s['hi'], lang)}"),
    ], className="kpis", id=f"{grid_id}-rollup")
    return html.Div([
        html.P(t("levels.lead", lang, name=name, n=f"{kids.height:,}"), className="note"),
        kpis,
        html.P(t("levels.note", lang), className="note"),
        c.grid(grid_id, rows, unit_finder.columns(lang, kids), lang, height=460),
    ])


def parent_index(table: pl.DataFrame, units: Units, lang: str, period: str | None) -> html.Div:
    """The page index at many units: one card per top unit with units under it (rolled up), linking down."""
    cards = []
    for top in units.children(None):
        if not units.children(top):
            continue
        s = rollup(table, units, top)
        u = units.get(top)
        cards.append(dcc.Link(
            html.Div([html.Div(t("levels.card_n", lang, n=f"{s['n']:,}"), className="kpi-label"),
                      html.Div(u.name(lang) if u is not None else top, className="kpi-value"),
                      html.Div(fmt_num(s["mean"], lang), className="kpi-note")], className="kpi"),
            href=c.with_query(f"/district/{top}", None, lang=lang, period=period),
            className="district-card", id=f"parent-card-{top}"))
    return html.Div([html.P(t("levels.index", lang), className="note"),
                     html.Div(cards, className="kpis district-index")])
