"""Flask download routes: quarantined rows (a district official gets only their district's), the audit trail, and
the methodology report (技术报告) generated from a profile's spec."""

from __future__ import annotations

from typing import Any

import flask
from flask import request

from app.web import security
from app.state import get_context
from app.ui.i18n import norm_lang, t
from app.views.methodology import coverage_from_snapshot, data_audit, methodology_report_html
from etl.ingest.quarantine import filter_quarantine
from etl.safe_export import csv_text
from etl.stores.audit_trail import AuditError, read_trail, trail_csv, trail_problem
from etl.stores.profiles import _check_name
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
    q = security.visible_quarantine(get_context().snapshot().quarantine)
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


def install_downloads(app: Any) -> None:
    server: flask.Flask = app.server if hasattr(app, "server") else app
    server.add_url_rule("/download/quarantine.csv", "govindex_quarantine_csv", quarantine_csv)
    server.add_url_rule("/download/audit.csv", "govindex_audit_csv", audit_csv)
    server.add_url_rule("/download/methodology.html", "govindex_methodology_html", methodology_html)
