"""Outlier treatment: COINr's default rule (skew/kurtosis check, winsorise from the skewed side, else log), with flags.

Reproduces COINr 1.1 `Treat()` with its default specs: f_pass = check_SkewKurt (pass if |skew| < skew_thresh OR
kurtosis < kurt_thresh, with e1071 type-2 = Excel skewness and kurtosis), f1 = winsorise (while failing and fewer
than winmax points winsorised: replace every copy of the extreme value on the skewed side with the next value in),
f2 = log_CT applied to the ORIGINAL column when winsorisation did not bring it within limits
(log(x - min + 0.01 (max - min))). A column with fewer than 4 non-NaN values is left alone (COINr would stop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from indicators.nanreduce import nanmax, nanmin
from indicators.registry import Registry


class TreatmentError(ValueError):
    """Outlier treatment cannot run on this input (names the indicator)."""


def skew(x: np.ndarray) -> float:
    """Sample skewness as e1071::skewness(type = 2) / Excel SKEW (COINr's `skew`), NaN ignored."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return float("nan")
    d = x - x.mean()
    s2 = float((d**2).sum())
    if s2 == 0:
        return 0.0
    y = np.sqrt(n) * float((d**3).sum()) / s2**1.5
    return float(y * np.sqrt(n * (n - 1)) / (n - 2))


def kurt(x: np.ndarray) -> float:
    """Sample excess kurtosis as e1071::kurtosis(type = 2) / Excel KURT (COINr's `kurt`), NaN ignored."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return float("nan")
    d = x - x.mean()
    s2 = float((d**2).sum())
    if s2 == 0:
        return 0.0
    r = n * float((d**4).sum()) / s2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _skew_kurt(x: np.ndarray) -> tuple[float, float]:
    """skew() and kurt() in one pass over the data (same formulas)."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return (skew(x), float("nan"))
    d = x - x.mean()
    d2 = d * d
    s2 = float(d2.sum())
    if s2 == 0:
        return 0.0, 0.0
    sk = np.sqrt(n) * float((d2 * d).sum()) / s2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    r = n * float((d2 * d2).sum()) / s2**2
    kt = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return float(sk), float(kt)


def check_skew_kurt(x: np.ndarray, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> tuple[bool, float, float]:
    """COINr check_SkewKurt: passes if |skew| < skew_thresh OR kurtosis < kurt_thresh."""
    sk, kt = _skew_kurt(x)
    return bool(abs(sk) < skew_thresh or kt < kurt_thresh), sk, kt


def winsorise(
    x: np.ndarray, winmax: float = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5
) -> tuple[np.ndarray, int, np.ndarray]:
    """COINr winsorise: returns (values, nwin, per-point flag: 0 none, 1 winsorised high, -1 winsorised low).

    As in COINr, nwin counts the points sitting at the replaced extreme after the last step (ties count together),
    and the loop stops once nwin reaches winmax even if the column still fails.
    """
    x = x.astype(float).copy()
    imax: np.ndarray = np.array([], dtype=int)
    imin: np.ndarray = np.array([], dtype=int)
    nwin = 0
    passing, sk, _ = check_skew_kurt(x, skew_thresh, kurt_thresh)
    present = ~np.isnan(x)
    while not passing and nwin < winmax:
        if sk >= 0:
            top = np.nanmax(x)
            imax = np.flatnonzero(present & (x == top))
            rest = np.delete(x, imax)
            x[imax] = np.nanmax(rest)
        else:
            bottom = np.nanmin(x)
            imin = np.flatnonzero(present & (x == bottom))
            rest = np.delete(x, imin)
            x[imin] = np.nanmin(rest)
        nwin = int(imax.size + imin.size)
        passing, sk, _ = check_skew_kurt(x, skew_thresh, kurt_thresh)
    flag = np.zeros(x.shape, dtype=np.int8)
    flag[imax] = 1
    flag[imin] = -1
    return x, nwin, flag


def log_ct(x: np.ndarray) -> np.ndarray:
    """COINr log_CT: log(x - min + 0.01 (max - min))."""
    mn, mx = nanmin(x), nanmax(x)
    with np.errstate(all="ignore"):
        return np.log(x - mn + 0.01 * (mx - mn))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ColumnTreatment:
    """What happened to one indicator column."""

    values: np.ndarray
    flag: np.ndarray  # int8: 0 untouched, 1 winsorised high, -1 winsorised low, 2 log-transformed
    details: dict[str, Any]


def treat_coinr_default(
    x: np.ndarray, winmax: float = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5
) -> ColumnTreatment:
    """COINr Treat.numeric with default specs (combine_treat = FALSE)."""
    x = np.asarray(x, dtype=float)
    none = np.zeros(x.shape, dtype=np.int8)
    if (~np.isnan(x)).sum() < 4:
        return ColumnTreatment(x.copy(), none, {"check_SkewKurt0.Pass": None})
    p0, s0, k0 = check_skew_kurt(x, skew_thresh, kurt_thresh)
    details: dict[str, Any] = {"check_SkewKurt0.Pass": p0, "check_SkewKurt0.Skew": s0, "check_SkewKurt0.Kurt": k0}
    if p0:
        return ColumnTreatment(x.copy(), none, details)
    x1, nwin, flag = winsorise(x, winmax, skew_thresh, kurt_thresh)
    p1, s1, k1 = check_skew_kurt(x1, skew_thresh, kurt_thresh)
    details.update({"winsorise.nwin": nwin, "check_SkewKurt1.Pass": p1, "check_SkewKurt1.Skew": s1,
                    "check_SkewKurt1.Kurt": k1})
    if p1:
        return ColumnTreatment(x1, flag, details)
    x2 = log_ct(x)  # restore the original column, then log (COINr's default: no combined treatment)
    p2, s2, k2 = check_skew_kurt(x2, skew_thresh, kurt_thresh)
    details.update({"check_SkewKurt2.Pass": p2, "check_SkewKurt2.Skew": s2, "check_SkewKurt2.Kurt": k2})
    return ColumnTreatment(x2, np.where(np.isnan(x), 0, 2).astype(np.int8), details)


def treat_none(x: np.ndarray) -> ColumnTreatment:
    x = np.asarray(x, dtype=float)
    return ColumnTreatment(x.copy(), np.zeros(x.shape, dtype=np.int8), {})


def _check_default(p: dict[str, Any]) -> None:
    if not p["winmax"] >= 0:
        raise ValueError(f"winmax must be >= 0, got {p['winmax']}")
    if not (p["skew_thresh"] > 0 and p["kurt_thresh"] > 0):
        raise ValueError("skew_thresh and kurt_thresh must be positive")


TREATMENTS = Registry("treatment")
TREATMENTS.register("none", treat_none, {}, "no outlier treatment")
TREATMENTS.register(
    "coinr_default", treat_coinr_default, {"winmax": 5, "skew_thresh": 2.0, "kurt_thresh": 3.5},
    "COINr default: winsorise up to winmax points while |skew| >= skew_thresh and kurtosis >= kurt_thresh, "
    "else restore and log-transform", _check_default,
)

#: column order of the details table, as COINr's Dets_Table
DETAIL_COLUMNS = (
    "check_SkewKurt0.Pass", "check_SkewKurt0.Skew", "check_SkewKurt0.Kurt", "winsorise.nwin",
    "check_SkewKurt1.Pass", "check_SkewKurt1.Skew", "check_SkewKurt1.Kurt",
    "check_SkewKurt2.Pass", "check_SkewKurt2.Skew", "check_SkewKurt2.Kurt",
)


@dataclass(frozen=True)
class TreatResult:
    """Treated matrix, per-point flags (see ColumnTreatment.flag) and COINr's details table (one row per column)."""

    values: np.ndarray
    flags: np.ndarray
    details: pl.DataFrame


def treat(
    X: Any,
    codes: Sequence[str],
    method: str = "coinr_default",
    params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
) -> TreatResult:
    """Treat every column of a units × indicators matrix; `overrides` maps a code to its own (method, params)."""
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(codes):
        raise TreatmentError(f"expected a units × {len(codes)} matrix, got shape {arr.shape}")
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(codes))
    if unknown:
        raise TreatmentError(f"treatment override for unknown indicator(s): {', '.join(unknown)}")
    default = TREATMENTS.resolve(method, params)
    out = np.empty_like(arr)
    flags = np.zeros(arr.shape, dtype=np.int8)
    rows: list[dict[str, Any]] = []
    for j, code in enumerate(codes):
        name, p = (method, default) if code not in overrides else (
            overrides[code][0], TREATMENTS.resolve(overrides[code][0], overrides[code][1]))
        res = TREATMENTS.get(name).impl(arr[:, j], **p)
        out[:, j], flags[:, j] = res.values, res.flag
        rows.append({"iCode": code, **{c: res.details.get(c) for c in DETAIL_COLUMNS}})
    schema: dict[str, Any] = {"iCode": pl.String}
    for c in DETAIL_COLUMNS:
        schema[c] = pl.Boolean if c.endswith("Pass") else pl.Int64 if c.endswith("nwin") else pl.Float64
    return TreatResult(out, flags, pl.DataFrame(rows, schema=schema))
