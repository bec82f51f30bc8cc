"""Improvement priorities of one district: which indicator to fix first, as weight × gap × feasibility.

Why not the engine's "move to the best district" what-if (ScoreResult.improvement_priorities, step="best")? Its gain
is the indicator's effective weight × (the best district's score − this district's score). For a district that lags,
the best district sits near the top of the scale on most indicators and this district far below, so the gap is a
large part of the 0–100 range almost everywhere and the gain tends to "effective weight × a similar gap": the list
mostly repeats the weights (near equal within a dimension, a few points each: the +2.48 … +2.92 of issue 14), and
it says nothing about whether the gap matters against the target, nor how hard the jump from last to first is
(tests/app/views/test_priorities.py builds the extreme case, where every gain is the same).

The measure used instead, per indicator i of district d in the period (all on the 0–100 score scale):

    priority_i = w_i × gap_i × feasibility_i

- w_i: the indicator's effective weight in the composite under the profile (shares summing to 1);
- gap_i: score points between d and the indicator's published target (the catalog's 目标值, normalised the same way
  as the data); 0 when d already meets it (已达标); the best district's score when the indicator has no target;
- feasibility_i: the share of the other districts that already do better than d on it. Districts work under the
  same municipal rules, systems and budgets: a gap most peers have closed is within reach (learn from them); a gap d
  shares with every district (d is already among the best) is a city-wide shortfall, not d's own priority.

w × gap alone is the composite points d gains by reaching the target (exact for arithmetic means with fixed
goalposts); it is reported beside the priority as `composite_gain`, with the rank that gain would give.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from indicators.model import ScoreResult
from indicators.nanreduce import nanmax


def improvement_priority(weight: np.ndarray, gap: np.ndarray, feasibility: np.ndarray) -> np.ndarray:
    """weight × gap × feasibility, element-wise; NaN where any part is unknown."""
    return np.asarray(weight, dtype=float) * np.asarray(gap, dtype=float) * np.asarray(feasibility, dtype=float)


def peer_feasibility(scores: np.ndarray, unit: int) -> np.ndarray:
    """Per indicator (columns of `scores`, units × indicators): the share of the other units with a score that score
    higher than `unit`; NaN where the unit or every peer has no score."""
    own = scores[unit]
    peers = np.delete(scores, unit, axis=0)
    with np.errstate(invalid="ignore"):
        better = (peers > own[None, :]).sum(axis=0).astype(float)
    have = np.isfinite(peers).sum(axis=0).astype(float)
    out = np.full(own.shape, np.nan)
    ok = (have > 0) & np.isfinite(own)
    out[ok] = better[ok] / have[ok]
    return out


def target_scores(result: ScoreResult) -> np.ndarray:
    """Each indicator's target on the score scale (the fitted normaliser applied to the framework's target, which
    the catalog sets); NaN where the indicator has no target."""
    fw = result.framework
    raw = np.array([np.nan if fw.node(c).target is None else fw.node(c).target for c in fw.indicators], dtype=float)
    if not np.isfinite(raw).any():
        return raw
    fill = np.where(np.isfinite(raw), raw, 0.0)  # the normaliser needs numbers; unknown targets are masked again
    scored = np.asarray(result.normaliser.transform(fill[None, :]), dtype=float)[0]
    return np.where(np.isfinite(raw), scored, np.nan)


def priority_frame(result: ScoreResult, weights: Mapping[str, float], unit: str, period: int) -> pl.DataFrame:
    """One row per indicator for `unit` in period index `period`, highest priority first (unknown last):
    indicator, weight, score, target_score, gap_points, feasibility, priority, composite_gain, rank, new_rank."""
    framework = result.framework
    codes = framework.indicators
    n_i = len(codes)
    u = result.units.index(unit)
    scores = np.asarray(result.values[period, :, :n_i], dtype=float)  # units × indicators, 0–100
    own = scores[u]
    best = nanmax(scores, axis=0)  # an indicator no unit has: NaN, no warning
    goal = target_scores(result)
    goal = np.where(np.isfinite(goal), goal, best)
    gap = np.clip(goal - own, 0.0, None)
    w = np.asarray(framework.effective_weights(dict(weights)), dtype=float)
    feas = peer_feasibility(scores, u)
    priority = improvement_priority(w, gap, feas)
    gain = w * gap
    root = np.asarray(result.root_scores[period], dtype=float)
    before = root[u]
    others = np.delete(root, u)
    others = others[np.isfinite(others)]
    rank = 1 + int((others > before).sum()) if np.isfinite(before) else None
    new_rank = [1 + int((others > before + g).sum()) if np.isfinite(g) and np.isfinite(before) else None
                for g in gain]

    def col(name: str, v: np.ndarray) -> pl.Series:
        return pl.Series(name, v, dtype=pl.Float64, nan_to_null=True)

    frame = pl.DataFrame([
        pl.Series("indicator", list(codes), dtype=pl.String),
        col("weight", w), col("score", own), col("target_score", goal), col("gap_points", gap),
        col("feasibility", feas), col("priority", priority), col("composite_gain", gain),
        pl.Series("rank", [rank] * n_i, dtype=pl.Int64), pl.Series("new_rank", new_rank, dtype=pl.Int64),
    ])
    return frame.sort(["priority", "composite_gain"], descending=True, nulls_last=True)
