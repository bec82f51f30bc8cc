"""Assessment editions (评估版本): every edition with its status and who/when/why, a diff of two, and publish."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui.i18n import norm_lang, t
from app.views import editions as views
from app.web import security
from etl.stores import editions as store
from etl.stores.roles import Permission
from etl.warehouse.snapshot import DataUnavailable

dash.register_page(__name__, path="/editions", name="评估版本 Editions", title="评估版本 · 一网通办用户中心绩效指数",
                   order=7)

P = "editions"
LANG, LIST, DIFF_A, DIFF_B, DIFF = f"{P}-lang", f"{P}-list", f"{P}-diff-a", f"{P}-diff-b", f"{P}-diff"
PUB_ID, PUB_REASON, PUBLISH, PUB_MSG, REFRESHED = (f"{P}-pub-id", f"{P}-pub-reason", f"{P}-publish", f"{P}-pub-msg",
                                                   f"{P}-refreshed")
COLUMNS = ("edition_id", "cycle", "profile", "status", "created", "published", "supersedes", "snapshot", "spec",
           "source", "partial")
HEADERS = {"edition_id": "id", "cycle": "cycle", "profile": "profile", "status": "status", "created": "created",
           "published": "published", "supersedes": "supersedes", "snapshot": "snapshot", "spec": "spec",
           "source": "source", "partial": "partial"}


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    editor = security.may(Permission.PUBLISH_EDITION)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESHED, data=0),
            c.page_title(t("editions.title", lang), t("editions.lead", lang)),
            c.card(None, html.Div(id=LIST)),
            c.card(
                t("editions.publish", lang),
                html.Div([
                    c.dropdown(lang, id=PUB_ID, clearable=False, disabled=not editor),
                    dcc.Textarea(id=PUB_REASON, placeholder=t("editions.publish.reason", lang), disabled=not editor,
                                 maxLength=2000),
                ], className="save-form"),
                html.Div([html.Button(t("editions.publish", lang), id=PUBLISH, className="button", n_clicks=0,
                                      disabled=not editor),
                          html.Span(None if editor else security.refusal_note(Permission.PUBLISH_EDITION, lang),
                                    id=PUB_MSG, role="status")], className="title-actions"),
            ),
            c.card(
                t("editions.diff", lang),
                html.Div([
                    html.Div([html.Label(t(f"editions.diff.{k}", lang), htmlFor=i, className="inline-label"),
                              c.dropdown(lang, id=i, clearable=False)], style={"flex": "1", "minWidth": "260px"})
                    for k, i in (("a", DIFF_A), ("b", DIFF_B))
                ], className="filters", style={"display": "flex", "gap": "1rem", "flexWrap": "wrap"}),
                html.Div(id=DIFF),
            ),
        ],
        className="editions",
    )


@callback(Output(LIST, "children"), Output(PUB_ID, "options"), Output(PUB_ID, "value"), Output(DIFF_A, "options"),
          Output(DIFF_A, "value"), Output(DIFF_B, "options"), Output(DIFF_B, "value"), Input(REFRESHED, "data"),
          State(LANG, "data"))
def show(_refreshed: int, lang: str):
    ctx = get_context()
    table = views.editions_table(ctx, lang)
    if table.height == 0:
        return html.P(t("editions.none", lang), className="note", id=f"{P}-none"), [], None, [], None, [], None
    cols = [c.col(k, f"editions.col.{HEADERS[k]}", lang) for k in COLUMNS]
    grid = c.grid(f"{P}-grid", table.select(COLUMNS).to_dicts(), cols, lang,
                  height="auto" if table.height <= 10 else 420)
    drafts = [r["edition_id"] for r in table.iter_rows(named=True) if r["status_key"] == "draft"]
    ids = table["edition_id"].to_list()  # newest first
    opts = [{"label": i, "value": i} for i in ids]
    return (grid, [{"label": d, "value": d} for d in drafts], drafts[0] if drafts else None, opts,
            ids[1] if len(ids) > 1 else ids[0], opts, ids[0])


@callback(Output(DIFF, "children"), Input(DIFF_A, "value"), Input(DIFF_B, "value"), State(LANG, "data"))
def diff(a: str | None, b: str | None, lang: str):
    if not a or not b:
        return None
    try:
        d = views.diff_view(get_context(), a, b, lang)
    except (store.EditionError, DataUnavailable) as e:
        return c.error_box(lang, views.message(e, lang) if isinstance(e, store.EditionError) else str(e))
    lines = [html.P(d.data_line, className="note", id=f"{P}-diff-data"),
             html.P(d.method_line, className="note" + (" warn" if "：" in d.method_line or ":" in d.method_line
                                                        else ""), id=f"{P}-diff-method")]
    if d.rows.height == 0:
        return html.Div([*lines, html.P(t("editions.diff.none", lang), className="note")])
    cols = [c.col("unit", "col.district", lang), c.col("node", "editions.diff.col.node", lang),
            c.num_col("score_a", "editions.diff.col.a", lang, 2), c.num_col("score_b", "editions.diff.col.b", lang, 2),
            c.num_col("delta", "editions.diff.col.delta", lang, 2),
            c.col("rank_a", "editions.diff.col.rank_a", lang), c.col("rank_b", "editions.diff.col.rank_b", lang)]
    return html.Div([*lines, c.grid(f"{P}-diff-grid", d.rows.to_dicts(), cols, lang,
                                    height="auto" if d.rows.height <= 12 else 420)])


@callback(Output(PUB_MSG, "children"), Output(REFRESHED, "data"), Input(PUBLISH, "n_clicks"), State(PUB_ID, "value"),
          State(PUB_REASON, "value"), State(REFRESHED, "data"), State(LANG, "data"), prevent_initial_call=True)
def publish(n: int, edition_id: str | None, reason: str | None, refreshed: int | None, lang: str):
    if not n:
        return dash.no_update, dash.no_update
    who = security.require(Permission.PUBLISH_EDITION)  # enforced on the server: a forged request gets HTTP 403
    if not edition_id or not (reason or "").strip():
        return html.Span(t("editions.publish.pick", lang), className="status-bad"), dash.no_update
    ctx = get_context()
    try:
        live = ctx.snapshot().data_id or None
    except DataUnavailable:
        live = None
    try:
        ed = store.publish_edition(views.store_path(ctx), edition_id, who=who.name, reason=reason or "",
                                   role=who.role, live_snapshot=live, weights_dir=ctx.weights_dir)
    except store.EditionError as e:
        return html.Span(views.message(e, lang), className="status-bad"), dash.no_update
    return html.Span(t("editions.publish.done", lang, edition=ed.edition_id), className="status-ok"), (refreshed or 0) + 1
