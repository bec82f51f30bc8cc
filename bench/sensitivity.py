"""Benchmark: vectorised Monte Carlo against COINr's way (the whole scoring pipeline re-run per sample), same run.

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.sensitivity` (the variable is set below if absent: a
multi-threaded BLAS on a shared 2-core machine makes timings jump between runs; the batched products here are small
enough that one thread is also the fastest).

Cases
1. govindex-like: 16 units x 32 indicators (2 sides x 4 dimensions x 4), weights of both levels and the blend
   varied. Ours: 100,000 samples, composites + ranks + rank intervals + P(rank <= k) + pairwise, timed whole.
   Budget (DESIGN.md): under 1 s. The same 100,000 with Dirichlet dimension shares and discrete alternatives too
   (normalisation x aggregation x dropped indicator): CHOICES, the case bench.montecarlo's goal-3 row times too
   (issue 16: under 0.3 s).
2. COINr's reference framework (ASEM: 51 units x 49 indicators, 4 levels; asem_imeta.csv + asem_screened.csv):
   10,000 samples of the same kind.
Times are CPU seconds of this process (time.process_time: the 2 cores are shared with other work, so wall time,
printed beside it, swings with the load); with one BLAS thread CPU time equals wall time on an idle machine.
Baseline: indicators.model.score (impute -> treat -> normalise -> aggregate; COINr's default outlier treatment, as
in COINr's example build, and minmax [1, 100]) called once per sample with that sample's weights and methods, then
ranked (a line without treatment shows the bare pipeline too): a few hundred samples timed, the per-sample cost extrapolated. The first
samples of both are compared (they must agree to 1e-9) so the ratio compares equal work. Target: >= 1,000x.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from bench import BenchRow, baseline_row  # noqa: E402
from indicators.framework import Framework, Node  # noqa: E402
from indicators.model import score  # noqa: E402
from indicators.uncertainty.montecarlo import ranks_desc, run_monte_carlo  # noqa: E402
from indicators.spec import MethodSpec, ModelSpec  # noqa: E402
from indicators.uncertainty.problem import BlendRange, Inputs, Problem, UncertaintySpec, WeightNoise, build_problem, model_preparer

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "coinr-asem"
NORMS = (MethodSpec(name="minmax", params={"l": 1, "u": 100}), MethodSpec(name="zscore", params={"m": 50, "s": 10}))
AGGS = (MethodSpec(name="amean"), MethodSpec(name="gmean"))


# The two govindex-like cases, shared with bench.montecarlo so that its goal-3 row ("the discrete-choice path at 16
# units, 100,000 samples, under 0.3 s", issue 16) times exactly the problem timed here: 16 x 32 (govindex_like), COINr's
# default outlier treatment and minmax [1, 100] (choices_problem), indicator weights x U(0.75, 1.25), the blend, and
# in CHOICES the dimension shares ~ Dirichlet like the product's default spec (weights/uncertainty/default.toml) with
# normalisation x aggregation x dropped-indicator choices. Dirichlet draws were 85% of that run before gamma_ppf.
WEIGHTS_ONLY = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2)),
                               blend=BlendRange(demand=(0.3, 0.7)))
CHOICES = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2, distribution="dirichlet")),
                          blend=BlendRange(demand=(0.3, 0.7)), normalisation=NORMS, aggregation=AGGS,
                          drop_indicators=True)
CHOICES_LABEL = "16 x 32, weights (Dirichlet dimensions) + blend + norm/agg/drop choices, outlier treatment"
CHOICES_GOAL_S = 0.3


def govindex_like(n_units: int = 16, per_dim: int = 4, seed: int = 0) -> tuple[Framework, np.ndarray]:
    nodes = [Node("index", None), Node("supply", "index", 0.5), Node("demand", "index", 0.5)]
    for side in ("supply", "demand"):
        for d in ("value", "institution", "technology", "environment"):
            nodes.append(Node(f"{side}_{d}", side))
            nodes += [Node(f"{side}_{d}_{k}", f"{side}_{d}", 1.0 + k % 2, -1 if k == 2 else 1, is_indicator=True)
                      for k in range(per_dim)]
    fw = Framework.from_nodes(nodes)
    rng = np.random.default_rng(seed)
    X = 50 + 10 * rng.normal(size=(n_units, 1)) * fw.directions() + rng.normal(0, 8, (n_units, len(fw.indicators)))
    return fw, X


def asem() -> tuple[Framework, np.ndarray, tuple[str, ...]]:
    """The screened ASEM set (COINr's input to Treat): the pipeline treats, normalises and aggregates it."""
    fw = Framework.from_imeta(pl.read_csv(REFERENCE / "asem_imeta.csv"))
    data = pl.read_csv(REFERENCE / "asem_screened.csv")
    return fw, data.select(fw.indicators).to_numpy().astype(float), tuple(data["uCode"].to_list())


def _model(treatment: str) -> ModelSpec:
    return ModelSpec(treatment=MethodSpec(name=treatment), normalisation=MethodSpec(name="minmax", params={"l": 1, "u": 100}))


def _problem(fw: Framework, X: np.ndarray, spec: UncertaintySpec, units: tuple[str, ...] | None = None,
             treatment: str = "coinr_default") -> Problem:
    model = _model(treatment)
    prepare, units_ = model_preparer(fw, X, units=units)
    return build_problem(spec, Inputs(fw, units_, prepare, model, fw.weights()))


def choices_problem(spec: UncertaintySpec = CHOICES) -> Problem:
    """One of the shared 16-unit cases (CHOICES or WEIGHTS_ONLY) built the way this benchmark builds it."""
    fw, X = govindex_like()
    return _problem(fw, X, spec)


def cpu_run(problem: Problem, n: int, repeats: int = 3) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the best of `repeats` runs (the machine is shared)."""
    best = (float("inf"), float("inf"))
    for r in range(repeats):
        t, w = time.process_time(), time.perf_counter()
        res = run_monte_carlo(problem, n, np.random.default_rng(r))
        best = min(best, (time.process_time() - t, time.perf_counter() - w))
        assert res.summary.n_ok + int((~res.ok).sum()) == n
    return best


def _pipeline_per_sample(problem: Problem, X: np.ndarray, n: int, check: int = 5,
                         treatment: str = "coinr_default") -> float:
    """Seconds per sample for COINr's way: score() per sample with its weights/methods, then rank."""
    u = np.random.default_rng(99).random((n, problem.n_columns))
    W, norm, imp, agg = problem.settings(u)
    batched, _ = problem.evaluate_settings(W[:check], norm[:check], imp[:check], agg[:check])
    fw = problem.tree.framework
    t = time.process_time()
    for s in range(n):
        model = ModelSpec(
            treatment=MethodSpec(name=treatment),
            normalisation=NORMS[norm[s]] if norm[s] >= 0 else MethodSpec(name="minmax", params={"l": 1, "u": 100}),
            aggregation=AGGS[agg[s]] if agg[s] >= 0 else MethodSpec(name="amean"),
            weights=dict(zip(problem.tree.slots, W[s].tolist(), strict=True)),
        )
        composite = score(fw, X, model).root_scores[0]
        ranks_desc(composite[None, :])
        if s < check:
            assert np.allclose(composite, batched[s], rtol=1e-9, atol=1e-9), "batched and per-sample disagree"
    return (time.process_time() - t) / n


def _line(label: str, n: int, ours_cpu_wall: tuple[float, float], per_sample: float, budget: float | None) -> None:
    ours, wall = ours_cpu_wall
    ratio = per_sample * n / ours
    extra = f"  budget {budget:.1f} s: {'OK' if ours < budget else 'OVER'} ({ours / budget:.2f} of it)" if budget else ""
    print(f"{label:<50} {n:>7,} samples  ours {ours:6.3f} s (wall {wall:6.3f})  re-run {per_sample * 1e3:6.2f} "
          f"ms/sample (x{n:,} = {per_sample * n:7.1f} s)  speed-up {ratio:7,.0f}x{extra}")


def main() -> None:
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}  cpus={os.cpu_count()}")
    weights_only, full = WEIGHTS_ONLY, CHOICES
    fw, X = govindex_like()
    p1 = _problem(fw, X, weights_only)
    cpu_run(p1, 1000, repeats=1)  # warm-up (imports, first-touch allocation)
    base1 = _pipeline_per_sample(p1, X, 300)
    ours1 = cpu_run(p1, 100_000)
    _line("16 x 32, weights + blend", 100_000, ours1, base1, 1.0)
    p0 = _problem(fw, X, weights_only, treatment="none")
    _line("  same, baseline without outlier treatment", 100_000, ours1,
          _pipeline_per_sample(p0, X, 300, treatment="none"), None)
    p2 = _problem(fw, X, full)
    base2 = _pipeline_per_sample(p2, X, 300)
    _line(CHOICES_LABEL, 100_000, cpu_run(p2, 100_000), base2, CHOICES_GOAL_S)

    fa, Xa, units = asem()
    asem_spec = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2), WeightNoise(level=3)))
    p3 = _problem(fa, Xa, asem_spec, units)
    base3 = _pipeline_per_sample(p3, Xa, 200)
    _line(f"COINr ASEM {len(units)} x {len(fa.indicators)}, 4 levels, weights", 10_000, cpu_run(p3, 10_000), base3, None)
    asem_full = UncertaintySpec(weight_noise=asem_spec.weight_noise, normalisation=NORMS, aggregation=AGGS)
    p4 = _problem(fa, Xa, asem_full, units)
    base4 = _pipeline_per_sample(p4, Xa, 200)
    _line(f"COINr ASEM {len(units)} x {len(fa.indicators)}, weights + norm/agg", 10_000, cpu_run(p4, 10_000), base4,
          None)


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: ours (CPU s) against the per-sample pipeline re-run (extrapolated)."""
    weights_only, full = WEIGHTS_ONLY, CHOICES
    n, base_n, repeats = (20_000, 60, 1) if quick else (100_000, 300, 3)
    fw, X = govindex_like()
    out: list[BenchRow] = []
    for label, spec, budget in (("16 x 32, weights + blend", weights_only, 1.0),
                                (CHOICES_LABEL, full, CHOICES_GOAL_S)):  # fmt: skip
        p = _problem(fw, X, spec)
        cpu_run(p, 1000, repeats=1)  # warm-up
        per_sample = _pipeline_per_sample(p, X, base_n)
        cpu, wall = cpu_run(p, n, repeats)
        note = f"CPU s (wall {wall:.3f} s); baseline = score() per sample x {n:,} (from {base_n} samples)"
        row = baseline_row("sensitivity", f"Monte Carlo {label}, {n:,} samples", cpu, per_sample * n, 1000.0, note)
        if budget is not None:
            row.budget += f" and < {budget:g} s"
            row.ok = bool(row.ok) and cpu < budget
        out.append(row)
    if not quick:
        fa, Xa, units = asem()
        asem_spec = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2), WeightNoise(level=3)))
        p3 = _problem(fa, Xa, asem_spec, units)
        base3 = _pipeline_per_sample(p3, Xa, 200)
        cpu, wall = cpu_run(p3, 10_000)
        out.append(baseline_row("sensitivity", f"Monte Carlo COINr ASEM {len(units)} x {len(fa.indicators)}, 10,000 samples",
                                cpu, base3 * 10_000, None, f"CPU s (wall {wall:.3f} s)"))  # fmt: skip
    return out


if __name__ == "__main__":
    main()
