"""Result tables of a scoring run: scores with ranks, gaps and bands; contributions; effective weights; priorities.

Definitions (documented for assessors):
- rank: within a period and node, 1 = highest score, ties share the minimum rank; a missing score has no rank
  (the one rule, indicators.ranking.rank_desc).
- gap_to_best: best score in the period and node minus the unit's score (0 for the best unit).
- gap_to_target: indicators — (target − value) × direction in raw units, so positive = still short of the target,
  negative = beyond it; aggregates — target score − score when the node defines a target, else null.
- band: see spec.BandSpec (default: absolute scores 优秀 ≥ 90 / 良好 80–90 / 一般 60–80 / 较差 < 60; quartiles of the
  period's scores for that node, 领先 / 良好 / 一般 / 待提升, by name).
- contribution: each node's share of the composite, distributed top-down: a child receives its parent's contribution
  times w·s / Σ(w·s) over the present children. For arithmetic means this is exactly effective weight × normalised
  value (contributions sum to the composite). For geometric/harmonic/power/median nodes the same proportional rule is
  used as an accounting convention: contributions still sum to the composite, but are not marginal effects.
- imputed / n_observed / n_indicators: an indicator is imputed when the profile's missing-data method filled it;
  an aggregate is imputed when any indicator it counts (positive effective weight below it) was. n_indicators is how
  many indicators a node counts, n_observed how many of them were observed (present and not imputed) for the unit
  and period: the "k of n indicators" every table shows (`coverage`). Zero-weight indicators (comparison only) are
  not counted.
- effective weights: nominal = product of normalised weights along the path (Framework.effective_weights);
  contribution_share = Σ contributions / Σ composite over all unit-periods (the indicator's realised share).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from indicators.errors import ScoringError
from indicators.nanreduce import nanmax, nanmin
from indicators.ranking import rank_desc

from indicators.framework import Framework

if TYPE_CHECKING:
    from indicators.model import ScoreResult

TREAT_LABELS = {0: "", 1: "winsorised_high", -1: "winsorised_low", 2: "log"}


def nan_quantile(values: np.ndarray, q: np.ndarray, axis: int) -> np.ndarray:
    """np.nanquantile (linear interpolation) without its per-slice Python loop: shape (len(q), *others)."""
    v = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    s = np.sort(v, axis=-1)  # NaN last
    n = (~np.isnan(v)).sum(axis=-1)
    pos = q.reshape(-1, *([1] * n.ndim)) * (n - 1)
    lo = np.clip(np.floor(pos), 0, None).astype(int)
    hi = np.clip(np.ceil(pos), 0, None).astype(int)
    sb = np.broadcast_to(s, (len(q), *s.shape))
    a = np.take_along_axis(sb, lo[..., None], axis=-1)[..., 0]
    b = np.take_along_axis(sb, hi[..., None], axis=-1)[..., 0]
    out = a + (b - a) * (pos - lo)
    return np.where(n > 0, out, np.nan)


def band_index(result: ScoreResult, values: np.ndarray) -> np.ndarray:
    """Band index per cell of a periods × units × nodes array (−1 where the score is missing)."""
    b = result.spec.bands
    cuts = np.asarray(b.cuts, dtype=float)
    if b.method == "quantile":
        cut_vals = nan_quantile(values, cuts, axis=1)[:, :, None, :]  # (n_cuts, P, 1, N)
    else:
        cut_vals = cuts[:, None, None, None]
    idx = (values[None] < cut_vals).sum(axis=0)
    return np.where(np.isnan(values), -1, idx)


def scores_frame(r: ScoreResult) -> pl.DataFrame:
    fw = r.framework
    n_p, n_u, n_n = r.values.shape
    n_i = len(fw.indicators)
    V = r.values
    ranks = rank_desc(V, axis=1)
    best = nanmax(V, axis=1, keepdims=True)  # NaN, quietly, for a node no unit has in a period
    gap_best = best - V
    target = np.array([np.nan if fw.node(c).target is None else fw.node(c).target for c in r.order], dtype=float)
    direction = np.array([fw.node(c).direction for c in r.order], dtype=float)
    # the observed (or imputed) raw value for indicators; aggregates have none
    raw_or_filled = np.full(V.shape, np.nan)
    raw_or_filled[..., :n_i] = r.filled
    gap_target = np.where(
        np.arange(n_n) < n_i, (target - raw_or_filled) * direction, target - V
    )
    bands = band_index(r, V)
    labels_zh = np.array([*r.spec.bands.labels_zh, None], dtype=object)
    labels_en = np.array([*r.spec.bands.labels_en, None], dtype=object)
    treat = np.zeros(V.shape, dtype=np.int8)
    treat[..., :n_i] = r.treat_flags
    observed = ~np.isnan(r.raw) & ~r.imputed
    k_obs, n_ind = coverage(fw, r.order, r.weights, observed)
    imputed = imputed_nodes(fw, r.order, r.weights, r.imputed)
    level = np.array([fw.level(c) for c in r.order])
    P, U, N = np.meshgrid(np.arange(n_p), np.arange(n_u), np.arange(n_n), indexing="ij")

    def nulls(a: np.ndarray) -> pl.Series:
        return pl.Series(a.reshape(-1), dtype=pl.Float64).fill_nan(None)

    return pl.DataFrame(
        {
            "unit_code": np.array(r.units, dtype=object)[U.reshape(-1)].tolist(),
            "period": np.array(r.periods, dtype=object)[P.reshape(-1)].tolist(),
            "node": np.array(r.order, dtype=object)[N.reshape(-1)].tolist(),
            "level": level[N.reshape(-1)],
            "is_indicator": (N.reshape(-1) < n_i),
            "raw_value": nulls(raw_or_filled),
            "score": nulls(V),
            "rank": pl.Series(ranks.reshape(-1)).fill_nan(None).cast(pl.Int64),
            "gap_to_best": nulls(gap_best),
            "target": nulls(np.broadcast_to(target, V.shape)),
            "gap_to_target": nulls(gap_target),
            "band": labels_zh[bands.reshape(-1)].tolist(),
            "band_en": labels_en[bands.reshape(-1)].tolist(),
            "contribution": nulls(contribution_matrix(r)),
            "imputed": imputed.reshape(-1),
            "treatment": [TREAT_LABELS[int(t)] for t in treat.reshape(-1)],
            "below_threshold": r.below_threshold.reshape(-1),
            "shrunk": _node_flags(r.shrunk, V.shape),
            "n_observed": k_obs.reshape(-1),
            "n_indicators": np.broadcast_to(n_ind, V.shape).reshape(-1),
        }
    )


def _node_flags(flags: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    if flags is not None:
        out[..., : flags.shape[-1]] = flags
    return out.reshape(-1)


def counted_indicators(framework: Framework, order: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """bool nodes × indicators: which indicators each node (in `order`) counts: its descendants (itself, for an
    indicator) with a positive effective weight, i.e. every relative weight on the path from the node down is > 0."""
    inds = framework.indicators
    col = {c: j for j, c in enumerate(inds)}
    w = framework.weights(dict(weights))
    out = np.zeros((len(order), len(inds)), dtype=bool)
    for i, node in enumerate(order):
        if node in col:
            out[i, col[node]] = w.get(node, 1.0) > 0 or node == framework.root
            continue
        for c in framework.descendant_indicators(node):
            path = True
            cur: str | None = c
            while cur != node and cur is not None:
                path = path and w.get(cur, 0.0) > 0
                cur = framework.node(cur).parent
            out[i, col[c]] = path
    return out


def coverage(framework: Framework, order: Sequence[str], weights: Mapping[str, float],
             observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, n): k = periods × units × nodes, how many of the indicators each node counts were observed; n = per
    node, how many it counts. `observed` is bool periods × units × indicators (present and not imputed)."""
    M = counted_indicators(framework, order, weights)
    k = np.asarray(observed, dtype=np.int64) @ M.T.astype(np.int64)
    return k, M.sum(axis=1).astype(np.int64)


def imputed_nodes(framework: Framework, order: Sequence[str], weights: Mapping[str, float],
                  imputed: np.ndarray) -> np.ndarray:
    """bool periods × units × nodes: an indicator filled by imputation, or an aggregate counting one that was."""
    M = counted_indicators(framework, order, weights)
    return (np.asarray(imputed, dtype=np.int64) @ M.T.astype(np.int64)) > 0


def contribution_matrix(r: ScoreResult) -> np.ndarray:
    """periods × units × nodes: each node's contribution to the composite (see module docstring)."""
    V = r.values.reshape(-1, r.values.shape[-1])
    C = np.full(V.shape, np.nan)
    root = r.order.index(r.framework.root)
    C[:, root] = V[:, root]
    warrs = r.plan.weight_arrays(r.weights)
    for step, w in reversed(list(zip(r.plan.steps, warrs))):
        K = V[:, step.kids]
        present = ~np.isnan(K)
        W = np.where(present, w, 0.0)
        ws = np.where(present, K, 0.0) * W
        tot = ws.sum(axis=1, keepdims=True)
        sw = W.sum(axis=1, keepdims=True)
        with np.errstate(all="ignore"):
            share = np.where(tot != 0, ws / np.where(tot != 0, tot, 1.0), W / np.where(sw > 0, sw, 1.0))
        C[:, step.kids] = np.where(present, C[:, [step.col]] * share, np.nan)
    return C.reshape(r.values.shape)


def contributions_frame(r: ScoreResult) -> pl.DataFrame:
    """Long: unit_code, period, indicator, normalised value, contribution to the composite, share of it."""
    n_i = len(r.framework.indicators)
    C = contribution_matrix(r)[..., :n_i]
    root = r.root_scores[..., None]
    with np.errstate(all="ignore"):
        share = C / root
    n_p, n_u, _ = C.shape
    P, U, J = np.meshgrid(np.arange(n_p), np.arange(n_u), np.arange(n_i), indexing="ij")
    return pl.DataFrame(
        {
            "unit_code": np.array(r.units, dtype=object)[U.reshape(-1)].tolist(),
            "period": np.array(r.periods, dtype=object)[P.reshape(-1)].tolist(),
            "indicator": np.array(r.framework.indicators, dtype=object)[J.reshape(-1)].tolist(),
            "score": pl.Series(r.values[..., :n_i].reshape(-1)).fill_nan(None),
            "contribution": pl.Series(C.reshape(-1)).fill_nan(None),
            "share": pl.Series(share.reshape(-1)).fill_nan(None),
        }
    )


def effective_weights_frame(r: ScoreResult) -> pl.DataFrame:
    """Per indicator: nominal weight in its parent, nominal effective weight, realised contribution share."""
    fw = r.framework
    codes = fw.indicators
    n_i = len(codes)
    nominal = fw.effective_weights(r.weights)
    C = contribution_matrix(r)[..., :n_i].reshape(-1, n_i)
    root = r.root_scores.reshape(-1)
    ok = ~np.isnan(root)
    tot = root[ok].sum()
    with np.errstate(all="ignore"):
        realised = np.where(tot != 0, np.nansum(C[ok], axis=0) / tot, np.nan)
    in_parent = []
    for c in codes:
        parent = fw.node(c).parent
        assert parent is not None
        s = sum(r.weights[k] for k in fw.children(parent))
        in_parent.append(r.weights[c] / s)
    return pl.DataFrame(
        {
            "indicator": list(codes),
            "parent": [fw.node(c).parent for c in codes],
            "weight": [r.weights[c] for c in codes],
            "weight_in_parent": in_parent,
            "nominal_effective": nominal,
            "contribution_share": pl.Series(realised).fill_nan(None),
        }
    )


def improvement_priorities(r: ScoreResult, unit: str, period: str | None, step: str, size: float) -> pl.DataFrame:
    """For one unit: each indicator moved by a stated step, the composite and rank it would gain, best first.

    step = "range": the indicator's value (after treatment, on the normaliser's input scale) moves by `size` × its
    range over the fitted periods, in its good direction; step = "best": it moves to the best unit's value in that
    period. Every other unit and the fitted normaliser stay fixed, so the gain is the unit's own. A moved value beyond
    the fitted range is normalised out of sample (see indicators.normalise: clipped to the declared range by default),
    so an indicator on which the unit is already at the top of the fitted range shows no gain.
    """
    if unit not in r.units:
        raise ScoringError(f"unknown unit {unit!r}")
    if step not in ("range", "best"):
        raise ScoringError(f"step must be 'range' or 'best', got {step!r}")
    p = r.periods.index(period) if period is not None else len(r.periods) - 1
    if period is not None and period not in r.periods:
        raise ScoringError(f"unknown period {period!r}")
    u = r.units.index(unit)
    fw = r.framework
    codes = fw.indicators
    n_i = len(codes)
    d = fw.directions()
    T = r.treated
    row = T[p, u]
    if step == "range":
        fitted = T[r.fit_rows].reshape(-1, n_i)
        rng = nanmax(fitted, axis=0) - nanmin(fitted, axis=0)
        new = row + size * rng * d
    else:
        new = nanmax(T[p] * d, axis=0) * d
    batch = np.repeat(row[None], n_i, axis=0)
    batch[np.arange(n_i), np.arange(n_i)] = new
    N = r.normaliser.transform(batch)
    out = r.plan.run(N, r.weights).values
    root = r.order.index(fw.root)
    after = out[:, root]
    before = r.root_scores[p, u]
    others = np.delete(r.root_scores[p], u)
    others = others[~np.isnan(others)]
    rank_before = 1 + int((others > before).sum()) if not np.isnan(before) else None
    rank_after = 1 + (others[None, :] > after[:, None]).sum(axis=1)
    valid = ~np.isnan(row) & ~np.isnan(after)
    df = pl.DataFrame(
        {
            "indicator": list(codes),
            "value": pl.Series(row).fill_nan(None),
            "new_value": pl.Series(np.where(valid, new, np.nan)).fill_nan(None),
            "score": pl.Series(r.values[p, u, :n_i]).fill_nan(None),
            "new_score": pl.Series(np.where(valid, N[np.arange(n_i), np.arange(n_i)], np.nan)).fill_nan(None),
            "composite": [float(before)] * n_i,
            "new_composite": pl.Series(np.where(valid, after, np.nan)).fill_nan(None),
            "composite_gain": pl.Series(np.where(valid, after - before, np.nan)).fill_nan(None),
            "rank": [rank_before] * n_i,
            "new_rank": pl.Series(np.where(valid, rank_after, -1)).cast(pl.Int64),
        }
    ).with_columns(
        pl.when(pl.col("new_composite").is_null()).then(None).otherwise(pl.col("new_rank")).alias("new_rank")
    ).with_columns((pl.col("rank") - pl.col("new_rank")).alias("rank_gain"))
    return df.sort(["composite_gain", "rank_gain"], descending=True, nulls_last=True)
