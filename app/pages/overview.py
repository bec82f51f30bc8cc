"""Overview (总览): ranking with rank intervals, the supply-vs-demand quadrant, the tile map and the movers."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import ids, ledger_panel, many_units, readings, unit_finder
from app.ui import map as district_map
from app.ui import national_map
from app.ui import overview_figures
from app.views import frames as views
from app.ui.editions import trend_card
from app.ui.exports import export_meta, overview_xlsx
from app.ui.i18n import fmt_num, fmt_pct, fmt_period_marked, norm_lang, t
from app.views import editions as edition_views
from indicators.periods import partial_periods
from etl.warehouse.snapshot import DataUnavailable
from app.state import get_context

dash.register_page(__name__, path="/", name="总览 Overview", title="总览 · 一网通办用户中心绩效指数", order=0)

PREFIX = "overview"
BODY = f"{PREFIX}-body"
LANG = f"{PREFIX}-lang"
PERIOD = f"{PREFIX}-period"
MAP = f"{PREFIX}-map"
MAP_BOX = f"{PREFIX}-map-box"  # the map and its notes (redrawn when the national map drills into a province)
MAP_PROVINCE = f"{PREFIX}-map-province"  # the national map's extent: the whole country or one province
QUADRANT = f"{PREFIX}-quadrant"
EXPORT = f"{PREFIX}-export"
DOWNLOAD = f"{PREFIX}-download"
DRAWN = f"{PREFIX}-drawn"  # the profile and period the body shows
WANTED = f"{PREFIX}-wanted"  # the profile and period the pickers ask for, when they differ from it


def layout(lang: str | None = None, period: str | None = None, profile: str | None = None,
           **_query: str) -> html.Div:
    """The page with its body already drawn (issue 14: the cold first paint): the body is computed here, for the
    profile the header's picker opens on (components.header) and the period the picker below opens on, so the page
    paints from the first layout response (app/web/initial_page.py), with no callback round trip after the scripts.
    `render` redraws it when the profile or period changes, or when the picker's profile is not the one drawn (a
    page reached in-app from a link that does not name the profile)."""
    lang = norm_lang(lang)
    ctx = get_context()
    periods: list[str] = []
    default = None
    partial: dict[str, tuple[str, ...]] = {}
    try:
        prep = ctx.prepared(ctx.profile(None))
        periods, default = list(prep.periods), prep.default_period
        partial = partial_periods(periods, ctx.snapshot().complete_months)
    except (DataUnavailable, LookupError):
        pass
    period = period if period in periods else default
    selector = c.dropdown(lang,
        id=PERIOD, options=[{"label": fmt_period_marked(p, lang, partial), "value": p} for p in reversed(periods)],
        value=period, clearable=False,
        searchable=False, className="period-select",
    )
    # the profile the header's picker opens on (components.header): the link's, when it names a known one
    profile = profile if profile and profile in ctx.profile_names() else ctx.default_profile_name()
    drawn = {"profile": profile, "period": period}
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=DRAWN, data=drawn),  # what the body below shows
            dcc.Store(id=WANTED),  # set (client side) when the pickers ask for something else
            dcc.Download(id=DOWNLOAD),
            c.page_title(
                t("overview.title", lang), t("overview.lead", lang),
                actions=[html.Label(t("period.label", lang), htmlFor=PERIOD, className="inline-label"), selector,
                         html.Button(t("export.xlsx", lang), id=EXPORT, className="button", n_clicks=0,
                                     title=t("export.overview", lang)),
                         c.print_button(PREFIX, lang, "print.summary")],
            ),
            dcc.Loading(html.Div(_body(profile, period, lang), id=BODY, className="overview-body"), type="dot",
                        delay_show=300),
        ],
        className="overview print-page",
    )


# The body is in the layout; the pickers' values at load (or when the page is inserted in-app) are compared in the
# browser with what it shows, and only a difference asks the server (no callback request before the first paint).
c.drawn_check(WANTED, PERIOD, DRAWN)


@callback(Output(BODY, "children"), Output(DRAWN, "data"), Input(WANTED, "data"), State(LANG, "data"),
          prevent_initial_call=True)
def render(wanted: dict | None, lang: str):
    """The body for the profile and period the pickers ask for, and a note of what it shows."""
    wanted = wanted or {}
    profile, period = wanted.get("profile"), wanted.get("period")
    return _body(profile, period, lang), {"profile": profile, "period": period}


def _body(profile: str | None, period: str | None, lang: str) -> list | html.Div:
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang, period)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    tbl = ov.table
    leader = tbl.row(0, named=True)
    task = tbl.filter(tbl["task_oriented"])
    blend = ov.profile.resolved_weights(ctx.framework)
    mc_note = views.intervals_text(ov.intervals, lang)
    charts = overview_figures.parts(ctx, ov, lang)  # built once per snapshot, profile, period and language
    many = many_units.is_many(tbl.height)
    if many:  # parent and peer group for the finder's filters and the map's fallback
        tbl = many_units.with_units(tbl, ctx.snapshot().districts, lang)
    task_names = task["name"].to_list()
    kpis = html.Div(
        [
            c.kpi(t("overview.kpi.leader", lang), leader["name"], fmt_num(leader["score"], lang)),
            c.kpi(t("overview.kpi.task", lang), str(task.height),
                  None if many else "、".join(task_names) if lang == "zh" else ", ".join(task_names),
                  tone="warn" if task.height else ""),
            c.kpi(t("overview.kpi.blend", lang), fmt_pct(blend.get("demand"), lang, 0),
                  (ov.profile.title_en if lang == "en" else ov.profile.title_zh)),
            c.kpi(t("overview.kpi.units", lang), str(tbl.height),
                  fmt_period_marked(ov.period, lang, partial_periods([ov.period], ctx.snapshot().complete_months))),
        ],
        className="kpis",
    )
    return [
        _readings(ov, lang),
        html.P(views.source_text(ov.source, lang), id=f"{PREFIX}-source",
               className="note source-note" + ("" if ov.source.stored else " warn")),
        html.P(edition_views.showing_line(ctx, ov.profile.name, ov.source, lang), id=f"{PREFIX}-edition",
               className="note edition-note"),
        kpis,
        html.Div(
            [
                c.card(None, c.graph(f"{PREFIX}-ranking", charts.ranking),
                       html.P(mc_note, className="note"), className="span-2"),
                c.card(None, c.graph(QUADRANT, charts.quadrant),
                       html.P(t("overview.quadrant_note", lang), className="note"),
                       html.P(t("many.quadrant_note", lang, total=f"{tbl.height:,}"), className="note")
                       if many else None),
                _map_card(ctx, ov, tbl, lang),
                c.card(None, c.graph(f"{PREFIX}-movers", charts.movers), className="span-2"
                       if ov.movers.height == 0 else ""),
                c.card(t("overview.ranking", lang),
                       unit_finder.finder(tbl, lang, {"profile": profile, "period": ov.period, "lang": lang})
                       if many else _ranking_list(tbl, lang),
                       className="ranking-card span-2" if many else "ranking-card"),
                # share of targets met per district (at many units: the two ends of the ranking)
                ledger_panel.met_card(many_units.top_bottom(tbl)[0] if many else tbl, ov.period, lang),
            ],
            className="grid-2",
        ),
        charts.uncertainty,
        trend_card(edition_views.trend_view(ctx, ov.profile.name, lang), lang),
    ]


def _map_card(ctx, ov: views.Overview, tbl, lang: str) -> html.Section:
    """The districts' map; at national scale the provinces, with a drop-down (and a click) to drill into one. The
    drop-down is always in the layout (hidden when there is nothing to choose) so the map's click callback always
    has its outputs."""
    codes = [str(u) for u in tbl["unit_code"]]
    own = national_map.official_unit()  # an official's map opens on their province, their unit outlined
    province = national_map.start(codes, own)
    return c.card(None, national_map.extent(codes, lang, MAP_PROVINCE, province),
                  html.Div(national_map.page_map(ctx, ov, lang, MAP, province, table=tbl, own=own), id=MAP_BOX))


@callback(Output(MAP_BOX, "children"), Input(MAP_PROVINCE, "value"), State(ids.PROFILE_SELECT, "value"),
          State(PERIOD, "value"), State(LANG, "data"), prevent_initial_call=True)
def drill(province: str | None, profile: str | None, period: str | None, lang: str):
    """The national map of the province chosen (or clicked), or of the whole country."""
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang, period)
    except (DataUnavailable, LookupError):
        return dash.no_update
    if not national_map.is_national(ov.table):
        return dash.no_update
    return national_map.page_map(ctx, ov, lang, MAP, province, own=national_map.official_unit())


def _readings(ov: views.Overview, lang: str) -> html.Div:
    """What a leader should conclude, generated from the numbers shown below (app.ui.readings)."""
    bands = ov.profile.methods.bands
    labels = bands.labels_en if lang == "en" else bands.labels_zh
    records = ov.table.to_dicts()
    if bands.method == "absolute":
        for r in records:
            r["band"] = readings.absolute_band(r.get("score"), bands.cuts, labels)
    sentences = readings.ranking_readings(
        readings.rows_from_table(records), lang, band_order=labels if bands.method == "absolute" else (),
        shrunk=ov.profile.methods.shrinkage != "none")
    return html.Div([html.H2(t("read.title", lang)), html.Ul([html.Li(s) for s in sentences])],
                    id=f"{PREFIX}-readings", className="card readings")


def _k_of_n_badge(r: dict, lang: str) -> html.Span | None:
    """'7/9 项指标' beside a composite that does not rest on every indicator it counts."""
    k, n = r.get("n_observed"), r.get("n_indicators")
    if not readings.incomplete(k, n):
        return None
    return html.Span(readings.fmt_k_of_n(k, n, lang), className="badge warn k-of-n",
                     title=t("read.k_of_n.title", lang, k=k, n=n))


def _ranking_list(tbl, lang: str) -> html.Ol:
    """The ranking as text too: readable when printed, and what the browser tests read."""
    items = []
    for r in tbl.iter_rows(named=True):
        iv = ""
        if r.get("rank_lo") is not None and r.get("rank_hi") is not None:
            iv = f" [{int(r['rank_lo'])}–{int(r['rank_hi'])}]"
        items.append(html.Li(
            [html.Span(f"{r['rank']}", className="rank-no"),
             dcc.Link(r["name"], href=c.href(f"/district/{r['unit_code']}", lang), className="rank-name"),
             html.Span(fmt_num(r["score"], lang), className="rank-score"),
             html.Span(iv, className="rank-iv"),
             _k_of_n_badge(r, lang),
             html.Span(t("quadrant.task", lang), className="badge warn") if r.get("task_oriented") else None],
            **{"data-unit": r["unit_code"]}, className="rank-item",
        ))
    return html.Ol(items, id=f"{PREFIX}-ranking-list", className="rank-list")


@callback(Output(unit_finder.GRID, "rowData"), Output(unit_finder.NOTE, "children"),
          Input(unit_finder.SEARCH, "value"), Input(unit_finder.PARENT, "value"), Input(unit_finder.PEER, "value"),
          State(unit_finder.STORE, "data"), prevent_initial_call=True)
def filter_units(query: str | None, parent: str | None, peer: str | None, source: dict):
    """The many-unit ranking grid: units of one parent and/or peer group, or whose name or code holds the search."""
    lang = norm_lang(source.get("lang"))
    ctx = get_context()
    try:
        ov = views.overview(ctx, source.get("profile"), lang, source.get("period"))
    except (DataUnavailable, LookupError):
        return dash.no_update, dash.no_update
    table = many_units.with_units(ov.table, ctx.snapshot().districts, lang)
    shown = many_units.filtered(table, parent, peer, query)
    return unit_finder.rows(shown, lang), unit_finder.note(table.height, shown.height, lang)


@callback(Output(ids.URL, "href", allow_duplicate=True), Output(MAP_PROVINCE, "value"), Input(MAP, "clickData"),
          Input(QUADRANT, "clickData"), State(district_map.shapes_id(MAP), "data"), State(LANG, "data"),
          prevent_initial_call=True)
def open_district(map_click: dict | None, quad_click: dict | None, shapes: list[str | None] | None, lang: str):
    """Clicking a district (its shape, name or tile) or a quadrant point opens that district's profile; clicking a
    province on the national map draws its county-level units."""
    trig = dash.ctx.triggered_id
    province, code = national_map.clicked(map_click, shapes) if trig == MAP else (None, district_map.clicked_unit(
        quad_click, None))
    if province:
        return dash.no_update, province
    if not code:
        return dash.no_update, dash.no_update
    return c.href(f"/district/{code}", lang), dash.no_update


@callback(Output(DOWNLOAD, "data"), Input(EXPORT, "n_clicks"), State(ids.PROFILE_SELECT, "value"),
          State(PERIOD, "value"), State(LANG, "data"), prevent_initial_call=True)
def export(n: int, profile: str | None, period: str | None, lang: str):
    """The ranking, rank intervals and bands of the period on screen as a workbook with a cover sheet."""
    if not n:
        return dash.no_update
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang, period)
    except (DataUnavailable, LookupError):  # no data: nothing to send
        return dash.no_update
    line = edition_views.showing_line(ctx, ov.profile.name, ov.source, lang)
    data = overview_xlsx(ov, lang, export_meta(ctx, ov.profile.name, ov.period, ov.source, lang, line))
    return dcc.send_bytes(data, f"govindex-ranking-{ov.period}.xlsx")
