"""The data-quality page's "refresh now": refused on the server for viewers, runs a real refresh for editors."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from app.web.auth_config import AuthSettings
from etl.config import load_config
from etl.warehouse import connection as warehouse
from etl.stores.runs import list_runs
from etl.stores.users import add_user
from tests.app.web.test_roles import PASSWORD, ROLE_USERS, _call, _client

pytestmark = pytest.mark.slow  # the demo warehouse, and a real refresh

REFRESH = [("dq-refresh-msg", "children"), ("dq-refresh-poll", "disabled")]


def _press(client, n: int = 1, lang: str = "en"):
    return _call(client, REFRESH, [("dq-refresh", "n_clicks", n), ("dq-refresh-poll", "n_intervals", 0)],
                 [("dq-lang", "data", lang)])


@pytest.fixture()
def refresh_app(tmp_path: Path, demo_env: dict[str, Path], weights_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from app.server import create_app

    db = tmp_path / "wh" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy(demo_env["db"], db)  # the refresh swaps a new snapshot in: never on the shared demo
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("GOVINDEX_INBOX", str(inbox))
    monkeypatch.setenv("GOVINDEX_ARCHIVE", str(tmp_path / "archive"))
    monkeypatch.chdir(tmp_path)  # no stray govindex.toml is read
    users = tmp_path / "users.toml"
    for role, (name, district) in ROLE_USERS.items():
        add_user(users, name, role, PASSWORD, district)
    config = load_config(overrides={"db": str(db), "weights_dir": str(weights_dir), "rank_samples": 0})
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    return app, db


@pytest.mark.parametrize("role", ["leader", "district_official"])
def test_viewers_cannot_refresh(refresh_app, role: str) -> None:
    app, db = refresh_app
    before = db.stat().st_mtime_ns
    r = _press(_client(app, role))
    assert r.status_code == 403
    assert db.stat().st_mtime_ns == before
    assert list_runs(db.with_name("runs.sqlite")) is None or list_runs(db.with_name("runs.sqlite")).height == 0


def test_an_assessor_refreshes_and_sees_the_outcome(refresh_app) -> None:
    app, db = refresh_app
    client = _client(app, "assessor")
    r = _press(client)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "Refresh started" in r.get_data(as_text=True) or "Refresh finished" in r.get_data(as_text=True)
    deadline = time.monotonic() + 150
    body = ""
    while time.monotonic() < deadline:
        poll = _call(client, REFRESH, [("dq-refresh", "n_clicks", 1), ("dq-refresh-poll", "n_intervals", 1)],
                     [("dq-lang", "data", "en")], changed="dq-refresh-poll.n_intervals")
        body = poll.get_data(as_text=True)
        if "Refresh finished" in body or "Refresh failed" in body:
            break
        time.sleep(0.5)
    assert "Refresh finished" in body, body
    runs = list_runs(db.with_name("runs.sqlite"))
    assert runs is not None and runs.height == 1 and runs["trigger"][0] == "manual"
    assert runs["status"][0] == "succeeded"
    assert warehouse.query(db, "SELECT count(*) AS n FROM indicator_values")["n"][0] > 0
