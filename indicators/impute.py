"""Imputation of missing indicator values on a periods × units × indicators panel, with a flag for every imputed point.

Methods (registry IMPUTERS):
- none: nothing is filled.
- mean / median: the indicator's mean / median over the other units in the same period.
- group_mean: the indicator's mean over units of the same group in the same period (COINr's i_mean_grp); the group
  comes from a unit-group column (param `column`, resolved by the caller into one label per unit).
- within_parent: the unit's average standardised position on its sibling indicators (same parent), mapped back to
  this indicator's raw scale: x = mean_j + direction_j * sd_j * mean_k(direction_k * z_k). Raw values of siblings
  have different units, so averaging them directly would be meaningless; direction-adjusted z-scores (per period)
  make them comparable, and the result is still a raw value so treatment and normalisation run unchanged after it.
- locf: last observation carried forward over periods (periods in the panel's order); leading gaps stay missing.
- worst: the worst value any unit shows for the indicator in the same period (the lowest when higher is better, the
  highest when lower is better). A pessimistic bound: a unit whose value is missing gains nothing from the gap, so
  a ranking that survives it does not depend on the missing value (the study's demo: 黄浦's missing bad-rating
  closure).
Points no method can fill (a whole group missing, no earlier period) stay NaN and are not flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from indicators.framework import Framework
from indicators.registry import Registry


class ImputationError(ValueError):
    """Imputation cannot run with what was given (e.g. group_mean without groups); names what is missing."""


@dataclass(frozen=True)
class ImputeContext:
    """What some methods need beyond the values: the framework (within_parent) and unit groups (group_mean)."""

    framework: Framework | None = None
    groups: Sequence[Any] | None = None


@dataclass(frozen=True)
class ImputeResult:
    values: np.ndarray
    imputed: np.ndarray  # bool, same shape: True where a missing value was filled


def _nan_stat(X: np.ndarray, how: str) -> np.ndarray:
    """Per period and indicator over units (axis 1), without warnings on all-NaN slices."""
    present = ~np.isnan(X)
    n = present.sum(axis=1, keepdims=True)
    if how == "mean":
        s = np.where(present, X, 0.0).sum(axis=1, keepdims=True)
        with np.errstate(all="ignore"):
            return np.where(n > 0, s / np.maximum(n, 1), np.nan)
    srt = np.sort(X, axis=1)  # NaN sort last
    lo_i = np.maximum((n - 1) // 2, 0)
    hi_i = np.maximum(n // 2, 0)
    lo = np.take_along_axis(srt, lo_i, axis=1)
    hi = np.take_along_axis(srt, hi_i, axis=1)
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def i_none(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    return X.copy()


def i_mean(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    return np.where(np.isnan(X), _nan_stat(X, "mean"), X)


def i_median(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    return np.where(np.isnan(X), _nan_stat(X, "median"), X)


def i_group_mean(X: np.ndarray, ctx: ImputeContext, column: str = "group") -> np.ndarray:
    if ctx.groups is None:
        raise ImputationError(f"group_mean imputation needs the unit-group column {column!r}; none was given")
    groups = np.asarray(ctx.groups, dtype=object)
    if groups.shape[0] != X.shape[1]:
        raise ImputationError(f"group_mean: got {groups.shape[0]} group labels for {X.shape[1]} units")
    out = X.copy()
    for g in dict.fromkeys(groups.tolist()):
        sel = groups == g
        sub = X[:, sel, :]
        out[:, sel, :] = np.where(np.isnan(sub), _nan_stat(sub, "mean"), sub)
    return out


def i_within_parent(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    fw = ctx.framework
    if fw is None:
        raise ImputationError("within_parent imputation needs the framework")
    codes = fw.indicators
    if X.shape[2] != len(codes):
        raise ImputationError(f"within_parent: got {X.shape[2]} indicator columns for {len(codes)} indicators")
    d = fw.directions()
    mean = _nan_stat(X, "mean")
    present = ~np.isnan(X)
    n = present.sum(axis=1, keepdims=True)
    dev = np.where(present, X - mean, 0.0)
    with np.errstate(all="ignore"):
        sd = np.sqrt((dev**2).sum(axis=1, keepdims=True) / (n - 1))
        z = np.where(sd > 0, (X - mean) / sd, 0.0) * d  # direction-adjusted position of each present value
    out = X.copy()
    col = {c: j for j, c in enumerate(codes)}
    for parent in dict.fromkeys(fw.node(c).parent for c in codes):
        assert parent is not None
        idx = [col[c] for c in fw.children(parent) if c in col]
        zz = z[:, :, idx]
        pp = present[:, :, idx]
        for k, j in enumerate(idx):
            others = np.delete(np.arange(len(idx)), k)
            if others.size == 0:
                continue
            cnt = pp[:, :, others].sum(axis=2)
            with np.errstate(all="ignore"):
                zbar = np.where(pp[:, :, others], zz[:, :, others], 0.0).sum(axis=2) / cnt
            sdj = np.where(np.isfinite(sd[:, :, j]) & (sd[:, :, j] > 0), sd[:, :, j], 0.0)
            fill = mean[:, :, j] + d[j] * sdj * zbar
            out[:, :, j] = np.where(np.isnan(X[:, :, j]) & (cnt > 0), fill, X[:, :, j])
    return out


def i_locf(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    present = ~np.isnan(X)
    idx = np.where(present, np.arange(X.shape[0])[:, None, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = np.take_along_axis(X, idx, axis=0)
    return np.where(present, X, filled)


def i_worst(X: np.ndarray, ctx: ImputeContext) -> np.ndarray:
    fw = ctx.framework
    if fw is None:
        raise ImputationError("worst imputation needs the framework (each indicator's direction)")
    if X.shape[2] != len(fw.indicators):
        raise ImputationError(f"worst: got {X.shape[2]} indicator columns for {len(fw.indicators)} indicators")
    d = fw.directions()
    lowest = -_nan_extreme(-X * d)  # direction-adjusted minimum over units, per period and indicator
    return np.where(np.isnan(X), lowest * d, X)


def _nan_extreme(X: np.ndarray) -> np.ndarray:
    """Max over units (axis 1), NaN where a period has no value, without all-NaN warnings."""
    present = ~np.isnan(X)
    m = np.where(present, X, -np.inf).max(axis=1, keepdims=True)
    return np.where(present.any(axis=1, keepdims=True), m, np.nan)


IMPUTERS = Registry("imputation")
IMPUTERS.register("none", i_none, {}, "no imputation")
IMPUTERS.register("mean", i_mean, {}, "indicator mean over units, per period")
IMPUTERS.register("median", i_median, {}, "indicator median over units, per period")
IMPUTERS.register("group_mean", i_group_mean, {"column": "group"}, "indicator mean within the unit's group, per period")
IMPUTERS.register("within_parent", i_within_parent, {}, "unit's mean standardised position on sibling indicators")
IMPUTERS.register("locf", i_locf, {}, "last observation carried forward over periods")
IMPUTERS.register("worst", i_worst, {}, "the worst value observed among units, per period (pessimistic)")


def impute(
    X: Any,
    method: str = "none",
    params: dict[str, Any] | None = None,
    *,
    framework: Framework | None = None,
    groups: Sequence[Any] | None = None,
) -> ImputeResult:
    """Impute a panel (periods × units × indicators; a units × indicators matrix is one period)."""
    arr = np.asarray(X, dtype=float)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    if arr.ndim != 3:
        raise ImputationError(f"expected periods × units × indicators, got shape {arr.shape}")
    p = IMPUTERS.resolve(method, params)
    out = IMPUTERS.get(method).impl(arr, ImputeContext(framework, groups), **p)
    flags = np.isnan(arr) & ~np.isnan(out)
    if squeeze:
        return ImputeResult(out[0], flags[0])
    return ImputeResult(out, flags)
