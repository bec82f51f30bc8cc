"""`govindex target`: district targets (目标值) per indicator and cycle — list them (set ones and the catalog
defaults), or set one with a reason (a new version, recorded in the loop store's change record)."""

from __future__ import annotations

import json

import click

from app.cli.alerts import actor_for
from app.cli.options import config_options, load


@click.group()
def target() -> None:
    """Targets per district, indicator and cycle (目标值); the catalog's target is the default."""


@target.command("list")
@click.option("--period", default=None, help="The period the targets hold for (2026, 2026Q3); default: this year.")
@click.option("--district", default=None, help="Only this district (code, e.g. 310104).")
@click.option("--set-only", is_flag=True, default=False, help="Only targets set for a district (not catalog ones).")
@click.option("--json", "as_json", is_flag=True, default=False, help="One JSON object on stdout.")
@config_options
def list_targets(period: str | None, district: str | None, set_only: bool, as_json: bool, config_file: str | None,
                 db_path: str | None) -> None:
    """The target of each district × indicator for a period: the one set for its quarter or year, else the catalog's."""
    # local: the stores import polars; `govindex --help` should not
    import polars as pl
    from etl.stores import targets
    from etl.stores.loop import LoopStore, today

    config = load(config_file, db=db_path)
    chosen = period or str(today().year)
    frame = targets.effective_targets(LoopStore.for_config(config), chosen)
    if district:
        frame = frame.filter(pl.col("unit_code") == district)
    if set_only:
        frame = frame.filter(pl.col("source") == "set")
    if as_json:
        click.echo(json.dumps({"status": "ok", "period": chosen, "targets": frame.to_dicts()}, ensure_ascii=False,
                              default=str))
        return
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=40, tbl_width_chars=200):
        click.echo(frame.select("unit_code", "indicator_id", "target", "source", "cycle", "version", "who",
                                "reason"))


@target.command("set")
@click.argument("district")
@click.argument("indicator")
@click.argument("cycle")
@click.argument("value")
@click.option("--reason", required=True, help="Why this target (kept with the version).")
@click.option("--user", required=True, help="Who sets it: a user of the users file with a role that may set targets.")
@config_options
def set_target(district: str, indicator: str, cycle: str, value: str, reason: str, user: str,
               config_file: str | None, db_path: str | None) -> None:
    """Set DISTRICT's target for INDICATOR in CYCLE (2026 or 2026Q3) to VALUE ("catalog" returns to the default)."""
    # local: the stores import polars; `govindex --help` should not
    from etl.stores import targets
    from etl.stores.loop import LoopError, LoopStore

    config = load(config_file, db=db_path)
    actor = actor_for(config, user)
    try:
        t = targets.set_target(LoopStore.for_config(config), actor, district, indicator, cycle,
                               None if value.strip().lower() == "catalog" else value, reason)
    except LoopError as e:
        raise click.ClickException(str(e)) from None
    shown = "catalog" if t.value is None else f"{t.value:g}"
    click.echo(f"目标值已保存（第 {t.version} 版） · target saved (version {t.version}): {district} {indicator} {cycle} = "
               f"{shown}")


@target.command("history")
@click.argument("district")
@click.argument("indicator")
@click.argument("cycle")
@click.option("--json", "as_json", is_flag=True, default=False, help="One JSON object on stdout.")
@config_options
def history(district: str, indicator: str, cycle: str, as_json: bool, config_file: str | None,
            db_path: str | None) -> None:
    """Every version of DISTRICT's target for INDICATOR in CYCLE: value, who, role, when (Beijing time), why."""
    # local: the stores import polars; `govindex --help` should not
    from dataclasses import asdict
    from app.ui.i18n import fmt_datetime
    from etl.stores import targets
    from etl.stores.loop import LoopStore

    config = load(config_file, db=db_path)
    versions = targets.target_history(LoopStore.for_config(config), district, indicator, cycle)
    if as_json:
        click.echo(json.dumps({"status": "ok", "versions": [asdict(v) for v in versions]}, ensure_ascii=False))
        return
    if not versions:
        click.echo("尚未设置，使用目录目标值 · never set: the catalog target holds")
    for v in versions:
        shown = "catalog" if v.value is None else f"{v.value:g}"
        click.echo(f"v{v.version} {shown}  {v.who} ({v.role}) {fmt_datetime(v.at_utc)}: {v.reason}")
