"""Weight profiles: named, versioned, validated weights per node, the supply/demand blend and the method choices."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from indicators.framework import Framework, FrameworkError

from indicators.spec import PROFILE_AVAILABILITY, ModelSpec  # the profile's [methods] table is one

SUPPLY, DEMAND = "supply", "demand"  # the two nodes a blend sets
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
DERIVATION_METHODS = ("manual", "equal", "ahp", "budget", "entropy", "critic", "pca")
_BLEND_TOL = 1e-6

DerivationMethod = Literal["manual", "equal", "ahp", "budget", "entropy", "critic", "pca"]


class ProfileError(ValueError):
    """A weight profile is malformed or does not fit the framework; the message names the file, key or node."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileNote(BaseModel):
    """Something a profile says that the framework no longer takes, reported instead of refused so older saved
    profiles and editions still load: a weight on a context indicator (kept at 0) or a code of a retired indicator
    (dropped). `reason` is the catalog's why (English; retired) or empty (context)."""

    model_config = ConfigDict(frozen=True)

    code: str
    kind: Literal["context", "retired"]
    where: str  # "weights" or the [methods] key naming it
    reason: str = ""

    def text(self) -> str:
        if self.kind == "context":
            return (f"{self.code}: a context indicator (shown, never weighted); the profile's weight for it is "
                    "not used")
        return f"{self.code}: retired from the catalog ({self.reason}); the profile's {self.where} entry is dropped"


_CODE_KEYED = ("treatment_overrides", "normalisation_overrides", "aggregation_overrides", "availability_overrides")


class Rationale(_Strict):
    """Why these weights: Chinese and/or English text (at least one)."""

    zh: str = ""
    en: str = ""

    @model_validator(mode="after")
    def _one_language(self) -> Rationale:
        if not self.zh.strip() and not self.en.strip():
            raise ValueError("give the rationale in Chinese (zh) and/or English (en)")
        return self


class Blend(_Strict):
    """Shares of the supply side and the demand side in the index; they must sum to 1."""

    supply: float = Field(ge=0, le=1)
    demand: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> Blend:
        if not (math.isfinite(self.supply) and math.isfinite(self.demand)):
            raise ValueError("blend shares must be finite numbers")
        if abs(self.supply + self.demand - 1.0) > _BLEND_TOL:
            raise ValueError(
                f"blend supply + demand must be 1, got {self.supply} + {self.demand} = {self.supply + self.demand:g}"
            )
        return self


class Derivation(_Strict):
    """How some of the weights were derived, with the inputs kept so the derivation can be re-run and audited."""

    method: DerivationMethod
    node: str | None = None  # the node whose children (or descendant indicators) were weighted; None = free set
    codes: list[str] = Field(default_factory=list)  # the weighted codes, in input order
    weights: dict[str, float] = Field(default_factory=dict)  # the derived weights (sum 1), as produced
    inputs: dict[str, Any] = Field(default_factory=dict)  # e.g. {"matrix": [[1, 3], [0.333, 1]]}
    diagnostics: dict[str, Any] = Field(default_factory=dict)  # e.g. {"cr": 0.04, "lambda_max": 3.04}


class WeightProfile(_Strict):
    """A named weight profile. Nodes it omits weigh per `omitted`: the framework's default or 1 (equal siblings)."""

    name: str = Field(pattern=SLUG_PATTERN, max_length=64)
    version: int = Field(default=1, ge=1)
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    author: str = Field(min_length=1)
    date: dt.date
    rationale: Rationale
    blend: Blend | None = None
    weights: dict[str, float] = Field(default_factory=dict)  # code -> weight relative to its siblings
    # What a node the profile does not list weighs: the framework's (catalog's) default, or "equal": 1 for every
    # node the framework counts (a zero framework weight, e.g. a comparison-only indicator, stays 0).
    omitted: Literal["framework", "equal"] = "framework"
    # Missing data is a stated method: [methods.imputation] names it (none = the node averages what is present),
    # and a dimension is missing, not an average of what is left, when fewer than `availability` of its indicators
    # are present (default two thirds of the indicators of each dimension, where the engine's own default is COINr's
    # 0); the sides and the composite aggregate the dimensions present and show "k of n indicators".
    methods: ModelSpec = Field(default_factory=lambda: ModelSpec(availability=PROFILE_AVAILABILITY,
                                                                 availability_nodes="dimensions"))
    derived_from: list[Derivation] = Field(default_factory=list)  # empty = set by hand ("manual")

    @field_validator("methods", mode="before")
    @classmethod
    def _default_availability(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and "availability" not in v:
            return {"availability_nodes": "dimensions", **v, "availability": PROFILE_AVAILABILITY}
        return v

    @field_validator("weights")
    @classmethod
    def _finite_non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        for code, w in v.items():
            if not math.isfinite(w) or w < 0:
                raise ValueError(f"node {code!r}: weight must be a finite non-negative number, got {w!r}")
        return v

    @model_validator(mode="after")
    def _blend_or_weights(self) -> WeightProfile:
        if self.methods.weights:  # one source of truth for weights: the profile's own [weights] table
            raise ValueError("put weights in [weights], not in [methods.weights]")
        if self.blend is not None:
            both = sorted({SUPPLY, DEMAND} & set(self.weights))
            if both:
                raise ValueError(
                    f"node(s) {', '.join(map(repr, both))} are set both by [blend] and in [weights]; keep one"
                )
        return self

    # -- queries --------------------------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        """manual | the single derivation method used | mixed."""
        methods = {d.method for d in self.derived_from}
        if not methods:
            return "manual"
        return methods.pop() if len(methods) == 1 else "mixed"

    def overrides(self) -> dict[str, float]:
        """The profile's own weights with the blend applied to `supply`/`demand` (no framework defaults)."""
        out = dict(self.weights)
        if self.blend is not None:
            out[SUPPLY], out[DEMAND] = self.blend.supply, self.blend.demand
        return out

    def _base(self, framework: Framework) -> dict[str, float]:
        """Weights of the nodes the profile omits, per `omitted`."""
        defaults = framework.weights()
        if self.omitted == "equal":  # equal among the nodes the framework counts; its zero weights stay excluded
            return {c: (1.0 if w > 0 else 0.0) for c, w in defaults.items()}
        return defaults

    def notes(self, framework: Framework) -> list[ProfileNote]:
        """What this profile names that `framework` no longer takes: weights on context indicators (kept at 0) and
        codes of retired indicators in [weights] or [methods] (dropped). Empty for a profile that fits."""
        out: list[ProfileNote] = []
        for code, w in self.weights.items():
            if code in framework and framework.is_context(code) and w != 0:
                out.append(ProfileNote(code=code, kind="context", where="weights"))
            elif code not in framework and code in framework.retired:
                out.append(ProfileNote(code=code, kind="retired", where="weights", reason=framework.retired[code]))
        for key in _CODE_KEYED:
            for code in getattr(self.methods, key):
                if code not in framework and code in framework.retired:
                    out.append(ProfileNote(code=code, kind="retired", where=f"methods.{key}",
                                           reason=framework.retired[code]))
        return out

    def _own(self, framework: Framework) -> dict[str, float]:
        """overrides() without the codes of retired indicators (reported by notes())."""
        return {c: w for c, w in self.overrides().items() if not (c not in framework and c in framework.retired)}

    def methods_for(self, framework: Framework) -> ModelSpec:
        """[methods] without the codes of retired indicators (reported by notes())."""
        drop = {key: {c: v for c, v in getattr(self.methods, key).items()
                      if not (c not in framework and c in framework.retired)} for key in _CODE_KEYED}
        return self.methods.model_copy(update=drop)

    def missing_nodes(self, framework: Framework) -> tuple[str, ...]:
        """Non-root nodes the profile does not set: they weigh per `omitted` (framework default or 1)."""
        own = self._own(framework)
        return tuple(c for c in framework.codes if c != framework.root and c not in own
                     and not framework.node(c).role == "context")

    def validate_against(self, framework: Framework, *, complete: bool = False) -> None:
        """Raise ProfileError naming the node if this profile does not fit `framework`.

        Omitted nodes are allowed (they weigh per `omitted`), unless `complete=True`.
        """
        where = f"profile {self.name!r}"
        unknown = [c for c in self.weights if c not in framework and c not in framework.retired]
        if unknown:
            hints = []
            for c in unknown:
                close = difflib.get_close_matches(c, framework.codes, n=1)
                hints.append(f"{c!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ProfileError(f"{where}: [weights] names node(s) not in the framework: {', '.join(hints)}")
        if framework.root in self.weights:
            raise ProfileError(f"{where}: node {framework.root!r} is the root of the framework; it takes no weight")
        if self.blend is not None:
            missing = [c for c in (SUPPLY, DEMAND) if c not in framework]
            if missing:
                raise ProfileError(
                    f"{where}: [blend] needs nodes 'supply' and 'demand', but the framework has no "
                    f"{' or '.join(map(repr, missing))}; set the top-level weights in [weights] instead"
                )
            ps, pd_ = framework.node(SUPPLY).parent, framework.node(DEMAND).parent
            if ps is None or ps != pd_:
                raise ProfileError(f"{where}: [blend] needs 'supply' and 'demand' to be siblings under one parent")
        merged = self._base(framework)
        merged.update({c: (0.0 if framework.is_context(c) else w) for c, w in self._own(framework).items()})
        for parent in framework.aggregates:
            kids = framework.children(parent)
            if sum(merged[k] for k in kids) <= 0:
                raise ProfileError(
                    f"{where}: the weights of the children of node {parent!r} ({', '.join(kids)}) are all zero"
                )
        try:
            self.methods_for(framework).validate_for(framework)
        except ValueError as e:
            raise ProfileError(f"{where}: [methods] {e}") from None
        if complete:
            missing_nodes = self.missing_nodes(framework)
            if missing_nodes:
                raise ProfileError(f"{where}: no weight for node(s) {', '.join(missing_nodes)}")

    def resolved_weights(self, framework: Framework) -> dict[str, float]:
        """Every non-root node's weight as a share of its siblings (each sibling group sums to 1).

        Precedence: omitted nodes (framework default, or 1 when omitted = "equal") <- [weights] <- [blend].
        Normalising within the parent makes the result invariant to rescaling a node's children by one factor.
        """
        self.validate_against(framework)
        try:
            raw = framework.weights({**self._base(framework), **self._own(framework)})
        except FrameworkError as e:  # pragma: no cover - validate_against catches these first
            raise ProfileError(f"profile {self.name!r}: {e}") from None
        out: dict[str, float] = {}
        for parent in framework.aggregates:
            kids = framework.children(parent)
            total = sum(raw[k] for k in kids)
            for k in kids:
                out[k] = raw[k] / total
        return {c: out[c] for c in framework.codes if c in out}  # framework order

    def effective_weights(self, framework: Framework) -> dict[str, float]:
        """Each indicator's nominal share of the root (path product of resolved weights)."""
        eff = framework.effective_weights(self.resolved_weights(framework))
        return dict(zip(framework.indicators, (float(x) for x in eff), strict=True))

    def model_spec(self, framework: Framework) -> ModelSpec:
        """The scoring engine's specification: this profile's methods with its resolved weights filled in."""
        return self.methods_for(framework).model_copy(update={"weights": self.resolved_weights(framework)})

    # -- changes ----------------------------------------------------------------------------------------------------
    def with_weights(self, updates: Mapping[str, float], derivation: Derivation | None = None) -> WeightProfile:
        """A copy with `updates` merged into [weights] (into [blend] for supply/demand when the profile blends)."""
        weights = dict(self.weights)
        blend = self.blend
        upd = dict(updates)
        if blend is not None and ({SUPPLY, DEMAND} & set(upd)):
            if not {SUPPLY, DEMAND} <= set(upd):
                raise ProfileError(
                    f"profile {self.name!r} blends supply and demand: update both 'supply' and 'demand' or neither"
                )
            s, d = float(upd.pop(SUPPLY)), float(upd.pop(DEMAND))
            if s + d <= 0:
                raise ProfileError(f"profile {self.name!r}: supply and demand weights are both zero")
            blend = Blend(supply=s / (s + d), demand=d / (s + d))
        weights.update({k: float(v) for k, v in upd.items()})
        derived = [*self.derived_from, derivation] if derivation is not None else list(self.derived_from)
        return WeightProfile.from_dict(
            {**self.to_dict(), "weights": weights, "blend": blend.model_dump() if blend else None,
             "derived_from": [d.model_dump(exclude_none=True) for d in derived]},
            source=f"profile {self.name!r}",
        )

    # -- (de)serialisation ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data (dates stay datetime.date; None and empty tables dropped): what the TOML file holds."""
        data = self.model_dump(mode="python", exclude_none=True)
        data["methods"].pop("weights", None)  # always empty here: the profile's own [weights] is the source
        return _prune(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> WeightProfile:
        """Parse strictly; a problem raises ProfileError naming the source, the key and the allowed values."""
        if not isinstance(data, Mapping):
            raise ProfileError(f"{source or 'profile'}: expected a table of keys, got {type(data).__name__}")
        clean = {k: v for k, v in data.items() if v is not None}
        try:
            return cls.model_validate(clean)
        except ValidationError as e:
            raise ProfileError(_explain(e, source or f"profile {data.get('name', '?')!r}")) from None

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str, source: str | None = None) -> WeightProfile:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ProfileError(f"{source or 'profile'}: not valid TOML: {e}") from None
        return cls.from_dict(data, source=source)

    def content_hash(self) -> str:
        """sha256 of the canonical content, ignoring `version` (re-saving identical content is detectable)."""
        data = self.to_dict()
        data.pop("version", None)
        return _sha256(data)

    def scoring_hash(self) -> str:
        """sha256 of only what changes numbers: weights, blend and methods (not author, rationale, dates)."""
        data = self.to_dict()
        return _sha256({k: data.get(k) for k in ("weights", "blend", "methods")})


def _prune(value: Any) -> Any:
    """Drop empty tables and lists (TOML has no null; an empty table means the default anyway)."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and not (isinstance(v, dict | list) and not v)}
    if isinstance(value, list | tuple):
        return [_prune(v) for v in value]
    return value


def _sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The field names allowed at `loc` (the parent of an unexpected key), walking nested models."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(cur, "model_fields", None)
        if not fields or part not in fields:
            return None
        ann = fields[part].annotation
        nxt = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            for c in (cand, *getattr(cand, "__args__", ())):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    nxt = c
        if nxt is None:
            return None
        cur = nxt
    fields = getattr(cur, "model_fields", None)
    return list(fields) if fields else None


def _explain(e: ValidationError, source: str) -> str:
    lines = []
    for err in e.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(WeightProfile, loc[:-1])
            msg = "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")  # literal errors already list the allowed values
        lines.append(f"{key}: {msg}")
    return f"{source}: " + "; ".join(lines)
