"""Flask download routes: quarantined rows (a district official gets only their district's) and the audit trail."""

from __future__ import annotations

from typing import Any

import flask
from flask import request
import polars as pl

from app.web import security
from app.state import get_context
from etl.stores.audit_trail import AuditError, read_trail, trail_csv
from etl.stores.profiles import _check_name
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
    if table and "table_name" in q.columns:
        q = q.filter(pl.col("table_name") == table)  # compared as a value, never spliced into SQL
    return _csv(security.csv_safe(q).write_csv(), "govindex-quarantine.csv")


def audit_csv() -> Any:
    """GET /download/audit.csv[?profile=NAME]: the audit trail (one profile's, or all)."""
    security.require("view")
    name = request.args.get("profile") or None
    try:
        if name is not None:
            _check_name(name)
        records = read_trail(get_context().weights_dir, name)
    except (ProfileError, AuditError) as e:
        flask.abort(400, description=str(e))
    return _csv(trail_csv(records), f"govindex-audit{'-' + name if name else ''}.csv")


def install_downloads(app: Any) -> None:
    server: flask.Flask = app.server if hasattr(app, "server") else app
    server.add_url_rule("/download/quarantine.csv", "govindex_quarantine_csv", quarantine_csv)
    server.add_url_rule("/download/audit.csv", "govindex_audit_csv", audit_csv)
