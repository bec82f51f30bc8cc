"""The data factor (issue 13.2): indicator values drawn from their sampling distributions, the pipeline re-run."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.model import score
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty import montecarlo
from indicators.uncertainty.montecarlo import CompiledTree, evaluate, evaluate_draws, rank_table, run_monte_carlo
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


def test_profiles_differing_in_weights_share_the_draws_and_their_preparation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refresh builds a problem per profile and part on the same data; with a DrawCache the draws and their
    prepared matrices are made once (at 2,844 units they were a third of the uncertainty step), and the problems
    equal those built without it. A smaller draw count takes the first draws of a larger one: the same numbers."""
    import indicators.uncertainty.problem as problem_mod
    from indicators.uncertainty.problem import DrawCache, PanelPreparer

    fw = two_sided()
    X = raw_data(fw)
    se = np.full(X.shape, 3.0)
    calls = {"draws": 0, "prepare": 0}
    draws_fn, call_fn = problem_mod.sampling_draws, PanelPreparer.__call__

    def counting_draws(*a, **k):  # type: ignore[no-untyped-def]
        calls["draws"] += 1
        return draws_fn(*a, **k)

    def counting_call(self, model):  # type: ignore[no-untyped-def]
        calls["prepare"] += 1
        return call_fn(self, model)

    monkeypatch.setattr(problem_mod, "sampling_draws", counting_draws)
    monkeypatch.setattr(PanelPreparer, "__call__", counting_call)
    big = UncertaintySpec(weight_noise=(WeightNoise(level=1),), data=True, data_draws=16, seed=5)
    small = big.model_copy(update={"data_draws": 8})
    cache = DrawCache()
    cached = []
    for spec, weights in ((big, {"supply": 0.8, "demand": 0.2}), (big, {"supply": 0.3, "demand": 0.7}),
                          (small, {"supply": 0.5, "demand": 0.5})):
        base = _inputs(X, se)
        inputs = Inputs(base.framework, base.units, base.prepare, base.model, fw.weights(weights), base.data, cache)
        cached.append((spec, inputs, build_problem(spec, inputs)))
    assert calls["draws"] == 1  # once for every profile, the smaller count sliced from the larger
    assert calls["prepare"] == 3 + 16  # each problem's own nominal matrix, and the 16 drawn ones once
    for spec, inputs, problem in cached:
        plain = build_problem(spec, Inputs(*(getattr(inputs, f) for f in ("framework", "units", "prepare", "model",
                                                                         "weights", "data"))))
        assert problem.data_tensors.keys() == plain.data_tensors.keys()
        for key, t in plain.data_tensors.items():
            assert np.array_equal(problem.data_tensors[key], t)


@pytest.mark.parametrize("gather", [True, False])
@pytest.mark.parametrize("method", [("amean", {}), ("gmean", {})])
def test_evaluate_draws_equals_evaluate_per_draw_on_either_path(method: tuple[str, dict], gather: bool,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Draws with missing values or a value outside the geometric mean's domain, and a sample whose weights leave a
    branch empty, take evaluate's general path inside evaluate_draws (gathered per sample in one call, or per draw
    past the memory budget); the others its one-product path. Each sample must score (and fail) exactly as
    evaluate scores it on its own draw."""
    if not gather:
        monkeypatch.setattr(montecarlo, "_GATHER_BYTES", 0)
    fw = two_sided()
    tree = CompiledTree.build(fw)
    rng = np.random.default_rng(4)
    Xs = rng.uniform(1, 100, (6, 8, len(fw.indicators)))
    Xs[1, 2, 3] = np.nan  # missing: general path
    Xs[2, 5, 0] = 0.0  # log 0 for the geometric mean: that draw's samples fail there
    W = np.tile(tree.weight_vector(), (40, 1)) * rng.uniform(0.5, 1.5, (40, tree.n_slots))
    W[7, [tree.slot_of[c] for c in fw.children(fw.children(fw.root)[0])]] = 0.0  # a side left without weight
    which = rng.integers(0, 6, 40)
    methods = tree.methods(default=method)
    ev = evaluate_draws(tree, Xs, which, W, methods)
    for s in range(40):
        ref = evaluate(tree, Xs[which[s]], W[s : s + 1], methods)
        np.testing.assert_allclose(ev.root[s], ref.root[0], rtol=1e-13, atol=1e-13)
        assert ev.domain_step[s] == ref.domain_step[0]
    if method[0] == "gmean":
        assert (ev.domain_step[which == 2] >= 0).all()
    only_general = evaluate_draws(tree, Xs, np.array([1, 2, 1]), W[:3], methods)  # no sample on the product path
    for s, d in enumerate((1, 2, 1)):
        np.testing.assert_allclose(only_general.root[s], evaluate(tree, Xs[d], W[s : s + 1], methods).root[0],
                                   rtol=1e-13, atol=1e-13)


def test_samples_on_drawn_data_are_evaluated_per_method_combination_not_per_draw(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pass spread its samples over 64 data draws x the method combinations and evaluated every (combination,
    draw) group on its own: 12,800 evaluate calls, most of the product default spec's 100,000-sample run. The
    effective weights are now computed once per combination in a pass (counted here, no timing)."""
    fw = two_sided()
    X = raw_data(fw)
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),), data=True, data_draws=64, seed=5,
                           normalisation=(MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                                          MethodSpec(name="zscore", params={"m": 50, "s": 10})))
    problem = build_problem(spec, _inputs(X, np.full(X.shape, 3.0)))
    calls = {"n": 0}
    real = montecarlo.effective_weights_batch

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(montecarlo, "effective_weights_batch", counting)
    s = problem.draw(np.random.default_rng(2).random((4096, problem.n_columns)))
    assert len(np.unique(s.data)) == 64 and len(np.unique(s.norm)) == 2
    problem.evaluate_drawn(s)
    assert calls["n"] <= 2  # one per normalisation choice; before: one per (choice, draw), 128
