"""Alerts (预警): the alerts that concern the signed-in person, newest first, unread in bold; mark one or all as read.

At many units (the national demo's 2,844 counties; app.ui.many_units) the list switches to the other pages'
many-unit form once it holds more than `many_units.MANY` alerts: a search box and filters by parent unit and peer
group, and a virtualised AG Grid (it draws only the rows on screen) whose selected rows are marked read with one
button, instead of thousands of table rows each with its own button.
"""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import ALL, Input, Output, State, callback, dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui import ledger_model as model
from app.ui import many_units
from app.ui.i18n import fmt_datetime, norm_lang, t
from app.web import security
from etl.stores.roles import Permission

dash.register_page(__name__, path="/alerts", name="预警 Alerts", title="预警 · 一网通办用户中心绩效指数", order=9)

P = "alerts"
LANG, LIST, UNREAD_ONLY, MARK_ALL, MSG, REFRESHED = (f"{P}-lang", f"{P}-list", f"{P}-unread-only", f"{P}-mark-all",
                                                     f"{P}-msg", f"{P}-refreshed")
ALL_ALERTS = 1_000_000
# the many-alert form: filters (always in the layout, shown only in that form), the grid, its mark button
FILTERS, SEARCH, PARENT, PEER, GRID, MARK_SELECTED = (f"{P}-filters", f"{P}-search", f"{P}-parent", f"{P}-peer",
                                                      f"{P}-grid", f"{P}-mark-selected")


def mark_button(alert_id: str) -> dict[str, str]:
    """Pattern-matching id of one alert's 标为已读 button."""
    return {"type": f"{P}-mark", "alert": alert_id}


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESHED, data=0),
            c.page_title(t("alerts.title", lang), t("alerts.lead", lang),
                         actions=[dcc.Checklist(id=UNREAD_ONLY, options=[{"label": t("alerts.unread_only", lang),
                                                                          "value": "unread"}], value=[],
                                                inline=True),
                                  html.Button(t("alerts.mark_all", lang), id=MARK_ALL, className="button secondary",
                                              n_clicks=0)]),
            html.P(id=MSG, role="status", className="note"),
            _filters(lang),
            c.card(None, html.Div(id=LIST)),
        ],
        className="alerts-page",
    )


def _filters(lang: str) -> html.Div:
    """Search, parent and peer-group filters and the mark-selected button: hidden until the list is long."""
    dd = {"clearable": False, "searchable": True, "className": "unit-filter", "value": "", "options": []}
    return html.Div([
        html.Label(t("many.search", lang), htmlFor=SEARCH, className="inline-label"),
        dcc.Input(id=SEARCH, type="search", debounce=True, className="unit-search"),
        html.Span([html.Label(t("many.parent", lang), htmlFor=PARENT, className="inline-label"),
                   c.dropdown(lang, id=PARENT, **dd)], className="unit-filter-box"),
        html.Span([html.Label(t("many.peer", lang), htmlFor=PEER, className="inline-label"),
                   c.dropdown(lang, id=PEER, **dd)], className="unit-filter-box"),
        html.Button(t("alerts.mark_selected", lang), id=MARK_SELECTED, className="button secondary", n_clicks=0),
    ], id=FILTERS, className="unit-controls", style={"display": "none"})


def _table(rows: list[model.AlertView], lang: str) -> html.Table:
    """The plain list (up to many_units.MANY alerts): one row per alert, each with its own 标为已读 button."""
    head = html.Tr([html.Th(t(k, lang)) for k in ("alerts.col.at", "alerts.col.kind", "alerts.col.message")]
                   + [html.Th("")])
    body = [
        html.Tr([html.Td(fmt_datetime(a.at, lang)), html.Td(a.kind, className=f"alert-kind {a.severity}"),
                 html.Td(a.message),
                 html.Td(t("alerts.read", lang) if a.read else
                         html.Button(t("alerts.mark_read", lang), id=mark_button(str(a.alert_id)),
                                     className="button secondary", n_clicks=0))],
                className="alert-row" + ("" if a.read else " unread"), **model.attrs({"data-alert": a.alert_id}))
        for a in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="loop-table", id=f"{P}-table")


def alert_frame(rows: list[model.AlertView], units: pl.DataFrame | None, lang: str) -> pl.DataFrame:
    """The alerts as a frame with each unit's name, parent and peer group (many_units.with_units): what the
    many-alert form filters and shows."""
    frame = pl.DataFrame({
        "alert_id": [a.alert_id for a in rows], "at": [fmt_datetime(a.at, lang) for a in rows],
        "kind": [a.kind for a in rows], "severity": [a.severity for a in rows],
        "unit_code": [a.unit or "" for a in rows], "message": [a.message for a in rows],
        "read": [a.read for a in rows],
    }, schema={"alert_id": pl.Int64, "at": pl.String, "kind": pl.String, "severity": pl.String,
               "unit_code": pl.String, "message": pl.String, "read": pl.Boolean})
    if units is None or units.height == 0:
        return frame.with_columns(pl.col("unit_code").alias("name"), pl.lit("").alias("parent"),
                                  pl.lit("").alias("parent_code"), pl.lit("").alias("peer_group"))
    name_col = "name_en" if lang == "en" and "name_en" in units.columns else "name_zh"
    names = dict(zip(units["district_code"].cast(pl.String).to_list(), units[name_col].cast(pl.String).to_list(),
                     strict=True)) if name_col in units.columns else {}
    frame = frame.with_columns(pl.Series("name", [names.get(u) or u for u in frame["unit_code"].to_list()],
                                         dtype=pl.String))
    return many_units.with_units(frame, units, lang)


def _grid(frame: pl.DataFrame, lang: str) -> Any:
    cols: list[dict[str, Any]] = [
        c.col("at", "alerts.col.at", lang, checkboxSelection=True, headerCheckboxSelection=True, minWidth=170),
        c.col("kind", "alerts.col.kind", lang, maxWidth=140), c.col("name", "many.col.unit", lang, minWidth=120)]
    if (frame["parent"] != "").any():
        cols.append(c.col("parent", "col.parent", lang))
    if (frame["peer_group"] != "").any():
        cols.append(c.col("peer_group", "col.peer_group", lang, maxWidth=120))
    cols += [c.col("message", "alerts.col.message", lang, minWidth=320, wrapText=False, tooltipField="message"),
             c.col("state", "alerts.col.state", lang, maxWidth=100)]
    rows = [{**r, "state": t("alerts.read", lang) if r["read"] else t("alerts.unread", lang)}
            for r in frame.select("alert_id", "at", "kind", "name", "parent", "peer_group", "message", "read")
            .iter_rows(named=True)]
    return c.grid(GRID, rows, cols, lang, height=520, extra_options={
        "rowSelection": "multiple", "suppressRowClickSelection": True, "tooltipShowDelay": 300,
        "rowClassRules": {"unread": "!params.data.read"}})


def _units(ctx: Any) -> pl.DataFrame | None:
    """The unit table (names, parent, peer group) from the loop store's warehouse: cached per file version, so the
    page never waits for a whole snapshot to load just to name the units."""
    units = model.store(ctx).units()
    return None if units is None else units.frame().rename({"code": "district_code"})


@callback(Output(LIST, "children"), Output(FILTERS, "style"), Output(PARENT, "options"), Output(PEER, "options"),
          Input(REFRESHED, "data"), Input(UNREAD_ONLY, "value"), Input(SEARCH, "value"), Input(PARENT, "value"),
          Input(PEER, "value"), State(LANG, "data"))
def show(_refreshed: int, unread_only: list[str] | None, query: str | None, parent: str | None, peer: str | None,
         lang: str):
    ctx = get_context()
    rows = model.alerts(ctx, lang, limit=ALL_ALERTS)  # every one: a long list goes to the virtualised grid
    if unread_only:
        rows = [a for a in rows if not a.read]
    hidden = {"display": "none"}
    if not rows:
        return html.P(t("alerts.none", lang), className="note", id=f"{P}-none"), hidden, [], []
    if not many_units.is_many(len(rows)):
        return _table(rows, lang), hidden, [], []
    frame = alert_frame(rows, _units(ctx), lang)
    shown = many_units.filtered(frame, parent, peer, query)
    options = [many_units.filter_options(frame[col].to_list(), lang) for col in ("parent", "peer_group")]
    note = html.P(t("alerts.many_note", lang, total=f"{frame.height:,}", n=f"{shown.height:,}"), className="note",
                  id=f"{P}-many-note")
    return html.Div([note, _grid(shown, lang)]), None, options[0], options[1]


@callback(Output(MSG, "children"), Output(REFRESHED, "data"), Input(MARK_ALL, "n_clicks"),
          Input({"type": f"{P}-mark", "alert": ALL}, "n_clicks"), State(REFRESHED, "data"), State(LANG, "data"),
          prevent_initial_call=True)
def mark(n_all: int | None, _n_one: list[int | None], refreshed: int | None, lang: str):
    """Mark one alert (its button) or every alert of this person as read; only the person's own read state changes."""
    trig = dash.ctx.triggered_id
    if trig == MARK_ALL:
        if not n_all:
            return dash.no_update, dash.no_update
        wanted: list[str] | None = None
    elif isinstance(trig, dict) and trig.get("alert"):
        if not any(x.get("value") for x in dash.ctx.triggered):  # the buttons were just drawn, not pressed
            return dash.no_update, dash.no_update
        wanted = [str(trig["alert"])]
    else:
        return dash.no_update, dash.no_update
    security.require(Permission.VIEW)  # and the store marks only alerts this person sees, for this person
    try:
        n = model.mark_read(get_context(), wanted)
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update
    return html.Span(t("alerts.marked", lang, n=n), className="status-ok"), (refreshed or 0) + 1


@callback(Output(MSG, "children", allow_duplicate=True), Output(REFRESHED, "data", allow_duplicate=True),
          Input(MARK_SELECTED, "n_clicks"), State(GRID, "selectedRows"), State(REFRESHED, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def mark_selected(n: int | None, selected: list[dict[str, Any]] | None, refreshed: int | None, lang: str):
    """The many-alert form: mark the grid's selected alerts read (only this person's read state changes)."""
    if not n:
        return dash.no_update, dash.no_update
    wanted = [str(r["alert_id"]) for r in selected or [] if r.get("alert_id") is not None]
    if not wanted:
        return html.Span(t("alerts.select_first", lang), className="status-bad"), dash.no_update
    security.require(Permission.VIEW)
    try:
        n_marked = model.mark_read(get_context(), wanted)
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update
    return html.Span(t("alerts.marked", lang, n=n_marked), className="status-ok"), (refreshed or 0) + 1
