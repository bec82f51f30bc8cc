"""Sign-in for the Dash app's Flask server: users file, trusted proxy headers or a loopback-only demo mode.

Modes (chosen by `resolve_auth` from the configuration's [auth] section — GOVINDEX_AUTH — and the users file, before
the server binds):
- users: people sign in on /login against the users file (salted scrypt hashes, etl/stores/users.py).
- proxy: a reverse proxy doing single sign-on sets X-Forwarded-User, X-Forwarded-Role (and X-Forwarded-District
  for district officials); the headers are believed only from auth.trusted_proxies (GOVINDEX_TRUSTED_PROXIES)
  addresses, all else is 403.
- demo: no users file and a loopback bind: no sign-in, a labelled banner with a role switcher (演示模式).
  Binding anywhere else without users or proxy refuses to start (AuthConfigError says why and what to do).

Sessions are server-side: the browser holds only an opaque random id (32 bytes, `secrets`) in an HttpOnly,
SameSite=Strict cookie (Secure over HTTPS); the store is an in-process dict keyed by the id's sha256, with an idle
and an absolute expiry and a size bound. The app runs in one waitress process, so an in-process store is enough;
the cost is that a restart signs everyone out, which we accept (nothing is lost but the sign-in).

CSRF: every state-changing request (any method but GET/HEAD/OPTIONS, i.e. Dash's POSTs to /_dash-update-component
as well as the forms) must come from our own origin: the Origin header (sent by browsers on every fetch POST), or
failing that the Referer, must equal this server's origin. A cross-site page can neither forge Origin nor read our
responses, and the SameSite=Strict cookie is not even sent with a cross-site request, so the two layers together
stop cross-site writes. The HTML forms (login, logout, demo role switch) also carry a token (double-submit cookie
before sign-in, the session's token after), compared in constant time.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import flask
from flask import Flask, g, make_response, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WResponse  # what flask.redirect returns (flask.Response's base)

from app.web.auth_config import (
    DISTRICT_HEADER, HOSTLIKE, LOOPBACK_NAMES, ROLE_HEADER, USER_HEADER, AuthSettings, demo_settings, host_of,
)
from app.web import unit_picker
from app.web.headers import install_headers
from app.web.security import Identity
from app.web.sessions import Session, SessionStore, Throttle
from etl.warehouse.units import units_at
from indicators.units import Units
from etl.stores.roles import Permission, can, is_role
from etl.stores.users import ROLE_LABELS, ROLES, UserError, authenticate, check_role, load_users

log = logging.getLogger("govindex.auth")

COOKIE, LOGIN_CSRF_COOKIE = "govindex_session", "govindex_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Static code and styles carry no data: served without sign-in so the login page can use the app's stylesheet.
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")  # folders: a prefix ends with "/"
PUBLIC_FILES = frozenset({"/_favicon.ico"})  # single files: exact paths only ("/_favicon.icox" is not public)
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/readyz"})
PROBE_PATHS = frozenset({"/healthz", "/readyz"})  # health probes: answered to any Host name (app/web/health.py)
DASH_UPDATE = "/_dash-update-component"
DEMO_DISTRICT = "310104"  # 徐汇区: the district a demo district official gets unless another is chosen


def units_of(settings: AuthSettings) -> Units | None:
    """The warehouse's unit table (None before the first refresh): the demo picker groups by it."""
    return units_at(settings.warehouse) if settings.warehouse is not None else None


def unit_names(settings: AuthSettings) -> dict[str, tuple[str, str]]:
    """code → (Chinese, English) of every unit of the warehouse's unit table ({} before the first refresh)."""
    units = units_at(settings.warehouse) if settings.warehouse is not None else None
    return units.name_pairs() if units is not None else {}


def _first(names: Mapping[str, tuple[str, str]], default: str, units: Units | None = None) -> str:
    """The demo official's unit: `default` (徐汇区) when it is a unit, else the first unit with none under it in
    `units` (a county-level unit of a cut-down national demo, not its first province), else the first unit."""
    if default in names or not names:
        return default
    if units is not None:
        leaf = next((code for code in names if code in units and not units.children(code)), None)
        if leaf is not None:
            return leaf
    return next(iter(names))


def _dash_body_ok(body: Any) -> bool:
    """The shape Dash's dispatcher reads from a callback request; anything else is a 400, not a 500 traceback."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    if not isinstance(body.get("outputs"), (dict, list)):
        return False
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list):
            return False
        for item in items:  # an input is {id, property, value} or, for a pattern (ALL), a list of them
            for one in item if isinstance(item, list) else [item]:
                if not isinstance(one, dict) or "id" not in one or not isinstance(one.get("property"), str):
                    return False
    changed = body.get("changedPropIds", [])
    return isinstance(changed, list) and all(isinstance(c, str) for c in changed)


# -- pages ---------------------------------------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title_zh: str, title_en: str, body: str, status: int = 200) -> flask.Response:
    """A small bilingual (Chinese first) page outside Dash, styled by /assets/auth.css, no inline script or style."""
    doc = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title_zh)} · {_e(title_en)} — 一网通办用户中心绩效指数</title>
<link rel="stylesheet" href="/assets/auth.css"></head>
<body class="auth-page"><main class="auth-card">
<p class="auth-brand">一网通办用户中心绩效指数 · govindex</p>
<h1>{_e(title_zh)} <span class="en">{_e(title_en)}</span></h1>
{body}
</main></body></html>"""
    resp = make_response(doc, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def error_page(status: int, zh: str, en: str) -> flask.Response:
    body = (f'<p class="auth-msg">{_e(zh)}</p><p class="auth-msg en">{_e(en)}</p>'
            '<p><a href="/">返回首页 · Back to the overview</a></p>')
    return page(f"出错了（{status}）", f"Something went wrong ({status})", body, status)


def _safe_next(target: str | None) -> str:
    """Only a local path: never another host (no scheme, no '//' or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _login_form(csrf: str, next_url: str, name: str = "", message: str = "") -> str:
    msg = f'<p class="auth-error" role="alert">{message}</p>' if message else ""
    return f"""{msg}<form method="post" action="/login" class="auth-form">
<input type="hidden" name="csrf_token" value="{_e(csrf)}"><input type="hidden" name="next" value="{_e(next_url)}">
<label for="username">用户名 <span class="en">User name</span></label>
<input id="username" name="username" autocomplete="username" required maxlength="63" value="{_e(name)}" autofocus>
<label for="password">密码 <span class="en">Password</span></label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">登录 <span class="en">Sign in</span></button></form>"""


def _role_options(selected: str) -> str:
    return "".join(f'<option value="{r}"{" selected" if r == selected else ""}>{ROLE_LABELS[r][0]} · '
                   f'{ROLE_LABELS[r][1]}</option>' for r in ROLES)


def auth_bar(ident: Identity | None, sess: Session | None, mode: str,
             names: Mapping[str, tuple[str, str]] | None = None, units: Units | None = None) -> str:
    """The strip above the app: the demo banner with a role switcher, or who is signed in with a sign-out button.
    `names`: code → (Chinese, English) of the units (the unit table; etl.warehouse.units); `units`: that table as
    a hierarchy, for the picker at national scale (app.web.unit_picker)."""
    if ident is None:
        return ""
    names = names or {}
    zh, en = ROLE_LABELS.get(ident.role, (ident.role, ident.role))
    where = ""
    if ident.district_code:
        dzh, den = names.get(ident.district_code, (ident.district_code, ident.district_code))
        where = f' · <span class="auth-district">{_e(dzh)} {_e(den)}</span>'
    highlight = (f'<link rel="stylesheet" href="/auth/highlight.css?d={_e(ident.district_code)}">'
                 if ident.district_code else "")
    token = _e(sess.csrf) if sess else ""
    if mode == "demo":  # at national scale an official's unit is a county or a province, not a 区 (district)
        unit_label = "单位 Unit" if unit_picker.is_large(names, units) else "区 District"
        return f"""{highlight}<div class="auth-bar demo" role="region" aria-label="演示模式 demo mode">
<strong class="demo-label">演示模式 · Demo mode</strong>
<span class="auth-note">无需登录，仅限本机；可切换角色查看不同权限 · no sign-in, this computer only; switch role to try each</span>
<form method="post" action="/auth/demo-role" class="auth-inline">
<input type="hidden" name="csrf_token" value="{token}">
<label for="demo-role">角色 Role</label><select id="demo-role" name="role">{_role_options(ident.role)}</select>
<label for="demo-district">{_e(unit_label)}</label><select id="demo-district" name="district">
{unit_picker.options(ident.district_code or _first(names, DEMO_DISTRICT, units), names, units)}</select>
{unit_picker.search_field(names, units)}
<button type="submit">切换 Switch</button></form>
<span class="auth-who" data-role="{_e(ident.role)}">{_e(zh)} · {_e(en)}{where}</span></div>"""
    logout = ""
    if mode == "users":
        logout = (f'<form method="post" action="/logout" class="auth-inline"><input type="hidden" name="csrf_token" '
                  f'value="{token}"><button type="submit">退出 Sign out</button></form>')
    return f"""{highlight}<div class="auth-bar" role="region" aria-label="当前用户 signed in">
<span class="auth-who" data-role="{_e(ident.role)}">{_e(ident.name)} · {_e(zh)} {_e(en)}{where}</span>{logout}</div>"""


# -- the Flask layer -----------------------------------------------------------------------------------------------
class Auth:
    """Installed on a Flask server by `install_auth`; holds the settings, sessions and sign-in throttle."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self.sessions = SessionStore(settings.idle_seconds, settings.max_seconds, settings.max_sessions)
        self.throttle = Throttle(settings.login_attempts)  # per (client address, name)
        self.address_throttle = Throttle(settings.address_attempts)  # per client address, across names
        self._users_key: tuple[float, int] | None = None
        self._users: dict[str, Any] = {}
        self._users_lock = threading.Lock()

    # users file, re-read when it changes (a removed user's sessions end at their next request)
    def users(self) -> dict[str, Any]:
        path = self.settings.users_file
        if path is None:
            return {}
        try:
            st = path.stat()
            key = (st.st_mtime, st.st_size)
        except FileNotFoundError:
            return {}
        if key != self._users_key:
            with self._users_lock:
                try:
                    self._users = load_users(path)
                except UserError as e:  # a broken file signs nobody in rather than crashing every request
                    log.error("users file unreadable: %s", e)
                    self._users = {}
                self._users_key = key
        return self._users

    # -- origin check ---------------------------------------------------------------------------------------------
    def known_host(self, netloc: str) -> bool:
        """Whether `netloc` (a Host header, or an Origin's host[:port]) is one this server answers to.

        From configuration only (`AuthSettings.allowed_hosts`), never from the request itself: comparing Origin
        with the request's own Host let a DNS-rebinding page (Host and Origin both evil.example) pass."""
        if not HOSTLIKE.fullmatch(netloc.split("://", 1)[-1]):  # no user@, paths or odd characters in a Host
            return False
        try:
            got = host_of(netloc)
        except ValueError:  # a malformed port
            return False
        allowed = self.settings.allowed_hosts
        if allowed:
            return got in allowed
        host = got.rsplit(":", 1)[0] if not got.endswith("]") else got
        return host in LOOPBACK_NAMES

    def same_origin(self) -> bool:
        origin = request.headers.get("Origin")
        if not origin or origin == "null":
            origin = request.headers.get("Referer")
            if not origin:
                return False  # a state-changing request with neither header is not from our pages
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        if f"{parts.scheme}://{parts.netloc}".rstrip("/") in self.settings.allowed_origins:
            return True
        return self.known_host(f"{parts.scheme}://{parts.netloc}")

    # -- identity -------------------------------------------------------------------------------------------------
    def _proxy_identity(self) -> Identity | flask.Response:
        try:
            addr = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            addr = None
        if addr is None or not any(addr in net for net in self.settings.trusted_proxies):
            log.warning("refused request from %s: not a trusted proxy", request.remote_addr)
            return error_page(403, "请求未经受信任的代理转发，拒绝访问。",
                              "This request did not come through the trusted sign-on proxy.")
        name = (request.headers.get(USER_HEADER) or "").strip()
        role = (request.headers.get(ROLE_HEADER) or "").strip()
        district = (request.headers.get(DISTRICT_HEADER) or "").strip() or None
        try:
            if not name or len(name) > 128:
                raise UserError(f"the proxy sent no usable {USER_HEADER} header")
            known = unit_names(self.settings)
            role, district = check_role(role, district, tuple(known) or None, self.settings.code_pattern)
        except UserError as e:
            return error_page(401, "代理未提供有效的用户身份。", f"The sign-on proxy did not identify you: {e}")
        return Identity(name=name, role=role, district_code=district, source="proxy")

    def _wants_html(self) -> bool:
        return request.method == "GET" and "text/html" in (request.headers.get("Accept") or "")

    def client_address(self) -> str:
        """The client's address: the peer, or, when the peer is a trusted proxy, the last X-Forwarded-For hop that
        is not one (so one client behind the proxy cannot pass for, or throttle, everyone behind it)."""
        peer = request.remote_addr or "?"
        hops = [h.strip() for h in (request.headers.get("X-Forwarded-For") or "").split(",") if h.strip()]
        addr = peer
        while hops and self._trusted(addr):
            addr = hops.pop()
        return addr[:64]

    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in self.settings.trusted_proxies)

    def before_request(self) -> WResponse | None:
        path = request.path
        if path not in PROBE_PATHS and not self.known_host(f"{request.scheme}://{request.host}"):
            log.warning("refused %s %s for unknown Host %r", request.method, path, request.host)
            return error_page(421, "未知的主机名，请求被拒绝。",
                              "Misdirected request: this server does not answer to that host name.")
        if path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_FILES:
            return None
        if request.method not in SAFE_METHODS and not self.same_origin():
            log.warning("refused cross-origin %s %s (Origin %r, Referer %r)", request.method, path,
                        request.headers.get("Origin"), request.headers.get("Referer"))
            return error_page(403, "跨站请求被拒绝（来源不符）。",
                              "Cross-site request refused: it did not come from this site's own pages.")
        if path in PUBLIC_PATHS:
            return None
        if path == DASH_UPDATE and request.method == "POST" and not _dash_body_ok(request.get_json(silent=True)):
            return error_page(400, "请求内容格式不正确。", "The callback request is malformed.")
        mode = self.settings.mode
        sid = request.cookies.get(COOKIE)
        if mode == "proxy":
            ident = self._proxy_identity()
            if isinstance(ident, flask.Response):
                return ident
            g.govindex_identity, g.govindex_session = ident, None
            return None
        sess = self.sessions.get(sid)
        if mode == "users" and sess is not None:
            user = self.users().get(sess.identity.name)  # removed or changed users lose their session at once
            if user is None or user.role != sess.identity.role or user.district_code != sess.identity.district_code:
                self.sessions.drop(sid)
                sess = None
        if sess is None and mode == "demo":
            sid, sess = self.sessions.create(Identity(name="demo", role=self.settings.demo_role, source="demo"))
            g.govindex_new_sid = sid
        if sess is None:
            if self._wants_html():
                return redirect("/login?next=" + quote(_safe_next(request.full_path.rstrip("?")), safe="/?=&"))
            return error_page(401, "请先登录。", "Please sign in first.")
        g.govindex_identity, g.govindex_session = sess.identity, sess
        return None

    def after_request(self, resp: flask.Response) -> flask.Response:
        sid = g.pop("govindex_new_sid", None)
        if sid:
            self.set_cookie(resp, sid)
        return resp

    def set_cookie(self, resp: WResponse, sid: str) -> None:
        resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/",
                        secure=self.settings.secure_cookies or request.is_secure,
                        max_age=self.settings.max_seconds)

    # -- routes ---------------------------------------------------------------------------------------------------
    def login(self) -> WResponse:
        if self.settings.mode != "users":
            return redirect("/")
        next_url = _safe_next(request.values.get("next"))
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        if request.method == "GET":
            token = token if 20 <= len(token) <= 128 else secrets.token_urlsafe(32)
            return self._login_page(token, next_url)
        form_token = request.form.get("csrf_token", "")
        if not token or not hmac.compare_digest(token.encode(), form_token.encode()):
            return error_page(403, "登录表单已过期，请刷新后重试。",
                              "The sign-in form expired or was not ours: reload the page and try again.")
        name = request.form.get("username", "").strip()[:63]
        password = request.form.get("password", "")[:1024]
        addr = self.client_address()
        key = (addr, name)
        wait = max(self.throttle.wait_seconds(key), self.address_throttle.wait_seconds((addr, "")))
        if wait > 0:
            return self._login_page(token, next_url, name, f"尝试次数过多，请 {wait:.0f} 秒后再试。"
                                    f'<br><span class="en">Too many attempts: try again in {wait:.0f} s.</span>', 429)
        user = authenticate(self.settings.users_file, name, password) if self.settings.users_file else None
        if user is None:
            self.throttle.failed(key)
            self.address_throttle.failed((addr, ""))
            log.info("failed sign-in for %r from %s", name, addr)
            return self._login_page(token, next_url, name, "用户名或密码错误。"
                                    '<br><span class="en">Wrong user name or password.</span>', 401)
        self.throttle.succeeded(key)
        self.sessions.drop(request.cookies.get(COOKIE))  # a fresh id at sign-in: no session fixation
        sid, _ = self.sessions.create(Identity(name=user.name, role=user.role, district_code=user.district_code))
        log.info("%s signed in (%s)", user.name, user.role)
        resp = redirect(next_url)
        self.set_cookie(resp, sid)
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return resp

    def _login_page(self, token: str, next_url: str, name: str = "", message: str = "",
                    status: int = 200) -> flask.Response:
        resp = page("登录", "Sign in", _login_form(token, next_url, name, message), status)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/login",
                        secure=self.settings.secure_cookies or request.is_secure)
        return resp

    def _check_form_token(self) -> flask.Response | None:
        sess: Session | None = g.get("govindex_session")
        given = request.form.get("csrf_token", "")
        if sess is None or not hmac.compare_digest(sess.csrf.encode(), given.encode()):
            return error_page(403, "表单已过期，请刷新后重试。", "The form expired: reload the page and try again.")
        return None

    def logout(self) -> WResponse:
        bad = self._check_form_token()
        if bad is not None:
            return bad
        self.sessions.drop(request.cookies.get(COOKIE))
        resp = redirect("/login" if self.settings.mode == "users" else "/")
        resp.delete_cookie(COOKIE, path="/")
        return resp

    def demo_role(self) -> WResponse:
        if self.settings.mode != "demo":
            return error_page(404, "仅演示模式可切换角色。", "Roles can be switched in demo mode only.")
        bad = self._check_form_token()
        if bad is not None:
            return bad
        role = request.form.get("role", "")
        tied = is_role(role) and not can(role, Permission.ALL_DISTRICTS)  # a role tied to one district
        district = request.form.get("district") if tied else None
        query = (request.form.get("unit_q") or "").strip()[:40]
        if tied and query:  # the picker's search at national scale: one match switches, several are listed
            names, units = unit_names(self.settings), units_of(self.settings)
            found = unit_picker.find(query, names)
            if len(found) != 1:
                sess_: Session = g.govindex_session
                return page("选择单位", "Pick a unit",
                            unit_picker.matches_body(query, found, role, sess_.csrf, names, units,
                                                     _safe_next(urlsplit(request.referrer or "/").path)),
                            200 if found else 404)
            district = found[0]
        try:
            names = unit_names(self.settings)
            default = _first(names, DEMO_DISTRICT, units_of(self.settings)) if tied else None
            role, district = check_role(role, district or default, tuple(names) or None, self.settings.code_pattern)
        except UserError as e:
            return error_page(400, "无效的角色或区。", str(e))
        sess: Session = g.govindex_session
        sess.identity = replace(sess.identity, role=role, district_code=district)
        back = urlsplit(request.referrer or "/")  # the same page with its query (?lang=en, profile, period)
        if request.form.get("next"):  # from the picker's page of matches: the page the search was made on
            return redirect(_safe_next(request.form.get("next")))
        return redirect(_safe_next(back.path + (f"?{back.query}" if back.query else "")) or "/")

    def highlight_css(self) -> flask.Response:
        ident: Identity | None = g.get("govindex_identity")
        code = ident.district_code if ident and ident.district_code in unit_names(self.settings) else None
        css = ""
        if code:  # a known code only: nothing from the request reaches the stylesheet
            css = (f'.rank-item[data-unit="{code}"], [data-unit="{code}"] {{ background: #fff4d6; '
                   f'outline: 2px solid #f5b041; font-weight: 700; }}\n')
        resp = make_response(css)
        resp.headers["Content-Type"] = "text/css; charset=utf-8"
        resp.headers["Cache-Control"] = "private, no-store"
        return resp


def install_auth(app: Any, settings: AuthSettings | None = None) -> Auth:
    """Attach sign-in, sessions, CSRF checks and the auth bar to a Dash app (or a bare Flask app)."""
    settings = settings or demo_settings()
    server: Flask = app.server if hasattr(app, "server") else app
    auth = Auth(settings)
    server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    server.before_request(auth.before_request)
    server.after_request(auth.after_request)
    server.add_url_rule("/login", "govindex_login", auth.login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "govindex_logout", auth.logout, methods=["POST"])
    server.add_url_rule("/auth/demo-role", "govindex_demo_role", auth.demo_role, methods=["POST"])
    server.add_url_rule("/auth/highlight.css", "govindex_highlight", auth.highlight_css, methods=["GET"])
    server.extensions["govindex_auth"] = auth
    if hasattr(app, "interpolate_index"):  # the auth bar goes right after <body> of Dash's index page
        original = app.interpolate_index

        def interpolate_index(**kwargs: Any) -> str:
            index = original(**kwargs)
            bar = auth_bar(g.get("govindex_identity"), g.get("govindex_session"), settings.mode, unit_names(settings),
                           units_of(settings))
            return index.replace("<body>", "<body>\n" + bar, 1) if bar else index

        app.interpolate_index = interpolate_index
    install_headers(app, hsts=settings.secure_cookies)
    _install_error_pages(server)
    return auth


def get_auth(server: Flask) -> Auth | None:
    return server.extensions.get("govindex_auth")


def _install_error_pages(server: Flask) -> None:
    """Messages, never tracebacks: HTTP errors get a bilingual page, anything unexpected is logged and shown as 500."""
    texts = {
        400: ("请求无效。", "The request was not understood."),
        401: ("请先登录。", "Please sign in first."),
        403: ("您的角色无权执行此操作。", "Your role may not do this."),
        404: ("页面不存在。", "There is no such page."),
        405: ("不支持此请求方式。", "This request method is not allowed here."),
        413: ("上传的文件过大。", "The upload is too large."),
        429: ("请求过于频繁，请稍后再试。", "Too many requests: try again shortly."),
    }

    def _dash_request() -> bool:
        return request.path.startswith("/_dash-")

    @server.errorhandler(HTTPException)
    def _http_error(e: HTTPException) -> Any:
        code = e.code or 500
        zh, en = texts.get(code, ("请求失败。", "The request failed."))
        if code == 403 and e.description:
            en = f"{en} ({e.description})"
        if _dash_request():
            return flask.Response(f"{zh} {en}", status=code, mimetype="text/plain")
        return error_page(code, zh, en)

    @server.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        if isinstance(e, HTTPException):  # pragma: no cover - routed to _http_error by Flask
            return _http_error(e)
        log.exception("unexpected error on %s %s", request.method, request.path)
        zh, en = "服务器内部错误，已记录，请稍后重试。", "An internal error occurred; it has been logged. Please try again."
        if _dash_request():
            return flask.Response(f"{zh} {en}", status=500, mimetype="text/plain")
        return error_page(500, zh, en)
