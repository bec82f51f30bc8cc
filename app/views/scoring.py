"""The app's adapter over the scoring engine: score once per snapshot and method spec, then reweight in memory.

`prepare` runs the engine's full pipeline (impute → treat → normalise → aggregate) on the snapshot's indicator
values at one grain; `Prepared.reweight` re-aggregates the cached normalised tensor under a profile's weights
(the live path of the weights page); `quick_rank_intervals` runs the uncertainty engine's vectorised Monte Carlo
on the cached tensor for the overview's 5–95% rank intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from etl.warehouse.snapshot import DataUnavailable, Snapshot
from indicators.uncertainty import montecarlo as mc
from indicators.catalog import Catalog
from indicators.framework import Framework
from indicators.model import ScoreResult, score
from indicators.periods import default_period
from indicators.profile import WeightProfile
from indicators.ranking import rank_desc
from indicators.spec import ModelSpec

GRAINS = ("quarter", "month")
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


@dataclass(frozen=True)
class Scored:
    """Every node's score for every period and unit under one set of weights."""

    prepared: Prepared
    weights: dict[str, float]
    values: np.ndarray  # periods × units × nodes (columns in prepared.order)

    def node(self, code: str, period: int = -1) -> np.ndarray:
        return self.values[period, :, self.prepared.col[code]]

    def composite(self, period: int = -1) -> np.ndarray:
        return self.node(self.prepared.framework.root, period)

    def ranks(self, code: str | None = None, period: int = -1) -> np.ndarray:
        """The rank rule (indicators.ranking.rank_desc): 1 = best, ties share the best rank, no score → NaN."""
        v = self.node(code or self.prepared.framework.root, period)
        return rank_desc(v)

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
    result = score(framework, long, spec, units=units, periods=periods)
    num = _panel(long, "numerator", framework, units, periods)
    den = _panel(long, "denominator", framework, units, periods)
    default = default_period(periods, snapshot.complete_months) or periods[-1]
    return Prepared(result=result, grain=g, numerators=num, denominators=den, default_period=default)


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


# -- quick Monte Carlo for the overview ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RankIntervals:
    """Per unit: median rank and the 5–95% interval over weight samples; P(row above column)."""

    units: tuple[str, ...]
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_above: np.ndarray
    n_ok: int
    n: int


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
    ev = mc.evaluate(tree, X, W, methods)
    ok = (ev.domain_step < 0) & np.isfinite(ev.root).all(axis=1)
    s = mc.summarise(prep.units, ev.root, ok)
    return RankIntervals(prep.units, s.median_rank, s.rank_low, s.rank_high, s.p_above, s.n_ok, n)
