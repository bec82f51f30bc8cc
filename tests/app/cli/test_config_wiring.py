"""One Config per process, passed down: every command reads --config/--db/GOVINDEX_*, and `govindex serve` hands the
whole configuration to the app (run history, "refresh now"). Real subprocesses, as a person runs them."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from app.cli import main
from etl.stores.runs import RunStore, list_runs
from etl.stores.users import load_users
from etl.ingest import messages
from tests.conftest import Warehouses, serving
from tests.etl.ingest import corpus

ROOT = Path(__file__).resolve().parents[3]
GOVINDEX = str(Path(sys.executable).with_name("govindex"))
# Commands that read the warehouse or the files beside it; `demo` writes raw files only, `weights` has its own --db
# (a warehouse to derive weights from) and takes --config for its folder.
WAREHOUSE_COMMANDS = ("ingest", "quarantine", "serve", "refresh", "schedule", "score", "sensitivity", "user add",
                      "user remove", "user list")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no GOVINDEX_* of the person running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVINDEX_")}
    return {**env, "HOME": str(tmp_path), "OPENBLAS_NUM_THREADS": "1", **extra}


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
         timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVINDEX, *args], capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                          env=env or _env(tmp_path), input=stdin)


def _command(path: str) -> click.Command:
    cmd: click.Command = main
    for part in path.split():
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
    return cmd


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in getattr(p, "opts", [])}


def test_every_command_takes_the_shared_config_and_db_options() -> None:
    for path in WAREHOUSE_COMMANDS:
        assert {"--config", "--db"} <= _options(_command(path)), path
    weights = _command("weights")
    assert isinstance(weights, click.Group)
    for name, sub in weights.commands.items():
        assert "--config" in _options(sub), f"weights {name}"


def test_ingest_and_quarantine_follow_govindex_db(tmp_path: Path) -> None:
    """They used to hard-code data/warehouse.duckdb: `GOVINDEX_DB=… govindex quarantine` said it did not exist."""
    src, db = tmp_path / "raw", tmp_path / "elsewhere" / "wh.duckdb"
    corpus.build(src)
    db.parent.mkdir()
    env = _env(tmp_path, GOVINDEX_DB=str(db))
    r = _run(tmp_path, "ingest", "--source", str(src), env=env)
    assert r.returncode == 0, r.stderr
    assert db.is_file() and not (tmp_path / "data").exists()
    q = _run(tmp_path, "quarantine", "--table", "rating", "--limit", "0", env=env)
    assert q.returncode == 0, q.stderr
    assert messages.label("field_count").split(" / ")[0] in q.stdout and str(db) in q.stdout.replace("\n", "")


@pytest.fixture(scope="module")
def sens_db(warehouses: Warehouses) -> Path:
    return warehouses.synthetic(quarters=3, seed=3, first="2025Q1")


def test_score_and_sensitivity_read_the_config_file(sens_db: Path, tmp_path: Path) -> None:
    """`score` had no --config (it read only ./govindex.toml) and `sensitivity` ignored the configuration: its
    warehouse and its weights folder."""
    db = tmp_path / "w" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy(sens_db, db)  # score stores a run: never in the shared one
    store = tmp_path / "saved-weights"
    store.mkdir()
    text = (ROOT / "weights" / "supply-led.toml").read_text(encoding="utf-8")
    (store / "mine.toml").write_text(text.replace('name = "supply-led"', 'name = "mine"'), encoding="utf-8")
    conf = tmp_path / "conf" / "govindex.toml"
    conf.parent.mkdir()
    conf.write_text(f'[paths]\ndb = "{db}"\nweights_dir = "../saved-weights"\n', encoding="utf-8")
    s = _run(tmp_path, "score", "--config", str(conf), "--profile", "mine")
    assert s.returncode == 0, s.stderr
    assert f"stored in {db}" in s.stdout.replace("\n", "")
    out = tmp_path / "sens"
    r = _run(tmp_path, "sensitivity", "--config", str(conf), "--profile", "mine", "--samples", "100",
             "--sobol-samples", "8", "--out", str(out))
    assert r.returncode == 0, r.stderr
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["db"] == str(db) and run["profile"] == "mine"


def test_user_commands_use_the_configured_users_file(tmp_path: Path) -> None:
    conf = tmp_path / "g.toml"
    conf.write_text('[users]\nfile = "people/users.toml"\n', encoding="utf-8")
    r = _run(tmp_path, "user", "add", "ana", "--role", "admin", "--password-stdin", "--config", str(conf),
             stdin="a long enough password\n")
    assert r.returncode == 0, r.stderr
    assert set(load_users(tmp_path / "people" / "users.toml")) == {"ana"}
    listed = _run(tmp_path, "user", "list", env=_env(tmp_path, GOVINDEX_USERS=str(tmp_path / "people/users.toml")))
    assert listed.returncode == 0 and "ana" in listed.stdout


# -- govindex serve: the app gets serve's whole configuration ------------------------------------------------------
class _Browser:
    """Just enough of a browser for Dash: a cookie jar, our Origin on POSTs, callbacks as JSON."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.deps: list[dict[str, Any]] = []

    def get(self, path: str) -> bytes:
        with self.opener.open(self.url + path, timeout=30) as r:
            return bytes(r.read())

    def callback(self, output_contains: str, values: dict[str, Any], changed: str) -> str:
        if not self.deps:
            self.deps = json.loads(self.get("/_dash-dependencies"))
        dep = next(d for d in self.deps if output_contains in d["output"])
        parts = dep["output"].strip(".").split("...") if dep["output"].startswith("..") else [dep["output"]]
        outs = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1].split("@")[0]} for p in parts]
        payload = {
            "output": dep["output"],
            "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
            "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]],
            "changedPropIds": [changed],
        }
        req = urllib.request.Request(self.url + "/_dash-update-component", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json", "Origin": self.url}, method="POST")
        with self.opener.open(req, timeout=60) as r:
            return str(r.read().decode("utf-8"))


@pytest.fixture()
def served(tmp_path: Path, demo_env: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """`govindex serve --config FILE` where FILE puts the run history, inbox and archive away from the warehouse."""
    db = tmp_path / "wh" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy(demo_env["db"], db)
    runs_db = tmp_path / "history" / "refreshes.sqlite"
    runs_db.parent.mkdir()
    store = RunStore(runs_db)
    store.finish(store.start("cli", db).id, "failed", error="MARKER-CONFIGURED-RUN-HISTORY")
    decoy = RunStore(db.with_name("runs.sqlite"))  # where the app used to look, whatever the configuration said
    decoy.finish(decoy.start("cli", db).id, "failed", error="DECOY-BESIDE-THE-WAREHOUSE")
    inbox = tmp_path / "drop"
    inbox.mkdir()
    raw = sorted(demo_env["raw"].glob("rating*"))[0]
    shutil.copy(raw, inbox / raw.name)
    os.utime(inbox / raw.name, (time.time() - 60, time.time() - 60))  # settled
    conf = tmp_path / "conf" / "serve.toml"
    conf.parent.mkdir()
    conf.write_text(
        f'[paths]\ndb = "{db}"\nruns_db = "{runs_db}"\ninbox = "../drop"\narchive = "../done"\n'
        f'weights_dir = "{demo_env["weights"]}"\n[refresh]\nuncertainty_samples = 0\n',
        encoding="utf-8",
    )
    workdir = tmp_path / "cwd"  # no govindex.toml, no data/ here
    workdir.mkdir()
    with serving(["--config", str(conf), "--no-scheduler"], tmp_path / "serve.log", cwd=workdir, env=_env(tmp_path),
                 probe="/healthz") as url:
        yield {"url": url, "db": db, "runs_db": runs_db, "inbox": inbox, "archive": tmp_path / "done",
               "workdir": workdir, "file": raw.name}


def test_the_data_quality_page_reads_the_configured_run_history(served: dict[str, Any]) -> None:
    """`govindex serve` never passed paths.runs_db to the app: the page read runs.sqlite beside the warehouse."""
    b = _Browser(served["url"])
    b.get("/")  # the demo session
    page = b.callback("_pages_content.children", {"_pages_location.pathname": "/data-quality",
                                                  "_pages_location.search": "?lang=en"},
                      "_pages_location.pathname")
    assert "MARKER-CONFIGURED-RUN-HISTORY" in page
    assert "DECOY-BESIDE-THE-WAREHOUSE" not in page


def test_refresh_now_uses_the_configuration_serve_was_started_with(served: dict[str, Any]) -> None:
    """"Refresh now" reloaded the configuration without serve's --config file: another inbox, another run history."""
    b = _Browser(served["url"])
    b.get("/")  # the demo session (its role may refresh)
    press = {"dq-refresh.n_clicks": 1, "dq-refresh-poll.n_intervals": 0, "dq-lang.data": "en"}
    body = b.callback("dq-refresh-msg.children", press, "dq-refresh.n_clicks")
    deadline = time.monotonic() + 240
    while "Refresh finished" not in body and "Refresh failed" not in body and time.monotonic() < deadline:
        time.sleep(1)
        body = b.callback("dq-refresh-msg.children", {**press, "dq-refresh-poll.n_intervals": 1},
                          "dq-refresh-poll.n_intervals")
    assert "Refresh finished" in body, body
    runs = list_runs(served["runs_db"])
    assert runs is not None and runs["trigger"][0] == "manual" and runs["status"][0] == "succeeded"
    assert runs["files"][0] + runs["files_skipped"][0] == 1  # the file dropped in the configured inbox
    assert not (served["inbox"] / served["file"]).exists()
    assert any(served["archive"].rglob(f"*{served['file']}"))
    assert not (served["workdir"] / "data").exists()
