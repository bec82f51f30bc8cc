"""The DuckDB → Spark SQL translation (sqlglot) of the catalog's formulas, and its two rewrites, without a JVM.

Running the translations on Spark, and comparing every cell with DuckDB, is test_indicator_values_spark.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

pytest.importorskip("sqlglot")

from etl.contract.catalog import load_catalog  # noqa: E402
from etl.warehouse.indicator_values import formula_sql  # noqa: E402
from etl.warehouse.spark_sql import REWRITES, SparkTranslationError, to_spark  # noqa: E402

CATALOG = load_catalog()


@pytest.mark.parametrize("d", list(CATALOG), ids=lambda d: d.id)
def test_every_catalog_formula_translates_to_spark_sql(d: object) -> None:
    # one grain here (the grains differ only in {period(…)}); the Spark conformance test runs all three
    sql = to_spark(formula_sql(d, "quarter", date(2025, 6, 30)))  # type: ignore[arg-type]
    assert sql.upper().startswith(("SELECT", "WITH"))
    # the DuckDB functions Spark lacks never reach it
    for duckdb_only in ("EPOCH", "TO_DAYS", "STRFTIME", "LIST", "LIST_SORT"):
        assert not re.search(rf"\b{duckdb_only}\s*\(", sql, re.IGNORECASE), \
            f"{d.id}: {duckdb_only}( left in {sql}"  # type: ignore[attr-defined]


def test_epoch_of_an_interval_keeps_the_fraction_of_a_second() -> None:
    # sqlglot alone writes UNIX_TIMESTAMP(a - b): Spark's takes no interval and drops fractions of a second
    sql = to_spark("SELECT epoch(closed_at - accepted_at) / epoch(due_at - accepted_at) AS x FROM t")
    assert "UNIX_TIMESTAMP" not in sql.upper()
    assert sql.upper().count("UNIX_MICROS(") == 4
    assert "(UNIX_MICROS(CAST(closed_at AS TIMESTAMP)) - UNIX_MICROS(CAST(accepted_at AS TIMESTAMP)))" in sql.upper() \
        .replace("CLOSED_AT", "closed_at").replace("ACCEPTED_AT", "accepted_at")


def test_epoch_of_a_timestamp_and_of_a_timestamp_minus_an_interval_are_seconds_since_1970() -> None:
    assert to_spark("SELECT epoch(ts) FROM t").upper().count("UNIX_MICROS(") == 1
    shifted = to_spark("SELECT epoch(ts - INTERVAL 1 DAY) FROM t").upper()
    assert shifted.count("UNIX_MICROS(") == 1 and "INTERVAL" in shifted


def test_to_days_becomes_a_day_time_interval() -> None:
    sql = to_spark("SELECT count(*) FILTER (WHERE closed_at <= created_at + to_days(deadline_days)) FROM t")
    assert "MAKE_DT_INTERVAL(deadline_days)" in sql.upper().replace("DEADLINE_DAYS", "deadline_days")
    assert "TO_DAYS" not in sql.upper()


def test_the_rewrites_are_documented() -> None:
    assert set(REWRITES) == {"epoch(a - b)", "epoch(ts)", "to_days(n)", "quantile_disc(x, q)", "quantile_cont(x, q)",
                             "0.5 (a literal with a fraction)"}


def test_quantile_disc_becomes_the_exact_ordered_set_aggregate_never_an_approximation() -> None:
    sql = to_spark("SELECT quantile_disc(materials_required_n, 0.5) AS m FROM service_item GROUP BY 1").upper()
    assert "PERCENTILE_DISC(" in sql and "WITHIN GROUP (ORDER BY MATERIALS_REQUIRED_N" in sql
    assert "APPROX" not in sql and "QUANTILE_DISC" not in sql
    cont = to_spark("SELECT quantile_cont(wait_min, 0.9) AS p FROM queue_ticket GROUP BY 1").upper()
    assert "PERCENTILE_CONT(" in cont and "WITHIN GROUP (ORDER BY WAIT_MIN" in cont and "QUANTILE" not in cont


def test_a_literal_with_a_fraction_is_a_double_not_a_decimal() -> None:
    # Spark keeps (k + 1.0) / (n + 2) as a DECIMAL with 6 places; DuckDB divides in DOUBLE
    sql = to_spark("SELECT (k + 1.0) / (n + 2), 1.96 * x, 2 * y, 1e-3 FROM t").upper()
    assert sql.count("AS DOUBLE)") == 3 and "CAST(2 AS" not in sql
    assert to_spark("SELECT CAST(0.5 AS DOUBLE) FROM t").upper().count("CAST(") == 1


def test_duckdb_subscripts_are_one_based_and_sparks_zero_based() -> None:
    assert "[2]" in to_spark("SELECT l[3] FROM t")
    sql = to_spark("SELECT list_sort(list(x))[CAST(k AS BIGINT)] FROM t GROUP BY ALL")
    assert "- 1" in sql or "+ -1" in sql
    assert "['a']" in to_spark("SELECT s['a'] FROM t")  # a struct key is not a position


def test_a_subscript_of_unknown_type_is_refused_not_read_one_element_off() -> None:
    # sqlglot leaves l[k] as it is: on Spark it would read the element after the one DuckDB reads
    with pytest.raises(SparkTranslationError, match=r"\[k\].*CAST"):
        to_spark("SELECT l[k] FROM t")


def test_sql_that_does_not_parse_names_the_problem() -> None:
    with pytest.raises(SparkTranslationError, match="cannot parse"):
        to_spark("SELECT FROM WHERE (")
    with pytest.raises(SparkTranslationError, match="one SQL statement"):
        to_spark("SELECT 1; SELECT 2")


def test_a_text_is_translated_once_then_served_from_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: sqlglot's parse and write cost ~0.1-0.5 s per indicator query; the same text (the grid query at
    every grain, every later run in a scheduler's process) is translated once. A failure is not remembered."""
    import etl.warehouse.spark_sql as spark_sql

    parsed: list[str] = []
    real_parse = spark_sql.sqlglot.parse

    def counted(sql: str, **kw: object) -> object:
        parsed.append(sql)
        return real_parse(sql, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(spark_sql.sqlglot, "parse", counted)
    text = f"SELECT epoch(b - a) / 2.5 AS memo_{uuid.uuid4().hex} FROM t"  # a text no other test asked for
    first = to_spark(text)
    assert to_spark(text) == first and to_spark(text) == first
    assert parsed.count(text) == 1
    bad = "SELECT FROM WHERE ( memo_probe"
    for _ in range(2):
        with pytest.raises(SparkTranslationError):
            to_spark(bad)
    assert parsed.count(bad) == 2
