"""Probes and the access log: `/healthz` (can the warehouse be read, how did the last refresh end), `/readyz` (is
a snapshot loaded, for a proxy's upstream check) and one INFO line per request.

Both probes answer JSON to any Host name and without sign-in (app/web/auth.py's PUBLIC_PATHS and PROBE_PATHS), and
say nothing a visitor could not learn from the pages' footer: statuses, times, the snapshot id, a run's error line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from etl.logs import ACCESS_FIELDS
from etl.stores.runs import RunStore, RunStoreError
from etl.warehouse import connection as warehouse

if TYPE_CHECKING:
    from app.state import AppContext

HEALTHZ = "/healthz"
READYZ = "/readyz"
access_log = logging.getLogger("govindex.access")
log = logging.getLogger("govindex.app")


def _json(body: dict[str, Any], status: int) -> Response:
    resp = Response(response=json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def warehouse_state(ctx: AppContext) -> dict[str, Any]:
    """Open the live warehouse read-only and read it (a count of indicator values): ok, or the error."""
    t0 = time.perf_counter()
    try:
        with warehouse.connection(ctx.db_path, read_only=True) as con:
            tables = set(warehouse.table_names(con))
            rows = warehouse.row_count(con, "indicator_values") if "indicator_values" in tables else 0
    except warehouse.WarehouseError as e:
        return {"ok": False, "path": str(ctx.db_path), "error": str(e).splitlines()[0]}
    return {"ok": True, "path": str(ctx.db_path), "indicator_values": rows,
            "ms": round((time.perf_counter() - t0) * 1000, 1)}


def last_refresh(ctx: AppContext) -> dict[str, Any] | None:
    """The last refresh run's state from the run history, or None when no run was ever recorded."""
    if not ctx.runs_path.is_file():
        return None
    try:
        run = RunStore(ctx.runs_path).last()
    except (RunStoreError, OSError) as e:
        return {"status": "unknown", "error": f"run history unreadable: {e}"}
    if run is None:
        return None
    return {"id": run.id, "status": run.status, "trigger": run.trigger, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "snapshot_id": run.snapshot_id, "error": run.error}


def healthz(ctx: AppContext) -> Response:
    """200 {"status": "ok" | "degraded"} when the warehouse can be read ("degraded": the last refresh did not
    succeed, the previous snapshot is served); 503 {"status": "down"} when it cannot."""
    wh = warehouse_state(ctx)
    run = last_refresh(ctx)
    status = "down" if not wh["ok"] else "degraded" if run is not None and run["status"] not in (
        "succeeded", "running") else "ok"
    return _json({"status": status, "warehouse": wh, "last_refresh": run}, 503 if status == "down" else 200)


def readyz(ctx: AppContext) -> Response:
    """200 only when a snapshot with indicator values is loaded (the pages have something to show); else 503."""
    try:
        snap = ctx.snapshot()
    except Exception as e:  # any failure to load means "not ready"; the reason goes to the log, not the probe
        log.warning("readyz: no snapshot loaded: %s", e)
        return _json({"ready": False, "reason": "the warehouse could not be loaded"}, 503)
    if not snap.available:
        return _json({"ready": False, "reason": "no indicator values yet (run a refresh)"}, 503)
    return _json({"ready": True, "snapshot_id": snap.snapshot_id, "loaded_at": snap.loaded_at.isoformat()}, 200)


def install_health(server: Flask, context: Callable[[], AppContext]) -> None:
    """Register /healthz and /readyz on the Flask server; `context` returns the app's AppContext per request."""
    server.add_url_rule(HEALTHZ, "govindex_healthz", lambda: healthz(context()))
    server.add_url_rule(READYZ, "govindex_readyz", lambda: readyz(context()))


def install_access_log(server: Flask) -> None:
    """One INFO line per request on logger govindex.access: method, path, status, milliseconds, user.

    The clock starts in the first before_request hook (ahead of sign-in, which may answer early), and the line is
    written in an after_request hook, which runs for every response, early answers included."""

    def start() -> None:
        g.govindex_t0 = time.perf_counter()

    def finish(response: Response) -> Response:
        if access_log.isEnabledFor(logging.INFO):
            t0 = g.get("govindex_t0")
            ms = round((time.perf_counter() - t0) * 1000, 1) if t0 is not None else None
            ident = g.get("govindex_identity")
            fields = dict(zip(ACCESS_FIELDS, (request.method, request.path, response.status_code, ms,
                                              ident.name if ident is not None else "-")))
            access_log.info("%s %s %s %sms %s", *fields.values(), extra=fields)
        return response

    server.before_request_funcs.setdefault(None, []).insert(0, start)
    server.after_request(finish)
