"""The Spark engine against the DuckDB engine: every indicator of the catalog, every cell, on the demo warehouse.

The catalog is iterated, so an indicator (or a relation in grid_relations) added later is covered without a change
here. One SparkSession serves the test session (tests/conftest.py `spark`); the Spark tests are marked slow.
"""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse
from etl.warehouse.engine_agreement import KEYS, NUMBERS, TEXTS, cell_differences
from etl.warehouse.indicator_values import (
    COLUMNS, COVERAGE_TABLE, TABLE, IndicatorSQLError, compute_indicator_values, write_indicator_values,
)
from indicators.catalog import Catalog

# slow: the conformance run is 117 small Spark jobs (39 indicators × 3 grains), minutes on two busy cores
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.timeout(1800)]
pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")

from etl.warehouse import indicator_values_spark  # noqa: E402
from etl.warehouse.indicator_values_spark import SparkEngine  # noqa: E402
from etl.warehouse.spark_sql import to_spark  # noqa: E402


@pytest.fixture(scope="module")
def demo_db(warehouses: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return warehouses.demo(tmp_path_factory.mktemp("spark-demo"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def on_both(demo_db: Path, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DuckDB engine's values, and the Spark engine's as written back into a copy of the warehouse."""
    catalog = load_catalog()
    duck = compute_indicator_values(demo_db, catalog)
    folder = tmp_path_factory.mktemp("spark-run")
    copy = folder / "warehouse.duckdb"
    shutil.copy2(demo_db, copy)
    engine = SparkEngine(spark, folder / "parquet")
    asked: list[str] = []  # every text the engine has translated, repeats included

    def recorded(sql: str) -> str:
        asked.append(sql)
        return to_spark(sql)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(indicator_values_spark, "to_spark", recorded)
        returned = write_indicator_values(copy, catalog, compute=engine)
    with warehouse.connection(copy, read_only=True) as con:
        stored = con.sql(f"SELECT * FROM {TABLE}").pl()
        coverage = con.sql(f"SELECT * FROM {COVERAGE_TABLE}").fetchall()
    with warehouse.connection(demo_db, read_only=True) as con:
        duck_coverage = con.sql(f"SELECT * FROM {COVERAGE_TABLE}").fetchall()
    return {"catalog": catalog, "duckdb": duck, "returned": returned, "stored": stored, "engine": engine,
            "coverage": (duck_coverage, coverage), "asked": asked}


def test_every_indicator_agrees_cell_for_cell_with_duckdb(on_both: dict[str, Any]) -> None:
    duck, stored = on_both["duckdb"], on_both["stored"]
    catalog: Catalog = on_both["catalog"]
    assert set(stored["indicator_id"].unique()) == {d.id for d in catalog}  # every indicator of the catalog
    assert stored.height == duck.height > 0
    diffs = cell_differences(duck, stored)
    assert not diffs, f"{len(diffs)} cell(s) differ, e.g.:\n" + "\n".join(diffs[:40])
    # the demo exercises the interesting cases, so agreeing means something
    assert duck["value"].null_count() > 0 and duck["missing_reason"].drop_nulls().n_unique() >= 2
    assert duck.filter(pl.col("interval_method") != "none")["ci_low"].drop_nulls().len() > 0


def test_the_spark_engine_writes_back_what_the_duckdb_engine_writes(on_both: dict[str, Any]) -> None:
    returned, stored = on_both["returned"], on_both["stored"]
    assert stored.columns == list(COLUMNS) and returned.columns == list(COLUMNS)
    assert stored.schema == on_both["duckdb"].schema
    assert returned.equals(on_both["duckdb"].select(COLUMNS)) or not cell_differences(on_both["duckdb"], returned)
    assert returned.select(KEYS).equals(on_both["duckdb"].select(KEYS))  # same row order
    duck_coverage, coverage = on_both["coverage"]
    assert coverage == duck_coverage and coverage


def test_the_run_exports_every_table_the_catalog_reads(on_both: dict[str, Any]) -> None:
    run = on_both["engine"].run
    catalog: Catalog = on_both["catalog"]
    exported = {t.name for t in run.exported}
    assert {t for d in catalog for t in d.tables} <= exported
    assert run.queries == 3 * len(list(catalog))  # one per indicator per grain
    case = next(t for t in run.exported if t.name == "case")
    assert case.partitioned_by == "_month" and case.rows > 0 and case.bytes > 0


def test_the_grid_query_of_an_indicator_is_one_text_at_every_grain(on_both: dict[str, Any]) -> None:
    """Issue 20: sqlglot took ~0.4 s per grid query on a busy machine, and each indicator's differed per grain only
    in its grain literal and view name. It is one text now (the grain column set on the DataFrame), translated once
    per indicator and served from to_spark's memo at the other grains; the conformance test above checks the cells."""
    n = len(list(on_both["catalog"]))
    grids = [sql for sql in on_both["asked"] if "FROM _iv_formula_" in sql]
    assert len(grids) == 3 * n  # asked at every grain …
    assert len(set(grids)) == n  # … but the same text at each: one translation per indicator
    assert set(on_both["stored"]["grain"].unique()) == {"month", "quarter", "year"}


def test_cell_differences_sees_a_changed_value_a_missing_row_and_a_changed_reason() -> None:
    base = pl.DataFrame({
        "unit_code": ["a", "b"], "period": ["2025Q1"] * 2, "grain": ["quarter"] * 2, "indicator_id": ["x"] * 2,
        "value": [1.0, None], "numerator": [1.0, 0.0], "denominator": [1.0, 0.0], "n": [1.0, 0.0],
        "ci_low": [0.5, None], "ci_high": [1.5, None], "se": [0.1, None], "interval_method": ["wilson"] * 2,
        "missing_reason": [None, "no_cases"],
    })
    assert cell_differences(base, base) == []
    assert cell_differences(base, base.with_columns(pl.col("value") * (1 + 1e-12))) == []
    assert len(cell_differences(base, base.with_columns(pl.col("value") + 1e-5))) == 1
    # a missing row: every cell that is not NULL on the other side (value, ci_low, ci_high, se are NULL there)
    assert len(cell_differences(base, base.head(1))) == len(NUMBERS) + len(TEXTS) - 4
    assert len(cell_differences(base, base.with_columns(pl.lit("imprecise").alias("missing_reason")))) == 2


# -- the rewrites, executed: Spark's answer equals DuckDB's -------------------------------------------------------
REWRITE_CASES = [
    ("epoch(TIMESTAMP '2025-03-01 10:00:01.250' - TIMESTAMP '2025-03-01 10:00:00')", 1.25),
    ("epoch(TIMESTAMP '2025-03-02 00:00:00' - TIMESTAMP '2025-03-01 00:00:00') / "
     "epoch(TIMESTAMP '2025-03-05 00:00:00' - TIMESTAMP '2025-03-01 00:00:00')", 0.25),
    ("epoch(TIMESTAMP '1970-01-02 00:00:00.5')", 86400.5),
    ("CAST(TIMESTAMP '2025-02-27 08:00:00' + to_days(3) AS VARCHAR)", "2025-03-02 08:00:00"),
    ("TIMESTAMP '2025-02-27 08:00:00' + to_days(2) <= TIMESTAMP '2025-03-01 08:00:00'", True),
    ("list_sort([3, 1, 2])[CAST(2 AS BIGINT)]", 2),
]


@pytest.mark.parametrize("expr,answer", REWRITE_CASES, ids=[c[0][:40] for c in REWRITE_CASES])
def test_a_rewritten_function_gives_on_spark_what_it_gives_on_duckdb(spark: Any, expr: str, answer: Any) -> None:
    sql = f"SELECT {expr} AS x"
    assert duckdb.sql(sql).fetchall()[0] == (answer,)
    assert spark.sql(to_spark(sql)).collect()[0][0] == answer


def test_an_indicator_that_does_not_run_on_spark_is_named(spark: Any, demo_db: Path, tmp_path: Path) -> None:
    catalog = load_catalog()
    d = next(iter(catalog))
    broken = d.model_copy(update={"sql": d.sql.model_copy(update={"numerator": "count(no_such_column)"})})
    with warehouse.connection(demo_db, read_only=True) as con, pytest.raises(IndicatorSQLError, match=d.id):
        SparkEngine(spark, tmp_path / "pq")(con, [broken], ("year",), span=(date(2025, 1, 1), date(2025, 3, 31)))


def test_the_refresh_step_builds_the_spark_engine_from_configuration(spark: Any, tmp_path: Path) -> None:
    # last in this file: the configured session settings (e.g. 8 shuffle partitions) apply to the shared session
    from etl.config import load_config
    from etl.jobs.refresh_steps import indicator_engine

    db = tmp_path / "w.duckdb"
    config = load_config(None, env={}, overrides={"engine.indicators": "spark", "paths.db": str(db)})
    engine = indicator_engine(config)
    assert isinstance(engine, SparkEngine) and engine.spark is spark
    assert engine.parquet_dir == tmp_path / "w.duckdb.parquet" and engine.parallel == config.spark.parallel_queries


def test_every_query_reads_the_tables_and_rating_prompt_from_the_cache_which_is_released_after(
    spark: Any, demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The formulas of a run read the same few tables (and the rating ⋈ case join of rating_prompt) once per formula
    # and grain: read once into Spark's cache, not again from Parquet (nor the join again) in every query.
    from etl.warehouse import indicator_values_spark as ivs

    catalog = [d for d in load_catalog() if d.id in ("unprompted_satisfaction", "rating_coverage_rate")]
    assert len(catalog) == 2
    leaves: list[list[str]] = []  # per query, the optimised plan's leaves: a Parquet scan is a LogicalRelation
    collect = ivs._collect

    def seen(frame: Any) -> pl.DataFrame:
        found = frame._jdf.queryExecution().optimizedPlan().collectLeaves()
        leaves.append([found.apply(i).nodeName() for i in range(found.size())])
        return collect(frame)

    monkeypatch.setattr(ivs, "_collect", seen)
    persistent = spark.sparkContext._jsc.getPersistentRDDs().size()
    with warehouse.connection(demo_db, read_only=True) as con:
        out = SparkEngine(spark, tmp_path / "pq")(con, catalog, ("month",), span=(date(2025, 1, 1), date(2025, 3, 31)))
    assert out.height > 0 and len(leaves) == 2
    for names in leaves:
        # rating, case and rating_prompt (whose join reads centre_staffing) from the cache; the grid's relations
        # (units, periods) are local
        assert "InMemoryRelation" in names and "LogicalRelation" not in names, names
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == persistent  # released: the session outlives a run


def test_a_large_cached_table_is_not_broadcast_at_the_engine_default(spark: Any) -> None:
    # Issue 20, scale 5: Spark estimates a cached table's join side by its in-memory size scaled to the columns
    # used; at its default threshold (10 MB) it broadcast the ~240k ratings (rating ⋈ case, rating_prompt: 4.5 to
    # 8.8 MB estimated, several times that as a hash table built in the driver), four queries at once beside the
    # cached tables, and the 1-2 GB driver ran out of memory. The same shape at test size: a 400k-row side of a LEFT
    # JOIN (only it can be the build side), estimated at a few MB, is shuffled, not broadcast; tiny relations (the
    # grid's units and periods) still are.
    from pyspark import StorageLevel

    from etl.config import SparkConfig
    from etl.warehouse.spark_session import session_conf

    threshold = session_conf(SparkConfig())["spark.sql.autoBroadcastJoinThreshold"]
    assert spark.conf.get("spark.sql.autoBroadcastJoinThreshold") in (threshold, "1048576")
    big = spark.range(400_000).selectExpr("id AS case_id", "xxhash64(id) AS centre_id", "xxhash64(id, 1) AS closed_at",
                                          "xxhash64(id, 2) AS started_at").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        assert big.count() == 400_000  # materialised: the estimate is now the cache's own size
        estimate = int(str(big.select("case_id", "centre_id")._jdf.queryExecution().optimizedPlan().stats()
                           .sizeInBytes()))
        assert 1 << 20 < estimate < 10 << 20, estimate  # between the engine's threshold and Spark's default
        small = spark.range(0, 400_000, 400).selectExpr("id AS rating_id", "id AS case_id")
        joined = small.join(big.select("case_id", "centre_id"), on="case_id", how="left")
        plan = joined._jdf.queryExecution().executedPlan().toString()
        assert "BroadcastHashJoin" not in plan and "SortMergeJoin" in plan, plan
        assert joined.count() == 1000
        tiny = spark.range(16).selectExpr("id AS case_id")
        assert "BroadcastHashJoin" in small.join(tiny, on="case_id")._jdf.queryExecution().executedPlan().toString()
    finally:
        big.unpersist()


@pytest.mark.parametrize("indicator", ["cross_district_case_share", "hotline_service_complaint_rate"])
@pytest.mark.parametrize("numerator,denominator", [(0, 0), (0, None), (3, 0)])
def test_an_interval_over_no_observations_is_null_on_both_engines(
    spark: Any, indicator: str, numerator: int, denominator: int | None
) -> None:
    # The quick bench's "921 cells differ": a Wilson (or Poisson) interval over a denominator of 0 was NaN or inf on
    # DuckDB (IEEE division) and NULL on Spark (x / 0 without ANSI mode); now NULL on both, like the value
    from etl.warehouse.indicator_values import _interval_sql

    d = next(d for d in load_catalog() if d.id == indicator)
    x = _interval_sql(d, {"numerator", "denominator"})
    den = "CAST(NULL AS DOUBLE)" if denominator is None else f"CAST({denominator} AS DOUBLE)"
    sql = (f"SELECT {x['_v']} AS v, {x['_lo']} AS lo, {x['_hi']} AS hi, {x['_se']} AS se "
           f"FROM (SELECT CAST({numerator} AS DOUBLE) AS numerator, {den} AS denominator) f")
    assert duckdb.sql(sql).fetchall() == [(None, None, None, None)]
    assert tuple(spark.sql(to_spark(sql)).collect()[0]) == (None, None, None, None)
    ok = sql.replace(f"{den} AS denominator", "CAST(10 AS DOUBLE) AS denominator")
    lo, hi, se = duckdb.sql(ok).fetchall()[0][1:]
    assert lo is not None and hi is not None and se is not None and not math.isnan(se)


def test_a_table_larger_than_the_cache_limit_is_read_from_parquet_not_cached(
    spark: Any, demo_db: Path, tmp_path: Path
) -> None:
    # Issue 20, scale 5: every table was cached (`case` 340 MB and `case_event` 671 MB in memory, several times
    # their Parquet) in the one local heap beside the running tasks, and the 1g driver died with "Java heap space".
    # A table over the limit is scanned from Parquet by each query (the columns it uses); a smaller one is cached.
    from etl.warehouse.parquet_export import export_tables

    with warehouse.connection(demo_db, read_only=True) as con:
        exported = {t.name: t for t in export_tables(con, tmp_path / "pq", extra=["case", "rating"])}
    case, rating = exported["case"], exported["rating"]
    assert rating.bytes < case.bytes
    cached: list[Any] = []
    try:
        limit = (rating.bytes + case.bytes) // 2
        indicator_values_spark.register_tables(spark, [case, rating], cached, cache_limit=limit)
        assert len(cached) == 1
        leaf = spark.table("case")._jdf.queryExecution().optimizedPlan().collectLeaves().apply(0).nodeName()
        assert leaf == "LogicalRelation", leaf  # Parquet
        leaf = spark.table("rating")._jdf.queryExecution().optimizedPlan().collectLeaves().apply(0).nodeName()
        assert leaf == "InMemoryRelation", leaf
        # the engine's default keeps the demo's tables (a few MB) cached, as before
        assert all(t.bytes <= indicator_values_spark.CACHE_LIMIT_BYTES for t in exported.values())
    finally:
        for df in cached:
            df.unpersist()
