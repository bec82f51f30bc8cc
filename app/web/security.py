"""Who may do what: roles, permissions, the current identity, and `require_role` for Dash callbacks and Flask routes.

Enforcement is on the server: every state-changing callback or route calls `require_role` (or `require`), which
raises werkzeug's Forbidden; Flask turns that into HTTP 403 for `/_dash-update-component` just like for a route, so
a forged request is refused whatever the browser shows. Hiding buttons is only a courtesy on top.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl
from flask import g, has_request_context
from werkzeug.exceptions import Forbidden

from etl import safe_export
from etl.stores.users import ROLE_LABELS, ROLES

F = TypeVar("F", bound=Callable[..., Any])

LEADER, ASSESSOR, DISTRICT_OFFICIAL, ADMIN = ROLES
EDITORS = (ASSESSOR, ADMIN)
# action -> roles allowed. Viewing is open to every signed-in role; admin may do everything.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view": ROLES,
    "edit_weights": EDITORS,  # save a profile (a new version)
    "publish_weights": EDITORS,  # choose the version leaders see
    "run_sensitivity": EDITORS,  # start or cancel a sensitivity analysis
    "refresh": EDITORS,  # refresh now
    "manage_users": (ADMIN,),
    "all_quarantine": (LEADER, ASSESSOR, ADMIN),  # district officials see only their own district's rows
}


@dataclass(frozen=True)
class Identity:
    """The person behind a request: name, role, district (officials only) and how they were identified."""

    name: str
    role: str
    district_code: str | None = None
    source: str = "login"  # login | proxy | demo

    def may(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]

    def label(self, lang: str = "zh") -> str:
        zh, en = ROLE_LABELS.get(self.role, (self.role, self.role))
        return zh if lang == "zh" else en


def current_identity() -> Identity | None:
    """The identity the auth layer attached to this request (None outside a request or when nobody signed in)."""
    if not has_request_context():
        return None
    ident = g.get("govindex_identity")
    return ident if isinstance(ident, Identity) else None


class Refused(Forbidden):
    """The signed-in role may not do this (HTTP 403); the description names the role and what it may not do."""


def _refuse(action: str, ident: Identity | None) -> Refused:
    who = f"role {ident.role!r} ({ident.name})" if ident else "an anonymous request"
    allowed = ", ".join(PERMISSIONS.get(action, ()))
    return Refused(f"{who} may not {action.replace('_', ' ')}; allowed roles: {allowed} · 无权限：{action}")


def require(action: str) -> Identity:
    """The current identity if it may do `action`, else raise Refused (403). Call at the top of a callback."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(PERMISSIONS)}")
    ident = current_identity()
    if ident is None or not ident.may(action):
        raise _refuse(action, ident)
    return ident


def require_role(*roles: str) -> Callable[[F], F]:
    """Decorator for Dash callbacks and Flask views: only these roles (admin always) may call it, else HTTP 403.

    Put it under `@callback(...)`/`@route(...)` so the check runs on every request before the body.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"require_role needs known roles ({', '.join(ROLES)}), got {roles!r}")
    allowed = frozenset((*roles, ADMIN))

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ident = current_identity()
            if ident is None or ident.role not in allowed:
                who = f"role {ident.role!r}" if ident else "an anonymous request"
                raise Refused(f"{who} may not call {fn.__name__}; allowed roles: {', '.join(sorted(allowed))}")
            return fn(*args, **kwargs)

        wrapper.govindex_roles = allowed  # type: ignore[attr-defined]  # lets tests list guarded callbacks
        return wrapper  # type: ignore[return-value]

    return deco


def may(action: str) -> bool:
    """Whether the current request's identity may do `action` (for showing or hiding controls)."""
    ident = current_identity()
    return ident is not None and ident.may(action)


def visible_quarantine(frame: pl.DataFrame, ident: Identity | None = None) -> pl.DataFrame:
    """Quarantined rows the identity may see: all for leaders, assessors and admins; a district official only
    their own district's rows (rows without a district are not theirs); nobody signed in sees none."""
    ident = ident if ident is not None else current_identity()
    if ident is None:
        return frame.clear()
    if ident.may("all_quarantine"):
        return frame
    if "district_code" not in frame.columns or not ident.district_code:
        return frame.clear()
    return frame.filter(pl.col("district_code") == ident.district_code)


def guarded(callbacks: Iterable[Callable[..., Any]]) -> dict[str, frozenset[str]]:
    """{function name: allowed roles} of the callbacks decorated with require_role (for tests and docs)."""
    return {fn.__name__: fn.govindex_roles for fn in callbacks if hasattr(fn, "govindex_roles")}


_NOTES = {
    "edit_weights": ("只有评估人员和管理员可以保存权重方案。", "Only assessors and administrators can save weight profiles."),
    "publish_weights": ("只有评估人员和管理员可以发布权重方案。", "Only assessors and administrators can publish profiles."),
    "run_sensitivity": ("只有评估人员和管理员可以运行敏感性分析。",
                        "Only assessors and administrators can run sensitivity analyses."),
    "refresh": ("只有评估人员和管理员可以刷新数据。", "Only assessors and administrators can refresh the data."),
    "manage_users": ("只有管理员可以管理用户。", "Only administrators can manage users."),
}


def refusal_note(action: str, lang: str) -> str:
    """Why a control is disabled for this role, in the page's language."""
    zh, en = _NOTES.get(action, ("您的角色无权执行此操作。", "Your role may not do this."))
    return en if lang == "en" else zh


# one shared neutraliser for every export (etl/safe_export.py); kept importable here for the pages
csv_safe = safe_export.csv_safe


def sees_published() -> bool:
    """Leaders and district officials see the published version of each profile; editors (and code running
    outside a request, e.g. start-up warming) see the current one."""
    ident = current_identity()
    return ident is not None and ident.role in (LEADER, DISTRICT_OFFICIAL)
