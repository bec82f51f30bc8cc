"""The scoring pipeline: impute → treat → normalise → aggregate over a panel, and fast re-aggregation from a cache.

`score(framework, data, spec)` takes a long frame (unit_code, period, indicator_id, value) or a units × indicators
(or periods × units × indicators) matrix. Normalisation is fitted once (on the panel or one period, per the spec) and
applied to every period, so scores are comparable over time; aggregation runs on all unit-periods in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from indicators import outputs
from indicators.aggregate import AggregationPlan, MethodChoice
from indicators.errors import ScoringError
from indicators.framework import Framework
from indicators.impute import impute
from indicators.normalise import NORMALISERS, ColumnNormaliser, Normaliser, make_normaliser
from indicators.spec import MethodSpec, ModelSpec
from indicators.treat import treat

LONG_COLUMNS = ("unit_code", "period", "indicator_id", "value")


@dataclass(frozen=True)
class Panel:
    """Raw values as periods × units × indicators (indicators in framework order)."""

    values: np.ndarray
    units: tuple[str, ...]
    periods: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def panel_from_long(
    framework: Framework,
    data: pl.DataFrame,
    units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
) -> Panel:
    """Pivot a long frame (unit_code, period, indicator_id, value) into a panel; extra indicators are ignored."""
    missing = [c for c in LONG_COLUMNS if c not in data.columns]
    if missing:
        raise ScoringError(f"the data lacks column(s) {', '.join(missing)}; expected {', '.join(LONG_COLUMNS)}")
    df = data.select(
        pl.col("unit_code").cast(pl.String), pl.col("period").cast(pl.String),
        pl.col("indicator_id").cast(pl.String), pl.col("value").cast(pl.Float64),
    )
    dup = df.group_by("unit_code", "period", "indicator_id").len().filter(pl.col("len") > 1)
    if dup.height:
        r = dup.row(0, named=True)
        raise ScoringError(
            f"{dup.height} duplicate value(s), e.g. unit {r['unit_code']!r}, period {r['period']!r}, "
            f"indicator {r['indicator_id']!r} appears {r['len']} times"
        )
    codes = framework.indicators
    present = set(df["indicator_id"].unique().to_list())
    warnings = []
    absent = [c for c in codes if c not in present]
    if absent:
        warnings.append(f"no data for indicator(s) {', '.join(absent)}: they are missing for every unit")
    extra = sorted(present - set(codes))
    if extra:
        warnings.append(f"ignored value(s) of indicator(s) not in the framework: {', '.join(extra)}")
    df = df.filter(pl.col("indicator_id").is_in(list(codes)))
    u = tuple(units) if units is not None else tuple(sorted(df["unit_code"].unique().to_list()))
    p = tuple(periods) if periods is not None else tuple(sorted(df["period"].unique().to_list()))
    if not u or not p:
        raise ScoringError("the data holds no values for any indicator of the framework")
    ui = {c: i for i, c in enumerate(u)}
    pi = {c: i for i, c in enumerate(p)}
    ii = {c: i for i, c in enumerate(codes)}
    X = np.full((len(p), len(u), len(codes)), np.nan)
    uu = np.array([ui.get(c, -1) for c in df["unit_code"].to_list()])
    pp = np.array([pi.get(c, -1) for c in df["period"].to_list()])
    jj = np.array([ii[c] for c in df["indicator_id"].to_list()])
    keep = (uu >= 0) & (pp >= 0)
    vals = df["value"].to_numpy()
    X[pp[keep], uu[keep], jj[keep]] = vals[keep]
    return Panel(X, u, p, tuple(warnings))


def panel_from_matrix(
    framework: Framework, data: Any, units: Sequence[str] | None = None, periods: Sequence[str] | None = None
) -> Panel:
    X = np.asarray(data, dtype=float)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[2] != len(framework.indicators):
        raise ScoringError(
            f"expected units × {len(framework.indicators)} indicators (or periods × units × indicators), "
            f"got shape {np.shape(data)}"
        )
    u = tuple(units) if units is not None else tuple(f"u{i + 1}" for i in range(X.shape[1]))
    p = tuple(periods) if periods is not None else tuple(f"p{i + 1}" for i in range(X.shape[0]))
    if len(u) != X.shape[1] or len(p) != X.shape[0]:
        raise ScoringError(f"got {len(u)} unit and {len(p)} period labels for a panel of shape {X.shape}")
    return Panel(X, u, p)


def _per_indicator(framework: Framework, name: str, params: Mapping[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """Goalposts / targets per indicator: from the method params, else from the framework nodes."""
    if name == "goalposts":
        given = params.get("goalposts") or {}
        low, high = [], []
        for c in codes:
            gp = given.get(c) or framework.node(c).goalposts
            if gp is None:
                raise ScoringError(f"goalpost normalisation: indicator {c!r} has no goalposts (params or catalog)")
            low.append(float(gp[0]))
            high.append(float(gp[1]))
        return {"low": np.array(low), "high": np.array(high)}
    if name == "distance_to_target":
        given = params.get("targets") or {}
        t = []
        for c in codes:
            v = given.get(c, framework.node(c).target)
            if v is None:
                raise ScoringError(f"distance-to-target normalisation: indicator {c!r} has no target")
            t.append(float(v))
        return {"targets": np.array(t)}
    return {}


def build_normaliser(framework: Framework, spec: ModelSpec) -> Normaliser:
    """The (unfitted) normaliser for the spec: one method, or column groups when there are per-indicator overrides."""
    codes = framework.indicators
    d = framework.directions()
    chosen: dict[str, MethodSpec] = {c: spec.normalisation_overrides.get(c, spec.normalisation) for c in codes}
    groups: dict[str, list[int]] = {}
    specs: dict[str, MethodSpec] = {}
    for j, c in enumerate(codes):
        key = chosen[c].model_dump_json()
        groups.setdefault(key, []).append(j)
        specs[key] = chosen[c]
    parts = []
    for key, idx in groups.items():
        s = specs[key]
        sub = [codes[j] for j in idx]
        extra = _per_indicator(framework, s.name, NORMALISERS.resolve(s.name, s.params), sub)
        parts.append((idx, make_normaliser(s.name, s.params, d[idx], **extra)))
    if len(parts) == 1:
        return parts[0][1]
    return ColumnNormaliser(parts)


def build_plan(framework: Framework, spec: ModelSpec) -> AggregationPlan:
    methods: dict[str, MethodChoice] = {k: (v.name, v.params) for k, v in spec.aggregation_overrides.items()}
    avail = {c: spec.availability_overrides.get(c, spec.availability) for c in framework.aggregates}
    return AggregationPlan.build(framework, methods, (spec.aggregation.name, spec.aggregation.params), avail)


@dataclass(frozen=True)
class ScoringCache:
    """The normalised indicator matrix and the compiled tree: a weight change only re-aggregates."""

    plan: AggregationPlan
    normalised: np.ndarray  # (periods × units) rows × indicators
    shape: tuple[int, int]  # (n_periods, n_units)
    weight_template: dict[str, float] = field(default_factory=dict)

    def reaggregate(self, weights: Mapping[str, float] | None = None) -> np.ndarray:
        """Every node's score as periods × units × nodes (columns in plan.order) under new relative weights."""
        w = {**self.weight_template, **(weights or {})}
        res = self.plan.run(self.normalised, w)
        return res.values.reshape(*self.shape, len(self.plan.order))


def reaggregate(cache: ScoringCache, weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Re-aggregate cached normalised values under new weights → periods × units × nodes."""
    return cache.reaggregate(weights)


@dataclass(frozen=True)
class ScoreResult:
    """Everything a scoring run produced. Arrays are periods × units × (indicators | nodes)."""

    framework: Framework
    spec: ModelSpec
    units: tuple[str, ...]
    periods: tuple[str, ...]
    order: tuple[str, ...]  # node columns: indicators, then aggregates bottom-up
    raw: np.ndarray
    imputed: np.ndarray  # bool: value was filled by imputation
    filled: np.ndarray  # raw values after imputation, before treatment
    treated: np.ndarray  # values after imputation and treatment (the normaliser's input)
    treat_flags: np.ndarray  # int8: 0 none, 1 winsorised high, -1 winsorised low, 2 log-transformed
    treat_details: pl.DataFrame
    normaliser: Normaliser  # fitted
    fit_rows: np.ndarray  # bool over periods: which periods the normaliser was fitted on
    values: np.ndarray  # every node's score (normalised value for indicators)
    below_threshold: np.ndarray
    plan: AggregationPlan
    weights: dict[str, float]
    warnings: tuple[str, ...] = ()

    @property
    def cache(self) -> ScoringCache:
        n_p, n_u, n_i = self.treated.shape
        return ScoringCache(self.plan, self.values[..., :n_i].reshape(-1, n_i), (n_p, n_u), dict(self.weights))

    @property
    def root_scores(self) -> np.ndarray:
        """The composite (root) score, periods × units."""
        return self.values[..., self.order.index(self.framework.root)]

    def wide(self, period: str | None = None) -> pl.DataFrame:
        """One row per unit (uCode first) with every indicator's normalised value and every aggregate's score."""
        p = self.periods.index(period) if period is not None else len(self.periods) - 1
        cols: dict[str, Any] = {"uCode": list(self.units)}
        cols.update({c: self.values[p, :, j] for j, c in enumerate(self.order)})
        return pl.DataFrame(cols)

    @cached_property
    def scores(self) -> pl.DataFrame:
        """Long: unit_code, period, node, score, rank, gap_to_best, gap_to_target, band, flags (see outputs)."""
        return outputs.scores_frame(self)

    @cached_property
    def contributions(self) -> pl.DataFrame:
        return outputs.contributions_frame(self)

    @cached_property
    def effective_weights(self) -> pl.DataFrame:
        return outputs.effective_weights_frame(self)

    def improvement_priorities(
        self, unit: str, period: str | None = None, step: str = "range", size: float = 0.1
    ) -> pl.DataFrame:
        return outputs.improvement_priorities(self, unit, period, step, size)


def score(
    framework: Framework,
    data: Any,
    spec: ModelSpec | None = None,
    *,
    units: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
    groups: Mapping[str, Any] | None = None,
) -> ScoreResult:
    """Score a panel. `groups` maps unit code → group label (for group_mean imputation)."""
    spec = spec or ModelSpec()
    try:
        spec.validate_for(framework)
    except ValueError as e:
        raise ScoringError(str(e)) from None
    panel = (
        panel_from_long(framework, data, units, periods)
        if isinstance(data, pl.DataFrame)
        else panel_from_matrix(framework, data, units, periods)
    )
    codes = framework.indicators
    X = panel.values
    n_p, n_u, n_i = X.shape

    # impute
    grp = None
    if groups is not None:
        lacking = [u for u in panel.units if u not in groups]
        if lacking:
            raise ScoringError(f"no group given for unit(s) {', '.join(lacking[:5])}")
        grp = [groups[u] for u in panel.units]
    imp = impute(X, spec.imputation.name, spec.imputation.params, framework=framework, groups=grp)

    # treat: over the pooled panel, or per period
    overrides = {k: (v.name, v.params) for k, v in spec.treatment_overrides.items()}
    tname, tparams = spec.treatment.name, spec.treatment.params
    if spec.treat_by == "panel" or n_p == 1:
        tr = treat(imp.values.reshape(-1, n_i), codes, tname, tparams, overrides)
        treated, tflags, details = tr.values.reshape(X.shape), tr.flags.reshape(X.shape), tr.details
    else:
        treated, tflags = np.empty_like(X), np.zeros(X.shape, dtype=np.int8)
        frames = []
        for k, per in enumerate(panel.periods):
            tr = treat(imp.values[k], codes, tname, tparams, overrides)
            treated[k], tflags[k] = tr.values, tr.flags
            frames.append(tr.details.with_columns(pl.lit(per).alias("period")))
        details = pl.concat(frames)

    # normalise: fit once, transform every period
    if spec.fit_on == "panel":
        fit_rows = np.ones(n_p, dtype=bool)
    else:
        if spec.fit_on not in panel.periods:
            raise ScoringError(f"fit_on period {spec.fit_on!r} is not in the data; periods: {', '.join(panel.periods)}")
        fit_rows = np.array([p == spec.fit_on for p in panel.periods])
    normaliser = build_normaliser(framework, spec)
    try:
        normaliser.fit(treated[fit_rows].reshape(-1, n_i))
        N = normaliser.transform(treated.reshape(-1, n_i))
    except ValueError as e:
        raise ScoringError(f"normalisation ({spec.normalisation.name}): {e}") from None

    # aggregate all unit-periods in one pass
    plan = build_plan(framework, spec)
    weights = framework.weights(spec.weights)
    labels = [u if n_p == 1 else f"{u} ({p})" for p in panel.periods for u in panel.units]
    agg = plan.run(N, weights, labels)
    return ScoreResult(
        framework=framework, spec=spec, units=panel.units, periods=panel.periods, order=plan.order,
        raw=X, imputed=imp.imputed, filled=imp.values, treated=treated, treat_flags=tflags, treat_details=details,
        normaliser=normaliser, fit_rows=fit_rows, values=agg.values.reshape(n_p, n_u, -1),
        below_threshold=agg.below_threshold.reshape(n_p, n_u, -1), plan=plan, weights=weights,
        warnings=panel.warnings,
    )
