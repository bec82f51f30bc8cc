"""Run the catalog's indicator SQL over the warehouse into the long `indicator_values` table (a full grid).

Every district × period × indicator × grain gets a row; a value that cannot be computed (no denominator, no value,
or a 95% interval wider than the catalog's max_half_width) is NULL, never zero and never absent, and
missing_reason says why. Each row carries n, the 95% interval (ci_low, ci_high) and the SE by the catalog's
`interval` method (indicators/catalog/README.md, "Intervals"). One DuckDB query per indicator per grain: the grid,
the formula, the interval, the precision rule and the NULL rule are all expressed in SQL so ~10M cases stay
vectorised.

Shared work is done once per run: rate-form indicators over event dates are summed by month once and rolled up to
quarters, and the rating → case join that several rating indicators open their FROM with is materialised once as a
temp table (`SharedJoin`); a formula is only rewritten onto it when the rewritten SQL binds, otherwise it runs as
written, so the catalog's SQL stays the definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl

from etl.contract import tables
from etl.warehouse import case_history, connection as warehouse, ddl, derived, period_scan
from etl.warehouse.units import scored_units
from etl.warehouse.workdays import workdays_frame
from etl.errors import EtlError
from indicators.catalog import PLACEHOLDER, Catalog, IndicatorDef

GRAINS = ("month", "quarter", "year")
#: (indicator id, grain) → the periods to compute; a pair not named is computed whole (incremental refresh)
Plan = Mapping[tuple[str, str], frozenset[str]]
TABLE = "indicator_values"
WORKDAYS = "workdays"  # relation workdays(day, is_workday, workday_no, official): etl.warehouse.workdays
COLUMNS = (
    "unit_code", "period", "grain", "indicator_id", "value", "numerator", "denominator",
    "n", "ci_low", "ci_high", "se", "interval_method", "missing_reason",
)
SCHEMA: dict[str, pl.DataType] = {
    "unit_code": pl.String(),
    "period": pl.String(),
    "grain": pl.String(),
    "indicator_id": pl.String(),
    "value": pl.Float64(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    # n: observations the value rests on (Kish effective n for weighted survey means); ci_low, ci_high: the 95%
    # interval and se: the standard error, on the value's own scale, by the catalog's `interval` method (also
    # kept when the precision rule NULLs the value); missing_reason: NULL when value is present.
    "n": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "se": pl.Float64(),
    "interval_method": pl.String(),
    "missing_reason": pl.String(),
}
# The data span the values were computed over (one row; none for an empty warehouse): readers decide from it which
# periods are complete (indicators.periods.complete_months), since a period label alone says nothing about coverage.
COVERAGE_TABLE = "data_coverage"

# Event-time columns whose months span the grid come from the contract (Table.event_time; snapshot dates such as
# onboarded_on are deliberately not event times): etl.contract.tables.span_columns().


class IndicatorSQLError(EtlError):
    """An indicator's formula failed to run or returned the wrong shape; the message names the indicator."""


def period_sql(expr: str, grain: str) -> str:
    """SQL giving the period label of a date/timestamp expression: 'YYYY-MM', 'YYYYQn' or 'YYYY'."""
    if grain == "month":
        return f"strftime(CAST(({expr}) AS TIMESTAMP), '%Y-%m')"
    if grain == "quarter":
        return f"(CAST(year({expr}) AS VARCHAR) || 'Q' || CAST(quarter({expr}) AS VARCHAR))"
    if grain == "year":
        return f"CAST(year({expr}) AS VARCHAR)"
    raise IndicatorSQLError(f"unknown grain {grain!r}; allowed: {', '.join(GRAINS)}")


def data_end_sql(last_day: date | None) -> str:
    """SQL TIMESTAMP literal for {data_end}: midnight after the data span's last day, the first instant the data do
    not cover (NULL, so nothing passes a `<= {data_end}` test, when there is no data)."""
    if last_day is None:
        return "CAST(NULL AS TIMESTAMP)"
    return f"TIMESTAMP '{last_day + timedelta(days=1):%Y-%m-%d} 00:00:00'"


def expand(sql: str, grain: str, d: IndicatorDef, last_day: date | None) -> str:
    """Replace {period(expr)}, {grain}, {data_end} and {param(name)} in one SQL text.

    `last_day` is the last day of the data span (see data_span): {data_end} is midnight after it. {param(name)} is
    the indicator's parameter (IndicatorDef.params: the catalog's default, or the configuration's value set by
    `with_params`), an integer literal.
    """

    def sub(m: re.Match[str]) -> str:
        name, arg = m.group(1), m.group(2)
        if name == "period":
            return period_sql(arg, grain)
        if name == "param":
            if arg not in d.params:
                raise IndicatorSQLError(f"indicator {d.id!r}: {m.group(0)} names no parameter of the indicator")
            return str(int(d.params[arg]))
        if name == "data_end":
            return data_end_sql(last_day)
        if name == "grain":
            return f"'{grain}'"
        raise IndicatorSQLError(f"indicator {d.id!r}: unknown placeholder {m.group(0)!r}")

    return PLACEHOLDER.sub(sub, sql)


def formula_sql(d: IndicatorDef, grain: str, last_day: date | None) -> str:
    """The indicator's formula as one SELECT returning unit_code, period, numerator, denominator [, value, …].

    A rate form with interval = 'delta' also returns Σy², Σxy, Σx² and the row count (ss_yy, ss_xy, ss_xx, n) of
    its `sum(y) / sum(x)`, additive like the sums themselves, for the ratio estimator's standard error."""
    s = d.sql
    if s.query is not None:
        return expand(s.query, grain, d, last_day)
    where = f"\nWHERE {s.where}" if s.where else ""
    moments = ""
    terms = s.ratio_terms() if d.interval == "delta" else None
    if terms is not None:
        y, x = (f"CAST(({t}) AS DOUBLE)" for t in terms)
        moments = (f",\n       sum({y} * {y}) AS ss_yy, sum({y} * {x}) AS ss_xy, sum({x} * {x}) AS ss_xx,"
                   " CAST(count(*) AS DOUBLE) AS n")
    q = (
        f"SELECT {s.unit} AS unit_code, {s.period} AS period,\n"
        f"       {s.numerator} AS numerator,\n       {s.denominator} AS denominator{moments}\n"
        f"FROM {s.from_}{where}\nGROUP BY 1, 2"
    )
    return expand(q, grain, d, last_day)


# -- periods ------------------------------------------------------------------------------------------------------
def _months(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_end(d: date) -> date:
    nxt = date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def periods_frame(first: date | None, last: date | None, grain: str) -> pl.DataFrame:
    """period, period_start, period_end (inclusive DATEs) for every month, quarter or year touching [first, last]."""
    rows: dict[str, tuple[date, date]] = {}
    if first is not None and last is not None:
        for m in _months(first, last):
            if grain == "month":
                rows.setdefault(f"{m:%Y-%m}", (m, _month_end(m)))
            elif grain == "quarter":
                q = (m.month - 1) // 3 + 1
                start = date(m.year, 3 * q - 2, 1)
                rows.setdefault(f"{m.year}Q{q}", (start, _month_end(date(m.year, 3 * q, 1))))
            elif grain == "year":
                rows.setdefault(f"{m.year}", (date(m.year, 1, 1), date(m.year, 12, 31)))
            else:
                raise IndicatorSQLError(f"unknown grain {grain!r}; allowed: {', '.join(GRAINS)}")
    return pl.DataFrame(
        {
            "period": list(rows),
            "period_start": [v[0] for v in rows.values()],
            "period_end": [v[1] for v in rows.values()],
        },
        schema={"period": pl.String(), "period_start": pl.Date(), "period_end": pl.Date()},
    )


def data_span(con: warehouse.Connection) -> tuple[date | None, date | None]:
    """First and last day with an event in any event table (None, None for an empty warehouse; a table the
    warehouse does not have, from before it was added to the contract, holds no event)."""
    present = set(warehouse.table_names(con))
    parts = " UNION ALL ".join(
        f"SELECT min(CAST({warehouse.quote(c)} AS DATE)) AS lo, max(CAST({warehouse.quote(c)} AS DATE)) AS hi "
        f"FROM {warehouse.quote(t)}"
        for t, c in tables.span_columns()
        if t in present
    )
    if not parts:
        return None, None
    rows = con.sql(f"SELECT min(lo), max(hi) FROM ({parts})").fetchall()
    lo, hi = rows[0]
    return lo, hi


# -- the shared rating → case join -----------------------------------------------------------------------------------
# `rating r JOIN "case" c ON c.case_id = r.case_id` at the start of a FROM clause (the rate form's `from` or a query's
# FROM), not followed by more ON conditions. Each such indicator would otherwise hash-join ~10M cases again.
_RATING_CASE = re.compile(
    r'(?P<lead>\bFROM\s+|^\s*)rating\s+r\s+(?:INNER\s+)?JOIN\s+"case"\s+c\s+ON\s+'
    r"(?:c\.case_id\s*=\s*r\.case_id|r\.case_id\s*=\s*c\.case_id)(?![\w.])(?!\s+AND\b)",
    re.IGNORECASE,
)
SHARED_RATING_CASE = "_iv_rating_case"


class SharedJoin:
    """The rating ⋈ case rows, materialised once: rating's referenced columns plus a struct `c` of case's.

    `c.district_code` on the temp table reads the struct field, so a rewritten formula keeps its text apart from its
    FROM; the rows are exactly those of the inner join the formula wrote (built with the same join).
    """

    def __init__(self, con: warehouse.Connection, catalog: Catalog) -> None:
        self.con = con
        self.active = False
        texts = ["\n".join(d.sql.texts()) for d in catalog if any(_RATING_CASE.search(t) for t in d.sql.texts())]
        if len(texts) < 2 or any(re.search(r"\b[rc]\.\*", t) for t in texts):
            return  # one user gains nothing from materialising; r.* / c.* need every column (not worth it)
        r_cols = {c.lower() for c in con.sql('SELECT * FROM rating LIMIT 0').columns}
        c_cols = {c.lower() for c in con.sql('SELECT * FROM "case" LIMIT 0').columns}
        if "c" in r_cols:
            return
        used_r = sorted({m.lower() for t in texts for m in re.findall(r"\br\.\"?(\w+)", t)} & r_cols | {"case_id"})
        used_c = sorted({m.lower() for t in texts for m in re.findall(r"\bc\.\"?(\w+)", t)} & c_cols | {"case_id"})
        # Unqualified rating columns (e.g. `level`) must resolve too: keep every rating column a formula names.
        words = {w.lower() for t in texts for w in re.findall(r"\b\w+\b", t)}
        used_r = sorted(set(used_r) | (r_cols & words))
        r_sel = ", ".join(f"r.{warehouse.quote(c)}" for c in used_r)
        c_struct = ", ".join(f"{warehouse.quote(c)} := c.{warehouse.quote(c)}" for c in used_c)
        try:
            con.sql(
                f"CREATE OR REPLACE TEMP TABLE {SHARED_RATING_CASE} AS SELECT {r_sel}, struct_pack({c_struct}) AS c "
                'FROM rating r JOIN "case" c ON c.case_id = r.case_id'
            )
        except duckdb.Error:
            return  # e.g. no temp storage: run every formula as written
        self.active = True

    def rewrite(self, sql: str) -> str:
        """`sql` reading the temp table instead of re-joining, or `sql` unchanged when it does not use the join."""
        if not self.active:
            return sql
        return _RATING_CASE.sub(lambda m: f"{m.group('lead')}{SHARED_RATING_CASE} r", sql)

    def close(self) -> None:
        if self.active:
            self.con.sql(f"DROP TABLE IF EXISTS {SHARED_RATING_CASE}")
            self.active = False


def _pick_formula(con: warehouse.Connection, d: IndicatorDef, formula: str, shared: SharedJoin | None,
                  per_case: Mapping[str, str] | None = None) -> str:
    """The rewritten formula (the shared join, the per-case history tables) when it binds, the catalog's own
    otherwise."""
    fast = shared.rewrite(formula) if shared is not None else formula
    if per_case:
        fast = case_history.rewrite(fast, per_case)
    if fast == formula:
        return formula
    try:
        con.sql(f"SELECT * FROM ({fast}) LIMIT 0")
    except duckdb.Error:
        return formula
    return fast


# -- running ------------------------------------------------------------------------------------------------------
Z95 = 1.959963984540054  # the standard normal 0.975 quantile: every interval is a 95% interval
# Optional columns a formula may return beside unit_code, period, numerator, denominator (README: "Intervals").
OPTIONAL_COLUMNS = ("value", "n", "se", "ci_low", "ci_high", "ss_yy", "ss_xy", "ss_xx", "missing_reason")
MOMENTS = ("ss_yy", "ss_xy", "ss_xx", "n")  # additive: Σy², Σxy, Σx² and the number of units, for a ratio's SE
#: why a value is NULL (labels: app.ui.i18n 'missing_reason.<code>')
MISSING_REASONS = ("no_cases", "imprecise", "not_applicable", "not_recorded", "no_source")
# not_recorded: the data hold cases for the formula but not the columns it needs (an older export without them);
# no_source: a table the formula needs holds no row at all (an older export without that file)


def _f(x: float) -> str:
    return repr(float(x))


def _interval_sql(d: IndicatorDef, cols: set[str]) -> dict[str, str]:
    """SQL for the raw value (_v), n (_n), standard error (_se) and 95% interval (_lo, _hi) of one indicator, over
    the grid row `f` (the formula's columns). All on the value's own scale."""
    num, den, scale, z = "f.numerator", "f.denominator", _f(d.scale), _f(Z95)
    ok = f"({den} IS NOT NULL AND {den} > 0)"
    v = "f.value" if "value" in cols else f"{num} / {den} * {scale}"
    out = {"_v": f"CASE WHEN {ok} THEN {v} END", "_n": f"f.n" if "n" in cols else den}
    m = d.interval
    if m == "wilson":
        p, n = f"({num} / {den})", den
        zz = _f(Z95 * Z95)
        centre = f"(({p} + {zz} / (2 * {n})) / (1 + {zz} / {n}))"
        hw = f"({z} * sqrt(greatest({p} * (1 - {p}), 0) / {n} + {zz} / (4 * {n} * {n})) / (1 + {zz} / {n}))"
        lo, hi, se = f"({centre} - {hw}) * {scale}", f"({centre} + {hw}) * {scale}", f"{hw} * {scale} / {z}"
    elif m == "poisson":  # Byar's approximation to the exact (Garwood) interval of a Poisson count k over exposure E
        k, e = num, den
        lo = (f"CASE WHEN {k} = 0 THEN 0 ELSE {k} * pow(1 - 1 / (9 * {k}) - {z} / (3 * sqrt({k})), 3) END "
              f"/ {e} * {scale}")
        hi = f"({k} + 1) * pow(1 - 1 / (9 * ({k} + 1)) + {z} / (3 * sqrt({k} + 1)), 3) / {e} * {scale}"
        se = f"(({hi}) - ({lo})) / (2 * {z})"
    elif m == "none":
        lo = hi = "_v"
        se = "CASE WHEN _v IS NOT NULL THEN 0.0 END"
    else:
        if m == "delta" and set(MOMENTS) <= cols:
            r = f"({num} / {den})"
            var = (f"f.n / (f.n - 1) * (f.ss_yy - 2 * {r} * f.ss_xy + {r} * {r} * f.ss_xx) / ({den} * {den})")
            se = f"CASE WHEN f.n > 1 THEN sqrt(greatest({var}, 0)) * {scale} END"
        elif "se" in cols:
            se = "f.se"
        elif {"ci_low", "ci_high"} <= cols:
            se = f"(f.ci_high - f.ci_low) / (2 * {z})"
        else:
            raise IndicatorSQLError(
                f"indicator {d.id!r}: interval = {m!r} needs its formula to return se (or ci_low and ci_high"
                + (", or ss_yy, ss_xy, ss_xx and n" if m == "delta" else "") + ")"
            )
        lo = "f.ci_low" if "ci_low" in cols else f"_v - {z} * ({se})"
        hi = "f.ci_high" if "ci_high" in cols else f"_v + {z} * ({se})"
        if d.unit in ("%", "0-100") and "ci_low" not in cols:  # a share or an index cannot leave 0–100
            lo, hi = (f"CASE WHEN ({b}) IS NOT NULL THEN {f}({b}, {e}) END"
                      for b, f, e in ((lo, "greatest", "0.0"), (hi, "least", "100.0")))
    if m in ("wilson", "poisson"):  # over no observations NULL like the value, not x / 0: NaN on DuckDB, NULL on Spark
        lo, hi, se = (f"CASE WHEN {ok} THEN {x} END" for x in (lo, hi, se))
    out.update(_se=se, _lo=lo, _hi=hi)
    return out


def _indicator_query(d: IndicatorDef, grain: str, formula: str, cols: list[str]) -> str:
    """Grid (units × periods) LEFT JOIN formula, with the interval, the precision rule and the NULL rule in SQL."""
    have = set(cols)
    x = _interval_sql(d, have)
    extra = "".join(f", f.{c}" for c in cols if c not in ("unit_code", "period"))
    if d.max_half_width is None:
        imprecise = "false"
    else:
        imprecise = f"(_se IS NULL OR (_hi - _lo) / 2 > {_f(d.max_half_width)})"
    reason = "f.missing_reason" if "missing_reason" in have else "NULL"
    return f"""
WITH f AS (
{formula}
), g AS (
    SELECT u.unit_code AS _u, p.period AS _p{extra}
    FROM _iv_units u CROSS JOIN periods p
    LEFT JOIN f ON f.unit_code = u.unit_code AND f.period = p.period
), v AS (
    SELECT *, CAST({x["_v"]} AS DOUBLE) AS _v, CAST({x["_n"]} AS DOUBLE) AS _n FROM g f
), e AS (
    SELECT *, CAST({x["_se"]} AS DOUBLE) AS _se, CAST({x["_lo"]} AS DOUBLE) AS _lo, CAST({x["_hi"]} AS DOUBLE) AS _hi
    FROM v f
), r AS (
    SELECT *, (_v IS NOT NULL AND {imprecise}) AS _imprecise FROM e f
)
SELECT _u AS unit_code, _p AS period, '{grain}' AS grain, '{d.id}' AS indicator_id,
       CASE WHEN NOT _imprecise THEN _v END AS value,
       CAST(f.numerator AS DOUBLE) AS numerator,
       CAST(f.denominator AS DOUBLE) AS denominator,
       _n AS n, _lo AS ci_low, _hi AS ci_high, _se AS se,
       '{d.interval}' AS interval_method,
       CASE WHEN _imprecise THEN 'imprecise' WHEN _v IS NOT NULL THEN NULL
            WHEN {reason} IS NOT NULL THEN {reason}
            WHEN f.denominator IS NULL OR f.denominator = 0 THEN 'no_cases'
            ELSE 'not_applicable' END AS missing_reason
FROM r f
"""


def _columns_of(con: warehouse.Connection, d: IndicatorDef, formula: str) -> list[str]:
    try:
        return [c.lower() for c in con.sql(f"SELECT * FROM ({formula}) LIMIT 0").columns]
    except duckdb.Error as e:
        raise IndicatorSQLError(f"indicator {d.id!r}: its SQL does not run: {e}\nSQL:\n{formula}") from None


def _check_columns(d: IndicatorDef, cols: list[str]) -> None:
    need = {"unit_code", "period", "numerator", "denominator"}
    missing = need - set(cols)
    extra = set(cols) - need - set(OPTIONAL_COLUMNS)
    if missing or extra:
        raise IndicatorSQLError(
            f"indicator {d.id!r}: its SQL must return unit_code, period, numerator, denominator [, "
            f"{', '.join(OPTIONAL_COLUMNS)}]; missing: {sorted(missing)}, unexpected: {sorted(extra)}"
        )


def _run_grid(con: warehouse.Connection, d: IndicatorDef, grain: str, formula: str, n_grid: int) -> pl.DataFrame:
    cols = _columns_of(con, d, formula)
    _check_columns(d, cols)
    q = _indicator_query(d, grain, formula, cols)
    try:
        out = con.sql(q).pl()
    except duckdb.Error as e:
        raise IndicatorSQLError(f"indicator {d.id!r} ({grain}): {e}\nSQL:\n{q}") from None
    if out.height != n_grid:
        raise IndicatorSQLError(
            f"indicator {d.id!r} ({grain}): its SQL returned more than one row for some (unit_code, period): "
            f"{out.height} rows for a grid of {n_grid}"
        )
    return out.cast(SCHEMA)  # type: ignore[arg-type]


def _run_one(
    con: warehouse.Connection,
    d: IndicatorDef,
    grain: str,
    n_grid: int,
    shared: SharedJoin | None = None,
    *,
    last_day: date | None,
    periods: frozenset[str] | None = None,
    per_case: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    formula = _pick_formula(con, d, formula_sql(d, grain, last_day), shared, per_case)
    if periods:  # an incremental refresh: tables read from the first period on, where the plan shows it is the same
        start = min(period_start(p) for p in periods)
        formula = period_scan.narrowed(con, formula, lambda c: period_sql(c, grain), sorted(periods), start)
    return _run_grid(con, d, grain, _only_periods(formula, periods), n_grid)


def period_start(label: str) -> date:
    """The first day of a period label: 'YYYY-MM', 'YYYYQn' or 'YYYY'."""
    if "Q" in label:
        y, q = label.split("Q")
        return date(int(y), 3 * int(q) - 2, 1)
    return date(int(label[:4]), int(label[5:7]) if len(label) > 4 else 1, 1)


# Aggregates whose value over a quarter is not the sum of their monthly values (count(DISTINCT …) included).
_NON_ADDITIVE = re.compile(
    r"\bdistinct\b|\b(?:avg|mean|median|min|max|quantile\w*|mode|stddev\w*|var_\w+|variance|any_value|first|last|"
    r"arg_?(?:min|max)\w*|bool_(?:and|or)|product|approx_\w+|list|array_agg|string_agg)\s*\(",
    re.IGNORECASE,
)


def rolls_up(d: IndicatorDef) -> bool:
    """Rate form over event dates only, or a query the catalog declares `additive`: numerator and denominator are
    sums over rows, so a quarter's are the sum of its months'. (Snapshot formulas over `periods`, other queries —
    medians, weighted means, gaps — and rate forms with a non-additive aggregate such as count(DISTINCT …) or avg(…)
    are not: they run at each grain.)"""
    s = d.sql
    if s.is_query:
        return d.additive
    additive = not any(_NON_ADDITIVE.search(t or "") for t in (s.numerator, s.denominator))
    return additive and not s.is_query and "periods" not in (s.from_ or "") and "{period(" in (s.period or "")


# Month label 'YYYY-MM' → quarter label 'YYYYQn' / year label 'YYYY', for rolling monthly sums up.
_MONTH_TO_QUARTER = "substr(period, 1, 4) || 'Q' || CAST((CAST(substr(period, 6, 2) AS INTEGER) + 2) // 3 AS VARCHAR)"
_MONTH_TO_YEAR = "substr(period, 1, 4)"


def _monthly_sums(
    con: warehouse.Connection, d: IndicatorDef, shared: SharedJoin | None, last_day: date | None,
    months: frozenset[str] | None = None, per_case: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """One scan of the raw tables: the formula's (unit_code, period, numerator, denominator) at month grain (only
    the `months` given, when given: an incremental refresh)."""
    formula = formula_sql(d, "month", last_day)
    cols_of = _columns_of(con, d, formula)
    _check_columns(d, cols_of)
    extra = set(cols_of) - {"unit_code", "period", "numerator", "denominator"}
    if d.sql.is_query and extra:
        raise IndicatorSQLError(
            f"indicator {d.id!r} is declared additive, so its query must return only unit_code, period, numerator "
            f"and denominator (its months are summed); it also returns {sorted(extra)}"
        )
    formula = _pick_formula(con, d, formula, shared, per_case)
    if months and d.sql.is_query:  # a rate form reads from the first month on already (`since`)
        formula = period_scan.narrowed(con, formula, lambda c: period_sql(c, "month"), sorted(months),
                                       period_start(min(months)))
    formula = _only_periods(formula, months)
    cols = ", ".join(_rolled_columns(con, d, formula))
    try:
        return con.sql(f"SELECT unit_code, period, {cols} FROM ({formula})").pl()
    except duckdb.Error as e:
        raise IndicatorSQLError(f"indicator {d.id!r} (month): {e}\nSQL:\n{formula}") from None


def _only_periods(formula: str, periods: frozenset[str] | None) -> str:
    """The formula's rows of those periods only (None: all): a filter on its group key, which DuckDB pushes below
    the aggregate, so an incremental refresh does not aggregate periods it keeps."""
    if periods is None:
        return formula
    labels = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(periods)) or "NULL"
    return f"SELECT * FROM (\n{formula}\n) AS _only WHERE period IN ({labels})"


def _rolled_columns(con: warehouse.Connection, d: IndicatorDef, formula: str) -> list[str]:
    """The additive columns of a rolled-up formula: numerator, denominator and, for a ratio's SE, its moments."""
    have = set(_columns_of(con, d, formula))
    return ["numerator", "denominator", *(c for c in MOMENTS if c in have)]


def _run_rolled(
    con: warehouse.Connection, d: IndicatorDef, grain: str, monthly: pl.DataFrame, n_grid: int
) -> pl.DataFrame:
    con.register("_iv_monthly", monthly.to_arrow())
    sums = [c for c in monthly.columns if c not in ("unit_code", "period")]
    try:
        if grain == "month":
            formula = f"SELECT unit_code, period, {', '.join(sums)} FROM _iv_monthly"
        else:
            label = _MONTH_TO_QUARTER if grain == "quarter" else _MONTH_TO_YEAR
            formula = (
                f"SELECT unit_code, {label} AS period, {', '.join(f'sum({c}) AS {c}' for c in sums)} "
                "FROM _iv_monthly GROUP BY 1, 2"
            )
        return _run_grid(con, d, grain, formula, n_grid)
    finally:
        con.unregister("_iv_monthly")


def with_params(catalog: Catalog, params: Mapping[str, int] | None) -> Catalog:
    """The catalog with each indicator's {param(name)} defaults replaced by `params` (configuration) where given."""
    if not params:
        return catalog
    changed = tuple(
        d.model_copy(update={"params": {k: int(params.get(k, v)) for k, v in d.params.items()}})
        if any(k in params for k in d.params) else d
        for d in catalog
    )
    return Catalog(catalog.nodes, changed, catalog.source)


@contextmanager
def formula_relations(con: warehouse.Connection, first: date | None, last: date | None) -> Iterator[None]:
    """The relations every formula may read besides the raw tables and `periods`: the working-day calendar
    `workdays(day, is_workday, workday_no, official)` over the data span (etl.warehouse.workdays) and the derived
    views (etl.warehouse.derived: rating_prompt). Plain relations, so the same SQL runs on Spark."""
    con.register(WORKDAYS, workdays_frame(first, last).to_arrow())
    derived.create_views(con)
    try:
        yield
    finally:
        derived.drop_views(con)
        con.unregister(WORKDAYS)


def compute_indicator_values(
    con_or_db_path: warehouse.Connection | str | Path,
    catalog: Catalog,
    grains: tuple[str, ...] | list[str] = GRAINS,
    *,
    span: tuple[date, date] | None = None,
    params: Mapping[str, int] | None = None,
    plan: Plan | None = None,
    per_case: Mapping[str, str] | None = None,
    stored_months: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every indicator for every district (table `district`) × period × grain, periods spanning the data's months.

    Columns: unit_code, period, grain, indicator_id, value, numerator, denominator. A path is opened read-only.
    `span` (first day, last day) overrides the data span: the periods and {data_end} (midnight after the last day).
    `params` overrides the catalog's formula parameters by name (configuration: callback_working_days, …).
    `plan` (incremental refresh, etl.warehouse.incremental) computes only the periods it names per (indicator,
    grain); pairs it does not name are computed whole. `per_case` (etl.warehouse.case_history: per-case expression
    → its table, up to date) lets the formulas read the per-case history instead of aggregating case_event again.
    `stored_months` (with `plan`: the stored month-grain rows, current where the plan keeps them) gives a rolled-up
    indicator's quarters and years the sums of the months the plan does not recompute (`_rolled_monthly`).
    """
    catalog = with_params(catalog, params)
    for g in grains:
        if g not in GRAINS:
            raise IndicatorSQLError(f"unknown grain {g!r}; allowed: {', '.join(GRAINS)}")
    if isinstance(con_or_db_path, duckdb.DuckDBPyConnection):
        return _compute(con_or_db_path, catalog, tuple(grains), span, plan, per_case, stored_months)
    with warehouse.connection(con_or_db_path, read_only=True) as con:
        return _compute(con, catalog, tuple(grains), span, plan, per_case, stored_months)


def units_frame(con: warehouse.Connection) -> pl.DataFrame:
    """unit_code of every unit the grid covers, sorted: the leaves of the unit table (etl.warehouse.units; parents
    roll up, indicators.levels). The same for both engines."""
    return scored_units(con)


def grid_relations(
    units: pl.DataFrame, first: date | None, last: date | None, grain: str
) -> dict[str, pl.DataFrame]:
    """The relations a run registers beside the warehouse tables for one grain, by name: `_iv_units` (the grid's
    units), `periods` (period, period_start, period_end) and the working-day calendar `workdays(day, is_workday,
    workday_no, official)` over the data span (etl.warehouse.workdays). Both engines (DuckDB here, Spark in
    indicator_values_spark) register exactly these, so a relation added here reaches every formula on both; the
    derived relations over raw tables (etl.warehouse.derived) are created by each engine from their one SQL text."""
    return {"_iv_units": units, "periods": periods_frame(first, last, grain), WORKDAYS: workdays_frame(first, last)}


def order_frame(frames: list[pl.DataFrame], catalog: Catalog, grains: tuple[str, ...]) -> pl.DataFrame:
    """The per-indicator frames as one, in grain order, catalog order, then unit_code and period."""
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    order = {d.id: i for i, d in enumerate(catalog)}
    return (
        pl.concat(frames)
        .with_columns(
            pl.col("grain").replace_strict({g: i for i, g in enumerate(grains)}, return_dtype=pl.Int32).alias("_g"),
            pl.col("indicator_id").replace_strict(order, return_dtype=pl.Int32).alias("_i"),
        )
        .sort("_g", "_i", "unit_code", "period")
        .drop("_g", "_i")
    )


def absent_tables(con: warehouse.Connection) -> set[str]:
    """Raw tables of the contract that hold no row (or do not exist, in a warehouse older than the table): an older
    export without them. Their indicators are missing with reason 'no_source', never computed as zero."""
    present = set(warehouse.table_names(con))
    out = set()
    for name in tables.TABLES:
        if name not in present or not con.sql(f"SELECT 1 FROM {warehouse.quote(name)} LIMIT 1").fetchall():
            out.add(name)
    return out


def no_source_grid(units: pl.DataFrame, periods: pl.DataFrame, grain: str, d: IndicatorDef) -> pl.DataFrame:
    """Every unit × period of an indicator whose data were not delivered: value NULL, missing_reason 'no_source'."""
    grid = units.join(periods.select("period"), how="cross")
    return grid.select(
        "unit_code", "period", pl.lit(grain).alias("grain"), pl.lit(d.id).alias("indicator_id"),
        *(pl.lit(None, SCHEMA[c]).alias(c) for c in ("value", "numerator", "denominator", "n", "ci_low", "ci_high", "se")),
        pl.lit(d.interval).alias("interval_method"), pl.lit("no_source").alias("missing_reason"),
    ).cast(SCHEMA)  # type: ignore[arg-type]


def month_in(month: str, grain: str) -> str:
    """The label of the `grain` period holding month 'YYYY-MM'."""
    if grain == "month":
        return month
    return month[:4] if grain == "year" else f"{month[:4]}Q{(int(month[5:7]) + 2) // 3}"


_PERIOD_OF = re.compile(r"\s*\{period\((.+)\)\}\s*")


def since(d: IndicatorDef, start: date | None) -> IndicatorDef:
    """`d` reading no row dated before `start` (None: `d` itself). A rate form's groups are the periods of its own
    rows' `{period(expr)}`, so a computation of periods starting on or after `start` never reads an earlier row; the
    filter on `expr` is on the table scan, where DuckDB skips the row groups before it (an incremental refresh then
    reads the new months, not the whole table). Query forms and snapshot forms (over `periods`) are left as they are."""
    s = d.sql
    m = _PERIOD_OF.fullmatch(s.period or "") if start is not None else None
    if m is None or s.is_query or "periods" in (s.from_ or ""):
        return d
    cond = f"({m.group(1)}) >= TIMESTAMP '{start:%Y-%m-%d} 00:00:00'"
    where = f"({s.where}) AND {cond}" if s.where else cond
    return d.model_copy(update={"sql": s.model_copy(update={"where": where})})


def _plan_months(plan: Plan | None, d: IndicatorDef, grains: tuple[str, ...], months: list[str]) -> frozenset[str] | None:
    """The months whose monthly sums a rolled-up indicator needs under `plan` (None: every month)."""
    if plan is None or any((d.id, g) not in plan for g in grains):
        return None
    return frozenset(m for m in months if any(month_in(m, g) in plan[(d.id, g)] for g in grains))


def integral(dtype: pl.DataType) -> bool:
    """A column type of whole numbers: an integer, or a decimal of scale 0 (DuckDB's sum of BIGINTs is a HUGEINT,
    which arrives in polars as Decimal(38, 0))."""
    return dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale == 0)


def _rolled_monthly(
    con: warehouse.Connection, d: IndicatorDef, shared: SharedJoin | None, last_day: date | None,
    need: frozenset[str] | None, plan: Plan | None, stored: pl.DataFrame | None,
    per_case: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """The monthly sums a rolled-up indicator's quarters and years are summed from: the months `need`ed (None: all).
    Under a plan, a needed month the plan does not recompute at month grain has its stored month row current (the
    plan kept it), whose numerator and denominator are those sums: they are read from `stored` (the stored month
    rows) instead of from the raw tables, so a new month's year reads that month, not the year's every month. Only
    for integer sums without the delta moments (not stored): a sum of counts is exact in a double whatever the
    order, the same as a full rebuild's."""
    def sums(months: frozenset[str] | None) -> pl.DataFrame:
        start = date.fromisoformat(min(months) + "-01") if months else None
        return _monthly_sums(con, since(d, start), shared, last_day, months, per_case)

    if plan is None or need is None or stored is None:
        return sums(need)
    recomputed = plan.get((d.id, "month"))
    if recomputed is None:
        return sums(need)
    # a month outside the grid (before the data start or after its end, in a grid year) has no stored row to keep
    recomputed = recomputed | (need - set(stored["period"].unique().to_list()))
    if not (need - recomputed):
        return sums(need)
    fresh = sums(need & recomputed)
    if set(fresh.columns) != {"unit_code", "period", "numerator", "denominator"} or not all(
            integral(fresh.schema[c]) for c in ("numerator", "denominator")):
        return sums(need)
    kept = (stored.filter((pl.col("indicator_id") == d.id) & pl.col("period").is_in(sorted(need - recomputed))
                          & (pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null()))
            .select(fresh.columns))
    return pl.concat([fresh, kept.cast(fresh.schema)])  # type: ignore[arg-type]  # an integral double: exact


def _compute(
    con: warehouse.Connection, catalog: Catalog, grains: tuple[str, ...], span: tuple[date, date] | None,
    plan: Plan | None = None,
    per_case: Mapping[str, str] | None = None,
    stored_months: pl.DataFrame | None = None,
) -> pl.DataFrame:
    units = units_frame(con)
    first, last = span if span is not None else data_span(con)
    frames: list[pl.DataFrame] = []
    monthly: dict[str, pl.DataFrame] = {}  # rolled-up indicators: raw tables scanned once, not once per grain
    absent = absent_tables(con)
    shared = SharedJoin(con, catalog) if units.height and first is not None else None
    # The months a rolled-up quarter or year sums: every month of the grid's years, not only the span's. A row dated
    # after the data end (a case closed after the last event) or before its start counts in its year, as it does in a
    # full computation, which sums every month; a plan narrows the months to these, so it must name them too.
    all_months = (periods_frame(date(first.year, 1, 1), date(last.year, 12, 31), "month")["period"].to_list()
                  if first is not None and last is not None else [])
    derived.create_views(con)
    try:
        for grain in grains:
            relations = grid_relations(units, first, last, grain)
            for name, rel in relations.items():
                con.register(name, rel.to_arrow())
            try:
                for d in catalog:
                    only = None if plan is None else plan.get((d.id, grain))
                    periods = relations["periods"]
                    if only is not None:
                        if not only:
                            continue
                        periods = periods.filter(pl.col("period").is_in(sorted(only)))
                        con.register("periods", periods.to_arrow())
                    n_grid = units.height * periods.height
                    if absent & set(d.tables):
                        frames.append(no_source_grid(units, periods, grain, d))
                    elif rolls_up(d) and n_grid:
                        if d.id not in monthly:
                            need = _plan_months(plan, d, grains, all_months)
                            monthly[d.id] = _rolled_monthly(con, d, shared, last, need, plan, stored_months, per_case)
                        frames.append(_run_rolled(con, d, grain, monthly[d.id], n_grid))
                    else:
                        begin = periods["period_start"].min() if only is not None else None
                        frames.append(_run_one(con, since(d, begin if isinstance(begin, date) else None), grain,
                                               n_grid, shared, last_day=last, periods=only, per_case=per_case))
                    if only is not None:
                        con.register("periods", relations["periods"].to_arrow())
            finally:
                for name in relations:
                    con.unregister(name)
    finally:
        derived.drop_views(con)
        if shared is not None:
            shared.close()
    return order_frame(frames, catalog, grains)


class Compute(Protocol):
    """An engine's indicator stage: compute_indicator_values here, or indicator_values_spark's on Spark."""

    def __call__(
        self, con: warehouse.Connection, catalog: Catalog, grains: tuple[str, ...] | list[str], *,
        span: tuple[date, date] | None,
    ) -> pl.DataFrame: ...


def write_indicator_values(
    db_path: str | Path | warehouse.Connection,
    catalog: Catalog,
    grains: tuple[str, ...] | list[str] = GRAINS,
    *,
    params: Mapping[str, int] | None = None,
    compute: Compute | None = None,
) -> pl.DataFrame:
    """(Re)build the warehouse tables `indicator_values` and `data_coverage` (the data span used: first_day,
    last_day; no row for an empty warehouse) in one transaction and return the values written. `compute` is the
    engine (default: DuckDB, compute_indicator_values); the tables written are the same whichever runs."""
    with warehouse.connection(db_path) as con:
        first, last = data_span(con)
        span = (first, last) if first is not None and last is not None else None
        frame = (compute or compute_indicator_values)(con, with_params(catalog, params), grains, span=span)
        with warehouse.transaction(con):
            store_values(con, frame, span)
    return frame


#: what the stored values were computed from (etl.warehouse.incremental); a full write leaves none
STATE_TABLE = "indicator_values_state"


def store_values(con: warehouse.Connection, frame: pl.DataFrame, span: tuple[date, date] | None) -> None:
    """Replace `indicator_values` and `data_coverage` (inside the caller's transaction)."""
    coverage = pl.DataFrame(
        {"first_day": [span[0]] if span else [], "last_day": [span[1]] if span else []},
        schema={"first_day": pl.Date(), "last_day": pl.Date()},
    )
    con.sql(f"DROP TABLE IF EXISTS {TABLE}")
    ddl.create(con, TABLE)
    warehouse.insert_frame(con, TABLE, frame)
    con.sql(f"DROP TABLE IF EXISTS {COVERAGE_TABLE}")
    ddl.create(con, COVERAGE_TABLE)
    warehouse.insert_frame(con, COVERAGE_TABLE, coverage)
    con.sql(f"DROP TABLE IF EXISTS {STATE_TABLE}")


def read_data_coverage(con: warehouse.Connection) -> tuple[date, date] | None:
    """The (first_day, last_day) span `write_indicator_values` recorded; None when the table is absent (a warehouse
    built before it was recorded) or empty (no data)."""
    if COVERAGE_TABLE not in warehouse.table_names(con):
        return None
    rows = con.sql(f"SELECT first_day, last_day FROM {COVERAGE_TABLE}").fetchall()
    if not rows:
        return None
    return rows[0][0], rows[0][1]
