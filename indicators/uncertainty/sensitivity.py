"""Variance-based sensitivity: Saltelli design, Jansen estimators with bootstrap intervals, convergence; OAT; swaps.

Estimators (Saltelli et al. 2010, "Variance based sensitivity analysis of model output. Design and estimator for the
total sensitivity index", Comput. Phys. Commun. 181:259-270, Table 2; Jansen 1999, Comput. Phys. Commun. 117:35-43).
A and B are independent N x D sample matrices of the uniform unit cube; A_B^(i) is A with the columns of factor i
(a factor may span several columns: all weights of one level form one group factor) taken from B. With
f_A = f(A), f_B = f(B), f_ABi = f(A_B^(i)) and V the variance of the pooled 2N outputs (f_A, f_B):

    first order   S_i  = (V - 1/2 mean((f_B - f_ABi)^2)) / V        (Jansen form of V_i, Saltelli 2010 Table 2 (b))
    total         ST_i = 1/2 mean((f_A - f_ABi)^2) / V               (Jansen, Saltelli 2010 Table 2 (f))

f_B and f_ABi share factor i only, so the halved mean square of their difference is the variance left once x_i is
fixed (V - V_i); f_A and f_ABi differ in factor i only, so theirs is E[V(Y | x_~i)] = V * ST_i. A factor that
changes nothing gives f_ABi = f_A exactly, so ST_i = 0 exactly and S_i = 0 up to sampling noise.

Confidence intervals are percentile bootstrap intervals: the N rows (the same row of A, B and every A_B^(i)
together) are resampled with replacement using the passed numpy Generator, and all indices recomputed.
Outputs with zero variance (a district ranked first in every sample) have undefined indices: NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from indicators.uncertainty.sampling import SensitivityError, uniform_matrix

from indicators.ranking import rank_desc

if TYPE_CHECKING:  # pragma: no cover
    from indicators.uncertainty.problem import Problem


# -- design -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SaltelliDesign:
    """The A and B matrices (N x D, uniform on [0,1)) and which columns belong to each factor."""

    A: np.ndarray
    B: np.ndarray
    groups: tuple[tuple[int, ...], ...]

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    @property
    def k(self) -> int:
        return len(self.groups)

    def ab(self, i: int) -> np.ndarray:
        """A with the columns of factor i taken from B."""
        out = self.A.copy()
        cols = list(self.groups[i])
        out[:, cols] = self.B[:, cols]
        return out

    def stacked(self) -> np.ndarray:
        """[A; B; A_B^(1); ...; A_B^(k)]: N (k + 2) rows, the order `split` expects."""
        return np.vstack([self.A, self.B, *(self.ab(i) for i in range(self.k))])

    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Outputs of `stacked()` (N (k+2) x m or N (k+2),) -> f_A (N x m), f_B (N x m), f_AB (k x N x m)."""
        y = np.asarray(y, dtype=float)
        y2 = y.reshape(y.shape[0], -1)
        if y2.shape[0] != self.n * (self.k + 2):
            raise SensitivityError(f"expected {self.n * (self.k + 2)} output rows, got {y2.shape[0]}")
        n = self.n
        return y2[:n], y2[n:2 * n], y2[2 * n:].reshape(self.k, n, y2.shape[1])


def saltelli_design(n: int, dims: Sequence[int], rng: np.random.Generator, sampler: str = "sobol") -> SaltelliDesign:
    """A Saltelli design for factors of `dims` columns each: A and B from one 2D-dimensional (quasi-)random matrix."""
    if not dims or any(d < 1 for d in dims):
        raise SensitivityError(f"every factor needs at least one column, got {list(dims)}")
    groups, start = [], 0
    for d in dims:
        groups.append(tuple(range(start, start + d)))
        start += d
    m = uniform_matrix(n, 2 * start, rng, sampler)
    return SaltelliDesign(m[:, :start], m[:, start:], tuple(groups))


# -- estimators ---------------------------------------------------------------------------------------------------
def _indices(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jansen first-order and total indices, shapes (k, m); NaN where the output variance is 0."""
    v = np.concatenate([f_a, f_b], axis=0).var(axis=0)  # (m,)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (v - 0.5 * ((f_b[None] - f_ab) ** 2).mean(axis=1)) / v
        st = 0.5 * ((f_a[None] - f_ab) ** 2).mean(axis=1) / v
    zero = ~(v > 0)
    s[:, zero] = np.nan
    st[:, zero] = np.nan
    return s, st


@dataclass(frozen=True)
class SobolResult:
    """First-order (S) and total (ST) indices with bootstrap intervals; arrays of shape (factors, outputs)."""

    S: np.ndarray
    ST: np.ndarray
    S_low: np.ndarray
    S_high: np.ndarray
    ST_low: np.ndarray
    ST_high: np.ndarray
    variance: np.ndarray  # (outputs,)
    n: int
    n_boot: int
    confidence: float
    n_dropped: int = 0  # base rows dropped because some evaluation in the row failed (non-finite)


def sobol_indices(
    f_a: np.ndarray,
    f_b: np.ndarray,
    f_ab: np.ndarray,
    rng: np.random.Generator,
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
) -> SobolResult:
    """Jansen S and ST for every factor and output, with percentile bootstrap intervals (rows resampled)."""
    f_a = np.asarray(f_a, dtype=float).reshape(len(f_a), -1)
    f_b = np.asarray(f_b, dtype=float).reshape(len(f_b), -1)
    f_ab = np.asarray(f_ab, dtype=float)
    f_ab = f_ab.reshape(f_ab.shape[0], f_ab.shape[1], -1)
    n = f_a.shape[0]
    if f_b.shape != f_a.shape or f_ab.shape[1:] != f_a.shape:
        raise SensitivityError(f"shape mismatch: f_A {f_a.shape}, f_B {f_b.shape}, f_AB {f_ab.shape}")
    # A failed evaluation (NaN) in any of a row's A, B or A_B^(i) spoils that row for every index: drop the row,
    # and report how many were dropped rather than letting NaN propagate silently.
    ok = np.isfinite(f_a).all(axis=1) & np.isfinite(f_b).all(axis=1) & np.isfinite(f_ab).all(axis=(0, 2))
    dropped = int(n - ok.sum())
    if dropped:
        f_a, f_b, f_ab = f_a[ok], f_b[ok], f_ab[:, ok]
        n = f_a.shape[0]
    if n < 2:
        raise SensitivityError(f"need at least 2 usable base samples, have {n} ({dropped} dropped as failed)")
    if not 0 < confidence < 1:
        raise SensitivityError(f"confidence must be in (0, 1), got {confidence}")
    s, st = _indices(f_a, f_b, f_ab)
    k, m = s.shape
    boot_s = np.empty((n_boot, k, m))
    boot_st = np.empty((n_boot, k, m))
    for b in range(n_boot):  # loop over replicates only; each is vectorised over factors and outputs
        idx = rng.integers(0, n, n)
        boot_s[b], boot_st[b] = _indices(f_a[idx], f_b[idx], f_ab[:, idx])
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: outputs with zero variance stay NaN
        q = (alpha, 1 - alpha)
        if n_boot > 0:
            s_lo, s_hi = np.nanquantile(boot_s, q, axis=0) if np.isfinite(boot_s).any() else (s * np.nan,) * 2
            st_lo, st_hi = np.nanquantile(boot_st, q, axis=0) if np.isfinite(boot_st).any() else (st * np.nan,) * 2
        else:
            s_lo = s_hi = st_lo = st_hi = np.full_like(s, np.nan)
    v = np.concatenate([f_a, f_b], axis=0).var(axis=0)
    return SobolResult(s, st, np.asarray(s_lo), np.asarray(s_hi), np.asarray(st_lo), np.asarray(st_hi), v, n,
                       n_boot, confidence, dropped)


def sobol_convergence(
    f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray, fractions: Sequence[float] = (0.125, 0.25, 0.5, 1.0)
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(n, S, ST) on the first n = fraction * N base rows: how far the indices still move as N grows.

    The first rows of a scrambled Sobol' sequence whose count is a power of two are themselves a balanced design, so
    prefixes N/8, N/4, N/2 are legitimate smaller runs.
    """
    f_a = np.asarray(f_a, dtype=float).reshape(len(f_a), -1)
    f_b = np.asarray(f_b, dtype=float).reshape(len(f_b), -1)
    f_ab = np.asarray(f_ab, dtype=float)
    f_ab = f_ab.reshape(f_ab.shape[0], f_ab.shape[1], -1)
    out = []
    n = f_a.shape[0]
    for frac in fractions:
        m = max(2, int(round(n * frac)))
        s, st = _indices(f_a[:m], f_b[:m], f_ab[:, :m])
        out.append((m, s, st))
    return out


# -- runs over a compiled uncertainty problem ----------------------------------------------------------------------
SHIFT_OUTPUT = "mean_abs_rank_shift"


def _ranks_with_failures(scores: np.ndarray) -> np.ndarray:
    """Per sample row, the rank rule (indicators.ranking.rank_desc) as floats; a failed sample (a row with any
    non-finite score) has no ranks at all, so no unit's rank is read from a half-evaluated model."""
    ranks = rank_desc(scores, axis=1)
    ranks[~np.isfinite(scores).all(axis=1)] = np.nan
    return ranks


@dataclass(frozen=True)
class SobolAnalysis:
    """Sobol indices of every factor on every unit's rank and on the mean absolute rank shift, with convergence."""

    factors: tuple[str, ...]
    outputs: tuple[str, ...]
    result: SobolResult
    convergence: list[tuple[int, np.ndarray, np.ndarray]]
    n_evaluations: int
    failures: dict[str, int]

    def table(self) -> pl.DataFrame:
        """Long table: factor, output, S, S_low, S_high, ST, ST_low, ST_high."""
        r = self.result
        k, m = r.S.shape
        return pl.DataFrame({
            "factor": [f for f in self.factors for _ in range(m)],
            "output": list(self.outputs) * k,
            "S": r.S.ravel(), "S_low": r.S_low.ravel(), "S_high": r.S_high.ravel(),
            "ST": r.ST.ravel(), "ST_low": r.ST_low.ravel(), "ST_high": r.ST_high.ravel(),
        })

    def convergence_table(self) -> pl.DataFrame:
        """Long table: n (base samples), factor, output, S, ST: how much the indices still move with N."""
        rows: dict[str, list[object]] = {"n": [], "factor": [], "output": [], "S": [], "ST": []}
        for n, s, st in self.convergence:
            for i, f in enumerate(self.factors):
                for j, o in enumerate(self.outputs):
                    for key, val in (("n", n), ("factor", f), ("output", o), ("S", float(s[i, j])),
                                     ("ST", float(st[i, j]))):
                        rows[key].append(val)
        return pl.DataFrame(rows, schema={"n": pl.Int64, "factor": pl.String, "output": pl.String, "S": pl.Float64,
                                          "ST": pl.Float64})


def sobol_analysis(
    problem: Problem,
    n: int,
    rng: np.random.Generator,
    *,
    sampler: str = "sobol",
    n_boot: int = 200,
    confidence: float = 0.95,
    fractions: Sequence[float] = (0.125, 0.25, 0.5, 1.0),
) -> SobolAnalysis:
    """Saltelli design over the problem's factors (N (k+2) evaluations), Jansen indices on ranks, with bootstrap."""
    if not problem.factors:
        raise SensitivityError("the uncertainty specification varies nothing: no factor to analyse")
    design = saltelli_design(n, problem.factor_dims, rng, sampler)
    # columns of the design are factor columns in factor order, which is how the problem numbered them
    scores, reasons = problem.evaluate_uniform(design.stacked())
    ranks = _ranks_with_failures(scores)
    nominal = _ranks_with_failures(problem.nominal_scores()[None, :])[0]
    shift = np.abs(ranks - nominal[None, :]).mean(axis=1, keepdims=True)
    outputs = np.concatenate([ranks, shift], axis=1)
    f_a, f_b, f_ab = design.split(outputs)
    res = sobol_indices(f_a, f_b, f_ab, rng, n_boot=n_boot, confidence=confidence)
    ok_rows = np.isfinite(f_a).all(axis=1) & np.isfinite(f_b).all(axis=1) & np.isfinite(f_ab).all(axis=(0, 2))
    conv = sobol_convergence(f_a[ok_rows], f_b[ok_rows], f_ab[:, ok_rows], fractions)
    counts = np.bincount(reasons[reasons >= 0], minlength=len(problem.reason_labels))
    fails = {lab: int(c) for lab, c in zip(problem.reason_labels, counts, strict=False) if c}
    return SobolAnalysis(tuple(f.name for f in problem.factors), (*problem.units, SHIFT_OUTPUT), res, conv,
                         int(scores.shape[0]), fails)


# -- one at a time --------------------------------------------------------------------------------------------------
def _oat_settings(problem: Problem
                  ) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(factor, setting) labels and the settings: each factor at its low/high (or each choice), others nominal
    (weights, normalisation, imputation, aggregation, data draw)."""
    w0 = problem.w0
    labels: list[tuple[str, str]] = []
    rows: list[np.ndarray] = []
    norm: list[int] = []
    imp: list[bool] = []
    agg: list[int] = []
    data: list[int] = []

    for f in problem.factors:
        for one in f.one_at_a_time(problem.tree, w0):
            labels.append((f.name, one.label))
            rows.append(one.w)
            norm.append(one.norm)
            imp.append(one.imp)
            agg.append(one.agg)
            data.append(one.data)
    return (labels, np.array(rows), np.array(norm, dtype=int), np.array(imp, dtype=bool), np.array(agg, dtype=int),
            np.array(data, dtype=int))


def tornado(problem: Problem) -> pl.DataFrame:
    """One-at-a-time: each factor at its low/high (each choice for discrete ones), others nominal; per unit.

    Columns: factor, setting, unit, score, score_change, rank, rank_change, failure (reason or null).
    """
    labels, W, norm, imp, agg, data = _oat_settings(problem)
    units = problem.units
    if not labels:
        raise SensitivityError("the uncertainty specification varies nothing: no factor for a tornado")
    scores, reasons = problem.evaluate_settings(W, norm, imp, agg, data=data)
    ranks = _ranks_with_failures(scores)
    nominal = problem.nominal_scores()
    nominal_rank = _ranks_with_failures(nominal[None, :])[0]
    n_u = len(units)
    fail = [problem.reason_labels[r] if r >= 0 else None for r in reasons]
    return pl.DataFrame({
        "factor": [f for f, _ in labels for _ in range(n_u)],
        "setting": [s for _, s in labels for _ in range(n_u)],
        "unit": list(units) * len(labels),
        "score": scores.ravel(),
        "score_change": (scores - nominal[None, :]).ravel(),
        "rank": ranks.ravel(),
        "rank_change": (ranks - nominal_rank[None, :]).ravel(),
        "failure": [x for x in fail for _ in range(n_u)],
    }, schema={"factor": pl.String, "setting": pl.String, "unit": pl.String, "score": pl.Float64,
               "score_change": pl.Float64, "rank": pl.Float64, "rank_change": pl.Float64, "failure": pl.String})


# -- swap points ----------------------------------------------------------------------------------------------------
def _share_rows(problem: Problem, node: str, shares: np.ndarray) -> np.ndarray:
    """Nominal weight rows with `node`'s share within its parent set to each value; siblings keep their proportions."""
    fw, tree, w0 = problem.tree.framework, problem.tree, problem.w0
    parent = fw.node(node).parent
    if parent is None:
        raise SensitivityError(f"node {node!r} is the root; it has no share to vary")
    sibs = [tree.slot_of[c] for c in fw.children(parent) if c != node]
    if not sibs:
        raise SensitivityError(f"node {node!r} is the only child of {parent!r}: its share is always 1")
    slot = tree.slot_of[node]
    total = w0[[slot, *sibs]].sum()
    rest = w0[sibs].sum()
    W = np.repeat(w0[None, :], len(shares), axis=0)
    W[:, slot] = shares * total
    W[:, sibs] = (w0[sibs] / rest if rest > 0 else np.full(len(sibs), 1 / len(sibs)))[None, :] * (
        (1 - shares) * total)[:, None]
    return W


def _is_linear(problem: Problem, node: str, units_idx: Sequence[int]) -> bool:
    """Composite affine in the node's share: arithmetic means from its parent up, siblings present for the units."""
    fw, tree = problem.tree.framework, problem.tree
    parent = fw.node(node).parent
    assert parent is not None
    chain = {parent, *fw.ancestors(parent)}
    for step, m, thr in zip(tree.steps, problem.agg_sets[-1], problem.thresholds, strict=True):
        if step.code in chain and (m.p != 1.0 or thr > 0):
            return False
    values = problem.nominal_nodes()
    return all(np.isfinite(values[c][u]) for c in fw.children(parent) for u in units_idx)


def swap_points(
    problem: Problem, node: str, pairs: Sequence[tuple[str, str]] | None = None, *, grid: int = 201, tol: float = 1e-10
) -> pl.DataFrame:
    """Shares of `node` within its parent (0..1) at which two units swap places; for the blend use node 'demand'.

    Exact (one linear solve) when the composite is affine in the share (arithmetic means on the path, no missing
    siblings for the pair); otherwise every sign change on a grid of `grid` shares is refined by bisection.
    Default pairs: neighbours in the nominal ranking. Columns: unit_a, unit_b, node, nominal_share, swap_share,
    leader_below (the unit ahead for shares below the swap), method.
    """
    fw = problem.tree.framework
    if node not in fw:
        raise SensitivityError(f"unknown node {node!r}")
    units = list(problem.units)
    nominal = problem.nominal_scores()
    if pairs is None:
        order = np.argsort(-nominal, kind="stable")
        pairs = [(units[order[i]], units[order[i + 1]]) for i in range(len(units) - 1)]
    for a, b in pairs:
        for u in (a, b):
            if u not in units:
                raise SensitivityError(f"unknown unit {u!r}")
    parent = fw.node(node).parent
    if parent is None:
        raise SensitivityError(f"node {node!r} is the root; it has no share to vary")
    w0 = problem.w0
    tree = problem.tree
    s0 = w0[tree.slot_of[node]] / sum(w0[tree.slot_of[c]] for c in fw.children(parent))
    one = np.ones(1, dtype=bool)

    def scores_at(shares: np.ndarray) -> np.ndarray:
        n = len(shares)
        W = _share_rows(problem, node, shares)
        return problem.evaluate_settings(W, np.full(n, -1), np.repeat(one, n), np.full(n, -1))[0]

    rows: dict[str, list[object]] = {k: [] for k in ("unit_a", "unit_b", "node", "nominal_share", "swap_share",
                                                     "leader_below", "method")}
    ends = scores_at(np.array([0.0, 1.0]))
    s_grid = np.linspace(0.0, 1.0, grid)
    sc_grid: np.ndarray | None = None
    for a, b in pairs:
        ia, ib = units.index(a), units.index(b)
        found: list[tuple[float, str]] = []
        if _is_linear(problem, node, (ia, ib)):
            d0, d1 = ends[0, ia] - ends[0, ib], ends[1, ia] - ends[1, ib]
            if d0 != d1 and np.sign(d0) != np.sign(d1):
                found.append((float(d0 / (d0 - d1)), "exact"))
        else:
            if sc_grid is None:
                sc_grid = scores_at(s_grid)
            d = sc_grid[:, ia] - sc_grid[:, ib]
            for k in np.flatnonzero(np.isfinite(d[:-1]) & np.isfinite(d[1:]) & (np.sign(d[:-1]) * np.sign(d[1:]) < 0)):
                lo, hi, dlo = s_grid[k], s_grid[k + 1], d[k]
                while hi - lo > tol:
                    mid = 0.5 * (lo + hi)
                    dm = scores_at(np.array([mid]))[0]
                    dmid = dm[ia] - dm[ib]
                    if np.sign(dmid) == np.sign(dlo):
                        lo, dlo = mid, dmid
                    else:
                        hi = mid
                found.append((0.5 * (lo + hi), "bisection"))
        for s_star, method in found or [(float("nan"), "exact" if _is_linear(problem, node, (ia, ib)) else "grid")]:
            below = scores_at(np.array([max(0.0, s_star - 1e-6)]))[0] if np.isfinite(s_star) else nominal
            rows["unit_a"].append(a)
            rows["unit_b"].append(b)
            rows["node"].append(node)
            rows["nominal_share"].append(float(s0))
            rows["swap_share"].append(s_star)
            rows["leader_below"].append(a if below[ia] >= below[ib] else b)
            rows["method"].append(method)
    return pl.DataFrame(rows, schema={"unit_a": pl.String, "unit_b": pl.String, "node": pl.String,
                                      "nominal_share": pl.Float64, "swap_share": pl.Float64,
                                      "leader_below": pl.String, "method": pl.String})
