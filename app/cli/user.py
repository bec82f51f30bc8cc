"""`govindex user`: add, remove and list the people who may sign in to the web app, with their roles."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from app.cli.columns import pad
from app.cli.options import config_options, load
from etl.stores.users import ROLES, UserError, add_user, check_name, check_role, load_users, remove_user
from etl.warehouse.units import units_at

F = TypeVar("F", bound=Callable[..., Any])
_users_file_option = click.option(
    "--users", "users_file", default=None,
    help="Users file (default from configuration: users.file, $GOVINDEX_USERS, else users.toml beside the warehouse).",
)


def _users_option(f: F) -> F:
    """--users, --config and --db: the users file is users.file of the configuration, else beside its warehouse."""
    return _users_file_option(config_options(f))


def _path(users_file: str | None, config_file: str | None, db_path: str | None) -> Path:
    """--users, else the configuration's users file (users.file / $GOVINDEX_USERS, else beside the warehouse)."""
    return load(config_file, db=db_path, **{"users.file": users_file}).users_path


@click.group()
def user() -> None:
    """Users of the web app and their roles (用户与角色): leader, assessor, district_official, admin."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="leader: views; assessor: edits, saves and publishes weights, runs analyses and refreshes; "
                   "district_official: views, own district's quarantine; admin: everything, manages users.")
@click.option("--district", "district", default=None, help="District code of a district_official (e.g. 310104).")
@click.option("--password-stdin", is_flag=True, default=False,
              help="Read the password from the first line of standard input (for scripts) instead of prompting.")
@click.option("--replace", is_flag=True, default=False, help="Reset an existing user's role and password.")
@_users_option
def add(name: str, role: str, district: str | None, password_stdin: bool, replace: bool,
        users_file: str | None, config_file: str | None, db_path: str | None) -> None:
    """Add user NAME with a role; the password is asked twice (or read from stdin) and stored as a salted hash."""

    config = load(config_file, db=db_path, **{"users.file": users_file})
    path = config.users_path
    known = units_at(config.paths.db)  # the warehouse's unit table; None before the first refresh (shape only)
    codes = known.codes if known is not None else None
    pattern = config.units.code_pattern
    try:  # check before asking for a password
        check_name(name)
        check_role(role, district, codes, pattern)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password 密码", hide_input=True, confirmation_prompt="repeat 再次输入")
    try:
        u = add_user(path, name, role, password, district, replace=replace, units=codes, code_pattern=pattern)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    where = f" (district {u.district_code})" if u.district_code else ""
    click.echo(f"{'reset' if replace else 'added'} user {u.name}: {u.role}{where} in {path}")


@user.command("remove")
@click.argument("name")
@_users_option
def remove(name: str, users_file: str | None, config_file: str | None, db_path: str | None) -> None:
    """Remove user NAME (their open sessions end at their next request)."""

    path = _path(users_file, config_file, db_path)
    try:
        u = remove_user(path, name)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"removed user {u.name} ({u.role}) from {path}")


@user.command("list")
@_users_option
def list_cmd(users_file: str | None, config_file: str | None, db_path: str | None) -> None:
    """List the users with their roles and districts (never the hashes)."""

    path = _path(users_file, config_file, db_path)
    try:
        users = load_users(path)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if not users:
        click.echo(f"no users in {path} (without users the app runs only as a demo on 127.0.0.1)")
        return
    click.echo(f"{pad('name', 24)} {'role':<18} {'district':<9} created")
    for u in users.values():
        click.echo(f"{pad(u.name, 24)} {u.role:<18} {u.district_code or '-':<9} {u.created}")
