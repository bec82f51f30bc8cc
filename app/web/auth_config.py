"""How requests are identified, resolved from the configuration before the server binds: the sign-in mode (users,
proxy, loopback-only demo), trusted proxies, and the host names and origins this server answers to."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from etl.config import Config
from etl.stores.roles import DEMO_ROLE
from etl.stores.users import UserError, load_users

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
USER_HEADER, ROLE_HEADER, DISTRICT_HEADER = "X-Forwarded-User", "X-Forwarded-Role", "X-Forwarded-District"


class AuthConfigError(RuntimeError):
    """Authentication is not configured well enough to serve on this address; the message says what to do."""


@dataclass(frozen=True)
class AuthSettings:
    """How requests are identified (see the module docstring); built by `resolve_auth`."""

    mode: str
    users_file: Path | None = None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    demo_role: str = DEMO_ROLE  # the demo starts with every power so the whole app can be tried; switch to see less
    idle_seconds: int = 8 * 3600
    max_seconds: int = 24 * 3600
    max_sessions: int = 10_000
    secure_cookies: bool = False  # force the Secure flag (else it is set when the request arrived over HTTPS)
    allowed_origins: tuple[str, ...] = ()  # extra origins allowed to POST (e.g. the public name behind a proxy)
    max_upload_bytes: int = 16 * 1024 * 1024
    login_attempts: int = 5  # failures per (address, name) before a growing pause
    address_attempts: int = 20  # failures per address, across names, before a growing pause
    # Host header values (host[:port], lower case) this server answers to; () = loopback names on any port (tests,
    # the demo built without a port). Built by `resolve_auth` from the bind and the configured public origins.
    allowed_hosts: tuple[str, ...] = ()
    # The warehouse whose unit table names the units officials belong to (etl.warehouse.units), and the deployer's
    # unit-code pattern ([units] code_pattern; None: GB/T 2260).
    warehouse: Path | None = None
    code_pattern: str | None = None


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: treat as reachable from outside


HOSTLIKE = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def host_of(origin: str) -> str:
    """'https://Gov.Example.cn:443/' -> 'gov.example.cn' (default ports dropped), the form Host is compared in."""
    parts = urlsplit(origin if "://" in origin else f"http://{origin}")
    host, port = (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


def allowed_hosts_for(host: str, port: int | None, mode: str, origins: tuple[str, ...]) -> tuple[str, ...]:
    """The Host values to answer: loopback names on the bound port in demo mode; otherwise the configured public
    origins, plus the bound address itself when it is one address (not 0.0.0.0 / ::) and loopback names when it is
    a loopback address. Never whatever Host a request brings (DNS rebinding)."""
    hosts: list[str] = []
    suffix = f":{port}" if port else ""
    if mode == "demo":  # without a port (not bound by `serve`): the loopback names on any port, see AuthSettings
        return tuple(f"{name}{suffix}" for name in LOOPBACK_NAMES) if port else ()
    hosts.extend(host_of(o) for o in origins)
    bound = host.strip().lower()
    if is_loopback(bound):
        hosts.extend(f"{name}{suffix}" for name in LOOPBACK_NAMES)
    elif bound not in ("0.0.0.0", "::", "[::]", ""):
        hosts.append(host_of(bound) + suffix if ":" not in bound else f"[{bound.strip('[]')}]{suffix}")
    return tuple(dict.fromkeys(hosts))


def resolve_auth(config: Config) -> AuthSettings:
    """The authentication mode for serving on `config.server.host`, from the configuration's [auth] and [users]
    sections (GOVINDEX_AUTH, GOVINDEX_TRUSTED_PROXIES, ..., GOVINDEX_USERS), or AuthConfigError explaining the
    refusal."""
    host, port, cfg, path = config.server.host, config.server.port, config.auth, config.users_path
    common: dict[str, Any] = {
        "secure_cookies": cfg.secure_cookies,
        "allowed_origins": cfg.allowed_origins,
        "max_upload_bytes": int(cfg.max_upload_mb * 1024 * 1024),
        "warehouse": config.paths.db,
        "code_pattern": config.units.code_pattern,
    }
    wanted = cfg.mode
    if wanted == "proxy":
        proxies = tuple(ipaddress.ip_network(p, strict=False) for p in cfg.trusted_proxies)  # checked by Config
        if not proxies:
            raise AuthConfigError("GOVINDEX_AUTH=proxy needs GOVINDEX_TRUSTED_PROXIES (auth.trusted_proxies): the "
                                  f"address(es) of the reverse proxy whose {USER_HEADER}/{ROLE_HEADER} headers are to "
                                  "be believed (e.g. 127.0.0.1)")
        return AuthSettings(mode="proxy", trusted_proxies=proxies,
                            allowed_hosts=_public_hosts(host, port, "proxy", common["allowed_origins"]), **common)
    try:
        users = load_users(path)
    except UserError as e:
        raise AuthConfigError(f"cannot read the users file: {e}") from None
    if wanted == "users" or (wanted is None and users):
        if not users:
            raise AuthConfigError(f"GOVINDEX_AUTH=users but {path} has no users: add one with "
                                  "`govindex user add NAME --role admin` (or set GOVINDEX_AUTH=proxy)")
        # behind a reverse proxy, its X-Forwarded-For names the client (for sign-in throttling); believed only
        # from the auth.trusted_proxies addresses
        return AuthSettings(mode="users", users_file=path,
                            trusted_proxies=tuple(ipaddress.ip_network(p, strict=False) for p in cfg.trusted_proxies),
                            allowed_hosts=_public_hosts(host, port, "users", common["allowed_origins"]), **common)
    if not is_loopback(host):
        raise AuthConfigError(
            f"refusing to serve on {host}: no authentication is configured, and the demo mode (anyone may act as any "
            f"role) is only allowed on a loopback address such as 127.0.0.1. To serve on {host}, either add users "
            f"with `govindex user add NAME --role admin` (users file: {path}; GOVINDEX_USERS sets another), or run "
            "behind a single-sign-on proxy with GOVINDEX_AUTH=proxy and GOVINDEX_TRUSTED_PROXIES=<proxy address>. "
            f"拒绝在 {host} 上启动：未配置身份认证，演示模式只允许在本机地址（127.0.0.1）运行。"
        )
    return AuthSettings(mode="demo", users_file=path,
                        allowed_hosts=allowed_hosts_for(host, port, "demo", common["allowed_origins"]), **common)


def _public_hosts(host: str, port: int | None, mode: str, origins: tuple[str, ...]) -> tuple[str, ...]:
    hosts = allowed_hosts_for(host, port, mode, origins)
    if not hosts:
        raise AuthConfigError(
            f"serving on {host} in {mode} mode needs the public origin(s) people open the app at, so that requests "
            "naming any other host are refused: set auth.allowed_origins (GOVINDEX_ALLOWED_ORIGINS), e.g. "
            "GOVINDEX_ALLOWED_ORIGINS=https://govindex.example.gov.cn "
            "（请设置 GOVINDEX_ALLOWED_ORIGINS：用户访问本应用所用的公开地址）")
    return hosts


def demo_settings() -> AuthSettings:
    return AuthSettings(mode="demo")
