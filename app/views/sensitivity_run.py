"""A sensitivity run for the web app: factors chosen on the page → uncertainty spec → MC, Sobol, tornado (background).

The heavy lifting is the uncertainty engine's (indicators.uncertainty.problem, montecarlo, sensitivity); this module turns
the page's choices into an `UncertaintySpec`, runs the three analyses in stages with progress and cancel points,
and returns plain arrays and frames that the figures take. Results are cached by `spec_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from app.web.jobs import JobContext
from etl.stores import sensitivity as store
from etl.jobs.uncertainty_summary import standard_errors
from app.views.scoring import choose_grain
from indicators.periods import completeness, default_period
from app.state import AppContext
from indicators.uncertainty.montecarlo import run_monte_carlo
from indicators.profile import WeightProfile
from indicators.uncertainty.sensitivity import SHIFT_OUTPUT, sobol_analysis, tornado
from indicators.spec import MethodSpec
from indicators.uncertainty.problem import BlendRange, Inputs, UncertaintySpec, WeightNoise, build_problem, model_preparer

FACTORS = ("weights", "blend", "normalisation", "aggregation", "imputation", "data")
DEFAULT_FACTORS = ("weights", "blend")
SAMPLE_SIZES = (1000, 4000, 16000)
# Normalisations with a positive floor, so geometric aggregation stays defined when it is an alternative too.
ALT_NORMALISATIONS = (MethodSpec(name="minmax", params={"l": 1.0, "u": 100.0}),
                      MethodSpec(name="zscore", params={"m": 10.0, "s": 2.0}),
                      MethodSpec(name="prank", params={}))
ALT_AGGREGATIONS = (MethodSpec(name="amean", params={}), MethodSpec(name="gmean", params={}))


def build_spec(factors: Sequence[str], n: int, seed: int, profile: WeightProfile) -> UncertaintySpec:
    """The uncertainty specification for the chosen factors (unknown names are refused)."""
    unknown = sorted(set(factors) - set(FACTORS))
    if unknown:
        raise ValueError(f"unknown factor(s) {', '.join(unknown)}; allowed: {', '.join(FACTORS)}")
    m = profile.methods
    data: dict[str, Any] = {"samples": int(n), "seed": int(seed), "bootstrap": 100,
                            "sobol_samples": 1 << max(6, min(12, int(np.log2(max(n, 64) / 8))))}
    if "weights" in factors:
        data["weight_noise"] = (WeightNoise(name="dimensions", level=2, spread=0.5),)
    if "blend" in factors:
        data["blend"] = BlendRange(demand=(0.2, 0.8))
    if "normalisation" in factors:
        data["normalisation"] = (m.normalisation, *[a for a in ALT_NORMALISATIONS if a != m.normalisation])
    if "aggregation" in factors:
        data["aggregation"] = (m.aggregation, *[a for a in ALT_AGGREGATIONS if a != m.aggregation])
    data["imputation"] = "imputation" in factors
    if "data" in factors:
        data["data"] = True
    return UncertaintySpec(**data)


def spec_key(ctx: AppContext, profile: WeightProfile, spec: UncertaintySpec) -> str:
    """Cache key: the data snapshot, what changes the profile's numbers, and the whole uncertainty spec."""
    payload = {"snapshot": list(ctx.snapshot().key or ()), "profile": profile.scoring_hash(),
               "spec": spec.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class SensitivityResult:
    """What the page draws: rank intervals, pairwise probabilities, Sobol indices, tornado; and failures."""

    units: tuple[str, ...]
    period: str
    nominal_rank: np.ndarray
    nominal_score: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_above: np.ndarray
    n: int
    n_ok: int
    failures: dict[str, int]
    sobol: pl.DataFrame  # factor, output, S, S_low, S_high, ST, ST_low, ST_high
    tornado: pl.DataFrame  # factor, setting, unit, score, score_change, rank, rank_change, failure
    factors: tuple[str, ...]
    sobol_evaluations: int = 0  # model evaluations of the Saltelli design
    sobol_failed: int = 0  # of which failed (their rows are left out of the indices)


def run(ctx: AppContext, profile: WeightProfile, spec: UncertaintySpec, job: JobContext | None = None
        ) -> SensitivityResult:
    """Build the problem on the latest period, then Monte Carlo, Sobol and tornado, reporting progress between."""

    def progress(x: float) -> None:
        if job is not None:
            job.progress(x)

    progress(0.02)
    snap = ctx.snapshot()
    fw = ctx.framework
    g = choose_grain(snap.values)
    long = snap.values.filter((pl.col("grain") == g) & pl.col("indicator_id").is_in(list(fw.indicators)))
    periods = sorted(long["period"].unique().to_list())
    period = default_period(periods, snap.complete_months) or periods[-1]
    prepare, units = model_preparer(fw, long, periods=periods, period=period,
                                    complete=completeness(periods, snap.complete_months))
    errors = standard_errors(snap.path, fw, g, period, units) if spec.data else None
    inputs = Inputs(framework=fw, units=units, prepare=prepare, model=profile.methods_for(fw),
                    weights=profile.resolved_weights(fw), data=errors)
    problem = build_problem(spec, inputs)
    progress(0.25)
    rng = np.random.default_rng(spec.seed)
    mc = run_monte_carlo(problem, spec.samples, rng, sampler=spec.sampler,
                         progress=lambda x: progress(0.25 + 0.25 * x))  # a cancel stops the run between chunks
    progress(0.5)
    sob = sobol_analysis(problem, spec.sobol_samples, rng, sampler=spec.sampler, n_boot=spec.bootstrap,
                         confidence=spec.confidence)
    progress(0.85)
    tor = tornado(problem)
    progress(0.99)
    s = mc.summary
    return SensitivityResult(
        units=tuple(units), period=period, nominal_rank=mc.nominal_ranks, nominal_score=mc.nominal_scores,
        median=s.median_rank, low=s.rank_low, high=s.rank_high, p_above=s.p_above, n=spec.samples, n_ok=s.n_ok,
        failures={**mc.failures(), **{f"Sobol: {k}": v for k, v in sob.failures.items()}},
        sobol=sob.table(), tornado=tor, factors=sob.factors, sobol_evaluations=sob.n_evaluations,
        sobol_failed=sum(sob.failures.values()),
    )


def sobol_frame(res: SensitivityResult, output: str | None = None) -> pl.DataFrame:
    """Indices for one output (a unit code, or the mean absolute rank shift) as the figure wants them."""
    out = output or SHIFT_OUTPUT
    d = res.sobol.filter(pl.col("output") == out)
    return d.select(
        pl.col("factor").alias("label"), pl.col("S").fill_nan(None).alias("S1"),
        ((pl.col("S_high") - pl.col("S_low")) / 2).fill_nan(None).alias("S1_conf"),
        pl.col("ST").fill_nan(None), ((pl.col("ST_high") - pl.col("ST_low")) / 2).fill_nan(None).alias("ST_conf"),
    )


def tornado_frame(res: SensitivityResult, unit: str) -> tuple[pl.DataFrame, float]:
    """Per factor: the best and worst rank of `unit` over the factor's one-at-a-time settings.

    Ranks, not scores: alternative normalisations put scores on different scales, ranks stay comparable.
    """
    i = res.units.index(unit)
    base = float(res.nominal_rank[i])
    d = res.tornado.filter((pl.col("unit") == unit) & pl.col("rank").is_not_nan())
    frame = d.group_by("factor", maintain_order=True).agg(
        pl.col("rank").max().alias("low"), pl.col("rank").min().alias("high")
    ).rename({"factor": "label"})
    return frame, base


# -- persistence (etl.stores.sensitivity): the last result per profile survives reloads and restarts ----------------
_ARRAYS = ("nominal_rank", "nominal_score", "median", "low", "high", "p_above")
_FRAMES = ("sobol", "tornado")


def _data_key(ctx: AppContext, profile: WeightProfile) -> list[Any]:
    """What a stored result must share with the screen to be shown: the data snapshot and the profile's numbers."""
    return [list(ctx.snapshot().key or ()), profile.scoring_hash()]


def to_json(res: SensitivityResult, data_key: list[Any] | None = None) -> str:
    d: dict[str, Any] = {f: getattr(res, f) for f in ("units", "period", "n", "n_ok", "failures", "factors",
                                                        "sobol_evaluations", "sobol_failed")}
    d.update({f: np.asarray(getattr(res, f), dtype=float).tolist() for f in _ARRAYS})
    d.update({f: getattr(res, f).to_dicts() for f in _FRAMES})
    d["schemas"] = {f: {c: str(t) for c, t in getattr(res, f).schema.items()} for f in _FRAMES}
    d["data_key"] = data_key
    return json.dumps(d, allow_nan=True, default=str)


def from_json(text: str) -> SensitivityResult:
    d = json.loads(text)
    frames: dict[str, Any] = {f: pl.DataFrame(d[f], schema={c: getattr(pl, t) for c, t in d["schemas"][f].items()})
                              for f in _FRAMES}
    arrays: dict[str, Any] = {f: np.array(d[f], dtype=float) for f in _ARRAYS}
    return SensitivityResult(
        units=tuple(d["units"]), period=d["period"], n=int(d["n"]), n_ok=int(d["n_ok"]), failures=d["failures"],
        factors=tuple(d["factors"]), sobol_evaluations=int(d["sobol_evaluations"]),
        sobol_failed=int(d["sobol_failed"]), **arrays, **frames)


def run_stored(ctx: AppContext, profile: WeightProfile, spec: UncertaintySpec, job: JobContext | None = None
               ) -> SensitivityResult:
    """The stored result of this exact specification, else `run` and store it (the profile's last results kept)."""
    path, key = store.store_path(ctx.runs_path), spec_key(ctx, profile, spec)
    text = store.load(path, key)
    if text is not None:
        return from_json(text)
    res = run(ctx, profile, spec, job)
    store.save(path, key, profile.name, to_json(res, _data_key(ctx, profile)))
    return res


def last_stored(ctx: AppContext, profile: WeightProfile) -> SensitivityResult | None:
    """The profile's newest stored result, when it was computed on the data now shown (same snapshot, same
    profile numbers); else None."""
    hit = store.latest(store.store_path(ctx.runs_path), profile.name)
    if hit is None:
        return None
    if json.loads(json.dumps(_data_key(ctx, profile), default=str)) != json.loads(hit[1]).get("data_key"):
        return None
    return from_json(hit[1])
