"""Data quality (数据质量): last refresh, refresh history, per-file accounting, quarantine, indicator coverage."""

from __future__ import annotations

import time

import dash
import polars as pl
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import coverage, ids, markup
from app.web import security
from app.ui.i18n import (check_label, fmt_datetime, fmt_int, norm_lang, status_label, t, table_label,
                         trigger_label)
from etl.ingest.quarantine import filter_quarantine
from etl.jobs.refresh import RefreshBusy
from etl.warehouse.snapshot import DataUnavailable, Snapshot, load_runs
from app.state import get_context

dash.register_page(__name__, path="/data-quality", name="数据质量 Data quality",
                   title="数据质量 · 一网通办用户中心绩效指数", order=4)

PREFIX = "dq"
LANG = f"{PREFIX}-lang"
F_TABLE, F_DISTRICT, F_REASON = f"{PREFIX}-filter-table", f"{PREFIX}-filter-district", f"{PREFIX}-filter-reason"
Q_BOX, Q_GRID, Q_COUNT = f"{PREFIX}-quarantine", f"{PREFIX}-quarantine-grid", f"{PREFIX}-quarantine-count"
CSV_BUTTON, CSV_DOWNLOAD = f"{PREFIX}-csv", f"{PREFIX}-csv-download"
REFRESH_BUTTON, REFRESH_MSG, REFRESH_POLL = f"{PREFIX}-refresh", f"{PREFIX}-refresh-msg", f"{PREFIX}-refresh-poll"
REFRESH_T0, BODY = f"{PREFIX}-refresh-t0", f"{PREFIX}-body"
QUARANTINE_PAGE = 5000  # rows sent to the browser at once; the CSV has all of them
#: up to this many rows a table goes as static HTML (one component, no AG Grid script: issue 16 goal 4); longer ones
#: (years of refreshes, a big quarantine) are a grid a person can sort, filter and page
STATIC_ROWS = 200
RAW = "raw-data"  # the clerk's data as it was sent (a column code, a value, the original row): not our words


def layout(lang: str | None = None, **_query: str) -> html.Div:
    lang = norm_lang(lang)
    return html.Div(
        [
            dcc.Store(id=LANG, data=lang),
            dcc.Store(id=REFRESH_T0),
            dcc.Download(id=CSV_DOWNLOAD),
            c.page_title(t("dq.title", lang)),
            html.Div(_refresh_controls(lang), className="card refresh-now no-print"),
            html.Div(_body(lang), id=BODY),
        ],
        className="data-quality",
    )


def _body(lang: str) -> list:
    """Everything read from the snapshot: rebuilt when "refresh now" finishes (ids.SNAPSHOT_VERSION)."""
    ctx = get_context()
    snap = ctx.snapshot()
    names = snap.district_names(lang)
    q = security.visible_quarantine(snap.quarantine, snap.units)  # an official: their unit's and its units' rows
    opts = lambda col: sorted(x for x in q[col].unique().to_list() if x) if q.height else []  # noqa: E731
    return [
        _refresh_card(ctx.runs_path, snap, lang),
        c.card(t("dq.files", lang), _files_grid(snap, lang)),
        c.card(
            t("dq.quarantine", lang),
            html.Div(
                [
                    c.dropdown(lang, id=F_TABLE, options=[{"label": table_label(x, lang), "value": x}
                                                    for x in opts("table_name")], multi=True,
                               placeholder=t("dq.filter_table", lang)),
                    c.dropdown(lang, id=F_DISTRICT, options=[{"label": names.get(d, d), "value": d}
                                                       for d in opts("district_code")],
                               multi=True, placeholder=t("dq.filter_district", lang)),
                    c.dropdown(lang, id=F_REASON, options=[{"label": check_label(x, lang), "value": x}
                                                     for x in opts("check_name")], multi=True,
                               placeholder=t("dq.filter_reason", lang)),
                    html.Button(t("export.csv", lang), id=CSV_BUTTON, className="button", n_clicks=0),
                ],
                className="filters no-print",
            ),
            html.P(id=Q_COUNT, className="note"),
            html.Div(id=Q_BOX),
        ),
        _coverage_card(lang),
    ]


@callback(Output(BODY, "children"), Input(ids.SNAPSHOT_VERSION, "data"), State(LANG, "data"),
          prevent_initial_call=True)
def reload_body(_version: int, lang: str):
    """A finished refresh swapped a new snapshot in: show it without a page reload."""
    return _body(lang)


def _status(value: object, lang: str) -> str:
    return status_label(value, lang)


def _refresh_card(runs_path, snap: Snapshot, lang: str) -> html.Section:
    runs = load_runs(runs_path)
    if runs is not None:
        last = runs.row(0, named=True)
        rows = [{
            "id": r["id"], "trigger": trigger_label(r["trigger"], lang), "status": _status(r["status"], lang),
            "started": fmt_datetime(r["started_at"], lang), "finished": fmt_datetime(r["finished_at"], lang),
            "rows": r["rows_loaded"], "quarantined": r["rows_quarantined"], "error": r["error"] or "",
            "snapshot": r["snapshot_id"] or "",
        } for r in runs.iter_rows(named=True)]
        cols = [c.num_col("id", "col.rank", lang, 0, headerName="#", maxWidth=80),
                c.col("trigger", "col.trigger", lang, maxWidth=110), c.col("status", "col.status", lang, maxWidth=110),
                c.col("started", "col.started", lang), c.col("finished", "col.finished", lang),
                c.num_col("rows", "col.rows_loaded", lang, 0), c.num_col("quarantined", "col.rows_quarantined", lang, 0),
                c.col("snapshot", "footer.snapshot", lang), c.col("error", "col.error", lang, minWidth=200)]
        last_when, last_status, note = last["finished_at"] or last["started_at"], last["status"], None
        history = _table(f"{PREFIX}-runs", rows, cols, lang, height="auto" if len(rows) <= 10 else 360)
    else:
        b = snap.batches
        note = t("dq.no_runs", lang)
        if b.height:
            last = b.row(-1, named=True)
            last_when, last_status = last.get("finished_at") or last.get("started_at"), last.get("status")
            rows = [{"id": r["batch_id"], "status": _status(r.get("status"), lang),
                     "started": fmt_datetime(r.get("started_at"), lang),
                     "finished": fmt_datetime(r.get("finished_at"), lang), "rows": r.get("rows_loaded"),
                     "quarantined": r.get("rows_quarantined"), "files": r.get("files_n")}
                    for r in b.sort("batch_id", descending=True).iter_rows(named=True)]
        else:
            f = snap.files
            last_when = f["finished_at"].max() if f.height and "finished_at" in f.columns else None
            last_status = "loaded" if f.height else None
            rows = []
        cols = [c.num_col("id", "col.rank", lang, 0, headerName="#", maxWidth=80),
                c.col("status", "col.status", lang), c.col("started", "col.started", lang),
                c.col("finished", "col.finished", lang), c.num_col("files", "col.file", lang, 0),
                c.num_col("rows", "col.rows_loaded", lang, 0), c.num_col("quarantined", "col.rows_quarantined", lang, 0)]
        history = _table(f"{PREFIX}-runs", rows, cols, lang, height="auto")
    tone = "bad" if str(last_status).lower() == "failed" else ""
    return c.card(
        t("dq.last_refresh", lang),
        html.Div([
            c.kpi(t("dq.last_refresh", lang), fmt_datetime(last_when, lang) if last_when else t("na", lang)),
            c.kpi(t("dq.status", lang), _status(last_status, lang) or t("na", lang), tone=tone),
            c.kpi(t("footer.snapshot", lang), snap.snapshot_id or t("na", lang)),
            c.kpi(t("dq.quarantine", lang), fmt_int(_visible_quarantine_total(snap), lang)),
        ], className="kpis"),
        html.H3(t("dq.history", lang)),
        html.P(note, className="note") if note else None,
        history,
    )


def _refresh_controls(lang: str) -> list:
    may = security.may("refresh")
    return [
        html.Button(t("dq.refresh_now", lang), id=REFRESH_BUTTON, n_clicks=0, className="button",
                    disabled=not may, title=None if may else security.refusal_note("refresh", lang)),
        html.Span(id=REFRESH_MSG, className="note", role="status"),
        dcc.Interval(id=REFRESH_POLL, interval=1000, disabled=True),
    ]


@callback(Output(REFRESH_MSG, "children"), Output(REFRESH_POLL, "disabled"),
          Output(ids.SNAPSHOT_VERSION, "data"), Output(REFRESH_T0, "data"), Input(REFRESH_BUTTON, "n_clicks"),
          Input(REFRESH_POLL, "n_intervals"), State(LANG, "data"), State(ids.SNAPSHOT_VERSION, "data"),
          State(REFRESH_T0, "data"), prevent_initial_call=True)
def refresh_now(n_clicks: int, _ticks: int, lang: str, version: int | None = None, t0: float | None = None):
    """Start a refresh (assessors and admins only, enforced here), report its progress every second until it ends,
    then say how it ended and bump ids.SNAPSHOT_VERSION so what is on screen is read again from the new snapshot."""
    # Dash also calls this when the page's controls appear (n_clicks 0, no ticks): that starts nothing
    start = dash.ctx.triggered_id == REFRESH_BUTTON and bool(n_clicks)
    if not start and not (dash.ctx.triggered_id == REFRESH_POLL and _ticks):
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update
    security.require("refresh")  # a forged request from another role gets HTTP 403
    future = get_context().refresh_future(start=start)
    if future is None:
        return dash.no_update, True, dash.no_update, dash.no_update
    now = time.time()
    if start or t0 is None:
        t0 = now
    if not future.done():
        msg = t("dq.refresh_started", lang) if start else t("dq.refresh_running", lang, s=f"{now - t0:.0f}")
        return html.Span(msg, className="refresh-running"), False, dash.no_update, t0
    bumped = (version or 0) + 1
    try:
        record = future.result()
    except RefreshBusy as e:
        return html.Span(t("dq.refresh_busy", lang, detail=str(e)), className="status-bad"), True, \
            dash.no_update, None
    except Exception as e:  # shown to the person, never a traceback
        return html.Span(t("dq.refresh_failed", lang, error=str(e)), className="status-bad"), True, bumped, None
    if record.status != "succeeded":
        return (html.Span(t("dq.refresh_failed", lang, error=record.error or _status(record.status, lang)),
                          className="status-bad"), True, bumped, None)
    return (html.Span(t("dq.refresh_done", lang, id=record.id, status=_status(record.status, lang)),
                      className="status-ok refresh-done"), True, bumped, None)


def _visible_quarantine_total(snap: Snapshot) -> int:
    """All quarantined rows for those who may see them all; a district official's own rows otherwise."""
    visible = security.visible_quarantine(snap.quarantine, snap.units)
    return snap.quarantine_total if visible.height == snap.quarantine.height else visible.height


def _files_grid(snap: Snapshot, lang: str):
    f = snap.files
    rows = []
    if f.height:
        for r in f.iter_rows(named=True):
            total = (r.get("rows_loaded") or 0) + (r.get("rows_quarantined") or 0) + (r.get("rows_duplicate") or 0)
            rows.append({
                "file": r.get("file_name") or r.get("path"), "table": table_label(r.get("table_name"), lang),
                "rows_in": r.get("rows_in"), "loaded": r.get("rows_loaded"), "quarantined": r.get("rows_quarantined"),
                "duplicate": r.get("rows_duplicate"), "balanced": "✓" if total == r.get("rows_in") else "✗",
                "status": _status(r.get("status"), lang), "message": r.get("message") or "",
                "encoding": r.get("encoding") or "", "loaded_at": fmt_datetime(r.get("finished_at"), lang),
            })
    cols = [c.col("file", "col.file", lang, minWidth=200, pinned="left"), c.col("table", "col.table", lang),
            c.num_col("rows_in", "col.rows_in", lang, 0), c.num_col("loaded", "col.rows_loaded", lang, 0),
            c.num_col("quarantined", "col.rows_quarantined", lang, 0),
            c.num_col("duplicate", "col.rows_duplicate", lang, 0), c.col("balanced", "col.balanced", lang, maxWidth=90),
            c.col("status", "col.status", lang, maxWidth=110), c.col("encoding", "col.encoding", lang, maxWidth=110),
            c.col("loaded_at", "col.loaded_at", lang), c.col("message", "col.note", lang, minWidth=200)]
    return _table(f"{PREFIX}-files", rows, cols, lang, height=min(80 + 42 * max(len(rows), 1), 460),
                  page_size=50 if len(rows) > 50 else None)


def _table(table_id: str, rows: list[dict], cols: list[dict], lang: str, **grid: object):
    """A short table as static HTML in a box that scrolls (the id on the box: what tests and people find), a long one
    as a grid with `grid`'s options (height, page_size)."""
    if len(rows) > STATIC_ROWS:
        return c.grid(table_id, rows, cols, lang, **grid)  # type: ignore[arg-type]  # height, page_size
    return c.static_html(markup.table(rows, cols), id=table_id, className="table-scroll")


def _quarantine_columns(lang: str) -> list[dict]:
    return [c.col("table_name", "col.table", lang, maxWidth=140), c.col("district", "col.district", lang, maxWidth=120),
            c.col("source_file", "col.file", lang), c.num_col("row_number", "col.row_number", lang, 0, maxWidth=100),
            c.col("column_name", "col.column", lang, maxWidth=140, cellClass=RAW),
            c.col("value", "col.value", lang, maxWidth=160, cellClass=RAW),
            c.col("check", "col.check_kind", lang, maxWidth=160), c.col("reason", "col.reason", lang, minWidth=240),
            c.col("original_row", "col.original", lang, minWidth=260, tooltipField="original_row", cellClass=RAW)]


@callback(Output(Q_BOX, "children"), Output(Q_COUNT, "children"), Input(F_TABLE, "value"), Input(F_DISTRICT, "value"),
          Input(F_REASON, "value"), State(LANG, "data"))
def quarantine_rows(tables: list | None, districts: list | None, checks: list | None, lang: str):
    snap = get_context().snapshot()
    names = snap.district_names(lang)
    visible = security.visible_quarantine(snap.quarantine, snap.units)
    q = filter_quarantine(visible, tables=tables, districts=districts, checks=checks)
    shown = q.head(QUARANTINE_PAGE)
    rows = shown.with_columns(
        pl.col("district_code").replace_strict(names, default=pl.col("district_code")).alias("district")
    ).to_dicts() if shown.height else []
    for r in rows:  # the table and the rule by their words; the reason is stored Chinese first, English beside
        r["table_name"] = table_label(r.get("table_name"), lang)
        r["check"] = check_label(r.get("check_name"), lang)
    total = q.height if (tables or districts or checks) or visible.height != snap.quarantine.height \
        else snap.quarantine_total
    shown_table = _table(Q_GRID, rows, _quarantine_columns(lang), lang, height=420, page_size=50)
    return shown_table, t("dq.rows_shown", lang, shown=fmt_int(len(rows), lang), total=fmt_int(total, lang))


@callback(Output(CSV_DOWNLOAD, "data"), Input(CSV_BUTTON, "n_clicks"), State(F_TABLE, "value"),
          State(F_DISTRICT, "value"), State(F_REASON, "value"), prevent_initial_call=True)
def quarantine_csv(n: int, tables: list | None, districts: list | None, checks: list | None):
    if not n:
        return dash.no_update
    # the same rows the role may see on screen, filtered on the server (the request's own filters cannot widen it)
    snap = get_context().snapshot()
    q = filter_quarantine(security.visible_quarantine(snap.quarantine, snap.units), tables=tables,
                          districts=districts, checks=checks)
    # UTF-8 with BOM so Excel on Chinese Windows opens the Chinese reasons correctly
    data = "\ufeff" + security.csv_safe(q).write_csv()
    return dcc.send_string(data, "govindex-quarantine.csv")


def _coverage_card(lang: str) -> html.Section | html.Div:
    ctx = get_context()
    try:
        profile = ctx.profile(None)
        prep = ctx.prepared(profile)
    except (DataUnavailable, LookupError) as e:
        return c.error_box(lang, t("error.nodata", lang) + f" ({e})")
    title, fig, summary = coverage.parts(ctx, profile, prep, lang)
    cols = [c.col("indicator", "col.indicator", lang, minWidth=220, pinned="left"),
            c.num_col("covered", "col.units_covered", lang, 0), c.num_col("missing", "dq.missing", lang, 0),
            c.num_col("min_sample", "col.min_sample", lang, 0), c.num_col("median_sample", "col.median_sample", lang, 0)]
    return c.card(
        title,
        html.P(t("dq.coverage_note", lang), className="note"),
        c.graph(f"{PREFIX}-coverage", fig),
        _table(f"{PREFIX}-coverage-grid", summary, cols, lang, height=420),
    )
