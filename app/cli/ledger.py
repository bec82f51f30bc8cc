"""`govindex ledger`: the rectification ledger (整改台账) — list the items a user may see (overdue first) or export
them as the XLSX a 督查 office files (per district or city-wide). Items are opened and changed in the app."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from app.cli.alerts import actor_for
from app.cli.options import config_options, load
from etl.contract.tables import LOCAL_TZ


def _now(today: str | None) -> datetime | None:
    """Noon in Beijing on --today (a simulated date), else None (the real clock)."""
    if today is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(today), time(12, 0), tzinfo=ZoneInfo(LOCAL_TZ))
    except ValueError:
        raise click.BadParameter(f"{today!r} is not a date (YYYY-MM-DD)", param_hint="--today") from None


_user = click.option("--user", default=None, help="As this user of the users file (default: the console operator, "
                                                  "who sees every district).")
_today = click.option("--today", default=None, help="Judge overdue as of this date (YYYY-MM-DD, Beijing).")
_district = click.option("--district", default=None, help="Only this district (code, e.g. 310104).")


@click.group()
def ledger() -> None:
    """The rectification ledger (整改台账): items, owners, deadlines and status."""


@ledger.command("list")
@_district
@click.option("--status", type=click.Choice(["open", "in_progress", "done", "overdue"]), default=None,
              help="Only items with this status (overdue: past the due date and not done).")
@click.option("--json", "as_json", is_flag=True, default=False, help="One JSON object on stdout.")
@_user
@_today
@config_options
def list_items(district: str | None, status: str | None, as_json: bool, user: str | None, today: str | None,
               config_file: str | None, db_path: str | None) -> None:
    """The items the user may see, overdue first."""
    # local: the stores import polars; `govindex --help` should not
    import polars as pl
    from etl.stores import ledger as store_ledger
    from etl.stores.loop import LoopStore, message

    config = load(config_file, db=db_path)
    actor = actor_for(config, user)
    items = store_ledger.list_items(LoopStore.for_config(config), actor, unit_code=district, status=status,
                                    now=_now(today))
    frame = store_ledger.items_frame(items)
    if as_json:
        click.echo(json.dumps({"status": "ok", "items": frame.to_dicts()}, ensure_ascii=False, default=str))
        return
    if frame.height == 0:
        click.echo("没有整改事项 · no items")
        return
    frame = frame.with_columns(pl.col("effective_status").map_elements(
        lambda s: f"{message(f'loop.status.{s}', 'zh')} {message(f'loop.status.{s}', 'en')}", return_dtype=pl.String))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=30, tbl_width_chars=200):
        click.echo(frame.select("item_id", "unit_code", "indicator_id", "problem", "owner", "due_date",
                                "effective_status", "version"))


@ledger.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The XLSX file to write.")
@_district
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the workbook (Chinese first).")
@_user
@_today
@config_options
def export(out: Path, district: str | None, lang: str, user: str | None, today: str | None,
           config_file: str | None, db_path: str | None) -> None:
    """Write the ledger as XLSX (cover, then 序号 问题 整改措施 责任人 时限 进展 状态 佐证材料), overdue first."""
    # local: the export imports xlsxwriter and the stores; `govindex --help` should not
    from app.ui.ledger_export import ledger_xlsx_for
    from etl.stores.loop import LoopError, LoopStore

    config = load(config_file, db=db_path)
    actor = actor_for(config, user)
    try:
        data = ledger_xlsx_for(LoopStore.for_config(config), actor, lang, unit_code=district, now=_now(today))
    except LoopError as e:
        raise click.ClickException(str(e)) from None
    try:
        out.write_bytes(data)
    except OSError as e:
        raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
    click.echo(f"整改台账已导出 · ledger written to {out}")


@ledger.command("verify")
@config_options
def verify(config_file: str | None, db_path: str | None) -> None:
    """Check the loop store's change record (targets, items, comments, evidence, alerts) was not altered; exit 1 if
    it was."""
    # local: the stores import polars; `govindex --help` should not
    from etl.stores.loop import LoopError, LoopStore, verify_events

    config = load(config_file, db=db_path)
    try:
        n = verify_events(LoopStore.for_config(config))
    except LoopError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"变更记录完好，共 {n} 条 · the change record is intact: {n} entries")
