"""Peer groups: rank a unit among comparable units (its peer group, e.g. 中心城区 / 郊区, or its parent's other
children), and drill down from a parent to its children.

One rank rule for the whole project (indicators.ranking.rank_desc: 1 = best, ties share the best rank, a missing
score is unranked); here it is applied within each group. Pure: frames and indicators.units.Units in, frames out.
The pages (many units: filters by parent and peer group, top/bottom N) call `rank_within` and `drill_down`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from indicators.ranking import rank_desc
from indicators.units import GROUPINGS, Units, UnitsError


def rank_within(scores: pl.DataFrame, units: Units, by: str = "peer_group", score: str = "score") -> pl.DataFrame:
    """`scores` (unit_code, `score`, and any key columns such as period or node) with `group` (the peer group, the
    parent's code, or '*' for all), `rank_in_group` (the rank rule within the group, per key) and `n_in_group` (the
    ranked units of the group). A unit outside any group (no peer group; a top unit by parent) gets nulls."""
    if by not in GROUPINGS:
        raise UnitsError(f"unknown grouping {by!r}; use one of: {', '.join(GROUPINGS)}")
    keys = [c for c in scores.columns if c not in ("unit_code", score) and scores[c].dtype == pl.String
            and c not in ("group", "name_zh", "name_en", "band")]
    groups = {code: units.group_of(code, by) for code in scores["unit_code"].unique().to_list()}
    df = scores.with_columns(pl.col("unit_code").replace_strict(groups, default=None, return_dtype=pl.String)
                             .alias("group"))
    parts = []
    for _key, part in df.group_by([*keys, "group"], maintain_order=True):
        vals = part[score].cast(pl.Float64).fill_null(np.nan).to_numpy()
        grouped = part["group"][0] is not None
        ranks = rank_desc(vals) if grouped else np.full(len(vals), np.nan)
        n = int(np.isfinite(vals).sum()) if grouped else None
        parts.append(part.with_columns(
            pl.Series("rank_in_group", ranks, dtype=pl.Float64).fill_nan(None).cast(pl.Int64),
            pl.lit(n, dtype=pl.Int64).alias("n_in_group"),
        ))
    if not parts:
        return df.with_columns(pl.lit(None, pl.Int64).alias("rank_in_group"), pl.lit(None, pl.Int64).alias("n_in_group"))
    return pl.concat(parts).sort([*keys, "group", "rank_in_group"], nulls_last=True)


def drill_down(scores: pl.DataFrame, units: Units, parent: str | None, score: str = "score") -> pl.DataFrame:
    """The children of `parent` (None: the top units) ranked among themselves, best first, with their names and
    whether each has units under it (so a page can offer the next drill-down)."""
    kids = list(units.children(parent))
    rows = scores.filter(pl.col("unit_code").is_in(kids))
    ranked = rank_within(rows, units, "all", score).drop("group")
    names = pl.DataFrame({"unit_code": kids, "name_zh": [units.get(c).name_zh for c in kids],  # type: ignore[union-attr]
                          "name_en": [units.get(c).name_en for c in kids],  # type: ignore[union-attr]
                          "has_children": [bool(units.children(c)) for c in kids]})
    return ranked.join(names, on="unit_code", how="left")
