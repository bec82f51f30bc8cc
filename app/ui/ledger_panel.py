"""The district page's 目标达成与整改 card: each indicator's status against its target (a red/amber/green chip) and,
for an indicator below or near its target, a 立项整改 button that opens the new-item dialog (for this district's
officials). The district page calls `targets_card(dp, lang)` once; the dialog is drawn here, its callbacks are in
app/pages/ledger.py (a page module: Dash registers its callbacks with every app it builds).
"""

from __future__ import annotations

from dash import dcc, html

from app.state import get_context
from app.ui import components as c
from app.ui import ledger_model as model
from app.ui import markup
from app.ui.i18n import fmt_num, fmt_pct, fmt_signed, t

P = "ledger-new"
CODE, LANG, DIALOG, TITLE, INDICATOR = f"{P}-code", f"{P}-lang", f"{P}-dialog", f"{P}-title", f"{P}-indicator"
PROBLEM, ACTION, OWNER, DUE, SUBMIT, CANCEL, MSG = (f"{P}-problem", f"{P}-action", f"{P}-owner", f"{P}-due",
                                                    f"{P}-submit", f"{P}-cancel", f"{P}-msg")
OPEN_TYPE = "ledger-open"


def open_button(indicator: str, lang: str) -> html.Button:
    """The 立项整改 button of one gap row (a pattern-matching id: one callback serves every row)."""
    return html.Button(t("ledger.open", lang), id={"type": OPEN_TYPE, "indicator": indicator},
                       className="button secondary ledger-open", n_clicks=0)


def targets_card(dp, lang: str) -> html.Section:
    """Status chips per indicator of the district profile `dp` (app/views/frames.DistrictProfile) and an open
    button per indicator that misses its target, when the viewer may open items for this district."""
    ctx = get_context()
    statuses = model.rag_statuses(ctx, dp.code, dp.period, dp.indicators)
    can_open = model.may_open(dp.code)
    rows = []
    for r in dp.indicators.iter_rows(named=True):
        st = statuses.get(r["indicator"], model.RagStatus("none", None))
        dec = int(r["decimals"])
        gap = st.gap
        rows.append(html.Tr(
            [html.Td(r["label"]), html.Td(fmt_num(r["value"], lang, dec), className="num"),
             html.Td(fmt_num(st.target, lang, dec) if st.target is not None else t("na", lang), className="num"),
             html.Td(fmt_signed(gap, lang, dec) if gap is not None else t("na", lang), className="num"),
             html.Td(model.rag_chip(st.status, lang)),
             html.Td(open_button(r["indicator"], lang) if can_open and st.status in ("red", "amber") else None)],
            **model.attrs({"data-indicator": r["indicator"], "data-rag": st.status})))
    heads = ("col.indicator", "col.value", "col.target", "col.gap_target", "targets.col.status")
    table = html.Table([html.Thead(html.Tr([html.Th(t(k, lang)) for k in heads] + [html.Th("")])),
                        html.Tbody(rows)], className="loop-table", id="district-targets")
    return c.card(t("targets.district_card", lang), html.P(t("targets.district_note", lang), className="note"),
                  markup.static_unless_controls(table), _dialog(dp.code, lang), id="district-targets-card")


def _dialog(code: str, lang: str) -> html.Div:
    field = "ledger-form"
    return html.Div(
        html.Div(
            [
                dcc.Store(id=CODE, data=code), dcc.Store(id=LANG, data=lang), dcc.Store(id=INDICATOR),
                html.H2(id=TITLE),
                html.Div([
                    html.Label(t("ledger.problem", lang), htmlFor=PROBLEM),
                    dcc.Textarea(id=PROBLEM, maxLength=2000),
                    html.Label(t("ledger.action", lang), htmlFor=ACTION),
                    dcc.Textarea(id=ACTION, maxLength=2000),
                    html.Label(t("ledger.owner", lang), htmlFor=OWNER),
                    dcc.Input(id=OWNER, type="text", maxLength=200),
                    html.Label(t("ledger.due", lang), htmlFor=DUE),
                    # the browser's own date picker: dcc.Input renders type="date"; its type hints omit it
                    dcc.Input(id=DUE, type="date"),  # type: ignore[arg-type]
                ], className=field),
                html.Div([html.Button(t("ledger.submit", lang), id=SUBMIT, className="button", n_clicks=0),
                          html.Button(t("ledger.cancel", lang), id=CANCEL, className="button secondary",
                                      n_clicks=0),
                          html.Span(id=MSG, role="status")], className="title-actions"),
            ],
            className="ledger-dialog-box", role="dialog",
            **model.attrs({"aria-modal": "true", "aria-labelledby": TITLE}),
        ),
        id=DIALOG, className="ledger-dialog hidden",
    )


def met_card(table, period: str, lang: str) -> html.Section:
    """The overview's 目标达成情况: per district (in the ranking's order), targets met of those with a target."""
    ctx = get_context()
    met = {r["unit_code"]: r for r in model.share_met(ctx, period).iter_rows(named=True)}
    items = []
    for r in table.iter_rows(named=True):
        m = met.get(r["unit_code"])
        if m is None or not m["with_target"]:
            line, share = t("rag.none", lang), 0.0
        else:
            share = float(m["share"] or 0.0)
            line = t("targets.met_line", lang, met=m["met"], n=m["with_target"], pct=fmt_pct(share, lang, 0))
        items.append(html.Li([dcc.Link(r["name"], href=c.href(f"/district/{r['unit_code']}", lang),
                                       className="met-name"),
                              html.Span(className="met-bar", style={"width": f"{round(60 * share)}px"}),
                              html.Span(line, className="met-share")],
                             **model.attrs({"data-unit": r["unit_code"]})))
    return c.card(t("targets.met_card", lang), html.Ol(items, className="met-list", id="overview-targets-met"),
                  html.P(t("targets.met_note", lang), className="note"), className="met-card")
