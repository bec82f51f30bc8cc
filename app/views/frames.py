"""View models: the frames each page shows, built from the cached model (no Dash here, so tests call them directly)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from app.ui.i18n import fmt_datetime, fmt_int, fmt_interval, pick, t, unit_label
from app.views.scoring import (Prepared, RankIntervals, Scored, ScoreSource, ScoreView, StoredScores,
                               stored_intervals, stored_scores)
from app.state import AppContext
from app.views.priorities import priority_frame
from etl.ingest.quarantine import filter_quarantine
from indicators.profile import WeightProfile

SIDES = ("supply", "demand")
DIMENSIONS = ("value", "institution", "technology", "environment")


def node_label(ctx: AppContext, code: str, lang: str) -> str:
    n = ctx.framework.node(code)
    return pick(n.name_zh, n.name_en, lang) or code


def short_dimension_label(ctx: AppContext, code: str, lang: str) -> str:
    """'供给侧·价值引领' stays as is; catalog names already carry the side."""
    return node_label(ctx, code, lang)


def side_of(ctx: AppContext, code: str) -> str:
    for a in (code, *ctx.framework.ancestors(code)):
        if a in SIDES:
            return a
    return ""


@dataclass(frozen=True)
class Overview:
    """The overview page's data for one profile and period."""

    profile: WeightProfile
    period: str
    previous: str | None
    table: pl.DataFrame  # unit_code, name, score, rank, supply, demand, supply_rank, demand_rank, task_oriented, band, n_observed, n_indicators, rank_lo, rank_hi, rank_median
    movers: pl.DataFrame  # unit_code, name, rank, prev_rank, change
    intervals: RankIntervals | None
    periods: tuple[str, ...]
    source: ScoreSource  # the stored run shown, or "computed, not stored"


def scored_for(ctx: AppContext, profile: WeightProfile) -> tuple[Prepared, Scored]:
    prep = ctx.prepared(profile)
    return prep, prep.reweight(profile.resolved_weights(ctx.framework))


def stored_for(ctx: AppContext, profile: WeightProfile) -> StoredScores | None:
    """The stored run for this profile over the current snapshot's data (read once per snapshot), or None."""
    snap = ctx.snapshot()
    return ctx.memo(("stored-scores", snap.key, profile.content_hash(), ctx.framework.fingerprint()),
                    lambda: stored_scores(snap, ctx.framework, profile))


def scores_for(ctx: AppContext, profile: WeightProfile) -> tuple[ScoreView, ScoreSource]:
    """What the overview and district pages show: the stored run when there is one, else the engine's result
    labelled as computed, not stored (the app never writes into the snapshot; the next refresh stores it)."""
    stored = stored_for(ctx, profile)
    if stored is not None:
        return stored, stored.source
    return scored_for(ctx, profile)[1], ScoreSource()


def source_text(source: ScoreSource, lang: str) -> str:
    """The label every page showing scores carries: which stored run, or computed and not stored."""
    if source.stored:
        when = fmt_datetime(source.created_at, lang) if source.created_at else ""
        return t("source.stored", lang, run=source.run_id, time=when)
    return t("source.computed", lang)


def intervals_text(intervals: RankIntervals | None, lang: str) -> str:
    if intervals is None:
        return ""
    if intervals.stored_run:
        return t("overview.mc_note_stored", lang, n=fmt_int(intervals.n_ok, lang), run=intervals.stored_run)
    return t("overview.mc_note", lang, n=fmt_int(intervals.n_ok, lang))


def ranking_table(ctx: AppContext, scored: ScoreView, p: int, lang: str) -> pl.DataFrame:
    """One row per unit for period index p: composite, sides, ranks and the task-oriented flag, best first.

    Ranks are the view's own: the stored ranks of a stored run, the rank rule over a live what-if's scores.
    """
    # Built in numpy and handed to polars once, already sorted: this runs on every weight change, and a few small
    # polars queries cost more here (under a busy thread pool) than the whole re-aggregation.
    names = ctx.snapshot().district_names(lang)
    comp = scored.node(ctx.framework.root, p)
    rank = scored.ranks(ctx.framework.root, p)
    order = np.argsort(rank, kind="stable")  # unranked (NaN) last
    units = [scored.units[i] for i in order]
    cols: dict[str, pl.Series] = {
        "unit_code": pl.Series("unit_code", units, dtype=pl.String),
        "name": pl.Series("name", [names.get(u, u) for u in units], dtype=pl.String),
        "score": _floats("score", comp[order]),
        "rank": _ranks("rank", rank[order]),
    }
    if all(scored.has(s) for s in SIDES):
        sup, dem = scored.node("supply", p), scored.node("demand", p)
        cols.update(supply=_floats("supply", sup[order]), demand=_floats("demand", dem[order]),
                    supply_rank=_ranks("supply_rank", scored.ranks("supply", p)[order]),
                    demand_rank=_ranks("demand_rank", scored.ranks("demand", p)[order]))
        # Task-oriented (the study's term): at or above the city median on supply, below it on demand (medians of
        # the units with a score; a unit without one is not flagged).
        s, d = sup[order], dem[order]
        with np.errstate(invalid="ignore"):
            flag = (s >= _median(s)) & (d < _median(d))
        cols["task_oriented"] = pl.Series("task_oriented", flag, dtype=pl.Boolean)
        cols["gap"] = _floats("gap", s - d)
    else:
        cols["task_oriented"] = pl.Series("task_oriented", [False] * len(units), dtype=pl.Boolean)
    cols.update(_coverage_columns(scored, ctx.framework.root, p, order))
    return pl.DataFrame(list(cols.values()))


def _coverage_columns(scored: ScoreView, root: str, p: int, order: np.ndarray) -> dict[str, pl.Series]:
    """n_observed / n_indicators of the composite ("k of n indicators", app.ui.readings.fmt_k_of_n)."""
    try:
        k, n = scored.coverage(root, p)
    except LookupError:  # a view read without its framework: no coverage to show
        return {}
    return {"n_observed": pl.Series("n_observed", k[order], dtype=pl.Int64),
            "n_indicators": pl.Series("n_indicators", [n] * len(order), dtype=pl.Int64)}


def _floats(name: str, values: np.ndarray) -> pl.Series:
    """Float64 with NaN as null (a unit without a score)."""
    return pl.Series(name, np.asarray(values, dtype=np.float64), dtype=pl.Float64, nan_to_null=True)


def _ranks(name: str, ranks: np.ndarray) -> pl.Series:
    """Int64 ranks with an unranked unit (no score) as null."""
    return pl.Series(name, ranks, dtype=pl.Float64, nan_to_null=True).cast(pl.Int64)


def _median(v: np.ndarray) -> float:
    """The median of the units with a score (NaN when none has one), as polars' median of a nullable column."""
    known = v[~np.isnan(v)]
    return float(np.median(known)) if known.size else np.nan


def overview(ctx: AppContext, profile_name: str | None, lang: str, period: str | None = None) -> Overview:
    """The stored run for the profile (or the engine's result, labelled not stored) with its rank intervals: the
    stored uncertainty summary for that period when it matches, else a quick Monte Carlo computed now."""
    profile = ctx.profile(profile_name)
    view, source = scores_for(ctx, profile)
    p = view.period_index(period)
    table = ranking_table(ctx, view, p, lang)
    intervals = None
    if isinstance(view, StoredScores):
        intervals = ctx.memo(("stored-intervals", ctx.snapshot().key, view.run_id, view.periods[p]),
                             lambda: stored_intervals(ctx.snapshot(), view, profile, view.periods[p]))
    if intervals is None:
        try:
            intervals = ctx.rank_intervals(profile, view.periods[p])
        except Exception:  # e.g. a weighted-median profile the batch engine cannot sample: show ranks without intervals
            intervals = None
    if intervals is not None:
        iv = pl.DataFrame({"unit_code": list(intervals.units), "rank_lo": intervals.low, "rank_hi": intervals.high,
                           "rank_median": intervals.median})
        table = table.join(iv, on="unit_code", how="left")
    movers = pl.DataFrame(schema={"unit_code": pl.String, "name": pl.String, "rank": pl.Int64,
                                  "prev_rank": pl.Int64, "change": pl.Int64})
    previous = view.periods[p - 1] if p > 0 else None
    if previous is not None:
        prev_rank = view.ranks(ctx.framework.root, p - 1)
        movers = (
            table.select("unit_code", "name", "rank")
            .join(pl.DataFrame({"unit_code": list(view.units), "prev_rank": _ranks("prev_rank", prev_rank)}),
                  on="unit_code")
            .with_columns((pl.col("prev_rank") - pl.col("rank")).cast(pl.Int64).alias("change"))
        )
    return Overview(profile, view.periods[p], previous, table, movers, intervals, view.periods, source)


# -- district ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DistrictProfile:
    code: str
    name: str
    period: str
    summary: dict[str, float | int | None]
    dimensions: pl.DataFrame  # code, label, this, median, best, best_name
    indicators: pl.DataFrame  # one row per indicator (see district_profile)
    priorities: pl.DataFrame  # indicator, label, composite_gain, rank_gain, value, new_value
    quarantine: pl.DataFrame
    source: ScoreSource  # the stored run shown, or "computed, not stored" (priorities are always computed)
    # period, score, rank, supply_rank, demand_rank: the composite and ranks over every period of the shown run
    trend: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)


def district_profile(ctx: AppContext, code: str, profile_name: str | None, lang: str,
                     period: str | None = None) -> DistrictProfile:
    """A district's scores and ranks from the stored run (or computed, labelled not stored); raw values, samples
    and the improvement priorities (what-ifs by nature) from the engine's cached result."""
    profile = ctx.profile(profile_name)
    view, source = scores_for(ctx, profile)
    prep, scored = scored_for(ctx, profile)
    if code not in view.units or code not in prep.units:
        raise KeyError(code)
    p = view.period_index(period)
    period_name = view.periods[p]
    pp = prep.period_index(period_name)  # the same period in the engine's arrays (raw values, samples)
    u = view.units.index(code)
    up = prep.units.index(code)
    fw = ctx.framework
    names = ctx.snapshot().district_names(lang)
    table = ranking_table(ctx, view, p, lang)
    row = table.filter(pl.col("unit_code") == code).row(0, named=True)
    summary = {k: row.get(k) for k in ("score", "rank", "supply", "demand", "supply_rank", "demand_rank",
                                       "n_observed", "n_indicators")}  # k of n: app.ui.readings.fmt_k_of_n
    summary["n"] = len(view.units)

    dims = [c for c in fw.aggregates if c != fw.root]
    dims = [c for c in SIDES if view.has(c)] + [c for c in dims if c not in SIDES and view.has(c)]
    recs: list[dict[str, Any]] = []
    for c in dims:
        v = view.node(c, p)
        best_i = int(np.nanargmax(v)) if np.isfinite(v).any() else u
        recs.append({"code": c, "label": node_label(ctx, c, lang), "this": _f(v[u]),
                     "median": _f(np.nanmedian(v)) if np.isfinite(v).any() else None, "best": _f(np.nanmax(v))
                     if np.isfinite(v).any() else None, "best_name": names.get(view.units[best_i], "")})
    dimensions = pl.DataFrame(recs)

    res = scored.result()
    rows = view.rows if isinstance(view, StoredScores) else res.scores
    sf = rows.filter((pl.col("unit_code") == code) & pl.col("is_indicator"))
    by_period = sf.filter(pl.col("period") == period_name)
    trends = (
        sf.sort("period").group_by("node", maintain_order=True).agg(pl.col("raw_value").alias("trend"))
    )
    ii = {c: j for j, c in enumerate(prep.indicators)}
    raw_p = prep.result.raw[pp]
    # which values the engine moved toward the city value (empirical-Bayes shrinkage), and the value it scored
    shrunk_p = prep.result.shrunk[pp] if prep.shrinks and prep.result.shrunk is not None else None
    filled_p = prep.result.filled[pp]
    labels_of = _interval_labels(ctx, code, period_name, prep.grain)
    recs = []
    trend_map = dict(zip(trends["node"].to_list(), trends["trend"].to_list(), strict=True))
    for r in by_period.iter_rows(named=True):
        ind = r["node"]
        d = ctx.catalog.indicator(ind) if ind in ctx.catalog else None
        j = ii[ind]
        col_raw = raw_p[:, j]
        direction = fw.node(ind).direction
        best_raw = (np.nanmax(col_raw) if direction > 0 else np.nanmin(col_raw)) if np.isfinite(col_raw).any() else np.nan
        value = raw_p[up, j]
        recs.append({
            "indicator": ind,
            "label": pick(d.name_zh, d.name_en, lang) if d else ind,
            "side": side_of(ctx, ind),
            "dimension": node_label(ctx, fw.node(ind).parent or "", lang),
            "value": _f(value),
            "unit": unit_label(d.unit if d else fw.node(ind).unit, lang),
            "decimals": d.decimals if d else 1,
            "direction": direction,
            # a context indicator is shown with its note, never weighted (indicators/catalog/README.md, "Roles")
            "role": fw.node(ind).role,
            "role_note": (pick(d.context_note_zh, d.context_note_en, lang) or "") if d is not None else "",
            "score": r["score"],
            "rank": r["rank"],
            "gap_best": _f((best_raw - value) * direction) if np.isfinite(value) else None,
            "target": r["target"],
            "gap_target": r["gap_to_target"] if np.isfinite(value) else None,
            "trend": [None if x is None or not np.isfinite(x) else float(x) for x in trend_map.get(ind, [])],
            "sample": _f(prep.denominators[pp, up, j]),
            "imputed": r["imputed"],
            # only when the profile shrinks: the table marks a shrunk value and the XLSX has the columns then
            **({"shrunk": bool(shrunk_p[up, j]), "shrunk_value": _f(filled_p[up, j]) if shrunk_p[up, j] else None}
               if shrunk_p is not None else {}),
            **interval_fields(prep, pp, up, j, labels_of.get(ind, (None, None)), value, d.decimals if d else 1, lang),
        })
    indicators = pl.DataFrame(recs)

    # weight × gap × feasibility (app/views/priorities.py); the indicator table is sorted by it, highest first
    pri = priority_frame(res, scored.weights, code, pp)
    labels = {r["indicator"]: r["label"] for r in recs}
    indicators = (indicators.join(pri.select("indicator", "weight", "gap_points", "feasibility", "priority",
                                             "composite_gain"), on="indicator", how="left")
                  .sort(["priority", "composite_gain"], descending=True, nulls_last=True))
    priorities = (
        pri.filter(pl.col("priority").is_not_null() & (pl.col("priority") > 1e-9))
        .with_columns(pl.col("indicator").replace_strict(labels, default=pl.col("indicator")).alias("label"))
        .head(8)
    )
    trend = _trend(ctx, view, u).filter(pl.col("period") <= period_name)  # up to the period shown
    snap = ctx.snapshot()
    q = filter_quarantine(snap.quarantine, districts=[code])
    return DistrictProfile(code, names.get(code, code), period_name, summary, dimensions, indicators,
                           priorities, q, source, trend)


def _trend(ctx: AppContext, view: ScoreView, u: int) -> pl.DataFrame:
    """The unit's composite and ranks in every period of the view (the district page's trend chart)."""
    root = ctx.framework.root
    sides = [s for s in SIDES if view.has(s)]
    rows = []
    for p, period in enumerate(view.periods):
        row: dict[str, Any] = {"period": period, "score": _f(view.node(root, p)[u]),
                               "rank": _f(view.ranks(root, p)[u])}
        for s in sides:
            row[f"{s}_rank"] = _f(view.ranks(s, p)[u])
        rows.append(row)
    return pl.DataFrame(rows).with_columns(pl.col("^.*rank$").cast(pl.Int64))


def _interval_labels(ctx: AppContext, code: str, period: str, grain: str) -> dict[str, tuple[str | None, str | None]]:
    """indicator → (interval_method, missing_reason) of one district and period, from the snapshot's values."""
    v = ctx.snapshot().values
    if "interval_method" not in v.columns:
        return {}
    rows = v.filter((pl.col("unit_code") == code) & (pl.col("period") == period) & (pl.col("grain") == grain))
    return {i: (m, r) for i, m, r in rows.select("indicator_id", "interval_method", "missing_reason").iter_rows()}


def interval_fields(prep: Any, p: int, u: int, j: int, labels: tuple[str | None, str | None], value: object,
                    decimals: int, lang: str) -> dict[str, Any]:
    """n, ci_low, ci_high, se, interval_method, missing_reason of one cell, and `interval_text` (the value with its
    95% interval and n, or why it is missing) for a table cell or a hover text (app.ui.i18n.fmt_interval)."""
    panel = getattr(prep, "intervals", {}) or {}
    nums = {c: _f(panel[c][p, u, j]) if c in panel else None for c in ("n", "ci_low", "ci_high", "se")}
    method, reason = labels
    text = fmt_interval(_f(value), nums["ci_low"], nums["ci_high"], nums["n"], lang, decimals=decimals,
                        method=method, reason=reason)
    return {**nums, "interval_method": method, "missing_reason": reason, "interval_text": text}


def _f(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


# -- weights -------------------------------------------------------------------------------------------------------
def live_ranking(ctx: AppContext, prep: Prepared, weights: dict[str, float], period: str | None, lang: str
                 ) -> pl.DataFrame:
    """The reweighting hot path: re-aggregate the cached tensor, rank, name. Nothing else."""
    scored = prep.reweight(weights)
    return ranking_table(ctx, scored, prep.period_index(period), lang)


def effective_weights(ctx: AppContext, weights: dict[str, float], lang: str) -> pl.DataFrame:
    fw = ctx.framework
    eff = fw.effective_weights(weights)
    return pl.DataFrame({
        "indicator": list(fw.indicators),
        "label": [node_label(ctx, c, lang) for c in fw.indicators],
        "weight": eff,
        "side": [side_of(ctx, c) for c in fw.indicators],
    }).filter(pl.col("indicator").is_in(list(fw.scored_indicators)))  # context indicators take no weight


@dataclass(frozen=True)
class TreeNode:
    """One node of the framework tree as the methodology page shows it."""

    code: str
    label: str
    weight: float  # effective weight: the node's share of the overall score
    share: float  # its share of its parent (1 for the root)
    children: tuple[TreeNode, ...] = ()


def framework_tree(ctx: AppContext, weights: dict[str, float], lang: str) -> TreeNode:
    """The framework from its root, every node with its effective weight (share of the root) and its share of its
    parent, children in the framework's order (the methodology page's tree of effective weights)."""
    fw = ctx.framework
    w = fw.weights(weights)

    def node(code: str, weight: float, share: float) -> TreeNode:
        kids = fw.children(code)
        total = sum(w[k] for k in kids)
        return TreeNode(code, node_label(ctx, code, lang), weight, share, tuple(
            node(k, weight * (w[k] / total if total else 0.0), w[k] / total if total else 0.0) for k in kids))

    return node(fw.root, 1.0, 1.0)
