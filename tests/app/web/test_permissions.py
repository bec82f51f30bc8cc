"""Roles and permissions: one table (etl/stores/roles.py) that every check asks; a new role is one row in it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from flask import Flask, g

from app.web import security
from etl.stores import roles as roles_mod
from etl.stores.roles import Permission, Role, RoleSpec, can, roles
from etl.stores.users import UserError, check_role

ROOT = Path(__file__).resolve().parents[3]
QUARANTINE = pl.DataFrame({"district_code": ["310115", "310104", None], "reason": ["a", "b", "c"]})


def _checks(role: str, district: str | None) -> dict[str, object]:
    """Every security check, for one role, inside a request with that identity."""
    app = Flask(__name__)
    with app.test_request_context():
        g.govindex_identity = security.Identity(name="x", role=role, district_code=district)
        out: dict[str, object] = {}
        for perm in Permission:
            try:
                security.require(perm)
                required = True
            except security.Refused:
                required = False
            out[perm] = (security.may(perm), required)
        out["quarantine"] = security.visible_quarantine(QUARANTINE, None).height
        out["published"] = security.sees_published()
        return out


@pytest.mark.parametrize("role", roles())
def test_every_role_and_permission_goes_through_the_table(role: str) -> None:
    district = None if can(role, Permission.ALL_DISTRICTS) else "310115"
    assert check_role(role, district) == (role, district)
    got = _checks(role, district)
    for perm in Permission:
        assert got[perm] == (can(role, perm), can(role, perm)), perm
    assert got["quarantine"] == (3 if can(role, Permission.ALL_QUARANTINE) else 1)
    assert got["published"] is (not can(role, Permission.SEE_CURRENT))
    for perm in (Permission.EDIT_WEIGHTS, Permission.REFRESH):
        note = security.refusal_note(perm, "zh")
        assert note.startswith("只有") and all(roles_mod.label(r) in note for r in roles_mod.roles_with(perm))


def test_the_table_keeps_the_rules_people_know() -> None:
    assert set(roles_mod.roles_with(Permission.EDIT_WEIGHTS)) == {Role.ASSESSOR, Role.ADMIN}
    assert set(roles_mod.roles_with(Permission.ALL_QUARANTINE)) == {Role.LEADER, Role.ASSESSOR, Role.ADMIN}
    assert roles_mod.roles_with(Permission.MANAGE_USERS) == (Role.ADMIN,)
    assert security.refusal_note(Permission.EDIT_WEIGHTS, "zh") == "只有评估人员和管理员可以保存权重方案。"
    assert security.refusal_note("refresh", "en") == "Only assessors and administrators can refresh the data."
    assert not can("nobody", Permission.VIEW)
    with pytest.raises(KeyError, match="unknown action"):
        security.require("fly")


def test_a_new_role_is_one_row_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    auditor = RoleSpec("审计员", "auditor", "auditors",
                       frozenset({Permission.VIEW, Permission.REFRESH}))  # tied to a district, sees published
    monkeypatch.setitem(roles_mod.ROLE_TABLE, "auditor", auditor)
    assert "auditor" in roles() and check_role("auditor", "310104") == ("auditor", "310104")
    with pytest.raises(UserError, match="needs a district code"):
        check_role("auditor", None)
    got = _checks("auditor", "310115")
    assert got[Permission.REFRESH] == (True, True) and got[Permission.EDIT_WEIGHTS] == (False, False)
    assert got["quarantine"] == 1 and got["published"] is True
    assert "审计员" in security.refusal_note(Permission.REFRESH, "zh")
    assert "auditors" in security.refusal_note(Permission.REFRESH, "en")


def test_a_fifth_role_does_not_break_importing_the_app() -> None:
    """Importing the app with a fifth role in the table works (the old security module unpacked four names)."""
    code = ("from etl.stores import roles as r\n"
            "r.ROLE_TABLE['auditor'] = r.RoleSpec('审计员', 'auditor', 'auditors', frozenset({r.Permission.VIEW}))\n"
            "import app.web.security, app.web.auth, app.server\n"
            "from etl.stores.users import ROLES\n"
            "assert 'auditor' in ROLES, ROLES\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr


def test_no_role_names_written_out_in_app_or_etl() -> None:
    """Code asks the table; only etl/stores/roles.py spells a role's name."""
    names = {r.value for r in Role}
    found = []
    for path in [*(ROOT / "app").rglob("*.py"), *(ROOT / "etl").rglob("*.py")]:
        if path == ROOT / "etl" / "stores" / "roles.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("perm, zh, en", [
    (Permission.SET_TARGETS, "设定各区指标目标值", "set districts' targets"),
    (Permission.EDIT_LEDGER, "立项和更新整改事项", "open and update rectification items"),
    (Permission.COMMENT_LEDGER, "评论整改事项", "comment on rectification items"),
])
def test_the_loop_permissions_say_who_may_act(perm: Permission, zh: str, en: str) -> None:
    """A control refused for SET_TARGETS, EDIT_LEDGER or COMMENT_LEDGER says what it would do and which roles may
    (from the table), not the generic 您的角色无权执行此操作。"""
    allowed = roles_mod.roles_with(perm)
    assert allowed
    assert security.refusal_note(perm, "zh") == f"只有{roles_mod.labels(allowed, 'zh')}可以{zh}。"
    assert security.refusal_note(perm, "en") == f"Only {roles_mod.labels(allowed, 'en')} can {en}."


def test_every_action_a_role_can_be_refused_has_its_own_note() -> None:
    """Each permission that names an action (not how data are seen) has a note in both languages."""
    seeing = {Permission.VIEW, Permission.ALL_QUARANTINE, Permission.SEE_CURRENT, Permission.ALL_DISTRICTS}
    generic = {security.refusal_note(Permission.VIEW, lang) for lang in ("zh", "en")}
    for perm in set(Permission) - seeing:
        for lang in ("zh", "en"):
            assert security.refusal_note(perm, lang) not in generic, (perm, lang)
