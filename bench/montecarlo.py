"""Benchmark: the Monte Carlo engine at scale and on its discrete-choice and data-uncertainty paths (issues 13, 16).

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.montecarlo` (or `python -m bench montecarlo`). Each measure is
timed (best of a few, wall clock: the machine is shared) beside its floor or baseline measured in the same command;
the ratio is what is compared against the budget, the seconds against the absolute goal.

1. 2,844 units x 39 indicators (the catalog's framework, synthetic lognormal data), weights + blend varied, 10,000
   samples: composites, rank histogram, rank intervals, score quantiles (no pairwise table: opt-in above 128 units).
   Floor: numpy doing the least the same answer needs: one (S x 39) @ (39 x U) product per chunk, an argsort per
   sample row and a scatter-add of the ranks into the U x U histogram. Goal: under 5 s and within 4x the floor.
2. 16 units x 32 indicators, 100,000 samples with normalisation x aggregation x dropped-indicator choices: exactly
   bench.sensitivity's CHOICES problem (Dirichlet dimension shares, outlier treatment; one definition, so the two
   benchmarks cannot disagree on it), timed the same way (CPU seconds, best of 3, bench.sensitivity.cpu_run).
   Reference: its WEIGHTS_ONLY problem, same samples. Goal: under 0.3 s.
3. 16 units, 10,000 samples with the data factor (indicator values drawn from their sampling distributions) and the
   weights: against the method-only run of the same size. Goal: under 1 s.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench import BenchRow, budget_row, floor_row  # noqa: E402
from bench.sensitivity import (  # noqa: E402
    CHOICES, CHOICES_GOAL_S, CHOICES_LABEL, WEIGHTS_ONLY, choices_problem, cpu_run, govindex_like,
)
from etl.contract.catalog import load_catalog  # noqa: E402
from indicators.framework import Framework  # noqa: E402
from indicators.spec import MethodSpec, ModelSpec  # noqa: E402
from indicators.uncertainty.montecarlo import run_monte_carlo  # noqa: E402
from indicators.uncertainty.problem import (  # noqa: E402
    BlendRange, DataUncertainty, Inputs, Problem, UncertaintySpec, WeightNoise, build_problem, model_preparer,
)

MODEL = ModelSpec(normalisation=MethodSpec(name="minmax", params={"l": 1, "u": 100}))
WEIGHTS = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2)), blend=BlendRange(demand=(0.3, 0.7)))


def best(fn: Callable[[], Any], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _problem(fw: Framework, X: np.ndarray, spec: UncertaintySpec, data: DataUncertainty | None = None) -> Problem:
    prepare, units = model_preparer(fw, X)
    return build_problem(spec, Inputs(fw, units, prepare, MODEL, fw.weights(), data=data))


def floor(fw: Framework, X: np.ndarray, n: int, chunk: int = 512) -> None:
    """matmul + argsort + rank histogram, chunk by chunk: the least work the rank summary needs."""
    U, I = X.shape
    rng = np.random.default_rng(0)
    counts = np.zeros((U, U), dtype=np.int64)
    off = (np.arange(U) * U)[:, None]
    Xt = np.nan_to_num(X).T
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        w = rng.random((k, I))
        s = w @ Xt
        order = np.argsort(-s, axis=1)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(U)[None, :], axis=1)
        np.add.at(counts.reshape(-1), (ranks.T + off).ravel(), 1)


def catalog_data(n_units: int, seed: int = 0) -> tuple[Framework, np.ndarray]:
    fw = load_catalog().framework()
    return fw, np.random.default_rng(seed).lognormal(2.0, 0.7, (n_units, len(fw.indicators)))


def synthetic_se(X: np.ndarray, share: float = 0.05) -> DataUncertainty:
    """Standard errors of `share` of each value's size, no bounds: enough to time the data path."""
    return DataUncertainty(se=np.abs(X) * share)


def rows(quick: bool = False) -> list[BenchRow]:
    """The measures as `python -m bench all` rows (bench/__main__.py's convention); quick: the 16-unit ones only."""
    out: list[BenchRow] = []
    for r in measures(include_national=not quick):
        if r["budget_kind"] == "floor":
            row = floor_row("montecarlo", r["measure"], r["now_s"], r["baseline_s"], r["budget"],
                            note=f"goal also < {r['goal_s']:g} s")
        else:
            row = budget_row("montecarlo", r["measure"], r["now_s"], r["budget"], reference=r["baseline_s"],
                             kind="reference")
        out.append(row)
    return out


def measures(include_national: bool = True) -> list[dict[str, Any]]:
    """One row per measure: {measure, now_s, baseline_s, ratio, budget, budget_kind} (ratio = now / baseline; the
    budget applies to the ratio where the baseline is a floor, else to now_s)."""
    out: list[dict[str, Any]] = []
    if include_national:
        out += _national()
    out += _discrete_and_data()
    return out


def _national() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    fw, X = catalog_data(2844)
    p = _problem(fw, X, WEIGHTS)
    run_monte_carlo(p, 512, np.random.default_rng(0))  # warm-up
    n = 10_000
    now = best(lambda: run_monte_carlo(p, n, np.random.default_rng(1)), 2)
    base = best(lambda: floor(fw, X, n), 2)
    out.append({"measure": f"Monte Carlo 2,844 units x {len(fw.indicators)}, 10,000 samples (goal < 5 s)",
                "now_s": now, "baseline_s": base, "ratio": now / base, "budget": 4.0, "budget_kind": "floor",
                "goal_s": 5.0})
    return out


def _discrete_and_data() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    p_choices, p_weights = choices_problem(CHOICES), choices_problem(WEIGHTS_ONLY)
    run_monte_carlo(p_choices, 1000, np.random.default_rng(0))  # warm-up (imports; the Gamma tables, built once per process)
    now, base = cpu_run(p_choices, 100_000)[0], cpu_run(p_weights, 100_000)[0]
    out.append({"measure": f"{CHOICES_LABEL}, 100,000 samples, CPU s (goal < {CHOICES_GOAL_S:g} s) vs weights only",
                "now_s": now, "baseline_s": base, "ratio": now / base, "budget": CHOICES_GOAL_S,
                "budget_kind": "seconds"})
    fw16, X16 = govindex_like()
    p_w = _problem(fw16, X16, WEIGHTS)
    p_data = _problem(fw16, X16, WEIGHTS.model_copy(update={"data": True}), synthetic_se(X16))
    now = best(lambda: run_monte_carlo(p_data, 10_000, np.random.default_rng(1)))
    base = best(lambda: run_monte_carlo(p_w, 10_000, np.random.default_rng(1)))
    out.append({"measure": "16 units, 10,000 samples with the data factor (goal < 1 s) vs method only",
                "now_s": now, "baseline_s": base, "ratio": now / base, "budget": 1.0, "budget_kind": "seconds"})
    return out


def main() -> None:
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}  load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for r in measures():
        print(f"{r['measure']:<86} now {r['now_s']:7.3f} s  baseline {r['baseline_s']:7.3f} s  "
              f"ratio {r['ratio']:6.2f}  budget {r['budget']}")


if __name__ == "__main__":
    main()
