"""The uncertainty specification (what may vary and how), its up-front check, and the compiled sampling problem.

Every uncertain input is one named factor driven by columns of a uniform [0,1) design matrix:
- weights:<name>   weights of a set of nodes (a level, or listed codes): each w * U(1 - spread, 1 + spread)
                   (uniform), or sibling shares ~ Dirichlet(concentration * nominal shares) (dirichlet), mapped from
                   U(0,1) by the Gamma inverse CDF; one column per perturbed node, one factor per noise entry
- blend            the demand side's share of {supply, demand}, uniform on [low, high]
- normalisation    which alternative normaliser (discrete: floor(u * m)); applied to every indicator
- aggregation      which alternative aggregation method, applied to every aggregate node
- imputation       the profile's imputation or none (u < 0.5 -> on)
- drop             none or one indicator left out (weight 0, siblings renormalised), uniform over the K + 1 choices
The normalised matrix of each (normalisation, imputation) combination is computed once and cached; aggregation and
weights are applied by the batched engine in indicators.uncertainty.montecarlo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indicators.aggregate import AGGREGATORS, AVAILABILITY_TOL
from indicators.framework import Framework
from indicators.model import panel_from_long, panel_from_matrix, score
from indicators.normalise import NORMALISERS
from indicators.registry import MethodError
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.factors import DEMAND, SUPPLY, Factor, Settings, apply_drops, make_factor
from indicators.uncertainty.montecarlo import CompiledTree, MonteCarloError, PowerMean, evaluate, power_mean



class UncertaintyError(ValueError):
    """The uncertainty specification is invalid or does not fit the framework/data; lists every problem found."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightNoise(_Strict):
    """Noise on the weights of the nodes at one COINr level (1 = indicators) or of listed node codes."""

    name: str | None = None
    level: int | None = Field(default=None, ge=1)
    nodes: tuple[str, ...] | None = None
    distribution: Literal["uniform", "dirichlet"] = "uniform"
    spread: float = Field(default=0.25, gt=0, le=1)  # uniform: w * U(1 - spread, 1 + spread)
    concentration: float = Field(default=100.0, gt=0)  # dirichlet: larger = closer to the nominal shares

    @model_validator(mode="after")
    def _one_target(self) -> WeightNoise:
        if (self.level is None) == (self.nodes is None):
            raise ValueError("give exactly one of `level` (a COINr level, 1 = indicators) or `nodes` (node codes)")
        return self

    @property
    def label(self) -> str:
        return f"weights:{self.name or (f'level{self.level}' if self.level is not None else '+'.join(self.nodes or ()))}"


class BlendRange(_Strict):
    """The demand side's share of the supply/demand pair, drawn uniformly from [low, high]."""

    demand: tuple[float, float]


class UncertaintySpec(_Strict):
    """What varies in an uncertainty/sensitivity run, how many samples, which sampler and seed."""

    samples: int = Field(default=10_000, ge=1, le=10_000_000)
    sobol_samples: int = Field(default=1024, ge=8, le=1 << 20)  # base N of the Saltelli design (power of two)
    seed: int = Field(default=0, ge=0)
    sampler: Literal["sobol", "random"] = "sobol"
    bootstrap: int = Field(default=200, ge=0, le=10_000)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    interval: tuple[float, float] = (0.05, 0.95)  # rank interval quantiles
    weight_noise: tuple[WeightNoise, ...] = ()
    blend: BlendRange | None = None
    normalisation: tuple[MethodSpec, ...] = ()  # alternatives; empty = the profile's normalisation only
    aggregation: tuple[MethodSpec, ...] = ()  # alternatives, each applied to every aggregate node
    imputation: bool = False  # vary imputation between the profile's method and none
    drop_indicators: bool = False  # leave out each indicator in turn (or none)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "uncertainty spec") -> UncertaintySpec:
        """Parse strictly; errors name the source, the key and (for unknown keys) the allowed ones."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as e:
            lines = []
            for err in e.errors():
                key = ".".join(str(p) for p in err["loc"]) or "(top level)"
                msg = str(err["msg"]).removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    parent = err["loc"][:-1]
                    model: type[BaseModel] = WeightNoise if parent and parent[0] == "weight_noise" else (
                        BlendRange if parent and parent[0] == "blend" else (
                            MethodSpec if parent else cls))
                    msg = f"unknown key; allowed keys: {', '.join(model.model_fields)}"
                lines.append(f"{key}: {msg}")
            raise UncertaintyError(f"{source}: " + "; ".join(lines)) from None


@dataclass(frozen=True)
class Issue:
    """One finding of `check`: an error stops the run; a warning is reported and the run goes on."""

    severity: Literal["error", "warning"]
    factor: str
    message: str


# -- the data the problem needs ------------------------------------------------------------------------------------
Preparer = Callable[[ModelSpec], np.ndarray]  # model spec -> units x indicators normalised matrix


@dataclass(frozen=True)
class Inputs:
    """What the uncertainty run scores: the units, how to produce a normalised matrix, the nominal choices."""

    framework: Framework
    units: tuple[str, ...]
    prepare: Preparer  # impute -> treat -> normalise under a given model spec (the scoring engine's pipeline)
    model: ModelSpec  # the nominal methods (the profile's)
    weights: Mapping[str, float]  # nominal relative weights (profile.resolved_weights, blend included)


def _noise_nodes(noise: WeightNoise, fw: Framework) -> tuple[str, ...]:
    if noise.nodes is not None:
        return tuple(noise.nodes)
    return tuple(c for c in fw.codes if c != fw.root and fw.level(c) == noise.level)


def _alt_label(m: MethodSpec) -> str:
    return m.name + (f"({', '.join(f'{k}={v}' for k, v in sorted(m.params.items()))})" if m.params else "")


def _static_issues(spec: UncertaintySpec, fw: Framework) -> list[Issue]:
    out: list[Issue] = []
    levels = sorted({fw.level(c) for c in fw.codes if c != fw.root})
    for noise in spec.weight_noise:
        if noise.nodes is not None:
            unknown = [c for c in noise.nodes if c not in fw]
            if unknown:
                out.append(Issue("error", noise.label, f"unknown node code(s) {', '.join(unknown)}"))
            if fw.root in noise.nodes:
                out.append(Issue("error", noise.label, f"{fw.root!r} is the root; it has no weight to vary"))
        elif not _noise_nodes(noise, fw):
            out.append(Issue("error", noise.label, f"no weighted node at level {noise.level}; levels: {levels}"))
        for c in (_noise_nodes(noise, fw) if not any(i.severity == "error" and i.factor == noise.label
                                                      for i in out) else ()):
            parent = fw.node(c).parent
            if parent is not None and len(fw.children(parent)) == 1:
                out.append(Issue("warning", noise.label,
                                 f"node {c!r} is the only child of {parent!r}: noise on its weight changes nothing"))
        if spec.blend is not None and set(_safe_nodes(noise, fw)) & {SUPPLY, DEMAND}:
            out.append(Issue("warning", noise.label, "the blend factor sets the supply/demand weights; noise on them "
                                                     "is overridden"))
    labels = [n.label for n in spec.weight_noise]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        out.append(Issue("error", dup[0], "two weight-noise entries have the same name; give each a distinct `name`"))
    if spec.blend is not None:
        lo, hi = spec.blend.demand
        if not (0.0 <= lo <= hi <= 1.0):
            out.append(Issue("error", "blend", f"the demand share range must satisfy 0 <= low <= high <= 1, got "
                                               f"[{lo}, {hi}]"))
        missing = [c for c in (SUPPLY, DEMAND) if c not in fw]
        if missing:
            out.append(Issue("error", "blend", f"the framework has no node(s) {', '.join(map(repr, missing))} to blend"))
        elif fw.node(SUPPLY).parent != fw.node(DEMAND).parent:
            out.append(Issue("error", "blend", "'supply' and 'demand' must be siblings to be blended"))
    for kind, registry, alts in (("normalisation", NORMALISERS, spec.normalisation),
                                 ("aggregation", AGGREGATORS, spec.aggregation)):
        for i, m in enumerate(alts):
            try:
                registry.resolve(m.name, m.params)
            except MethodError as e:
                out.append(Issue("error", kind, f"alternative {i + 1}: {e}"))
                continue
            if kind == "aggregation":
                try:
                    power_mean(m.name, m.params)
                except MonteCarloError as e:
                    out.append(Issue("error", kind, f"alternative {i + 1}: {e}"))
        if len(alts) == 1:
            out.append(Issue("warning", kind, f"a single {kind} alternative is not a choice: every sample uses "
                                              f"{_alt_label(alts[0])}"))
        if len({_alt_label(m) for m in alts}) < len(alts):
            out.append(Issue("warning", kind, "two alternatives are identical; the factor is weaker than it looks"))
    if spec.sampler == "sobol" and spec.sobol_samples & (spec.sobol_samples - 1):
        out.append(Issue("error", "design", f"sobol_samples must be a power of two for Sobol' sampling, got "
                                            f"{spec.sobol_samples}"))
    lo_q, hi_q = spec.interval
    if not 0 < lo_q < hi_q < 1:
        out.append(Issue("error", "design", f"interval must satisfy 0 < low < high < 1, got {spec.interval}"))
    return out


def _safe_nodes(noise: WeightNoise, fw: Framework) -> tuple[str, ...]:
    return tuple(c for c in _noise_nodes(noise, fw) if c in fw)


def check(spec: UncertaintySpec, inputs: Inputs) -> list[Issue]:
    """Every problem with running `spec` on `inputs`, found before any sampling: errors and warnings."""
    issues = _static_issues(spec, inputs.framework)
    if any(i.severity == "error" for i in issues):
        return issues
    problem = _compile(spec, inputs, issues)
    return problem.issues


# -- the compiled problem -----------------------------------------------------------------------------------------
@dataclass
class Problem:
    """A spec compiled against a framework and data: cached tensors, factor columns, nominal setting, evaluator."""

    spec: UncertaintySpec
    tree: CompiledTree
    units: tuple[str, ...]
    factors: tuple[Factor, ...]
    n_columns: int
    w0: np.ndarray  # nominal weight row (n_slots)
    tensors: dict[tuple[int, bool], np.ndarray]  # (normalisation choice, imputation on) -> U x I
    tensor_errors: dict[tuple[int, bool], str]
    agg_sets: dict[int, tuple[PowerMean, ...]]  # aggregation choice -> per-step methods (-1 = nominal)
    thresholds: tuple[float, ...]
    issues: list[Issue]
    reason_labels: tuple[str, ...] = ()
    _reasons: dict[str, int] = field(default_factory=dict, repr=False)

    # -- factors -> settings -------------------------------------------------------------------------------------
    @property
    def factor_dims(self) -> list[int]:
        return [len(f.columns) for f in self.factors]

    def _reason(self, label: str) -> int:
        if label not in self._reasons:
            self._reasons[label] = len(self._reasons)
            self.reason_labels = tuple(self._reasons)
        return self._reasons[label]

    def settings(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Uniform design rows (S x n_columns) -> weight matrix W and the discrete choices (norm, imputation, agg).

        W is built slot-major (each slot's samples contiguous) and returned as its (S x n_slots) transposed view:
        the engine's effective-weight pass reads it slot-major without a copy.
        """
        ut = np.ascontiguousarray(u.T)
        s = Settings.nominal(self.w0, u.shape[0])
        for f in self.factors:
            f.apply(ut[list(f.columns)], s, self.tree, self.w0)
        apply_drops(s, self.tree)
        return s.Wt.T, s.norm, s.imp, s.agg

    # -- evaluation ----------------------------------------------------------------------------------------------
    def evaluate_settings(
        self, W: np.ndarray, norm: np.ndarray, imp: np.ndarray, agg: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Composite scores (S x U) and failure reasons (S,; -1 = ok) for explicit settings (scores into `out`)."""
        S, U = W.shape[0], len(self.units)
        scores = np.empty((S, U)) if out is None else out  # every row is written below or failed (set to NaN)
        reasons = np.full(S, -1, dtype=int)
        # one integer code per discrete combination: loop over the combinations present, never over samples
        n_agg = len(self.agg_sets) + 1
        code = ((norm + 1) * 2 + imp.astype(int)) * n_agg + (agg + 1)
        present = np.flatnonzero(np.bincount(code))
        for c in present:
            n_i, i_i, a_i = c // n_agg // 2 - 1, (c // n_agg) % 2, c % n_agg - 1
            # one combination (weights-only runs): take every row as a view, no gather/scatter copies
            rows = np.flatnonzero(code == c) if present.size > 1 else slice(None)
            tkey = (int(n_i), bool(i_i))
            if tkey in self.tensor_errors:
                reasons[rows] = self._reason(self.tensor_errors[tkey])
                continue
            methods = self.agg_sets[int(a_i)]
            ev = evaluate(self.tree, self.tensors[tkey], W[rows], methods, self.thresholds)
            scores[rows] = ev.root
            dom = ev.domain_step >= 0
            bad = ~dom & ~np.isfinite(ev.root).all(axis=1)
            if dom.any() or bad.any():
                at = np.arange(S)[rows]
                for step_i in np.unique(ev.domain_step[dom]):
                    m = methods[step_i]
                    label = f"{m.label} over a non-positive value at node {self.tree.steps[step_i].code!r}"
                    reasons[at[ev.domain_step == step_i]] = self._reason(label)
                if bad.any():
                    first = (~np.isfinite(ev.root[bad])).argmax(axis=1)
                    for u_i in np.unique(first):
                        sel = at[np.flatnonzero(bad)[first == u_i]]
                        why = ("too few weighted children present for an availability threshold, or no data"
                               if any(t > 0 for t in self.thresholds) else "no data present")
                        reasons[sel] = self._reason(f"no composite for unit {self.units[u_i]!r} ({why})")
        failed = reasons >= 0
        if failed.any():
            scores[failed] = np.nan
        return scores, reasons

    def evaluate_uniform(self, u: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Scores and failure reasons for uniform design rows, in chunks (bounded memory, each chunk in cache)."""
        scores = np.empty((u.shape[0], len(self.units)))
        reasons = np.empty(u.shape[0], dtype=int)
        for start in range(0, u.shape[0], chunk):
            W, n, i, a = self.settings(u[start : start + chunk])
            _, reasons[start : start + chunk] = self.evaluate_settings(W, n, i, a, out=scores[start : start + chunk])
        return scores, reasons

    def nominal_settings(self, n: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.repeat(self.w0[None, :], n, axis=0), np.full(n, -1), np.ones(n, dtype=bool), np.full(n, -1))

    def nominal_scores(self) -> np.ndarray:
        return self.evaluate_settings(*self.nominal_settings())[0][0]

    def nominal_failure(self) -> str:
        r = self.evaluate_settings(*self.nominal_settings())[1][0]
        return self.reason_labels[r] if r >= 0 else "(no failure)"

    def nominal_nodes(self) -> dict[str, np.ndarray]:
        """Every node's nominal values per unit (normalised indicators and aggregates): the audit's input."""
        X = self.tensors[(-1, True)]
        ev = evaluate(self.tree, X, self.w0, self.agg_sets[-1], self.thresholds, keep_nodes=True)
        out = {c: X[:, j] for j, c in enumerate(self.tree.framework.indicators)}
        out.update({c: v[0] for c, v in (ev.nodes or {}).items()})
        return out


def _methods_for(tree: CompiledTree, model: ModelSpec, override: MethodSpec | None) -> tuple[PowerMean, ...]:
    if override is not None:
        return tuple(power_mean(override.name, override.params) for _ in tree.steps)
    per = {c: (m.name, m.params) for c, m in model.aggregation_overrides.items()}
    return tree.methods(per, (model.aggregation.name, model.aggregation.params))


def _compile(spec: UncertaintySpec, inputs: Inputs, issues: list[Issue]) -> Problem:
    fw = inputs.framework
    tree = CompiledTree.build(fw)
    w0 = tree.weight_vector(inputs.weights)
    factors: list[Factor] = []
    col = 0

    def add(name: str, kind: str, width: int, **kw: Any) -> None:
        nonlocal col
        factors.append(make_factor(kind, name, tuple(range(col, col + width)), **kw))
        col += width

    for noise in spec.weight_noise:
        nodes = _noise_nodes(noise, fw)
        if spec.blend is not None:
            nodes = tuple(c for c in nodes if c not in (SUPPLY, DEMAND))
        if nodes:
            add(noise.label, "weights", len(nodes), nodes=nodes, noise=noise)
    if spec.blend is not None:
        add("blend", "blend", 1, demand=spec.blend.demand)
    if spec.normalisation:
        add("normalisation", "normalisation", 1, choices=tuple(_alt_label(m) for m in spec.normalisation))
    if spec.aggregation:
        add("aggregation", "aggregation", 1, choices=tuple(_alt_label(m) for m in spec.aggregation))
    if spec.imputation:
        add("imputation", "imputation", 1, choices=(f"on ({inputs.model.imputation.name})", "off"))
        if inputs.model.imputation.name == "none":
            issues.append(Issue("warning", "imputation", "the profile imputes nothing ('none'): switching imputation "
                                                         "off changes nothing"))
    if spec.drop_indicators:
        add("drop", "drop", 1, choices=("none", *fw.indicators))

    # Precompute every (normalisation, imputation) tensor once; a failure becomes a counted failure reason.
    tensors: dict[tuple[int, bool], np.ndarray] = {}
    errors: dict[tuple[int, bool], str] = {}
    norms: list[tuple[int, MethodSpec | None]] = [(-1, None), *enumerate(spec.normalisation)]
    imps = (True, False) if spec.imputation else (True,)
    for n_i, alt in norms:
        for imp in imps:
            update: dict[str, Any] = {}
            if alt is not None:
                update.update(normalisation=alt, normalisation_overrides={})
            if not imp:
                update["imputation"] = MethodSpec(name="none")
            model = inputs.model.model_copy(update=update) if update else inputs.model
            label = f"normalisation {_alt_label(alt) if alt else 'nominal'}, imputation {'on' if imp else 'off'}"
            try:
                X = np.asarray(inputs.prepare(model), dtype=float)
            except Exception as e:  # the engine's own typed errors; any of them makes this choice unusable
                errors[(n_i, imp)] = f"preparing the data failed ({label}): {e}"
                issues.append(Issue("warning" if alt is not None or not imp else "error", "normalisation",
                                    errors[(n_i, imp)]))
                continue
            if X.shape != (len(inputs.units), len(fw.indicators)):
                raise UncertaintyError(f"prepare returned shape {X.shape}, expected "
                                       f"({len(inputs.units)}, {len(fw.indicators)})")
            tensors[(n_i, imp)] = X
    agg_sets = {-1: _methods_for(tree, inputs.model, None)}
    for a_i, alt in enumerate(spec.aggregation):
        agg_sets[a_i] = _methods_for(tree, inputs.model, alt)
    # the scoring engine's thresholds (ModelSpec.node_availability), with its slack (aggregate.AVAILABILITY_TOL)
    avail = inputs.model.node_availability(fw)
    thresholds = tuple(max(avail.get(s.code, 0.0) - AVAILABILITY_TOL, 0.0) if avail.get(s.code, 0.0) > 0 else 0.0
                       for s in tree.steps)
    # Domain: a geometric/harmonic mean (or p <= 0) over a non-positive normalised value fails those samples.
    for a_i, methods in agg_sets.items():
        for (n_i, imp), X in tensors.items():
            # the combinations samples can reach (plus the nominal one)
            if a_i == -1 and spec.aggregation and (n_i, imp) != (-1, True):
                continue
            _domain_issues(issues, fw, tree, inputs.units, X, methods, n_i, imp, a_i, spec, w0)
    problem = Problem(spec, tree, inputs.units, tuple(factors), col, w0, tensors, errors, agg_sets, thresholds,
                      issues)
    if (-1, True) in tensors:
        nominal = problem.nominal_scores()
        if not np.isfinite(nominal).all():
            issues.append(Issue("error", "nominal", f"the nominal scoring fails: {problem.nominal_failure()}"))
    return problem


def _domain_issues(issues: list[Issue], fw: Framework, tree: CompiledTree, units: Sequence[str], X: np.ndarray,
                   methods: Sequence[PowerMean], n_i: int, imp: bool, a_i: int, spec: UncertaintySpec,
                   w0: np.ndarray) -> None:
    """One warning per (aggregation, data) combination naming each offending indicator, its unit and the units.

    Indicators of nominal weight 0 are skipped: no factor gives them weight, and a zero-weight child takes no part.
    """
    found: list[str] = []
    label = ""
    for step, m in zip(tree.steps, methods, strict=True):
        if m.p == 1.0 or not step.ind_cols.size:
            continue
        y = X[:, step.ind_cols] + m.shift
        bad = np.isfinite(y) & (~(y > 0) if m.p <= 0 else ~(y >= 0)) & (w0[step.ind_slots] != 0)[None, :]
        label = m.label
        for k in np.flatnonzero(bad.any(axis=0)):
            code = fw.indicators[step.ind_cols[k]]
            unit = fw.node(code).unit
            who = [units[int(u)] for u in np.flatnonzero(bad[:, k])]
            found.append(f"{code}{f' [{unit}]' if unit else ''} at {', '.join(who[:4])}"
                         f"{f' and {len(who) - 4} more' if len(who) > 4 else ''}")
    if found:
        norm = _alt_label(spec.normalisation[n_i]) if n_i >= 0 else "the profile's normalisation"
        issues.append(Issue(
            "warning", "aggregation",
            f"{label} needs positive values, but after {norm}{'' if imp else ' without imputation'} these are zero or "
            f"negative: {'; '.join(found[:8])}{f' (+{len(found) - 8} more)' if len(found) > 8 else ''}. Samples "
            f"combining them fail and are counted by reason; use a normalisation with a positive floor (e.g. minmax "
            f"l=1) or the method's `shift` parameter"))


def model_preparer(framework: Framework, data: Any, *, units: Sequence[str] | None = None,
                   periods: Sequence[str] | None = None, period: str | None = None,
                   groups: Mapping[str, Any] | None = None,
                   complete: Sequence[str] | None = None) -> tuple[Preparer, tuple[str, ...]]:
    """A Preparer running the scoring engine's impute -> treat -> normalise (indicators.model.score) on `data`.

    Normalisation is fitted as the model spec says (panel or a period) and the matrix of `period` (default: the
    last) is returned. Aggregation is forced to the arithmetic mean here because only the normalised matrix is
    used; the batched engine applies the real aggregation (and reports its domain failures per sample). `complete`
    names the periods the data cover completely (the model fits nothing on the others; None = all).
    Returns the preparer and the unit codes in row order.
    """
    panel = (panel_from_long(framework, data, units, periods) if isinstance(data, pl.DataFrame)
             else panel_from_matrix(framework, data, units, periods))
    if period is not None and period not in panel.periods:
        raise UncertaintyError(f"period {period!r} is not in the data; periods: {', '.join(panel.periods)}")
    p_idx = panel.periods.index(period) if period is not None else len(panel.periods) - 1
    n_i = len(framework.indicators)

    def prepare(model: ModelSpec) -> np.ndarray:
        plain = model.model_copy(update={"aggregation": MethodSpec(name="amean"), "aggregation_overrides": {},
                                         "availability": 0.0, "availability_overrides": {}})
        res = score(framework, panel.values, plain, units=panel.units, periods=panel.periods, groups=groups,
                    complete=complete)
        return np.asarray(res.values[p_idx, :, :n_i])

    return prepare, panel.units


def build_problem(spec: UncertaintySpec, inputs: Inputs) -> Problem:
    """Check and compile; raises UncertaintyError listing every error (warnings stay on `problem.issues`)."""
    issues = _static_issues(spec, inputs.framework)
    errors = [i for i in issues if i.severity == "error"]
    if not errors:
        problem = _compile(spec, inputs, issues)
        errors = [i for i in problem.issues if i.severity == "error"]
        if not errors:
            return problem
    raise UncertaintyError("; ".join(f"{i.factor}: {i.message}" for i in errors))
