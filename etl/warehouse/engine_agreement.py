"""When two engines' indicator_values agree: one rule, used by the Spark conformance test and by `bench engines`.

Two runs of the catalog (DuckDB in process, Spark over Parquet) compute the same cells by the same SQL, but not in the
same order: a distributed sum adds its partial sums in whatever order the tasks finish, so floating point differs in
the last bits. A number agrees when

    |a - b| <= ABS_TOL + REL_TOL * max(|a|, |b|)

(NULLs agree with NULLs only, NaN with NaN; texts must be equal). REL_TOL = 1e-9 covers any re-ordered sum of up to
millions of terms (each addition errs by ~1e-16 relative). ABS_TOL = 1e-6 covers what cancels: a design-based SE of
a share at 0 % or 100 % (and the interval bounds around it) is 0 in exact arithmetic, a square root of a difference of
sums of squares that both engines leave at ~1e-7 to 1e-5 on the 0–100 scale; 1e-6 is 1,000 times below the three
decimals a value is published with. A real difference (another row, a NULL, a value off in its 6th digit) fails.
"""

from __future__ import annotations

import math

import polars as pl

KEYS = ("unit_code", "period", "grain", "indicator_id")
NUMBERS = ("value", "numerator", "denominator", "n", "ci_low", "ci_high", "se")
TEXTS = ("interval_method", "missing_reason")
REL_TOL = 1e-9
ABS_TOL = 1e-6


def numbers_agree(a: float | None, b: float | None) -> bool:
    """The rule above for one number (None: SQL NULL)."""
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def cell_differences(expected: pl.DataFrame, got: pl.DataFrame) -> list[str]:
    """Every cell where `got` differs from `expected` (rows missing on either side included), as readable lines
    `unit/period/grain/indicator column: expected …, got …`."""
    cols = [c for c in (*KEYS, *NUMBERS, *TEXTS) if c in expected.columns]
    joined = expected.select(cols).join(got.select(cols), on=list(KEYS), how="full", suffix="_got", coalesce=True,
                                        nulls_equal=True)
    out: list[str] = []
    for row in joined.iter_rows(named=True):
        where = "/".join(str(row[k]) for k in KEYS)
        for c in cols[len(KEYS):]:
            a, b = row[c], row[f"{c}_got"]
            if not (numbers_agree(a, b) if c in NUMBERS else a == b):
                out.append(f"{where} {c}: expected {a!r}, got {b!r}")
    return out
