"""`--json` and exit codes of refresh, ingest and score as a scheduler sees them (subprocesses): one JSON object on
stdout, 0 done, 1 failed, 75 busy (issue 17)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.jobs.refresh import refresh_lock
from tests.conftest import Warehouses

pytestmark = pytest.mark.slow  # each case starts the CLI in a subprocess

GOVINDEX = str(Path(sys.executable).with_name("govindex"))


def run(*args: str, cwd: Path, **env: str) -> tuple[int, dict, str]:
    """Exit code, the one JSON object on stdout, and stderr."""
    out = subprocess.run([GOVINDEX, *args, "--json"], capture_output=True, text=True, timeout=300, cwd=cwd,
                         env={**os.environ, "GOVINDEX_CONFIG": "", "GOVINDEX_UNCERTAINTY_SAMPLES": "50", **env})
    lines = out.stdout.splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line:\n{out.stdout}\n{out.stderr[-2000:]}"
    return out.returncode, json.loads(lines[0]), out.stderr


def test_refresh_json_succeeds_fails_and_reports_busy(tmp_path: Path, warehouses: Warehouses) -> None:
    db = tmp_path / "w" / "warehouse.duckdb"
    db.parent.mkdir()
    # nothing to load into an empty warehouse: it produced nothing, so it failed
    code, obj, _ = run("refresh", "--db", str(db), cwd=tmp_path)
    assert code == 1 and obj["status"] == "failed" and "no indicator values" in obj["error"]
    # a real refresh: exit 0, the run record with every step
    code, obj, err = run("refresh", "--db", str(db), "--source", str(warehouses.demo_sources(3, 0.05)), cwd=tmp_path,
                         GOVINDEX_LOG_FORMAT="json", GOVINDEX_LOG_LEVEL="info")
    assert code == 0 and obj["status"] == "succeeded", err[-2000:]
    logged = [json.loads(line) for line in err.splitlines() if line.strip()]  # [logging] format = json: every line
    assert logged and {"time", "level", "logger", "message"} <= set(logged[0])
    assert [s["name"] for s in obj["steps"]] == ["ingest", "indicator_values", "scores", "uncertainty"]
    assert {s["status"] for s in obj["steps"]} == {"ok"} and obj["files"] > 0
    # another refresh holds the warehouse: 75 (try later), not a failure
    with refresh_lock(db).acquire(0.0, command="test"):
        code, obj, _ = run("refresh", "--db", str(db), cwd=tmp_path)
        assert code == 75 and obj["status"] == "busy" and "refresh" in obj["error"]
        code, obj, _ = run("score", "--db", str(db), cwd=tmp_path)
        assert code == 75 and obj["status"] == "busy"
    code, obj, _ = run("score", "--db", str(db), "--profile", "equal", cwd=tmp_path)
    assert code == 0 and obj["status"] == "ok" and obj["profile"] == "equal" and len(obj["ranking"]) == obj["n_units"]
    code, obj, _ = run("score", "--db", str(db), "--profile", "no-such-profile", cwd=tmp_path)
    assert code == 1 and obj["status"] == "error" and "no-such-profile" in obj["error"]


def test_ingest_json_accounts_for_every_file(tmp_path: Path, warehouses: Warehouses) -> None:
    src = tmp_path / "src"
    shutil.copytree(warehouses.demo_sources(3, 0.05), src)
    code, obj, _ = run("ingest", "--source", str(src), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert code == 0 and obj["status"] == "ok" and obj["batch_id"] == 1
    files = {f["name"]: f for f in obj["files"]}
    assert set(files) == {p.name for p in src.iterdir() if p.suffix in (".csv", ".xlsx", ".parquet")}
    assert obj["totals"]["rows_loaded"] == sum(f["rows_loaded"] for f in obj["files"]) > 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "no_such_table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, obj, _ = run("ingest", "--source", str(bad), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert code == 1 and obj["status"] in ("failed", "error")
    code, obj, _ = run("ingest", "--source", str(tmp_path / "nowhere"), "--db", str(tmp_path / "w.duckdb"),
                       cwd=tmp_path)
    assert code == 1 and obj["status"] == "error"
