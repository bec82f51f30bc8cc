"""Levels: a parent's indicator values from its children's records, so every level is scored from its own data.

The rule (decided here, documented in docs/methodology.md "Levels and peer groups"): raw records attach to the
units with nothing under them; a parent's indicator value is the value of the same formula over all its
descendants' records. For a rate whose numerator and denominator are sums over records (the catalog's additive
rates, etl.warehouse.indicator_values.rolls_up) that is exact: Σ numerators / Σ denominators, times the rate's
scale (read off the children's own value = scale × numerator / denominator). Any other indicator (medians,
weighted means, gaps, distinct counts) cannot be rebuilt from the children's values: its parent value is the
children's mean weighted by their denominators (their sample sizes; by population when a denominator is missing)
and is marked `weighted_mean`, so a reader knows it approximates the formula. Scores are then computed at each
level from that level's values with the same frozen goalposts, so a province's score and its counties' scores are
on one scale, and a parent's score is NOT the mean of its children's scores (aggregation is not linear, and
pooling weighs big children more): `compare_levels` shows both side by side.

Pure: polars frames and indicators.units.Units in, frames out.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import polars as pl

from indicators.units import Units

POOLED, WEIGHTED = "pooled", "weighted_mean"
_KEYS = ("period", "indicator_id")


def roll_up(values: pl.DataFrame, units: Units, additive: Collection[str] = ()) -> pl.DataFrame:
    """Indicator values of every parent unit, from the values of the units under it (deepest parents first, so a
    province rolls up from its cities' rolled-up values, and pooled sums stay exact at every level).

    `values`: unit_code, period, indicator_id, value, numerator, denominator (more key columns such as `grain` are
    kept as keys). `additive`: the indicators whose numerator and denominator are sums over records. Returns the
    parents' rows with the same columns plus `method` (pooled | weighted_mean)."""
    extra_keys = [c for c in values.columns if c not in ("unit_code", "value", "numerator", "denominator", "method",
                                                         *_KEYS) and values[c].dtype == pl.String]
    keys = [*extra_keys, *_KEYS]
    cols = ["unit_code", *keys, "value", "numerator", "denominator"]
    frame = values.select(cols).with_columns(pl.col("value", "numerator", "denominator").cast(pl.Float64))
    parents = [u.code for u in units if units.children(u.code)]
    parents.sort(key=units.depth, reverse=True)
    pop = {u.code: float(u.population) if u.population else np.nan for u in units}
    out: list[pl.DataFrame] = []
    have = frame
    for parent in parents:
        kids = units.children(parent)
        rows = have.filter(pl.col("unit_code").is_in(list(kids)))
        if rows.height == 0:
            continue
        rolled = _one_parent(rows, parent, keys, set(additive), pop)
        out.append(rolled)
        have = pl.concat([have, rolled.select(cols)])
    if not out:
        return frame.head(0).with_columns(pl.lit(None, pl.String).alias("method"))
    return pl.concat(out)


def _one_parent(rows: pl.DataFrame, parent: str, keys: list[str], additive: set[str],
                pop: dict[str, float]) -> pl.DataFrame:
    w_pop = pl.col("unit_code").replace_strict(pop, default=None, return_dtype=pl.Float64)
    ok = pl.col("value").is_not_null() & pl.col("value").is_not_nan()
    weight = (pl.when(pl.col("denominator").is_not_null() & (pl.col("denominator") > 0))
              .then(pl.col("denominator")).otherwise(w_pop).fill_null(1.0))
    # the rate's scale, read off a child whose value, numerator and denominator are all there
    scale = (pl.when(ok & (pl.col("numerator").abs() > 0) & (pl.col("denominator") > 0))
             .then(pl.col("value") * pl.col("denominator") / pl.col("numerator")))
    agg = rows.with_columns(weight.alias("_w"), scale.alias("_k")).group_by(keys).agg(
        pl.col("numerator").sum().alias("_num"),
        pl.col("denominator").sum().alias("_den"),
        pl.col("numerator").is_null().any().alias("_num_missing"),
        pl.col("denominator").is_null().any().alias("_den_missing"),
        pl.col("_k").median().alias("_k"),
        (pl.col("value").filter(ok) * pl.col("_w").filter(ok)).sum().alias("_vw"),
        pl.col("_w").filter(ok).sum().alias("_ww"),
        ok.sum().alias("_n"),
    )
    pooled = (pl.col("indicator_id").is_in(list(additive)) & ~pl.col("_num_missing") & ~pl.col("_den_missing")
              & (pl.col("_den") > 0))
    value = (pl.when(pooled).then(pl.col("_k").fill_null(1.0) * pl.col("_num") / pl.col("_den"))
             .when(pl.col("_n") > 0).then(pl.col("_vw") / pl.col("_ww")).otherwise(None))
    return agg.select(
        pl.lit(parent).alias("unit_code"), *keys,
        value.alias("value"),
        pl.when(pooled).then(pl.col("_num")).otherwise(None).alias("numerator"),
        pl.when(~pl.col("_den_missing")).then(pl.col("_den")).otherwise(None).alias("denominator"),
        pl.when(pooled).then(pl.lit(POOLED)).otherwise(pl.lit(WEIGHTED)).alias("method"),
    ).sort(keys)


def level_values(values: pl.DataFrame, units: Units, level: str | int, additive: Collection[str] = ()) -> pl.DataFrame:
    """The indicator values of the units of one level (a level name, or a depth: 0 = the top units): the leaves'
    own values, the parents' rolled up."""
    codes = set(units.at_level(level) if isinstance(level, str) else units.at_depth(level))
    leaves = values.filter(pl.col("unit_code").is_in(list(codes)))
    if codes <= set(units.leaves()):
        return leaves
    rolled = roll_up(values, units, additive).filter(pl.col("unit_code").is_in(list(codes)))
    return pl.concat([leaves.select(rolled.drop("method").columns).cast(rolled.drop("method").schema),
                      rolled.drop("method")]) if leaves.height else rolled.drop("method")


def compare_levels(scores: pl.DataFrame, units: Units, parent: str) -> pl.DataFrame:
    """A parent's score beside its children's: one row per period with the parent's score (scored from its own
    rolled-up values), the children's mean score, their population-weighted mean, min and max, and how many.

    `scores`: unit_code, period, score (of one node, at both levels, e.g. the composite index)."""
    kids = list(units.children(parent))
    pop = {c: float(units.get(c).population or 0) for c in kids}  # type: ignore[union-attr]
    child = scores.filter(pl.col("unit_code").is_in(kids)).with_columns(
        pl.col("unit_code").replace_strict(pop, default=0.0, return_dtype=pl.Float64).alias("_p"))
    agg = child.filter(pl.col("score").is_not_nan()).group_by("period").agg(
        pl.col("score").mean().alias("children_mean"),
        ((pl.col("score") * pl.col("_p")).sum() / pl.col("_p").sum()).alias("children_weighted_mean"),
        pl.col("score").min().alias("children_min"),
        pl.col("score").max().alias("children_max"),
        pl.len().alias("children_n"),
    )
    own = scores.filter(pl.col("unit_code") == parent).select("period", pl.col("score").alias("parent_score"))
    return own.join(agg, on="period", how="full", coalesce=True).sort("period")
