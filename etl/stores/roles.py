"""Roles and what each may do: the `Role` enum and ONE permissions table; everything else asks `can(role, X)`.

Adding a role is one row in `ROLE_TABLE` (and a member of `Role`): the users file, the CLI's `--role` choices, the
sign-in pages, the server-side checks, the refusal notes and the quarantine filter all read this table. No code
outside this module compares a role with a literal name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The roles a user can have (the value is what the users file and the session store)."""

    LEADER = "leader"
    ASSESSOR = "assessor"
    DISTRICT_OFFICIAL = "district_official"
    ADMIN = "admin"


class Permission(StrEnum):
    """What a role may do (or, for the last three, how it sees the data)."""

    VIEW = "view"  # the pages and downloads
    EDIT_WEIGHTS = "edit_weights"  # save a profile (a new version)
    PUBLISH_WEIGHTS = "publish_weights"  # choose the version leaders see
    PUBLISH_EDITION = "publish_edition"  # publish an assessment edition (makes it the year's result, immutable)
    RUN_SENSITIVITY = "run_sensitivity"  # start or cancel a sensitivity analysis
    REFRESH = "refresh"  # refresh now
    MANAGE_USERS = "manage_users"
    ALL_QUARANTINE = "all_quarantine"  # every district's quarantined rows (else only the role's own district's)
    SEE_CURRENT = "see_current"  # the current version of each profile (else the published one)
    ALL_DISTRICTS = "all_districts"  # not tied to one district (else the user needs a district code)
    SET_TARGETS = "set_targets"  # set a district's target (目标值) for an indicator and cycle, with a reason
    EDIT_LEDGER = "edit_ledger"  # open and update rectification items (整改台账) — only of the user's own district
    COMMENT_LEDGER = "comment_ledger"  # comment on rectification items (of the user's district, or all districts)


@dataclass(frozen=True)
class RoleSpec:
    """One row of the table: the role's names for people and what it may do."""

    label_zh: str
    label_en: str
    label_en_plural: str
    permissions: frozenset[Permission]


_P = Permission
_VIEWER = frozenset({_P.VIEW, _P.ALL_DISTRICTS})
_EDITOR = frozenset({_P.VIEW, _P.ALL_DISTRICTS, _P.EDIT_WEIGHTS, _P.PUBLISH_WEIGHTS, _P.PUBLISH_EDITION, _P.RUN_SENSITIVITY, _P.REFRESH,
                     _P.ALL_QUARANTINE, _P.SEE_CURRENT})

# The permissions table. Order matters only for display (CLI choices, the demo role switcher).
ROLE_TABLE: dict[str, RoleSpec] = {
    Role.LEADER: RoleSpec("领导", "leader", "leaders",
                          _VIEWER | {_P.ALL_QUARANTINE, _P.SET_TARGETS, _P.COMMENT_LEDGER}),
    Role.ASSESSOR: RoleSpec("评估人员", "assessor", "assessors", _EDITOR | {_P.SET_TARGETS, _P.COMMENT_LEDGER}),
    Role.DISTRICT_OFFICIAL: RoleSpec("区级人员", "district official", "district officials",
                                     frozenset({_P.VIEW, _P.EDIT_LEDGER, _P.COMMENT_LEDGER})),
    Role.ADMIN: RoleSpec("管理员", "administrator", "administrators", frozenset(Permission)),
}
# The role the demo (no sign-in, loopback only) starts with: every power, so the whole app can be tried.
DEMO_ROLE: str = Role.ADMIN


def roles() -> tuple[str, ...]:
    """Every role in the table, in display order."""
    return tuple(str(r) for r in ROLE_TABLE)


def is_role(role: object) -> bool:
    return isinstance(role, str) and role in ROLE_TABLE


def can(role: str | None, permission: Permission | str) -> bool:
    """Whether `role` may do `permission` (an unknown role may do nothing; an unknown permission raises ValueError)."""
    perm = Permission(permission)
    spec = ROLE_TABLE.get(role) if isinstance(role, str) else None
    return spec is not None and perm in spec.permissions


def roles_with(permission: Permission | str) -> tuple[str, ...]:
    """The roles that may do `permission`, in display order."""
    return tuple(r for r in roles() if can(r, permission))


def label(role: str, lang: str = "zh") -> str:
    """The role's name in `lang` (the raw value for a role the table does not know)."""
    spec = ROLE_TABLE.get(role)
    if spec is None:
        return role
    return spec.label_en if lang == "en" else spec.label_zh


def labels(role_names: Iterable[str], lang: str) -> str:
    """"评估人员和管理员" / "assessors and administrators": the roles named in a sentence."""
    names = [(ROLE_TABLE[r].label_en_plural if lang == "en" else ROLE_TABLE[r].label_zh) for r in role_names
             if r in ROLE_TABLE]
    if len(names) <= 1:
        return "".join(names)
    if lang == "en":
        return ", ".join(names[:-1]) + " and " + names[-1]
    return "、".join(names[:-1]) + "和" + names[-1]
