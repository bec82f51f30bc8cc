"""The rectification ledger (整改台账): items filtered by district and status, overdue first; for the chosen item its
fields, the indicator's value when opened and now, comments, evidence, status changes and the history of changes
(who and when, Beijing time). Leaders see every district; officials their own (and act on it); assessors comment.
XLSX downloads per district and city-wide through /download/ledger.xlsx."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui import ledger_model as model
from app.ui import ledger_panel as panel
from app.ui.i18n import fmt_datetime, fmt_num, norm_lang, t
from app.web import security
from etl.stores.roles import Permission

dash.register_page(__name__, path="/ledger", name="整改台账 Ledger", title="整改台账 · 一网通办用户中心绩效指数",
                   order=7)

P = "ledger"
(LANG, DISTRICT, STATUS, LIST, COUNT, SELECTED, REFRESHED, DETAIL, COMMENT, COMMENT_ADD, NEW_STATUS, STATUS_SET,
 UPLOAD, MSG, VERSION, DOWNLOADS, PENDING, LIMIT) = (
    f"{P}-lang", f"{P}-district", f"{P}-status", f"{P}-list", f"{P}-count", f"{P}-selected", f"{P}-refreshed",
    f"{P}-detail", f"{P}-comment", f"{P}-comment-add", f"{P}-new-status", f"{P}-status-set", f"{P}-upload",
    f"{P}-msg", f"{P}-version", f"{P}-downloads", f"{P}-pending", f"{P}-limit")
ITEM_TYPE = f"{P}-item"
SETTABLE = ("open", "in_progress", "done")  # 逾期 follows from the due date; nobody sets it
HIDDEN = {"display": "none"}


def layout(lang: str | None = None, item: str | None = None, district: str | None = None,
           status: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    ident = security.current_identity()
    all_districts = ident is not None and ident.may(Permission.ALL_DISTRICTS)
    names = model.district_names(ctx, lang)
    own = ident.district_code if ident is not None else None
    if all_districts:
        d_opts = [{"label": t("ledger.filter.all", lang), "value": "all"}] + [
            {"label": n, "value": u} for u, n in names.items()]
        d_value = district if district in names else "all"
    else:  # their own unit and, for a province's official, its counties (the store shows them their items)
        seen = model.own_units(ctx) or (own or "",)
        d_opts = ([{"label": t("ledger.filter.all", lang), "value": "all"}] if len(seen) > 1 else []) + [
            {"label": names.get(u, u), "value": u} for u in seen]
        d_value = district if district in seen else ("all" if len(seen) > 1 else own or "")
    s_opts = [{"label": t("ledger.filter.all", lang), "value": "all"}] + [
        {"label": model.status_text(s, lang), "value": s} for s in model.STATUSES]
    upload_note = t("ledger.upload", lang, types=model.evidence_types_text(ctx), mb=model.evidence_max_mb(ctx))
    actions = html.Div(
        [
            html.H3(t("ledger.comments", lang)),
            dcc.Textarea(id=COMMENT, placeholder=t("ledger.comment", lang), maxLength=2000),
            html.Button(t("ledger.comment_add", lang), id=COMMENT_ADD, className="button", n_clicks=0),
            html.H3(t("ledger.set_status", lang)),
            html.Div([c.dropdown(lang, id=NEW_STATUS, clearable=False, searchable=False, style={"minWidth": "160px"},
                                 options=[{"label": model.status_text(s, lang), "value": s} for s in SETTABLE]),
                      html.Button(t("ledger.set_status", lang), id=STATUS_SET, className="button", n_clicks=0)],
                     className="title-actions"),
            html.H3(t("ledger.evidence", lang)),
            dcc.Upload(id=UPLOAD, children=html.Div(upload_note), className="ledger-upload", multiple=False,
                       accept=model.evidence_accept(ctx)),
            html.P(id=f"{P}-client-msg", className="status-bad", role="alert"),
        ],
        className="ledger-form", id=f"{P}-actions", style=HIDDEN,
    )
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESHED, data=0),
            dcc.Store(id=SELECTED, data=item),
            dcc.Store(id=VERSION),
            dcc.Store(id=PENDING),
            dcc.Store(id=LIMIT, data={"bytes": int(float(model.evidence_max_mb(ctx)) * 1024 * 1024),
                                      "mb": model.evidence_max_mb(ctx),
                                      "text": t("ledger.too_large", lang, name="{name}", size="{size}",
                                                limit="{limit}")}),
            c.page_title(t("ledger.title", lang), t("ledger.lead", lang),
                         actions=[html.Div(id=DOWNLOADS, className="title-actions")]),
            html.Div(
                [html.Label(t("ledger.filter.district", lang), htmlFor=DISTRICT, className="inline-label"),
                 c.dropdown(lang, id=DISTRICT, options=d_opts, value=d_value, clearable=False,
                            disabled=not all_districts, style={"width": "220px"}),
                 html.Label(t("ledger.filter.status", lang), htmlFor=STATUS, className="inline-label"),
                 c.dropdown(lang, id=STATUS, options=s_opts, value=status if status in model.STATUSES else "all",
                            clearable=False, searchable=False, style={"width": "160px"}),
                 html.Span(t("ledger.today", lang, date=fmt_datetime(model.today(ctx), lang)), className="note",
                           id=f"{P}-today")],
                className="title-actions ledger-filters"),
            html.P(id=COUNT, className="note"),
            html.Div(
                [c.card(None, html.Div(id=LIST)),
                 c.card(t("ledger.detail", lang), html.P(id=MSG, role="status"), html.Div(id=DETAIL), actions)],
                className="ledger-layout"),
        ],
        className="ledger-page",
    )


@callback(Output(DOWNLOADS, "children"), Input(DISTRICT, "value"), State(LANG, "data"))
def downloads(district: str | None, lang: str):
    """XLSX links: the chosen district's ledger, and the city's for roles that see every district."""
    links = []
    if district and district != "all":
        links.append(html.A(t("ledger.download_district", lang), href=f"/download/ledger.xlsx?district={district}"
                            + ("&lang=en" if lang == "en" else ""), className="button secondary",
                            id=f"{P}-download-district"))
    if security.may(Permission.ALL_DISTRICTS):
        links.append(html.A(t("ledger.download_city", lang), href="/download/ledger.xlsx"
                            + ("?lang=en" if lang == "en" else ""), className="button secondary",
                            id=f"{P}-download-city"))
    return links


@callback(Output(LIST, "children"), Output(COUNT, "children"), Input(DISTRICT, "value"), Input(STATUS, "value"),
          Input(REFRESHED, "data"), Input(SELECTED, "data"), State(LANG, "data"))
def show_list(district: str | None, status: str | None, _refreshed: int, selected: str | None, lang: str):
    ctx = get_context()
    items = model.items(ctx, lang, district=None if district in (None, "", "all") else district,
                        status=None if status in (None, "all") else status)
    n_over = sum(1 for i in items if i.status == "overdue")
    count = t("ledger.count", lang, n=len(items), overdue=n_over)
    if not items:
        return html.P(t("ledger.none", lang), className="note", id=f"{P}-none"), count
    return [_item_button(i, lang, selected) for i in items], count


def _value_change(i: model.ItemView, lang: str) -> str:
    if i.current_value is None:
        return t("ledger.value_change", lang, opened=fmt_num(i.opened_value, lang, i.decimals),
                 now=t("ledger.value_na", lang))
    return t("ledger.value_change", lang, opened=fmt_num(i.opened_value, lang, i.decimals),
             now=fmt_num(i.current_value, lang, i.decimals))


def _status_chip(i: model.ItemView, lang: str) -> html.Span:
    text = model.status_text(i.status, lang)
    if i.status == "overdue" and i.days_overdue:
        text += f" · {t('ledger.overdue_days', lang, days=i.days_overdue)}"
    return html.Span(text, className=f"ledger-status {i.status}")


def _item_button(i: model.ItemView, lang: str, selected: str | None) -> html.Button:
    cls = f"ledger-item {i.status}" + (" selected" if str(selected) == str(i.item_id) else "")
    return html.Button(
        [html.Div([html.Span(f"#{i.item_id}", className="li-meta"), html.Span(i.indicator_label, className="li-title"),
                   _status_chip(i, lang)], className="li-head"),
         html.Div(f"{i.unit_name} · {t('ledger.owner', lang)}：{i.owner} · {t('ledger.due', lang)}："
                  f"{fmt_datetime(i.due, lang)}" if lang == "zh" else
                  f"{i.unit_name} · {t('ledger.owner', lang)}: {i.owner} · {t('ledger.due', lang)}: "
                  f"{fmt_datetime(i.due, lang)}", className="li-meta"),
         html.Div(i.problem, className="li-problem"),
         html.Div(_value_change(i, lang), className="li-meta ledger-change")],
        id={"type": ITEM_TYPE, "item": str(i.item_id)}, className=cls, n_clicks=0,
        **model.attrs({"data-item": str(i.item_id), "data-unit": i.unit, "data-status": i.status}))


@callback(Output(SELECTED, "data"), Output(MSG, "children", allow_duplicate=True),
          Input({"type": ITEM_TYPE, "item": ALL}, "n_clicks"), prevent_initial_call=True)
def select(_clicks: list[int | None]):
    trig = dash.ctx.triggered_id
    if not isinstance(trig, dict) or not any(x.get("value") for x in dash.ctx.triggered):
        return dash.no_update, dash.no_update
    return str(trig["item"]), None


@callback(Output(DETAIL, "children"), Output(f"{P}-actions", "style"), Output(VERSION, "data"),
          Output(NEW_STATUS, "value"), Output(COMMENT_ADD, "disabled"), Output(STATUS_SET, "disabled"),
          Output(UPLOAD, "disabled"),
          Input(SELECTED, "data"), Input(REFRESHED, "data"), State(LANG, "data"))
def detail(selected: str | None, _refreshed: int, lang: str):
    none = (html.P(t("ledger.pick", lang), className="note"), HIDDEN, None, None, True, True, True)
    if not selected:
        return none
    ctx = get_context()
    try:
        i = model.item(ctx, selected, lang)
    except model.LoopError as e:
        return (c.error_box(lang, model.error_text(e, lang)), HIDDEN, None, None, True, True, True)
    edit = model.may_open(i.unit)
    comment = model.may_comment(ctx, i.unit)
    opened = f"{i.opened_by} · {fmt_datetime(i.opened_at, lang)}"
    pairs = (("col.district", i.unit_name), ("col.indicator", i.indicator_label), ("ledger.problem", i.problem),
             ("ledger.action", i.action), ("ledger.owner", i.owner), ("ledger.due", fmt_datetime(i.due, lang)),
             ("ledger.opened_by", opened))
    fields = html.Dl(
        [x for k, v in pairs for x in (html.Dt(t(k, lang)), html.Dd(v))],
        className="ledger-fields")
    comments = html.Ul([html.Li([html.Div(f"{x.who} · {fmt_datetime(x.at, lang)}", className="who"), x.text])
                        for x in i.comments], className="ledger-comments", id=f"{P}-comments") if i.comments else None
    evidence = (html.Ul([html.Li([html.A(e.name, href=f"/download/evidence/{e.evidence_id}"),
                                  f" · {e.size:,} B · SHA-256 {e.sha256[:12]} · {e.who} · "
                                  f"{fmt_datetime(e.at, lang)}"])
                         for e in i.evidence], className="ledger-evidence", id=f"{P}-evidence")
                if i.evidence else html.P(t("ledger.evidence_none", lang), className="note"))
    history = html.Ul([html.Li([html.Span(f"{fmt_datetime(h.at, lang)} · {h.who}", className="who"), html.Br(),
                                h.what]) for h in i.history], className="ledger-history", id=f"{P}-history")
    note = None if edit else html.P(t("ledger.read_only", lang) if comment else t("ledger.not_yours", lang),
                                    className="note")
    body = html.Div([html.Div([html.Span(f"#{i.item_id} "), _status_chip(i, lang)]), fields,
                     html.P(_value_change(i, lang), className="ledger-change", id=f"{P}-value-change"), note,
                     html.H3(t("ledger.comments", lang)), comments,
                     html.H3(t("ledger.evidence", lang)), evidence,
                     html.H3(t("ledger.history", lang)), history], **model.attrs({"data-item": str(i.item_id)}))
    settable = i.status if i.status in SETTABLE else i.stored_status
    return body, (None if edit or comment else HIDDEN), i.version, settable, not comment, not edit, not edit


@callback(Output(MSG, "children"), Output(REFRESHED, "data"), Output(COMMENT, "value"),
          Input(COMMENT_ADD, "n_clicks"), State(SELECTED, "data"), State(COMMENT, "value"), State(REFRESHED, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def add_comment(n: int | None, selected: str | None, text: str | None, refreshed: int | None, lang: str):
    if not n or not selected:
        return dash.no_update, dash.no_update, dash.no_update
    security.require(Permission.COMMENT_LEDGER)  # 403 for a forged request; the store checks the district
    if not (text or "").strip():
        return html.Span(t("ledger.comment_empty", lang), className="status-bad"), dash.no_update, dash.no_update
    try:
        model.comment(get_context(), selected, text or "")
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update, dash.no_update
    return html.Span(t("ledger.comment_done", lang), className="status-ok"), (refreshed or 0) + 1, ""


@callback(Output(MSG, "children", allow_duplicate=True), Output(REFRESHED, "data", allow_duplicate=True),
          Input(STATUS_SET, "n_clicks"), State(SELECTED, "data"), State(NEW_STATUS, "value"), State(VERSION, "data"),
          State(REFRESHED, "data"), State(LANG, "data"), prevent_initial_call=True)
def set_status(n: int | None, selected: str | None, status: str | None, version: int | None,
               refreshed: int | None, lang: str):
    if not n or not selected or not status:
        return dash.no_update, dash.no_update
    security.require(Permission.EDIT_LEDGER)  # 403 for a forged request; the store checks the district
    try:
        model.set_status(get_context(), selected, status, version)
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), (refreshed or 0) + 1
    return (html.Span(t("ledger.status_done", lang, status=model.status_text(status, lang)), className="status-ok"),
            (refreshed or 0) + 1)


# A file over the limit is refused in the browser, before it is sent (a request larger than the server's body
# limit would otherwise end as a bare HTTP 413); the server checks size and type again whatever arrives.
dash.clientside_callback(
    """function(contents, name, limit){
        const C = window.dash_clientside;
        if(!contents){ return [C.no_update, C.no_update, C.no_update]; }
        const b64 = contents.slice(contents.indexOf(',') + 1);
        const size = Math.floor(b64.length * 3 / 4);
        if(size > limit.bytes){
            const msg = limit.text.replace('{name}', name || '').replace('{size}', (size / 1048576).toFixed(1))
                .replace('{limit}', limit.mb);
            return [null, msg, null];
        }
        return [{name: name || '', contents: contents}, '', null];
    }""",
    Output(PENDING, "data"), Output(f"{P}-client-msg", "children"), Output(UPLOAD, "contents"),
    Input(UPLOAD, "contents"), State(UPLOAD, "filename"), State(LIMIT, "data"), prevent_initial_call=True,
)


@callback(Output(MSG, "children", allow_duplicate=True), Output(REFRESHED, "data", allow_duplicate=True),
          Output(PENDING, "data", allow_duplicate=True),
          Input(PENDING, "data"), State(SELECTED, "data"), State(REFRESHED, "data"), State(LANG, "data"),
          prevent_initial_call=True)
def upload(pending: dict | None, selected: str | None, refreshed: int | None, lang: str):
    """Store an evidence file the browser let through (the pending upload is cleared either way)."""
    if not isinstance(pending, dict) or not pending.get("contents") or not selected:
        return dash.no_update, dash.no_update, dash.no_update
    security.require(Permission.EDIT_LEDGER)  # 403 for a forged request; the store checks district, size, type
    try:
        data = model.decode_upload(str(pending["contents"]))
        ev = model.add_evidence(get_context(), selected, str(pending.get("name") or ""), data)
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update, None
    return html.Span(t("ledger.uploaded", lang, name=ev.name), className="status-ok"), (refreshed or 0) + 1, None


# -- the new-item dialog of the district page (app/ui/ledger_panel.py draws it) -----------------------------------
@callback(Output(panel.DIALOG, "className"), Output(panel.INDICATOR, "data"), Output(panel.TITLE, "children"),
          Output(panel.MSG, "children", allow_duplicate=True),
          Input({"type": panel.OPEN_TYPE, "indicator": ALL}, "n_clicks"), Input(panel.CANCEL, "n_clicks"),
          State(panel.LANG, "data"), prevent_initial_call=True)
def show_open_dialog(_clicks: list[int | None], _cancel: int | None, lang: str):
    """A 立项整改 button opens the dialog for its indicator; 取消 closes it (nothing is stored either way)."""
    trig = dash.ctx.triggered_id
    if trig == panel.CANCEL:
        return "ledger-dialog hidden", None, dash.no_update, None
    if not isinstance(trig, dict) or not any(x.get("value") for x in dash.ctx.triggered):
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update
    indicator = str(trig.get("indicator"))
    ctx = get_context()
    label = model.indicator_label(ctx, indicator, lang)
    return "ledger-dialog", indicator, t("ledger.open_title", lang, indicator=label), None


@callback(Output(panel.MSG, "children"), Output(panel.DIALOG, "className", allow_duplicate=True),
          Input(panel.SUBMIT, "n_clicks"), State(panel.CODE, "data"), State(panel.INDICATOR, "data"),
          State(panel.PROBLEM, "value"), State(panel.ACTION, "value"), State(panel.OWNER, "value"),
          State(panel.DUE, "value"), State(panel.LANG, "data"), prevent_initial_call=True)
def open_item(n: int | None, code: str | None, indicator: str | None, problem: str | None, action: str | None,
              owner: str | None, due: str | None, lang: str):
    """Open the item. The store checks the person may act for `code` (their own district) — whatever the browser
    sent — and refuses a past or malformed due date; the value when opened is read here from the live snapshot."""
    if not n:
        return dash.no_update, dash.no_update
    security.require(Permission.EDIT_LEDGER)  # 403 for a forged request; the store checks the district
    if not code or not indicator:
        return html.Span(t("ledger.missing", lang), className="status-bad"), dash.no_update
    try:
        item = model.open_item(get_context(), code, indicator, problem=problem or "", action=action or "",
                               owner=owner or "", due=due or "")
    except model.LoopError as e:
        return html.Span(model.error_text(e, lang), className="status-bad"), dash.no_update
    link = dcc.Link(t("ledger.opened", lang, indicator=item.indicator_label, item=item.item_id),
                    href=f"/ledger?item={item.item_id}" + ("&lang=en" if lang == "en" else ""), id=f"{panel.P}-done")
    return html.Span(link, className="status-ok"), dash.no_update
