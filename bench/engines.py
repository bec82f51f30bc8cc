"""The indicator stage on DuckDB and on Spark local, side by side in one run, on the same warehouse.

For each demo scale (quick: 0.2 over 6 months; full: 5 and 25 over 24 months) the demo's files are ingested once into
a DuckDB warehouse; then the indicator stage runs on DuckDB (compute_indicator_values, in process) and on Spark
local[*] (export to partitioned Parquet + the translated SQL; the JVM's start-up is measured apart and left out).
The DuckDB time is the reference: a Spark row's ratio is how many times DuckDB's time Spark takes on one machine.
The cells are compared too (the note says how many differ beyond floating point: it must be 0).

Which engine where (docs/scale.md): on one machine DuckDB wins at every scale a city produces (Spark pays a fixed
cost per query and per stage); Spark is for data that no longer fits one machine's disk or time window: the
national scale, on a cluster, where the same SQL runs unchanged.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.engines [--quick] [--scale 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import BenchRow
from bench import data as bench_data


def _differences(a: Any, b: Any) -> int:
    """Cells that differ beyond floating point, by the conformance test's rule (etl.warehouse.engine_agreement)."""
    from etl.warehouse.engine_agreement import cell_differences  # local: polars only when the bench runs

    return len(cell_differences(a, b))


#: the Spark driver's heap for the bench (local mode: the driver is the executor too). The scale-5 failures were
#: Spark's 10m broadcast threshold (now [spark] broadcast_threshold = 1m) and the cache of every table in this heap
#: (now only tables under indicator_values_spark.CACHE_LIMIT_BYTES of Parquet): scale 5 finishes at 2g. Scale 25
#: (52.5M rows, 581 MB of Parquet) ran out of a 2g heap (java.lang.OutOfMemoryError in a task) and finishes at 8g
#: (the JVM's resident size peaked at 9.2 GB): docs/scale.md sizes the heap for `--engine spark` users from this.
BENCH_DRIVER_MEMORY = "2g"
LARGE_SCALE_DRIVER_MEMORY = "8g"


def driver_memory_for(scale: float) -> str:
    """The bench's driver heap at a demo scale: 2g up to scale 5 (10.8M rows), 8g above (scale 25 failed at 2g)."""
    return BENCH_DRIVER_MEMORY if scale <= 5 else LARGE_SCALE_DRIVER_MEMORY


def measure(scale: float, months: int, driver_memory: str | None = None) -> dict[str, Any]:
    """Ingest the demo at `scale` (once: bench.data.ingested), then time the indicator stage on both engines."""
    # local: heavy imports (duckdb, pyspark) only when the bench runs
    from etl.config import SparkConfig
    from etl.contract.catalog import load_catalog
    from etl.warehouse import connection as warehouse
    from etl.warehouse.indicator_values import GRAINS, compute_indicator_values
    from etl.warehouse.indicator_values_spark import SparkEngine
    from etl.warehouse.spark_session import spark_session

    driver_memory = driver_memory or driver_memory_for(scale)
    db, rows_in = bench_data.ingested(scale, months)
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        spark = spark_session(SparkConfig(driver_memory=driver_memory))
        t_start = time.perf_counter() - t0
        with warehouse.connection(db, read_only=True) as con:
            t0 = time.perf_counter()
            duck = compute_indicator_values(con, catalog)
            t_duck = time.perf_counter() - t0
            engine = SparkEngine(spark, Path(tmp) / "parquet")
            t0 = time.perf_counter()
            on_spark = engine(con, catalog, GRAINS, span=None)
            t_spark = time.perf_counter() - t0
        export_bytes = sum(t.bytes for t in engine.run.exported)
        spark.stop()
    return {"scale": scale, "months": months, "rows_in": rows_in, "cells": duck.height,
            "duckdb_s": t_duck, "spark_s": t_spark, "spark_start_s": t_start, "parquet_mb": export_bytes / 1e6,
            "queries": engine.run.queries, "differ": _differences(duck, on_spark), "load": os.getloadavg(),
            "driver_memory": driver_memory,
            "parquet": {t.name: (t.bytes / 1e6, t.bytes <= engine.cache_limit) for t in engine.run.exported}}


def _row(m: dict[str, Any]) -> BenchRow:
    ratio = m["spark_s"] / m["duckdb_s"] if m["duckdb_s"] else float("nan")
    note = (f"{m['rows_in']:,} rows in, {m['cells']:,} cells; DuckDB {m['duckdb_s']:.1f} s, Spark local "
            f"{m['spark_s']:.1f} s ({m['queries']} queries, driver {m['driver_memory']}; JVM start "
            f"{m['spark_start_s']:.1f} s apart); Parquet "
            f"{m['parquet_mb']:.1f} MB; {m['differ']} cell(s) differ; load average "
            f"{'/'.join(f'{x:.1f}' for x in m['load'])}; use " + ("DuckDB" if ratio > 1 else "Spark")
            + " on one machine at this scale")
    return BenchRow("engines", f"indicator stage on Spark local vs DuckDB, demo --scale {m['scale']:g}",
                    m["spark_s"], "s", m["duckdb_s"], "reference", "0 cells differ", m["differ"] == 0, note)


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: one row per scale, Spark's time with DuckDB's as the reference."""
    plan = ((0.2, 6),) if quick else ((5.0, 24), (25.0, 24))
    return [_row(measure(scale, months)) for scale, months in plan]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--scale", type=float, action="append", help="demo scale(s) instead of 5 and 25")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--driver-memory", default=None,
                        help=f"Spark driver heap (spark.driver.memory); default {BENCH_DRIVER_MEMORY} up to scale 5, "
                        f"{LARGE_SCALE_DRIVER_MEMORY} above")
    args = parser.parse_args()
    plan = [(s, args.months) for s in args.scale] if args.scale else (
        [(0.2, 6)] if args.quick else [(5.0, 24), (25.0, 24)])
    for scale, months in plan:
        m = measure(scale, months, args.driver_memory)
        r = _row(m)
        print(f"scale {scale:g}: {r.note}; Spark/DuckDB = {r.ratio:.1f}x", flush=True)
        print("  Parquet MB (* cached): " + ", ".join(f"{name} {mb:.1f}{'*' if kept else ''}"
                                                    for name, (mb, kept) in m["parquet"].items()), flush=True)


if __name__ == "__main__":
    main()
