"""/healthz reads the warehouse and reports the last refresh, /readyz is 200 only with a loaded snapshot, and every
request gets one access-log line (issue 17: `/healthz` answered "ok" without looking at anything)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from app.server import create_app
from app.web.auth import AuthSettings
from etl.stores.runs import RunStore
from tests.app.conftest import app_config


def _client(db: Path, weights_dir: Path, **overrides: object):
    app = create_app(app_config(db, weights_dir, rank_samples=0, **overrides), auth=AuthSettings(mode="demo"))
    return app.server.test_client()


def test_healthz_reads_the_warehouse_and_the_last_refresh(fixture_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(fixture_db, db)
    client = _client(db, weights_dir)
    r = client.get("/healthz")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok" and body["warehouse"]["ok"]
    assert body["warehouse"]["indicator_values"] > 0 and body["last_refresh"] is None
    # a failed last refresh: still serving the previous snapshot, but degraded
    store = RunStore(db.with_name("runs.sqlite"))
    run = store.start("cron", db)
    store.finish(run.id, "failed", error="scores: no weight profiles")
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["last_refresh"]["status"] == "failed"
    assert body["last_refresh"]["error"] == "scores: no weight profiles"
    # the warehouse cannot be read: down, 503
    db.write_bytes(b"not a duckdb file")
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "down" and not r.get_json()["warehouse"]["ok"]


def test_readyz_is_200_only_with_a_loaded_snapshot(fixture_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    missing = _client(tmp_path / "none.duckdb", weights_dir)
    r = missing.get("/readyz", headers={"Host": "10.1.2.3"})  # probes answer to any Host name
    assert r.status_code == 503 and r.get_json()["ready"] is False
    assert missing.get("/healthz").status_code == 503
    r = _client(fixture_db, weights_dir).get("/readyz")
    assert r.status_code == 200 and r.get_json()["ready"] is True and r.get_json()["snapshot_id"]


def test_one_access_log_line_per_request(
    fixture_db: Path, weights_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(fixture_db, weights_dir)
    with caplog.at_level(logging.INFO, logger="govindex.access"):
        client.get("/", headers={"Accept": "text/html"})
        client.get("/no-such-page-xyz")
    lines = [r for r in caplog.records if r.name == "govindex.access"]
    assert [(r.method, r.path) for r in lines] == [("GET", "/"), ("GET", "/no-such-page-xyz")]  # type: ignore[attr-defined]
    assert lines[0].status == 200 and lines[0].user == "demo" and lines[0].ms >= 0  # type: ignore[attr-defined]
    assert "GET / 200" in lines[0].getMessage()
    quiet = _client(fixture_db, weights_dir, access_log=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="govindex.access"):
        quiet.get("/")
    assert not [r for r in caplog.records if r.name == "govindex.access"]
