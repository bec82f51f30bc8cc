"""The scoring pipeline: impute → treat → normalise → aggregate over a panel, and fast re-aggregation from a cache.

`score(framework, data, spec)` takes a long frame (unit_code, period, indicator_id, value) or a units × indicators
(or periods × units × indicators) matrix. Normalisation is fitted once (on the panel, a declared reference window or
one period, per the spec) and applied to every period, so scores are comparable over time; aggregation runs on all
unit-periods in one pass.

Complete and partial periods: the caller says which periods the data cover completely (`complete=`; None = all of
them). A partial period (the edge quarter with one month loaded) is scored, but nothing is fitted on it: not the
normalisation bounds, not the pooled outlier treatment (a partial period is treated on its own), not imputation
(complete periods are imputed without it; it may borrow from them). So adding a month to the data never moves the
scores of the complete periods through the fit unless the fit is over the whole panel.
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
from indicators.normalise import (NORMALISERS, ColumnNormaliser, GoalpostNormaliser, MinMaxNormaliser, Normaliser,
                                  make_normaliser)
from indicators.periods import in_window, period_months, window_months
from indicators.reliability import binomial_se, shrink
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
    #: each value's sampling error (same shape; NaN where unknown): the frame's `se`, else a rate's binomial error
    #: from `numerator` / `denominator` (indicators.reliability.binomial_se); None when the data carry neither
    se: np.ndarray | None = None


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
    se = _se_panel(data.filter(pl.col("indicator_id").cast(pl.String).is_in(list(codes))), X.shape,
                   (pp[keep], uu[keep], jj[keep]), keep, vals)
    return Panel(X, u, p, tuple(warnings), se)


def _se_panel(data: pl.DataFrame, shape: tuple[int, ...], at: tuple[np.ndarray, ...], keep: np.ndarray,
              vals: np.ndarray) -> np.ndarray | None:
    """Sampling errors laid out like the panel: the `se` column when the frame has one, else binomial from
    numerator and denominator (rates only); None when the frame has neither."""
    have = set(data.columns)
    if "se" not in have and not {"numerator", "denominator"} <= have:
        return None

    def col(name: str) -> np.ndarray:
        if name not in have:
            return np.full(data.height, np.nan)
        return data[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    # the stored `se` is authoritative (a NULL there is a value with no known error); without the column, rates get
    # their binomial error
    se = col("se") if "se" in have else binomial_se(vals, col("numerator"), col("denominator"))
    out = np.full(shape, np.nan)
    out[at] = se[keep]
    return out


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
    avail = spec.node_availability(framework)
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
    raw: np.ndarray  # as observed (before shrinkage)
    imputed: np.ndarray  # bool: value was filled by imputation
    filled: np.ndarray  # raw values after imputation, before treatment
    treated: np.ndarray  # values after imputation and treatment (the normaliser's input)
    treat_flags: np.ndarray  # int8: 0 none, 1 winsorised high, -1 winsorised low, 2 log-transformed
    treat_details: pl.DataFrame
    normaliser: Normaliser  # fitted
    fit_rows: np.ndarray  # bool over periods: which periods the normaliser was fitted on
    complete: np.ndarray  # bool over periods: which periods the data cover completely (the others are partial)
    values: np.ndarray  # every node's score (normalised value for indicators)
    below_threshold: np.ndarray
    plan: AggregationPlan
    weights: dict[str, float]
    warnings: tuple[str, ...] = ()
    #: bool like raw: the value was moved toward the city value by empirical-Bayes shrinkage (spec.shrinkage)
    shrunk: np.ndarray | None = None

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
    complete: Sequence[str] | None = None,
) -> ScoreResult:
    """Score a panel. `groups` maps unit code → group label (for group_mean imputation). `complete` names the
    periods the data cover completely (None: every period); the others are partial and never fitted on. `data`: a
    long frame, a matrix, or a Panel (used as it is: `units` and `periods` do not apply)."""
    spec = spec or ModelSpec()
    try:
        spec.validate_for(framework)
    except ValueError as e:
        raise ScoringError(str(e)) from None
    if isinstance(data, Panel):  # already pivoted (panel_from_long): one pivot shared by several specs' runs
        panel = data
    else:
        panel = (
            panel_from_long(framework, data, units, periods)
            if isinstance(data, pl.DataFrame)
            else panel_from_matrix(framework, data, units, periods)
        )
    codes = framework.indicators
    X = panel.values
    n_p, n_u, n_i = X.shape

    # shrink toward the city value (before imputation: a filled value has no sampling error of its own)
    shrunk = np.zeros(X.shape, dtype=bool)
    if spec.shrinkage == "empirical_bayes":
        if panel.se is None or not np.isfinite(panel.se).any():
            raise ScoringError("empirical-Bayes shrinkage needs each value's sampling error (column se, or numerator "
                               "and denominator of rates); the data have none")
        sh = shrink(X, panel.se)
        X, shrunk = sh.values, sh.shrunk

    # impute
    grp = None
    if groups is not None:
        lacking = [u for u in panel.units if u not in groups]
        if lacking:
            raise ScoringError(f"no group given for unit(s) {', '.join(lacking[:5])}")
        grp = [groups[u] for u in panel.units]
    full = np.array([True] * n_p if complete is None else [p in set(complete) for p in panel.periods], dtype=bool)
    imp_values, imp_flags = _impute(X, full, spec, framework, grp)

    # treat: over the pooled complete periods (a partial period on its own), or per period
    overrides = {k: (v.name, v.params) for k, v in spec.treatment_overrides.items()}
    tname, tparams = spec.treatment.name, spec.treatment.params
    treated, tflags = np.empty_like(X), np.zeros(X.shape, dtype=np.int8)
    frames = []
    if spec.treat_by == "panel" and full.any():
        tr = treat(imp_values[full].reshape(-1, n_i), codes, tname, tparams, overrides)
        treated[full], tflags[full] = tr.values.reshape(-1, n_u, n_i), tr.flags.reshape(-1, n_u, n_i)
        frames.append(tr.details)
    for k, per in enumerate(panel.periods):
        if spec.treat_by == "panel" and full[k]:
            continue
        tr = treat(imp_values[k], codes, tname, tparams, overrides)
        treated[k], tflags[k] = tr.values, tr.flags
        frames.append(tr.details.with_columns(pl.lit(per).alias("period")))
    details = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]

    # normalise: fit once on complete periods, transform every period
    fit_rows = _fit_rows(spec, panel.periods, full, learns=_learns_from_data(spec, codes))
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
        raw=panel.values, imputed=imp_flags, filled=imp_values, treated=treated, treat_flags=tflags, treat_details=details,
        normaliser=normaliser, fit_rows=fit_rows, complete=full, values=agg.values.reshape(n_p, n_u, -1),
        below_threshold=agg.below_threshold.reshape(n_p, n_u, -1), plan=plan, weights=weights,
        warnings=panel.warnings, shrunk=shrunk,
    )


def _impute(
    X: np.ndarray, full: np.ndarray, spec: ModelSpec, framework: Framework, groups: list[Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Impute the complete periods among themselves, then the partial ones (which may borrow from the complete
    periods, never the other way round). Per-period methods give the same values either way."""
    name, params = spec.imputation.name, spec.imputation.params
    if full.all() or not full.any():
        imp = impute(X, name, params, framework=framework, groups=groups)
        return imp.values, imp.imputed
    first = impute(X[full], name, params, framework=framework, groups=groups)
    Y = X.copy()
    Y[full] = first.values
    second = impute(Y, name, params, framework=framework, groups=groups)
    values, flags = second.values.copy(), second.imputed.copy()
    values[full], flags[full] = first.values, first.imputed
    return values, flags


#: normalisers that learn nothing from the data (fixed bounds or none): they need no complete period to fit on
FIXED_NORMALISERS = ("goalposts", "none")


def _learns_from_data(spec: ModelSpec, codes: Sequence[str]) -> bool:
    return any(spec.normalisation_overrides.get(c, spec.normalisation).name not in FIXED_NORMALISERS for c in codes)


def _fit_rows(spec: ModelSpec, periods: Sequence[str], full: np.ndarray, *, learns: bool = True) -> np.ndarray:
    """Which periods the normaliser is fitted on: the complete ones the spec's fit_on selects (never a partial one)."""
    if spec.fit_on == "panel":
        rows = full.copy()
        if not rows.any() and learns:
            raise ScoringError(
                f"no complete period to fit the normalisation on (periods {', '.join(periods)} are all partial)"
            )
        return rows
    if spec.fit_on == "reference":
        assert spec.reference is not None  # the spec's validator guarantees it
        window = spec.reference
        inside = np.array([in_window(p, window) for p in periods], dtype=bool)
        rows = inside & full
        covered = {m for p, ok in zip(periods, rows) if ok for m in period_months(p)}
        lacking = [m for m in window_months(window) if m not in covered]
        if lacking:
            raise ScoringError(
                f"reference window {window[0]}–{window[1]} is not covered by complete periods of the data "
                f"(months lacking: {', '.join(lacking[:6])}{' …' if len(lacking) > 6 else ''}); bounds fitted on "
                "part of the window would move when the rest arrives"
            )
        return rows
    if spec.fit_on not in periods:
        raise ScoringError(f"fit_on period {spec.fit_on!r} is not in the data; periods: {', '.join(periods)}")
    k = list(periods).index(spec.fit_on)
    if not full[k]:
        raise ScoringError(f"fit_on period {spec.fit_on!r} is partial (the data do not cover it completely)")
    return np.array([p == spec.fit_on for p in periods])


def frozen_spec(result: ScoreResult) -> ModelSpec:
    """The run's spec with its normalisation frozen into explicit goalposts, so it no longer depends on any data or on
    the catalog's current goalposts (what an assessment edition stores).

    Goalposts are written out per indicator (from the params, else the framework); a min-max on [0, 100] becomes
    goalposts at the raw bounds it was fitted to (the same scores: min-max with clipping is goalposts at the fitted
    min and max). Methods whose fit cannot be written as bounds (z-score, ranks, distance to target or best) and
    constant columns raise ScoringError naming the indicators.
    """
    fw, spec = result.framework, result.spec
    codes = fw.indicators
    norm = result.normaliser
    parts = norm.parts if isinstance(norm, ColumnNormaliser) else [(range(len(codes)), norm)]
    bounds: dict[str, list[float]] = {}
    cannot: list[str] = []
    for idx, part in parts:
        for k, j in enumerate(idx):
            code = codes[j]
            if isinstance(part, GoalpostNormaliser) and float(part.scale) == 100.0 and part.clip:
                lo, hi = part.low_[k], part.high_[k]
            elif isinstance(part, MinMaxNormaliser) and (part.l, part.u) == (0.0, 100.0) and part.clip:
                lo, hi = part.min_[k], part.max_[k]
            else:
                cannot.append(f"{code} ({type(part).__name__})")
                continue
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                cannot.append(f"{code} (bounds {lo}–{hi})")
                continue
            d = part.directions_[k]  # the fitted bounds are of direction-adjusted values; goalposts are raw
            bounds[code] = [float(lo), float(hi)] if d > 0 else [float(-hi), float(-lo)]
    if cannot:
        raise ScoringError("cannot freeze the normalisation of " + ", ".join(cannot)
                           + " as goalposts (only goalposts on a 0–100 scale and min-max on [0, 100], clipped, can be frozen)")
    goalposts = MethodSpec(name="goalposts", params={"goalposts": bounds, "scale": 100.0, "clip": True})
    return spec.model_copy(update={"normalisation": goalposts, "normalisation_overrides": {}, "fit_on": "panel",
                                   "reference": None})


def has_composite(framework: Framework, spec: ModelSpec, normalised: np.ndarray,
                  weights: Mapping[str, float] | None = None) -> np.ndarray:
    """bool per row of a units × indicators normalised matrix: whether the unit gets a composite under `spec`'s
    aggregation and availability thresholds (a unit whose data are too thin has none, and is left out of rankings
    and Monte Carlo runs rather than failing them)."""
    plan = build_plan(framework, spec)
    try:
        out = plan.run(np.asarray(normalised, dtype=float), framework.weights(dict(weights or spec.weights)))
    except ValueError:  # a domain error of a mean over some unit: the batched engine reports it per sample
        plan = build_plan(framework, spec.model_copy(update={"aggregation": MethodSpec(name="amean"),
                                                             "aggregation_overrides": {}}))
        out = plan.run(np.asarray(normalised, dtype=float), framework.weights(dict(weights or spec.weights)))
    return np.isfinite(out.values[:, plan.order.index(framework.root)])
