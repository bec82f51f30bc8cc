"""The district comparison (区对比): two or more districts side by side, dimension by dimension and indicator by
indicator, from the same district profiles the district page shows (stored run, or computed and labelled)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from app.state import AppContext
from app.views import frames as views
from app.views.scoring import ScoreSource

# More than this many districts side by side stop being readable on a 1440-wide screen or an A4 page.
MAX_UNITS = 8


def parse_units(text: str | Sequence[str] | None) -> list[str]:
    """'310101,310104' (the URL's form) or a list → codes in the order given, duplicates and blanks dropped."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    out: list[str] = []
    for item in items:
        code = str(item).strip()
        if code and code not in out:
            out.append(code)
    return out


@dataclass(frozen=True)
class Comparison:
    units: tuple[str, ...]  # the known codes compared, in the order chosen
    names: tuple[str, ...]
    unknown: tuple[str, ...]  # codes asked for that the data do not have
    period: str | None
    summary: pl.DataFrame  # unit_code, name, score, rank, supply, demand, supply_rank, demand_rank
    dimensions: pl.DataFrame  # code, label, then per unit: s_<code> (score), r_<code> (rank)
    #: indicator, label, side, unit, direction, decimals, then per unit: v_ (value), r_ (rank), i_ (the value with
    #: its 95% interval and n, or why it is missing: the cell's hover) and, with a profile that shrinks, sh_ (shrunk)
    indicators: pl.DataFrame
    source: ScoreSource | None


def compare(ctx: AppContext, codes: Sequence[str], profile_name: str | None, lang: str,
            period: str | None = None) -> Comparison:
    """Side-by-side frames for the known `codes` (at most MAX_UNITS); unknown codes are reported, not raised."""
    view, source = views.scores_for(ctx, ctx.profile(profile_name))
    wanted = parse_units(codes)
    known = [c for c in wanted if c in view.units][:MAX_UNITS]
    unknown = tuple(c for c in wanted if c not in view.units)
    if not known:
        return Comparison((), (), unknown, None, pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), source)
    profiles = [views.district_profile(ctx, c, profile_name, lang, period) for c in known]
    p = view.period_index(period)
    ranks = {d: view.ranks(d, p) for d in profiles[0].dimensions["code"].to_list()}
    summary = pl.DataFrame([{"unit_code": dp.code, "name": dp.name, **{k: dp.summary.get(k) for k in (
        "score", "rank", "supply", "demand", "supply_rank", "demand_rank")}} for dp in profiles])
    dims = profiles[0].dimensions.select("code", "label")
    for dp in profiles:
        u = view.units.index(dp.code)
        dims = dims.with_columns(
            pl.Series(f"s_{dp.code}", dp.dimensions["this"].to_list(), dtype=pl.Float64),
            pl.Series(f"r_{dp.code}", [None if math.isnan(ranks[c][u]) else int(ranks[c][u])
                                       for c in dp.dimensions["code"].to_list()], dtype=pl.Int64),
        )
    base = profiles[0].indicators.select("indicator", "label", "side", "dimension", "unit", "direction", "decimals")
    order = {c: i for i, c in enumerate(ctx.framework.indicators)}  # framework order: same rows for everyone
    inds = base.with_columns(pl.col("indicator").replace_strict(order, default=len(order)).alias("_o")).sort("_o")
    for dp in profiles:
        extra = [pl.col(src).alias(f"{pre}_{dp.code}") for src, pre in (("interval_text", "i"), ("shrunk", "sh"))
                 if src in dp.indicators.columns]
        inds = inds.join(dp.indicators.select("indicator", pl.col("value").alias(f"v_{dp.code}"),
                                              pl.col("rank").alias(f"r_{dp.code}"), *extra),
                         on="indicator", how="left")
    return Comparison(tuple(known), tuple(dp.name for dp in profiles), unknown, profiles[0].period, summary, dims,
                      inds.drop("_o"), source)
