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
- data             the indicator values' sampling error: one of `data_draws` data sets, each value drawn from its
                   sampling distribution (a proportion: beta with the value as mean and its standard error as sd, on
                   its range; other values: normal with that sd, truncated to their feasible range), the pipeline
                   (impute -> treat -> normalise) re-run on each set exactly; applied before everything else
The normalised matrix of each (normalisation, imputation) combination is computed once and cached; aggregation and
weights are applied by the batched engine in indicators.uncertainty.montecarlo.
"""

from __future__ import annotations

import dataclasses
import hashlib

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import special
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indicators.aggregate import AGGREGATORS, AVAILABILITY_TOL
from indicators.framework import Framework
from indicators.nanreduce import nanmin_max
from indicators.model import panel_from_long, panel_from_matrix, score
from indicators.normalise import NORMALISERS
from indicators.registry import MethodError
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.factors import DEMAND, SUPPLY, Factor, Settings, apply_drops, make_factor
from indicators.uncertainty.montecarlo import CompiledTree, MonteCarloError, PowerMean, evaluate, evaluate_draws, power_mean



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
    # vary imputation between the profile's method and none; None (default): when the profile imputes and the scored
    # period has cells it imputes (issue 13.5: imputed values make the imputation choice a factor)
    imputation: bool | None = None
    drop_indicators: bool = False  # leave out each indicator in turn (or none)
    data: bool = False  # draw indicator values from their sampling distributions (needs standard errors)
    data_draws: int = Field(default=128, ge=8, le=4096)  # pre-drawn data sets (fewer when units x indicators is big)

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
    data: DataUncertainty | None = None  # the values' standard errors (the data factor); `prepare` a PanelPreparer
    # shared by the problems of one run over the same data (a summary per profile and part): see DrawCache
    cache: DrawCache | None = None


@dataclass
class DrawCache:
    """The data factor's draws and their prepared matrices, shared by several `build_problem` calls on the same data.

    Profiles that differ only in weights prepare the same drawn matrices (the preparer runs impute -> treat ->
    normalise; weights and aggregation play no part), and at 2,844 units the draws and their preparation were a
    third of the refresh's uncertainty step, repeated for every profile and part. Draws are keyed by the content of
    the values, standard errors and seed; a smaller draw count takes the first draws of a larger one, which are the
    same numbers (`sampling_draws` fills its uniforms draw by draw from the same generator)."""

    draws: dict[str, np.ndarray] = field(default_factory=dict)
    prepared: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class DataUncertainty:
    """The sampling error of the scored period's raw indicator values (rows and columns as the preparer's).

    `se`: units x indicators standard errors (NaN or 0: the value is exact, e.g. a count of everything). `lower`,
    `upper`: per indicator, the feasible range (NaN: unbounded). `proportion`: per indicator, whether the value is a
    share of its [lower, upper] range (drawn from a beta distribution; others from a truncated normal).
    """

    se: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    proportion: np.ndarray | None = None

    def bounds(self, n_ind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def col(a: np.ndarray | None, fill: float) -> np.ndarray:
            return np.full(n_ind, fill) if a is None else np.where(np.isfinite(np.asarray(a, float)), a, fill)

        prop = np.zeros(n_ind, bool) if self.proportion is None else np.asarray(self.proportion, bool)
        return col(self.lower, -np.inf), col(self.upper, np.inf), prop


def sampling_draws(values: np.ndarray, du: DataUncertainty, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws (n x units x indicators) of the values from their sampling distributions; exact values repeat.

    Proportions with 0 < p < 1 and se^2 < p (1 - p): Beta(p k, (1 - p) k) on [lower, upper] with k = p (1 - p) /
    se^2 - 1 (mean the value, sd its standard error; always in range). Everything else with a standard error: normal
    (value, se) truncated to [lower, upper] by the inverse-CDF method (a proportion at 0 or 1 is such a case).
    """
    v = np.asarray(values, float)
    se = np.asarray(du.se, float)
    if se.shape != v.shape:
        raise UncertaintyError(f"standard errors have shape {se.shape}, the values {v.shape}")
    lo, hi, prop = du.bounds(v.shape[1])
    out = np.repeat(v[None], n, axis=0)
    valid = np.isfinite(v) & np.isfinite(se) & (se > 0)
    if not valid.any():
        return out
    u = np.clip(rng.random(out.shape), 1e-12, 1 - 1e-12)
    width = hi - lo
    with np.errstate(all="ignore"):
        p = (v - lo) / width
        sd = se / width
        beta = valid & prop[None, :] & np.isfinite(width)[None, :] & (p > 0) & (p < 1) & (sd**2 < p * (1 - p))
        k = p * (1 - p) / sd**2 - 1
    if beta.any():
        a, b = (p * k)[beta], ((1 - p) * k)[beta]
        lo_b, w_b = np.broadcast_to(lo, v.shape)[beta], np.broadcast_to(width, v.shape)[beta]
        out[:, beta] = lo_b + w_b * special.betaincinv(a, b, u[:, beta])
    rest = valid & ~beta
    if rest.any():
        vr, sr = v[rest], se[rest]
        lo_r, hi_r = np.broadcast_to(lo, v.shape)[rest], np.broadcast_to(hi, v.shape)[rest]
        fa, fb = special.ndtr((lo_r - vr) / sr), special.ndtr((hi_r - vr) / sr)
        q = np.clip(fa + u[:, rest] * (fb - fa), 1e-15, 1 - 1e-15)
        out[:, rest] = np.clip(vr + sr * special.ndtri(q), lo_r, hi_r)
    return out


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
    # (normalisation, imputation, aggregation choice) -> the tensor rescaled to [1, 100] per indicator, for the
    # power-mean alternatives (geometric, harmonic, ...) whose domain the plain tensor leaves (COINr's practice)
    positive: dict[tuple[int, bool, int], np.ndarray] = field(default_factory=dict)
    # the data factor: (normalisation, imputation) -> draws x units x indicators, and their [1, 100] versions
    data_tensors: dict[tuple[int, bool], np.ndarray] = field(default_factory=dict)
    data_positive: dict[tuple[int, bool, int], np.ndarray] = field(default_factory=dict)
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

    def draw(self, u: np.ndarray) -> Settings:
        """Uniform design rows (S x n_columns) -> every sample's settings (weights slot-major, discrete choices)."""
        ut = np.ascontiguousarray(u.T)
        s = Settings.nominal(self.w0, u.shape[0])
        for f in self.factors:
            f.apply(ut[list(f.columns)], s, self.tree, self.w0)
        apply_drops(s, self.tree)
        return s

    def settings(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Uniform design rows (S x n_columns) -> weight matrix W and the discrete choices (norm, imputation, agg).

        W is built slot-major (each slot's samples contiguous) and returned as its (S x n_slots) transposed view:
        the engine's effective-weight pass reads it slot-major without a copy. (The data draw: `draw(u).data`.)
        """
        s = self.draw(u)
        return s.Wt.T, s.norm, s.imp, s.agg

    def evaluate_drawn(self, s: Settings, out: np.ndarray | None = None, unranked: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
        return self.evaluate_settings(s.Wt.T, s.norm, s.imp, s.agg, out=out, data=s.data, unranked=unranked)

    # -- evaluation ----------------------------------------------------------------------------------------------
    def evaluate_settings(
        self, W: np.ndarray, norm: np.ndarray, imp: np.ndarray, agg: np.ndarray, out: np.ndarray | None = None,
        data: np.ndarray | None = None, unranked: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Composite scores (S x U) and failure reasons (S,; -1 = ok) for explicit settings (scores into `out`);
        `data`: each sample's data draw (-1 or None = the observed values).

        A unit without a composite under a sample's choices (an alternative leaves too few of its indicators for
        an availability threshold, e.g. a dropped indicator in a dimension of two): by default the sample fails
        with that reason (what Sobol indices and the tornado need: every unit's rank in every row). With
        `unranked` (the Monte Carlo rank summaries) the sample stands with that unit's score NaN, as COINr leaves
        it NA: the unit is unranked in that sample and the others are ranked among themselves. A sample with no
        composite for any unit fails either way."""
        S, U = W.shape[0], len(self.units)
        scores = np.empty((S, U)) if out is None else out  # every row is written below or failed (set to NaN)
        reasons = np.full(S, -1, dtype=int)
        # one integer code per discrete combination: loop over the combinations present, never over samples. The
        # data draw is not part of the code: the samples of one method combination on drawn data are evaluated
        # together (evaluate_draws), not one call per draw.
        n_agg = len(self.agg_sets) + 1
        d_arr: np.ndarray = np.full(S, -1) if data is None else np.asarray(data)
        drawn = d_arr >= 0
        code = ((((norm + 1) * 2 + imp.astype(int)) * n_agg + (agg + 1)) * 2 + drawn).astype(np.intp)
        present = np.flatnonzero(np.bincount(code))
        for code_c in present:
            c, on_draws = divmod(int(code_c), 2)
            n_i, i_i, a_i = c // n_agg // 2 - 1, (c // n_agg) % 2, c % n_agg - 1
            # one combination (weights-only runs): take every row as a view, no gather/scatter copies
            rows = np.flatnonzero(code == code_c) if present.size > 1 else slice(None)
            tkey = (int(n_i), bool(i_i))
            if tkey in self.tensor_errors:
                reasons[rows] = self._reason(self.tensor_errors[tkey])
                continue
            methods = self.agg_sets[int(a_i)]
            if on_draws:
                Xs = self.data_positive.get((*tkey, int(a_i)), self.data_tensors[tkey])
                ev = evaluate_draws(self.tree, Xs, d_arr[rows], W[rows], methods, self.thresholds)
            else:
                X = self.positive.get((*tkey, int(a_i)), self.tensors[tkey])
                ev = evaluate(self.tree, X, W[rows], methods, self.thresholds)
            scores[rows] = ev.root
            dom = ev.domain_step >= 0
            bad = ~dom & (~np.isfinite(ev.root).any(axis=1) if unranked else ~np.isfinite(ev.root).all(axis=1))
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
                        who = "any unit" if unranked else f"unit {self.units[u_i]!r}"
                        reasons[sel] = self._reason(f"no composite for {who} ({why})")
        failed = reasons >= 0
        if failed.any():
            scores[failed] = np.nan
        return scores, reasons

    def evaluate_uniform(self, u: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Scores and failure reasons for uniform design rows, in chunks (bounded memory, each chunk in cache)."""
        scores = np.empty((u.shape[0], len(self.units)))
        reasons = np.empty(u.shape[0], dtype=int)
        for start in range(0, u.shape[0], chunk):
            _, reasons[start : start + chunk] = self.evaluate_drawn(self.draw(u[start : start + chunk]),
                                                                    out=scores[start : start + chunk])
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


def _imputes_cells(inputs: Inputs) -> bool:
    """Whether the profile's imputation fills any cell of the scored period (a value present only with it)."""
    if inputs.model.imputation.name == "none":
        return False
    try:
        with_imp = np.asarray(inputs.prepare(inputs.model), dtype=float)
        without = np.asarray(inputs.prepare(inputs.model.model_copy(update={"imputation": MethodSpec(name="none")})),
                             dtype=float)
    except Exception:  # the engine's typed errors: _compile reports the failing preparation itself
        return False
    return bool((np.isfinite(with_imp) & ~np.isfinite(without)).any())


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
    use_imputation = spec.imputation if spec.imputation is not None else _imputes_cells(inputs)
    if use_imputation:
        add("imputation", "imputation", 1, choices=(f"on ({inputs.model.imputation.name})", "off"))
        if inputs.model.imputation.name == "none":
            issues.append(Issue("warning", "imputation", "the profile imputes nothing ('none'): switching imputation "
                                                         "off changes nothing"))
    if spec.drop_indicators:
        add("drop", "drop", 1, choices=("none", *fw.scored_indicators))  # context ones weigh 0
    draws: np.ndarray | None = None
    if spec.data:
        prep, du = inputs.prepare, inputs.data
        if du is None or not isinstance(prep, PanelPreparer):
            issues.append(Issue("warning", "data", "the indicator values carry no standard errors: the data "
                                                   "factor (sampling uncertainty) is left out"))
        else:
            n_keys = (len(spec.normalisation) + 1) * (2 if use_imputation else 1)
            per_draw = 8 * len(inputs.units) * len(fw.indicators) * n_keys
            n_draws = int(max(8, min(spec.data_draws, _DATA_BYTES // max(per_draw, 1))))
            draw_key, draws = _data_draws(prep, du, n_draws, spec.seed, inputs.cache)
            add("data", "data", 1, choices=tuple(f"draw {d + 1}" for d in range(n_draws)))

    # Precompute every (normalisation, imputation) tensor once; a failure becomes a counted failure reason.
    tensors: dict[tuple[int, bool], np.ndarray] = {}
    data_tensors: dict[tuple[int, bool], np.ndarray] = {}
    errors: dict[tuple[int, bool], str] = {}
    norms: list[tuple[int, MethodSpec | None]] = [(-1, None), *enumerate(spec.normalisation)]
    imps = (True, False) if use_imputation else (True,)
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
            if draws is not None and isinstance(inputs.prepare, PanelPreparer):
                try:
                    data_tensors[(n_i, imp)] = _prepared_draws(inputs.prepare, draws, draw_key, model, inputs.cache)
                except Exception as e:  # the engine's typed errors: this choice cannot take drawn data
                    errors[(n_i, imp)] = f"preparing drawn data failed ({label}): {e}"
                    issues.append(Issue("warning", "data", errors[(n_i, imp)]))
    agg_sets = {-1: _methods_for(tree, inputs.model, None)}
    for a_i, alt in enumerate(spec.aggregation):
        agg_sets[a_i] = _methods_for(tree, inputs.model, alt)
    # the scoring engine's thresholds (ModelSpec.node_availability), with its slack (aggregate.AVAILABILITY_TOL)
    avail = inputs.model.node_availability(fw)
    thresholds = tuple(max(avail.get(s.code, 0.0) - AVAILABILITY_TOL, 0.0) if avail.get(s.code, 0.0) > 0 else 0.0
                       for s in tree.steps)
    # Domain: a geometric/harmonic mean (or p != 1) over a non-positive normalised value would fail those samples.
    # An alternative aggregation of the spec is evaluated, as COINr does for its geometric alternative, on the
    # normalised values rescaled to [1, 100] per indicator whenever the plain values leave its domain (a zscore
    # reaches below zero once a unit lies more than m/s deviations out, which skewed data at 256+ units do); where
    # the plain values are in its domain they are used unchanged (so the scores equal the engine's own). The
    # profile's own aggregation (the nominal) is never rescaled: it must reproduce the stored scores.
    positive: dict[tuple[int, bool, int], np.ndarray] = {}
    data_positive: dict[tuple[int, bool, int], np.ndarray] = {}
    for a_i, methods in agg_sets.items():
        for (n_i, imp), X in tensors.items():
            # the combinations samples can reach (plus the nominal one)
            if a_i == -1 and spec.aggregation and (n_i, imp) != (-1, True):
                continue
            drawn = data_tensors.get((n_i, imp))
            if a_i >= 0 and (_leaves_domain(tree, X, methods, w0) or (
                    drawn is not None and any(_leaves_domain(tree, x, methods, w0) for x in drawn))):
                positive[(n_i, imp, a_i)] = X = positive_scale(X)
                if drawn is not None:
                    data_positive[(n_i, imp, a_i)] = np.stack([positive_scale(x) for x in drawn])
                issues.append(Issue("warning", "aggregation", (
                    f"{_alt_label(spec.aggregation[a_i])} needs positive values; after "
                    f"{_alt_label(spec.normalisation[n_i]) if n_i >= 0 else 'the profile normalisation'}"
                    f"{'' if imp else ' without imputation'} some are zero or negative, so this alternative is "
                    f"evaluated on the normalised values rescaled to [1, 100] per indicator (as COINr does)")))
            _domain_issues(issues, fw, tree, inputs.units, X, methods, n_i, imp, a_i, spec, w0)
    problem = Problem(spec, tree, inputs.units, tuple(factors), col, w0, tensors, errors, agg_sets, thresholds,
                      issues, positive, data_tensors, data_positive)
    if (-1, True) in tensors:
        nominal = problem.nominal_scores()
        if not np.isfinite(nominal).all():
            issues.append(Issue("error", "nominal", f"the nominal scoring fails: {problem.nominal_failure()}"))
    return problem


def _digest(*arrays: np.ndarray | None) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(b"-" if a is None else np.ascontiguousarray(a).tobytes() + str(np.shape(a)).encode())
    return h.hexdigest()


def _data_draws(prep: PanelPreparer, du: DataUncertainty, n: int, seed: int, cache: DrawCache | None
                ) -> tuple[str, np.ndarray]:
    """n draws of the scored period (sampling_draws with the spec's seed), from the cache when it holds as many."""
    key = _digest(prep.values, prep.rows, du.se, du.lower, du.upper, du.proportion, np.array([prep.p_idx, seed]))
    hit = cache.draws.get(key) if cache is not None else None
    if hit is None or hit.shape[0] < n:
        hit = sampling_draws(prep.raw, du, n, np.random.default_rng([seed, 13]))
        if cache is not None:
            cache.draws[key] = hit
    return key, hit[:n]


def _prepared_draws(prep: PanelPreparer, draws: np.ndarray, draw_key: str, model: ModelSpec,
                    cache: DrawCache | None) -> np.ndarray:
    """Each draw through the preparer (draws x units x indicators), from the cache when it holds as many."""
    # weights only aggregate (indicators.model.score): the indicator columns the preparer returns do not depend on them
    key = (draw_key, prep.plain(model).model_copy(update={"weights": {}}).model_dump_json())
    hit = cache.prepared.get(key) if cache is not None else None
    if hit is None or hit.shape[0] < draws.shape[0]:
        hit = np.stack([np.asarray(prep.with_raw(r)(model), dtype=float) for r in draws])
        if cache is not None:
            cache.prepared[key] = hit
    return hit[: draws.shape[0]]


POSITIVE_RANGE = (1.0, 100.0)
_DATA_BYTES = 64 << 20  # memory for the data factor's prepared draws (all normalisation/imputation choices)


def positive_scale(X: np.ndarray) -> np.ndarray:
    """Each column min-max rescaled to [1, 100] (COINr's scale for geometric and harmonic means); NaN stays NaN.

    Order and relative spacing within an indicator are kept; a constant column becomes the scale's middle.
    """
    lo_s, hi_s = POSITIVE_RANGE
    with np.errstate(all="ignore"):
        lo, hi = nanmin_max(X)
        span = hi - lo
        out = lo_s + (hi_s - lo_s) * (X - lo) / np.where(span > 0, span, 1.0)
    out[:, ~(span > 0)] = (lo_s + hi_s) / 2
    out[~np.isfinite(X)] = np.nan
    return out


def _out_of_domain(tree: CompiledTree, X: np.ndarray, methods: Sequence[PowerMean], w0: np.ndarray
                   ) -> Iterator[tuple[Any, PowerMean, np.ndarray]]:
    """Per non-arithmetic step with indicator children: (step, method, units x children mask of present, nominally
    weighted values outside the method's domain). Indicators of nominal weight 0 take no part and are skipped."""
    for step, m in zip(tree.steps, methods, strict=True):
        if m.p == 1.0 or not step.ind_cols.size:
            continue
        y = X[:, step.ind_cols] + m.shift
        yield step, m, np.isfinite(y) & (~(y > 0) if m.p <= 0 else ~(y >= 0)) & (w0[step.ind_slots] != 0)[None, :]


def _leaves_domain(tree: CompiledTree, X: np.ndarray, methods: Sequence[PowerMean], w0: np.ndarray) -> bool:
    """Whether a weighted, present indicator value lies outside a non-arithmetic step's domain."""
    return any(bad.any() for _, _, bad in _out_of_domain(tree, X, methods, w0))


def _domain_issues(issues: list[Issue], fw: Framework, tree: CompiledTree, units: Sequence[str], X: np.ndarray,
                   methods: Sequence[PowerMean], n_i: int, imp: bool, a_i: int, spec: UncertaintySpec,
                   w0: np.ndarray) -> None:
    """One warning per (aggregation, data) combination naming each offending indicator, its unit and the units.

    Indicators of nominal weight 0 are skipped: no factor gives them weight, and a zero-weight child takes no part.
    """
    found: list[str] = []
    label = ""
    for step, m, bad in _out_of_domain(tree, X, methods, w0):
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
    return PanelPreparer(framework, panel.values, panel.units, panel.periods, p_idx, groups, complete), panel.units


@dataclass(frozen=True)
class PanelPreparer:
    """The Preparer of `model_preparer`: the scoring engine's impute -> treat -> normalise on a panel, returning the
    scored period's normalised matrix; `raw` is that period's raw matrix and `with_raw` the same preparer with it
    replaced (the data factor re-runs the whole pipeline on drawn values, fitted normalisations refitted too).
    `rows` (from `only`): the units kept (e.g. those with a composite); the pipeline still runs on every unit, so
    fitted normalisations are the engine's, and only the kept rows are returned and drawn."""

    framework: Framework
    values: np.ndarray  # periods x units x indicators, raw
    units: tuple[str, ...]
    periods: tuple[str, ...]
    p_idx: int
    groups: Mapping[str, Any] | None = None
    complete: Sequence[str] | None = None
    rows: np.ndarray | None = None  # boolean mask over units

    @property
    def raw(self) -> np.ndarray:
        raw = self.values[self.p_idx]
        return raw if self.rows is None else raw[self.rows]

    def only(self, keep: np.ndarray) -> PanelPreparer:
        """The same preparer returning (and drawing) only the units where `keep` is true."""
        return dataclasses.replace(self, rows=np.asarray(keep, bool))

    def with_raw(self, raw: np.ndarray) -> PanelPreparer:
        values = self.values.copy()
        if self.rows is None:
            values[self.p_idx] = raw
        else:
            values[self.p_idx, self.rows] = raw
        return dataclasses.replace(self, values=values)

    @staticmethod
    def plain(model: ModelSpec) -> ModelSpec:
        """The part of the model the preparer uses (aggregation and availability play no part in its matrix)."""
        return model.model_copy(update={"aggregation": MethodSpec(name="amean"), "aggregation_overrides": {},
                                        "availability": 0.0, "availability_overrides": {}})

    def __call__(self, model: ModelSpec) -> np.ndarray:
        plain = self.plain(model)
        res = score(self.framework, self.values, plain, units=self.units, periods=self.periods, groups=self.groups,
                    complete=self.complete)
        out = np.asarray(res.values[self.p_idx, :, : len(self.framework.indicators)])
        return out if self.rows is None else out[self.rows]


PROPORTION_UNITS = {"%": 100.0}  # unit -> the top of its range (a share of 0..top)


def data_uncertainty_from_long(framework: Framework, data: pl.DataFrame, units: Sequence[str], period: str,
                               se_column: str = "se") -> DataUncertainty | None:
    """The standard errors of `period` from a long frame (unit_code, period, indicator_id, se) in the preparer's row
    and column order; None when the frame has no standard errors at all. Ranges: a percentage is a proportion of
    [0, 100]; other indicators are bounded below by 0 when none of their values is negative (counts, rates,
    ratios), else unbounded."""
    if se_column not in data.columns:
        return None
    d = data.filter(pl.col("period").cast(pl.String) == period)
    row = {u: i for i, u in enumerate(units)}
    col = {c: j for j, c in enumerate(framework.indicators)}
    se = np.full((len(units), len(framework.indicators)), np.nan)
    for u, c, e in d.select(pl.col("unit_code").cast(pl.String), pl.col("indicator_id").cast(pl.String),
                            pl.col(se_column).cast(pl.Float64)).iter_rows():
        if u in row and c in col and e is not None:
            se[row[u], col[c]] = e
    if not np.isfinite(se).any():
        return None
    neg = set(data.filter(pl.col("value") < 0)["indicator_id"].cast(pl.String).unique().to_list())
    units_of = [framework.node(c).unit or "" for c in framework.indicators]
    prop = np.array([u in PROPORTION_UNITS for u in units_of])
    lower = np.array([0.0 if (p or c not in neg) else np.nan for c, p in zip(framework.indicators, prop, strict=True)])
    upper = np.array([PROPORTION_UNITS.get(u, np.nan) for u in units_of])
    return DataUncertainty(se, lower, upper, prop)


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
