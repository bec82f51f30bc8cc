"""Sign-in, sessions, CSRF, proxy headers, demo mode, security headers and error pages (Flask test client)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.web.auth import COOKIE
from app.web.auth_config import AuthConfigError, AuthSettings, resolve_auth
from etl.config import ConfigError, load_config
from etl.stores.users import add_user
from tests.app.conftest import app_config

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent / "govindex"
ORIGIN = {"Origin": "http://localhost"}
HTML = {"Accept": "text/html"}
PASSWORD = "correct horse 马"


@pytest.fixture()
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "ana", "assessor", PASSWORD)
    add_user(path, "lin", "leader", PASSWORD)
    return path


def _app(fixture_db: Path, weights_dir: Path, settings: AuthSettings):
    from app.server import create_app

    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=settings)
    return app


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def _login(client, name: str, password: str = PASSWORD, next_url: str = "/"):
    page = client.get("/login", headers=HTML)
    token = _csrf(page.get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": next_url},
                       headers=ORIGIN)


# -- mode resolution -----------------------------------------------------------------------------------------------
def _resolve(host: str, db: Path, env: dict[str, str] | None = None) -> AuthSettings:
    """Sign-in settings as `govindex serve` resolves them: from the one Config (GOVINDEX_* read by load_config)."""
    return resolve_auth(load_config(env=env or {}, overrides={"host": host, "db": str(db)}))


def test_resolve_auth_modes(tmp_path: Path, users_file: Path) -> None:
    db, nowhere = tmp_path / "w.duckdb", tmp_path / "none" / "w.duckdb"
    assert _resolve("127.0.0.1", nowhere).mode == "demo"
    assert _resolve("::1", nowhere).mode == "demo"
    with pytest.raises(AuthConfigError, match="refusing to serve on 0.0.0.0.*govindex user add"):
        _resolve("0.0.0.0", nowhere)
    with pytest.raises(AuthConfigError, match="refusing"):  # a host name other than localhost may be public
        _resolve("example.org", nowhere)
    public = {"GOVINDEX_ALLOWED_ORIGINS": "https://govindex.example.gov.cn"}
    assert _resolve("0.0.0.0", db, public).mode == "users"  # users.toml beside the warehouse
    assert _resolve("0.0.0.0", nowhere, {"GOVINDEX_USERS": str(users_file), **public}).users_file == users_file
    with pytest.raises(AuthConfigError, match="GOVINDEX_TRUSTED_PROXIES"):
        _resolve("0.0.0.0", db, {"GOVINDEX_AUTH": "proxy"})
    with pytest.raises(ConfigError, match="GOVINDEX_TRUSTED_PROXIES: .*not an IP address"):
        _resolve("0.0.0.0", db, {"GOVINDEX_AUTH": "proxy", "GOVINDEX_TRUSTED_PROXIES": "proxy.local"})
    s = _resolve("0.0.0.0", db, {"GOVINDEX_AUTH": "proxy", "GOVINDEX_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
                              **public})
    assert s.mode == "proxy" and len(s.trusted_proxies) == 2
    with pytest.raises(ConfigError, match="GOVINDEX_AUTH: .*'users', 'proxy' or 'demo'"):
        _resolve("127.0.0.1", db, {"GOVINDEX_AUTH": "ldap"})
    with pytest.raises(AuthConfigError, match="has no users"):
        _resolve("127.0.0.1", nowhere, {"GOVINDEX_AUTH": "users"})
    with pytest.raises(AuthConfigError, match="refusing"):  # an explicit demo is still loopback-only
        _resolve("0.0.0.0", nowhere, {"GOVINDEX_AUTH": "demo"})
    s = _resolve("127.0.0.1", nowhere, {"GOVINDEX_SECURE_COOKIES": "1", "GOVINDEX_MAX_UPLOAD_MB": "2",
                                        "GOVINDEX_ALLOWED_ORIGINS": "https://gov.example/, https://b.example"})
    assert s.secure_cookies and s.max_upload_bytes == 2 * 1024 * 1024
    assert s.allowed_origins == ("https://gov.example", "https://b.example")


def test_serve_on_all_interfaces_without_auth_refuses(tmp_path: Path) -> None:
    out = subprocess.run([str(BIN), "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "w.duckdb"), "--no-scheduler"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode != 0
    assert "refusing to serve on 0.0.0.0" in out.stderr and "govindex user add" in out.stderr
    assert "拒绝" in out.stderr


# -- demo mode -----------------------------------------------------------------------------------------------------
def test_demo_mode_banner_cookie_headers_and_role_switch(fixture_db: Path, weights_dir: Path) -> None:
    app = _app(fixture_db, weights_dir, AuthSettings(mode="demo"))
    client = app.server.test_client()
    r = client.get("/", headers=HTML)
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "演示模式" in body and "Demo mode" in body and 'data-role="admin"' in body
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    for header, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                          ("Referrer-Policy", "same-origin")):
        assert r.headers[header] == value
    policy = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "'sha256-" in policy and "'unsafe-inline'" not in policy.split(
        "style-src")[0]
    token = _csrf(body)
    # a forged switch without the token is refused; with it, the role changes for this session only
    assert client.post("/auth/demo-role", data={"role": "leader"}, headers=ORIGIN).status_code == 403
    r = client.post("/auth/demo-role", data={"role": "district_official", "district": "310115", "csrf_token": token},
                    headers={**ORIGIN, "Referer": "http://localhost/weights"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/weights")
    body = client.get("/", headers=HTML).get_data(as_text=True)
    assert 'data-role="district_official"' in body and "浦东新区" in body
    css = client.get("/auth/highlight.css").get_data(as_text=True)
    assert 'data-unit="310115"' in css
    other = app.server.test_client()
    assert 'data-role="admin"' in other.get("/", headers=HTML).get_data(as_text=True)


def test_state_changing_requests_need_our_origin(fixture_db: Path, weights_dir: Path) -> None:
    app = _app(fixture_db, weights_dir, AuthSettings(mode="demo"))
    client = app.server.test_client()
    client.get("/", headers=HTML)
    payload = {"output": "x.children", "outputs": {"id": "x", "property": "children"}, "inputs": [], "state": []}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                    {"Origin": "null"}):
        r = client.post("/_dash-update-component", json=payload, headers=headers)
        assert r.status_code == 403, headers
        assert "Traceback" not in r.get_data(as_text=True)
    r = client.post("/_dash-update-component", json=payload, headers={"Referer": "http://localhost/weights"})
    assert r.status_code != 403


# -- users mode ----------------------------------------------------------------------------------------------------
def test_sign_in_flow_sessions_and_sign_out(fixture_db: Path, weights_dir: Path, users_file: Path) -> None:
    app = _app(fixture_db, weights_dir, AuthSettings(mode="users", users_file=users_file))
    client = app.server.test_client()
    r = client.get("/weights?lang=en", headers=HTML)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/weights")
    assert client.get("/_dash-layout").status_code == 401
    page = client.get("/login", headers=HTML).get_data(as_text=True)
    assert page.index("用户名") < page.index("User name") and "登录" in page
    # a login form without our token (cross-site) is refused before any password check
    r = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": "x"}, headers=ORIGIN)
    assert r.status_code == 403
    r = _login(client, "ana", "wrong password")
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    assert _login(client, "nobody").status_code == 401
    r = _login(client, "ana", next_url="//evil.example/x")  # open redirect refused: only local paths
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = [c for c in r.headers.getlist("Set-Cookie") if c.startswith(COOKIE)][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    body = client.get("/", headers=HTML).get_data(as_text=True)
    assert "ana" in body and "评估人员" in body and "演示模式" not in body
    assert client.get("/_dash-layout").status_code == 200
    # sign-out needs the session's token
    assert client.post("/logout", data={"csrf_token": "nope"}, headers=ORIGIN).status_code == 403
    r = client.post("/logout", data={"csrf_token": _csrf(body)}, headers=ORIGIN)
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert client.get("/", headers=HTML).status_code == 302


def test_a_new_session_id_at_sign_in_and_removed_users_lose_it(fixture_db: Path, weights_dir: Path,
                                                               users_file: Path) -> None:
    from etl.stores.users import remove_user

    app = _app(fixture_db, weights_dir, AuthSettings(mode="users", users_file=users_file))
    client = app.server.test_client()
    client.set_cookie(COOKIE, "attacker-chosen-id")
    _login(client, "lin")
    assert client.get_cookie(COOKIE).value != "attacker-chosen-id"
    assert client.get("/_dash-layout").status_code == 200
    remove_user(users_file, "lin")
    assert client.get("/_dash-layout").status_code == 401


def test_repeated_failures_are_throttled(fixture_db: Path, weights_dir: Path, users_file: Path) -> None:
    app = _app(fixture_db, weights_dir, AuthSettings(mode="users", users_file=users_file, login_attempts=3))
    client = app.server.test_client()
    codes = [_login(client, "ana", "bad password").status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401] and codes[3] == 429
    assert _login(client, "ana").status_code == 429  # even the right password waits


# -- proxy mode ----------------------------------------------------------------------------------------------------
def test_proxy_headers_only_from_trusted_addresses(fixture_db: Path, weights_dir: Path) -> None:
    import ipaddress

    settings = AuthSettings(mode="proxy", trusted_proxies=(ipaddress.ip_network("10.1.2.3/32"),))
    app = _app(fixture_db, weights_dir, settings)
    client = app.server.test_client()
    who = {"X-Forwarded-User": "wang", "X-Forwarded-Role": "district_official", "X-Forwarded-District": "310104"}
    r = client.get("/", headers={**HTML, **who})  # from 127.0.0.1: not the proxy
    assert r.status_code == 403
    trusted = {"REMOTE_ADDR": "10.1.2.3"}
    r = client.get("/", headers={**HTML, **who}, environ_base=trusted)
    assert r.status_code == 200 and "wang" in r.get_data(as_text=True) and "徐汇区" in r.get_data(as_text=True)
    bad = {**who, "X-Forwarded-Role": "superuser"}
    assert client.get("/", headers={**HTML, **bad}, environ_base=trusted).status_code == 401
    nodistrict = {**who, "X-Forwarded-District": ""}
    assert client.get("/", headers={**HTML, **nodistrict}, environ_base=trusted).status_code == 401


# -- errors --------------------------------------------------------------------------------------------------------
def test_errors_show_a_message_never_a_traceback(fixture_db: Path, weights_dir: Path) -> None:
    app = _app(fixture_db, weights_dir, AuthSettings(mode="demo", max_upload_bytes=1024))

    def boom() -> str:
        raise RuntimeError("secret internal detail")

    app.server.add_url_rule("/boom", "boom", boom)
    client = app.server.test_client()
    r = client.get("/boom", headers=HTML)
    text = r.get_data(as_text=True)
    assert r.status_code == 500 and "服务器内部错误" in text and "secret internal detail" not in text
    assert "Traceback" not in text
    r = client.post("/_dash-update-component", data=b"x" * 4096, headers={**ORIGIN, "Content-Type": "application/json"})
    assert r.status_code == 413 and "过大" in r.get_data(as_text=True)
