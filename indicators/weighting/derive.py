"""Weight derivation: equal, budget allocation, entropy, CRITIC and PCA (AHP in weighting_ahp), each with diagnostics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indicators.framework import Framework


class WeightingError(ValueError):
    """Inputs to a weighting method are invalid; the message names the code, assessor or column."""


@dataclass(frozen=True)
class WeightResult:
    """Derived weights (sum 1, in input order), what the method reports about them, and the inputs to keep."""

    method: str
    weights: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)


def _codes(codes: Sequence[str]) -> list[str]:
    out = [str(c) for c in codes]
    if not out:
        raise WeightingError("no codes to weight")
    dup = sorted({c for c in out if out.count(c) > 1})
    if dup:
        raise WeightingError(f"duplicate code(s): {', '.join(dup)}")
    return out


def equal_weights(codes: Sequence[str]) -> WeightResult:
    """Every code weighs 1/n."""
    codes = _codes(codes)
    return WeightResult("equal", {c: 1.0 / len(codes) for c in codes}, {"n": len(codes)}, {"codes": codes})


# -- budget allocation -----------------------------------------------------------------------------------------------
def budget_weights(
    allocations: Mapping[str, Mapping[str, float]],
    codes: Sequence[str] | None = None,
    total: float = 100.0,
    tol: float = 1e-6,
) -> WeightResult:
    """Budget allocation: each assessor distributes `total` points over the codes; weights are the mean shares.

    `allocations` is {assessor: {code: points}}; every assessor must give every code (0 is allowed). Diagnostics
    report the spread per code (sd, min, max, range in points), the mean sd, and Kendall's W (rank agreement of the
    assessors, 0 = none, 1 = all rank the codes alike).
    """
    if not allocations:
        raise WeightingError("no assessors' allocations given")
    assessors = [str(a) for a in allocations]
    codes = _codes(codes if codes is not None else list(next(iter(allocations.values()))))
    pts = np.empty((len(assessors), len(codes)))
    for r, (who, alloc) in enumerate(allocations.items()):
        extra = sorted(set(alloc) - set(codes))
        if extra:
            raise WeightingError(f"assessor {who!r}: unknown code(s) {', '.join(extra)}; expected {', '.join(codes)}")
        for c_i, code in enumerate(codes):
            if code not in alloc or alloc[code] is None:
                raise WeightingError(f"assessor {who!r}: no points for {code!r} (give 0 explicitly)")
            v = float(alloc[code])
            if not np.isfinite(v) or v < 0:
                raise WeightingError(f"assessor {who!r}: points for {code!r} must be >= 0, got {alloc[code]!r}")
            pts[r, c_i] = v
        s = pts[r].sum()
        if abs(s - total) > tol * max(1.0, total):
            raise WeightingError(f"assessor {who!r}: points sum to {s:g}, not {total:g}")
    shares = pts / total
    mean = shares.mean(axis=0)
    sd = shares.std(axis=0, ddof=1) if len(assessors) > 1 else np.zeros(len(codes))
    spread = {
        c: {
            "mean_points": float(pts[:, i].mean()),
            "sd_points": float(sd[i] * total),
            "min_points": float(pts[:, i].min()),
            "max_points": float(pts[:, i].max()),
            "range_points": float(np.ptp(pts[:, i])),
        }
        for i, c in enumerate(codes)
    }
    diagnostics = {
        "n_assessors": len(assessors),
        "total": total,
        "spread": spread,
        "mean_sd_points": float(sd.mean() * total),
        "most_disputed": codes[int(np.argmax(sd))] if len(assessors) > 1 else None,
        "kendall_w": _kendall_w(pts) if len(assessors) > 1 and len(codes) > 1 else None,
    }
    diagnostics = {k: v for k, v in diagnostics.items() if v is not None}
    return WeightResult(
        "budget",
        {c: float(x) for c, x in zip(codes, mean, strict=True)},
        diagnostics,
        {"codes": codes, "total": total, "allocations": {a: [float(x) for x in pts[i]] for i, a in enumerate(assessors)}},
    )


def _kendall_w(pts: np.ndarray) -> float:
    """Kendall's coefficient of concordance with the correction for ties (1 when all assessors agree)."""
    from scipy.stats import rankdata  # local: scipy.stats costs a second at import; only this method needs it

    m, n = pts.shape
    ranks = np.vstack([rankdata(row) for row in pts])
    s = float(((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum())
    ties = 0.0
    for row in pts:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denom = m**2 * (n**3 - n) - m * ties
    return float(12 * s / denom) if denom > 0 else 1.0  # every assessor tied everything: trivially concordant


# -- data-driven methods ---------------------------------------------------------------------------------------------
def _matrix(x: np.ndarray | Sequence[Sequence[float]], codes: Sequence[str], min_rows: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    codes = list(codes)
    if a.ndim != 2 or a.shape[1] != len(codes):
        raise WeightingError(f"data must be units × {len(codes)} indicators, got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise WeightingError(f"data needs at least {min_rows} units, got {a.shape[0]}")
    bad = [f"{codes[j]!r} ({int((~np.isfinite(a[:, j])).sum())} missing)" for j in range(a.shape[1])
           if not np.isfinite(a[:, j]).all()]  # fmt: skip
    if bad:
        raise WeightingError(f"data has missing or non-finite values in {', '.join(bad)}; impute them first")
    return a


def _constant(a: np.ndarray) -> np.ndarray:
    spread = np.ptp(a, axis=0)
    scale = np.maximum(np.abs(a).max(axis=0), 1.0)
    return spread <= 1e-12 * scale


def entropy_weights(x: np.ndarray | Sequence[Sequence[float]], codes: Sequence[str]) -> WeightResult:
    """Shannon-entropy weights from normalised, non-negative data (units × indicators).

    p_ij = x_ij / Σ_i x_ij; e_j = −Σ_i p_ij ln p_ij / ln m; w_j = (1 − e_j) / Σ_k (1 − e_k). A constant (or all-zero)
    column carries no information: e_j = 1, weight 0, listed in diagnostics["constant"].
    """
    codes = _codes(codes)
    a = _matrix(x, codes, 2)
    neg = [codes[j] for j in range(a.shape[1]) if (a[:, j] < 0).any()]
    if neg:
        raise WeightingError(f"entropy needs non-negative data; negative values in {', '.join(neg)} (normalise first)")
    m = a.shape[0]
    const = _constant(a) | (a.sum(axis=0) <= 0)
    col = a.sum(axis=0)
    p = np.divide(a, col, out=np.full_like(a, 1.0 / m), where=col > 0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)  # 0 ln 0 = 0
    e = -plogp.sum(axis=0) / np.log(m)
    e[const] = 1.0
    d = np.clip(1.0 - e, 0.0, None)
    if d.sum() <= 0:
        raise WeightingError("entropy: every column is constant; the data cannot tell the indicators apart")
    w = d / d.sum()
    return WeightResult(
        "entropy",
        {c: float(v) for c, v in zip(codes, w, strict=True)},
        {
            "entropy": {c: float(v) for c, v in zip(codes, e, strict=True)},
            "divergence": {c: float(v) for c, v in zip(codes, d, strict=True)},
            "constant": [c for c, k in zip(codes, const, strict=True) if k],
            "n_units": m,
        },
        {"codes": codes, "n_units": m},
    )


def critic_weights(x: np.ndarray | Sequence[Sequence[float]], codes: Sequence[str]) -> WeightResult:
    """CRITIC (Diakoulaki et al. 1995): C_j = σ_j Σ_k (1 − r_jk), w_j = C_j / Σ C.

    Pass normalised data (e.g. min-max): σ depends on scale. σ is the sample sd (ddof=1; the factor cancels).
    A constant column has σ = 0 and weight 0; its correlations are taken as 0.
    """
    codes = _codes(codes)
    a = _matrix(x, codes, 3)
    const = _constant(a)
    sd = a.std(axis=0, ddof=1)
    sd[const] = 0.0
    r = np.zeros((len(codes), len(codes)))
    live = ~const
    if live.sum() >= 1:
        sub = a[:, live]
        r_live = np.corrcoef(sub, rowvar=False) if live.sum() > 1 else np.ones((1, 1))
        r[np.ix_(live, live)] = r_live
    np.fill_diagonal(r, 1.0)
    conflict = (1.0 - r).sum(axis=1)
    c = sd * conflict
    if c.sum() <= 0:
        raise WeightingError(
            "CRITIC: no column has both spread and conflict (constant or perfectly correlated data)"
        )
    w = c / c.sum()
    return WeightResult(
        "critic",
        {k: float(v) for k, v in zip(codes, w, strict=True)},
        {
            "sd": {k: float(v) for k, v in zip(codes, sd, strict=True)},
            "conflict": {k: float(v) for k, v in zip(codes, conflict, strict=True)},
            "information": {k: float(v) for k, v in zip(codes, c, strict=True)},
            "correlation": [[float(v) for v in row] for row in r],
            "constant": [k for k, flag in zip(codes, const, strict=True) if flag],
            "n_units": a.shape[0],
        },
        {"codes": codes, "n_units": a.shape[0]},
    )


def pca_weights(x: np.ndarray | Sequence[Sequence[float]], codes: Sequence[str]) -> WeightResult:
    """Weights from the first principal component of the correlation matrix (OECD/JRC Handbook, step 6).

    The loading of indicator j on PC1 is l_j = v_j √λ1 (v the unit eigenvector); its weight is l_j² / λ1 = v_j²,
    the share of PC1's explained variance due to j (sums to 1). The eigenvector's sign is arbitrary: it is fixed so
    the loadings sum to a positive number, and indicators loading negatively (moving against the common factor, for
    which a squared-loading weight hides a conflict) are listed in diagnostics["negative_loadings"]. Constant
    columns are left out (weight 0). diagnostics["explained_variance_ratio"] is λ1 / Σλ: how much PC1 summarises.
    """
    codes = _codes(codes)
    a = _matrix(x, codes, 3)
    const = _constant(a)
    live = np.flatnonzero(~const)
    if live.size < 2:
        raise WeightingError("PCA needs at least two non-constant columns")
    z = a[:, live]
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    corr = np.corrcoef(z, rowvar=False)
    vals, vecs = np.linalg.eigh(corr)  # ascending; symmetric so eigh is exact and stable
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    v1 = vecs[:, 0]
    if v1.sum() < 0:
        v1 = -v1
    lam1 = float(vals[0])
    loadings = v1 * np.sqrt(max(lam1, 0.0))
    w = np.zeros(len(codes))
    w[live] = v1**2
    load_full = np.zeros(len(codes))
    load_full[live] = loadings
    return WeightResult(
        "pca",
        {k: float(v) for k, v in zip(codes, w, strict=True)},
        {
            "eigenvalues": [float(v) for v in vals],
            "explained_variance_ratio": float(lam1 / vals.sum()),
            "loadings": {k: float(v) for k, v in zip(codes, load_full, strict=True)},
            "negative_loadings": [codes[j] for j, v in zip(live, loadings, strict=True) if v < 0],
            "constant": [k for k, flag in zip(codes, const, strict=True) if flag],
            "n_units": a.shape[0],
        },
        {"codes": codes, "n_units": a.shape[0]},
    )


# -- from derived weights to a profile's relative weights ----------------------------------------------------------
def scored_descendants(framework: Framework, node: str) -> tuple[str, ...]:
    """The indicators under `node` that take weight (context indicators left out)."""
    return tuple(i for i in framework.descendant_indicators(node) if not framework.is_context(i))


def relative_weights_for_node(framework: Framework, node: str, weights: Mapping[str, float]) -> dict[str, float]:
    """Turn derived weights into relative node weights for the subtree of `node`.

    If `weights` names the children of `node`, they are used as they are. If it names the indicators under `node`,
    every node in the subtree gets the sum of its indicators' weights, so each indicator's share of `node` equals
    its derived weight (e.g. entropy over all indicators at the root reproduces the entropy weights exactly).
    """
    framework.node(node)
    keys = set(weights)
    kids = framework.weighted_children(node)  # context indicators take no weight
    if keys == set(kids):
        return {k: float(weights[k]) for k in kids}
    inds = scored_descendants(framework, node)
    if keys == set(inds):
        out: dict[str, float] = {}
        stack = list(kids)
        while stack:
            c = stack.pop()
            out[c] = float(sum(weights[i] for i in scored_descendants(framework, c)))
            if not framework.node(c).is_indicator:
                stack.extend(framework.weighted_children(c))
        for parent in [node, *(c for c in out if not framework.node(c).is_indicator)]:
            sibs = framework.weighted_children(parent)
            if sum(out[s] for s in sibs) <= 0:
                raise WeightingError(f"node {parent!r}: the derived weights of all its children are zero")
        return {c: out[c] for c in framework.codes if c in out}
    raise WeightingError(
        f"node {node!r}: the weighted codes must be its children ({', '.join(kids)}) or the indicators under it "
        f"({len(inds)}: {', '.join(inds)}); got {', '.join(sorted(keys))}"
    )
