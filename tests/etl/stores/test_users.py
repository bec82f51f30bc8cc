"""The users file: scrypt hashes with per-user salts, validation that names the culprit, atomic writes, the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from etl.config import load_config
from etl.stores.users import UserError, add_user, authenticate, load_users, remove_user

BIN = Path(sys.executable).parent / "govindex"


def test_add_verify_remove(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    a = add_user(path, "ana", "assessor", "s3cret-pass")
    b = add_user(path, "bo", "assessor", "s3cret-pass")
    assert a.salt != b.salt and a.hash != b.hash  # same password, different salts
    text = path.read_text(encoding="utf-8")
    assert "s3cret-pass" not in text and a.hash in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert authenticate(path, "ana", "s3cret-pass") == load_users(path)["ana"]
    assert authenticate(path, "ana", "wrong-pass") is None
    assert authenticate(path, "nobody", "s3cret-pass") is None
    with pytest.raises(UserError, match="already exists"):
        add_user(path, "ana", "leader", "another-pass")
    add_user(path, "ana", "leader", "another-pass", replace=True)
    assert load_users(path)["ana"].role == "leader" and authenticate(path, "ana", "s3cret-pass") is None
    remove_user(path, "ana")
    assert list(load_users(path)) == ["bo"]
    with pytest.raises(UserError, match="no user 'ana'"):
        remove_user(path, "ana")
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(("name", "role", "district", "password", "match"), [
    ("../etc", "leader", None, "password1", "bad user name"),
    ("Ana", "leader", None, "password1", "bad user name"),
    ("ana", "root", None, "password1", "unknown role 'root'"),
    ("ana", "district_official", None, "password1", "needs a district code"),
    ("ana", "district_official", "999999", "password1", "unknown district code '999999'"),
    ("ana", "leader", "310104", "password1", "only a district_official has a district"),
    ("ana", "leader", None, "short", "at least 8 characters"),
])
def test_bad_input_is_refused_with_the_reason(tmp_path: Path, name, role, district, password, match) -> None:
    with pytest.raises(UserError, match=match):
        add_user(tmp_path / "users.toml", name, role, password, district)
    assert not (tmp_path / "users.toml").exists()


def test_malformed_file_names_the_user_and_key(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users.ana]\nrole = "leader"\nsalt = "zz"\nhash = "00"\nscrypt = "n=2,r=1,p=1"\n')
    with pytest.raises(UserError, match="user 'ana': salt must be a hex string"):
        load_users(path)
    path.write_text('[users.ana]\nrole = "leader"\nis_admin = true\n')
    with pytest.raises(UserError, match="user 'ana': unknown key.*is_admin"):
        load_users(path)
    path.write_text("not toml [")
    with pytest.raises(UserError, match="not a valid users file"):
        load_users(path)


def test_default_path_beside_the_warehouse_or_env(tmp_path: Path) -> None:
    assert load_config(env={}, overrides={"db": str(tmp_path / "w.duckdb")}).users_path == tmp_path / "users.toml"
    assert load_config(env={"GOVINDEX_USERS": "/x/u.toml"}).users_path == Path("/x/u.toml")
    (tmp_path / "g.toml").write_text('[users]\nfile = "u/users.toml"\n', encoding="utf-8")
    assert load_config(tmp_path / "g.toml", env={}).users_path == tmp_path / "u" / "users.toml"  # beside the file


@pytest.mark.slow
def test_cli_add_list_remove(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    run = lambda *a, stdin=None: subprocess.run([str(BIN), "user", *a, "--users", str(path)], input=stdin,  # noqa: E731
                                                capture_output=True, text=True, timeout=60)
    out = run("add", "dou", "--role", "district_official", "--district", "310104", "--password-stdin",
              stdin="a long password\n")
    assert out.returncode == 0, out.stderr
    assert authenticate(path, "dou", "a long password") is not None
    out = run("add", "x", "--role", "leader", "--district", "310104", "--password-stdin", stdin="whatever12\n")
    assert out.returncode != 0 and "only a district_official has a district" in out.stderr
    out = run("list")
    assert "dou" in out.stdout and "district_official" in out.stdout and "310104" in out.stdout
    assert load_users(path)["dou"].hash not in out.stdout
    assert run("remove", "dou").returncode == 0
    assert "no users" in run("list").stdout
