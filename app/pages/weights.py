"""Weights (权重): blend, dimension and indicator weights live; AHP; budget allocation; compare; save a profile."""

from __future__ import annotations

import re

import dash
import polars as pl
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import figures, ids, many_units
from app.views import reweight, frames as views
from app.web import security
from app.ui.i18n import fmt_num, norm_lang, t
from etl.warehouse.snapshot import DataUnavailable
from app.state import AppContext, get_context
from etl.stores.audit_trail import AuditError
from etl.stores.profiles import save_profile
from indicators.profile import SLUG_PATTERN, Derivation, ProfileError, WeightProfile
from indicators.weighting.derive import WeightingError

dash.register_page(__name__, path="/weights", name="权重 Weights", title="权重 · 一网通办用户中心绩效指数", order=2)

P = "weights"
LANG, CONTROLS, BLEND, RESET = f"{P}-lang", f"{P}-controls", f"{P}-blend", f"{P}-reset"
LIST, RANK_FIG, EFF_FIG, TIMING, CURRENT = f"{P}-ranking-list", f"{P}-ranking-fig", f"{P}-effective-fig", \
    f"{P}-timing", f"{P}-current"
SCOPE, AHP_BOX, AHP_CR, AHP_APPLY, BUDGET_TOTAL, BUDGET_APPLY = (f"{P}-scope", f"{P}-ahp", f"{P}-ahp-cr",
                                                                  f"{P}-ahp-apply", f"{P}-budget-total",
                                                                  f"{P}-budget-apply")
COMPARE, COMPARE_FIG, COMPARE_TABLE = f"{P}-compare", f"{P}-compare-fig", f"{P}-compare-table"
NAME, AUTHOR, RATIONALE, SAVE, SAVE_MSG, DERIVED = (f"{P}-name", f"{P}-author", f"{P}-rationale", f"{P}-save",
                                                    f"{P}-save-msg", f"{P}-derived")
TITLE, TITLE_EN, INVALID = f"{P}-title", f"{P}-title-en", f"{P}-invalid"
SLIDER, SHARE = "wslider", "wshare"
# The indicator sliders of a dimension are drawn when its group is first opened (first paint: ~40 sliders fewer on
# arrival); weights set for indicators whose sliders are not drawn yet (AHP, budget) wait in PENDING.
GROUP, GROUP_BODY, PENDING = "wgroup", "wgroup-body", f"{P}-pending"
DRAWN = f"{P}-drawn"  # the profile the controls (and the ranking drawn with them) show
WANTED = f"{P}-wanted"  # the profile the picker asks for, when it differs from the one drawn


def layout(lang: str | None = None, profile: str | None = None, **_query: str) -> html.Div:
    """The page with its controls, its ranking and the comparison's invitation already drawn (issue 16 goal 4, as the
    overview and the district page): for the profile the header's picker opens on (components.header: the link's,
    else the default), as this request's role sees it (a leader the published version), so a first visit paints from
    the first layout response with no callback round trip after the scripts (there were three in a row: the
    controls, then the ranking they fed, then the comparison and the sliders' shares). `redraw_controls` redraws
    them when the picker's profile (its remembered one, in browser storage) is not the one drawn, or on reset."""
    lang = norm_lang(lang)
    ctx = get_context()
    profile = profile if profile and profile in ctx.profile_names() else ctx.default_profile_name()
    try:
        blend, dims, values = _control_values(ctx, ctx.profile(profile).resolved_weights(ctx.framework))
        # the ranking exactly as `live` computes it for these controls on their first call
        ranked = live(blend, values, {}, [{"type": SLIDER, "node": d} for d in dims], profile, lang)
    except (DataUnavailable, LookupError):
        dims, ranked = [], None  # the controls say why (an error box); the ranking stays empty
    shares = dict(zip(dims, ranked[3], strict=True)) if ranked else {}
    parts, _pending = controls(profile, 0, lang, shares)
    return _page(ctx, lang, profile, parts, ranked)


def _page(ctx: AppContext, lang: str, profile: str, parts: list, ranked: tuple | None) -> html.Div:
    """The page around the drawn controls `parts` and `live`'s outputs `ranked` (None: no ranking to draw)."""
    items, rank_fig, eff_fig, _shares, timing, current, invalid, hidden = ranked or ([], None, None, [], None, None,
                                                                                     None, True)
    compare_fig, compare_table = compare(current, None, lang, profile)  # nothing chosen yet: the invitation
    scopes = [a for a in ctx.framework.aggregates if 2 <= len(ctx.framework.weighted_children(a)) <= 15
              and a != ctx.framework.root]
    scope = "demand" if "demand" in scopes else (scopes[0] if scopes else None)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=CURRENT, data=current),
            dcc.Store(id=DRAWN, data={"profile": profile}),  # what the controls and the ranking below show
            dcc.Store(id=WANTED),  # set (client side) when the picker asks for another profile
            dcc.Store(id=DERIVED, data=[]),
            dcc.Store(id=PENDING, data={}),  # always in the layout: the callbacks that write it must find it
            c.page_title(t("weights.title", lang), None,
                         actions=[dcc.Link("历史与发布" if lang != "en" else "History & publication",
                                           href=c.href("/weights/history", lang), className="button secondary"),
                                  html.Button(t("weights.reset", lang), id=RESET, className="button secondary",
                                              n_clicks=0)]),
            html.Div(
                [
                    c.card(t("weights.dimensions", lang), html.Div(parts, id=CONTROLS)),
                    html.Div([
                        c.card(t("weights.ranking", lang),
                               html.P(t("weights.whatif", lang), id="weights-whatif", className="note whatif"),
                               html.P(timing, id=TIMING, className="timing"),
                               html.P(invalid, id=INVALID, className="status-bad invalid-weights", role="alert",
                                      hidden=hidden),
                               html.Ol(items, id=LIST, className="rank-list"), c.graph(RANK_FIG, rank_fig)),
                        c.card(None, c.graph(EFF_FIG, eff_fig)),
                    ]),
                ],
                className="weights-layout",
            ),
            html.Div(
                [
                    c.card(
                        f"{t('weights.ahp', lang)} · {t('weights.budget', lang)}",
                        html.Div([html.Label(t("weights.ahp_scope", lang), htmlFor=SCOPE, className="inline-label"),
                                  c.dropdown(lang, id=SCOPE,
                                             options=[{"label": views.node_label(ctx, s, lang), "value": s}
                                                      for s in scopes],
                                             value=scope, clearable=False)]),
                        html.Div(ahp_editor(scope, lang), id=AHP_BOX),
                    ),
                    c.card(
                        t("weights.compare", lang),
                        c.dropdown(lang, id=COMPARE, multi=True, placeholder=t("weights.compare_with", lang),
                                   options=_compare_options(profile, lang)),
                        c.graph(COMPARE_FIG, compare_fig),
                        html.Div(compare_table, id=COMPARE_TABLE),
                    ),
                ],
                className="grid-2",
            ),
            c.card(
                t("weights.save", lang),
                html.Div([
                    dcc.Input(id=TITLE, placeholder=t("weights.save_title", lang), type="text", maxLength=60),
                    dcc.Input(id=TITLE_EN, placeholder=t("weights.save_title_en", lang), type="text", maxLength=80),
                    dcc.Input(id=NAME, placeholder=t("weights.save_name", lang), debounce=False, type="text",
                              maxLength=60),
                    html.P(t("weights.save_name_rule", lang), className="note"),
                    dcc.Input(id=AUTHOR, placeholder=t("weights.save_author", lang), type="text"),
                    dcc.Textarea(id=RATIONALE, placeholder=t("weights.save_rationale", lang)),
                ], className="save-form"),
                html.Div([html.Button(t("weights.save_button", lang), id=SAVE, className="button", n_clicks=0,
                                      disabled=not security.may("edit_weights")),
                          html.Span(id=SAVE_MSG, role="status",
                                    children=None if security.may("edit_weights")
                                    else security.refusal_note("edit_weights", lang))],
                         className="title-actions"),
            ),
        ],
        className="weights",
    )


def _slider(code: str, value: float, label: str, lang: str, share: str = "") -> html.Div:
    return html.Div(
        [
            html.Span(label, className="wlabel"),
            dcc.Slider(id={"type": SLIDER, "node": code}, min=0, max=1, step=0.05, value=round(value, 4),
                       marks=None, updatemode="drag", tooltip={"always_visible": False}),
            html.Span(share, id={"type": SHARE, "node": code}, className="wshare"),
        ],
        className="weight-row",
    )


def _control_values(ctx: AppContext, w: dict[str, float]) -> tuple[float, list[str], list[float]]:
    """(the blend slider's value, the dimension sliders' nodes, their values) as the controls draw them for the
    weights `w`: rounded as the sliders hold them, so the ranking drawn with the layout is the one `live` computes
    when they are first read."""
    dims, _groups = reweight.slider_nodes(ctx)
    blend = round(w.get("demand", 0.5), 4) if reweight.blend_nodes_present(ctx) else 0.5
    return blend, dims, [round(w[d], 4) for d in dims]


# The controls are in the layout; the picker's value at load (its remembered profile, or the one a page inserted
# in-app opens on) is compared in the browser with the one drawn, and only a difference asks the server.
c.drawn_check(WANTED, None, DRAWN)


@callback(Output(CONTROLS, "children"), Output(PENDING, "data"), Output(DRAWN, "data"), Input(WANTED, "data"),
          Input(RESET, "n_clicks"), State(ids.PROFILE_SELECT, "value"), State(LANG, "data"), prevent_initial_call=True)
def redraw_controls(_wanted: dict | None, reset: int, profile_name: str | None, lang: str):
    """The controls for the picker's profile (when it is not the one drawn, and on reset), and a note of it. The
    picker's value, not the wanted store's: the reset button (or a page inserted in-app) fires this without it."""
    parts, pending = controls(profile_name, reset, lang)
    return parts, pending, {"profile": profile_name}


def controls(profile_name: str | None, _reset: int, lang: str, shares: dict[str, str] | None = None):
    """The controls, set from the profile, with nothing pending (the PENDING store is emptied with them, so the live
    ranking waits for them as for the sliders); `shares` fills the dimension sliders' shares (the first layout's,
    which no `live` call fills)."""
    ctx = get_context()
    try:
        profile = ctx.profile(profile_name)
    except LookupError as e:
        return c.error_box(lang, str(e)), {}
    w = profile.resolved_weights(ctx.framework)
    blend, dims, values = _control_values(ctx, w)
    parts: list = []
    notes = reweight.profile_notes(ctx, profile, lang)
    if notes:  # an older profile naming a context or retired indicator loads; say what is not used
        parts.append(html.Ul([html.Li(n) for n in notes], className="profile-notes", role="note"))
    if reweight.blend_nodes_present(ctx):
        parts.append(html.Div([
            html.Label(t("weights.blend", lang), htmlFor=BLEND, className="wlabel"),
            dcc.Slider(id=BLEND, min=0, max=1, step=0.05, value=blend, updatemode="drag",
                       marks={0: t("weights.blend_marks_supply", lang), 0.5: "50%",
                              1: t("weights.blend_marks_demand", lang)}),
        ], className="blend"))
    else:
        parts.append(dcc.Slider(id=BLEND, min=0, max=1, value=0.5, disabled=True, className="hidden"))
    parts += [_slider(d, v, views.node_label(ctx, d, lang), lang, (shares or {}).get(d, ""))
              for d, v in zip(dims, values, strict=True)]
    for d in dims:
        parts.append(html.Details(
            [html.Summary(views.node_label(ctx, d, lang), id={"type": GROUP, "node": d}, n_clicks=0),
             html.Div(id={"type": GROUP_BODY, "node": d})],
            className="weight-group",
        ))
    return parts, {}


@callback(Output({"type": GROUP_BODY, "node": MATCH}, "children"), Input({"type": GROUP, "node": MATCH}, "n_clicks"),
          State({"type": GROUP_BODY, "node": MATCH}, "children"), State({"type": GROUP, "node": MATCH}, "id"),
          State(CURRENT, "data"), State(ids.PROFILE_SELECT, "value"), State(LANG, "data"), prevent_initial_call=True)
def open_group(n: int | None, drawn, group: dict, current: dict | None, profile_name: str | None, lang: str):
    """A dimension's indicator sliders, drawn when its group is first opened, at the weights in force (the live
    ones, with any pending AHP or budget result), then kept."""
    if not n or drawn:
        return dash.no_update
    ctx = get_context()
    try:
        w = current or ctx.profile(profile_name).resolved_weights(ctx.framework)
    except LookupError:
        return dash.no_update
    _dims, groups = reweight.slider_nodes(ctx)
    return [_slider(i, w.get(i, 0.0), views.node_label(ctx, i, lang), lang) for i in groups.get(group["node"], [])]


def zero_weight_nodes(blend: float | None, codes: list, values: list, profile_name: str | None) -> list[str]:
    """The nodes whose children all weigh zero under these controls (no ranking can be computed then)."""
    ctx = get_context()
    fw = ctx.framework
    w = reweight.weights_from_controls(blend, codes, values, ctx.profile(profile_name).resolved_weights(fw))
    return [a for a in fw.aggregates if fw.children(a) and sum(w.get(k, 0.0) for k in fw.children(a)) <= 0]


@callback(
    Output(LIST, "children"), Output(RANK_FIG, "figure"), Output(EFF_FIG, "figure"),
    Output({"type": SHARE, "node": ALL}, "children"), Output(TIMING, "children"), Output(CURRENT, "data"),
    Output(INVALID, "children"), Output(INVALID, "hidden"),
    Input(BLEND, "value"), Input({"type": SLIDER, "node": ALL}, "value"), Input(PENDING, "data"),
    State({"type": SLIDER, "node": ALL}, "id"), State(ids.PROFILE_SELECT, "value"), State(LANG, "data"),
    prevent_initial_call=True,  # the first layout holds its first result; a redraw of the controls fires it
)
def live(blend: float | None, values: list, pending: dict | None, slider_ids: list, profile_name: str | None,
         lang: str):
    ctx = get_context()
    shown = [s["node"] for s in slider_ids]
    # weights of sliders not drawn yet (a closed group) that AHP or the budget set: the sliders drawn win
    waiting = {k: v for k, v in (pending or {}).items() if k not in shown}
    codes, values = [*shown, *waiting], [*values, *waiting.values()]
    try:
        r = reweight.recompute(ctx, profile_name, blend, codes, values, None, lang)
    except reweight.WeightsInvalid:
        # Never leave the previous ranking on screen as if it followed these weights: clear it and say why.
        nodes = "”、“".join(views.node_label(ctx, n, lang)
                            for n in zero_weight_nodes(blend, codes, values, profile_name)) or "—"
        if lang == "en":
            nodes = nodes.replace("”、“", "', '")
        msg = t("weights.invalid", lang, nodes=nodes)
        blank = figures.empty_figure(t("stale.badge", lang))
        return ([], blank, blank, ["—"] * len(shown), "", None, msg, False)
    except (DataUnavailable, LookupError) as e:
        return (c.error_box(lang, f"{t('error.nodata', lang)} ({e})"), figures.empty_figure(""),
                figures.empty_figure(""), [""] * len(shown), "", None, None, True)
    items = [html.Li([html.Span(str(row["rank"]) if row["rank"] is not None else t("na", lang),
                                                 className="rank-no"), html.Span(row["name"], className="rank-name"),
                      html.Span(fmt_num(row["score"], lang), className="rank-score")],
                     **{"data-unit": row["unit_code"]}, className="rank-item")
             for row in (many_units.top_bottom(r.table)[0] if many_units.is_many(r.table.height)
                         else r.table).iter_rows(named=True)]  # at many units: the two ends, as the chart
    return (items, r.ranking, r.effective, r.shares[:len(shown)], t("weights.server_ms", lang, ms=f"{r.ms:.1f}"),
            r.weights, None, True)


# -- AHP and budget ------------------------------------------------------------------------------------------------
@callback(Output(AHP_BOX, "children"), Input(SCOPE, "value"), State(LANG, "data"), prevent_initial_call=True)
def ahp_editor(scope: str | None, lang: str):
    """The AHP matrix and the budget for the scope's children, drawn with their first results (the consistency
    ratio, the mirrored cells, the points' total: what `ahp_live` and `budget_total` give for them), so the first
    layout, which holds the first scope's, needs no callback to complete it."""
    ctx = get_context()
    if not scope:
        return None
    kids = ctx.framework.weighted_children(scope)
    labels = [views.node_label(ctx, k, lang) for k in kids]
    opts = [{"label": reweight.saaty_label(v), "value": v} for v in reweight.SAATY]
    head = html.Tr([html.Th("")] + [html.Th(lab) for lab in labels])
    upper = [{"type": "ahp", "i": i, "j": j} for i in range(len(kids)) for j in range(i + 1, len(kids))]
    low_ids = [{"type": "ahp-low", "i": i, "j": j} for i in range(len(kids)) for j in range(i + 1)]
    cr, low = ahp_live([1] * len(upper), upper, low_ids, scope, lang)  # every judgement 1 (equal) at first
    low_text = {(d["i"], d["j"]): text for d, text in zip(low_ids, low, strict=True)}
    rows = []
    for i, lab in enumerate(labels):
        cells: list[html.Th | html.Td] = [html.Th(lab)]
        for j in range(len(kids)):
            if j > i:
                cells.append(html.Td(c.dropdown(lang, id={"type": "ahp", "i": i, "j": j}, options=opts, value=1,
                                                clearable=False, searchable=False, style={"minWidth": "70px"})))
            else:
                cells.append(html.Td(low_text[(i, j)], id={"type": "ahp-low", "i": i, "j": j}))
        rows.append(html.Tr(cells))
    points = [round(100 / len(kids)) for _ in kids]
    budget = [html.Div([html.Span(lab, className="wlabel"),
                        dcc.Input(id={"type": "budget", "node": k}, type="number", min=0, max=100, step=1,
                                  value=v)], className="weight-row")
              for k, lab, v in zip(kids, labels, points, strict=True)]
    return [
        html.P(t("weights.ahp_note", lang), className="note"),
        html.Div(html.Table([html.Thead(head), html.Tbody(rows)], className="ahp-table"), style={"overflowX": "auto"}),
        html.P(cr, id=AHP_CR),
        html.Button(t("weights.ahp_apply", lang), id=AHP_APPLY, className="button", n_clicks=0),
        html.H3(t("weights.budget", lang)),
        html.P(t("weights.budget_note", lang), className="note"),
        *budget,
        html.P(budget_total(points, lang), id=BUDGET_TOTAL, className="note"),
        html.Button(t("weights.budget_apply", lang), id=BUDGET_APPLY, className="button", n_clicks=0),
    ]


def _cells(values: list, cell_ids: list) -> list[tuple[int, int, float | None]]:
    return [(d["i"], d["j"], v) for d, v in zip(cell_ids, values, strict=True)]


@callback(Output(AHP_CR, "children"), Output({"type": "ahp-low", "i": ALL, "j": ALL}, "children"),
          Input({"type": "ahp", "i": ALL, "j": ALL}, "value"), State({"type": "ahp", "i": ALL, "j": ALL}, "id"),
          State({"type": "ahp-low", "i": ALL, "j": ALL}, "id"), State(SCOPE, "value"), State(LANG, "data"),
          prevent_initial_call=True)  # the AHP box is drawn with its first result (ahp_editor)
def ahp_live(values: list, cell_ids: list, low_ids: list, scope: str | None, lang: str):
    ctx = get_context()
    if not scope:
        return dash.no_update, [dash.no_update] * len(low_ids)
    kids = ctx.framework.weighted_children(scope)
    res = reweight.ahp_from_cells(kids, _cells(values, cell_ids))
    a = res["matrix"]
    low = ["1" if d["i"] == d["j"] else reweight.saaty_label(a[d["i"]][d["j"]]) for d in low_ids]
    verdict = t("weights.cr_ok", lang) if res["consistent"] else t("weights.cr_bad", lang)
    ws = " · ".join(f"{views.node_label(ctx, k, lang)} {res['weights'][k] * 100:.0f}%" for k in kids)
    return [html.Span(t("weights.cr", lang, cr=f"{res['cr']:.3f}"), className="cr-ok" if res["consistent"] else
                      "cr-bad", id=f"{P}-cr-value"), f" — {verdict}. ", html.Span(ws, className="note")], low


@callback(Output(BUDGET_TOTAL, "children"), Input({"type": "budget", "node": ALL}, "value"), State(LANG, "data"),
          prevent_initial_call=True)  # the AHP box is drawn with its first total (ahp_editor)
def budget_total(points: list, lang: str):
    return t("weights.budget_total", lang, n=f"{sum(float(p or 0) for p in points):g}")


@callback(
    Output({"type": SLIDER, "node": ALL}, "value"), Output(DERIVED, "data"), Output(PENDING, "data", allow_duplicate=True),
    Input(AHP_APPLY, "n_clicks"), Input(BUDGET_APPLY, "n_clicks"),
    State({"type": "ahp", "i": ALL, "j": ALL}, "value"), State({"type": "ahp", "i": ALL, "j": ALL}, "id"),
    State({"type": "budget", "node": ALL}, "value"), State({"type": "budget", "node": ALL}, "id"),
    State({"type": SLIDER, "node": ALL}, "value"), State({"type": SLIDER, "node": ALL}, "id"),
    State(SCOPE, "value"), State(DERIVED, "data"), State(PENDING, "data"), prevent_initial_call=True,
)
def apply_derived(_a: int, _b: int, ahp_values, ahp_ids, points, budget_ids, slider_values, slider_ids, scope,
                  derived, pending=None):
    """Put AHP or budget weights into the sliders of the scope's children (the blend slider for the sides); those
    whose sliders are not drawn yet (a closed group) wait in PENDING, which the live ranking reads too."""
    ctx = get_context()
    # Dash calls this when the AHP box draws its buttons (n_clicks 0): that is no click. Applying then wrote an equal
    # AHP result over the profile's weights and a derivation nobody made, and ran the ranking a second time.
    clicks = {AHP_APPLY: _a, BUDGET_APPLY: _b}.get(dash.ctx.triggered_id)
    if not scope or not clicks:
        raise dash.exceptions.PreventUpdate  # (no_update would not do for the pattern-matching output)
    kids = list(ctx.framework.weighted_children(scope))
    try:
        if dash.ctx.triggered_id == AHP_APPLY:
            res = reweight.ahp_from_cells(kids, _cells(ahp_values, ahp_ids))
            d = Derivation(method="ahp", node=scope, codes=kids, weights=res["weights"],
                           inputs={"matrix": res["matrix"]}, diagnostics={"cr": res["cr"]})
        else:
            res = reweight.budget_from_points([b["node"] for b in budget_ids], points)
            d = Derivation(method="budget", node=scope, codes=kids, weights=res["weights"],
                           inputs={"points": res["points"]})
    except WeightingError:  # e.g. no budget points allocated: nothing to apply
        raise dash.exceptions.PreventUpdate from None
    new = [round(res["weights"][s["node"]], 4) if s["node"] in res["weights"] else v
           for s, v in zip(slider_ids, slider_values, strict=True)]
    drawn = {s["node"] for s in slider_ids}
    waiting = {**(pending or {}), **{k: round(v, 4) for k, v in res["weights"].items() if k not in drawn}}
    return new, [*(derived or []), d.model_dump(mode="json")], waiting


# -- compare and save ----------------------------------------------------------------------------------------------
@callback(Output(COMPARE, "options"), Input(ids.PROFILES_VERSION, "data"), Input(DRAWN, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def compare_options(_v: int, drawn: dict | None, lang: str):
    """The profiles to compare with: every one but the profile drawn (redrawn with the controls, and when a profile
    is saved); the first layout holds the first list."""
    return _compare_options((drawn or {}).get("profile"), lang)


def _compare_options(current: str | None, lang: str) -> list[dict]:
    return [{"label": title, "value": name} for name, title in get_context().profile_titles(lang).items()
            if name != current]


@callback(Output(COMPARE_FIG, "figure"), Output(COMPARE_TABLE, "children"), Input(CURRENT, "data"),
          Input(COMPARE, "value"), State(LANG, "data"), State(ids.PROFILE_SELECT, "value"), prevent_initial_call=True)
def compare(current: dict | None, others: list | None, lang: str, profile_name: str | None = None):
    ctx = get_context()
    if not current or not others:
        # nothing chosen to compare with: no bump chart of one column (16 lines of text to lay out on every first
        # visit, issue 16 goal 4), the invitation to choose instead
        return figures.empty_figure(t("weights.compare_with", lang)), None
    try:
        # the live weights re-aggregated under the selected profile's methods: the ranking shown beside it
        prep = ctx.prepared(ctx.profile(profile_name))
    except (DataUnavailable, LookupError):
        return figures.empty_figure(t("error.nodata", lang)), None
    base = views.live_ranking(ctx, prep, current, None, lang).select("unit_code", "name", pl.col("rank").alias("r0"))
    columns = [("r0", t("weights.current", lang))]
    titles = ctx.profile_titles(lang)
    for k, name in enumerate(others or []):
        prof = ctx.profile(name)
        tbl = views.live_ranking(ctx, ctx.prepared(prof), prof.resolved_weights(ctx.framework), None, lang)
        base = base.join(tbl.select("unit_code", pl.col("rank").alias(f"r{k + 1}")), on="unit_code")
        columns.append((f"r{k + 1}", titles.get(name, name)))
    base = base.sort("r0")
    grid_cols = [c.col("name", "col.district", lang, pinned="left")] + [
        {"field": col, "headerName": label, "type": "rightAligned"} for col, label in columns
    ]
    rows = base.to_dicts()
    return (figures.rank_comparison_figure(base, lang, columns),
            c.grid(f"{P}-compare-grid", rows, grid_cols, lang,
                   height=420 if many_units.is_many(len(rows)) else "auto") if len(columns) > 1 else None)


def profile_slug(title: str, existing: list[str] | set[str]) -> str:
    """A profile code from a title: its Latin letters and digits joined by hyphens ('User 2026' → 'user-2026'); a
    title with none (all Chinese) gives 'profile-N', the first N not taken."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    slug = "-".join(words)[:40].strip("-")
    if slug and slug not in existing:
        return slug
    stem = slug or "profile"
    n = 1
    while f"{stem}-{n}" in existing:
        n += 1
    return f"{stem}-{n}"


@callback(Output(SAVE_MSG, "children"), Output(ids.PROFILES_VERSION, "data"), Input(SAVE, "n_clicks"),
          State(NAME, "value"), State(AUTHOR, "value"), State(RATIONALE, "value"), State(CURRENT, "data"),
          State(DERIVED, "data"), State(ids.PROFILE_SELECT, "value"), State(ids.PROFILES_VERSION, "data"),
          State(LANG, "data"), State(TITLE, "value"), State(TITLE_EN, "value"), prevent_initial_call=True)
def save(n: int, name: str | None, author: str | None, rationale: str | None, current: dict | None,
         derived: list | None, profile_name: str | None, version: int | None, lang: str, title: str | None = None,
         title_en: str | None = None):
    if not n:  # Dash calls this with n_clicks=0 when the page is shown: nothing to do, nothing to refuse
        return dash.no_update, dash.no_update
    who = security.require("edit_weights")  # enforced on the server: a forged request gets HTTP 403
    title = (title or "").strip()
    if not (title and author and rationale) or not current:
        return html.Span(t("weights.save_missing", lang), className="status-bad"), dash.no_update
    ctx = get_context()
    name = (name or "").strip() or profile_slug(title, set(ctx.profile_names()))
    if not re.fullmatch(SLUG_PATTERN, name):
        return html.Span(t("weights.bad_name", lang, name=name), className="status-bad"), dash.no_update
    try:
        base = ctx.profile(profile_name)
        derivations = [Derivation.model_validate(d) for d in (derived or [])]
        prof = reweight.profile_from_controls(base, current, name, author, rationale, lang, derivations)
        data = prof.to_dict()
        data.update(title_zh=title, title_en=(title_en or "").strip() or name)
        prof = WeightProfile.from_dict(data, source=f"profile {name!r}")
        prof.validate_against(ctx.framework)
        saved = save_profile(prof, ctx.weights_dir, who=who.name, rationale=rationale, role=who.role)
    except (ProfileError, ValueError, OSError, AuditError) as e:
        return html.Span(t("weights.save_error", lang, error=str(e)), className="status-bad"), dash.no_update
    return (html.Span(t("weights.saved", lang, name=f"{title}（{saved.name}）" if lang != "en" else saved.name,
                        version=saved.version), className="status-ok"),
            (version or 0) + 1)
