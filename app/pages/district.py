"""District profile (区画像): dimensions vs median and best, indicator table, priorities, own data issues, export."""

from __future__ import annotations

import math

import dataclasses

import dash
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import figures, ids, ledger_panel
from app.web import security
from app.views import frames as views
from app.ui.exports import scorecard_xlsx
from app.ui.editions import trend_card
from app.ui.i18n import fmt_num, fmt_period_marked, fmt_signed, norm_lang, t, table_label
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
CHOOSER = f"{PREFIX}-chooser"
EXPORT = f"{PREFIX}-export"
DOWNLOAD = f"{PREFIX}-download"


def layout(code: str | None = None, lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    ctx = get_context()
    names = ctx.snapshot().district_names(lang)
    units = []
    try:
        units = list(ctx.prepared(ctx.profile(None)).units)
    except (DataUnavailable, LookupError):
        pass
    known = code in units
    chooser = dcc.Dropdown(
        id=CHOOSER, options=[{"label": f"{names.get(u, u)} ({u})", "value": u} for u in units],
        value=code if known else None, placeholder=t("district.choose", lang), clearable=False,
        className="district-select",
    )
    title = names.get(code or "", code or "") if known else t("district.title", lang)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=CODE, data=code if known else None),
            dcc.Download(id=DOWNLOAD),
            c.page_title(
                f"{t('district.title', lang)} · {title}" if known else title,
                None if known else (t("error.unknown_district", lang, code=code) if code and code != "all" else None),
                actions=[chooser,
                         html.Button(t("export.xlsx", lang), id=EXPORT, className="button", n_clicks=0,
                                     disabled=not known),
                         c.print_button(PREFIX, lang, "print.scorecard")],
            ),
            dcc.Loading(html.Div(id=BODY), type="dot", delay_show=300),
        ],
        className="district print-page a4",
    )


@callback(Output(ids.URL, "href", allow_duplicate=True), Input(CHOOSER, "value"), State(CODE, "data"),
          State(LANG, "data"), prevent_initial_call=True)
def choose(code: str | None, current: str | None, lang: str):
    if not code or code == current:
        return dash.no_update
    return c.href(f"/district/{code}", lang)


@callback(Output(BODY, "children"), Input(ids.PROFILE_SELECT, "value"), State(CODE, "data"), State(LANG, "data"))
def render(profile: str | None, code: str | None, lang: str):
    ctx = get_context()
    if not code:
        return _index(profile, lang)
    try:
        dp = _for_viewer(views.district_profile(ctx, code, profile, lang))
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    s = dp.summary
    summary = t("district.summary", lang, score=fmt_num(s["score"], lang), rank=s["rank"], n=s["n"],
                srank=s.get("supply_rank") or "—", drank=s.get("demand_rank") or "—")
    kpis = html.Div(
        [
            c.kpi(t("col.score", lang), fmt_num(s["score"], lang), f"#{s['rank']} / {s['n']}"),
            c.kpi(t("col.supply", lang), fmt_num(s.get("supply"), lang), f"#{s.get('supply_rank')}"),
            c.kpi(t("col.demand", lang), fmt_num(s.get("demand"), lang), f"#{s.get('demand_rank')}",
                  tone="warn" if (s.get("supply_rank") or 0) < (s.get("demand_rank") or 0) - 3 else ""),
            c.kpi(t("col.period", lang),
                  fmt_period_marked(dp.period, lang, partial_periods([dp.period], get_context().snapshot().complete_months))),
        ],
        className="kpis",
    )
    return [
        html.P(summary, className="lead", id=f"{PREFIX}-summary"),
        html.P(views.source_text(dp.source, lang), id=f"{PREFIX}-source",
               className="note source-note" + ("" if dp.source.stored else " warn")),
        html.P(edition_views.showing_line(ctx, ctx.profile(profile).name, dp.source, lang), id=f"{PREFIX}-edition",
               className="note edition-note"),
        kpis,
        html.Div(
            [
                c.card(None, c.graph(f"{PREFIX}-dims", figures.dimension_compare_figure(dp.dimensions, lang))),
                c.card(None, c.graph(f"{PREFIX}-priorities", figures.priorities_figure(dp.priorities, lang)),
                       html.P(t("district.priorities_note", lang), className="note")),
            ],
            className="grid-2",
        ),
        c.card(t("district.indicators", lang), _indicator_grid(dp, lang), className="indicator-card"),
        ledger_panel.targets_card(dp, lang),  # status against target per indicator, 立项整改 per gap row
        trend_card(edition_views.trend_view(ctx, ctx.profile(profile).name, lang, unit=code), lang, unit=code),
        c.card(t("district.quarantine", lang), _quarantine(dp, lang)),
    ]


def _for_viewer(dp: views.DistrictProfile) -> views.DistrictProfile:
    """The profile with only the quarantined rows this request's role may see (an official of another district
    sees none of this district's rows), for the page and the export alike."""
    return dataclasses.replace(dp, quarantine=security.visible_quarantine(dp.quarantine))


def indicator_rows(dp: views.DistrictProfile, lang: str) -> list[dict]:
    rows = []
    for r in dp.indicators.iter_rows(named=True):
        dec = int(r["decimals"])
        rows.append({
            "indicator": r["indicator"],
            "label": r["label"],
            "side": t(f"side.{r['side']}", lang) if r["side"] else "",
            "dimension": r["dimension"],
            "value": fmt_num(r["value"], lang, dec),
            "unit": r["unit"],
            "score": r["score"],
            "rank": r["rank"],
            "gap_best": fmt_signed(r["gap_best"], lang, dec) if r["gap_best"] is not None else "—",
            "gap_target": fmt_signed(r["gap_target"], lang, dec) if r["gap_target"] is not None else "—",
            "trend": figures.sparkline_text(r["trend"]),
            "sample": r["sample"],
            "direction": "↑" if r["direction"] > 0 else "↓",
        })
    return rows


def _indicator_grid(dp: views.DistrictProfile, lang: str):
    cols = [
        c.col("label", "col.indicator", lang, pinned="left", minWidth=200, tooltipField="indicator"),
        c.col("side", "col.side", lang, maxWidth=110),
        c.col("direction", "col.direction", lang, maxWidth=80),
        c.col("value", "col.value", lang, type="rightAligned", maxWidth=120),
        c.col("unit", "col.unit", lang, maxWidth=110),
        c.num_col("score", "col.ind_score", lang, 1, maxWidth=110),
        c.num_col("rank", "col.ind_rank", lang, 0, maxWidth=90),
        c.col("gap_best", "col.gap_best", lang, type="rightAligned", maxWidth=120),
        c.col("gap_target", "col.gap_target", lang, type="rightAligned", maxWidth=120),
        c.col("trend", "col.trend", lang, cellClass="sparkline", maxWidth=120, sortable=False, filter=False),
        c.num_col("sample", "col.sample", lang, 0, maxWidth=120),
    ]
    weak = math.ceil(0.75 * int(dp.summary.get("n") or 16))  # the bottom quarter of the units is highlighted
    return c.grid(f"{PREFIX}-indicators", indicator_rows(dp, lang), cols, lang, height="auto",
                  extra_options={"rowClassRules": {"row-weak": f"params.data.rank > {weak}"}})


def _quarantine(dp: views.DistrictProfile, lang: str):
    q = dp.quarantine
    if q.height == 0:
        return html.P(t("district.quarantine_none", lang), className="note ok")
    cols = [
        c.col("table_name", "col.table", lang, maxWidth=140),
        c.col("source_file", "col.file", lang),
        c.num_col("row_number", "col.row_number", lang, 0, maxWidth=100),
        c.col("column_name", "col.column", lang, maxWidth=140),
        c.col("value", "col.value", lang, maxWidth=160),
        c.col("reason", "col.reason", lang, minWidth=240),
    ]
    rows = q.select("table_name", "source_file", "row_number", "column_name", "value", "reason").to_dicts()
    for r in rows:  # the table by its Chinese title (code beside); the reason is stored Chinese first
        r["table_name"] = table_label(r["table_name"], lang)
    return c.grid(f"{PREFIX}-quarantine", rows, cols, lang, height=min(110 + 42 * len(rows), 470), page_size=50)  # rows + header + pager


def _index(profile: str | None, lang: str):
    """No district chosen: every district as a card, in rank order."""
    ctx = get_context()
    try:
        ov = views.overview(ctx, profile, lang)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    cards = [
        dcc.Link(
            html.Div([html.Div(f"#{r['rank']}", className="kpi-label"), html.Div(r["name"], className="kpi-value"),
                      html.Div(fmt_num(r["score"], lang), className="kpi-note")], className="kpi"),
            href=c.href(f"/district/{r['unit_code']}", lang), className="district-card",
        )
        for r in ov.table.iter_rows(named=True)
    ]
    return html.Div([html.P(views.source_text(ov.source, lang), id=f"{PREFIX}-source",
                            className="note source-note" + ("" if ov.source.stored else " warn")),
                     html.Div(cards, className="kpis district-index")])


@callback(Output(DOWNLOAD, "data"), Input(EXPORT, "n_clicks"), State(ids.PROFILE_SELECT, "value"),
          State(CODE, "data"), State(LANG, "data"), prevent_initial_call=True)
def export(n: int, profile: str | None, code: str | None, lang: str):
    if not n or not code:
        return dash.no_update
    ctx = get_context()
    try:
        dp = _for_viewer(views.district_profile(ctx, code, profile, lang))
    except (DataUnavailable, LookupError):  # no data (or an unknown code in a forged request): nothing to send
        return dash.no_update
    data = scorecard_xlsx(dp, lang, edition_views.showing_line(ctx, ctx.profile(profile).name, dp.source, lang))
    return dcc.send_bytes(data, f"govindex-{code}-{dp.period}.xlsx")
