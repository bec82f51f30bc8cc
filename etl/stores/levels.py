"""Scores at any level of the unit table and ranks within peer groups or parents, from the warehouse's values.

The leaves' indicator values are the warehouse's (`indicator_values`); a parent level's are rolled up from them
(indicators.levels: the catalog's additive rates pooled exactly, the others weighted and marked), then scored with
the profile's model and the catalog's frozen goalposts, so every level is scored from its own data on one scale.
Nothing is stored: this is a view over the stored values (`govindex rank`, and the pages at 2,844 units).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from etl.contract.catalog import load_catalog
from etl.errors import EtlError
from etl.warehouse import connection as warehouse
from etl.warehouse.indicator_values import rolls_up
from etl.warehouse.panel import covered_months_in
from etl.warehouse.units import read_units
from indicators.framework import Framework
from indicators.levels import level_values
from indicators.model import score
from indicators.peers import rank_within
from indicators.periods import completeness
from indicators.profile import WeightProfile
from indicators.ranking import rank_desc
from indicators.units import Units


class LevelError(EtlError):
    """The level or grouping asked for is not in the warehouse's unit table; the message names what there is."""


def additive_indicators() -> frozenset[str]:
    """The catalog's indicators whose numerator and denominator are sums over records (pooled when rolled up)."""
    return frozenset(d.id for d in load_catalog() if rolls_up(d))


def score_level(db: str | Path, framework: Framework, profile: WeightProfile, grain: str = "quarter",
                level: str | int | None = None, by: str = "peer_group") -> tuple[pl.DataFrame, Units]:
    """The composite score of every unit of `level` (a level name, a depth, or None: the leaves) per period, with
    `rank` among the level and `group`, `rank_in_group`, `n_in_group` within `by` (peer_group | parent | all).

    Columns: unit_code, name_zh, name_en, period, score, rank, group, rank_in_group, n_in_group."""
    with warehouse.connection(db, read_only=True) as con:
        units = read_units(con)
        values = warehouse.query(con, "SELECT unit_code, period, indicator_id, value, numerator, denominator "
                                      "FROM indicator_values WHERE grain = ?", [grain])
        months = covered_months_in(con)
    if values.height == 0:
        raise LevelError(f"no indicator values of grain {grain!r} in {db} (run `govindex refresh` first)")
    if level is None:
        codes = set(units.leaves())
        data = values.filter(pl.col("unit_code").is_in(list(codes)))
    else:
        if isinstance(level, str) and level not in units.levels():
            raise LevelError(f"no unit of level {level!r}; levels: {', '.join(units.levels()) or 'none named'}")
        data = level_values(values, units, level, additive_indicators())
    spec = profile.model_spec(framework)
    periods = sorted(data["period"].unique().to_list())
    result = score(framework, data.select("unit_code", "period", "indicator_id", "value"), spec,
                   complete=completeness(periods, months))
    root = result.scores.filter(pl.col("node") == framework.root).select("unit_code", "period", "score")
    ranked = []
    for _p, part in root.group_by("period", maintain_order=True):
        ranks = rank_desc(part["score"].cast(pl.Float64).fill_null(float("nan")).to_numpy())
        ranked.append(part.with_columns(pl.Series("rank", ranks).fill_nan(None).cast(pl.Int64)))
    out = rank_within(pl.concat(ranked), units, by)
    names = pl.DataFrame({"unit_code": list(units.codes), "name_zh": [u.name_zh for u in units],
                          "name_en": [u.name_en for u in units]})
    cols = ["unit_code", "name_zh", "name_en", "period", "score", "rank", "group", "rank_in_group", "n_in_group"]
    return out.join(names, on="unit_code", how="left").select(cols).sort("period", "rank", nulls_last=True), units
