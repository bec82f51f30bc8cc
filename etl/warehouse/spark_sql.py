"""Translate the catalog's DuckDB SQL into Spark SQL with sqlglot, plus the few rewrites translation cannot do.

The catalog is the one source of every formula (written for DuckDB); the Spark engine runs its translation. sqlglot
maps most of DuckDB onto Spark by itself (strftime → date_format, list → collect_list, 1-based → 0-based array
subscripts, // → DIV, FILTER, GROUP BY ALL). Two DuckDB functions have no Spark twin that sqlglot knows of; they are
rewritten on the syntax tree (a rule per function, not per indicator, so a new formula using them works too):

- `epoch(x)`: seconds since 1970 of a timestamp, or the seconds of an interval `a - b` (DuckDB keeps the fraction).
  sqlglot writes Spark's UNIX_TIMESTAMP, which takes no interval and drops the fraction; the rewrite computes
  (unix_micros(a) - unix_micros(b)) / 1e6, or unix_micros(x) / 1e6 for a timestamp.
- `to_days(n)`: an interval of n days, which Spark builds with make_dt_interval(n).

And one check: a list subscript whose integer type sqlglot cannot see is refused (it would not be shifted from
DuckDB's 1-based to Spark's 0-based subscripts and would read the wrong element without an error).

And a literal with a fraction (0.5, 100.0, 1.96) is a DOUBLE on Spark: Spark reads it as a DECIMAL and keeps a
DECIMAL's few digits through a division ((k + 1.0) / (n + 2) to 6 places), where DuckDB divides in DOUBLE.

A formula that sqlglot cannot parse or translate raises SparkTranslationError naming what failed.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from etl.errors import EtlError

# sqlglot logs every subscript shift at INFO ("Applying array index offset"): noise in a refresh's log
logging.getLogger("sqlglot").setLevel(logging.WARNING)

READ = "duckdb"
WRITE = "spark"


class SparkTranslationError(EtlError):
    """DuckDB SQL that sqlglot could not turn into Spark SQL; the message shows the SQL and the reason."""


def _micros(e: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="unix_micros", expressions=[exp.Cast(this=e, to=exp.DataType.build("timestamp"))])


def _is_interval(e: exp.Expression) -> bool:
    return isinstance(e, (exp.Interval, exp.ToDays)) or (
        isinstance(e, exp.Anonymous) and e.name.lower() in ("make_dt_interval", "to_days"))


def _epoch(node: exp.TimeToUnix) -> exp.Expression:
    """epoch(a - b) (an interval between two timestamps) or epoch(ts), in seconds with the fraction kept."""
    arg = node.this
    while isinstance(arg, exp.Paren):
        arg = arg.this
    seconds: exp.Expression
    if isinstance(arg, exp.Sub) and not _is_interval(arg.expression):
        seconds = exp.Sub(this=_micros(arg.this), expression=_micros(arg.expression))
    else:
        seconds = _micros(arg)
    return exp.Paren(this=exp.Div(this=exp.Paren(this=seconds), expression=_double(exp.Literal(this="1000000.0", is_string=False))))


def _to_days(node: exp.ToDays) -> exp.Expression:
    return exp.Anonymous(this="make_dt_interval", expressions=[node.this])


def _check_subscript(node: exp.Bracket) -> None:
    """DuckDB lists count from 1, Spark arrays from 0. sqlglot shifts a subscript only when it can tell it is an
    integer (a literal, a CAST … AS BIGINT); any other subscript would silently read the next element on Spark."""
    if len(node.expressions) != 1:
        return
    idx = node.expressions[0]
    if isinstance(idx, exp.Literal):
        return  # an integer literal (already shifted) or a struct key
    typed = annotate_types(idx.copy(), dialect=READ).type
    if typed is None or typed.this not in exp.DataType.INTEGER_TYPES:
        raise SparkTranslationError(
            f"the list subscript [{idx.sql(dialect=READ)}] has no known integer type, so it cannot be shifted from "
            "DuckDB's 1-based to Spark's 0-based subscripts: write it as [CAST(… AS BIGINT)]"
        )


def _is_fraction(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string and any(ch in node.this for ch in ".eE")


def _double(node: exp.Literal) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("double"))


def _quantile(node: exp.PercentileDisc | exp.PercentileCont) -> exp.Expression:
    """DuckDB's quantile_disc(x, q) / quantile_cont(x, q) as the standard ordered-set aggregates Spark has (3.4+):
    percentile_disc(q) / percentile_cont(q) WITHIN GROUP (ORDER BY x). sqlglot's own Spark output would be
    percentile_approx (an estimate: never for a published value) or a two-argument call Spark refuses. disc: the
    smallest x whose cumulative share reaches q (for q = 0.5 the lower median); cont: linear interpolation between
    the order statistics, as DuckDB computes it."""
    name = "percentile_disc" if isinstance(node, exp.PercentileDisc) else "percentile_cont"
    order = exp.Order(expressions=[exp.Ordered(this=node.this.copy(), nulls_first=False)])
    return exp.WithinGroup(this=exp.Anonymous(this=name, expressions=[node.expression.copy()]), expression=order)


def _rewrite(node: exp.Expression) -> exp.Expression:
    if _is_fraction(node) and not isinstance(node.parent, exp.Cast):
        return _double(node)  # type: ignore[arg-type]
    if isinstance(node, exp.Bracket):
        _check_subscript(node)
    if isinstance(node, exp.TimeToUnix):
        return _epoch(node)
    if isinstance(node, exp.ToDays):
        return _to_days(node)
    if (isinstance(node, (exp.PercentileDisc, exp.PercentileCont)) and node.expression is not None
            and not isinstance(node.parent, exp.WithinGroup)):
        return _quantile(node)
    return node


#: the rewrites applied before sqlglot writes Spark SQL: DuckDB function → what it becomes (docs and tests)
REWRITES = {
    "epoch(a - b)": "(unix_micros(a) - unix_micros(b)) / 1e6",
    "epoch(ts)": "unix_micros(ts) / 1e6",
    "to_days(n)": "make_dt_interval(n)",
    "quantile_disc(x, q)": "percentile_disc(q) WITHIN GROUP (ORDER BY x)",
    "quantile_cont(x, q)": "percentile_cont(q) WITHIN GROUP (ORDER BY x)",
    "0.5 (a literal with a fraction)": "CAST(0.5 AS DOUBLE)",
}


@lru_cache(maxsize=4096)
def to_spark(sql: str) -> str:
    """The Spark SQL of one DuckDB statement (the catalog's dialect).

    Memoised on the exact text (the translation is a pure function of it): sqlglot takes a tenth of a second to
    most of a second per indicator query on a busy machine, and a run asks again for the same texts (the grid query
    of one indicator at every grain, see indicator_values_spark.indicator_frame), as does every later run in the same
    process (a scheduler's, a bench's) while the catalog and the data's span stay the same. A changed formula is a
    new text, so nothing stale is served; a text that fails to translate is not cached (it raises every time)."""
    try:
        statements = sqlglot.parse(sql, read=READ)
    except sqlglot.errors.ParseError as e:
        raise SparkTranslationError(f"sqlglot cannot parse this DuckDB SQL: {e}\nSQL:\n{sql}") from None
    if len(statements) != 1 or statements[0] is None:
        raise SparkTranslationError(f"expected one SQL statement, got {len(statements)}\nSQL:\n{sql}")
    tree = statements[0].transform(_rewrite)
    try:
        return tree.sql(dialect=WRITE, unsupported_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.UnsupportedError as e:
        raise SparkTranslationError(f"sqlglot cannot write this as Spark SQL: {e}\nSQL:\n{sql}") from None
