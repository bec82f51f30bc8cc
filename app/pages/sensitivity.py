"""Sensitivity (敏感性): choose factors and N, run in the background with progress and cancel, cached by spec.

A finished run is shown with its plain-language reading (app/ui/readings_sensitivity), or, when it mostly failed or
its Sobol indices cannot be right, with a message saying so instead of charts. The last job is kept in the browser's
local storage, so a reload shows its result again while the server still holds it.
"""

from __future__ import annotations

import dash
import polars as pl
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import figures, ids
from app.ui import readings_sensitivity as readings
from app.web import security
from app.views import sensitivity_run as sr
from app.ui.i18n import fmt_int, fmt_period, norm_lang, t
from app.web.jobs import UnknownJob
from app.state import get_context

dash.register_page(__name__, path="/sensitivity", name="敏感性 Sensitivity", title="敏感性 · 一网通办用户中心绩效指数",
                   order=3)

P = "sens"
LANG, FACTORS, N, RUN, CANCEL = f"{P}-lang", f"{P}-factors", f"{P}-n", f"{P}-run", f"{P}-cancel"
JOB, POLL, STATUS, BAR, RESULTS, UNIT = f"{P}-job", f"{P}-poll", f"{P}-status", f"{P}-bar", f"{P}-results", f"{P}-unit"


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    names = ctx.snapshot().district_names(lang)
    units = sorted(names) if ctx.snapshot().available else []
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=JOB, storage_type="local"),  # the last run survives a reload
            dcc.Interval(id=POLL, interval=500, disabled=True),
            c.page_title(t("sens.title", lang)),
            c.card(
                None,
                html.Div([
                    html.Div([html.H3(t("sens.factors", lang)),
                              dcc.Checklist(id=FACTORS, options=[{"label": t(f"factor.{f}", lang), "value": f}
                                                                 for f in sr.FACTORS],
                                            value=list(sr.DEFAULT_FACTORS), inline=True)]),
                    html.Div([html.H3(t("sens.n", lang)),
                              dcc.RadioItems(id=N, options=[{"label": fmt_int(n, lang), "value": n}
                                                            for n in sr.SAMPLE_SIZES],
                                             value=sr.SAMPLE_SIZES[1], inline=True)]),
                    html.Div([html.Button(t("sens.run", lang), id=RUN, className="button", n_clicks=0,
                                          disabled=_locked()),
                              html.Button(t("sens.cancel", lang), id=CANCEL, className="button danger", n_clicks=0,
                                          disabled=True)], className="title-actions"),
                ], className="grid-2"),
                html.Div(html.Div(id=BAR, style={"width": "0%"}), className="progress", role="progressbar"),
                html.P(security.refusal_note("run_sensitivity", lang) if _locked() else t("sens.status.idle", lang),
                       id=STATUS, role="status"),
                html.Div([html.Label(t("sens.tornado_unit", lang), htmlFor=UNIT, className="inline-label"),
                          c.dropdown(lang, id=UNIT, options=[{"label": t("sens.output_shift", lang), "value": ""}]
                                     + [{"label": names[u], "value": u} for u in units], value="",
                                     clearable=False)]),
            ),
            dcc.Loading(html.Div(id=RESULTS), type="dot", delay_show=300),
        ],
        className="sensitivity",
    )


@callback(Output(JOB, "data"), Output(POLL, "disabled"), Input(RUN, "n_clicks"), State(FACTORS, "value"),
          State(N, "value"), State(ids.PROFILE_SELECT, "value"), prevent_initial_call=True)
def start(n_clicks: int, factors: list | None, n: int, profile_name: str | None):
    security.require("run_sensitivity")  # enforced on the server: a forged request gets HTTP 403
    if not n_clicks or not factors:
        return dash.no_update, dash.no_update
    ctx = get_context()
    profile = ctx.profile(profile_name)
    spec = sr.build_spec(factors, int(n), ctx.seed, profile)
    job = ctx.jobs.submit(sr.spec_key(ctx, profile, spec), lambda jc: sr.run_stored(ctx, profile, spec, jc))
    return job.id, False


@callback(Output(STATUS, "children", allow_duplicate=True), Input(CANCEL, "n_clicks"), State(JOB, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def cancel(n: int, job_id: str | None, lang: str):
    security.require("run_sensitivity")
    if not n or not job_id:
        return dash.no_update
    try:
        get_context().jobs.cancel(job_id)
    except UnknownJob:
        return dash.no_update
    return t("sens.status.cancelled", lang)


@callback(Output(STATUS, "children"), Output(BAR, "style"), Output(POLL, "disabled", allow_duplicate=True),
          Output(RUN, "disabled"), Output(CANCEL, "disabled"), Output(RESULTS, "children"),
          Input(POLL, "n_intervals"), Input(JOB, "data"), Input(UNIT, "value"), State(LANG, "data"),
          State(ids.PROFILE_SELECT, "value"), prevent_initial_call="initial_duplicate")
def poll(_n: int | None, job_id: str | None, unit: str | None, lang: str, profile_name: str | None = None):
    ctx = get_context()
    try:
        if not job_id:
            raise UnknownJob(job_id or "")
        job = ctx.jobs.get(job_id)
    except UnknownJob:  # no run in this browser, or the server restarted: the profile's last stored result
        last = sr.last_stored(ctx, ctx.profile(profile_name))
        if last is None and not job_id:  # first visit: keep the layout's status (idle, or a role's refusal)
            return dash.no_update, dash.no_update, True, _locked(), True, dash.no_update
        if last is None:
            return t("sens.status.idle", lang), {"width": "0%"}, True, _locked(), True, None
        shown = t("sens.status.stored", lang)
        if _locked():  # a role that may not run one still reads why, beside the stored result
            shown = f"{shown} {security.refusal_note('run_sensitivity', lang)}"
        return shown, {"width": "100%"}, True, _locked(), True, results(last, unit or "", lang)
    width = {"width": f"{job.progress * 100:.0f}%"}
    if job.active:
        key = "sens.status.running" if job.status == "running" else "sens.status.queued"
        return t(key, lang, pct=f"{job.progress * 100:.0f}"), width, False, True, False, dash.no_update
    if job.status == "cancelled":
        return t("sens.status.cancelled", lang), width, True, _locked(), True, dash.no_update
    if job.status == "error":
        return t("sens.status.error", lang, error=job.error), width, True, _locked(), True, None
    res: sr.SensitivityResult = job.result
    failed = res.n - res.n_ok
    msg = t("sens.status.cached", lang) if job.from_cache else t("sens.status.done", lang, s=f"{job.elapsed:.1f}",
                                                                   failed=fmt_int(failed, lang))
    return msg, {"width": "100%"}, True, _locked(), True, results(res, unit or "", lang)


def _locked() -> bool:
    """The run button stays disabled for roles that may not run analyses (the server refuses them anyway)."""
    return not security.may("run_sensitivity")


def _factor_labels(res: sr.SensitivityResult, lang: str) -> dict[str, str]:
    return {f: _factor_label(f, lang) for f in res.factors}


def results(res: sr.SensitivityResult, unit: str, lang: str) -> list:
    names = get_context().snapshot().district_names(lang)
    labels_of = _factor_labels(res, lang)
    drawn = res.sobol.filter(pl.col("output") == (unit if unit in res.units else sr.SHIFT_OUTPUT))  # the indices drawn
    check = readings.verdict(((res.n, res.n - res.n_ok), (res.sobol_evaluations, res.sobol_failed)), drawn,
                             labels_of, lang)
    if not check.ok:  # a run that mostly failed, or indices that cannot be right, is not shown as a result
        return [html.Div([html.H3(t("sens.bad.title", lang)),
                          *[html.P(m) for m in check.messages(lang)],
                          html.P(t("sens.bad.advice", lang))], className="card warning", id=f"{P}-invalid",
                         role="alert")]
    said = readings.reading(res.units, names, res.nominal_rank, res.low, res.high, res.sobol, sr.SHIFT_OUTPUT,
                            labels_of, lang)
    order = res.nominal_rank.argsort()
    table = pl.DataFrame({
        "name": [names.get(u, u) for u in res.units], "rank": res.nominal_rank, "rank_median": res.median,
        "rank_lo": res.low, "rank_hi": res.high,
    })
    labels = [names.get(res.units[i], res.units[i]) for i in order]
    prob = res.p_above[order][:, order]
    tunit = unit if unit in res.units else res.units[int(order[0])]
    tframe, base = sr.tornado_frame(res, tunit)
    tframe = tframe.with_columns(pl.col("label").map_elements(lambda f: _factor_label(f, lang), return_dtype=pl.String))
    sob = sr.sobol_frame(res, unit or None).with_columns(
        pl.col("label").map_elements(lambda f: _factor_label(f, lang), return_dtype=pl.String))
    return [
        html.P(f"{fmt_period(res.period, lang)} · N = {fmt_int(res.n, lang)}", className="note"),
        html.Div([html.H3(t("sens.read.title", lang)), html.Ul([html.Li(x) for x in said])], className="card reading",
                 id=f"{P}-reading"),
        html.Div([
            c.card(None, c.graph(f"{P}-intervals", figures.rank_interval_figure(table, lang))),
            c.card(None, c.graph(f"{P}-sobol", figures.sobol_figure(sob, lang)),
                   html.P(f"{t('sens.output', lang)}: {names.get(unit, '') or t('sens.output_shift', lang)}",
                          className="note")),
            c.card(None, c.graph(f"{P}-pairwise", figures.pairwise_figure(labels, prob, lang))),
            c.card(None, c.graph(f"{P}-tornado", figures.tornado_figure(tframe, base, lang, names.get(tunit, tunit)))),
        ], className="grid-2"),
    ]


def _factor_label(factor: str, lang: str) -> str:
    key = "weights" if factor.startswith("weights") else factor
    return t(f"factor.{key}", lang) if key in sr.FACTORS else factor
