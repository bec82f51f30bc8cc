"""The indicator stage on Apache Spark: the catalog's SQL, translated by sqlglot, over the warehouse as Parquet.

Same result as etl.warehouse.indicator_values (the DuckDB engine), cell for cell: the same grid of units × periods,
the same relations (`grid_relations`), the same placeholders (`formula_sql`), the same interval, precision and NULL
rules (`_indicator_query`), all written once in DuckDB's dialect and translated to Spark SQL (etl.warehouse.spark_sql).
What differs is where the rows are: the cleaned tables are exported as partitioned Parquet (etl.warehouse
.parquet_export) and read by Spark, which may run on this machine (`local[*]`) or on a cluster. The DuckDB engine's
shortcuts (monthly sums rolled up to quarters, the shared rating ⋈ case join) are not needed here: Spark plans each
grain's query itself, and a rolled-up sum equals the direct one.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from etl.warehouse import connection as warehouse, derived
from etl.warehouse import indicator_values as iv
from etl.warehouse.parquet_export import PARTITION_COLUMN, ExportedTable, export_tables
from etl.warehouse.spark_sql import SparkTranslationError, to_spark
from indicators.catalog import Catalog, IndicatorDef

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass
class SparkRun:
    """What one Spark run of the indicator stage did: the tables exported, the queries run, the rows returned."""

    exported: list[ExportedTable] = field(default_factory=list)
    queries: int = 0
    rows: int = 0


#: a table whose Parquet export is larger than this is read from Parquet by every query, not cached: Spark's
#: in-memory form is several times the Parquet's (scale 5: `case` 340 MB and `case_event` 671 MB as cached), and in
#: local mode the cache shares the one driver heap with the running tasks (scale 5 died with "Java heap space" at 1g)
CACHE_LIMIT_BYTES = 32 << 20


def register_tables(spark: SparkSession, exported: Iterable[ExportedTable], cached: list[DataFrame] | None = None,
                    cache_limit: int = CACHE_LIMIT_BYTES) -> None:
    """Each exported table as a Spark temp view of its own name, without the partition column. With `cached` (a
    list the caller unpersists after the run), each view of at most `cache_limit` bytes of Parquet is persisted and
    the DataFrame appended: every formula of every grain then reads the table from Spark's columnar cache (memory,
    spilling to local disk), not from Parquet. A larger table is scanned from Parquet by each query, only the
    columns it uses."""
    for t in exported:
        df = spark.read.parquet(str(t.path))
        if PARTITION_COLUMN in df.columns:
            df = df.drop(PARTITION_COLUMN)
        if cached is not None and t.bytes <= cache_limit:
            df = _persisted(df, cached)
        df.createOrReplaceTempView(t.name)


def _persisted(df: DataFrame, cached: list[DataFrame]) -> DataFrame:
    from pyspark import StorageLevel  # local: pyspark is the optional extra govindex[spark]

    out = df.persist(StorageLevel.MEMORY_AND_DISK)
    cached.append(out)
    return out


def register_relations(spark: SparkSession, relations: dict[str, pl.DataFrame]) -> None:
    """The run's relations (iv.grid_relations) as Spark temp views, from Arrow."""
    for name, frame in relations.items():
        spark.createDataFrame(frame.to_arrow()).createOrReplaceTempView(name)


def register_derived(spark: SparkSession, cached: list[DataFrame] | None = None) -> None:
    """The derived relations over the raw tables (etl.warehouse.derived: rating_prompt), from their one SQL text
    translated to Spark SQL, as temp views: the formulas read them as they do on DuckDB. With `cached`, each is
    persisted like the tables (register_tables): its join runs once per run, not once per formula and grain."""
    for name, sql in derived.VIEWS.items():
        df = spark.sql(to_spark(sql))
        if cached is not None:
            df = _persisted(df, cached)
        df.createOrReplaceTempView(name)


def _spark_sql(spark: SparkSession, d: IndicatorDef, grain: str, sql: str) -> DataFrame:
    """The query as a Spark DataFrame (analysed, not run); errors name the indicator and show both SQL texts."""
    try:
        text = to_spark(sql)
    except SparkTranslationError as e:
        raise iv.IndicatorSQLError(f"indicator {d.id!r} ({grain}): {e}") from None
    try:
        return spark.sql(text)
    except Exception as e:  # pyspark's AnalysisException / ParseException: report them alike
        raise iv.IndicatorSQLError(
            f"indicator {d.id!r} ({grain}): its SQL does not run on Spark: {e}\nSpark SQL:\n{text}\nDuckDB SQL:\n{sql}"
        ) from None


#: the grain written into the grid query's text on Spark; the real one replaces its `grain` column (indicator_frame)
_TEXT_GRAIN = "month"


def indicator_frame(spark: SparkSession, d: IndicatorDef, grain: str, last_day: date | None) -> DataFrame:
    """One indicator's grid at one grain as a (lazy) Spark DataFrame with the columns of iv.COLUMNS.

    The formula becomes a temp view of its own first: sqlglot lifts a formula's CTEs to the top for Spark, where
    they would collide with the grid query's (a formula may well call one of its CTEs `g` or `f`). The grid query's
    text is the same at every grain (the view has one name per indicator, the grain column is set after), so it is
    translated once per indicator, not once per grain (to_spark is memoised): the view is replaced at the next grain
    only after this grain's queries were analysed (compute_on_spark), and an analysed DataFrame keeps its plan."""
    from pyspark.sql import functions as F  # local: pyspark is the optional extra govindex[spark]

    formula = iv.formula_sql(d, grain, last_day)
    f = _spark_sql(spark, d, grain, formula)
    cols = [c.lower() for c in f.columns]
    iv._check_columns(d, cols)
    view = f"_iv_formula_{d.id}"
    f.createOrReplaceTempView(view)
    grid = _spark_sql(spark, d, grain, iv._indicator_query(d, _TEXT_GRAIN, f"SELECT * FROM {view}", cols))
    return grid.withColumn("grain", F.lit(grain))


def _collect(frame: DataFrame) -> pl.DataFrame:
    """Run one query and bring its rows back through Arrow, typed as indicator_values."""
    table: Any = frame.toArrow()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out.cast(iv.SCHEMA)  # type: ignore[arg-type]


def compute_on_spark(
    spark: SparkSession,
    exported: list[ExportedTable],
    units: pl.DataFrame,
    catalog: Catalog,
    grains: tuple[str, ...],
    span: tuple[date | None, date | None],
    run: SparkRun | None = None,
    parallel: int = 4,
    absent: frozenset[str] | set[str] = frozenset(),
    cache: bool = True,
    cache_limit: int = CACHE_LIMIT_BYTES,
) -> pl.DataFrame:
    """Every indicator × unit × period × grain from Parquet tables already exported, on `spark` (`parallel` queries
    at a time). `cache`: the tables of at most `cache_limit` bytes of Parquet and the derived relations are read
    once into Spark's cache (register_tables)."""
    cached: list[DataFrame] = []
    try:
        return _compute(spark, exported, units, catalog, grains, span, run, parallel, absent,
                        cached if cache else None, cache_limit)
    finally:
        for df in cached:  # the session outlives the run (a scheduler's process): give its memory back
            df.unpersist()


def _compute(
    spark: SparkSession, exported: list[ExportedTable], units: pl.DataFrame, catalog: Catalog,
    grains: tuple[str, ...], span: tuple[date | None, date | None], run: SparkRun | None, parallel: int,
    absent: frozenset[str] | set[str], cached: list[DataFrame] | None, cache_limit: int,
) -> pl.DataFrame:
    first, last = span
    register_tables(spark, exported, cached, cache_limit)
    register_derived(spark, cached)
    planned: list[tuple[str, IndicatorDef, int, DataFrame]] = []
    skipped: list[pl.DataFrame] = []
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for grain in grains:
            relations = iv.grid_relations(units, first, last, grain)
            register_relations(spark, relations)
            n_grid = units.height * relations["periods"].height
            if not n_grid:
                continue
            # Analysed now, while this grain's relations are registered: a DataFrame keeps the plan it resolved, so
            # the next grain's `periods` does not change it. Analysis runs in the JVM, several at once.
            # an indicator over a table the data do not hold is missing with 'no_source', as on DuckDB
            runnable = [d for d in catalog if not absent & set(d.tables)]
            skipped += [iv.no_source_grid(units, relations["periods"], grain, d)
                        for d in catalog if absent & set(d.tables)]
            frames_ = pool.map(lambda d, g=grain: indicator_frame(spark, d, g, last), runnable)
            planned += [(grain, d, n_grid, f) for d, f in zip(runnable, frames_)]
        # Each query is a small job; several at once keep the cores (or the cluster) busy between their stages.
        results = list(pool.map(lambda p: _collect(p[3]), planned))
    frames: list[pl.DataFrame] = list(skipped)
    for (grain, d, n_grid, _f), out in zip(planned, results):
        if out.height != n_grid:
            raise iv.IndicatorSQLError(
                f"indicator {d.id!r} ({grain}): its SQL returned more than one row for some (unit_code, period): "
                f"{out.height} rows for a grid of {n_grid}"
            )
        frames.append(out)
    if run is not None:
        run.queries += len(planned)
        run.rows += sum(f.height for f in frames)
    return iv.order_frame(frames, catalog, grains)


def default_parquet_dir(con: warehouse.Connection) -> Path:
    """`<db>.parquet` beside the warehouse file (the [spark] parquet_dir default)."""
    db = Path(warehouse.database_file(con))
    return db.with_name(db.name + ".parquet")


@dataclass
class SparkEngine:
    """The Spark engine as a `Compute` for iv.write_indicator_values: exports the tables, then runs on `spark`."""

    spark: SparkSession
    parquet_dir: Path | None = None
    parallel: int = 4
    run: SparkRun = field(default_factory=SparkRun)
    cache: bool = True
    cache_limit: int = CACHE_LIMIT_BYTES

    def __call__(
        self, con: warehouse.Connection, catalog: Catalog, grains: tuple[str, ...] | list[str], *,
        span: tuple[date, date] | None = None,
    ) -> pl.DataFrame:
        for g in grains:
            if g not in iv.GRAINS:
                raise iv.IndicatorSQLError(f"unknown grain {g!r}; allowed: {', '.join(iv.GRAINS)}")
        first_last = span if span is not None else iv.data_span(con)
        dest = self.parquet_dir or default_parquet_dir(con)
        self.run = SparkRun(exported=export_tables(con, dest, extra=[*(t for d in catalog for t in d.tables),
                                                                          *derived.SOURCE_TABLES]))
        return compute_on_spark(self.spark, self.run.exported, iv.units_frame(con), catalog, tuple(grains),
                                first_last, self.run, self.parallel, absent=iv.absent_tables(con), cache=self.cache,
                                cache_limit=self.cache_limit)
