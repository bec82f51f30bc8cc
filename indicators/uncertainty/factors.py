"""The factor kinds of the uncertainty analysis, one class each: weights, blend, normalisation, aggregation,
imputation, drop and data (indicator values drawn from their sampling distributions).

A factor owns some columns of the uniform design. Every kind answers two questions through the same interface:
`apply` turns its design columns (sampled) into the settings of the samples (weights, method choices), and
`one_at_a_time` lists its low/high or per-choice settings for the tornado, everything else nominal. The registry
`FACTOR_KINDS` maps each kind's name to its class; `make_factor` builds one by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy import stats

from indicators.framework import Framework
from indicators.profile import DEMAND, SUPPLY
from indicators.uncertainty.montecarlo import CompiledTree
from indicators.uncertainty.sampling import GAMMA_P_MIN, gamma_ppf

if TYPE_CHECKING:  # the spec's models live in problem.py, which builds factors from them
    from indicators.uncertainty.problem import WeightNoise


class FactorError(ValueError):
    """An unknown factor kind, or a factor built with settings its kind does not take."""


@dataclass
class Settings:
    """The settings of S samples: weights slot-major (n_slots x S) and the discrete choices (-1 = nominal)."""

    Wt: np.ndarray
    norm: np.ndarray
    imp: np.ndarray
    agg: np.ndarray
    drop: np.ndarray
    data: np.ndarray  # which pre-drawn data set (-1 = the observed values)

    @classmethod
    def nominal(cls, w0: np.ndarray, n: int) -> Settings:
        return cls(
            np.repeat(w0[:, None], n, axis=1), np.full(n, -1, dtype=int), np.ones(n, dtype=bool),
            np.full(n, -1, dtype=int), np.full(n, -1, dtype=int), np.full(n, -1, dtype=int),
        )  # fmt: skip


@dataclass(frozen=True)
class OneSetting:
    """One tornado row's setting: its label, the weight row and the discrete choices (-1 / True = nominal)."""

    label: str
    w: np.ndarray
    norm: int = -1
    imp: bool = True
    agg: int = -1
    data: int = -1


@dataclass(frozen=True)
class Factor(ABC):
    """One uncertain input: its name, its design columns and the labels of its discrete choices."""

    name: str
    columns: tuple[int, ...]
    choices: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()  # weights: the perturbed nodes (column order)
    noise: WeightNoise | None = None
    demand: tuple[float, float] | None = None  # blend: the demand share's range

    kind: ClassVar[str]

    @abstractmethod
    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        """Set the samples' settings from this factor's design columns (len(columns) x S, uniform on [0, 1))."""

    @abstractmethod
    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        """This factor's tornado settings, every other factor nominal."""


class _Discrete(Factor):
    """A factor choosing one of `choices` with equal probability from its single design column."""

    def index(self, cols: np.ndarray) -> np.ndarray:
        return np.minimum((cols[0] * len(self.choices)).astype(int), len(self.choices) - 1)


@dataclass(frozen=True)
class WeightsFactor(Factor):
    """Weight noise on a set of nodes: uniform ±spread around each nominal weight, or Dirichlet sibling shares."""

    kind: ClassVar[str] = "weights"

    def _noise(self) -> WeightNoise:
        if self.noise is None:
            raise FactorError(f"weights factor {self.name!r} has no noise settings")
        return self.noise

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        noise = self._noise()
        slots = [tree.slot_of[c] for c in self.nodes]
        if noise.distribution == "uniform":
            s.Wt[slots] = w0[slots][:, None] * (1.0 + noise.spread * (2.0 * cols - 1.0))
        else:
            s.Wt[slots] = dirichlet(cols.T, self.nodes, tree.framework, w0, tree, noise.concentration).T

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        noise, fw = self._noise(), tree.framework
        for node in self.nodes:
            slot = tree.slot_of[node]
            if noise.distribution == "uniform":
                for tag, mult in (("low", 1 - noise.spread), ("high", 1 + noise.spread)):
                    w = w0.copy()
                    w[slot] = w0[slot] * mult
                    yield OneSetting(f"{node} {tag} (x{mult:g})", w)
            else:  # the node's share within its perturbed sibling group at its marginal Beta's 5% / 95%
                group = [tree.slot_of[c] for c in self.nodes if fw.node(c).parent == fw.node(node).parent]
                total = w0[group].sum()
                s0 = w0[slot] / total
                c = noise.concentration
                for tag, q in (("low", 0.05), ("high", 0.95)):
                    s1 = float(stats.beta.ppf(q, c * s0, c * (1 - s0))) if 0 < s0 < 1 else s0
                    w = w0.copy()
                    others = [g for g in group if g != slot]
                    if others and s0 < 1:
                        w[others] = w0[others] * (1 - s1) / (1 - s0)
                    w[slot] = s1 * total
                    yield OneSetting(f"{node} {tag} (share {s1:.3f})", w)


@dataclass(frozen=True)
class BlendFactor(Factor):
    """The supply/demand blend: the demand share uniform on its range, the pair's total weight kept."""

    kind: ClassVar[str] = "blend"

    def _range(self) -> tuple[float, float]:
        if self.demand is None:
            raise FactorError(f"blend factor {self.name!r} has no demand range")
        return self.demand

    @staticmethod
    def _set(w: np.ndarray, tree: CompiledTree, w0: np.ndarray, b: Any) -> None:
        s, d = tree.slot_of[SUPPLY], tree.slot_of[DEMAND]
        total = w0[s] + w0[d]
        w[s], w[d] = (1.0 - b) * total, b * total

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        lo, hi = self._range()
        self._set(s.Wt, tree, w0, lo + (hi - lo) * cols[0])

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        for tag, b in zip(("low", "high"), self._range(), strict=True):
            w = w0.copy()
            self._set(w, tree, w0, b)
            yield OneSetting(f"demand {tag} ({b:g})", w)


@dataclass(frozen=True)
class NormalisationFactor(_Discrete):
    """One of the alternative normalisations."""

    kind: ClassVar[str] = "normalisation"

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        s.norm = self.index(cols)

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        for i, ch in enumerate(self.choices):
            yield OneSetting(ch, w0.copy(), norm=i)


@dataclass(frozen=True)
class AggregationFactor(_Discrete):
    """One of the alternative aggregations (applied at every level)."""

    kind: ClassVar[str] = "aggregation"

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        s.agg = self.index(cols)

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        for i, ch in enumerate(self.choices):
            yield OneSetting(ch, w0.copy(), agg=i)


@dataclass(frozen=True)
class ImputationFactor(_Discrete):
    """Imputation on (the profile's method, choice 0) or off (choice 1)."""

    kind: ClassVar[str] = "imputation"

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        s.imp = self.index(cols) == 0

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        yield OneSetting("off", w0.copy(), imp=False)


@dataclass(frozen=True)
class DropFactor(_Discrete):
    """No indicator dropped (choice 0) or one indicator dropped (its weight set to 0), each equally likely."""

    kind: ClassVar[str] = "drop"

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        s.drop = self.index(cols) - 1

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        for code in tree.framework.scored_indicators:  # a context indicator weighs 0: dropping it changes nothing
            w = w0.copy()
            w[tree.slot_of[code]] = 0.0
            yield OneSetting(f"without {code}", w)


@dataclass(frozen=True)
class DataFactor(_Discrete):
    """The indicator values' sampling error: each sample takes one of the pre-drawn data sets (`choices` names them),
    every value drawn from its sampling distribution and the whole pipeline (imputation, treatment, normalisation)
    re-run on it. One design column picks the set, so Sobol' treats the data as one factor (a random field)."""

    kind: ClassVar[str] = "data"
    oat_draws: ClassVar[int] = 10  # the tornado's settings: this many of the draws, evenly spaced

    def apply(self, cols: np.ndarray, s: Settings, tree: CompiledTree, w0: np.ndarray) -> None:
        s.data = self.index(cols)

    def one_at_a_time(self, tree: CompiledTree, w0: np.ndarray) -> Iterator[OneSetting]:
        n = len(self.choices)
        for d in np.unique(np.linspace(0, n - 1, min(n, self.oat_draws)).round().astype(int)):
            yield OneSetting(f"data draw {d + 1} of {n}", w0.copy(), data=int(d))


FACTOR_KINDS: dict[str, type[Factor]] = {
    cls.kind: cls
    for cls in (WeightsFactor, BlendFactor, NormalisationFactor, AggregationFactor, ImputationFactor, DropFactor,
                DataFactor)
}


def make_factor(kind: str, name: str, columns: tuple[int, ...], **settings: Any) -> Factor:
    """A factor of the registered `kind` (FactorError names an unknown one)."""
    try:
        cls = FACTOR_KINDS[kind]
    except KeyError:
        raise FactorError(f"unknown factor kind {kind!r}; known: {', '.join(FACTOR_KINDS)}") from None
    return cls(name, columns, **settings)


def apply_drops(s: Settings, tree: CompiledTree) -> None:
    """Zero the weight of each sample's dropped indicator (after every factor has set its weights)."""
    has = s.drop >= 0
    if has.any():
        ind_slots = np.array([tree.slot_of[c] for c in tree.framework.scored_indicators])  # the drop factor's choices
        s.Wt[ind_slots[s.drop[has]], np.flatnonzero(has)] = 0.0


def dirichlet(cols: np.ndarray, nodes: Sequence[str], fw: Framework, w0: np.ndarray, tree: CompiledTree,
              concentration: float) -> np.ndarray:
    """Sibling shares ~ Dirichlet(c * nominal shares) within each parent, keeping the group's total nominal weight."""
    out = np.empty_like(cols)
    by_parent: dict[str | None, list[int]] = {}
    for j, c in enumerate(nodes):
        by_parent.setdefault(fw.node(c).parent, []).append(j)
    for js in by_parent.values():
        base = np.array([w0[tree.slot_of[nodes[j]]] for j in js])
        total = base.sum()
        alpha = concentration * base / total if total > 0 else np.full(len(js), concentration / len(js))
        # Gamma(alpha_j) variates by inverse CDF, so quasi-random columns keep their stratification. A node of
        # nominal weight 0 (reference only) has alpha 0: a Dirichlet component degenerate at 0, so it stays exactly 0
        # (the inverse CDF at a tiny alpha would give it a positive weight for u near 1).
        # gamma_ppf: gammaincinv from a table per distinct alpha (siblings of equal weight share one), not a solve per
        # sample (that was 85% of a 100,000-sample run with Dirichlet dimension weights).
        p = np.clip(cols[:, js], GAMMA_P_MIN, 1 - GAMMA_P_MIN)
        g = np.zeros_like(p)
        for a in np.unique(alpha[alpha > 0]):
            same = alpha == a
            g[:, same] = gamma_ppf(float(a), p[:, same])
        out[:, js] = g / g.sum(axis=1, keepdims=True) * total if total > 0 else 0.0
    return out
