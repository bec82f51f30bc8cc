"""Scoring benchmarks: full pipeline (16 districts × 24 months × 32 indicators) and cached re-aggregation at 16 and
2,844 units, each against its budget and a naive baseline measured in the same run.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.scoring
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from bench import BenchRow, budget_row
from indicators.framework import Framework, Node
from indicators.model import reaggregate, score
from indicators.spec import MethodSpec, ModelSpec

BUDGET_PIPELINE_S = 0.2
BUDGET_REAGG_16_S = 0.010
BUDGET_REAGG_2844_S = 0.050


def synthetic_framework(per_dimension: int = 4) -> Framework:
    """Index → supply/demand → four dimensions each → `per_dimension` indicators (32 by default)."""
    nodes = [Node("index", None)]
    for side in ("supply", "demand"):
        nodes.append(Node(side, "index"))
        for dim in ("value", "institution", "technology", "environment"):
            code = f"{side}_{dim}"
            nodes.append(Node(code, side))
            for k in range(per_dimension):
                nodes.append(Node(f"{code}_{k}", code, is_indicator=True, direction=-1 if k == 3 else 1))
    return Framework.from_nodes(nodes)


def synthetic_long(fw: Framework, n_units: int, n_periods: int, rng: np.random.Generator) -> pl.DataFrame:
    units = [f"D{u:04d}" for u in range(n_units)]
    periods = [f"2023-{m:02d}" if m <= 12 else f"2024-{m - 12:02d}" for m in range(1, n_periods + 1)]
    codes = fw.indicators
    vals = rng.lognormal(2.0, 0.7, size=(n_periods, n_units, len(codes)))
    vals[rng.random(vals.shape) < 0.02] = np.nan
    P, U, J = np.meshgrid(np.arange(n_periods), np.arange(n_units), np.arange(len(codes)), indexing="ij")
    return pl.DataFrame(
        {
            "unit_code": np.array(units)[U.ravel()],
            "period": np.array(periods)[P.ravel()],
            "indicator_id": np.array(codes)[J.ravel()],
            "value": vals.ravel(),
        }
    )


def timeit(fn: Callable[[], Any], repeat: int = 7) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def naive_pipeline(fw: Framework, df: pl.DataFrame) -> dict[tuple[str, str], float]:
    """Baseline: per period, per indicator min-max in Python, then per unit, per node weighted means in loops."""
    rows = df.rows()
    data: dict[tuple[str, str], dict[str, float]] = {}
    for u, p, i, v in rows:
        data.setdefault((p, u), {})[i] = v
    weights = fw.weights()
    out: dict[tuple[str, str], float] = {}
    periods = sorted({p for p, _ in data})
    for p in periods:
        keys = [k for k in data if k[0] == p]
        norm: dict[tuple[str, str], dict[str, float]] = {k: {} for k in keys}
        for ind in fw.indicators:
            d = fw.node(ind).direction
            vals = [data[k].get(ind) for k in keys]
            good = [v * d for v in vals if v is not None and v == v]
            lo, hi = min(good), max(good)
            for k, v in zip(keys, vals):
                if v is not None and v == v:
                    norm[k][ind] = (v * d - lo) / (hi - lo) * 100 if hi > lo else 50.0
        for k in keys:
            vals2 = dict(norm[k])
            for agg in fw.aggregates:
                num = den = 0.0
                for c in fw.children(agg):
                    if c in vals2:
                        num += weights[c] * vals2[c]
                        den += weights[c]
                if den > 0:
                    vals2[agg] = num / den
            out[k] = vals2.get(fw.root, float("nan"))
    return out


def measure(quick: bool = False) -> list[tuple[str, float, float, float, str]]:
    """(name, seconds, budget, baseline seconds, baseline name) per measure; `quick` times fewer repeats."""
    q = 3 if quick else 1  # divide the repeats
    rng = np.random.default_rng(20240601)
    fw = synthetic_framework()
    spec = ModelSpec(treatment=MethodSpec(name="coinr_default"), imputation=MethodSpec(name="mean"))
    lines = []

    # 1. full pipeline, 16 districts × 24 months
    df16 = synthetic_long(fw, 16, 24, rng)
    t_pipe = timeit(lambda: score(fw, df16, spec).scores, repeat=max(1, 5 // q))
    t_naive = timeit(lambda: naive_pipeline(fw, df16), repeat=max(1, 3 // q))
    lines.append(("full pipeline 16×24×32 (impute, treat, normalise, aggregate, score table)", t_pipe,
                  BUDGET_PIPELINE_S, t_naive, "naive Python loop (min-max + means only)"))

    # 2. re-aggregation from cached normalised values
    res16 = score(fw, df16, spec)
    new_w = {**res16.weights, "supply": 0.4, "demand": 0.6, "supply_value_1": 3.0}
    t_re16 = timeit(lambda: reaggregate(res16.cache, new_w), repeat=max(1, 50 // q))
    t_rescore16 = timeit(lambda: score(fw, df16, spec.model_copy(update={"weights": new_w})), repeat=max(1, 5 // q))
    lines.append(("re-aggregate 16 units × 24 months", t_re16, BUDGET_REAGG_16_S, t_rescore16, "full re-score"))

    df2844 = synthetic_long(fw, 2844, 1, rng)
    res2844 = score(fw, df2844, spec)
    t_re2844 = timeit(lambda: reaggregate(res2844.cache, new_w), repeat=max(1, 30 // q))
    t_rescore2844 = timeit(lambda: score(fw, df2844, spec.model_copy(update={"weights": new_w})), repeat=max(1, 3 // q))
    lines.append(("re-aggregate 2,844 units × 1 period", t_re2844, BUDGET_REAGG_2844_S, t_rescore2844,
                  "full re-score"))
    fast = reaggregate(res2844.cache, new_w)
    slow = score(fw, df2844, spec.model_copy(update={"weights": new_w})).values
    assert np.allclose(fast, slow, equal_nan=True), "re-aggregation disagrees with a full re-score"
    return lines


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: one row per measure (budget in seconds, baseline beside it)."""
    return [budget_row("scoring", name, t, budget, reference=base, kind="baseline", note=f"baseline: {base_name}")
            for name, t, budget, base, base_name in measure(quick)]  # fmt: skip


def main() -> None:
    lines = measure()
    print(f"{'benchmark':<78} {'time':>10} {'budget':>9} {'t/budget':>9} {'baseline':>10} {'speed-up':>9}")
    for name, t, budget, base, base_name in lines:
        print(f"{name:<78} {t * 1e3:>8.2f}ms {budget * 1e3:>7.0f}ms {t / budget:>9.3f} {base * 1e3:>8.1f}ms "
              f"{base / t:>8.1f}x  ({base_name})")
    ok = all(t <= budget for _, t, budget, _, _ in lines)
    print("all within budget" if ok else "SOME BUDGETS EXCEEDED")

if __name__ == "__main__":
    main()
