"""Weight history (权重历史): every version of a profile, the audit trail (who, when, what changed, why), publish."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import ids
from app.web import security
from app.ui.i18n import fmt_datetime, fmt_pct, method_label, norm_lang, t
from app.state import get_context
from app.views import frames as views
from app.views.history import Change, profile_history, trail_changes
from etl.stores.audit_trail import AuditError
from etl.stores.roles import Permission, is_role
from etl.stores.roles import label as role_label
from etl.stores.profiles import publish_profile
from indicators.profile import ProfileError

dash.register_page(__name__, path="/weights/history", name="权重历史 Weight history",
                   title="权重历史 · 一网通办用户中心绩效指数", order=6)

P = "hist"
LANG, PROFILE, VERSIONS, TRAIL, EXPORT = f"{P}-lang", f"{P}-profile", f"{P}-versions", f"{P}-trail", f"{P}-export"
PUB_VERSION, PUB_RATIONALE, PUBLISH, PUB_MSG, REFRESHED = (f"{P}-pub-version", f"{P}-pub-rationale", f"{P}-publish",
                                                           f"{P}-pub-msg", f"{P}-refreshed")

def _t(key: str, lang: str, **fmt: object) -> str:
    return t(f"hist.{key}", lang, **fmt)


def _col(field: str, lang: str, **kw: object) -> dict:
    return {"field": field, "headerName": t(f"hist.col.{field}", lang), **kw}


def layout(lang: str | None = None, profile: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    names = ctx.profile_names()
    chosen = profile if profile in names else ctx.default_profile_name()
    editor = security.may(Permission.PUBLISH_WEIGHTS)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESHED, data=0),
            c.page_title(_t("title", lang), _t("lead", lang)),
            c.card(None, html.Div([
                html.Label(_t("profile", lang), htmlFor=PROFILE, className="inline-label"),
                c.dropdown(lang, id=PROFILE, options=[{"label": title, "value": n}
                                                for n, title in ctx.profile_titles(lang).items()], value=chosen,
                           clearable=False),
                html.A(_t("export", lang), id=EXPORT, className="button secondary", href="#"),
            ], className="filters")),
            c.card(_t("versions", lang), html.Div(id=VERSIONS)),
            c.card(
                _t("publish", lang),
                html.P(_t("publish_note", lang), className="note"),
                html.Div([
                    c.dropdown(lang, id=PUB_VERSION, clearable=False, disabled=not editor),
                    dcc.Textarea(id=PUB_RATIONALE, placeholder=_t("rationale", lang), disabled=not editor,
                                 maxLength=2000),
                ], className="save-form"),
                html.Div([html.Button(_t("publish", lang), id=PUBLISH, className="button", n_clicks=0,
                                      disabled=not editor),
                          html.Span(None if editor else security.refusal_note(Permission.PUBLISH_WEIGHTS, lang), id=PUB_MSG,
                                    role="status")], className="title-actions"),
            ),
            c.card(_t("trail", lang), html.Div(id=TRAIL)),
        ],
        className="history",
    )


@callback(Output(VERSIONS, "children"), Output(TRAIL, "children"), Output(PUB_VERSION, "options"),
          Output(PUB_VERSION, "value"), Output(EXPORT, "href"), Input(PROFILE, "value"), Input(REFRESHED, "data"),
          State(LANG, "data"))
def show(name: str | None, _refreshed: int, lang: str):
    ctx = get_context()
    if not name or name not in ctx.current_profiles():
        return None, None, [], None, "#"
    try:
        h = profile_history(name, ctx.weights_dir)
    except (ProfileError, AuditError) as e:
        return c.error_box(lang, str(e)), None, [], None, "#"
    rows: list[dict[str, object]] = []
    for v in reversed(h.versions):
        if v.error is not None:
            rows.append({"version": v.version, "status": v.error})
            continue
        status = " · ".join(x for x, on in ((_t("published", lang), v.published), (_t("current", lang), v.current))
                            if on)
        rows.append({"version": v.version, "date": fmt_datetime(v.date, lang), "author": v.author, "hash": v.hash,
                     "status": status})
    vcols = [_col("version", lang, maxWidth=90), _col("status", lang), _col("date", lang), _col("author", lang),
             _col("hash", lang)]
    tcols = [_col("seq", lang, maxWidth=70), _col("event", lang, maxWidth=100), _col("version", lang, maxWidth=90),
             _col("who", lang), _col("role", lang, maxWidth=140), _col("at_shanghai", lang),
             _col("at_utc", lang), _col("rationale", lang, minWidth=200),
             _col("changes", lang, minWidth=320, tooltipField="changes")]
    trail = _trail(h, lang)
    # forged or cut-off records are flagged, not shown as if sound
    warning = html.P(_t("tampered", lang, error=h.problem), className="status-bad", role="alert") if h.problem else None
    options = [{"label": _t("version_n", lang, v=v), "value": v} for v in reversed(h.numbers)]
    return (c.grid(f"{P}-versions-grid", rows, vcols, lang, height="auto" if len(rows) <= 10 else 360),
            html.Div([warning, c.grid(f"{P}-trail-grid", trail, tcols, lang,
                                      height=420 if len(trail) > 10 else "auto")]),
            options, h.current, f"/download/audit.csv?profile={name}")




def _change_text(ch: Change, lang: str) -> str:
    """One change in words (a weight as its share of its siblings): '需求侧：40.0% → 70.0%', '归一化方法：最小-最大归一化（0–100） → 固定目标值区间'."""
    ctx = get_context()
    if ch.kind == "weight":
        what, old, new = views.node_label(ctx, ch.code, lang), fmt_pct(ch.old, lang), fmt_pct(ch.new, lang)
    else:
        what = t(f"factor.{ch.code}", lang)
        old, new = method_label(ch.old[0], ch.old[1], lang), method_label(ch.new[0], ch.new[1], lang)
    return f"{what}：{old} → {new}" if lang != "en" else f"{what}: {old} → {new}"


def _role(role: object, lang: str) -> str:
    return role_label(str(role), lang) if is_role(str(role)) else str(role)


def _trail(h, lang: str) -> list[dict]:
    """The audit records newest first, in the reader's words: event, Beijing time, and only what changed."""
    ctx = get_context()
    try:
        baseline = ctx.profile(None)
    except LookupError:
        baseline = None
    changes = trail_changes(h, ctx.weights_dir, ctx.framework, baseline)
    titles = ctx.profile_titles(lang)
    rows = []
    for r in h.trail_rows():
        seq = int(r.get("seq") or 0)
        row = dict(r)
        row["event"] = t(f"hist.event.{r.get('event')}", lang) if r.get("event") in ("save", "publish") \
            else r.get("event")
        row["role"] = _role(r.get("role"), lang) if r.get("role") else ""
        row["at_shanghai"] = fmt_datetime(r.get("at_shanghai"), lang, zone=False)
        if seq in changes:
            items, against = changes[seq]
            text = ("；" if lang != "en" else "; ").join(_change_text(ch, lang) for ch in items) or _t("nochange", lang)
            if against is not None:
                text = f"{_t('first', lang)}（{_t('against', lang, name=titles.get(against, against))}）：{text}" \
                    if lang != "en" else f"{_t('first', lang)} ({_t('against', lang, name=titles.get(against, against))}): {text}"
            row["changes"] = text
        rows.append(row)
    return list(reversed(rows))


@callback(Output(PUB_MSG, "children"), Output(REFRESHED, "data"), Output(ids.PROFILES_VERSION, "data",
                                                                          allow_duplicate=True),
          Input(PUBLISH, "n_clicks"), State(PROFILE, "value"), State(PUB_VERSION, "value"),
          State(PUB_RATIONALE, "value"), State(REFRESHED, "data"), State(ids.PROFILES_VERSION, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def publish(n: int, name: str | None, version: int | None, rationale: str | None, refreshed: int | None,
            profiles_version: int | None, lang: str):
    if not n:  # Dash calls this with n_clicks=0 when the page is shown: nothing to do, nothing to refuse
        return dash.no_update, dash.no_update, dash.no_update
    who = security.require(Permission.PUBLISH_WEIGHTS)  # enforced on the server: a forged request gets HTTP 403
    if not name or version is None or not (rationale or "").strip():
        return html.Span(_t("missing", lang), className="status-bad"), dash.no_update, dash.no_update
    try:
        p = publish_profile(name, int(version), who.name, rationale or "", get_context().weights_dir, role=who.role)
    except (ProfileError, AuditError, ValueError, OSError) as e:
        return html.Span(_t("error", lang, error=str(e)), className="status-bad"), dash.no_update, dash.no_update
    return (html.Span(_t("done", lang, name=p.name, version=p.version), className="status-ok"),
            (refreshed or 0) + 1, (profiles_version or 0) + 1)
