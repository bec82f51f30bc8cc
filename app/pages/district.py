"""District profile (区画像): what to fix first. A generated reading, the composite and rank trend, dimensions vs
median and best, the improvement priorities (weight × gap × feasibility, app/views/priorities.py), every indicator
sorted by priority with its gap in words, the district's own data issues (or why the viewer may not see them), export.

The indicator rows are one component (`indicator_table`) built row by row by `indicator_row`, so a row can gain
controls (e.g. "open a rectification item from this gap") without touching the rest of the page. The page sends
that table, the targets table (unless it has buttons) and the rejected rows as static HTML (app/ui/markup.py): as
html.* components they were some 1,800 of them, most of the first visit's rendering (issue 16 goal 4)."""

from __future__ import annotations

import dataclasses

import dash
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import district_table, figures, ids, ledger_panel, many_units, markup, unit_levels
from app.web import security
from app.views import frames as views
from app.ui.exports import export_meta, scorecard_xlsx
from app.ui.editions import trend_card
from app.ui.i18n import bilingual_part, fmt_num, fmt_period_marked, norm_lang, t, table_label
from app.ui.readings_district import district_reading
from app.views import editions as edition_views
from indicators.periods import partial_periods
from etl.warehouse.snapshot import DataUnavailable
from app.state import get_context

dash.register_page(__name__, path_template="/district/<code>", name="区画像 District", title="区画像 · 一网通办用户中心绩效指数",
                   order=1)

PREFIX = "district"
BODY = f"{PREFIX}-body"
LANG = f"{PREFIX}-lang"
CODE = f"{PREFIX}-code"
PARENT = f"{PREFIX}-parent"
CHOOSER = f"{PREFIX}-chooser"
PERIOD = f"{PREFIX}-period"
DRAWN = f"{PREFIX}-drawn"  # the profile and period the body shows
WANTED = f"{PREFIX}-wanted"  # the profile and period the pickers ask for, when they differ from it
COMPARE = f"{PREFIX}-compare"
INDICATORS = f"{PREFIX}-indicators"
# The clerk's own data as sent (not words of the app): marked so the language checks leave them alone.
RAW = {"value": "raw-data", "column_name": "raw-data", "source_file": "file", "row_number": "num"}
# At most this many rejected rows are listed on the page (the data-quality page and the CSV have them all).
QUARANTINE_ROWS = 50
EXPORT = f"{PREFIX}-export"
DOWNLOAD = f"{PREFIX}-download"


def layout(code: str | None = None, lang: str | None = None, period: str | None = None, profile: str | None = None,
           **_query: str) -> html.Div:
    """The page with its body already drawn (issue 16 goal 4, as the overview): the body is computed here for the
    profile the header's picker opens on (components.header: the link's, else the default) and the period the picker
    opens on, so the page paints from the first layout response (app/web/initial_page.py) with no callback round trip
    after the scripts. `render` redraws it when the profile or period changes, or when the picker's profile is not
    the one drawn."""
    lang = norm_lang(lang)
    ctx = get_context()
    names = ctx.snapshot().district_names(lang)
    units: list[str] = []
    periods: list[str] = []
    default = None
    partial: dict[str, tuple[str, ...]] = {}
    try:
        prep = ctx.prepared(ctx.profile(None))
        units, periods, default = list(prep.units), list(prep.periods), prep.default_period
        partial = partial_periods(periods, ctx.snapshot().complete_months)
    except (DataUnavailable, LookupError):
        pass
    known = code in units
    hierarchy = ctx.snapshot().units
    parent = code if not known and code and code in hierarchy and hierarchy.children(code) else None
    chooser = c.dropdown(lang,
        id=CHOOSER, options=[{"label": f"{names.get(u, u)} ({u})", "value": u} for u in units],
        value=code if known else None, placeholder=t("district.choose", lang), clearable=False,
        className="district-select",
    )
    period = period if period in periods else default
    profile = profile if profile and profile in ctx.profile_names() else ctx.default_profile_name()
    drawn = {"profile": profile, "period": period}
    period_picker = c.dropdown(lang,
        id=PERIOD, options=[{"label": fmt_period_marked(p, lang, partial), "value": p} for p in reversed(periods)],
        value=period, clearable=False, searchable=False, className="period-select",
    )
    title = names.get(code or "", code or "") if known or parent else t("district.title", lang)
    compare_href = c.with_query("/compare", None, units=code, lang=lang, period=period) if known else None
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=CODE, data=code if known else None),
            dcc.Store(id=PARENT, data=parent),  # a parent unit: roll-up and drill-down (app.ui.unit_levels)
            dcc.Store(id=DRAWN, data=drawn),  # what the body below shows
            dcc.Store(id=WANTED),  # set (client side) when the pickers ask for something else
            dcc.Download(id=DOWNLOAD),
            c.page_title(
                f"{t('district.title', lang)} · {title}" if known or parent else title,
                None if known or parent else (t("error.unknown_district", lang, code=code)
                                              if code and code != "all" else None),
                actions=[chooser,
                         html.Label(t("period.label", lang), htmlFor=PERIOD, className="inline-label"),
                         period_picker,
                         dcc.Link(t("district.compare_link", lang), href=compare_href, id=COMPARE,
                                  className="button secondary") if known else None,
                         html.Button(t("export.xlsx", lang), id=EXPORT, className="button", n_clicks=0,
                                     disabled=not known),
                         c.print_button(PREFIX, lang, "print.scorecard")],
            ),
            dcc.Loading(html.Div(_body(profile, code if known else None, lang, period, parent), id=BODY), type="dot",
                        delay_show=300),
        ],
        className="district print-page a4",
    )


@callback(Output(ids.URL, "href", allow_duplicate=True), Input(CHOOSER, "value"), State(CODE, "data"),
          State(LANG, "data"), State(ids.URL, "search"), prevent_initial_call=True)
def choose(code: str | None, current: str | None, lang: str, search: str | None):
    if not code or code == current:
        return dash.no_update
    return c.shared_href(f"/district/{code}", search, lang=lang)


# The chosen period goes into the address bar (as on the overview), so the view can be shared as a link.
dash.clientside_callback(
    """function(value){
        const C = window.dash_clientside; if(!value){ return C.no_update; }
        const u = new URL(window.location.href);
        if(u.searchParams.get('period') === String(value)){ return C.no_update; }
        u.searchParams.set('period', value);
        window.history.replaceState(window.history.state, '', u.pathname + u.search + u.hash);
        return u.search;
    }""",
    Output(ids.URL_STATE, "data", allow_duplicate=True), Input(PERIOD, "value"), prevent_initial_call=True,
)


# The body is in the layout; the pickers' values at load (or when the page is inserted in-app) are compared in the
# browser with what it shows, and only a difference asks the server (no callback request before the first paint).
c.drawn_check(WANTED, PERIOD, DRAWN)


@callback(Output(BODY, "children"), Output(DRAWN, "data"), Input(WANTED, "data"), State(CODE, "data"),
          State(LANG, "data"), State(PARENT, "data"), prevent_initial_call=True)
def render(wanted: dict | None, code: str | None, lang: str, parent: str | None = None):
    """The body for the profile and period the pickers ask for, and a note of what it shows."""
    wanted = wanted or {}
    profile, period = wanted.get("profile"), wanted.get("period")
    return _body(profile, code, lang, period, parent), {"profile": profile, "period": period}


def _body(profile: str | None, code: str | None, lang: str, period: str | None = None, parent: str | None = None):
    """The district's body (or a parent unit's roll-up, or the index of every district when no code is given)."""
    ctx = get_context()
    if parent:
        try:
            ov = views.overview(ctx, profile, lang, period)
        except (DataUnavailable, LookupError) as e:
            return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
        snap = ctx.snapshot()
        return unit_levels.parent_body(ov.table, snap.districts, snap.units, parent, lang, ov.period,
                                       f"{PREFIX}-children")
    if not code:
        return _index(profile, lang, period)
    try:
        dp = _for_viewer(views.district_profile(ctx, code, profile, lang, period))
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    s = dp.summary
    points = t("reading.points", lang, v=fmt_num(s["score"], lang))
    kpis = html.Div(
        [
            c.kpi(t("col.score", lang), points, f"{_place(s['rank'], lang)} / {s['n']}"),
            c.kpi(t("col.supply", lang), fmt_num(s.get("supply"), lang), _place(s.get("supply_rank"), lang)),
            c.kpi(t("col.demand", lang), fmt_num(s.get("demand"), lang), _place(s.get("demand_rank"), lang),
                  tone="warn" if (s.get("supply_rank") or 0) < (s.get("demand_rank") or 0) - 3 else ""),
            c.kpi(t("col.period", lang),
                  fmt_period_marked(dp.period, lang, partial_periods([dp.period], get_context().snapshot().complete_months))),
        ],
        className="kpis",
    )
    return [
        html.P(district_reading(dp, lang), className="lead district-reading", id=f"{PREFIX}-summary"),
        html.P(views.source_text(dp.source, lang), id=f"{PREFIX}-source",
               className="note source-note" + ("" if dp.source.stored else " warn")),
        html.P(edition_views.showing_line(ctx, ctx.profile(profile).name, dp.source, lang), id=f"{PREFIX}-edition",
               className="note edition-note"),
        kpis,
        html.Div(
            [
                c.card(None, c.graph(f"{PREFIX}-priorities", figures.priorities_figure(dp.priorities, lang)),
                       html.P(t("district.priority_measure", lang), className="note", id=f"{PREFIX}-measure")),
                c.card(None, c.graph(f"{PREFIX}-trend", figures.district_trend_figure(dp.trend, lang, int(s.get("n") or 0) or None))),
                c.card(None, c.graph(f"{PREFIX}-dims", figures.dimension_compare_figure(dp.dimensions, lang)),
                       className="span-2"),
            ],
            className="grid-2",
        ),
        c.card(t("district.indicators", lang), html.P(t("district.gap_note", lang), className="note gap-note"),
               markup.static_tree(district_table.indicator_table(dp, lang, INDICATORS), id=f"{INDICATORS}-box"),
               className="indicator-card"),
        ledger_panel.targets_card(dp, lang),  # status against target per indicator, 立项整改 per gap row
        trend_card(edition_views.trend_view(ctx, ctx.profile(profile).name, lang, unit=code), lang, unit=code),
        c.card(t("district.quarantine", lang), _quarantine(dp, lang), id=f"{PREFIX}-quarantine-card"),
        html.P(t("district.quarantine_print", lang, n=dp.quarantine.height), className="note print-only",
               id=f"{PREFIX}-quarantine-print"),
        html.P(t("district.context_print", lang, n=_context_count(dp)), className="note print-only",
               id=f"{PREFIX}-context-print"),
    ]


def _place(rank: object, lang: str) -> str:
    """'#12', or the missing-value dash for a unit without that score (a county with no demand-side value)."""
    return f"#{rank}" if rank is not None else t("na", lang)


def _context_count(dp: views.DistrictProfile) -> int:
    """How many context indicators (shown, not scored) the table holds: the A4 print leaves them to screen and XLSX."""
    if "role" not in dp.indicators.columns:
        return 0
    return dp.indicators["role"].to_list().count("context")


def _for_viewer(dp: views.DistrictProfile) -> views.DistrictProfile:
    """The profile with only the quarantined rows this request's role may see (an official of another district
    sees none of this district's rows; a province's official sees its counties'), for the page and the export alike."""
    units = get_context().snapshot().units
    return dataclasses.replace(dp, quarantine=security.visible_quarantine(dp.quarantine, units))


def may_see_quarantine(code: str) -> bool:
    """Whether this request's role may see `code`'s quarantined rows (all districts', or its own unit's and those
    of the units under it)."""
    return security.sees_unit(code, get_context().snapshot().units)


def _quarantine(dp: views.DistrictProfile, lang: str):
    """The district's rejected rows as a plain table (renders without scrolling to it, prints), or why there are
    none to show: none rejected, or the viewer's role may not see this district's rows."""
    if not may_see_quarantine(dp.code):
        return html.P(t("district.quarantine_hidden", lang, name=dp.name), className="note warn",
                      id=f"{PREFIX}-quarantine-hidden")
    q = dp.quarantine
    if q.height == 0:
        return html.P(t("district.quarantine_none", lang), className="note ok", id=f"{PREFIX}-quarantine-none")
    cols = (("table_name", "col.table"), ("source_file", "col.file"), ("row_number", "col.row_number"),
            ("column_name", "col.column"), ("value", "col.value"), ("reason", "col.reason"))
    rows = q.select([name for name, _ in cols]).head(QUARANTINE_ROWS).to_dicts()
    body = []
    for r in rows:  # the table by its Chinese title (code beside); the reason is stored Chinese first
        r["table_name"] = table_label(r["table_name"], lang)
        r["reason"] = bilingual_part(r["reason"], lang)
        body.append(html.Tr([html.Td("—" if r[name] is None else str(r[name]), className=RAW.get(name))
                             for name, _ in cols]))
    table = markup.static_tree(html.Table([html.Thead(html.Tr([html.Th(t(key, lang)) for _, key in cols])),
                                           html.Tbody(body)], id=f"{PREFIX}-quarantine",
                                          className="data-table quarantine-table"))
    more = (html.P(t("district.quarantine_more", lang, shown=len(rows), total=q.height), className="note")
            if q.height > len(rows) else None)
    return html.Div([table, more])


def _index(profile: str | None, lang: str, period: str | None = None):
    """No district chosen: every district as a card, in rank order."""
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang, period)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    hierarchy = ctx.snapshot().units
    if many_units.is_many(ov.table.height) and any(hierarchy.children(u) for u in hierarchy.children(None)):
        return unit_levels.parent_index(ov.table, hierarchy, lang, ov.period)  # not 2,844 cards: the parents
    cards = [
        dcc.Link(
            html.Div([html.Div(f"#{r['rank']}", className="kpi-label"), html.Div(r["name"], className="kpi-value"),
                      html.Div(fmt_num(r["score"], lang), className="kpi-note")], className="kpi"),
            href=c.with_query(f"/district/{r['unit_code']}", None, lang=lang, period=ov.period),
            className="district-card",
        )
        for r in ov.table.iter_rows(named=True)
    ]
    return html.Div([html.P(views.source_text(ov.source, lang), id=f"{PREFIX}-source",
                            className="note source-note" + ("" if ov.source.stored else " warn")),
                     html.Div(cards, className="kpis district-index")])


@callback(Output(DOWNLOAD, "data"), Input(EXPORT, "n_clicks"), State(ids.PROFILE_SELECT, "value"),
          State(CODE, "data"), State(LANG, "data"), State(PERIOD, "value"), prevent_initial_call=True)
def export(n: int, profile: str | None, code: str | None, lang: str, period: str | None = None):
    if not n or not code:
        return dash.no_update
    ctx = get_context()
    try:
        dp = _for_viewer(views.district_profile(ctx, code, profile, lang, period))
    except (DataUnavailable, LookupError):  # no data (or an unknown code in a forged request): nothing to send
        return dash.no_update
    line = edition_views.showing_line(ctx, ctx.profile(profile).name, dp.source, lang)
    data = scorecard_xlsx(dp, lang, meta=export_meta(ctx, profile, dp.period, dp.source, lang, line))
    return dcc.send_bytes(data, f"govindex-{code}-{dp.period}.xlsx")
