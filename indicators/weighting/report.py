"""Effective weights: each indicator's nominal share of the index next to its empirical share in the composite."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from indicators.framework import Framework
from indicators.weighting.derive import WeightingError


def _as_matrix(framework: Framework, x_norm: np.ndarray | pl.DataFrame) -> np.ndarray:
    codes = framework.indicators
    if isinstance(x_norm, pl.DataFrame):
        missing = [c for c in codes if c not in x_norm.columns]
        if missing:
            raise WeightingError(f"normalised data lack indicator column(s): {', '.join(missing)}")
        return x_norm.select(codes).cast(pl.Float64).to_numpy()
    a = np.asarray(x_norm, dtype=float)
    if a.ndim != 2 or a.shape[1] != len(codes):
        raise WeightingError(
            f"normalised data must be units × {len(codes)} indicators (framework order), got shape {a.shape}"
        )
    return a


def _pairwise(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of `a`: sample covariance with y, Pearson r and the pair count, on complete pairs (vectorised)."""
    m = np.isfinite(a) & np.isfinite(y)[:, None]
    n = m.sum(axis=0)
    safe_n = np.maximum(n, 1)
    av, yv = np.where(m, a, 0.0), np.where(m, y[:, None], 0.0)
    xc = np.where(m, av - av.sum(axis=0) / safe_n, 0.0)
    yc = np.where(m, yv - yv.sum(axis=0) / safe_n, 0.0)
    sxy, sxx, syy = (xc * yc).sum(axis=0), (xc**2).sum(axis=0), (yc**2).sum(axis=0)
    cov = np.where(n > 1, sxy / np.maximum(n - 1, 1), np.nan)
    den = np.sqrt(sxx * syy)
    r = np.where((n >= 3) & (den > 0), sxy / np.where(den > 0, den, 1.0), np.nan)
    return cov, r, n


def effective_weights_report(
    framework: Framework,
    weights: Mapping[str, float] | None = None,
    x_norm: np.ndarray | pl.DataFrame | None = None,
    composite: np.ndarray | None = None,
) -> pl.DataFrame:
    """One row per indicator: code, names, parent, nominal_share and, with normalised data, empirical shares.

    nominal_share: the path product of within-parent weights (Framework.effective_weights), summing to 1.
    With `x_norm` (units × indicators, framework order or a DataFrame with indicator columns):
    - contribution_share: the indicator's share of the summed weighted contributions w_j·x_ij over all units,
      i.e. how much of the index's level it supplies (depends on where the normalised values sit, not only on w);
    - variance_share: w_j·cov(x_j, y) / var(y) for the linear composite y = Σ w_j x_j; these sum to 1 on complete
      data and say how much of the spread between units the indicator drives (negative when it works against y);
    - corr_with_index: Pearson r between the indicator and the composite (`composite` when given, e.g. the engine's
      geometric-mean index; otherwise the linear composite);
    - corr_share: r_j² / Σ r_k², the squared-correlation importance (the linear main effect of Paruolo, Saisana &
      Saltelli 2013), directly comparable with nominal_share: a large gap means the indicator's real influence
      differs from what its weight says.
    Missing values: the linear composite re-weights over the indicators a unit has; correlations use complete pairs.
    """
    w = framework.effective_weights(weights)
    codes = framework.indicators
    nodes = [framework.node(c) for c in codes]
    cols: dict[str, list[object]] = {
        "code": list(codes),
        "name_zh": [n.name_zh for n in nodes],
        "name_en": [n.name_en for n in nodes],
        "parent": [n.parent for n in nodes],
        "nominal_share": [float(v) for v in w],
    }
    if x_norm is None:
        return pl.DataFrame(cols)
    a = _as_matrix(framework, x_norm)
    ok = np.isfinite(a)
    filled = np.where(ok, a, 0.0)
    wsum = (ok * w).sum(axis=1)
    y = np.divide((filled * w).sum(axis=1), wsum, out=np.full(a.shape[0], np.nan), where=wsum > 0)
    contrib = np.divide(filled * w, wsum[:, None], out=np.zeros_like(a), where=wsum[:, None] > 0)
    total = contrib.sum()
    contribution_share = contrib.sum(axis=0) / total if total != 0 else np.full(len(codes), np.nan)
    var_y = float(np.nanvar(y, ddof=1)) if np.isfinite(y).sum() > 1 else float("nan")
    cov, _, _ = _pairwise(a, y)
    variance_share = w * cov / var_y if np.isfinite(var_y) and var_y > 0 else np.full(len(codes), np.nan)
    target = np.asarray(composite, dtype=float) if composite is not None else y
    if target.shape != (a.shape[0],):
        raise WeightingError(f"composite must have one value per unit ({a.shape[0]}), got shape {target.shape}")
    _, r, _ = _pairwise(a, target)
    r2 = np.where(np.isfinite(r), r**2, 0.0)
    corr_share = r2 / r2.sum() if r2.sum() > 0 else np.full(len(codes), np.nan)
    cols.update(
        {
            "contribution_share": [float(v) for v in contribution_share],
            "variance_share": [float(v) for v in variance_share],
            "corr_with_index": [float(v) for v in r],
            "corr_share": [float(v) for v in corr_share],
        }
    )
    return pl.DataFrame(cols).with_columns(
        (pl.col("corr_share") - pl.col("nominal_share")).alias("corr_minus_nominal")
    )
