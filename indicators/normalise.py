"""Normalisation: scikit-learn-style normalisers (fit on a period or the panel, transform every period), COINr maths.

Every normaliser works column-wise on a units × indicators matrix (rows may stack several periods). Direction is
applied first, as COINr does (x * direction), so a direction -1 indicator is flipped before any scaling. NaN stays
NaN. Constant columns never produce NaN or inf: min-max gives the midpoint (l + u) / 2, z-score gives m, distance to
best gives the top of the scale, percentile rank of a single value gives 0.5 (COINr would return NaN for the first
two; we prefer a neutral score to a hole that silently drops the indicator from its aggregate).

Out of sample (fitted on one period or sample, applied to values it has not seen): every normaliser that declares an
`output_range()` stays inside it. Values the fit has seen map exactly as COINr maps them; new values are placed
against the fitted sample and clipped: min-max and distance to best clip to [l, u] / [0, scale] (pass clip=False to
extrapolate linearly instead, e.g. to show progress beyond the base period's best; the range is then not promised);
rank is 1 + the number of fitted values strictly below, capped at the fitted count n (so a new best ties the fitted
best at n); percentile rank is (that rank - 1) / (n - 1), hence in [0, 1]. Goalposts clip by default, distance to
target caps at the scale from above only, z-score and 'none' are unbounded.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from indicators.nanreduce import nanmin_max
from indicators.registry import MethodError, Registry


class NotFittedError(ValueError):
    """transform() was called before fit()."""


def _as_2d(X: Any) -> tuple[np.ndarray, bool]:
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        return arr[:, None], True
    if arr.ndim != 2:
        raise ValueError(f"expected a 1-D or 2-D array of values, got shape {arr.shape}")
    return arr, False


def _directions(directions: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    if directions is None:
        return np.ones(n)
    d = np.asarray(directions, dtype=float).reshape(-1)
    if d.shape[0] != n:
        raise ValueError(f"got {d.shape[0]} directions for {n} indicator columns")
    if not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError(f"directions must be 1 or -1, got {sorted(set(d.tolist()) - {1.0, -1.0})}")
    return d


def _per_column(values: Sequence[float] | np.ndarray | float, n: int, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        v = np.full(n, float(v))
    v = v.reshape(-1)
    if v.shape[0] != n:
        raise ValueError(f"got {v.shape[0]} {what} for {n} indicator columns")
    return v


class Normaliser(ABC):
    """Base class: __init__ stores parameters only; fit learns trailing-underscore attributes and returns self."""

    #: (low, high) bounds of the output for the contract test, or None if unbounded; may use the params
    def output_range(self) -> tuple[float, float] | None:
        return None

    def __init__(self, directions: Sequence[float] | np.ndarray | None = None) -> None:
        self.directions = directions

    def fit(self, X: Any) -> Normaliser:
        arr, _ = _as_2d(X)
        self.directions_ = _directions(self.directions, arr.shape[1])
        self.n_features_in_ = arr.shape[1]
        with np.errstate(all="ignore"):
            self._fit(arr * self.directions_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        arr, was_1d = _as_2d(X)
        if arr.shape[1] != self.n_features_in_:
            raise ValueError(f"{type(self).__name__} was fitted on {self.n_features_in_} columns, got {arr.shape[1]}")
        with np.errstate(all="ignore"):
            out = self._transform(arr * self.directions_)
        out = np.where(np.isnan(arr), np.nan, out)
        return out[:, 0] if was_1d else out

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def _fit(self, X: np.ndarray) -> None:  # X has directions applied
        pass

    @abstractmethod
    def _transform(self, X: np.ndarray) -> np.ndarray:
        """Map direction-adjusted values with the fitted parameters (each method defines it)."""


class MinMaxNormaliser(Normaliser):
    """COINr n_minmax: (x - min) / (max - min) * (u - l) + l; a constant column maps to (l + u) / 2.

    Values beyond the fitted min / max (out of sample) are clipped to [l, u] unless clip=False.
    """

    def __init__(
        self, l: float = 0.0, u: float = 100.0, directions: Sequence[float] | None = None, *, clip: bool = True
    ) -> None:
        super().__init__(directions)
        self.l = l
        self.u = u
        self.clip = clip

    def output_range(self) -> tuple[float, float] | None:
        return (float(self.l), float(self.u)) if self.clip else None

    def _fit(self, X: np.ndarray) -> None:
        self.min_, self.max_ = nanmin_max(X)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        rng = self.max_ - self.min_
        scaled = (X - self.min_) / rng * (self.u - self.l) + self.l
        if self.clip:  # a no-op on the fitted values themselves, so COINr's in-sample results are untouched
            scaled = np.clip(scaled, self.l, self.u)
        return np.where(rng > 0, scaled, (self.l + self.u) / 2)


class ZScoreNormaliser(Normaliser):
    """COINr n_zscore: (x - mean) / sd * s + m with the sample sd (n - 1); a constant column maps to m."""

    def __init__(self, m: float = 0.0, s: float = 1.0, directions: Sequence[float] | None = None) -> None:
        super().__init__(directions)
        self.m = m
        self.s = s

    def _fit(self, X: np.ndarray) -> None:
        n = (~np.isnan(X)).sum(axis=0)
        self.mean_ = np.where(np.isnan(X), 0.0, X).sum(axis=0) / n  # NaN for an empty column, without a warning
        dev = np.where(np.isnan(X), 0.0, X - self.mean_)
        self.sd_ = np.sqrt((dev**2).sum(axis=0) / (n - 1))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        ok = np.isfinite(self.sd_) & (self.sd_ > 0)
        return np.where(ok, (X - self.mean_) / self.sd_ * self.s + self.m, self.m)


class RankNormaliser(Normaliser):
    """COINr n_rank: rank with ties given the minimum rank (1 = lowest), against the values seen in fit.

    A value not seen in fit is placed in the fitted sample: 1 + the number of fitted values strictly below it, capped
    at the fitted count n, so the output stays in [1, n] (a new value above every fitted one ties the fitted best).
    """

    def output_range(self) -> tuple[float, float]:
        if not hasattr(self, "reference_"):
            return (1.0, float("inf"))
        return (1.0, float(max((len(r) for r in self.reference_), default=1) or 1))

    def _fit(self, X: np.ndarray) -> None:
        self.reference_ = [np.sort(col[~np.isnan(col)]) for col in X.T]

    def _ranks(self, X: np.ndarray) -> np.ndarray:
        out = np.empty_like(X)
        for j, ref in enumerate(self.reference_):
            # number of reference values strictly below x, plus one: R's ties.method = "min"; the cap only bites out of
            # sample (a fitted value has at most n - 1 values below it)
            out[:, j] = np.minimum(np.searchsorted(ref, X[:, j], side="left") + 1.0, max(len(ref), 1))
        return out

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return self._ranks(X)


class PercentRankNormaliser(RankNormaliser):
    """COINr n_prank: (rank - 1) / (count of non-NaN - 1); a lone value gets 0.5. Out of sample: within [0, 1]."""

    def output_range(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        n = np.array([len(r) for r in self.reference_], dtype=float)
        return np.where(n > 1, (self._ranks(X) - 1.0) / (n - 1.0), 0.5)


class GoalpostNormaliser(Normaliser):
    """Fixed goalposts per indicator in raw units (low < high): (x - low) / (high - low) * scale, clipped to [0, scale].

    Direction -1 flips them (a value at `low` scores `scale`). Nothing is learned from the data, so scores are
    comparable across periods and data vintages.
    """

    def __init__(
        self,
        low: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        scale: float = 100.0,
        clip: bool = True,
        directions: Sequence[float] | None = None,
    ) -> None:
        super().__init__(directions)
        self.low = low
        self.high = high
        self.scale = scale
        self.clip = clip

    def output_range(self) -> tuple[float, float] | None:
        return (0.0, float(self.scale)) if self.clip else None

    def _fit(self, X: np.ndarray) -> None:
        lo = _per_column(self.low, X.shape[1], "low goalposts")
        hi = _per_column(self.high, X.shape[1], "high goalposts")
        bad = np.flatnonzero(~(hi > lo))
        if bad.size:
            raise ValueError(f"goalposts need low < high; column(s) {bad.tolist()} have low {lo[bad]} high {hi[bad]}")
        d = self.directions_
        # goalposts follow the flipped values (COINr n_goalposts with direction -1)
        self.low_ = np.minimum(lo * d, hi * d)
        self.high_ = np.maximum(lo * d, hi * d)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        y = (X - self.low_) / (self.high_ - self.low_)
        if self.clip:
            y = np.clip(y, 0.0, 1.0)
        return y * self.scale


class DistanceToTargetNormaliser(Normaliser):
    """COINr n_dist2targ: (1 - (target - x) / (target - min)) * scale; capped at scale when `cap` (the default).

    Targets are in raw units per indicator and are flipped with the direction. If the target is at or below the
    fitted minimum, every unit already meets it and scores `scale`.
    """

    def __init__(
        self,
        targets: Sequence[float] | np.ndarray,
        scale: float = 100.0,
        cap: bool = True,
        directions: Sequence[float] | None = None,
    ) -> None:
        super().__init__(directions)
        self.targets = targets
        self.scale = scale
        self.cap = cap

    def output_range(self) -> tuple[float, float] | None:
        return (-float("inf"), float(self.scale)) if self.cap else None

    def _fit(self, X: np.ndarray) -> None:
        t = _per_column(self.targets, X.shape[1], "targets")
        if np.isnan(t).any():
            raise ValueError(f"distance to target needs a target for every indicator; column(s) "
                             f"{np.flatnonzero(np.isnan(t)).tolist()} have none")
        self.target_ = t * self.directions_
        self.min_, _ = nanmin_max(X)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        den = self.target_ - self.min_
        y = np.where(den > 0, 1.0 - (self.target_ - X) / den, np.where(X >= self.target_, 1.0, 0.0))
        if self.cap:
            y = np.minimum(y, 1.0)
        return y * self.scale


class DistanceToBestNormaliser(Normaliser):
    """COINr n_dist2max: (1 - (max - x) / (max - min)) * scale; a constant column is all at the best (scale).

    Values beyond the fitted min / max (out of sample) are clipped to [0, scale] unless clip=False.
    """

    def __init__(
        self, scale: float = 100.0, directions: Sequence[float] | None = None, *, clip: bool = True
    ) -> None:
        super().__init__(directions)
        self.scale = scale
        self.clip = clip

    def output_range(self) -> tuple[float, float] | None:
        return (0.0, float(self.scale)) if self.clip else None

    def _fit(self, X: np.ndarray) -> None:
        self.min_, self.max_ = nanmin_max(X)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        rng = self.max_ - self.min_
        y = 1.0 - (self.max_ - X) / rng
        if self.clip:
            y = np.clip(y, 0.0, 1.0)
        return np.where(rng > 0, y, 1.0) * self.scale


class IdentityNormaliser(Normaliser):
    """COINr 'none': the values with direction applied, nothing else."""

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return X.copy()


def _check_lu(p: dict[str, Any]) -> None:
    if not p["u"] > p["l"]:
        raise ValueError(f"needs l < u, got l={p['l']}, u={p['u']}")


def _check_s(p: dict[str, Any]) -> None:
    if not p["s"] > 0:
        raise ValueError(f"needs s > 0, got s={p['s']}")


def _check_scale(p: dict[str, Any]) -> None:
    if not p["scale"] > 0:
        raise ValueError(f"needs scale > 0, got scale={p['scale']}")


def _check_goalposts(p: dict[str, Any]) -> None:
    _check_scale(p)
    gp = p.get("goalposts")
    if gp is None:
        return
    if not isinstance(gp, dict):
        raise ValueError("goalposts must map indicator codes to [low, high]")
    for code, pair in gp.items():
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and float(pair[0]) < float(pair[1])):
            raise ValueError(f"goalposts for {code!r} must be [low, high] with low < high, got {pair!r}")


def _check_targets(p: dict[str, Any]) -> None:
    _check_scale(p)
    if p.get("targets") is not None and not isinstance(p["targets"], dict):
        raise ValueError("targets must map indicator codes to numbers")


#: name → normaliser class; params are the class's keyword arguments (per-indicator ones are resolved by the model:
#: goalposts and targets come from the params or from the framework nodes)
NORMALISERS = Registry("normalisation")
NORMALISERS.register(
    "minmax", MinMaxNormaliser, {"l": 0.0, "u": 100.0, "clip": True},
    "min-max to [l, u]; values beyond the fitted min/max clipped to [l, u] unless clip is false", _check_lu,
)
NORMALISERS.register("zscore", ZScoreNormaliser, {"m": 0.0, "s": 1.0}, "z-score with mean m and sd s", _check_s)
NORMALISERS.register(
    "goalposts", GoalpostNormaliser, {"goalposts": None, "scale": 100.0, "clip": True},
    "fixed goalposts [low, high] per indicator (params or framework), clipped, scaled to [0, scale]",
    _check_goalposts,
)
NORMALISERS.register(
    "rank", RankNormaliser, {}, "rank, ties get the minimum (1 = lowest); new values placed in the fitted sample"
)
NORMALISERS.register("prank", PercentRankNormaliser, {}, "percentile rank (rank - 1) / (n - 1), in [0, 1]")
NORMALISERS.register(
    "distance_to_target", DistanceToTargetNormaliser, {"targets": None, "scale": 100.0, "cap": True},
    "1 - (target - x) / (target - min), times scale; targets per indicator (params or framework)", _check_targets,
)
NORMALISERS.register(
    "distance_to_best", DistanceToBestNormaliser, {"scale": 100.0, "clip": True},
    "1 - (best - x) / (best - worst), times scale; out-of-sample values clipped to [0, scale] unless clip is false",
    _check_scale,
)
NORMALISERS.register("none", IdentityNormaliser, {}, "no scaling (direction still applied)")


def make_normaliser(
    name: str,
    params: dict[str, Any] | None = None,
    directions: Sequence[float] | np.ndarray | None = None,
    **per_indicator: Any,
) -> Normaliser:
    """Build a registered normaliser. Per-indicator arrays (low/high for goalposts, targets) go in `per_indicator`."""
    p = NORMALISERS.resolve(name, params)
    cls = NORMALISERS.get(name).impl
    p.pop("goalposts", None)
    if name == "distance_to_target":
        p.pop("targets", None)
    try:
        return cls(directions=directions, **p, **per_indicator)  # type: ignore[no-any-return]
    except TypeError as e:
        raise MethodError(f"normalisation method {name!r}: {e}") from None


class ColumnNormaliser(Normaliser):
    """Different normalisers on different column groups (per-indicator overrides); same fit/transform contract."""

    def __init__(self, parts: Sequence[tuple[Sequence[int], Normaliser]]) -> None:
        super().__init__(None)
        self.parts = parts

    def fit(self, X: Any) -> ColumnNormaliser:
        arr, _ = _as_2d(X)
        cols = sorted(c for idx, _ in self.parts for c in idx)
        if cols != list(range(arr.shape[1])):
            raise ValueError("ColumnNormaliser parts must cover every column exactly once")
        for idx, norm in self.parts:
            norm.fit(arr[:, list(idx)])
        self.directions_ = np.ones(arr.shape[1])
        self.n_features_in_ = arr.shape[1]
        return self

    def _transform(self, X: np.ndarray) -> np.ndarray:
        out = np.empty_like(X)
        for idx, norm in self.parts:
            out[:, list(idx)] = norm.transform(X[:, list(idx)])
        return out


# -- plain-function twins (COINr's vector functions), column-wise on 1-D or 2-D arrays ---------------------------
def n_minmax(x: Any, l: float = 0.0, u: float = 100.0, direction: Any = None) -> np.ndarray:
    return MinMaxNormaliser(l, u, direction).fit_transform(x)


def n_zscore(x: Any, m: float = 0.0, s: float = 1.0, direction: Any = None) -> np.ndarray:
    return ZScoreNormaliser(m, s, direction).fit_transform(x)


def n_rank(x: Any, direction: Any = None) -> np.ndarray:
    return RankNormaliser(direction).fit_transform(x)


def n_prank(x: Any, direction: Any = None) -> np.ndarray:
    return PercentRankNormaliser(direction).fit_transform(x)


def n_goalposts(x: Any, low: Any, high: Any, scale: float = 100.0, clip: bool = True, direction: Any = None) -> np.ndarray:
    return GoalpostNormaliser(low, high, scale, clip, direction).fit_transform(x)


def n_dist2targ(x: Any, targets: Any, scale: float = 100.0, cap: bool = True, direction: Any = None) -> np.ndarray:
    return DistanceToTargetNormaliser(targets, scale, cap, direction).fit_transform(x)


def n_dist2max(x: Any, scale: float = 100.0, direction: Any = None) -> np.ndarray:
    return DistanceToBestNormaliser(scale, direction).fit_transform(x)
