"""The units view model for pages with many units (2,844 counties): filter by parent and peer group, search by
name or code, rank within a group, top/bottom N — one call, no Dash, so the CLI and tests call it too.

`unit_ranking(scores, units, ...)` takes one period's composite scores (unit_code, score; the stored run's root
node, or a what-if) and the unit table (Snapshot.units) and returns the rows a page shows.
"""

from __future__ import annotations

import polars as pl

from app.state import AppContext

from etl.errors import EtlError
from etl.stores.levels import score_level
from indicators.peers import rank_within
from indicators.profile import WeightProfile
from indicators.ranking import rank_desc
from indicators.units import Units


def unit_ranking(scores: pl.DataFrame, units: Units, *, by: str = "peer_group", parent: str | None = None,
                 group: str | None = None, search: str | None = None, top: int | None = None,
                 bottom: int | None = None) -> pl.DataFrame:
    """Rows unit_code, name_zh, name_en, parent_code, parent_zh, parent_en, score, rank (among all the units given),
    group, rank_in_group, n_in_group; best first. `parent` keeps the units under it (any depth), `group` one peer
    group, `search` a case-insensitive substring of the code or either name; `top`/`bottom` the best/worst N of
    what is left (both: the two ends, best first, without repeats)."""
    base = scores.select("unit_code", pl.col("score").cast(pl.Float64))
    ranks = rank_desc(base["score"].fill_null(float("nan")).to_numpy())
    base = base.with_columns(pl.Series("rank", ranks).fill_nan(None).cast(pl.Int64))
    out = rank_within(base, units, by)
    codes = out["unit_code"].to_list()
    info = {c: units.get(c) for c in codes}
    parents = {c: units.parent(c) for c in codes}
    out = out.with_columns(
        pl.Series("name_zh", [u.name_zh if u else c for c, u in info.items()], dtype=pl.String),
        pl.Series("name_en", [u.name_en if u else c for c, u in info.items()], dtype=pl.String),
        pl.Series("parent_code", [parents[c] for c in codes], dtype=pl.String),
    ) if codes else out.with_columns(pl.lit(None, pl.String).alias(k) for k in ("name_zh", "name_en", "parent_code"))
    pnames = {p: units.get(p) for p in set(parents.values()) if p is not None}
    out = out.with_columns(
        pl.col("parent_code").replace_strict({p: u.name_zh for p, u in pnames.items() if u}, default=None,
                                             return_dtype=pl.String).alias("parent_zh"),
        pl.col("parent_code").replace_strict({p: u.name_en for p, u in pnames.items() if u}, default=None,
                                             return_dtype=pl.String).alias("parent_en"),
    )
    if parent is not None:
        out = out.filter(pl.col("unit_code").is_in(list(units.subtree(parent))) & (pl.col("unit_code") != parent))
    if group is not None:
        out = out.filter(pl.col("group") == group)
    if search:
        q = search.strip().lower()
        out = out.filter(pl.col("unit_code").str.contains(q, literal=True)
                         | pl.col("name_zh").str.to_lowercase().str.contains(q, literal=True)
                         | pl.col("name_en").str.to_lowercase().str.contains(q, literal=True))
    out = out.sort("rank", "unit_code", nulls_last=True)
    if top is not None or bottom is not None:
        ends = [out.head(top or 0), out.filter(pl.col("rank").is_not_null()).tail(bottom or 0)]
        out = pl.concat(ends).unique("unit_code", maintain_order=True)
    cols = ["unit_code", "name_zh", "name_en", "parent_code", "parent_zh", "parent_en", "score", "rank", "group",
            "rank_in_group", "n_in_group"]
    return out.select(cols)


def province_scores(ctx: AppContext, profile: WeightProfile, period: str) -> pl.DataFrame | None:
    """The province level's scores for `period` (unit_code, name_zh, name_en, score, rank), each province scored
    from its own rolled-up values (etl.stores.levels); None when the unit table has no province level. Computed
    once per snapshot, profile and period."""
    def compute() -> pl.DataFrame | None:
        try:
            table, _ = score_level(ctx.config.paths.db, ctx.framework, profile, ctx.prepared(profile).grain, "province",
                                   "all")
        except (EtlError, LookupError, ValueError):
            return None
        return table.filter(pl.col("period") == period).select("unit_code", "name_zh", "name_en", "score", "rank")

    return ctx.memo(("province-scores", ctx.snapshot().key, profile.content_hash(), period), compute)
