"""The declarative model specification: which method (and parameters) each pipeline step uses, validated strictly."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indicators.aggregate import AGGREGATORS
from indicators.impute import IMPUTERS
from indicators.normalise import NORMALISERS
from indicators.periods import period_months
from indicators.registry import MethodError, Registry
from indicators.reliability import DEFAULT_THRESHOLD as DEFAULT_RELIABILITY
from indicators.treat import TREATMENTS


class MethodSpec(BaseModel):
    """A method chosen by name from a step's registry, with its parameters (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


#: a weight profile's default availability threshold: a node needs two thirds of its children, else it is missing
PROFILE_AVAILABILITY = 2.0 / 3.0


def _m(name: str, **params: Any) -> MethodSpec:
    return MethodSpec(name=name, params=params)


#: the default band thresholds: absolute scores on the 0–100 scale, in the style of the national capability
#: evaluation (省级政府和重点城市一体化政务服务能力评估: 非常高 ≥ 90, 高 80–90, below that by year)
ABSOLUTE_CUTS = (90.0, 80.0, 60.0)
ABSOLUTE_LABELS_ZH = ("优秀", "良好", "一般", "较差")
ABSOLUTE_LABELS_EN = ("excellent", "good", "fair", "poor")
ABSOLUTE_SOURCE = (
    "绝对分档，仿全国一体化政务服务能力评估（非常高 ≥ 90、高 80–90）：优秀 ≥ 90、良好 80–90、一般 60–80、较差 < 60"
)
QUANTILE_CUTS = (0.75, 0.5, 0.25)
QUANTILE_LABELS_ZH = ("领先", "良好", "一般", "待提升")
QUANTILE_LABELS_EN = ("leading", "good", "fair", "needs improvement")
QUANTILE_SOURCE = "本期各区得分的四分位数（相对分档：每期总有四分之一的区落在最末档）"
BAND_METHODS = ("absolute", "quantile")


class BandSpec(BaseModel):
    """How band labels are given. 'absolute' (the default): cut-points are scores on the 0–100 scale, 优秀 ≥ 90 /
    良好 80–90 / 一般 60–80 / 较差 < 60, so a district's band depends on its own score, not on the others';
    'quantile' (by name): cut-points are score quantiles within each period and node (0.75 / 0.5 / 0.25 → 领先 /
    良好 / 一般 / 待提升), so a quarter of the districts is always in the last band. A score at or above the first
    cut gets the first label, and so on; below the last, the last. `source` says where the thresholds come from.
    ('fixed' is read as 'absolute'.)"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "absolute"
    cuts: tuple[float, ...] = ABSOLUTE_CUTS
    labels_zh: tuple[str, ...] = ABSOLUTE_LABELS_ZH
    labels_en: tuple[str, ...] = ABSOLUTE_LABELS_EN
    source: str = ABSOLUTE_SOURCE

    @model_validator(mode="before")
    @classmethod
    def _defaults_by_method(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("method") == "fixed":
            data["method"] = "absolute"
        if data.get("method") == "quantile":  # the quantile defaults, unless given
            data.setdefault("cuts", QUANTILE_CUTS)
            data.setdefault("labels_zh", QUANTILE_LABELS_ZH)
            data.setdefault("labels_en", QUANTILE_LABELS_EN)
            data.setdefault("source", QUANTILE_SOURCE)
        return data

    @model_validator(mode="after")
    def _check(self) -> BandSpec:
        if self.method not in BAND_METHODS:
            raise ValueError(f"band method must be one of {', '.join(BAND_METHODS)}, got {self.method!r}")
        if list(self.cuts) != sorted(self.cuts, reverse=True):
            raise ValueError(f"band cuts must be in decreasing order, got {list(self.cuts)}")
        if self.method == "quantile" and not all(0 <= c <= 1 for c in self.cuts):
            raise ValueError(f"quantile band cuts must be within [0, 1], got {list(self.cuts)}")
        if not len(self.labels_zh) == len(self.labels_en) == len(self.cuts) + 1:
            raise ValueError("bands need one more label (zh and en) than cut-points")
        return self


PERIOD_LABEL = re.compile(r"^\d{4}(?:Q[1-4]|-(?:0[1-9]|1[0-2]))?$")


def _check_method(registry: Registry, spec: MethodSpec, where: str) -> None:
    try:
        registry.resolve(spec.name, spec.params)
    except MethodError as e:
        raise ValueError(f"{where}: {e}") from None


class ModelSpec(BaseModel):
    """Every method choice of a scoring run. Per-node and per-indicator overrides are keyed by framework code;
    codes are checked against a framework by `validate_for(framework)` (the model calls it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    imputation: MethodSpec = _m("none")
    treatment: MethodSpec = _m("none")
    #: per-indicator treatment: another method, or {"name": "none"} to exclude an indicator from treatment
    treatment_overrides: dict[str, MethodSpec] = Field(default_factory=dict)
    #: treat each indicator over the pooled panel (one decision for all periods, so trends stay comparable) or
    #: separately per period (COINr's behaviour on a single coin)
    treat_by: str = "panel"
    normalisation: MethodSpec = _m("minmax", l=0.0, u=100.0)
    normalisation_overrides: dict[str, MethodSpec] = Field(default_factory=dict)
    #: what normalisation (and pooled treatment) is fitted on, then applied to every period: "panel" = every
    #: complete period of the data; "reference" = the complete periods inside `reference` (a declared window, fitted
    #: once: periods added later do not move the bounds); or one period label. Partial periods are never fitted on.
    fit_on: str = "panel"
    #: the reference window (first, last period label, inclusive) when fit_on = "reference", e.g. ("2025Q1", "2025Q4")
    reference: tuple[str, str] | None = None
    aggregation: MethodSpec = _m("amean")
    aggregation_overrides: dict[str, MethodSpec] = Field(default_factory=dict)
    #: empirical-Bayes shrinkage of each value toward its period's city value by its own sampling error
    #: (indicators.reliability.shrink; needs the values' standard errors): "none" or "empirical_bayes"
    shrinkage: Literal["none", "empirical_bayes"] = "none"
    #: indicators whose reliability (signal share of between-unit variance) is below this are flagged
    reliability_threshold: float = Field(default=DEFAULT_RELIABILITY, ge=0.0, le=1.0)
    #: minimum share of a node's children that must be present (0 → any non-NaN child is enough; the engine's
    #: default, as COINr's; weight profiles default to PROFILE_AVAILABILITY)
    availability: float = 0.0
    #: which nodes `availability` applies to: "all" aggregates (COINr), or "dimensions": the nodes whose children are
    #: indicators ("two thirds of their indicators"); nodes above them then aggregate the dimensions present, and
    #: every such score shows "k of n indicators". availability_overrides apply either way.
    availability_nodes: Literal["all", "dimensions"] = "all"
    availability_overrides: dict[str, float] = Field(default_factory=dict)
    #: relative weights within the parent, overriding the framework's
    weights: dict[str, float] = Field(default_factory=dict)
    bands: BandSpec = BandSpec()

    @field_validator("treat_by")
    @classmethod
    def _treat_by(cls, v: str) -> str:
        if v not in ("panel", "period"):
            raise ValueError(f"treat_by must be 'panel' or 'period', got {v!r}")
        return v

    @model_validator(mode="after")
    def _reference(self) -> ModelSpec:
        if self.fit_on == "reference":
            if self.reference is None:
                raise ValueError('fit_on = "reference" needs reference = [first, last], e.g. ["2025Q1", "2025Q4"]')
            for label in self.reference:
                if not PERIOD_LABEL.match(label):
                    raise ValueError(f"reference period {label!r} is not a period label (YYYY, YYYYQn or YYYY-MM)")
            if period_months(self.reference[0])[0] > period_months(self.reference[1])[-1]:
                raise ValueError(f"reference window {self.reference[0]}–{self.reference[1]} ends before it starts")
        elif self.reference is not None:
            raise ValueError('reference is only used with fit_on = "reference"')
        return self

    @field_validator("availability")
    @classmethod
    def _avail(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError(f"availability must be within [0, 1], got {v}")
        return v

    @model_validator(mode="after")
    def _methods(self) -> ModelSpec:
        _check_method(IMPUTERS, self.imputation, "imputation")
        _check_method(TREATMENTS, self.treatment, "treatment")
        for code, s in self.treatment_overrides.items():
            _check_method(TREATMENTS, s, f"treatment_overrides[{code!r}]")
        _check_method(NORMALISERS, self.normalisation, "normalisation")
        for code, s in self.normalisation_overrides.items():
            _check_method(NORMALISERS, s, f"normalisation_overrides[{code!r}]")
        _check_method(AGGREGATORS, self.aggregation, "aggregation")
        for code, s in self.aggregation_overrides.items():
            _check_method(AGGREGATORS, s, f"aggregation_overrides[{code!r}]")
        for code, v in self.availability_overrides.items():
            if not 0 <= v <= 1:
                raise ValueError(f"availability_overrides[{code!r}] must be within [0, 1], got {v}")
        for code, v in self.weights.items():
            if not v >= 0:
                raise ValueError(f"weights[{code!r}] must be a non-negative number, got {v}")
        return self

    def validate_for(self, framework: Any) -> None:
        """Check every code used in overrides exists in the framework and has the right kind (indicator/aggregate)."""
        indicators = set(framework.indicators)
        aggregates = set(framework.aggregates)
        checks: list[tuple[str, dict[str, Any], set[str], str]] = [
            ("treatment_overrides", dict(self.treatment_overrides), indicators, "indicator"),
            ("normalisation_overrides", dict(self.normalisation_overrides), indicators, "indicator"),
            ("aggregation_overrides", dict(self.aggregation_overrides), aggregates, "aggregate node"),
            ("availability_overrides", dict(self.availability_overrides), aggregates, "aggregate node"),
            ("weights", dict(self.weights), indicators | aggregates, "node"),
        ]
        for field, mapping, allowed, kind in checks:
            bad = sorted(set(mapping) - allowed)
            if bad:
                raise ValueError(f"{field}: {', '.join(map(repr, bad))} is not a{'n' if kind[0] in 'ai' else ''} "
                                 f"{kind} of the framework")
        if self.fit_on != "panel" and not isinstance(self.fit_on, str):
            raise ValueError("fit_on must be 'panel' or a period label")

    def node_availability(self, framework: Any) -> dict[str, float]:
        """Each aggregate node's availability threshold: its override, else `availability` where it applies (every
        aggregate, or with availability_nodes = "dimensions" only the nodes whose children are all indicators), else
        0. The one resolution the scoring engine and the Monte Carlo engine both use."""
        out = {}
        for code in framework.aggregates:
            applies = self.availability_nodes == "all" or all(
                framework.node(k).is_indicator for k in framework.children(code))
            out[code] = float(self.availability_overrides.get(code, self.availability if applies else 0.0))
        return out

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) — what a scoring run stores next to its results."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
