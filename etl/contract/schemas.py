"""One pandera (polars backend) schema per raw table, built from the contract in etl.contract.tables, and row failures.

Column checks come from the contract (dtype, nullable, allowed values, min/max, pattern, unique primary key) plus
"no event after the load time" for every date/datetime column except deadlines (`*due_at`). The cross-column rules
written in words in each Table.rules are implemented here as polars expressions (RULES; a test checks every rule has
one). Cross-table references (Column.references) are checked against the warehouse by `reference_failures`, through
a lookup the caller passes in, so this module never touches DuckDB.

`validate` evaluates the schema's checks in one polars pass (`validate_fast`: pandera collects once per check and
column, ~140 collects per chunk, which made it the ingest's largest cost after the load itself); pandera stays the
declared schema, runs when the key's uniqueness is asked for, and is the reference the one-pass checks are tested
against (`validate_pandera`, tests/etl/contract/test_schemas.py). Either gives one failure row per (row, column,
check): _row, column, check, value, detail. `check` is a check name of the message catalogue (etl.ingest.messages:
allowed, min, max, pattern, not_after_load_time, not_nullable, unique_key, reference, or a cross-column rule's
code, all of kind 'rule'); `detail` is the rule's parameter the message shows (the allowed values, the bound with
its unit, the pattern, the load time, the key, the rule text, the referenced column). No message text is written here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandera.polars as pa
import polars as pl

from etl.contract import tables
from etl.ingest.readers import ROW
from etl.warehouse.connection import POLARS_TYPES

FAILURE_SCHEMA = {ROW: pl.Int64, "column": pl.String, "check": pl.String, "value": pl.String, "detail": pl.String}

# A lookup: (referenced table, referenced column, distinct values) -> the values that do NOT exist there.
MissingLookup = Callable[[str, str, pl.Series], pl.Series]


@dataclass(frozen=True)
class Rule:
    """A cross-column rule of a table: a boolean polars expression, true (or null) when the row satisfies it."""

    code: str
    columns: tuple[str, ...]
    expr: pl.Expr


def _ordered(*cols: str) -> pl.Expr:
    """Every present pair of the chain is in order (missing values are skipped)."""
    parts = [
        pl.col(a).is_null() | pl.col(b).is_null() | (pl.col(a) <= pl.col(b))
        for i, a in enumerate(cols)
        for b in cols[i + 1 :]
    ]
    return pl.all_horizontal(parts)


def _iff(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a == b


def _only_on(columns: tuple[str, ...], channels: tuple[str, ...]) -> pl.Expr:
    """The columns are all empty unless the row's channel is one of `channels` (GB/T 39734 sub-dimensions)."""
    return pl.col("channel").is_in(list(channels)) | pl.all_horizontal([pl.col(c).is_null() for c in columns])


RULES: dict[str, dict[str, Rule]] = {
    "district": {
        "pop_60plus <= population": Rule(
            "pop60_le_population", ("pop_60plus", "population"), pl.col("pop_60plus") <= pl.col("population")
        ),
        "parent_code differs from district_code": Rule(
            "parent_not_self", ("district_code", "parent_code"), pl.col("parent_code") != pl.col("district_code")
        ),
    },
    "service_item": {
        "promised_limit_days <= legal_limit_days": Rule(
            "promised_le_legal_limit",
            ("promised_limit_days", "legal_limit_days"),
            pl.col("promised_limit_days") <= pl.col("legal_limit_days"),
        ),
        "guide_elements_present <= guide_elements_required": Rule(
            "guide_present_le_required",
            ("guide_elements_present", "guide_elements_required"),
            pl.col("guide_elements_present") <= pl.col("guide_elements_required"),
        ),
        "onboarded_on is empty exactly when onboarded is false": Rule(
            "onboarded_on_iff_onboarded",
            ("onboarded", "onboarded_on"),
            _iff(pl.col("onboarded_on").is_null(), pl.col("onboarded").not_()),
        ),
    },
    "case": {
        "started_at <= submitted_at <= accepted_at <= closed_at where present": Rule(
            "timestamps_in_order",
            ("started_at", "submitted_at", "accepted_at", "closed_at"),
            _ordered("started_at", "submitted_at", "accepted_at", "closed_at"),
        ),
        "status 'abandoned' exactly when submitted_at is empty": Rule(
            "abandoned_iff_not_submitted",
            ("status", "submitted_at"),
            _iff(pl.col("status") == "abandoned", pl.col("submitted_at").is_null()),
        ),
        "status 'closed' requires closed_at": Rule(
            "closed_requires_closed_at",
            ("status", "closed_at"),
            (pl.col("status") != "closed") | pl.col("closed_at").is_not_null(),
        ),
        "materials_via_elicence_n <= materials_via_sharing_n": Rule(
            "elicence_le_sharing",
            ("materials_via_elicence_n", "materials_via_sharing_n"),
            pl.col("materials_via_elicence_n") <= pl.col("materials_via_sharing_n"),
        ),
    },
    "rating": {
        "prompt_source is 'none' exactly when prompted is false": Rule(
            "prompt_source_consistent",
            ("prompted", "prompt_source"),
            _iff(pl.col("prompt_source") == "none", pl.col("prompted").not_()),
        ),
        "online sub-dimensions (online_efficiency, guide_accuracy, convenience, usability) only on channels pc, app": Rule(
            "online_subdimensions_online_only",
            ("channel", *tables.ONLINE_SUBDIMENSIONS),
            _only_on(tables.ONLINE_SUBDIMENSIONS, tables.RATING_ONLINE_CHANNELS),
        ),
        "offline sub-dimensions (service_efficiency, service_quality, service_attitude) only on channels window, "
        "kiosk, pad": Rule(
            "offline_subdimensions_offline_only",
            ("channel", *tables.OFFLINE_SUBDIMENSIONS),
            _only_on(tables.OFFLINE_SUBDIMENSIONS, tables.RATING_OFFLINE_CHANNELS),
        ),
        "invite_channel is empty exactly when invited_at is empty": Rule(
            "invite_channel_iff_invited_at",
            ("invited_at", "invite_channel"),
            _iff(pl.col("invite_channel").is_null(), pl.col("invited_at").is_null()),
        ),
    },
    "hotline_ticket": {
        "created_at <= closed_at": Rule("created_le_closed", ("created_at", "closed_at"), _ordered("created_at", "closed_at")),
        "created_at <= first_response_at <= closed_at where present": Rule(
            "first_response_in_order",
            ("created_at", "first_response_at", "closed_at"),
            # only the pairs with first_response_at: created_at <= closed_at is its own rule (one failure, not two)
            _ordered("created_at", "first_response_at") & _ordered("first_response_at", "closed_at"),
        ),
    },
    "queue_ticket": {
        "issued_at <= called_at <= finished_at where present": Rule(
            "queue_times_in_order",
            ("issued_at", "called_at", "finished_at"),
            _ordered("issued_at", "called_at", "finished_at"),
        ),
        "finished_at requires called_at": Rule(
            "finished_requires_called",
            ("called_at", "finished_at"),
            pl.col("finished_at").is_null() | pl.col("called_at").is_not_null(),
        ),
        "abandoned exactly when finished_at is empty": Rule(
            "abandoned_iff_not_finished",
            ("abandoned", "finished_at"),
            _iff(pl.col("abandoned"), pl.col("finished_at").is_null()),
        ),
    },
    "survey_response": {
        "reason_for_use is empty exactly when uses_platform is false": Rule(
            "reason_iff_user",
            ("uses_platform", "reason_for_use"),
            _iff(pl.col("reason_for_use").is_null(), pl.col("uses_platform").not_()),
        ),
    },
}


def is_deadline(column: str) -> bool:
    """Deadlines (promised_due_at, due_at) may lie after the load time; events may not."""
    return column.endswith("due_at")


def _fmt_allowed(values: tuple[object, ...]) -> str:
    return ", ".join(str(v) for v in values)


def _column(
    col: tables.Column, load_time: dt.datetime | None, unique: bool
) -> tuple[pa.Column, list[tuple[str, str | None]], list[pl.Expr]]:
    """The pandera Column of a contract column, (check name, detail for its message) per check, and per check the
    same test as a polars expression (true or null where the value passes), all in check order."""
    checks: list[pa.Check] = []
    meta: list[tuple[str, str | None]] = []
    ok: list[pl.Expr] = []
    c = pl.col(col.name)
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed)))
        meta.append(("allowed", _fmt_allowed(col.allowed)))
        ok.append(c.is_in(list(col.allowed)))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min))
        meta.append(("min", f"{col.min:g}" + (f" {col.unit}" if col.unit else "")))
        ok.append(c >= col.min)
    if col.max is not None:
        checks.append(pa.Check.le(col.max))
        meta.append(("max", f"{col.max:g}" + (f" {col.unit}" if col.unit else "")))
        ok.append(c <= col.max)
    if col.pattern is not None:
        checks.append(pa.Check.str_matches(col.pattern))
        meta.append(("pattern", col.pattern))
        # pandera's str_matches: a match at the start of the value
        ok.append(c.str.contains(col.pattern if col.pattern.startswith("^") else f"^{col.pattern}"))
    if load_time is not None and col.dtype in ("date", "datetime") and not is_deadline(col.name):
        limit: dt.date | dt.datetime = load_time if col.dtype == "datetime" else load_time.date()
        checks.append(pa.Check.le(limit))
        meta.append(("not_after_load_time", f"{load_time:%Y-%m-%d %H:%M:%S}"))
        ok.append(c <= pl.lit(limit, dtype=POLARS_TYPES[col.dtype]))
    description = col.description + (f" [{col.unit}]" if col.unit else "")
    return (
        pa.Column(
            POLARS_TYPES[col.dtype],
            checks=checks,
            nullable=col.nullable,
            required=not col.nullable,  # an optional column may be absent (read as empty by the ingest)
            unique=unique,
            description=description,
            title=col.name,
        ),
        meta,
        ok,
    )


@dataclass
class TableSchema:
    """A table's pandera schema and, per column, each check's name and message detail (for quarantine reasons)."""

    table: tables.Table
    schema: pa.DataFrameSchema
    column_meta: dict[str, list[tuple[str, str | None]]]
    rules: list[Rule]
    column_ok: dict[str, list[pl.Expr]]  # per column, each check of column_meta as a polars expression
    unique_key: bool = False  # the primary key is checked for uniqueness (pandera then validates; see `validate`)


def build_schema(
    table: tables.Table, *, load_time: dt.datetime | None = None, unique_key: bool = True,
    code_pattern: str | None = None,
) -> TableSchema:
    """The pandera schema of one raw table, from the contract.

    `load_time` adds "not after the load time" checks; `unique_key=False` leaves the primary key to the ingest's
    dedupe rules (identical duplicates skipped, conflicts quarantined or superseding) instead of failing every copy.
    `code_pattern` replaces the GB/T 2260 pattern of unit-code columns (a deployer's own codes, `[units]
    code_pattern`).
    """
    single_key = unique_key and len(table.primary_key) == 1
    cols: dict[str, pa.Column] = {}
    meta: dict[str, list[tuple[str, str | None]]] = {}
    ok: dict[str, list[pl.Expr]] = {}
    for c in table.columns:
        if code_pattern is not None and c.pattern == tables.UNIT_CODE_PATTERN:
            c = replace(c, pattern=code_pattern)
        cols[c.name], meta[c.name], ok[c.name] = _column(c, load_time, single_key and c.name == table.primary_key[0])
    rules = [RULES[table.name][text] for text in table.rules]
    checks = [pa.Check(_rule_check(r), name=r.code) for r in rules]
    schema = pa.DataFrameSchema(
        cols,
        checks=checks,
        unique=list(table.primary_key) if unique_key and len(table.primary_key) > 1 else None,
        strict=False,  # `_row` rides along
        name=table.name,
        title=table.title_zh,
        description=table.description,
    )
    return TableSchema(table, schema, meta, rules, ok, unique_key)


def _rule_check(rule: Rule) -> Callable[[object], pl.LazyFrame]:
    def check(data: object) -> pl.LazyFrame:
        lf: pl.LazyFrame = data.lazyframe  # type: ignore[attr-defined]
        if not set(rule.columns) <= set(lf.collect_schema().names()):  # an optional column absent: nothing to check
            return lf.select(pl.lit(True).alias(rule.code))
        return lf.select(rule.expr.fill_null(True).alias(rule.code))

    return check


SCHEMAS: dict[str, TableSchema] = {name: build_schema(t) for name, t in tables.TABLES.items()}


def _value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def validate(frame: pl.DataFrame, ts: TableSchema) -> pl.DataFrame:
    """Failures of a typed frame (with `_row`) against a table schema: one row per (row, column, check).

    The schema's checks are evaluated in one polars pass (`validate_fast`); pandera runs only when the key's
    uniqueness is asked for (`unique_key=True`, not the ingest's case), and in the tests as the reference the fast
    pass must agree with (tests/etl/contract/test_schemas.py)."""
    if ts.unique_key:
        return validate_pandera(frame, ts)
    return validate_fast(frame, ts)


def _failure_masks(ts: TableSchema) -> list[tuple[str, int, pl.Expr]]:
    """(column or '' for a rule, check number, expression true where the row FAILS), in pandera's order."""
    out: list[tuple[str, int, pl.Expr]] = []
    for col in ts.table.columns:
        if not col.nullable:
            out.append((col.name, -1, pl.col(col.name).is_null()))
        out += [(col.name, i, ~e.fill_null(True)) for i, e in enumerate(ts.column_ok[col.name])]
    out += [("", i, ~r.expr.fill_null(True)) for i, r in enumerate(ts.rules)]
    return out


def validate_fast(frame: pl.DataFrame, ts: TableSchema) -> pl.DataFrame:
    """`validate` without pandera: every check of the schema as one boolean column of ONE select (pandera collects
    once per check and column: ~140 collects per chunk, the ingest's largest cost after the load itself). A chunk
    with no failure (nearly all) costs that one pass; the failing rows alone are then turned into records, with
    the same check names, details and values (the value as polars writes it as text, as pandera reports it)."""
    masks = _failure_masks(ts)
    if frame.height == 0 or not masks:
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    absent = [c for c in ts.table.columns if c.name not in frame.columns]
    if any(not c.nullable for c in absent):  # a required column missing: pandera's schema-level message says so
        return validate_pandera(frame, ts)
    if absent:  # an optional column an older export lacks reads as empty, as pandera (required=False) treats it
        frame = frame.with_columns(pl.lit(None, POLARS_TYPES[c.dtype]).alias(c.name) for c in absent)
    names = [f"_f{i}" for i in range(len(masks))]
    flags = frame.select(pl.col(ROW), *(m.alias(n) for (_, _, m), n in zip(masks, names)))
    bad = flags.filter(pl.any_horizontal(names))
    if bad.height == 0:
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    rows = frame.join(bad.select(ROW), on=ROW, how="semi", maintain_order="left")
    bad = bad.join(rows.select(ROW), on=ROW, how="semi", maintain_order="left")  # same order as `rows`
    parts: list[pl.DataFrame] = []
    for (column, num, _), n in zip(masks, names):
        hit = bad[n]
        if not hit.any():
            continue
        sel = rows.filter(hit)
        if column == "":
            rule = ts.rules[num]
            value = pl.concat_str(
                [pl.lit(f"{c}=") + pl.col(c).map_batches(_as_text, return_dtype=pl.String).fill_null("empty")
                 for c in rule.columns], separator=", ")  # fmt: skip
            part = sel.select(pl.col(ROW), pl.lit(", ".join(rule.columns)).alias("column"),
                              pl.lit(rule.code).alias("check"), value.alias("value"),
                              pl.lit(_rule_text(ts.table, rule)).alias("detail"))  # fmt: skip
        else:
            code, why = ("not_nullable", None) if num < 0 else ts.column_meta[column][num]
            value = pl.lit(None, pl.String) if num < 0 else pl.col(column).cast(pl.String)
            part = sel.select(pl.col(ROW), pl.lit(column).alias("column"), pl.lit(code).alias("check"),
                              value.alias("value"), pl.lit(why, pl.String).alias("detail"))  # fmt: skip
        parts.append(part.cast(FAILURE_SCHEMA))  # type: ignore[arg-type]
    return pl.concat(parts)


def _as_text(s: pl.Series) -> pl.Series:
    """Values as `_value` writes them (date-times to the second, booleans as true/false)."""
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.strftime("%Y-%m-%d %H:%M:%S")
    return s.cast(pl.String)


def validate_pandera(frame: pl.DataFrame, ts: TableSchema) -> pl.DataFrame:
    """`validate` by pandera itself (the declared schema): the reference the fast pass is tested against."""
    try:
        ts.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
    else:
        return pl.DataFrame(schema=FAILURE_SCHEMA)
    rows = frame[ROW]
    out: list[dict[str, object]] = []
    for rec in fc.iter_rows(named=True):
        idx = rec["index"]
        if idx is None:  # schema-level problem (a dtype mismatch of a whole column): a bug upstream of here
            raise TypeError(f"{ts.table.name}: schema failure without a row: {rec}")
        row = int(rows[int(idx)])
        col, check, num = rec["column"], rec["check"], rec["check_number"]
        if rec["schema_context"] == "DataFrameSchema" and check != "multiple_fields_uniqueness":
            rule = ts.rules[int(num)]
            values = {c: _value(frame[c][int(idx)]) for c in rule.columns}
            out.append(
                {
                    ROW: row,
                    "column": ", ".join(rule.columns),
                    "check": rule.code,
                    "value": _fmt_values(values),
                    "detail": _rule_text(ts.table, rule),
                }
            )
            continue
        if check == "not_nullable":
            code, why = "not_nullable", None
        elif check in ("field_uniqueness", "multiple_fields_uniqueness"):
            key = ", ".join(ts.table.primary_key)
            code, why = "unique_key", key
            col = col or key
        else:
            code, why = ts.column_meta[col][int(num)]
        value = rec["failure_case"]
        out.append({ROW: row, "column": col, "check": code, "value": value, "detail": why})
    return pl.DataFrame(out, schema=FAILURE_SCHEMA) if out else pl.DataFrame(schema=FAILURE_SCHEMA)


def _rule_text(table: tables.Table, rule: Rule) -> str:
    return next(text for text, r in RULES[table.name].items() if r is rule)


def _fmt_values(values: dict[str, str | None]) -> str:
    return ", ".join(f"{k}={'empty' if v is None else v}" for k, v in values.items())


def reference_failures(frame: pl.DataFrame, table: tables.Table, missing: MissingLookup) -> pl.DataFrame:
    """Rows whose referencing columns (Column.references) hold a value unknown to the referenced table."""
    out: list[pl.DataFrame] = []
    for col in table.columns:
        if col.references is None or col.name not in frame.columns:
            continue
        ref_table, ref_col = col.references.split(".")
        values = frame[col.name].drop_nulls().unique()
        if values.len() == 0:
            continue
        unknown = missing(ref_table, ref_col, values)
        if unknown.len() == 0:
            continue
        bad = frame.filter(pl.col(col.name).is_in(unknown.implode()))
        n = bad.height
        out.append(
            pl.DataFrame(
                {
                    ROW: bad[ROW],
                    "column": [col.name] * n,
                    "check": ["reference"] * n,
                    "value": bad[col.name].cast(pl.String),
                    "detail": [f"{ref_table}.{ref_col}"] * n,
                },
                schema=FAILURE_SCHEMA,
            )
        )
    return pl.concat(out) if out else pl.DataFrame(schema=FAILURE_SCHEMA)
