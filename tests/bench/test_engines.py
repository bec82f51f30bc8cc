"""bench engines counts the cells where Spark and DuckDB disagree by the conformance test's rule (issue 20)."""

from __future__ import annotations

import polars as pl

from bench.engines import _differences
from etl.warehouse.engine_agreement import ABS_TOL, NUMBERS, TEXTS, cell_differences


def _cells(se: list[float | None]) -> pl.DataFrame:
    n = len(se)
    return pl.DataFrame({
        "unit_code": [f"31010{i}" for i in range(n)], "period": ["2025-01"] * n, "grain": ["month"] * n,
        "indicator_id": ["x"] * n, "value": [None] * n, "numerator": [0.0] * n, "denominator": [0.0] * n,
        "n": [0.0] * n, "ci_low": se, "ci_high": se, "se": se, "interval_method": ["wilson"] * n,
        "missing_reason": ["not_recorded"] * n,
    }, schema_overrides={"value": pl.Float64})


def test_nan_on_both_sides_is_not_a_difference() -> None:
    # The bench's own rule counted NaN against NaN as a difference (math.isclose); the conformance test's did not.
    # (The quick run's 921 cells were another thing: 307 cells × (ci_low, ci_high, se), a Wilson interval over n = 0,
    # NaN on DuckDB and NULL on Spark; see test_an_interval_over_no_observations_is_null_on_both_engines.)
    a = _cells([float("nan"), 0.0])
    assert _differences(a, a) == 0
    assert _differences(a, a.with_columns(pl.lit(1.0).alias("se"))) == 2  # a NaN (and a 0) that became 1


def test_the_bench_and_the_conformance_test_share_one_tolerance() -> None:
    a = _cells([0.0, 50.0])
    within = a.with_columns(pl.col("se") + pl.Series([ABS_TOL / 2, 50.0 * 5e-10]))
    beyond = a.with_columns(pl.col("se") + pl.Series([ABS_TOL * 3, 50.0 * 1e-7]))
    assert _differences(a, within) == 0 == len(cell_differences(a, within))
    assert _differences(a, beyond) == 2 == len(cell_differences(a, beyond))
    # a NULL against a number, a row missing, another reason: all differences
    assert _differences(a, a.with_columns(pl.lit(None, pl.Float64).alias("n"))) == 2
    assert len(cell_differences(a, a.head(1))) == len(NUMBERS) + len(TEXTS) - 1  # value is NULL on both sides
    assert _differences(a, a.with_columns(pl.lit("no_cases").alias("missing_reason"))) == 2


def test_the_bench_sizes_the_spark_heap_by_scale() -> None:
    """Scale 25 ran out of a 2g driver heap (OutOfMemoryError in a task) and finished at 8g: the full run's second
    row must not start with the heap that is known to fail (docs/scale.md)."""
    from bench.engines import driver_memory_for

    assert driver_memory_for(5) == "2g"
    assert driver_memory_for(25) == "8g"
