"""Flask download routes: quarantined rows (a district official gets only their district's), the audit trail, the
methodology report (技术报告) generated from a profile's spec, and the two workbooks a leader forwards (the overview's
ranking and a district's scorecard, app/ui/exports.py) at addresses that can be shared."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import flask
from flask import request

from app.web import security
from app.state import get_context
from app.ui import ledger_model
from app.ui.exports import XLSX_MIME, export_meta, overview_xlsx, scorecard_xlsx
from app.ui.i18n import norm_lang, t
from app.views import editions as edition_views
from app.views import frames as views
from app.views.methodology import coverage_from_snapshot, data_audit, methodology_report_html
from etl.ingest.quarantine import filter_quarantine
from etl.safe_export import csv_text
from etl.stores.audit_trail import AuditError, read_trail, trail_csv, trail_problem
from etl.stores.profiles import _check_name
from etl.warehouse.snapshot import DataUnavailable
from etl.warehouse.panel import read_uncertainty_spec
from indicators.uncertainty.problem import UncertaintyError, UncertaintySpec
from indicators.profile import ProfileError


def _csv(text: str, filename: str) -> flask.Response:
    resp = flask.Response("\ufeff" + text, mimetype="text/csv")  # BOM: Excel on Chinese Windows reads UTF-8
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def quarantine_csv() -> flask.Response:
    """GET /download/quarantine.csv[?table=T]: the quarantined rows this role may see, formulas neutralised."""
    security.require("view")
    snap = get_context().snapshot()
    q = security.visible_quarantine(snap.quarantine, snap.units)
    table = request.args.get("table")
    if table:
        q = filter_quarantine(q, tables=[table])  # compared as a value, never spliced into SQL
    return _csv(csv_text(q), "govindex-quarantine.csv")


def audit_csv() -> Any:
    """GET /download/audit.csv[?profile=NAME]: the audit trail (one profile's, or all)."""
    security.require("view")
    name = request.args.get("profile") or None
    try:
        if name is not None:
            _check_name(name)
        records = read_trail(get_context().weights_dir, name)
        problem = trail_problem(get_context().weights_dir)
    except (ProfileError, AuditError) as e:
        flask.abort(400, description=str(e))
    warning = t("hist.tampered", "zh", error=problem) + " " + t("hist.tampered", "en", error=problem) if problem else None
    return _csv(trail_csv(records, warning), f"govindex-audit{'-' + name if name else ''}.csv")


def methodology_html() -> Any:
    """GET /download/methodology.html?profile=NAME[&lang=en]: the technical report, printable to A4."""
    security.require("view")
    ctx = get_context()
    lang = norm_lang(request.args.get("lang"))
    try:
        profile = ctx.profile(request.args.get("profile") or None)
    except LookupError as e:
        flask.abort(404, description=str(e))
    coverage = coverage_from_snapshot(ctx.snapshot())
    try:
        uncertainty: UncertaintySpec | None = read_uncertainty_spec()
    except UncertaintyError:
        uncertainty = None
    audit = ctx.memo(("data-audit", ctx.snapshot().key, profile.methods.reliability_threshold),
                     lambda: data_audit(ctx.snapshot(), ctx.framework, ctx.catalog,
                                        profile.methods.reliability_threshold))
    text = methodology_report_html(ctx.framework, profile, ctx.catalog, coverage, lang, uncertainty=uncertainty,
                                   cycle=ctx.config.refresh.cycle, audit=audit)
    resp = flask.Response(text, mimetype="text/html")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _xlsx(data: bytes, filename: str) -> flask.Response:
    return _attachment(data, filename, XLSX_MIME)


def overview_download() -> Any:
    """GET /download/overview.xlsx[?profile=NAME&period=P&lang=en]: the ranking with intervals and bands."""
    security.require("view")
    ctx = get_context()
    lang = norm_lang(request.args.get("lang"))
    try:
        ov = views.overview(ctx, request.args.get("profile") or None, lang, request.args.get("period") or None)
    except (DataUnavailable, LookupError) as e:
        flask.abort(404, description=str(e))
    line = edition_views.showing_line(ctx, ov.profile.name, ov.source, lang)
    data = overview_xlsx(ov, lang, export_meta(ctx, ov.profile.name, ov.period, ov.source, lang, line))
    return _xlsx(data, f"govindex-ranking-{ov.period}.xlsx")


def scorecard_download(code: str) -> Any:
    """GET /download/scorecard/<code>.xlsx[?profile=NAME&period=P&lang=en]: a district's scorecard, with only the
    quarantined rows this role may see."""
    security.require("view")
    ctx = get_context()
    lang = norm_lang(request.args.get("lang"))
    profile = request.args.get("profile") or None
    try:
        dp = views.district_profile(ctx, code, profile, lang, request.args.get("period") or None)
    except (DataUnavailable, LookupError) as e:
        flask.abort(404, description=str(e))
    dp = dataclasses.replace(dp, quarantine=security.visible_quarantine(dp.quarantine, ctx.snapshot().units))
    name = ctx.profile(profile).name
    line = edition_views.showing_line(ctx, name, dp.source, lang)
    data = scorecard_xlsx(dp, lang, meta=export_meta(ctx, name, dp.period, dp.source, lang, line))
    return _xlsx(data, f"govindex-{dp.code}-{dp.period}.xlsx")


def ledger_xlsx() -> Any:
    """GET /download/ledger.xlsx[?district=CODE][&lang=en]: the rectification ledger (整改台账) as a 督查 office
    files it — one district's, or every district the person may see; an official gets only their own district's."""
    security.require("view")
    district = request.args.get("district") or None
    try:
        data, filename = ledger_model.ledger_xlsx(get_context(), district, norm_lang(request.args.get("lang")))
    except ledger_model.LoopError as e:
        flask.abort(403 if isinstance(e, ledger_model.loop.Forbidden) else 400, description=str(e))
    return _attachment(data, filename, XLSX_MIME)


def evidence_file(evidence_id: int) -> Any:
    """GET /download/evidence/<id>: an evidence file (佐证材料) of an item this person may see, checked against its
    SHA-256; sent as an attachment under its stored type, never rendered inline."""
    security.require("view")
    try:
        name, kind, data = ledger_model.read_evidence(get_context(), evidence_id)
    except ledger_model.LoopError as e:
        flask.abort(403 if isinstance(e, ledger_model.loop.Forbidden) else 404, description=str(e))
    return _attachment(data, name, EVIDENCE_TYPES.get(kind, "application/octet-stream"))


EVIDENCE_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "xlsx": XLSX_MIME,
                  "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _attachment(data: bytes, filename: str, mimetype: str) -> flask.Response:
    resp = flask.Response(data, mimetype=mimetype)
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename) or "file"
    resp.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                           f"filename*=UTF-8''{quote(filename, safe='')}")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def install_downloads(app: Any) -> None:
    server: flask.Flask = app.server if hasattr(app, "server") else app
    server.add_url_rule("/download/quarantine.csv", "govindex_quarantine_csv", quarantine_csv)
    server.add_url_rule("/download/audit.csv", "govindex_audit_csv", audit_csv)
    server.add_url_rule("/download/methodology.html", "govindex_methodology_html", methodology_html)
    server.add_url_rule("/download/overview.xlsx", "govindex_overview_xlsx", overview_download)
    server.add_url_rule("/download/scorecard/<code>.xlsx", "govindex_scorecard_xlsx", scorecard_download)
    server.add_url_rule("/download/ledger.xlsx", "govindex_ledger_xlsx", ledger_xlsx)
    server.add_url_rule("/download/evidence/<int:evidence_id>", "govindex_evidence", evidence_file)
