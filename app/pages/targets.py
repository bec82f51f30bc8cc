"""Targets (目标值): assessors and leaders set a district's target for an indicator and a cycle, with a reason; the
targets set so far with who, when and which version; each indicator's red/amber/green status against its target."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui import ledger_model as model
from app.ui.i18n import fmt_datetime, fmt_num, fmt_period, norm_lang, pick, t
from app.web import security
from etl.stores.roles import Permission
from etl.warehouse.snapshot import DataUnavailable

dash.register_page(__name__, path="/targets", name="目标值 Targets", title="目标值 · 一网通办用户中心绩效指数", order=8)

P = "targets"
LANG, DISTRICT, INDICATOR, CYCLE, VALUE, REASON, SAVE, MSG, LIST, REFRESHED, HINT = (
    f"{P}-lang", f"{P}-district", f"{P}-indicator", f"{P}-cycle", f"{P}-value", f"{P}-reason", f"{P}-save",
    f"{P}-msg", f"{P}-list", f"{P}-refreshed", f"{P}-hint")


def layout(lang: str | None = None, district: str | None = None, indicator: str | None = None,
           **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    editor = security.may(Permission.SET_TARGETS)
    names = _district_names(ctx, lang)
    inds = [{"label": f"{pick(d.name_zh, d.name_en, lang)} ({d.id})", "value": d.id} for d in ctx.catalog]
    cycles = model.cycle_choices(ctx)
    form = html.Div(
        [
            html.Label(t("targets.district", lang), htmlFor=DISTRICT, className="inline-label"),
            c.dropdown(lang, id=DISTRICT, options=[{"label": f"{n} ({u})", "value": u} for u, n in names.items()],
                       value=district if district in names else None, disabled=not editor),
            html.Label(t("targets.indicator", lang), htmlFor=INDICATOR, className="inline-label"),
            c.dropdown(lang, id=INDICATOR, options=inds, value=indicator if indicator in ctx.catalog else None,
                       disabled=not editor),
            html.Label(t("targets.cycle", lang), htmlFor=CYCLE, className="inline-label"),
            c.dropdown(lang, id=CYCLE, options=[{"label": fmt_period(cy, lang), "value": cy} for cy in cycles],
                       value=cycles[0] if cycles else None, clearable=False, disabled=not editor),
            html.Label(t("targets.value", lang), htmlFor=VALUE, className="inline-label"),
            dcc.Input(id=VALUE, type="text", disabled=not editor, debounce=False),
            html.P(id=HINT, className="note"),
            html.Label(t("targets.reason", lang), htmlFor=REASON, className="inline-label"),
            dcc.Textarea(id=REASON, maxLength=2000, disabled=not editor),
        ],
        className="ledger-form",
    )
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESHED, data=0),
            c.page_title(t("targets.title", lang), t("targets.lead", lang)),
            c.card(t("targets.form", lang), form,
                   html.Div([html.Button(t("targets.save", lang), id=SAVE, className="button", n_clicks=0,
                                         disabled=not editor),
                             html.Span(None if editor else t("targets.refused", lang), id=MSG, role="status")],
                            className="title-actions")),
            c.card(t("targets.current", lang), html.P(t("rag.legend", lang), className="note"), html.Div(id=LIST)),
        ],
        className="targets-page",
    )


def _district_names(ctx, lang: str) -> dict[str, str]:
    try:
        return ctx.snapshot().district_names(lang)
    except DataUnavailable:
        return {}


@callback(Output(HINT, "children"), Input(INDICATOR, "value"), State(LANG, "data"))
def hint(indicator: str | None, lang: str):
    """The indicator's unit, direction, possible range and the catalogue's target, so a value can be chosen well."""
    if not indicator:
        return None
    return model.target_hint(get_context(), indicator, lang)


@callback(Output(LIST, "children"), Input(REFRESHED, "data"), State(LANG, "data"))
def show(_refreshed: int, lang: str):
    rows = model.target_rows(get_context(), lang)
    if not rows:
        return html.P(t("targets.none", lang), className="note", id=f"{P}-none")
    heads = ("targets.district", "targets.indicator", "targets.cycle", "targets.value", "targets.catalog",
             "targets.col.status", "targets.reason", "targets.col.by", "targets.col.at", "targets.col.version")
    body = [
        html.Tr([html.Td(r.unit_name), html.Td(r.indicator_label), html.Td(fmt_period(r.cycle, lang)),
                 html.Td(fmt_num(r.value, lang, r.decimals), className="num"),
                 html.Td(fmt_num(r.catalog, lang, r.decimals) if r.catalog is not None else t("na", lang),
                         className="num"),
                 html.Td(model.rag_chip(r.status, lang)), html.Td(r.reason), html.Td(r.by),
                 html.Td(fmt_datetime(r.at, lang)), html.Td(str(r.version), className="num")],
                **model.attrs({"data-unit": r.unit, "data-indicator": r.indicator}))
        for r in rows
    ]
    current = html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for k in heads])), html.Tbody(body)],
                         className="loop-table", id=f"{P}-table")
    versions = model.target_versions(get_context(), lang)
    vheads = ("targets.col.at", "targets.district", "targets.indicator", "targets.cycle", "targets.col.version",
              "targets.value", "targets.reason", "targets.col.by")
    vbody = [html.Tr([html.Td(fmt_datetime(v.at, lang)), html.Td(v.unit_name), html.Td(v.indicator_label),
                      html.Td(fmt_period(v.cycle, lang)), html.Td(str(v.version), className="num"),
                      html.Td(fmt_num(v.value, lang, v.decimals) if v.value is not None
                              else t("targets.catalog", lang), className="num"),
                      html.Td(v.reason), html.Td(v.by)]) for v in versions]
    history = html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for k in vheads])), html.Tbody(vbody)],
                         className="loop-table", id=f"{P}-history")
    return [current, html.H3(t("targets.history", lang)), history]


@callback(Output(MSG, "children"), Output(REFRESHED, "data"), Input(SAVE, "n_clicks"), State(DISTRICT, "value"),
          State(INDICATOR, "value"), State(CYCLE, "value"), State(VALUE, "value"), State(REASON, "value"),
          State(REFRESHED, "data"), State(LANG, "data"), prevent_initial_call=True)
def save(n: int, district: str | None, indicator: str | None, cycle: str | None, value: str | None,
         reason: str | None, refreshed: int | None, lang: str):
    if not n:
        return dash.no_update, dash.no_update
    security.require(Permission.SET_TARGETS)  # enforced on the server: a forged request gets HTTP 403
    if not district or not indicator or not cycle or value in (None, "") or not (reason or "").strip():
        return html.Span(t("targets.missing", lang), className="status-bad"), dash.no_update
    ctx = get_context()
    try:
        saved = model.set_target(ctx, district, indicator, cycle, str(value).strip(), reason or "", lang)
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update
    return (html.Span(t("targets.saved", lang, district=saved.unit_name, indicator=saved.indicator_label,
                        value=fmt_num(saved.value, lang, saved.decimals), version=saved.version),
                      className="status-ok"),
            (refreshed or 0) + 1)
