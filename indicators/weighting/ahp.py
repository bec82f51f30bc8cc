"""AHP weights: principal eigenvector of a pairwise comparison matrix, with Saaty's consistency ratio."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from indicators.weighting.derive import WeightingError, WeightResult

# Saaty's random consistency index RI(n) (Saaty 1980/1990; the table used by Expert Choice and most textbooks).
RANDOM_INDEX: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
    11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59,
}  # fmt: skip
MAX_CR = 0.1
RECIPROCITY_RTOL = 0.01  # 1/3 written as 0.333 must pass; 3 against 0.5 must not


class InconsistentJudgementsError(WeightingError):
    """The pairwise judgements are too inconsistent (CR above the limit); the message names the worst pairs."""


def ahp_matrix(codes: Sequence[str], judgements: Mapping[tuple[str, str], float]) -> np.ndarray:
    """Build the full reciprocal matrix from one judgement per pair: {(a, b): how much more important a is than b}.

    Either orientation of a pair may be given (not both); every pair of distinct codes is required.
    """
    codes = list(codes)
    idx = {c: i for i, c in enumerate(codes)}
    if len(idx) != len(codes):
        raise WeightingError(f"duplicate codes in {codes}")
    n = len(codes)
    a = np.ones((n, n))
    seen: set[frozenset[str]] = set()
    for (ci, cj), value in judgements.items():
        for c in (ci, cj):
            if c not in idx:
                raise WeightingError(f"judgement ({ci!r}, {cj!r}): {c!r} is not one of {', '.join(codes)}")
        if ci == cj:
            raise WeightingError(f"judgement ({ci!r}, {cj!r}): an element is not compared with itself")
        pair = frozenset((ci, cj))
        if pair in seen:
            raise WeightingError(f"the pair ({ci!r}, {cj!r}) is judged twice")
        seen.add(pair)
        v = float(value)
        if not math.isfinite(v) or v <= 0:
            raise WeightingError(f"judgement ({ci!r}, {cj!r}) must be a positive number, got {value!r}")
        i, j = idx[ci], idx[cj]
        a[i, j], a[j, i] = v, 1.0 / v
    missing = [(codes[i], codes[j]) for i in range(n) for j in range(i + 1, n) if frozenset((codes[i], codes[j])) not in seen]
    if missing:
        raise WeightingError(
            "missing judgement(s) for pair(s): " + ", ".join(f"({a_!r}, {b!r})" for a_, b in missing)
        )
    return a


def check_pairwise(matrix: np.ndarray | Sequence[Sequence[float]], codes: Sequence[str]) -> np.ndarray:
    """Validate a pairwise matrix (square, positive, unit diagonal, reciprocal); return it as float array."""
    a = np.asarray(matrix, dtype=float)
    codes = list(codes)
    n = len(codes)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise WeightingError(f"the pairwise matrix must be square, got shape {a.shape}")
    if a.shape[0] != n:
        raise WeightingError(f"the pairwise matrix is {a.shape[0]}×{a.shape[1]} but {n} codes were given")
    if n == 0:
        raise WeightingError("the pairwise matrix is empty")
    if n > max(RANDOM_INDEX):
        raise WeightingError(f"AHP with {n} elements: at most {max(RANDOM_INDEX)} (split them into groups)")
    for i in range(n):
        for j in range(n):
            v = a[i, j]
            if not math.isfinite(v) or v <= 0:
                raise WeightingError(f"comparison {codes[i]!r} vs {codes[j]!r} must be a positive number, got {v!r}")
        if abs(a[i, i] - 1.0) > 1e-9:
            raise WeightingError(f"the diagonal entry of {codes[i]!r} must be 1, got {a[i, i]!r}")
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1.0) > RECIPROCITY_RTOL:
                raise WeightingError(
                    f"comparisons {codes[i]!r} vs {codes[j]!r} = {a[i, j]:g} and {codes[j]!r} vs {codes[i]!r} = "
                    f"{a[j, i]:g} are not reciprocal (expected {1 / a[i, j]:.4g})"
                )
    return a


def ahp_weights(
    matrix: np.ndarray | Sequence[Sequence[float]],
    codes: Sequence[str],
    max_cr: float | None = MAX_CR,
) -> WeightResult:
    """AHP priorities (principal right eigenvector, summing to 1), λmax, CI = (λmax − n)/(n − 1), CR = CI / RI(n).

    CR above `max_cr` raises InconsistentJudgementsError naming the comparisons furthest from the weights' implied
    ratios (deviation measured as |ln a_ij − ln(w_i/w_j)|, so 1/9 and 9 count alike). max_cr=None reports only.
    """
    codes = list(codes)
    a = check_pairwise(matrix, codes)
    n = len(codes)
    # Saaty's method uses the matrix as judged; the reciprocal lower triangle is rebuilt so rounding (0.333) is even.
    a = np.triu(a, 1) + np.tril(1.0 / a.T, -1) + np.eye(n)
    if n == 1:
        w, lam = np.ones(1), 1.0
    else:
        vals, vecs = np.linalg.eig(a)
        k = int(np.argmax(vals.real))
        lam = float(vals[k].real)
        w = np.abs(vecs[:, k].real)  # Perron vector: one sign for all entries, made positive
        w = w / w.sum()
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    ci, cr = max(ci, 0.0), max(cr, 0.0)  # λmax >= n in exact arithmetic; clip the 1e-15 noise
    dev = np.abs(np.log(a) - np.log(np.outer(w, 1.0 / w)))
    pairs = sorted(
        ((float(dev[i, j]), i, j) for i in range(n) for j in range(i + 1, n)), reverse=True
    )
    worst: list[dict[str, Any]] = [
        {
            "pair": [codes[i], codes[j]],
            "judged": float(a[i, j]),
            "implied": float(w[i] / w[j]),
            "log_deviation": d,
        }
        for d, i, j in pairs[:3]
    ]
    diagnostics = {
        "n": n,
        "lambda_max": lam,
        "ci": ci,
        "ri": ri,
        "cr": cr,
        "max_cr": max_cr if max_cr is not None else float("inf"),
        "consistent": bool(max_cr is None or cr <= max_cr),
        "most_inconsistent": worst,
    }
    if max_cr is not None and cr > max_cr:
        detail = "; ".join(
            f"{p['pair'][0]} vs {p['pair'][1]}: judged {p['judged']:.3g}, the weights imply {p['implied']:.3g}"
            for p in worst
        )
        raise InconsistentJudgementsError(
            f"the judgements are too inconsistent: CR = {cr:.3f} > {max_cr:g} (λmax = {lam:.3f}, n = {n}, "
            f"RI = {ri}). Most inconsistent comparisons: {detail}. Revisit these judgements."
        )
    if max_cr is None:
        diagnostics.pop("max_cr")
    return WeightResult(
        method="ahp",
        weights={c: float(x) for c, x in zip(codes, w, strict=True)},
        diagnostics=diagnostics,
        inputs={"codes": codes, "matrix": [[float(x) for x in row] for row in a]},
    )
