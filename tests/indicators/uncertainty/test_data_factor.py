"""The data factor (issue 13.2): indicator values drawn from their sampling distributions, the pipeline re-run."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.model import score
from indicators.spec import ModelSpec
from indicators.uncertainty.montecarlo import rank_table, run_monte_carlo
from indicators.uncertainty.problem import (
    DataUncertainty, Inputs, UncertaintySpec, WeightNoise, build_problem, model_preparer, sampling_draws,
)
from indicators.uncertainty.sensitivity import sobol_analysis, tornado
from tests.indicators.uncertainty.uncertainty_fixtures import raw_data, two_sided


def _inputs(X: np.ndarray, se: np.ndarray | None, model: ModelSpec | None = None) -> Inputs:
    fw = two_sided()
    prepare, units = model_preparer(fw, X)
    du = None if se is None else DataUncertainty(se, np.zeros(X.shape[1]), np.full(X.shape[1], 100.0),
                                                 np.ones(X.shape[1], bool))
    return Inputs(fw, units, prepare, model or ModelSpec(), fw.weights(), data=du)


def test_draws_follow_the_sampling_distribution_and_stay_in_range() -> None:
    v = np.array([[50.0, 99.0, 0.0, 30.0, 12.0]])
    se = np.array([[5.0, 2.0, 1.0, np.nan, 3.0]])
    du = DataUncertainty(se, lower=np.array([0, 0, 0, 0, np.nan]), upper=np.array([100, 100, 100, 100, np.nan]),
                         proportion=np.array([True, True, True, True, False]))
    d = sampling_draws(v, du, 20_000, np.random.default_rng(0))[:, 0, :]
    assert ((d[:, :4] >= 0) & (d[:, :4] <= 100)).all()
    assert d[:, 0].mean() == pytest.approx(50, abs=0.15) and d[:, 0].std() == pytest.approx(5, rel=0.03)  # beta
    assert d[:, 1].mean() == pytest.approx(99, abs=0.1) and d[:, 1].max() <= 100  # beta near the top, in range
    assert d[:, 2].min() >= 0 and d[:, 2].mean() > 0  # at a bound: truncated normal, never below it
    assert (d[:, 3] == 30).all()  # no standard error: the value is exact
    assert d[:, 4].mean() == pytest.approx(12, abs=0.1) and d[:, 4].std() == pytest.approx(3, rel=0.03)


def test_a_data_sample_equals_scoring_its_drawn_values_directly() -> None:
    fw = two_sided()
    X = raw_data(fw)
    se = np.full(X.shape, 3.0)
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),), data=True, data_draws=16, seed=5)
    problem = build_problem(spec, _inputs(X, se))
    draws = sampling_draws(X, _inputs(X, se).data, 16, np.random.default_rng([5, 13]))  # type: ignore[arg-type]
    s = problem.draw(np.random.default_rng(2).random((6, problem.n_columns)))
    scores, reasons = problem.evaluate_drawn(s)
    assert (reasons == -1).all() and (s.data >= 0).all()
    for k in range(6):
        w = dict(zip(problem.tree.slots, s.Wt[:, k], strict=True))
        ref = score(fw, draws[s.data[k]], ModelSpec(weights=w)).root_scores[0]
        np.testing.assert_allclose(scores[k], ref, rtol=1e-10)


def test_rank_intervals_widen_with_the_sampling_error_and_vanish_without_it() -> None:
    fw = two_sided()
    X = raw_data(fw)
    spec = UncertaintySpec(data=True, data_draws=64)
    widths = []
    for size in (0.0, 1.0, 6.0):
        res = run_monte_carlo(build_problem(spec, _inputs(X, np.full(X.shape, size))), 2000,
                              np.random.default_rng(0))
        t = rank_table(res)
        widths.append(float((t["rank_high"] - t["rank_low"]).mean()))
    assert widths[0] == 0 < widths[1] < widths[2]


def test_without_standard_errors_the_data_factor_is_left_out_and_said_so() -> None:
    fw = two_sided()
    problem = build_problem(UncertaintySpec(weight_noise=(WeightNoise(level=1),), data=True),
                            _inputs(raw_data(fw), None))
    assert [f.name for f in problem.factors] == ["weights:level1"]
    assert any(i.factor == "data" and "standard errors" in i.message for i in problem.issues)


def test_sobol_and_tornado_see_the_data_factor() -> None:
    fw = two_sided()
    X = raw_data(fw)
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1, spread=0.01),), data=True, data_draws=64)
    problem = build_problem(spec, _inputs(X, np.full(X.shape, 8.0)))
    tab = sobol_analysis(problem, 256, np.random.default_rng(0), n_boot=20).table()
    st = {r["factor"]: r["ST"] for r in tab.filter(tab["output"] == "mean_abs_rank_shift").iter_rows(named=True)}
    assert st["data"] > 0.8 > st["weights:level1"]
    tor = tornado(problem)
    assert tor.filter(tor["factor"] == "data")["setting"].n_unique() == 10
