"""`govindex rank`: scores and ranks at any level of the unit table, within peer groups or parents (read only)."""

from __future__ import annotations

import click
import polars as pl
from rich.console import Console
from rich.table import Table

from app.cli.jsonout import emit, json_errors
from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_reading


@click.command("rank")
@click.option("--level", default=None,
              help="Level of the unit table to score (e.g. province, county; default: the units the records "
                   "belong to). A parent level is scored from its children's records rolled up.")
@click.option("--within", "by", type=click.Choice(["peer_group", "parent", "all"]), default="peer_group",
              show_default=True, help="Rank each unit within its peer group (e.g. 中心城区 / 郊区), its parent, or all.")
@click.option("--parent", default=None, help="Only the units under this unit code (drill down).")
@click.option("--group", "group", default=None, help="Only this peer group (e.g. 郊区).")
@click.option("--top", default=20, show_default=True, type=click.IntRange(0),
              help="Show the best N (and --bottom the worst N); 0 shows every unit.")
@click.option("--bottom", default=0, show_default=True, type=click.IntRange(0), help="Also show the worst N.")
@click.option("--period", default=None, help="Period to show (default: the latest).")
@click.option("--profile", default=None, help="Weight profile (default: equal).")
@click.option("--grain", default="quarter", show_default=True, help="Period grain of the indicator values.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
@config_options
def rank(level: str | None, by: str, parent: str | None, group: str | None, top: int, bottom: int,
         period: str | None, profile: str | None, grain: str, as_json: bool, config_file: str | None,
         db_path: str | None) -> None:
    """Score every unit of a level and rank it within its peer group or parent (排名：同类组/上级内), e.g.
    `govindex rank --level county --within peer_group --parent 130000 --top 10`."""
    # local: slow to import (duckdb, pandera, scipy); `govindex --help` needs none of it
    from etl.contract.catalog import load_catalog
    from etl.stores.levels import LevelError, score_level
    from etl.stores.profiles import load_profile

    config = load(config_file, db=db_path)
    with json_errors(as_json):
        path = warehouse_for_reading(config.paths.db)
        try:
            fw = load_catalog().framework()
            prof = load_profile(profile or "equal", config.paths.weights_dir)
            prof.validate_against(fw)
            depth: str | int | None = int(level) if level is not None and level.isdigit() else level
            table, units = score_level(path, fw, prof, grain, depth, by)
        except (LevelError, ValueError) as e:  # profile, framework and scoring errors are ValueErrors
            raise click.ClickException(str(e)) from None
        periods = table["period"].unique().sort().to_list()
        chosen = period or (periods[-1] if periods else None)
        rows = table.filter(pl.col("period") == chosen)
        if parent is not None:
            if parent not in units:
                raise click.ClickException(f"unknown unit {parent!r} (not in the unit table)")
            rows = rows.filter(pl.col("unit_code").is_in(list(units.subtree(parent))))
        if group is not None:
            rows = rows.filter(pl.col("group") == group)
        rows = rows.sort("rank", nulls_last=True)
        shown = rows if top == 0 else pl.concat([rows.head(top), rows.tail(bottom)]).unique("unit_code",
                                                                                       maintain_order=True)
        if as_json:
            emit({"ok": True, "period": chosen, "level": level, "within": by, "units": rows.height,
                  "rows": shown.to_dicts()})
            return
    t = Table(title=f"排名 ranking · {level or '评估单元 units'} · {chosen} · 组内 within {by} · {rows.height} 个单元 units")
    for name in ("rank", "unit_code", "name_zh", "score", "group", "rank_in_group"):
        t.add_column(name, justify="right" if name in ("rank", "score", "rank_in_group") else "left")
    for r in shown.iter_rows(named=True):
        t.add_row(str(r["rank"] or "—"), r["unit_code"], r["name_zh"] or "",
                  "—" if r["score"] is None else f"{r['score']:.1f}", r["group"] or "—",
                  "—" if r["rank_in_group"] is None else f"{r['rank_in_group']}/{r['n_in_group']}")
    Console().print(t)
