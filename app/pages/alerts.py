"""Alerts (预警): the alerts that concern the signed-in person, newest first, unread in bold; mark one or all as read."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui import ledger_model as model
from app.ui.i18n import fmt_datetime, norm_lang, t
from app.web import security
from etl.stores.roles import Permission

dash.register_page(__name__, path="/alerts", name="预警 Alerts", title="预警 · 一网通办用户中心绩效指数", order=9)

P = "alerts"
LANG, LIST, UNREAD_ONLY, MARK_ALL, MSG, REFRESHED = (f"{P}-lang", f"{P}-list", f"{P}-unread-only", f"{P}-mark-all",
                                                     f"{P}-msg", f"{P}-refreshed")


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
            c.card(None, html.Div(id=LIST)),
        ],
        className="alerts-page",
    )


@callback(Output(LIST, "children"), Input(REFRESHED, "data"), Input(UNREAD_ONLY, "value"), State(LANG, "data"))
def show(_refreshed: int, unread_only: list[str] | None, lang: str):
    rows = model.alerts(get_context(), lang)
    if unread_only:
        rows = [a for a in rows if not a.read]
    if not rows:
        return html.P(t("alerts.none", lang), className="note", id=f"{P}-none")
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
