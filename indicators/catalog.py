"""The indicator catalog as strict models: the framework tree above the indicators and every indicator's definition.

Pure: it validates dicts (parsed from indicators/catalog/*.toml by etl.contract.catalog) and builds the scoring Framework.
The SQL of each formula is kept as text here; etl.warehouse.indicator_values expands its placeholders and runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from indicators.framework import Framework, FrameworkError, Node

SIDES = ("supply", "demand")
DIMENSIONS = ("value", "institution", "technology", "environment")
GRAINS = ("month", "quarter", "year")
# Placeholders the runner expands in formula SQL (see indicators/catalog/README.md).
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?:\((.+?)\))?\}")
KNOWN_PLACEHOLDERS = ("period", "grain", "data_end", "param")

#: How each formula's 95% interval and standard error are computed (indicators/catalog/README.md, "Intervals"):
INTERVAL_METHODS: dict[str, str] = {
    "wilson": "binomial proportion k of n: Wilson score interval",
    "poisson": "count of events per exposure: Poisson interval (Byar's approximation to the exact one)",
    "design": "weighted survey mean or share: linearised design-based SE, Kish effective n",
    "agresti_caffo": "difference of two proportions: Agresti–Caffo adjusted interval",
    "exact": "median: distribution-free order-statistic interval",
    "delta": "ratio of sums over units (or a mean of a per-unit score): delta-method SE of the ratio estimator",
    "none": "census of a register or roster, not a sample: no sampling error",
}

FRAMEWORK_FILE = "framework.toml"
INDICATORS_FILE = "indicators.toml"
RETIRED_FILE = "retired.toml"


class CatalogError(ValueError):
    """The catalog is malformed; the message names the file, the entry and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Goalposts(_Strict):
    """Fixed normalisation bounds in the indicator's unit; `direction` decides which end is good."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Goalposts:
        if not self.low < self.high:
            raise ValueError(f"goalposts must satisfy low < high, got low={self.low}, high={self.high}")
        return self


#: the kinds of goalpost source, the first word of `goalposts_source` ("standard: GB/T 39734-2020 …")
GOALPOST_SOURCES = {
    "standard": "a national or local standard",
    "target": "a published target",
    "scale": "the measure's own ends (e.g. 100% = every item)",
    "observed": "the observed range over a declared reference window of complete periods",
}
_GOALPOST_SOURCE = re.compile(r"^(?P<kind>[a-z]+):\s*\S")
_WINDOW = re.compile(r"observed range over reference window \d{4}(?:Q[1-4]|-\d{2})?(?:\s*[–-]\s*\d{4}(?:Q[1-4]|-\d{2})?)?")


def check_goalposts_source(text: str) -> str:
    """`kind: details`, kind one of GOALPOST_SOURCES; an observed range must name its reference window."""
    m = _GOALPOST_SOURCE.match(text.strip())
    if m is None or m.group("kind") not in GOALPOST_SOURCES:
        raise ValueError(
            "goalposts_source must start with its kind — " + ", ".join(f"'{k}:' ({v})" for k, v in GOALPOST_SOURCES.items())
        )
    if ("observed" in text) and _WINDOW.search(text) is None:
        raise ValueError("a goalposts_source that uses an observed range must name its window: "
                         "'observed range over reference window 2025Q1–2025Q4'")
    return text.strip()


def _sum_arg(expr: str) -> str | None:
    """The argument of a bare `sum(<arg>)` (its parentheses balanced, nothing after it), else None."""
    m = re.fullmatch(r"\s*sum\((.*)\)\s*", expr, re.IGNORECASE | re.DOTALL)
    if m is None:
        return None
    depth = 0
    for ch in m.group(1):
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return None  # `sum(a) + sum(b)`: the first ')' closes sum before the end
    return m.group(1) if depth == 0 else None


class SqlDef(_Strict):
    """A formula: either the rate form (from/where/unit/period + numerator/denominator expressions) or a query."""

    query: str | None = None
    from_: str | None = Field(default=None, alias="from")
    where: str | None = None
    unit: str = "district_code"
    period: str | None = None
    numerator: str | None = None
    denominator: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SqlDef:
        rate_keys = {"from": self.from_, "period": self.period, "numerator": self.numerator, "denominator": self.denominator}
        if self.query is not None:
            given = [k for k, v in rate_keys.items() if v is not None] + (["where"] if self.where else [])
            if given:
                raise ValueError(f"give either 'query' or the rate form, not both (also given: {', '.join(given)})")
            if not self.query.strip():
                raise ValueError("'query' is empty")
            return self
        missing = [k for k, v in rate_keys.items() if v is None or not str(v).strip()]
        if missing:
            raise ValueError(
                "the rate form needs 'from', 'period', 'numerator' and 'denominator' "
                f"(missing: {', '.join(missing)}); or give a full 'query'"
            )
        return self

    @property
    def is_query(self) -> bool:
        return self.query is not None

    def ratio_terms(self) -> tuple[str, str] | None:
        """(y, x): the per-row expressions of a rate form `sum(y) / sum(x)` (x = '1' for count(*)), or None."""
        if self.is_query or self.numerator is None or self.denominator is None:
            return None
        y = _sum_arg(self.numerator)
        x = "1" if re.fullmatch(r"\s*count\(\s*\*\s*\)\s*", self.denominator, re.IGNORECASE) else _sum_arg(self.denominator)
        return None if y is None or x is None else (y, x)

    def texts(self) -> Iterator[str]:
        for t in (self.query, self.from_, self.where, self.unit, self.period, self.numerator, self.denominator):
            if t:
                yield t


class IndicatorDef(_Strict):
    """One indicator: identity, bilingual names, unit, direction, place in the tree, goalposts and formula."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    description_zh: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    direction: Literal[1, -1]
    side: Literal["supply", "demand"]
    dimension: Literal["value", "institution", "technology", "environment"]
    weight: float = Field(default=1.0, ge=0)
    #: "scored" (default) or "context": computed, stored and shown with a note, never weighted, aggregated, sampled
    #: by the Monte Carlo or ranked (README, "Roles and retired indicators"); a context indicator states why
    role: Literal["scored", "context"] = "scored"
    #: why an indicator is context, not a target (required with role = "context"), Chinese and English
    context_note_zh: str | None = None
    context_note_en: str | None = None
    goalposts: Goalposts
    #: where the goalposts come from (see GOALPOST_SOURCES): reviewed, so scores hold across years
    goalposts_source: str = Field(min_length=1)
    target: float | None = None
    decimals: int = Field(default=1, ge=0, le=6)
    source: str = Field(min_length=1)
    tables: tuple[str, ...] = Field(min_length=1)
    scale: float = Field(default=1.0, gt=0)
    #: how the 95% interval and SE are computed (INTERVAL_METHODS)
    interval: Literal["wilson", "poisson", "design", "agresti_caffo", "exact", "delta", "none"]
    #: precision rule: a value whose 95% interval half-width (in `unit`) exceeds this is stored as NULL with
    #: missing_reason 'imprecise'; required unless interval = "none" (a census has no sampling error)
    max_half_width: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: the value waits for outcomes (deadlines, ratings, callbacks) known only after the period: a later data end
    #: can still change a period's value (see {data_end}); every other formula uses nothing after its period
    waits_for_outcomes: bool = False
    #: the most days after a period's end at which a later data end, or a row dated that late, can still change the
    #: period's value (README "Indicator keys"); beyond it the period is settled and an incremental refresh keeps it.
    #: The rows of `later_rows` tables are not bound by it: they are looked up by their key.
    #: None: no bound (a formula reading {data_end} is recomputed whole when the data end moves; one waiting for
    #: outcomes in other rows, whenever a table it reads changes)
    outcome_window_days: int | None = Field(default=None, ge=0, le=366)
    #: the tables whose rows can be dated after the period they count in (a rating of a case closed months before, a
    #: follow-up of a bad rating), each as "table.key" when its rows reach the row that makes the period (the table
    #: behind `{period(alias.column)}`) by a key column of the same name in both, or as "table" when no key does
    #: (a change there recomputes the formula whole). An incremental refresh recomputes, for a changed keyed table,
    #: the periods of the rows its changed rows name (README "Indicator keys"); every other table the formula reads
    #: holds nothing dated after the period. Empty: outcomes in later rows are not declared (recomputed whole)
    later_rows: tuple[str, ...] = ()
    #: a query form whose numerator and denominator are sums over records (count(*), sum(x)) and that returns nothing
    #: else (value = scale × numerator / denominator): each record counts in one unit and in the one period of its
    #: `{period(...)}`, so a quarter's or a year's sums are its months' and a parent unit's its children's. The engine
    #: then sums the months instead of running the query at each grain (an incremental refresh reads the new month,
    #: not the year; a test checks the sums equal the query run at quarter and year grain). Rate forms are detected
    #: (etl.warehouse.indicator_values.rolls_up)
    additive: bool = False
    #: named integer parameters of the formula with the catalog's defaults (e.g. callback_working_days = 5); the SQL
    #: reads one as {param(name)}; configuration may override it per run (etl.config, [haochaping])
    params: dict[str, int] = Field(default_factory=dict)
    sql: SqlDef

    @field_validator("name_zh", "name_en", "description_zh", "description_en", "unit", "source")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("goalposts_source")
    @classmethod
    def _goalposts_source(cls, v: str) -> str:
        return check_goalposts_source(v)

    @model_validator(mode="before")
    @classmethod
    def _no_min_denominator(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "min_denominator" in data:
            raise ValueError(
                "'min_denominator' was replaced by the precision rule: give 'max_half_width' (the largest 95% "
                "interval half-width, in the indicator's unit, at which the value is still shown) and 'interval'"
            )
        return data

    @model_validator(mode="after")
    def _later_rows(self) -> IndicatorDef:
        for entry in self.later_rows:
            if not re.fullmatch(r"\w+(?:\.\w+)?", entry):
                raise ValueError(f"later_rows: {entry!r} is not 'table' or 'table.key'")
        if self.later_rows and not self.waits_for_outcomes:
            raise ValueError("later_rows declares outcomes in later rows: set waits_for_outcomes = true")
        return self

    @model_validator(mode="after")
    def _additive(self) -> IndicatorDef:
        if self.additive and not self.sql.is_query:
            raise ValueError("additive applies to a query form (sql.query); a rate form's sums are detected")
        if self.additive and re.search(r"\bperiods\b", self.sql.query or ""):
            raise ValueError("additive: a query over `periods` (a snapshot at each period's end) is not the sum of "
                             "its months; leave additive out")
        return self

    @model_validator(mode="after")
    def _role(self) -> IndicatorDef:
        notes = (self.context_note_zh, self.context_note_en)
        if self.role == "context":
            if "weight" in self.model_fields_set and self.weight != 0:
                raise ValueError(f"role = 'context' takes no weight (it is never aggregated); drop weight = {self.weight}")
            if not all(n and n.strip() for n in notes):
                raise ValueError("role = 'context' needs context_note_zh and context_note_en: why it is shown, "
                                 "not scored")
        elif any(n is not None for n in notes):
            raise ValueError("context_note_zh/context_note_en apply only to role = 'context'")
        return self

    @model_validator(mode="after")
    def _precision_rule(self) -> IndicatorDef:
        if self.interval == "none":
            if self.max_half_width is not None:
                raise ValueError("max_half_width applies to sampled values; interval = 'none' (a census) takes none")
            return self
        if self.max_half_width is None:
            raise ValueError(
                f"interval = {self.interval!r} needs 'max_half_width': the largest 95% interval half-width, in "
                f"{self.unit!r}, at which the value is still shown (default rule: a quarter of the goalposts' "
                "range, see indicators/catalog/README.md)"
            )
        span = self.goalposts.high - self.goalposts.low
        if self.max_half_width > span:
            raise ValueError(
                f"max_half_width = {self.max_half_width} is wider than the goalposts' whole range ({span}): "
                "it would never apply"
            )
        if self.interval == "delta" and not self.sql.is_query and self.sql.ratio_terms() is None:
            raise ValueError(
                "interval = 'delta' on a rate form needs numerator = 'sum(<per-row y>)' and denominator = "
                "'sum(<per-row x>)' or 'count(*)' (the runner sums y², xy and x² beside them); got numerator "
                f"{self.sql.numerator!r}, denominator {self.sql.denominator!r}"
            )
        return self

    @model_validator(mode="after")
    def _placeholders_known(self) -> IndicatorDef:
        for text in self.sql.texts():
            for m in PLACEHOLDER.finditer(text):
                if m.group(1) not in KNOWN_PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {m.group(0)!r} in sql; allowed: {{period(expr)}}, "
                        "{grain}, {data_end}, {param(name)}"
                    )
                if m.group(1) == "param":
                    if m.group(2) not in self.params:
                        raise ValueError(
                            f"placeholder {m.group(0)!r} names no parameter of this indicator; declared params: "
                            f"{', '.join(sorted(self.params)) or 'none'} (add params = {{ {m.group(2)} = <default> }})"
                        )
                    continue
                if m.group(1) != "period" and m.group(2):
                    raise ValueError(f"placeholder {m.group(0)!r} takes no argument; write {{{m.group(1)}}}")
                if m.group(1) == "period" and not m.group(2):
                    raise ValueError("placeholder {period(...)} needs an expression, e.g. {period(started_at)}")
        return self

    @property
    def parent(self) -> str:
        """The dimension node this indicator hangs under, e.g. 'demand_value'."""
        return f"{self.side}_{self.dimension}"


class NodeDef(_Strict):
    """An aggregate node above the indicators (root, sides, dimensions); weight is relative within its parent."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    parent: str | None = None
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    description_zh: str = ""
    description_en: str = ""
    weight: float = Field(default=1.0, ge=0)
    aggregation: str | None = None


class RetiredDef(_Strict):
    """An indicator taken out of the catalog (retired.toml): when, why, and what replaces it, if anything."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    retired_in: str = Field(min_length=1)  # the catalog change that retired it, e.g. "issue 18"
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)
    replaced_by: tuple[str, ...] = ()


class _RetiredFile(_Strict):
    retired: tuple[RetiredDef, ...] = ()


class _FrameworkFile(_Strict):
    version: str = "1"
    node: tuple[NodeDef, ...] = Field(min_length=1)


class _IndicatorsFile(_Strict):
    indicator: tuple[IndicatorDef, ...] = Field(min_length=1)


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _where(loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    """'indicator #3 (id=foo) key sql.form' from a pydantic error location."""
    parts: list[str] = []
    keys: list[str] = []
    i = 0
    if len(loc) >= 2 and loc[0] in ("indicator", "node") and isinstance(loc[1], int):
        entries = data.get(loc[0]) or []
        entry = entries[loc[1]] if loc[1] < len(entries) and isinstance(entries[loc[1]], Mapping) else {}
        ident = entry.get("id", entry.get("code", "?"))
        parts.append(f"[[{loc[0]}]] #{loc[1] + 1} ({'id' if loc[0] == 'indicator' else 'code'}={ident!s})")
        i = 2
    keys = [str(k) for k in loc[i:]]
    if keys:
        parts.append(f"key {'.'.join(keys)!r}")
    return " ".join(parts) or "top level"


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys are allowed at this location (for 'unknown key' messages)."""
    path = [k for k in loc if not isinstance(k, int)]
    table: dict[tuple[str, ...], type[BaseModel]] = {
        (): _IndicatorsFile,
        ("indicator",): IndicatorDef,
        ("indicator", "sql"): SqlDef,
        ("indicator", "goalposts"): Goalposts,
        ("retired",): RetiredDef,
        ("node",): NodeDef,
    }
    return table.get(tuple(path[:-1]))


def _format(error: ValidationError, file: str, data: Mapping[str, Any]) -> str:
    lines = []
    for e in error.errors():
        loc = tuple(e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            model = _model_for(loc)
            allowed = ", ".join(_allowed_keys(model)) if model else "?"
            msg = f"unknown key (typo?); allowed keys: {allowed}"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif not isinstance(e.get("input"), Mapping):
            msg = f"{msg} (got {e.get('input')!r})"
        lines.append(f"{file}: {_where(loc, data)}: {msg}")
    return "\n".join(lines)


class Catalog:
    """The validated catalog: aggregate nodes (root → sides → dimensions) and indicators, in file order."""

    def __init__(self, nodes: tuple[NodeDef, ...], indicators: tuple[IndicatorDef, ...], source: str = "",
                 retired: tuple[RetiredDef, ...] = ()) -> None:
        self.nodes = nodes
        self.indicators = indicators
        self.source = source
        self.retired = retired
        self._by_id = {d.id: d for d in indicators}
        self._nodes_by_code = {n.code: n for n in nodes}

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_dicts(cls, framework: Mapping[str, Any], indicators: Mapping[str, Any], source: str = "",
                   retired: Mapping[str, Any] | None = None) -> Catalog:
        """Validate parsed TOML: `framework` holds [[node]] entries, `indicators` holds [[indicator]] entries,
        `retired` (optional) the [[retired]] entries of retired.toml.

        `source` is the catalog directory (or any label); errors name `<source>/framework.toml` or
        `<source>/indicators.toml`, the entry and the key.
        """
        fw_file = f"{source.rstrip('/')}/{FRAMEWORK_FILE}" if source else FRAMEWORK_FILE
        ind_file = f"{source.rstrip('/')}/{INDICATORS_FILE}" if source else INDICATORS_FILE
        try:
            fw = _FrameworkFile.model_validate(dict(framework))
        except ValidationError as e:
            raise CatalogError(_format(e, fw_file, framework)) from None
        try:
            ind = _IndicatorsFile.model_validate(dict(indicators))
        except ValidationError as e:
            raise CatalogError(_format(e, ind_file, indicators)) from None
        ret_file = f"{source.rstrip('/')}/{RETIRED_FILE}" if source else RETIRED_FILE
        try:
            ret = _RetiredFile.model_validate(dict(retired or {}))
        except ValidationError as e:
            raise CatalogError(_format(e, ret_file, retired or {})) from None
        cat = cls(fw.node, ind.indicator, source, ret.retired)
        live = {d.id for d in ind.indicator}
        seen_retired: set[str] = set()
        for r in ret.retired:
            if r.id in live:
                raise CatalogError(f"{ret_file}: [[retired]] id {r.id!r} is still an indicator in {ind_file}; "
                                   "remove it there or here")
            if r.id in seen_retired:
                raise CatalogError(f"{ret_file}: duplicate [[retired]] id {r.id!r}")
            seen_retired.add(r.id)
            gone = [x for x in r.replaced_by if x not in live]
            if gone:
                raise CatalogError(f"{ret_file}: [[retired]] {r.id!r}: replaced_by names unknown indicator(s) "
                                   f"{', '.join(gone)}")
        cat._check(fw_file, ind_file)
        return cat

    def _check(self, fw_file: str, ind_file: str) -> None:
        seen: set[str] = set()
        for n in self.nodes:
            if n.code in seen:
                raise CatalogError(f"{fw_file}: duplicate node code {n.code!r}")
            seen.add(n.code)
        ids: set[str] = set()
        for i, d in enumerate(self.indicators, start=1):
            if d.id in ids:
                raise CatalogError(f"{ind_file}: [[indicator]] #{i}: duplicate id {d.id!r}")
            if d.id in seen:
                raise CatalogError(f"{ind_file}: [[indicator]] #{i}: id {d.id!r} is also a node code in {fw_file}")
            ids.add(d.id)
            if d.parent not in self._nodes_by_code:
                raise CatalogError(
                    f"{ind_file}: [[indicator]] #{i} (id={d.id}): side/dimension give parent {d.parent!r}, "
                    f"which {fw_file} does not define; defined: {', '.join(self._nodes_by_code)}"
                )
        try:
            self.framework()
        except FrameworkError as e:
            raise CatalogError(f"{fw_file}: {e}") from None

    # -- queries -------------------------------------------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def __iter__(self) -> Iterator[IndicatorDef]:
        return iter(self.indicators)

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self._by_id

    def indicator(self, indicator_id: str) -> IndicatorDef:
        try:
            return self._by_id[indicator_id]
        except KeyError:
            raise CatalogError(f"unknown indicator {indicator_id!r}") from None

    def node(self, code: str) -> NodeDef:
        try:
            return self._nodes_by_code[code]
        except KeyError:
            raise CatalogError(f"unknown node {code!r}") from None

    def retired_reason(self, indicator_id: str) -> RetiredDef | None:
        """The retirement record of an indicator no longer in the catalog, or None."""
        return next((r for r in self.retired if r.id == indicator_id), None)

    def in_dimension(self, side: str, dimension: str) -> tuple[IndicatorDef, ...]:
        return tuple(d for d in self.indicators if d.side == side and d.dimension == dimension)

    def framework(self) -> Framework:
        """The scoring tree: aggregate nodes from framework.toml, then indicators under f'{side}_{dimension}'."""
        nodes = [
            Node(
                code=n.code,
                parent=n.parent,
                weight=n.weight,
                name_zh=n.name_zh,
                name_en=n.name_en,
                aggregation=n.aggregation,
            )
            for n in self.nodes
        ]
        nodes += [
            Node(
                code=d.id,
                parent=d.parent,
                weight=0.0 if d.role == "context" else d.weight,
                direction=d.direction,
                name_zh=d.name_zh,
                name_en=d.name_en,
                is_indicator=True,
                unit=d.unit,
                target=d.target,
                goalposts=(d.goalposts.low, d.goalposts.high),
                role=d.role,
            )
            for d in self.indicators
        ]
        return Framework.from_nodes(nodes, retired={r.id: r.reason_en for r in self.retired})
