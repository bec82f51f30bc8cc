"""Vectorised Monte Carlo over a framework tree: many weight samples per matrix product, ranks, rank intervals.

The engine evaluates S weight vectors at once. For each aggregate node (children before parents) it computes the
weighted power mean of its children for all samples and units together:
- indicator children are a fixed units x k block X, so sum_k w_sk T(x_uk) is one (S x k) @ (k x U) matrix product,
  and the weight actually present for a unit (NaN children take no part) is another, W @ present.T;
- aggregate children are already (S x U) arrays, combined elementwise (a loop over children, never over samples).
T is the power transform of the mean: x (arithmetic, p = 1), log x (geometric, p = 0), 1/x (harmonic, p = -1), x^p.
This is exactly indicators.aggregate's semantics: NaN children dropped and weights renormalised over the present
ones, a node NaN when no child is present (or fewer than its availability threshold), `shift` added before the
transform and subtracted after; a geometric/harmonic/negative-power mean over a non-positive value (a domain error
there) fails the sample, with the node named, instead of raising. A child whose weight is 0 in a sample (reference-only
indicators, a dropped indicator) takes no part in that sample: not in the mean, the domain check or the availability
share (present children among the sample's non-zero-weight ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from indicators.framework import Framework
from indicators.ranking import (  # ranks and summaries live there; re-exported for the engine's callers
    PAIRWISE_MAX_UNITS, RankError, RankSummary, RankTally, rank_quantile, ranks_desc, ranks_desc_sorted,
    score_quantiles, summarise, summary_from_tally,
)
from indicators.uncertainty.sampling import uniform_chunks

if TYPE_CHECKING:  # pragma: no cover
    from indicators.uncertainty.problem import Problem

__all__ = [
    "BATCHABLE", "PAIRWISE_MAX_UNITS", "CompiledTree", "Evaluation", "MonteCarloError", "MonteCarloResult",
    "PowerMean", "RankError", "RankSummary", "RankTally", "auto_chunk", "effective_weights_batch", "evaluate",
    "evaluate_draws",
    "failures_table", "pairwise_table", "p_rank_table", "power_mean", "rank_quantile", "rank_table", "ranks_desc",
    "ranks_desc_sorted", "run_monte_carlo", "score_quantiles", "summarise", "summary_from_tally",
]


class MonteCarloError(ValueError):
    """The Monte Carlo engine was given something it cannot evaluate (unknown method, bad shapes)."""


# -- aggregation methods as power means ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerMean:
    """A weighted power mean with exponent p (1 arithmetic, 0 geometric, -1 harmonic) and a shift."""

    p: float = 1.0
    shift: float = 0.0
    label: str = "amean"

    @property
    def strict_positive(self) -> bool:
        """Values + shift must be > 0 (p <= 0); for p > 0 other than 1 they must be >= 0."""
        return self.p <= 0


BATCHABLE = ("amean", "gmean", "hmean", "pmean")


def power_mean(name: str, params: Mapping[str, Any] | None = None) -> PowerMean:
    """The PowerMean for a registered aggregation method name (indicators.aggregate's names)."""
    params = dict(params or {})
    shift = float(params.get("shift", 0.0))
    if name == "amean":
        return PowerMean(1.0, 0.0, name)
    if name == "gmean":
        return PowerMean(0.0, shift, name)
    if name == "hmean":
        return PowerMean(-1.0, shift, name)
    if name == "pmean":
        p = float(params.get("p", 1.0))
        return PowerMean(p, shift, f"pmean(p={p:g})")
    raise MonteCarloError(
        f"aggregation method {name!r} cannot be evaluated in batch; batched methods: {', '.join(BATCHABLE)}"
    )


def _transform(x: np.ndarray, m: PowerMean) -> tuple[np.ndarray, np.ndarray]:
    """T(x + shift) and where the value is outside the method's domain (only meaningful where x is present)."""
    y = x + m.shift if m.shift else x
    with np.errstate(all="ignore"):
        if m.p == 1.0:
            return y, np.zeros(y.shape, dtype=bool)
        if m.p == 0.0:
            return np.log(y), ~(y > 0)
        bad = ~(y > 0) if m.p < 0 else ~(y >= 0)
        return (1.0 / y if m.p == -1.0 else y**m.p), bad


def _inverse(t: np.ndarray, m: PowerMean) -> np.ndarray:
    with np.errstate(all="ignore"):
        if m.p == 1.0:
            out = t
        elif m.p == 0.0:
            out = np.exp(t)
        elif m.p == -1.0:
            out = 1.0 / t
        else:
            out = t ** (1.0 / m.p)
    return out - m.shift if m.shift else out


# -- the compiled tree --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Step:
    code: str
    ind_cols: np.ndarray  # columns of X (framework.indicators order) of the indicator children
    ind_slots: np.ndarray  # their weight columns
    agg_kids: tuple[int, ...]  # indices of earlier steps that are children
    agg_slots: tuple[int, ...]


@dataclass(frozen=True)
class CompiledTree:
    """A framework laid out for batched evaluation: weight slots (every non-root node) and bottom-up steps."""

    framework: Framework
    slots: tuple[str, ...]
    steps: tuple[_Step, ...]
    slot_of: Mapping[str, int] = field(repr=False)

    @classmethod
    def build(cls, framework: Framework) -> CompiledTree:
        slots = tuple(c for c in framework.codes if c != framework.root)
        slot_of = {c: i for i, c in enumerate(slots)}
        col = {c: j for j, c in enumerate(framework.indicators)}
        step_of: dict[str, int] = {}
        steps = []
        for i, code in enumerate(framework.aggregates):
            kids = framework.children(code)
            inds = [k for k in kids if framework.node(k).is_indicator]
            aggs = [k for k in kids if not framework.node(k).is_indicator]
            steps.append(_Step(code, np.array([col[k] for k in inds], dtype=int),
                               np.array([slot_of[k] for k in inds], dtype=int),
                               tuple(step_of[k] for k in aggs), tuple(slot_of[k] for k in aggs)))
            step_of[code] = i
        return cls(framework, slots, tuple(steps), slot_of)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @cached_property
    def sibling_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(perm, starts, group_of_slot): slots reordered so siblings are contiguous, for np.add.reduceat."""
        parents = [self.framework.node(c).parent for c in self.slots]
        order = sorted(range(len(parents)), key=lambda i: (str(parents[i]), i))
        perm = np.array(order, dtype=int)
        starts, group_of = [], np.empty(len(parents), dtype=int)
        for pos, i in enumerate(order):
            if pos == 0 or parents[order[pos - 1]] != parents[i]:
                starts.append(pos)
            group_of[i] = len(starts) - 1
        return perm, np.array(starts, dtype=int), group_of

    @cached_property
    def sibling_positions(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Per position j within the sibling groups: (groups with a j-th member, that member's slot).

        Sibling totals are sums over positions in order, whole sample rows at a time (slot-major data): much
        faster than np.add.reduceat along the sample axis, which walks it one segment at a time.
        """
        perm, starts, group_of = self.sibling_groups
        ends = np.append(starts[1:], len(perm))
        return tuple((np.flatnonzero(ends - starts > j), perm[starts[ends - starts > j] + j])
                     for j in range(int((ends - starts).max())))

    @cached_property
    def paths(self) -> np.ndarray:
        """(n_indicators x depth) weight slots from each indicator up to the root's child; -1 pads short paths."""
        fw = self.framework
        rows = [[self.slot_of[c] for c in (code, *fw.ancestors(code)[:-1])] for code in fw.indicators]
        depth = max(len(r) for r in rows)
        return np.array([r + [-1] * (depth - len(r)) for r in rows], dtype=int)

    def weight_vector(self, weights: Mapping[str, float] | None = None) -> np.ndarray:
        """The framework's weights (with overrides) as one row of the weight matrix."""
        w = self.framework.weights(weights)
        return np.array([w[c] for c in self.slots])

    def methods(
        self, overrides: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
        default: tuple[str, Mapping[str, Any]] = ("amean", {}),
    ) -> tuple[PowerMean, ...]:
        """Per-step methods: override, else the node's own `aggregation`, else `default` (AggregationPlan's rule)."""
        out = []
        for s in self.steps:
            choice = (overrides or {}).get(s.code)
            if choice is None:
                own = self.framework.node(s.code).aggregation
                choice = (own, {}) if own else default
            out.append(power_mean(choice[0], choice[1]))
        return tuple(out)


def effective_weights_batch(tree: CompiledTree, W: np.ndarray) -> np.ndarray:
    """(S x n_slots) relative weights -> (S x n_indicators) effective weights: path products of within-parent shares.

    A parent whose children weigh 0 in total gives NaN shares (that branch has no weight to share out).
    The work is done slot-major (n_slots x S): every gather, sum and product then moves whole contiguous rows of
    samples instead of picking scattered columns out of each sample's row. The result is a transposed view.
    """
    Wt = np.ascontiguousarray(np.atleast_2d(np.asarray(W, dtype=float)).T)
    positions = tree.sibling_positions
    totals = Wt[positions[0][1]]  # (parents, S): sibling sums, one position (all groups) at a time
    for groups, slots in positions[1:]:
        totals[groups] += Wt[slots]
    group_of = tree.sibling_groups[2]
    share = np.empty((tree.n_slots + 1, Wt.shape[1]))
    share[-1] = 1.0  # paths shorter than the deepest are padded with -1: this row of ones
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(Wt, totals[group_of], out=share[:-1])
    paths = tree.paths
    out = share[paths[:, 0]]
    for d in range(1, paths.shape[1]):  # loop over depth, not samples
        out *= share[paths[:, d]]
    return out.T


def _block(w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """sum_k w[s, k] a[u, k] (one data set, a: U x k) or a[s, u, k] (per-sample data sets): S x U."""
    return w @ a.T if a.ndim == 2 else np.einsum("sk,suk->su", w, a)


@dataclass(frozen=True)
class Evaluation:
    """Composite (root) values per sample and unit, failures per sample, and optionally every node's values."""

    root: np.ndarray  # (S, U)
    domain_step: np.ndarray  # (S,) index of the first step with a domain error, -1 if none
    nodes: dict[str, np.ndarray] | None = None


def evaluate(
    tree: CompiledTree,
    X: np.ndarray,
    W: np.ndarray,
    methods: Sequence[PowerMean],
    thresholds: Sequence[float] | None = None,
    keep_nodes: bool = False,
    which: np.ndarray | None = None,
) -> Evaluation:
    """Every sample's composite: X (U x I, normalised), W (S x n_slots, relative weights, >= 0).

    With `which` (S,), X is a stack of data sets (D x U x I) and sample s scores X[which[s]] (the data factor): the
    indicator blocks are then gathered per sample (S x U x k) and contracted with einsum instead of one product, so
    every draw's samples go through one call (evaluate_draws keeps that gather within a memory budget).
    """
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    if W.ndim == 1:
        W = W[None, :]
    if X.shape[-1] != len(tree.framework.indicators) or W.shape[1] != tree.n_slots or X.ndim != 2 + (which is not None):
        raise MonteCarloError(f"shapes: X {X.shape}, W {W.shape}; expected ({'D, ' if which is not None else ''}U, "
                              f"{len(tree.framework.indicators)}) and (S, {tree.n_slots})")
    if len(methods) != len(tree.steps):
        raise MonteCarloError(f"{len(methods)} methods for {len(tree.steps)} aggregate nodes")
    S, U = W.shape[0], X.shape[-2]
    present_x = np.isfinite(X)
    if (which is None and not keep_nodes and len({(m.p, m.shift) for m in methods}) == 1 and present_x.all()
            and not any(t > 0 for t in (thresholds or ()))):
        # One power mean at every node over complete data: T(composite) = sum_i w_eff_i T(x_i) with the effective
        # (path-product) weights, since each parent applies T to a child's T^-1(...) (arithmetic: T = identity, so
        # composite = X @ w_eff, one product; geometric: T = log). Only when no value is outside T's domain.
        m = methods[0]
        tx, bad = _transform(X, m)
        if not bad.any():
            w_eff = effective_weights_batch(tree, W)
            if np.isfinite(w_eff).all():  # otherwise some branch lost all its weight: the general path handles it
                out = w_eff @ tx.T
                return Evaluation(out if m.p == 1.0 else _inverse(out, m), np.full(S, -1, dtype=int), None)
    values: list[np.ndarray] = []
    domain_step = np.full(S, -1, dtype=int)
    for i, (step, m) in enumerate(zip(tree.steps, methods, strict=True)):
        thr = thresholds[i] if thresholds is not None else 0.0
        num = np.zeros((S, U))
        den = np.zeros((S, U))
        bad_any = np.zeros(S, dtype=bool)
        # availability (only with a threshold): present children among the sample's non-zero-weight ones
        n_avail = np.zeros((S, U)) if thr > 0 else None
        n_weighted = np.zeros(S) if thr > 0 else None
        if step.ind_cols.size:
            xk = X[..., step.ind_cols]
            pk = present_x[..., step.ind_cols]
            tk, badk = _transform(np.where(pk, xk, 1.0 - m.shift if m.p != 1.0 else 0.0), m)
            badk = badk & pk
            # An out-of-domain value (log 0 = -inf, 1/0 = inf, log of a negative = NaN) is never put into the
            # product: with weight 0 it takes no part (0 x inf would be NaN), with a positive weight the sample fails.
            tk = np.where(pk & ~badk, tk, 0.0)
            wk = W[:, step.ind_slots]
            pkf = pk.astype(float)
            if which is not None:  # per-sample data sets: gather this step's block, S x U x k
                tk, pkf, badk = tk[which], pkf[which], badk[which]
            num += _block(wk, tk)
            den += _block(wk, pkf)
            if badk.any() or n_avail is not None:
                wnz = (wk != 0).astype(float)
                if badk.any():  # a present, weighted child outside the domain fails the sample
                    bad_any |= (_block(wnz, badk.astype(float)) > 0).any(axis=1)
                if n_avail is not None and n_weighted is not None:
                    n_avail += _block(wnz, pkf)
                    n_weighted += wnz.sum(axis=1)
        for kid, slot in zip(step.agg_kids, step.agg_slots, strict=True):
            v = values[kid]
            pv = np.isfinite(v)
            tv, badv = _transform(np.where(pv, v, 1.0 - m.shift if m.p != 1.0 else 0.0), m)
            w_s = W[:, slot]
            wv = w_s[:, None]
            if m.p != 1.0:  # the arithmetic mean has no domain: skip the masks on its S x U arrays
                badv = badv & pv
                bad_any |= badv.any(axis=1) & (w_s != 0)
                num += wv * np.where(pv & ~badv, tv, 0.0)
            else:
                num += wv * np.where(pv, tv, 0.0)
            den += wv * pv
            if n_avail is not None and n_weighted is not None:
                n_avail += (w_s != 0)[:, None] & pv
                n_weighted += w_s != 0
        with np.errstate(all="ignore"):
            out = np.where(den > 0, _inverse(num / np.where(den > 0, den, 1.0), m), np.nan)
        if n_avail is not None and n_weighted is not None:
            # indicators.aggregate.availability_share: count / n weighted, 0 when no child is weighted
            nw = n_weighted[:, None]
            share = np.divide(n_avail, nw, out=np.zeros_like(n_avail), where=nw > 0)
            out = np.where(share < thr, np.nan, out)
        newly = bad_any & (domain_step < 0)
        domain_step[newly] = i
        out[bad_any] = np.nan
        values.append(out)
    nodes = {s.code: v for s, v in zip(tree.steps, values, strict=True)} if keep_nodes else None
    return Evaluation(values[-1], domain_step, nodes)


def _by_draw(which: np.ndarray, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """`rows` grouped by their data set: (draw, its rows), in draw order (none for no rows)."""
    if not rows.size:
        return []
    order = rows[np.argsort(which[rows], kind="stable")]
    draws, starts = np.unique(which[order], return_index=True)
    return list(zip(draws.tolist(), np.split(order, starts[1:]), strict=True))


_GATHER_BYTES = 8 << 20  # evaluate_draws' per-sample gather of one indicator block: within the caches' reach


def evaluate_draws(
    tree: CompiledTree,
    Xs: np.ndarray,
    which: np.ndarray,
    W: np.ndarray,
    methods: Sequence[PowerMean],
    thresholds: Sequence[float] | None = None,
) -> Evaluation:
    """evaluate() for samples that each score one of several data sets: Xs (D x U x I), which (S,) its index.

    The data factor spreads a pass's samples over every pre-drawn data set (64 by default) x every method choice:
    called once per data set, evaluate's per-call work (the effective weights, its checks) was repeated for groups of
    a few samples, 12,800 calls in a 100,000-sample run. Here the effective weights are computed once for all the
    samples, and each data set costs one small matrix product (evaluate's one-power-mean path, same arithmetic).
    Samples on a data set with missing or out-of-domain values, or whose effective weights are not finite, take
    evaluate's general path: all of them in one call with `which` (per-sample gather) while that fits _GATHER_BYTES,
    else one call per data set.
    """
    W = np.asarray(W, dtype=float)
    which = np.asarray(which)
    S, U = W.shape[0], Xs.shape[1]
    root = np.empty((S, U))
    domain_step = np.full(S, -1, dtype=int)
    m = methods[0]
    fast = len({(k.p, k.shift) for k in methods}) == 1 and not any(t > 0 for t in (thresholds or ()))
    if fast:  # every draw transformed and checked at once; the loop over draws below only multiplies
        txs, bad = _transform(Xs, m)
        draw_ok = np.isfinite(Xs).all(axis=(1, 2)) & ~bad.any(axis=(1, 2))
        w_eff = np.ascontiguousarray(effective_weights_batch(tree, W))
        fast_row = np.isfinite(w_eff).all(axis=1) & draw_ok[which]
    else:
        fast_row = np.zeros(S, dtype=bool)
    for d, rows in _by_draw(which, np.flatnonzero(fast_row)):
        root[rows] = w_eff[rows] @ txs[d].T
    # The other samples (a draw with missing values, e.g. imputation off): one general evaluate over all their
    # draws, its per-sample gather (samples x U x the widest indicator block) bounded by _GATHER_BYTES, else per draw.
    slow = np.flatnonzero(~fast_row)
    widest = max((st.ind_cols.size for st in tree.steps), default=0)
    if slow.size and slow.size * U * widest * 8 <= _GATHER_BYTES:
        ev = evaluate(tree, Xs, W[slow], methods, thresholds, which=which[slow])
        root[slow], domain_step[slow] = ev.root, ev.domain_step
    else:
        for d, rows in _by_draw(which, slow):
            ev = evaluate(tree, Xs[d], W[rows], methods, thresholds)
            root[rows], domain_step[rows] = ev.root, ev.domain_step
    if fast and m.p != 1.0 and fast_row.any():
        root[fast_row] = _inverse(root[fast_row], m)
    return Evaluation(root, domain_step, None)


# -- the run ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonteCarloResult:
    """Scores of every sample, which failed and why, and the rank summary of the successful ones."""

    units: tuple[str, ...]
    scores: np.ndarray  # (S, U); NaN rows are failed samples
    ok: np.ndarray  # (S,)
    reasons: np.ndarray  # (S,) index into reason_labels, -1 for ok
    reason_labels: tuple[str, ...]
    summary: RankSummary
    nominal_scores: np.ndarray
    nominal_ranks: np.ndarray

    def failures(self) -> dict[str, int]:
        """Failed-sample count per reason (every sample is either ok or counted here)."""
        counts = np.bincount(self.reasons[self.reasons >= 0], minlength=len(self.reason_labels))
        return {lab: int(c) for lab, c in zip(self.reason_labels, counts, strict=True) if c}

    def unranked(self) -> dict[str, int]:
        """Per unit without a composite in some successful samples: in how many (it is unranked there; its rank
        interval is over the others, and the samples count)."""
        missing = self.summary.n_ok - self.summary.ranked
        return {self.units[i]: int(missing[i]) for i in np.flatnonzero(missing)}


_PASS_BYTES = 4 << 20  # one pass's design rows + weights + scores: about the two cores' L2 caches
# When even 512 samples of scores overflow the caches (many units: 2,844 counties take 23 KB a sample), cache
# residency is lost anyway and what a pass costs is per discrete combination (normalisation x aggregation x data draw
# x ...): each combination present in a pass prepares its units x indicators matrix again. Passes then take as many
# samples as this much memory holds (measured at 2,844 units, 2,000 samples: 2048 a pass 23% less CPU than 512).
_LARGE_PASS_BYTES = 64 << 20


def auto_chunk(problem: Problem) -> int:
    """Samples per pass: the largest power of two (512..16384) whose pass arrays fit in _PASS_BYTES (measured best:
    4096 at 16 units x 32 indicators, 2048 at ASEM's 51 x 49; smaller passes pay Python overhead per pass), or in
    _LARGE_PASS_BYTES when 512 samples already overflow the cache budget (thousands of units)."""
    per_sample = 8 * (problem.n_columns + problem.tree.n_slots + len(problem.units))
    budget = _PASS_BYTES if 512 * per_sample <= _PASS_BYTES else _LARGE_PASS_BYTES
    return int(min(16384, max(512, 1 << int(np.log2(max(budget // per_sample, 1))))))


def run_monte_carlo(
    problem: Problem, n: int, rng: np.random.Generator, sampler: str = "sobol", chunk: int | None = None,
    pairwise: bool | Sequence[int] | None = None, progress: Callable[[float], None] | None = None,
) -> MonteCarloResult:
    """Draw n samples of the problem's factors, evaluate all of them in batch, summarise ranks per unit.

    The samples are processed `chunk` (a power of two; default auto_chunk) at a time from design to rank tallies,
    so every array of a pass stays in cache. The design is the same sequence for any chunk and every summary is an
    exact count or a quantile of all scores; only the BLAS product's last bit may depend on the chunk size.
    `pairwise` (RankTally's): which units get P(A above B) rows; default every pair up to PAIRWISE_MAX_UNITS units.
    `progress(fraction done)` is called after every chunk (a cancellable job raises from it to stop the run).
    A unit without a composite under a sample's choices is unranked in that sample, which still counts (see
    Problem.evaluate_settings, `unranked`); `MonteCarloResult.unranked()` says how often, per unit.
    """
    if n < 1:
        raise MonteCarloError(f"need at least one sample, got {n}")
    chunk = chunk or auto_chunk(problem)
    U = len(problem.units)
    scores = np.empty((U, n)).T  # stored unit-major (an (n, U) view): the rank tallies and quantiles read it so
    reasons = np.empty(n, dtype=int)
    tally = RankTally(U, pairwise)
    start = 0
    for u in uniform_chunks(n, max(problem.n_columns, 1), rng, sampler, chunk):
        stop = start + u.shape[0]
        s, r = problem.evaluate_drawn(problem.draw(u), out=scores[start:stop], unranked=True)
        reasons[start:stop] = r
        tally.add(s if (r < 0).all() else s[r < 0])
        start = stop
        if progress is not None:
            progress(stop / n)
    ok = reasons < 0
    nominal = problem.nominal_scores()
    if not np.isfinite(nominal).all():
        raise MonteCarloError("the nominal scoring itself fails: " + problem.nominal_failure())
    summary = summary_from_tally(problem.units, tally, scores if ok.all() else scores[ok])
    return MonteCarloResult(problem.units, scores, ok, reasons, problem.reason_labels, summary, nominal,
                            ranks_desc(nominal[None, :])[0])


# -- tables ---------------------------------------------------------------------------------------------------------
def rank_table(res: MonteCarloResult) -> pl.DataFrame:
    """Per unit: nominal score/rank, median rank, rank interval, mean rank, score quantiles; sorted by nominal rank."""
    sm = res.summary  # P(rank 1) is the rank histogram's first column: not the U x U cumulative table (p_rank_at_most)
    cols: dict[str, Any] = {
        "unit": list(res.units), "nominal_score": res.nominal_scores, "nominal_rank": res.nominal_ranks,
        "median_rank": sm.median_rank, "rank_low": sm.rank_low, "rank_high": sm.rank_high,
        "mean_rank": sm.mean_rank, "p_top1": _per_ranked(sm.rank_counts[:, 0], sm.ranked),
    }
    for q, row in zip(sm.quantile_levels, sm.score_quantiles, strict=True):
        cols[f"score_q{round(q * 100):02d}"] = row
    return pl.DataFrame(cols).sort("nominal_rank")


def _per_ranked(counts: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """counts / samples in which the unit has a rank; NaN for a unit never ranked."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ranked > 0, counts / np.maximum(ranked, 1), np.nan)


def p_rank_table(res: MonteCarloResult) -> pl.DataFrame:
    """Wide: one row per unit, column k = P(rank <= k)."""
    p = res.summary.p_rank_at_most
    return pl.DataFrame({"unit": list(res.units), **{f"p_rank_le_{k + 1}": p[:, k] for k in range(p.shape[1])}})


def pairwise_table(res: MonteCarloResult) -> pl.DataFrame:
    """Wide: row unit A, column unit B, value P(A ranks above B) (strictly higher composite)."""
    p = res.summary.p_above
    return pl.DataFrame({"unit": list(res.units), **{u: p[:, j] for j, u in enumerate(res.units)}})


def failures_table(res: MonteCarloResult) -> pl.DataFrame:
    """Every sample accounted for: one row per outcome (ok, or each failure reason) with count and share."""
    n = len(res.ok)
    rows = [("ok", int(res.ok.sum()))] + sorted(res.failures().items(), key=lambda kv: -kv[1])
    return pl.DataFrame({"outcome": [r for r, _ in rows], "samples": [c for _, c in rows],
                         "share": [c / n if n else 0.0 for _, c in rows]},
                        schema={"outcome": pl.String, "samples": pl.Int64, "share": pl.Float64})
