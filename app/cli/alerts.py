"""`govindex alerts`: the alerts raised after refreshes (预警), for scripts: list (all or unread, text or --json),
mark read, evaluate the rules now, e-mail the pending ones.

Who is asking: `--user NAME` (from the users file: that person's role, district and read state); without it the
operator at the console, who sees every district (read state kept under the login name). `actor_for` is shared with
`govindex target` and `govindex ledger`.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING

import click

from app.cli.options import config_options, load
from app.ui.i18n import fmt_datetime
from etl.config import Config

if TYPE_CHECKING:
    from etl.stores.loop import Actor


def actor_for(config: Config, user: str | None) -> Actor:
    """The Actor for --user NAME (looked up in the users file), else the console operator (administrator)."""
    # local: the stores import polars; `govindex --help` should not
    from etl.stores.loop import Actor as LoopActor
    from etl.stores.roles import Role
    from etl.stores.users import UserError, load_users

    if user is None:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "console"
        return LoopActor(name, str(Role.ADMIN), None)
    try:
        known = load_users(config.users_path) if config.users_path.is_file() else {}
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if user not in known:
        raise click.ClickException(f"用户 {user} 不在用户文件 {config.users_path} 中 · no user {user!r} in "
                                   f"{config.users_path} (add one with `govindex user add`)")
    u = known[user]
    return LoopActor(u.name, u.role, u.district_code)


@click.command()
@click.option("--user", default=None, help="Act as this user of the users file (their districts and read state).")
@click.option("--unread", is_flag=True, default=False, help="Only alerts this user has not read.")
@click.option("--json", "as_json", is_flag=True, default=False, help="One JSON object on stdout: the alerts.")
@click.option("--read", "read_ids", multiple=True, type=int, help="Mark this alert read (repeatable).")
@click.option("--read-all", is_flag=True, default=False, help="Mark every alert this user sees read.")
@click.option("--evaluate", is_flag=True, default=False,
              help="Evaluate the alert rules against the live warehouse now (a refresh does this by itself).")
@click.option("--email", "send", is_flag=True, default=False,
              help="E-mail the alerts not e-mailed yet through alerts.email (SMTP).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Text language (default: both).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(0), help="Alerts to list (0 = all).")
@config_options
def alerts(user: str | None, unread: bool, as_json: bool, read_ids: tuple[int, ...], read_all: bool, evaluate: bool,
           send: bool, lang: str | None, limit: int, config_file: str | None, db_path: str | None) -> None:
    """Alerts (预警) for a user: a district dropping places, indicators falling below target, overdue rectification
    items, missing or largely quarantined data. Exit 0; a refused action (unknown alert, unknown user) exits 1."""
    # local: the stores and the job import polars and duckdb; `govindex --help` should not
    from etl.jobs import alerts as job
    from etl.stores import alerts as store_alerts
    from etl.stores.loop import LoopError, LoopStore

    config = load(config_file, db=db_path)
    actor = actor_for(config, user)
    store = LoopStore.for_config(config)
    notes: dict[str, object] = {}
    try:
        if evaluate:
            notes["raised"] = len(job.evaluate(config, refresh=None))
        if read_ids or read_all:
            notes["marked_read"] = store_alerts.mark_read(store, actor, None if read_all else read_ids)
        if send:
            notes["emailed"] = job.send_email(config)
    except LoopError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:  # the SMTP server cannot be reached
        raise click.ClickException(f"邮件发送失败 · e-mail failed: {e}") from None
    shown = store_alerts.list_alerts(store, actor, unread=unread, limit=limit or 1_000_000)
    if as_json:
        click.echo(json.dumps({"status": "ok", "user": actor.name, "unread": store_alerts.unread_count(store, actor),
                               **notes, "alerts": [a.to_dict() for a in shown]}, ensure_ascii=False, default=str))
        return
    for key, n in notes.items():
        click.echo(f"{key}: {n}")
    if not shown:
        click.echo("没有预警 · no alerts")
    for a in shown:
        mark = " " if a.read else "●"
        langs = (lang,) if lang else ("zh", "en")
        text = " / ".join(f"[{store_alerts.rule_label(a.rule, lg)}] {a.text(lg)}" for lg in langs)
        click.echo(f"{mark} #{a.alert_id} {fmt_datetime(a.created_at, lang or 'zh')} {text}")
