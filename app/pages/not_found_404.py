"""The app's own "page not found" (页面不存在): Dash shows this module for every path no page claims."""

from __future__ import annotations

from urllib.parse import quote

import dash
import flask
from dash import dcc, html

from app.ui import components as c
from app.ui.i18n import norm_lang, t
from app.web import initial_page

dash.register_page(__name__, path="/404", name="页面不存在 Page not found", title="页面不存在 · 一网通办用户中心绩效指数")


def _requested_path() -> str:
    """The path the browser asked for, from the router callback's inputs, or the one the first layout response
    renders (app/web/initial_page.py); empty otherwise."""
    rendered = getattr(flask.g, initial_page.REQUESTED_PATH, None) if flask.has_request_context() else None
    if isinstance(rendered, str):
        return rendered
    try:
        inputs = dash.ctx.inputs
    except Exception:  # noqa: BLE001 - no callback context (a direct call in a test): no path to name
        return ""
    for key, value in (inputs or {}).items():
        if key.endswith(".pathname") and isinstance(value, str):
            return value
    return ""


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    path = _requested_path() or "/404"
    zh_lead = t("notfound.lead", "zh", path=quote(path, safe="/"))
    en_lead = t("notfound.lead", "en", path=quote(path, safe="/"))
    first, second = (en_lead, zh_lead) if lang == "en" else (zh_lead, en_lead)
    return html.Div(
        [
            c.page_title(t("notfound.title", lang), first),
            c.card(
                None,
                html.P(second, className="note", lang="en" if lang != "en" else "zh-CN"),
                html.Div([
                    dcc.Link(t("notfound.back", lang), href=c.href("/", lang), className="button"),
                    dcc.Link(t("notfound.district", lang), href=c.href("/district/all", lang),
                             className="button secondary"),
                ], className="title-actions"),
            ),
        ],
        className="not-found",
        id="not-found",
    )
