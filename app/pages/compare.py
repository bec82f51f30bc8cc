"""District comparison (区对比): two or more districts side by side, dimension by dimension and indicator by indicator.

The view is its address: `/compare?units=310101,310104&period=2026Q3&profile=user-centred&lang=en` opens the same
comparison for anyone allowed to view the pages (the same sign-in and role rules as every page; scores only, no
district's rejected rows). Choosing districts or a period rewrites the address without a reload.
"""

from __future__ import annotations

import dash
import polars as pl
from dash import Input, Output, State, callback, dcc, html

from app.state import AppContext, get_context
from app.ui import components as c
from app.ui import figures, ids
from app.ui import ledger_model as loop_model
from app.ui import map as district_map
from app.ui import national_map
from app.ui.i18n import fmt_num, fmt_period_marked, norm_lang, t
from app.views import frames as views
from app.views.compare import MAX_UNITS, Comparison, compare, parse_units
from etl.warehouse.snapshot import DataUnavailable
from indicators.periods import partial_periods

dash.register_page(__name__, path="/compare", name="区对比 Compare", title="区对比 · 一网通办用户中心绩效指数", order=2)

PREFIX = "compare"
BODY = f"{PREFIX}-body"
LANG = f"{PREFIX}-lang"
UNITS = f"{PREFIX}-units"
PERIOD = f"{PREFIX}-period"
MAP = f"{PREFIX}-map"
MAP_BY = f"{PREFIX}-map-by"
MAP_CARD = f"{PREFIX}-map-card"
MAP_PROVINCE = f"{PREFIX}-map-province"  # the national map's extent: the whole country or one province


def layout(units: str | None = None, lang: str | None = None, period: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    names = ctx.snapshot().district_names(lang)
    codes: list[str] = []
    periods: list[str] = []
    default = None
    partial: dict[str, tuple[str, ...]] = {}
    try:
        prep = ctx.prepared(ctx.profile(None))
        codes, periods, default = list(prep.units), list(prep.periods), prep.default_period
        partial = partial_periods(periods, ctx.snapshot().complete_months)
    except (DataUnavailable, LookupError):
        pass
    chosen = parse_units(units)
    picker = dcc.Dropdown(
        id=UNITS, options=[{"label": f"{names.get(u, u)} ({u})", "value": u} for u in codes],
        value=[u for u in chosen if u in codes][:MAX_UNITS], multi=True, placeholder=t("compare.choose", lang),
        labels=c.dropdown_labels(lang), className="compare-picker",  # type: ignore[arg-type]  # a TypedDict of str
    )
    period_picker = dcc.Dropdown(labels=c.dropdown_labels(lang),
        id=PERIOD, options=[{"label": fmt_period_marked(p, lang, partial), "value": p} for p in reversed(periods)],
        value=period if period in periods else default, clearable=False, searchable=False, className="period-select",
    )
    unknown = [u for u in chosen if u not in codes]
    province = national_map.start(codes, national_map.official_unit())  # an official's: their province
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            c.page_title(
                t("compare.title", lang),
                t("compare.lead", lang) + (" " + t("compare.unknown", lang, codes=("、" if lang == "zh" else ", ").join(unknown)) if unknown else ""),
                actions=[picker, html.Label(t("period.label", lang), htmlFor=PERIOD, className="inline-label"),
                         period_picker, c.print_button(PREFIX, lang)],
            ),
            c.card(None,
                   html.Div([html.Span(t("map.colour_by", lang)),
                             dcc.RadioItems(id=MAP_BY, value="score", inline=True,
                                            options=[{"label": t("map.by_score", lang), "value": "score"},
                                                     {"label": t("map.by_rank", lang), "value": "rank"}])],
                            className="map-controls no-print"),
                   national_map.extent(codes, lang, MAP_PROVINCE, province),
                   dcc.Loading(html.Div(id=MAP_CARD), type="dot", delay_show=300)),
            dcc.Loading(html.Div(id=BODY), type="dot", delay_show=300),
        ],
        className="compare print-page",
    )


# The chosen districts and period go into the address bar (no reload), so the comparison can be shared as a link.
dash.clientside_callback(
    """function(units, period){
        const C = window.dash_clientside;
        const u = new URL(window.location.href);
        const joined = (units || []).join(',');
        if(joined){ u.searchParams.set('units', joined); } else { u.searchParams.delete('units'); }
        if(period){ u.searchParams.set('period', period); }
        if(u.search === window.location.search){ return C.no_update; }
        window.history.replaceState(window.history.state, '', u.pathname + u.search + u.hash);
        return u.search;
    }""",
    Output(ids.URL_STATE, "data", allow_duplicate=True), Input(UNITS, "value"), Input(PERIOD, "value"),
    prevent_initial_call=True,
)


@callback(Output(BODY, "children"), Input(ids.PROFILE_SELECT, "value"), Input(UNITS, "value"),
          Input(PERIOD, "value"), State(LANG, "data"))
def render(profile: str | None, units: list[str] | None, period: str | None, lang: str):
    ctx = get_context()
    chosen = parse_units(units)
    if len(chosen) < 2:
        return c.card(None, html.P(t("compare.need_two", lang), className="note", id=f"{PREFIX}-need-two"))
    try:
        cmp = compare(ctx, chosen, profile, lang, period)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    if len(cmp.units) < 2:
        return c.card(None, html.P(t("compare.need_two", lang), className="note", id=f"{PREFIX}-need-two"))
    # one column per district, named for the figure's legend
    wide = cmp.dimensions.select(["label", *[pl.col(f"s_{u}").alias(n) for u, n in zip(cmp.units, cmp.names,
                                                                                        strict=True)]])
    return [
        html.P(views.source_text(cmp.source, lang), id=f"{PREFIX}-source", className="note source-note")
        if cmp.source is not None else None,
        c.card(None, _summary_table(cmp, lang), className="compare-card"),
        c.card(None, c.graph(f"{PREFIX}-dims-fig", figures.compare_dimensions_figure(wide, lang))),
        c.card(t("compare.dimensions", lang), _dimension_table(cmp, lang), className="compare-card"),
        c.card(t("compare.indicators", lang), html.P(t("compare.best_mark", lang), className="note"),
               html.P([t("compare.rag_note", lang), " ", t("rag.legend", lang)], className="note"),
               _indicator_table(cmp, lang, rag_statuses(ctx, cmp)), className="compare-card"),
    ]


@callback(Output(MAP_CARD, "children"), Input(ids.PROFILE_SELECT, "value"), Input(PERIOD, "value"),
          Input(MAP_BY, "value"), Input(UNITS, "value"), Input(MAP_PROVINCE, "value"), State(LANG, "data"))
def render_map(profile: str | None, period: str | None, by: str | None, units: list[str] | None,
               province: str | None, lang: str):
    """Every district coloured by score or rank, the chosen ones outlined; at national scale the provinces or the
    chosen province's county-level units (app.ui.national_map, as on the overview). Clicking a district adds it to
    the comparison; clicking a province draws its units."""
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang, period)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    return national_map.page_map(ctx, ov, lang, MAP, province, by or "score", parse_units(units))


@callback(Output(UNITS, "value"), Output(MAP_PROVINCE, "value"), Input(MAP, "clickData"),
          State(district_map.shapes_id(MAP), "data"), State(UNITS, "value"), prevent_initial_call=True)
def add_from_map(click: dict | None, shapes: list[str | None] | None, units: list[str] | None):
    """A click on the map adds that district to the comparison (a second click on a chosen one removes it); a click
    on a province of the national map draws its county-level units instead."""
    province, code = national_map.clicked(click, shapes)
    if province:
        return dash.no_update, province
    chosen = parse_units(units)
    if not code:
        return dash.no_update, dash.no_update
    if code in chosen:
        return [u for u in chosen if u != code], dash.no_update
    return (chosen + [code])[:MAX_UNITS], dash.no_update


def _head(cmp: Comparison, first: list[str], lang: str) -> html.Thead:
    links = [html.Th(dcc.Link(n, href=c.href(f"/district/{u}", lang)), className="num",
                     **{"data-unit": u})  # type: ignore[arg-type]  # a data-* attribute: dash takes it by keyword
             for u, n in zip(cmp.units, cmp.names, strict=True)]  # data-unit: a district official's own is marked
    return html.Thead(html.Tr([html.Th(h) for h in first] + links))


def _cell(value: object, rank: object, best: bool, lang: str, decimals: int = 1, *, hover: str | None = None,
          shrunk: bool = False, status: str | None = None) -> html.Td:
    """A value with its rank among all districts (▲ the best of those chosen). An indicator's cell also has its
    hover (the value with its 95% interval and n, or why it is missing), the 收缩 mark when the profile shrank it,
    and its red/amber/green chip against the target."""
    text = fmt_num(value, lang, decimals)
    if rank is not None:
        text += f"（{t('compare.rank_of', lang, rank=rank)}）" if lang == "zh" else f" ({t('compare.rank_of', lang, rank=rank)})"
    parts: list = [("▲ " if best else "") + text]
    if shrunk:
        parts.append(html.Span(t("mark.shrunk", lang), className="mark shrunk"))
    if status in ("red", "amber", "green"):
        parts.append(loop_model.rag_chip(status, lang))
    return html.Td(parts if len(parts) > 1 else parts[0], className="num best" if best else "num", title=hover or None,
                   **loop_model.attrs({"data-rag": status} if status else {}))


def rag_statuses(ctx: AppContext, cmp: Comparison) -> dict[tuple[str, str], str]:
    """(unit, indicator) → red/amber/green against the target at the compared period (the district page's rules:
    indicators/targets.py through the loop store), read once for all the chosen districts."""
    if cmp.period is None:
        return {}
    _, frame = loop_model.status_frame(ctx, cmp.period)
    if frame.height == 0 or "status" not in frame.columns:
        return {}
    hit = frame.filter(pl.col("unit_code").is_in(list(cmp.units)) & pl.col("status").is_not_null())
    return {(u, i): s for u, i, s in hit.select("unit_code", "indicator_id", "status").iter_rows()}


def _best(ranks: list[object]) -> object:
    known = [r for r in ranks if r is not None]
    return min(known) if len(known) > 1 else None  # type: ignore[type-var]


def _summary_table(cmp: Comparison, lang: str) -> html.Table:
    rows = []
    for key, value_col, rank_col in (("compare.composite", "score", "rank"), ("col.supply", "supply", "supply_rank"),
                                     ("col.demand", "demand", "demand_rank")):
        if value_col not in cmp.summary.columns:
            continue
        ranks = cmp.summary[rank_col].to_list()
        best = _best(ranks)
        rows.append(html.Tr([html.Th(t(key, lang))] + [
            _cell(v, r, r == best, lang) for v, r in zip(cmp.summary[value_col].to_list(), ranks, strict=True)]))
    return html.Table([_head(cmp, [""], lang), html.Tbody(rows)], id=f"{PREFIX}-summary",
                      className="data-table compare-table")


def _dimension_table(cmp: Comparison, lang: str) -> html.Table:
    rows = []
    for r in cmp.dimensions.iter_rows(named=True):
        ranks = [r[f"r_{u}"] for u in cmp.units]
        best = _best(ranks)
        rows.append(html.Tr([html.Td(r["label"], className="name")] + [
            _cell(r[f"s_{u}"], rk, rk == best, lang) for u, rk in zip(cmp.units, ranks, strict=True)],
            **{"data-node": r["code"]}))
    return html.Table([_head(cmp, [t("col.dimension", lang)], lang), html.Tbody(rows)], id=f"{PREFIX}-dimensions",
                      className="data-table compare-table")


def _indicator_table(cmp: Comparison, lang: str, statuses: dict[tuple[str, str], str] | None = None) -> html.Table:
    rows = []
    statuses = statuses or {}
    for r in cmp.indicators.iter_rows(named=True):
        ranks = [r[f"r_{u}"] for u in cmp.units]
        best = _best(ranks)
        dec = int(r["decimals"])
        ind = r["indicator"]
        rows.append(html.Tr(
            [html.Td(r["label"], className="name", title=ind), html.Td(r["dimension"]),
             html.Td("↑" if r["direction"] > 0 else "↓", className="centre"), html.Td(r["unit"])]
            + [_cell(r[f"v_{u}"], rk, rk == best, lang, dec, hover=r.get(f"i_{u}"), shrunk=bool(r.get(f"sh_{u}")),
                     status=statuses.get((u, ind))) for u, rk in zip(cmp.units, ranks, strict=True)],
            **{"data-indicator": r["indicator"]}))
    first = [t("col.indicator", lang), t("col.dimension", lang), t("col.direction", lang), t("col.unit", lang)]
    return html.Table([_head(cmp, first, lang), html.Tbody(rows)], id=f"{PREFIX}-indicators",
                      className="data-table compare-table")
