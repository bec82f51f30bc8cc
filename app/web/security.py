"""Who may do what, per request: the current identity, `require` for Dash callbacks and Flask routes, and `may`.

What each role may do is the permissions table in etl/stores/roles.py; this module only asks it (`can`).
Enforcement is on the server: every state-changing callback or route calls `require`, which raises werkzeug's
Forbidden; Flask turns that into HTTP 403 for `/_dash-update-component` just like for a route, so a forged request
is refused whatever the browser shows. Hiding buttons is only a courtesy on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from flask import g, has_request_context
from werkzeug.exceptions import Forbidden

from etl.ingest.quarantine import for_viewer
from etl.stores.roles import Permission, can, label, labels, roles_with
from etl import safe_export
from indicators.units import Units


@dataclass(frozen=True)
class Identity:
    """The person behind a request: name, role, district (roles tied to one district only) and how they were
    identified."""

    name: str
    role: str
    district_code: str | None = None
    source: str = "login"  # login | proxy | demo

    def may(self, action: Permission | str) -> bool:
        return can(self.role, action)

    def label(self, lang: str = "zh") -> str:
        return label(self.role, lang)


def current_identity() -> Identity | None:
    """The identity the auth layer attached to this request (None outside a request or when nobody signed in)."""
    if not has_request_context():
        return None
    ident = g.get("govindex_identity")
    return ident if isinstance(ident, Identity) else None


class Refused(Forbidden):
    """The signed-in role may not do this (HTTP 403); the description names the role and what it may not do."""


def _refuse(action: Permission, ident: Identity | None) -> Refused:
    who = f"role {ident.role!r} ({ident.name})" if ident else "an anonymous request"
    allowed = ", ".join(roles_with(action))
    return Refused(f"{who} may not {action.replace('_', ' ')}; allowed roles: {allowed} · 无权限：{action}")


def require(action: Permission | str) -> Identity:
    """The current identity if it may do `action`, else raise Refused (403). Call at the top of a callback.

    An unknown action is a programming error: KeyError naming the known ones.
    """
    try:
        perm = Permission(action)
    except ValueError:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(Permission)}") from None
    ident = current_identity()
    if ident is None or not ident.may(perm):
        raise _refuse(perm, ident)
    return ident


def may(action: Permission | str) -> bool:
    """Whether the current request's identity may do `action` (for showing or hiding controls)."""
    ident = current_identity()
    return ident is not None and ident.may(action)


def visible_quarantine(frame: pl.DataFrame, units: Units | None, ident: Identity | None = None) -> pl.DataFrame:
    """Quarantined rows the identity may see: all for roles with ALL_QUARANTINE; the others only their own
    unit's rows and those of every unit under it in the unit table `units` (the snapshot's: a province's official
    sees its counties'; rows without a district are not theirs); nobody signed in sees none."""
    ident = ident if ident is not None else current_identity()
    if ident is None:
        return frame.clear()
    return for_viewer(frame, all_districts=ident.may(Permission.ALL_QUARANTINE), district_code=ident.district_code,
                      units=units)


def sees_unit(code: str, units: Units | None, ident: Identity | None = None) -> bool:
    """Whether the identity sees `code`'s own records (quarantined rows): every unit with ALL_QUARANTINE, else
    their own unit and, given the unit table `units`, every unit under it."""
    ident = ident if ident is not None else current_identity()
    if ident is None:
        return False
    if ident.may(Permission.ALL_QUARANTINE) or ident.district_code == code:
        return True
    return units is not None and ident.district_code is not None and units.within(ident.district_code, code)


# What each refused action would have done, as the end of "only <roles> can …".
_NOTES = {
    Permission.EDIT_WEIGHTS: ("保存权重方案", "save weight profiles"),
    Permission.PUBLISH_WEIGHTS: ("发布权重方案", "publish profiles"),
    Permission.PUBLISH_EDITION: ("发布评估版本", "publish assessment editions"),
    Permission.RUN_SENSITIVITY: ("运行敏感性分析", "run sensitivity analyses"),
    Permission.REFRESH: ("刷新数据", "refresh the data"),
    Permission.MANAGE_USERS: ("管理用户", "manage users"),
    Permission.SET_TARGETS: ("设定各区指标目标值", "set districts' targets"),
    Permission.EDIT_LEDGER: ("立项和更新整改事项", "open and update rectification items"),
    Permission.COMMENT_LEDGER: ("评论整改事项", "comment on rectification items"),
}


def refusal_note(action: Permission | str, lang: str) -> str:
    """Why a control is disabled for this role, in the page's language; the allowed roles come from the table."""
    what = _NOTES.get(Permission(action))
    allowed = roles_with(action)
    if what is None or not allowed:
        return "Your role may not do this." if lang == "en" else "您的角色无权执行此操作。"
    if lang == "en":
        return f"Only {labels(allowed, 'en')} can {what[1]}."
    return f"只有{labels(allowed, 'zh')}可以{what[0]}。"


# one shared neutraliser for every export (etl/safe_export.py); kept importable here for the pages
csv_safe = safe_export.csv_safe


def sees_published() -> bool:
    """Roles without SEE_CURRENT (leaders, district officials) see the published version of each profile; editors
    (and code running outside a request, e.g. start-up warming) see the current one."""
    ident = current_identity()
    return ident is not None and not ident.may(Permission.SEE_CURRENT)
