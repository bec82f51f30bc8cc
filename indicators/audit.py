"""Statistical audit of a scored framework: correlations, Cronbach's alpha, PCA share, effective importance, flags.

Conventions (documented because an assessor will defend them):
- Correlations are pairwise-complete: each pair uses the units where both values are present. Spearman is the
  Pearson correlation of average ranks computed on those complete pairs (as scipy.stats.spearmanr does).
- Cronbach's alpha and the first principal component's share use the node's descendant indicators over the units
  with all of them present (listwise deletion, as COINr's get_cronbach/get_PCA do via na.omit); the PCA is run on the
  correlation matrix (indicators standardised), so its share is the largest eigenvalue over the trace.
- Effective importance (Paruolo, Saisana & Saltelli 2013, "Ratings and rankings: voodoo or science?", JRSS A 176(3)):
  the first-order sensitivity of the composite Y on indicator X_i, S_i = V(E[Y|X_i]) / V(Y) (the squared correlation
  ratio eta^2). E[Y|X_i] is estimated by a least-squares polynomial in X_i of degree `eta_degree` (default 3, capped
  at n-2 so at least one residual degree of freedom remains) - with 16 units a spline or LOESS would have too few
  points per window, and a cubic captures the monotone and mildly curved relations a composite produces. The
  eta^2 are then normalised to sum to 1 and set against each indicator's nominal effective weight.
- Flags (values after direction is applied): every pair of indicators, under the same parent or not, with
  |r| >= `collinear` (default 0.9) is flagged collinear: the same information counted twice (r = +1: one indicator
  added twice; r = -1: one cancelling the other, e.g. a gap computed from another indicator). Within a parent,
  r < `negative` (default -0.4, COINr's get_corr_flags default) otherwise marks a trade-off that an arithmetic mean
  hides. `redundant_pairs` applies the collinearity rule over a panel, per grain: the median over periods of the
  cross-unit correlation (per period, so a common trend over time is not mistaken for shared information).
- Reliability (indicators.reliability): per indicator and grain, the signal share of between-unit variance; the
  report carries the table when the caller gives the sampling errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from indicators.framework import Framework
from indicators.model import panel_from_long
from indicators.periods import complete_periods
from indicators.reliability import DEFAULT_THRESHOLD, ReliabilityTable, reliability_table

Method = Literal["pearson", "spearman"]


class AuditError(ValueError):
    """The audit was given inconsistent inputs (missing node values, wrong lengths)."""


# -- vector-level statistics --------------------------------------------------------------------------------------
def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    den = np.sqrt((dx * dx).sum() * (dy * dy).sum())
    return float((dx * dy).sum() / den) if den > 0 else float("nan")


def pair_correlation(x: np.ndarray, y: np.ndarray, method: Method = "pearson") -> tuple[float, int]:
    """Pairwise-complete correlation of two vectors and the number of complete pairs used."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    if method == "spearman":
        xs, ys = stats.rankdata(xs), stats.rankdata(ys)
    elif method != "pearson":
        raise AuditError(f"unknown correlation method {method!r}; allowed: pearson, spearman")
    return _pearson(xs, ys), int(ok.sum())


def correlation_matrix(a: np.ndarray, b: np.ndarray | None = None, method: Method = "pearson") -> np.ndarray:
    """Pairwise-complete correlations between the columns of `a` and of `b` (default `a`): shape (a cols, b cols)."""
    a = np.asarray(a, dtype=float)
    b = a if b is None else np.asarray(b, dtype=float)
    out = np.empty((a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            out[i, j] = pair_correlation(a[:, i], b[:, j], method)[0]
    return out


def complete_rows(x: np.ndarray) -> np.ndarray:
    """The rows of a units x variables matrix with every value present."""
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x).all(axis=1)]


def cronbach_alpha(x: np.ndarray) -> float:
    """Cronbach's alpha k/(k-1) (1 - sum var_i / var(sum x_i)) over complete rows; NaN if undefined (k<2, n<2)."""
    x = complete_rows(x)
    n, k = x.shape
    if k < 2 or n < 2:
        return float("nan")
    total = x.sum(axis=1).var(ddof=1)
    if total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - x.var(axis=0, ddof=1).sum() / total))


def pca_first_share(x: np.ndarray) -> float:
    """Share of variance of the first principal component of the standardised columns (complete rows)."""
    x = complete_rows(x)
    n, k = x.shape
    if k == 0 or n < 2:
        return float("nan")
    if k == 1:
        return 1.0
    sd = x.std(axis=0, ddof=1)
    keep = sd > 0  # a constant column carries no variance; it cannot load on any component
    if keep.sum() == 0:
        return float("nan")
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    eig = np.linalg.eigvalsh(np.cov(z, rowvar=False).reshape(int(keep.sum()), int(keep.sum())))
    return float(eig[-1] / eig.sum())


def eta_squared(y: np.ndarray, x: np.ndarray, degree: int = 3) -> float:
    """Squared correlation ratio V(E[Y|X]) / V(Y), E[Y|X] by a least-squares polynomial of `degree` (complete pairs)."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    n = xs.size
    if n < 3 or ys.var() == 0:
        return float("nan")  # too few pairs, or nothing to explain
    if np.ptp(xs) == 0:
        return 0.0  # a constant indicator explains none of the composite's variance
    deg = max(1, min(degree, n - 2, np.unique(xs).size - 1))
    # centre and scale x so the Vandermonde matrix stays well conditioned
    t = (xs - xs.mean()) / xs.std()
    coef = np.polynomial.polynomial.polyfit(t, ys, deg)
    fitted = np.polynomial.polynomial.polyval(t, coef)
    return float(min(1.0, fitted.var() / ys.var()))


# -- framework-level audit ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditReport:
    """All audit tables (polars DataFrames, one row per pair / node / indicator / flag)."""

    correlations: pl.DataFrame
    dimensions: pl.DataFrame
    importance: pl.DataFrame
    flags: pl.DataFrame
    #: indicator, grain, reliability, low, high, n_periods (indicators.reliability.reliability_table); None when the
    #: audit was not given sampling errors
    reliability: pl.DataFrame | None = None
    #: the reliability threshold the flags below use
    reliability_threshold: float = 0.7

    def unreliable(self) -> pl.DataFrame:
        """Indicators below the reliability threshold at their finest grain, with the grain at which they become
        reliable (null when none does)."""
        if self.reliability is None:
            return pl.DataFrame(schema={"indicator": pl.String, "grain": pl.String, "reliability": pl.Float64,
                                        "reliable_at": pl.String})
        return ReliabilityTable(self.reliability, self.reliability_threshold).flagged()


def _matrix(codes: Sequence[str], values: Mapping[str, np.ndarray], n_units: int) -> np.ndarray:
    missing = [c for c in codes if c not in values]
    if missing:
        raise AuditError(f"no values given for node(s): {', '.join(missing)}")
    cols = [np.asarray(values[c], dtype=float) for c in codes]
    for c, v in zip(codes, cols, strict=True):
        if v.shape != (n_units,):
            raise AuditError(f"node {c!r}: expected {n_units} values (one per unit), got shape {v.shape}")
    return np.column_stack(cols) if cols else np.empty((n_units, 0))


def correlation_table(
    framework: Framework, values: Mapping[str, np.ndarray], n_units: int, methods: Sequence[Method] = ("pearson", "spearman")
) -> pl.DataFrame:
    """Long table of correlations within each level and across every pair of levels (upper triangle only)."""
    by_level: dict[int, list[str]] = {}
    for code in framework.codes:
        by_level.setdefault(framework.level(code), []).append(code)
    levels = sorted(by_level)
    rows: dict[str, list[object]] = {k: [] for k in
                                     ("method", "level_a", "code_a", "level_b", "code_b", "r", "n", "same_parent",
                                      "b_is_ancestor_of_a")}
    for method in methods:
        for ia, la in enumerate(levels):
            for lb in levels[ia:]:
                ca, cb = by_level[la], by_level[lb]
                a, b = _matrix(ca, values, n_units), _matrix(cb, values, n_units)
                for i, code_a in enumerate(ca):
                    for j, code_b in enumerate(cb):
                        if la == lb and j <= i:
                            continue
                        r, n = pair_correlation(a[:, i], b[:, j], method)
                        rows["method"].append(method)
                        rows["level_a"].append(la)
                        rows["code_a"].append(code_a)
                        rows["level_b"].append(lb)
                        rows["code_b"].append(code_b)
                        rows["r"].append(r)
                        rows["n"].append(n)
                        rows["same_parent"].append(framework.node(code_a).parent == framework.node(code_b).parent)
                        rows["b_is_ancestor_of_a"].append(code_b in framework.ancestors(code_a))
    return pl.DataFrame(rows, schema={"method": pl.String, "level_a": pl.Int64, "code_a": pl.String,
                                      "level_b": pl.Int64, "code_b": pl.String, "r": pl.Float64, "n": pl.Int64,
                                      "same_parent": pl.Boolean, "b_is_ancestor_of_a": pl.Boolean})


def audit(
    framework: Framework,
    values: Mapping[str, np.ndarray],
    nominal_weights: np.ndarray,
    *,
    n_units: int,
    collinear: float = 0.9,
    negative: float = -0.4,
    flag_method: Method = "pearson",
    eta_degree: int = 3,
    methods: Sequence[Method] = ("pearson", "spearman"),
    reliability: ReliabilityTable | None = None,
) -> AuditReport:
    """Audit one scoring: `values` maps every node code to its per-unit values (normalised indicators, aggregates).

    `nominal_weights` are the indicators' nominal effective weights (framework.indicators order), e.g.
    `framework.effective_weights(profile weights)`.
    """
    inds = framework.indicators
    nominal = np.asarray(nominal_weights, dtype=float)
    if nominal.shape != (len(inds),):
        raise AuditError(f"nominal_weights: expected {len(inds)} values (one per indicator), got {nominal.shape}")
    if not -1.0 <= negative <= 1.0 or not 0.0 <= collinear <= 1.0:
        raise AuditError(f"thresholds out of range: collinear={collinear} (0..1), negative={negative} (-1..1)")
    x = _matrix(inds, values, n_units)
    y = _matrix([framework.root], values, n_units)[:, 0]

    # Load inputs done; process: per aggregate node, internal consistency over its indicators
    dim_rows: dict[str, list[object]] = {k: [] for k in ("code", "level", "n_indicators", "n_complete", "alpha",
                                                        "pc1_share")}
    col = {c: j for j, c in enumerate(inds)}
    for agg in framework.aggregates:
        sub = x[:, [col[c] for c in framework.descendant_indicators(agg)]]
        dim_rows["code"].append(agg)
        dim_rows["level"].append(framework.level(agg))
        dim_rows["n_indicators"].append(sub.shape[1])
        dim_rows["n_complete"].append(complete_rows(sub).shape[0])
        dim_rows["alpha"].append(cronbach_alpha(sub))
        dim_rows["pc1_share"].append(pca_first_share(sub))
    dimensions = pl.DataFrame(dim_rows, schema={"code": pl.String, "level": pl.Int64, "n_indicators": pl.Int64,
                                                "n_complete": pl.Int64, "alpha": pl.Float64, "pc1_share": pl.Float64})

    eta = np.array([eta_squared(y, x[:, j], eta_degree) for j in range(len(inds))])
    total = np.nansum(eta)
    share = eta / total if total > 0 else np.full_like(eta, np.nan)
    nominal_share = nominal / nominal.sum() if nominal.sum() > 0 else nominal
    importance = pl.DataFrame({
        "indicator": list(inds),
        "parent": [framework.node(c).parent for c in inds],
        "nominal_weight": nominal_share,
        "eta2": eta,
        "importance": share,
        "ratio": np.divide(share, nominal_share, out=np.full_like(share, np.nan), where=nominal_share > 0),
    })

    flag_rows: dict[str, list[object]] = {k: [] for k in ("parent", "code_a", "code_b", "r", "n", "flag")}
    for i, a in enumerate(inds):
        for b in inds[i + 1:]:
            pa, pb = framework.node(a).parent, framework.node(b).parent
            r, n = pair_correlation(x[:, col[a]], x[:, col[b]], flag_method)
            if not np.isfinite(r):
                continue
            kind = "collinear" if abs(r) >= collinear else ("negative" if pa == pb and r < negative else None)
            if kind:
                parent = pa if pa == pb else _common_ancestor(framework, a, b)
                for k, val in zip(flag_rows, (parent, a, b, r, n, kind), strict=True):
                    flag_rows[k].append(val)
    flags = pl.DataFrame(flag_rows, schema={"parent": pl.String, "code_a": pl.String, "code_b": pl.String,
                                            "r": pl.Float64, "n": pl.Int64, "flag": pl.String})
    rel = reliability.rows if reliability is not None else None
    thr = reliability.threshold if reliability is not None else DEFAULT_THRESHOLD
    return AuditReport(correlation_table(framework, values, n_units, methods), dimensions, importance, flags, rel,
                       thr)


def _common_ancestor(framework: Framework, a: str, b: str) -> str | None:
    up = framework.ancestors(b)
    return next((c for c in framework.ancestors(a) if c in up), None)


def redundant_pairs(framework: Framework, panels: Mapping[str, np.ndarray], threshold: float = 0.9,
                    method: Method = "pearson", min_units: int = 5) -> pl.DataFrame:
    """Pairs of indicators carrying the same information, per grain: `panels` maps grain → raw values periods ×
    units × indicators (framework.indicators order). Per period, the cross-unit correlation of the direction-applied
    values (pairwise complete, at least `min_units` units); a pair is flagged when the median over periods has
    |r| >= threshold. Columns: grain, code_a, code_b, r (median), r_low, r_high, n_periods."""
    inds = framework.indicators
    d = framework.directions()
    out: dict[str, list[object]] = {k: [] for k in ("grain", "code_a", "code_b", "r", "r_low", "r_high",
                                                    "n_periods")}
    for grain, X in panels.items():
        Y = np.asarray(X, dtype=float) * d
        if Y.ndim != 3 or Y.shape[2] != len(inds):
            raise AuditError(f"grain {grain!r}: expected periods × units × {len(inds)} indicators, got {Y.shape}")
        for i in range(len(inds)):
            for j in range(i + 1, len(inds)):
                rs = []
                for p in range(Y.shape[0]):
                    r, n = pair_correlation(Y[p, :, i], Y[p, :, j], method)
                    if n >= min_units and np.isfinite(r):
                        rs.append(r)
                if not rs:
                    continue
                med = float(np.median(rs))
                if abs(med) >= threshold:
                    for k, val in zip(out, (grain, inds[i], inds[j], med, min(rs), max(rs), len(rs)), strict=True):
                        out[k].append(val)
    return pl.DataFrame(out, schema={"grain": pl.String, "code_a": pl.String, "code_b": pl.String, "r": pl.Float64,
                                     "r_low": pl.Float64, "r_high": pl.Float64, "n_periods": pl.Int64})


#: the grains reliability and redundancy are assessed at, finest first (what a stored panel may hold)
AUDIT_GRAINS = ("quarter", "year")


@dataclass(frozen=True)
class GrainAudit:
    """The data side of the audit: reliability per indicator and grain, and the pairs carrying the same information."""

    reliability: ReliabilityTable
    redundant: pl.DataFrame  # redundant_pairs

    def unreliable(self) -> pl.DataFrame:
        return self.reliability.flagged()


def grain_audit(framework: Framework, long: pl.DataFrame, complete_months: Sequence[str] = (),
                grains: Sequence[str] = AUDIT_GRAINS, threshold: float = DEFAULT_THRESHOLD,
                collinear: float = 0.9, census: Sequence[str] = ()) -> GrainAudit:
    """Reliability and redundancy from the indicator values (unit_code, period, grain, indicator_id, value and `se`
    or numerator/denominator), over the complete periods of each grain (a partial period has smaller samples).

    `census` names indicators counted over a whole inventory (the service-item catalogue, staffing): they have no
    sampling error, so where no `se` is stored theirs is 0 (a binomial error from their counts would be invented)."""
    panels: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    raw: dict[str, np.ndarray] = {}
    for g in grains:
        sub = long.filter(pl.col("grain") == g) if "grain" in long.columns else long
        if sub.height == 0:
            continue
        periods = sorted(sub["period"].cast(pl.String).unique().to_list())
        keep = list(complete_periods(periods, complete_months)) if complete_months else periods
        if not keep:
            continue
        sub = sub.filter(pl.col("period").cast(pl.String).is_in(keep))
        panel = panel_from_long(framework, sub, periods=keep)
        se = panel.se if panel.se is not None else np.full(panel.values.shape, np.nan)
        if census and "se" not in sub.columns:
            cols = [j for j, c in enumerate(framework.indicators) if c in set(census)]
            se[..., cols] = np.where(np.isfinite(panel.values[..., cols]), 0.0, np.nan)
        panels[g] = (panel.values, se)
        raw[g] = panel.values
    return GrainAudit(reliability_table(panels, framework.indicators, threshold),
                      redundant_pairs(framework, raw, collinear))
