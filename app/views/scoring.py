"""The app's scores: the stored runs (the truth the pages show), and the engine's cached tensor for live what-ifs.

Scores have one home. `stored_scores` reads the run `govindex refresh` (or `govindex score`) stored for a profile
over the snapshot's current data, and `stored_intervals` the uncertainty summary stored beside it; the overview and
district pages show those. A profile with no stored run over the current data (saved in the app after the last
refresh, or a published version the refresh did not score) is computed with the engine and labelled as computed,
not stored: the app opens the warehouse read-only and never writes into the snapshot the refresh job owns.

`prepare` runs the engine's full pipeline (impute → treat → normalise → aggregate) on the snapshot's indicator
values at one grain; `Prepared.reweight` re-aggregates the cached normalised tensor under a profile's weights
(the live path of the weights page); `quick_rank_intervals` runs the uncertainty engine's vectorised Monte Carlo
on the cached tensor for the overview's 5–95% rank intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Protocol

import numpy as np
import polars as pl

from etl.warehouse.snapshot import INTERVAL_COLUMNS, DataUnavailable, Snapshot
from indicators.uncertainty import montecarlo as mc
from indicators.catalog import Catalog
from indicators.framework import Framework
from indicators import outputs
from indicators.model import ScoreResult, has_composite, score
from indicators.periods import completeness, default_period
from indicators.profile import WeightProfile
from indicators.ranking import rank_desc
from indicators.spec import ModelSpec

GRAINS = ("quarter", "month")
# Two scores agree when they differ by less than this (a stored run against the engine's what-if, nominal scores).
SAME_SCORE = 1e-9
# Weight noise of the overview's quick Monte Carlo: every relative weight scaled by U(1 - x, 1 + x).
QUICK_MC_NOISE = 0.5


def choose_grain(values: pl.DataFrame, preferred: str = "quarter") -> str:
    """The grain to score: the preferred one when the warehouse has it, else whichever it has."""
    if values.height == 0 or "grain" not in values.columns:
        return preferred
    have = set(values["grain"].drop_nulls().unique().to_list())
    for g in (preferred, *GRAINS):
        if g in have:
            return g
    return sorted(have)[0] if have else preferred


class ScoreView(Protocol):
    """Scores and ranks of every node per period and unit: a stored run or a live what-if, read the same way."""

    @property
    def units(self) -> tuple[str, ...]: ...

    @property
    def periods(self) -> tuple[str, ...]: ...

    def period_index(self, period: str | None) -> int: ...

    def has(self, code: str) -> bool: ...

    def node(self, code: str, period: int = -1) -> np.ndarray: ...

    def ranks(self, code: str | None = None, period: int = -1) -> np.ndarray: ...

    def coverage(self, code: str | None = None, period: int = -1) -> tuple[np.ndarray, int]: ...


def _coverage(framework: Framework, order: tuple[str, ...], weights: Mapping[str, float], observed: np.ndarray,
              code: str, period: int) -> tuple[np.ndarray, int]:
    """k per unit (indicators observed, not imputed) and n (indicators counted) of node `code` in one period."""
    M = outputs.counted_indicators(framework, (code,), weights)[0]
    return observed[period][:, M].sum(axis=1).astype(np.int64), int(M.sum())


@dataclass(frozen=True)
class Scored:
    """Every node's score for every period and unit under one set of weights."""

    prepared: Prepared
    weights: dict[str, float]
    values: np.ndarray  # periods × units × nodes (columns in prepared.order)

    @property
    def units(self) -> tuple[str, ...]:
        return self.prepared.units

    @property
    def periods(self) -> tuple[str, ...]:
        return self.prepared.periods

    def period_index(self, period: str | None) -> int:
        return self.prepared.period_index(period)

    def has(self, code: str) -> bool:
        return code in self.prepared.col

    def node(self, code: str, period: int = -1) -> np.ndarray:
        return self.values[period, :, self.prepared.col[code]]

    def composite(self, period: int = -1) -> np.ndarray:
        return self.node(self.prepared.framework.root, period)

    def ranks(self, code: str | None = None, period: int = -1) -> np.ndarray:
        """The rank rule (indicators.ranking.rank_desc): 1 = best, ties share the best rank, no score → NaN."""
        v = self.node(code or self.prepared.framework.root, period)
        return rank_desc(v)

    def coverage(self, code: str | None = None, period: int = -1) -> tuple[np.ndarray, int]:
        """(k per unit, n): how many of the indicators `code` counts under these weights were observed."""
        fw = self.prepared.framework
        return _coverage(fw, self.prepared.order, self.weights, self.prepared.observed, code or fw.root, period)

    def result(self) -> ScoreResult:
        """The engine's result object with these weights, for its output tables (scores, priorities, ...)."""
        return dataclasses.replace(self.prepared.result, values=self.values, weights=self.weights)


@dataclass(frozen=True)
class Prepared:
    """The engine's result for one snapshot, grain and method spec, with sample sizes beside the values."""

    result: ScoreResult
    grain: str
    numerators: np.ndarray  # periods × units × indicators
    denominators: np.ndarray
    default_period: str  # the latest period the data cover completely (a partial edge quarter is not chosen)
    #: periods × units × indicators panels of the values' n, ci_low, ci_high and se (indicator_values; NaN where
    #: unknown), for hover texts, tables and a data-uncertainty Monte Carlo
    intervals: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def framework(self) -> Framework:
        return self.result.framework

    @property
    def units(self) -> tuple[str, ...]:
        return self.result.units

    @property
    def periods(self) -> tuple[str, ...]:
        return self.result.periods

    @property
    def indicators(self) -> tuple[str, ...]:
        return self.result.framework.indicators

    @property
    def order(self) -> tuple[str, ...]:
        return self.result.order

    @cached_property
    def col(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.result.order)}

    @cached_property
    def observed(self) -> np.ndarray:
        """bool periods × units × indicators: a value was measured (present and not filled by imputation)."""
        return ~np.isnan(self.result.raw) & ~self.result.imputed

    @property
    def shrinks(self) -> bool:
        """The values were moved toward the city value by empirical-Bayes shrinkage (the profile's option)."""
        return self.result.spec.shrinkage != "none"

    @cached_property
    def normalised(self) -> np.ndarray:
        """periods × units × indicators: the cached input of every reweighting."""
        return self.result.values[..., : len(self.indicators)]

    def reweight(self, weights: Mapping[str, float]) -> Scored:
        """Re-aggregate the cached normalised values under `weights` (relative within parent, any non-root node)."""
        values = self.result.cache.reaggregate(dict(weights))
        return Scored(self, dict(weights), values)

    def period_index(self, period: str | None) -> int:
        if period is None or period not in self.periods:
            return self.periods.index(self.default_period)
        return self.periods.index(period)


def prepare(snapshot: Snapshot, catalog: Catalog, framework: Framework, spec: ModelSpec,
            grain: str = "quarter") -> Prepared:
    """Score the snapshot's indicator values at `grain` with the engine (cached by the caller)."""
    if not snapshot.available:
        raise DataUnavailable(f"the warehouse {snapshot.path} holds no indicator values")
    g = choose_grain(snapshot.values, grain)
    long = snapshot.values.filter(pl.col("grain") == g) if "grain" in snapshot.values.columns else snapshot.values
    long = long.filter(pl.col("indicator_id").is_in(list(framework.indicators)))
    if long.height == 0:
        raise DataUnavailable(f"the warehouse {snapshot.path} holds no values for the catalog's indicators")
    units = tuple(sorted(long["unit_code"].unique().to_list()))
    periods = tuple(sorted(long["period"].unique().to_list()))
    result = score(framework, long, spec, units=units, periods=periods,
                   complete=completeness(periods, snapshot.complete_months))
    num = _panel(long, "numerator", framework, units, periods)
    den = _panel(long, "denominator", framework, units, periods)
    default = default_period(periods, snapshot.complete_months) or periods[-1]
    intervals = {c: _panel(long, c, framework, units, periods) for c in INTERVAL_COLUMNS if c in long.columns}
    return Prepared(result=result, grain=g, numerators=num, denominators=den, default_period=default,
                    intervals=intervals)


def _panel(long: pl.DataFrame, column: str, framework: Framework, units: tuple[str, ...],
           periods: tuple[str, ...]) -> np.ndarray:
    out = np.full((len(periods), len(units), len(framework.indicators)), np.nan)
    ui = {c: i for i, c in enumerate(units)}
    pi = {c: i for i, c in enumerate(periods)}
    ii = {c: i for i, c in enumerate(framework.indicators)}
    for u, p, ind, v in long.select("unit_code", "period", "indicator_id", column).iter_rows():
        if v is not None and u in ui and p in pi and ind in ii:
            out[pi[p], ui[u], ii[ind]] = v
    return out


# -- stored runs: what the pages show -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreSource:
    """Where a page's scores come from: a stored run (its id and time), or computed now and not stored (None)."""

    run_id: str | None = None
    created_at: datetime | None = None

    @property
    def stored(self) -> bool:
        return self.run_id is not None


@dataclass(frozen=True)
class StoredScores:
    """One stored score run as arrays (periods × units × nodes): the stored scores and the stored ranks."""

    run_id: str
    created_at: datetime
    profile_name: str
    grain: str
    root: str
    units: tuple[str, ...]
    periods: tuple[str, ...]
    order: tuple[str, ...]
    values: np.ndarray
    rank_values: np.ndarray  # as stored (NaN where the run left a unit unranked)
    rows: pl.DataFrame  # the run's rows of the `scores` table
    default_period: str
    framework: Framework | None = None
    weights: Mapping[str, float] = dataclasses.field(default_factory=dict)  # the run's resolved weights
    #: bool periods × units × indicators: the indicator was measured (a stored value, not imputed)
    observed: np.ndarray | None = None
    shrinks: bool = False  # the run's spec shrinks values toward the city value (empirical Bayes)

    @cached_property
    def col(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.order)}

    def has(self, code: str) -> bool:
        return code in self.col

    def node(self, code: str, period: int = -1) -> np.ndarray:
        return self.values[period, :, self.col[code]]

    def composite(self, period: int = -1) -> np.ndarray:
        return self.node(self.root, period)

    def ranks(self, code: str | None = None, period: int = -1) -> np.ndarray:
        return self.rank_values[period, :, self.col[code or self.root]]

    def period_index(self, period: str | None) -> int:
        if period is None or period not in self.periods:
            return self.periods.index(self.default_period)
        return self.periods.index(period)

    def coverage(self, code: str | None = None, period: int = -1) -> tuple[np.ndarray, int]:
        """(k per unit, n) from the run's stored indicator rows (a value that is not imputed counts as observed)."""
        if self.framework is None or self.observed is None:
            raise LookupError("this stored run was read without its framework")
        return _coverage(self.framework, self.order, self.weights, self.observed, code or self.root, period)

    @property
    def source(self) -> ScoreSource:
        return ScoreSource(self.run_id, self.created_at)


def stored_scores(snapshot: Snapshot, framework: Framework, profile: WeightProfile,
                  grain: str = "quarter") -> StoredScores | None:
    """The latest run stored for exactly this profile (content hash) and framework over the snapshot's data; None
    when there is none (the caller computes and labels the result as not stored)."""
    runs = snapshot.score_runs
    if runs.height == 0:
        return None
    g = choose_grain(snapshot.values, grain)
    hit = runs.filter((pl.col("profile_hash") == profile.content_hash())
                      & (pl.col("framework_hash") == framework.fingerprint()) & (pl.col("grain") == g))
    if hit.height == 0:
        return None
    run = hit.sort("created_at").row(-1, named=True)
    rows = snapshot.scores.filter(pl.col("run_id") == run["run_id"])
    if rows.height == 0:
        return None
    units = tuple(sorted(rows["unit_code"].unique().to_list()))
    periods = tuple(sorted(rows["period"].unique().to_list()))
    present = set(rows["node"].unique().to_list())
    order = tuple(c for c in framework.codes if c in present)
    index = rows.select(
        pl.col("period").replace_strict({p: i for i, p in enumerate(periods)}, return_dtype=pl.Int64),
        pl.col("unit_code").replace_strict({u: i for i, u in enumerate(units)}, return_dtype=pl.Int64),
        pl.col("node").replace_strict({c: i for i, c in enumerate(order)}, default=-1, return_dtype=pl.Int64),
        pl.col("score").cast(pl.Float64).fill_null(np.nan),
        pl.col("rank").cast(pl.Float64).fill_null(np.nan),
    ).filter(pl.col("node") >= 0)
    values = np.full((len(periods), len(units), len(order)), np.nan)
    ranks = np.full(values.shape, np.nan)
    at = (index["period"].to_numpy(), index["unit_code"].to_numpy(), index["node"].to_numpy())
    values[at] = index["score"].to_numpy()
    ranks[at] = index["rank"].to_numpy()
    default = default_period(periods, snapshot.complete_months) or periods[-1]
    observed = _stored_observed(rows, framework, periods, units)
    return StoredScores(str(run["run_id"]), run["created_at"].replace(tzinfo=timezone.utc), str(run["profile_name"]),
                        g, framework.root, units, periods, order, values, ranks, rows, default, framework,
                        profile.resolved_weights(framework), observed,
                        profile.methods.shrinkage != "none")  # the run is matched by the profile's content


def _stored_observed(rows: pl.DataFrame, framework: Framework, periods: tuple[str, ...],
                     units: tuple[str, ...]) -> np.ndarray:
    """bool periods × units × indicators from a run's indicator rows: a raw value that was not imputed."""
    inds = framework.indicators
    out = np.zeros((len(periods), len(units), len(inds)), dtype=bool)
    ind = rows.filter(pl.col("node").is_in(list(inds)))
    if ind.height == 0:
        return out
    at = ind.select(
        pl.col("period").replace_strict({p: i for i, p in enumerate(periods)}, return_dtype=pl.Int64),
        pl.col("unit_code").replace_strict({u: i for i, u in enumerate(units)}, return_dtype=pl.Int64),
        pl.col("node").replace_strict({c: i for i, c in enumerate(inds)}, return_dtype=pl.Int64),
        (pl.col("raw_value").is_not_null() & ~pl.col("imputed").fill_null(False)).alias("obs"),
    )
    out[at["period"].to_numpy(), at["unit_code"].to_numpy(), at["node"].to_numpy()] = at["obs"].to_numpy()
    return out


def stored_intervals(snapshot: Snapshot, stored: StoredScores, profile: WeightProfile,
                     period: str) -> RankIntervals | None:
    """The stored uncertainty summary for this profile and period, when it was run on the same data as `stored`.

    Uncertainty runs do not record the data they saw; their nominal scores do: a summary is used only when every
    unit's nominal score equals the stored run's composite for that period (to SAME_SCORE), so intervals of
    older data are never shown beside newer scores.
    """
    u_runs = snapshot.uncertainty_runs
    if u_runs.height == 0 or period not in stored.periods:
        return None
    hit = u_runs.filter((pl.col("profile_hash") == profile.content_hash()) & (pl.col("grain") == stored.grain)
                        & (pl.col("period") == period))
    if hit.height == 0:
        return None
    run = hit.sort("created_at").row(-1, named=True)
    ranks = snapshot.uncertainty_ranks.filter(pl.col("run_id") == run["run_id"])
    if sorted(ranks["unit_code"].to_list()) != list(stored.units):
        return None
    ranks = ranks.sort("unit_code")
    nominal = ranks["nominal_score"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    comp = stored.composite(stored.periods.index(period))
    same = (np.isnan(nominal) & np.isnan(comp)) | (np.abs(nominal - comp) <= SAME_SCORE)
    if not same.all():
        return None

    def col(name: str) -> np.ndarray:
        return ranks[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    return RankIntervals(stored.units, col("median_rank"), col("rank_low"), col("rank_high"), None,
                         int(run["samples_ok"]), int(run["samples"]), stored_run=str(run["run_id"]))


# -- quick Monte Carlo for the overview ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RankIntervals:
    """Per unit: median rank and the 5–95% interval over weight samples; P(row above column) when computed here.

    `stored_run` names the stored uncertainty run they were read from; None when computed live (quick_rank_intervals).
    """

    units: tuple[str, ...]
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_above: np.ndarray | None
    n_ok: int
    n: int
    stored_run: str | None = None


def quick_rank_intervals(prep: Prepared, profile: WeightProfile, period: str | None, n: int,
                         seed: int) -> RankIntervals:
    """Each relative weight scaled by U(0.5, 1.5) independently, n samples, evaluated in batch by the MC engine."""
    fw = prep.framework
    tree = mc.CompiledTree.build(fw)
    w0 = tree.weight_vector(profile.resolved_weights(fw))
    rng = np.random.default_rng(seed)
    W = w0[None, :] * rng.uniform(1 - QUICK_MC_NOISE, 1 + QUICK_MC_NOISE, size=(n, w0.size))
    spec = prep.result.spec
    overrides = {k: (v.name, dict(v.params)) for k, v in spec.aggregation_overrides.items()}
    methods = tree.methods(overrides, (spec.aggregation.name, dict(spec.aggregation.params)))
    X = prep.normalised[prep.period_index(period)]
    # units without a composite (too few indicators for the availability threshold) have no rank to vary
    keep = has_composite(fw, spec, X, profile.resolved_weights(fw))
    units = tuple(u for u, k in zip(prep.units, keep) if k)
    ev = mc.evaluate(tree, X[keep], W, methods)
    ok = (ev.domain_step < 0) & np.isfinite(ev.root).all(axis=1)
    s = mc.summarise(units, ev.root, ok)
    return RankIntervals(units, s.median_rank, s.rank_low, s.rank_high, s.p_above, s.n_ok, n)
