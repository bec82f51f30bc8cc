"""Reliability of indicators across units, and empirical-Bayes shrinkage toward the city value.

Both rest on one decomposition, per period and indicator, over the units with a value and a sampling variance:
the observed between-unit variance s² = Var_u(x) (sample variance, ddof = 1) is signal τ² plus sampling noise, whose
size is the mean sampling variance v̄ = mean_u(se²).

- Reliability (the signal share of between-unit variance): R_t = 1 − v̄ / s², clipped to [0, 1] (a negative value
  means the noise alone exceeds the spread: nothing to rank on). Summarised over periods by the median; a grain with
  fewer than MIN_UNITS units with values in every period has no reliability (NaN). Computed per grain (quarter,
  year): the grain at which an indicator first reaches the threshold (0.7 by default) is where it can be ranked.
  This is the classical reliability of a unit mean (the intraclass-correlation reading of Spearman–Brown: larger
  samples per unit shrink v̄ and raise R).
- Empirical-Bayes shrinkage (James–Stein / Morris 1983, method of moments): τ² = max(0, s² − v̄); the city value
  m is the precision-weighted mean Σ x/(τ² + se²) / Σ 1/(τ² + se²); each value moves toward it by its own noise
  share: x̃ = m + B (x − m), B = τ² / (τ² + se²). A value from a small sample (large se) moves most; with no signal
  (τ² = 0) every unit gets the city value. Values without a sampling variance are left as they are (not flagged).

`binomial_se` gives the sampling error of a rate from its numerator and denominator when the warehouse has no
stored `se` (Jeffreys-smoothed p, so 0 % and 100 % rates still carry noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

#: indicators below this reliability are flagged (the issue's default; profiles/configuration may override)
DEFAULT_THRESHOLD = 0.7
#: the fewest units with a value and a variance for a period's reliability to be computed
MIN_UNITS = 3
#: grains from the finest to the coarsest: the first at which an indicator is reliable is reported
GRAINS = ("month", "quarter", "year")


def _present(x: np.ndarray, se: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(se) & (se >= 0)


def _moments(x: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per period and indicator over units with a value and an error: (present mask, n, mean, between-unit
    variance s² (ddof = 1), mean sampling variance v̄); NaN where undefined."""
    ok = _present(x, se)
    n = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=1) / n
        s2 = np.where(ok, (x - mean[:, None, :]) ** 2, 0.0).sum(axis=1) / (n - 1)
        v = np.where(ok, se**2, 0.0).sum(axis=1) / n
    return ok, n, mean, s2, v


def period_reliability(x: np.ndarray, se: np.ndarray) -> np.ndarray:
    """R per period and indicator: x, se are periods × units × indicators → periods × indicators (NaN where fewer
    than MIN_UNITS units have both, or the values do not vary)."""
    x = np.asarray(x, dtype=float)
    se = np.asarray(se, dtype=float)
    _ok, n, _mean, s2, v = _moments(x, se)
    with np.errstate(all="ignore"):
        r = 1.0 - v / s2
    valid = (n >= MIN_UNITS) & (s2 > 0)
    return np.where(valid, np.clip(r, 0.0, 1.0), np.nan)


def reliability(x: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Median over periods of period_reliability → one value per indicator (NaN when no period has one)."""
    r = period_reliability(x, se)
    out = np.full(r.shape[1], np.nan)
    for j in range(r.shape[1]):
        col = r[:, j][np.isfinite(r[:, j])]
        if col.size:
            out[j] = float(np.median(col))
    return out


@dataclass(frozen=True)
class ReliabilityTable:
    """One row per indicator and grain (reliability, its range over periods, periods used), plus the verdict."""

    rows: pl.DataFrame  # indicator, grain, reliability, low, high, n_periods
    threshold: float

    def flagged(self) -> pl.DataFrame:
        """Indicators unreliable at their finest grain: indicator, finest grain, its reliability, reliable_at (the
        first grain at which reliability reaches the threshold, or null when none does)."""
        out: dict[str, list[object]] = {"indicator": [], "grain": [], "reliability": [], "reliable_at": []}
        order = {g: i for i, g in enumerate(GRAINS)}
        for (ind,), grp in self.rows.sort("indicator").group_by(["indicator"], maintain_order=True):
            grp = grp.filter(pl.col("reliability").is_not_null()).sort(
                pl.col("grain").replace_strict(order, default=len(order), return_dtype=pl.Int64))
            if grp.height == 0:
                continue
            first = grp.row(0, named=True)
            if first["reliability"] >= self.threshold:
                continue
            reached = grp.filter(pl.col("reliability") >= self.threshold)
            out["indicator"].append(ind)
            out["grain"].append(first["grain"])
            out["reliability"].append(first["reliability"])
            out["reliable_at"].append(reached["grain"][0] if reached.height else None)
        return pl.DataFrame(out, schema={"indicator": pl.String, "grain": pl.String, "reliability": pl.Float64,
                                         "reliable_at": pl.String})

    def wide(self) -> pl.DataFrame:
        """indicator × grain: one column of reliability per grain present, finest first."""
        grains = [g for g in GRAINS if g in set(self.rows["grain"].to_list())]
        if not grains:
            return pl.DataFrame({"indicator": []}, schema={"indicator": pl.String})
        w = self.rows.pivot(on="grain", index="indicator", values="reliability")
        return w.select("indicator", *grains)


def reliability_table(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], indicators: Sequence[str],
                      threshold: float = DEFAULT_THRESHOLD) -> ReliabilityTable:
    """`panels`: grain → (values, se), each periods × units × indicators in `indicators` order."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"reliability threshold must be within [0, 1], got {threshold}")
    recs: dict[str, list[object]] = {k: [] for k in ("indicator", "grain", "reliability", "low", "high",
                                                     "n_periods")}
    for grain, (x, se) in panels.items():
        r = period_reliability(x, se)
        for j, code in enumerate(indicators):
            col = r[:, j][np.isfinite(r[:, j])]
            recs["indicator"].append(code)
            recs["grain"].append(grain)
            recs["reliability"].append(float(np.median(col)) if col.size else None)
            recs["low"].append(float(col.min()) if col.size else None)
            recs["high"].append(float(col.max()) if col.size else None)
            recs["n_periods"].append(int(col.size))
    rows = pl.DataFrame(recs, schema={"indicator": pl.String, "grain": pl.String, "reliability": pl.Float64,
                                      "low": pl.Float64, "high": pl.Float64, "n_periods": pl.Int64})
    return ReliabilityTable(rows, threshold)


@dataclass(frozen=True)
class Shrunk:
    values: np.ndarray  # same shape as x
    shrunk: np.ndarray  # bool: the value was moved toward the city value
    weight: np.ndarray  # B = τ² / (τ² + se²) per cell (NaN where not shrunk): the share of the value's own signal
    city: np.ndarray  # periods × indicators: the value shrunk toward


def shrink(x: np.ndarray, se: np.ndarray) -> Shrunk:
    """Empirical-Bayes shrinkage of x toward the per-period city value (see the module docstring).

    x, se: periods × units × indicators (or units × indicators). Periods/indicators with fewer than MIN_UNITS units
    having a value and a variance are left as they are.
    """
    x = np.asarray(x, dtype=float)
    se = np.asarray(se, dtype=float)
    squeeze = x.ndim == 2
    if squeeze:
        x, se = x[None], se[None]
    if x.shape != se.shape or x.ndim != 3:
        raise ValueError(f"values and standard errors must have the same shape, got {x.shape} and {se.shape}")
    ok, n, mean, s2, v = _moments(x, se)
    var = np.where(ok, se**2, 0.0)
    with np.errstate(all="ignore"):
        tau2 = np.maximum(s2 - v, 0.0)
        prec = np.where(ok, 1.0 / (tau2[:, None, :] + var), 0.0)
        psum = prec.sum(axis=1)
        # all-zero variances and no signal: every unit is its own exact value; fall back to the plain mean
        city = np.where(np.isfinite(psum) & (psum > 0), (prec * np.where(ok, x, 0.0)).sum(axis=1) / psum, mean)
        B = tau2[:, None, :] / (tau2[:, None, :] + var)
    B = np.where(np.isfinite(B), B, 1.0)  # τ² = se² = 0: exact and no pooling
    usable = ok & (n >= MIN_UNITS)[:, None, :]
    out = np.where(usable, city[:, None, :] + B * (x - city[:, None, :]), x)
    moved = usable & (np.abs(out - x) > 1e-12)
    w = np.where(usable, B, np.nan)
    if squeeze:
        return Shrunk(out[0], moved[0], w[0], city)
    return Shrunk(out, moved, w, city)


def binomial_se(value: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Sampling error of rates value = scale × numerator / denominator (scale 1 or 100, read off the value):
    scale × sqrt(p̃ (1 − p̃) / n) with the Jeffreys-smoothed p̃ = (k + ½) / (n + 1). NaN where the value is not such
    a rate (medians, ratios, indices) or n is missing."""
    v = np.asarray(value, dtype=float)
    k = np.asarray(numerator, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(all="ignore"):
        p = k / n
        scale = np.where(np.abs(v - 100 * p) <= 1e-6 * np.maximum(1.0, np.abs(v)), 100.0,
                         np.where(np.abs(v - p) <= 1e-9 * np.maximum(1.0, np.abs(v)), 1.0, np.nan))
        is_rate = (n > 0) & (k >= 0) & (k <= n) & np.isfinite(scale)
        pt = (k + 0.5) / (n + 1.0)
        se = scale * np.sqrt(pt * (1 - pt) / n)
    return np.where(is_rate, se, np.nan)
