"""Aggregation: weighted means over a node's children, and a vectorised bottom-up pass over the whole framework tree.

Vector functions take a rows × children matrix and a weight per child. NaN children are dropped and the remaining
weights renormalised (COINr's a_amean / a_gmean / a_hmean). A child with weight 0 (e.g. an indicator shown for
reference only) takes no part at all: not in the mean, not in the domain check, not in the availability share.
A node whose share of present children (among its positively weighted ones) is below its availability threshold is
NaN and flagged; with threshold 0 a node is NaN only when all its weighted children are.
Geometric, harmonic and non-positive-power means over zero or negative values raise AggregationError naming the node
and the unit; the documented `shift` parameter (added before, subtracted after) is the explicit way round it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from indicators.framework import Framework
from indicators.registry import Registry


#: shares are compared with this slack, so a threshold of 2/3 written as 0.6667 still admits 2 of 3 children
AVAILABILITY_TOL = 1e-3


class AggregationError(ValueError):
    """An aggregation cannot be computed for a node and unit (e.g. geometric mean of a zero); names both."""

    def __init__(
        self, message: str, node: str | None = None, unit: str | None = None, row: int | None = None,
        child: int | None = None, value: float | None = None,
    ):
        super().__init__(message)
        self.node, self.unit, self.row, self.child, self.value = node, unit, row, child, value


def _prep(V: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(used, W, sum W): used = present and weighted; a zero-weight child is treated as absent everywhere."""
    used = ~np.isnan(V) & (w != 0)[None, :]
    W = np.where(used, w, 0.0)
    return used, W, W.sum(axis=1)


def _domain(V: np.ndarray, used: np.ndarray, bad: np.ndarray, what: str) -> None:
    hit = bad & used
    if hit.any():
        row, col = np.argwhere(hit)[0]
        value = float(V[row, col])
        raise AggregationError(f"{what} needs positive values, child {col} is {value!r}", row=int(row),
                               child=int(col), value=value)


def _finish(num: np.ndarray, sw: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(sw > 0, num / np.where(sw > 0, sw, 1.0), np.nan)


def a_amean(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted arithmetic mean sum(w x) / sum(w) over the present children."""
    used, W, sw = _prep(V, w)
    return _finish((np.where(used, V, 0.0) * W).sum(axis=1), sw)


def a_gmean(V: np.ndarray, w: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Weighted geometric mean exp(sum(w log x) / sum(w)); every present, weighted x + shift must be > 0."""
    X = V + shift
    used, W, sw = _prep(X, w)
    _domain(X, used, ~(X > 0), "geometric mean")
    with np.errstate(all="ignore"):
        logs = np.where(used, np.log(np.where(used, X, 1.0)), 0.0)
    return np.exp(_finish((logs * W).sum(axis=1), sw)) - shift


def a_hmean(V: np.ndarray, w: np.ndarray, shift: float = 0.0) -> np.ndarray:
    """Weighted harmonic mean sum(w) / sum(w / x); every present, weighted x + shift must be > 0."""
    X = V + shift
    used, W, sw = _prep(X, w)
    _domain(X, used, ~(X > 0), "harmonic mean")
    with np.errstate(all="ignore"):
        inv = (np.where(used, W / np.where(used, X, 1.0), 0.0)).sum(axis=1)
        return np.where(sw > 0, sw / inv, np.nan) - shift


def a_pmean(V: np.ndarray, w: np.ndarray, p: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Generalised (power) mean (sum(w x^p) / sum(w))^(1/p); p = 0 is the geometric mean.

    Domain: x + shift > 0 when p <= 0; x + shift >= 0 when p > 0 (except p = 1, the arithmetic mean).
    """
    if p == 0:
        return a_gmean(V, w, shift)
    if p == 1:
        return a_amean(V + shift, w) - shift
    X = V + shift
    used, W, sw = _prep(X, w)
    if p < 0:
        _domain(X, used, ~(X > 0), f"power mean with p={p}")
    else:
        _domain(X, used, ~(X >= 0), f"power mean with p={p}")
    with np.errstate(all="ignore"):
        powered = np.where(used, np.where(used, X, 1.0) ** p, 0.0)
        return _finish((powered * W).sum(axis=1), sw) ** (1.0 / p) - shift


def availability_share(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per row: the share of the positively weighted children that are present (zero-weight children do not count)."""
    counted = w != 0
    n = int(counted.sum())
    if n == 0:
        return np.zeros(V.shape[0])
    return (~np.isnan(V[:, counted])).sum(axis=1) / n


def a_wmedian(V: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted median: the smallest present value whose cumulative weight share reaches 1/2.

    When the cumulative share lands exactly on 1/2 the value and the next one are averaged (so with equal weights
    and an even count this is the ordinary median). NaN children and zero weights take no part.
    """
    used, W, sw = _prep(V, w)
    order = np.argsort(np.where(used, V, np.inf), axis=1, kind="stable")
    Vs = np.take_along_axis(np.where(used, V, np.nan), order, axis=1)
    Ws = np.take_along_axis(W, order, axis=1)
    with np.errstate(all="ignore"):
        cum = np.cumsum(Ws, axis=1) / np.where(sw > 0, sw, 1.0)[:, None]
    reach = cum >= 0.5 - 1e-12
    k = reach.argmax(axis=1)
    rows = np.arange(V.shape[0])
    lower = Vs[rows, k]
    exact = np.abs(cum[rows, k] - 0.5) <= 1e-12
    # the next value with positive weight after k (zero-weight values do not count)
    has_next = (np.arange(V.shape[1])[None, :] > k[:, None]) & (Ws > 0)
    upper = Vs[rows, has_next.argmax(axis=1)]
    med = np.where(exact & has_next.any(axis=1), (lower + upper) / 2, lower)
    return np.where(sw > 0, med, np.nan)


AGGREGATORS = Registry("aggregation")
AGGREGATORS.register("amean", a_amean, {}, "weighted arithmetic mean")
AGGREGATORS.register("gmean", a_gmean, {"shift": 0.0}, "weighted geometric mean (values + shift must be > 0)")
AGGREGATORS.register("hmean", a_hmean, {"shift": 0.0}, "weighted harmonic mean (values + shift must be > 0)")
AGGREGATORS.register("pmean", a_pmean, {"p": 1.0, "shift": 0.0}, "generalised power mean with exponent p")
AGGREGATORS.register("wmedian", a_wmedian, {}, "weighted median")


def aggregate_values(V: Any, w: Any, method: str = "amean", **params: Any) -> np.ndarray:
    """Aggregate a rows × children matrix with one registered method (frame-level apply for a single node)."""
    p = AGGREGATORS.resolve(method, params)
    arr = np.asarray(V, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    ww = np.asarray(w, dtype=float).reshape(-1)
    if ww.shape[0] != arr.shape[1]:
        raise AggregationError(f"got {ww.shape[0]} weights for {arr.shape[1]} children")
    return AGGREGATORS.get(method).impl(arr, ww, **p)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Step:
    node: str
    col: int
    kids: np.ndarray  # column indices of the children in the node-value matrix
    kid_codes: tuple[str, ...]
    method: str
    params: Mapping[str, Any]
    threshold: float


@dataclass(frozen=True)
class TreeAggregation:
    """Values for every node (columns in `order`) and a flag where a node fell below its availability threshold."""

    order: tuple[str, ...]
    values: np.ndarray
    below_threshold: np.ndarray


MethodChoice = str | tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class AggregationPlan:
    """A framework compiled for repeated bottom-up aggregation (methods and thresholds fixed, weights free)."""

    framework: Framework
    order: tuple[str, ...]
    steps: tuple[_Step, ...]

    @classmethod
    def build(
        cls,
        framework: Framework,
        methods: Mapping[str, MethodChoice] | None = None,
        default: MethodChoice = "amean",
        availability: Mapping[str, float] | float = 0.0,
    ) -> AggregationPlan:
        """methods: node → name or (name, params); else the node's own `aggregation`, else `default`."""
        order = framework.indicators + framework.aggregates
        col = {c: i for i, c in enumerate(order)}
        methods = dict(methods or {})
        for code in methods:
            if code not in framework or framework.node(code).is_indicator:
                raise AggregationError(f"aggregation method given for {code!r}, which is not an aggregate node", node=code)
        steps = []
        for node in framework.aggregates:
            choice = methods.get(node) or framework.node(node).aggregation or default
            name, params = (choice, {}) if isinstance(choice, str) else (choice[0], dict(choice[1]))
            resolved = AGGREGATORS.resolve(name, params)
            thr = availability if isinstance(availability, (int, float)) else availability.get(node, 0.0)
            if not 0.0 <= float(thr) <= 1.0:
                raise AggregationError(f"node {node!r}: availability threshold must be in [0, 1], got {thr!r}", node=node)
            kids = framework.children(node)
            steps.append(_Step(node, col[node], np.array([col[k] for k in kids]), kids, name, resolved, float(thr)))
        return cls(framework, order, tuple(steps))

    def weight_arrays(self, weights: Mapping[str, float] | None = None) -> list[np.ndarray]:
        """Relative child weights per step, from the framework's weights with `weights` overriding."""
        w = self.framework.weights(weights)
        return [np.array([w[k] for k in s.kid_codes]) for s in self.steps]

    def run(
        self,
        X_ind: Any,
        weights: Mapping[str, float] | Sequence[np.ndarray] | None = None,
        units: Sequence[str] | None = None,
    ) -> TreeAggregation:
        """X_ind: (..., n_indicators) normalised values in framework.indicators order → every node's value."""
        X = np.asarray(X_ind, dtype=float)
        n_ind = len(self.framework.indicators)
        if X.shape[-1] != n_ind:
            raise AggregationError(f"expected {n_ind} indicator columns, got {X.shape[-1]}")
        lead = X.shape[:-1]
        X2 = X.reshape(-1, n_ind)
        wa = (
            list(weights)
            if isinstance(weights, Sequence) and not isinstance(weights, (str, Mapping))
            else self.weight_arrays(weights)  # type: ignore[arg-type]
        )
        out = np.full((X2.shape[0], len(self.order)), np.nan)
        out[:, :n_ind] = X2
        flags = np.zeros(out.shape, dtype=bool)
        for step, w in zip(self.steps, wa):
            V = out[:, step.kids]
            fn = AGGREGATORS.get(step.method).impl
            try:
                val = fn(V, w, **step.params)
            except AggregationError as e:
                row = e.row if e.row is not None else 0
                unit = _unit_label(row, units)
                what = str(e)
                if e.child is not None:
                    shown = e.value - step.params.get("shift", 0.0) if e.value is not None else e.value
                    what = what.split(" needs ")[0] + f" needs positive values: child {step.kid_codes[e.child]!r} is " \
                        f"{shown!r}; normalise to a positive range (e.g. min-max [1, 100]) or set an explicit shift"
                raise AggregationError(f"node {step.node!r}, unit {unit}: {what}", node=step.node, unit=unit,
                                       row=row, child=e.child, value=e.value) from None
            if step.threshold > 0:
                low = availability_share(V, w) < step.threshold - AVAILABILITY_TOL
                val = np.where(low, np.nan, val)
                flags[:, step.col] = low
            out[:, step.col] = val
        return TreeAggregation(
            self.order, out.reshape(*lead, len(self.order)), flags.reshape(*lead, len(self.order))
        )


def _unit_label(row: int, units: Sequence[str] | None) -> str:
    if units is not None and 0 <= row < len(units):
        return repr(units[row])
    return f"row {row}"


def aggregate_tree(
    framework: Framework,
    X_norm: Any,
    weights: Mapping[str, float] | None = None,
    methods: Mapping[str, MethodChoice] | None = None,
    *,
    default: MethodChoice = "amean",
    availability: Mapping[str, float] | float = 0.0,
    units: Sequence[str] | None = None,
) -> np.ndarray:
    """Bottom-up aggregation → (..., n_nodes) in `node_order(framework)` (indicators first, then aggregates)."""
    plan = AggregationPlan.build(framework, methods, default, availability)
    return plan.run(X_norm, weights, units).values


def node_order(framework: Framework) -> tuple[str, ...]:
    """Column order of aggregate_tree's output: indicators (declaration order), then aggregates bottom-up."""
    return framework.indicators + framework.aggregates
