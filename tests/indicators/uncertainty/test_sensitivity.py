"""Known answers for the Sobol machinery, the tornado and the swap points."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.uncertainty import sensitivity as sens
from indicators.uncertainty.sensitivity import SensitivityError, saltelli_design, sobol_analysis, sobol_convergence, sobol_indices, swap_points, tornado
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.problem import BlendRange, UncertaintySpec, WeightNoise, build_problem
from tests.indicators.uncertainty.uncertainty_fixtures import inputs_for, raw_data, reference_problem, two_sided


def _run(f, n: int, dims: list[int], seed: int = 0, sampler: str = "sobol", n_boot: int = 200):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    d = saltelli_design(n, dims, rng, sampler)
    fa, fb, fab = d.split(f(d.stacked()))
    return sobol_indices(fa, fb, fab, rng, n_boot=n_boot), (fa, fb, fab)


def test_additive_model_reproduces_analytic_indices() -> None:
    a = np.array([1.0, 2.0, 3.0, 0.5])
    res, _ = _run(lambda x: x @ a, 4096, [1, 1, 1, 1])
    analytic = a**2 / (a**2).sum()  # Y = sum a_i X_i, X_i ~ U(0,1): V_i = a_i^2 / 12
    assert res.S[:, 0] == pytest.approx(analytic, abs=0.02)
    assert res.ST[:, 0] == pytest.approx(analytic, abs=0.02)
    assert np.all(res.S_low[:, 0] - 0.01 <= analytic) and np.all(analytic <= res.S_high[:, 0] + 0.01)
    assert np.all(res.ST_low[:, 0] - 0.01 <= analytic) and np.all(analytic <= res.ST_high[:, 0] + 0.01)


def test_ishigami_total_effects_exceed_first_order() -> None:
    def ishigami(u: np.ndarray) -> np.ndarray:
        x = -np.pi + 2 * np.pi * u
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    res, _ = _run(ishigami, 8192, [1, 1, 1], n_boot=50)
    # analytic (Ishigami & Homma 1990; a=7, b=0.1): S = .3139, .4424, 0; ST = .5576, .4424, .2437
    assert res.S[:, 0] == pytest.approx([0.3139, 0.4424, 0.0], abs=0.03)
    assert res.ST[:, 0] == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.03)


def test_a_factor_that_changes_nothing_has_zero_indices_within_intervals() -> None:
    res, _ = _run(lambda x: x[:, 0] + x[:, 1] ** 2, 1024, [1, 1, 2])  # third factor (2 columns) is inert
    assert res.ST[2, 0] == 0.0 and res.ST_low[2, 0] == 0.0 and res.ST_high[2, 0] == 0.0
    assert res.S_low[2, 0] <= 0.0 <= res.S_high[2, 0]


def test_group_factor_and_random_sampler() -> None:
    # one factor spanning two columns: Y = X1 + X2 + X3 -> the group (X1, X2) carries 2/3 of the variance
    res, _ = _run(lambda x: x.sum(axis=1), 8192, [2, 1], sampler="random", n_boot=50)
    assert res.S[:, 0] == pytest.approx([2 / 3, 1 / 3], abs=0.04)


def test_identical_for_a_seed_and_different_for_another() -> None:
    f = lambda x: x @ np.array([1.0, 2.0])  # noqa: E731
    r1, _ = _run(f, 256, [1, 1], seed=7)
    r2, _ = _run(f, 256, [1, 1], seed=7)
    r3, _ = _run(f, 256, [1, 1], seed=8)
    for name in ("S", "ST", "S_low", "S_high", "ST_low", "ST_high"):
        assert np.array_equal(getattr(r1, name), getattr(r2, name))
    assert not np.array_equal(r1.S, r3.S)


def test_failed_rows_are_dropped_and_counted() -> None:
    def f(x: np.ndarray) -> np.ndarray:
        y = x @ np.array([1.0, 1.0])
        y[::10] = np.nan
        return y

    res, _ = _run(f, 512, [1, 1])
    assert res.n_dropped > 0 and res.n == 512 - res.n_dropped
    assert np.isfinite(res.S).all()


def test_convergence_prefixes_and_design_checks() -> None:
    _, (fa, fb, fab) = _run(lambda x: x @ np.array([1.0, 3.0]), 1024, [1, 1], n_boot=0)
    conv = sobol_convergence(fa, fb, fab)
    assert [n for n, _, _ in conv] == [128, 256, 512, 1024]
    assert conv[-1][2][:, 0] == pytest.approx([0.1, 0.9], abs=0.03)
    with pytest.raises(SensitivityError, match="power-of-two"):
        saltelli_design(100, [1], np.random.default_rng(0))
    with pytest.raises(SensitivityError, match="unknown sampler"):
        saltelli_design(64, [1], np.random.default_rng(0), "lhs")


# -- on a compiled problem ---------------------------------------------------------------------------------------
def test_identical_alternatives_and_single_child_noise_have_zero_sensitivity() -> None:
    fw = two_sided(single_child=True)
    inputs = inputs_for(fw, raw_data(fw))
    same = MethodSpec(name="minmax", params={"l": 0, "u": 100})
    spec = UncertaintySpec(
        weight_noise=(WeightNoise(level=2), WeightNoise(name="solo", nodes=("demand_solo_0",))),
        normalisation=(same, same),
    )
    problem = build_problem(spec, inputs)
    assert any("only child" in i.message for i in problem.issues)
    sa = sobol_analysis(problem, 256, np.random.default_rng(3), n_boot=100)
    tab = sa.table()
    for factor in ("weights:solo", "normalisation"):
        rows = tab.filter((tab["factor"] == factor) & tab["S"].is_not_nan())
        assert rows.height > 0
        assert (rows["ST"] == 0).all() and (rows["ST_high"] == 0).all()  # exactly: f(A_B) == f(A) row by row
        shift = rows.filter(rows["output"] == sens.SHIFT_OUTPUT)
        assert shift["S_low"].item() <= 0 <= shift["S_high"].item()
        # S is 0 only up to sampling noise: each 95% interval covers 0 with probability 0.95, so over the 12 outputs
        # allow the odd miss, but every estimate must be small
        covered = float(((rows["S_low"] <= 0) & (rows["S_high"] >= 0)).to_numpy().mean())
        assert covered >= 0.8
        assert rows["S"].abs().max() < 0.2  # type: ignore[operator]
    moving = tab.filter((tab["factor"] == "weights:level2") & (tab["output"] == sens.SHIFT_OUTPUT))
    assert moving["ST"].item() > 0.5
    assert sa.convergence_table().height == 4 * 3 * (len(problem.units) + 1)


def test_tornado_rows_equal_direct_scoring() -> None:
    from indicators.model import score

    fw = two_sided()
    X = raw_data(fw)
    inputs = inputs_for(fw, X)
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=2, spread=0.5),), blend=BlendRange(demand=(0.2, 0.8)),
                           aggregation=(MethodSpec(name="amean"), MethodSpec(name="hmean", params={"shift": 1.0})),
                           drop_indicators=True)
    problem = build_problem(spec, inputs)
    tor = tornado(problem)
    n_settings = 2 * 8 + 2 + 2 + len(fw.indicators)
    assert tor.height == n_settings * 16
    row = tor.filter((tor["factor"] == "blend") & (tor["setting"].str.starts_with("demand high")))
    ref = score(fw, X, ModelSpec(weights={"supply": 0.2, "demand": 0.8})).root_scores[0]
    assert row["score"].to_numpy() == pytest.approx(ref, abs=1e-9)
    row = tor.filter(tor["setting"] == "without demand_value_1")
    ref = score(fw, X, ModelSpec(weights={"demand_value_1": 0.0})).root_scores[0]
    assert row["score"].to_numpy() == pytest.approx(ref, abs=1e-9)
    row = tor.filter(tor["setting"] == "hmean(shift=1.0)")
    ref = score(fw, X, ModelSpec(aggregation=MethodSpec(name="hmean", params={"shift": 1.0}))).root_scores[0]
    assert row["score"].to_numpy() == pytest.approx(ref, abs=1e-9)


def test_tornado_and_sobol_with_a_zero_weight_indicator_outside_the_domain() -> None:
    """The reference-only indicator has a 0 under a geometric mean: dropping it or its weight noise changes nothing,
    dropping a weighted one equals the engine (or fails, counted, where the engine leaves a unit without a score)."""
    from indicators.model import score

    fw, X, model, problem = reference_problem(noise="dirichlet")
    tor = tornado(problem)
    for setting in ("without demand_value_ref", "demand_value_ref low (share 0.000)",
                    "demand_value_ref high (share 0.000)"):
        row = tor.filter(tor["setting"] == setting)
        assert row.height == 16 and row["failure"].null_count() == 16, setting
        assert row["score_change"].to_numpy() == pytest.approx(0, abs=1e-9)  # BLAS may round the last bit
        assert (row["rank_change"].to_numpy() == 0).all()
    for code in ("supply_value_1", "demand_value_1"):
        row = tor.filter(tor["setting"] == f"without {code}")
        ref = score(fw, X, model.model_copy(update={"weights": {code: 0.0}})).root_scores[0]
        if np.isfinite(ref).all():
            assert row["score"].to_numpy() == pytest.approx(ref, abs=1e-9) and row["failure"].null_count() == 16
        else:  # d07 lacks demand_value_0: its demand_value falls below the availability threshold
            assert code == "demand_value_1" and np.isnan(row["score"].to_numpy()).all()
            assert set(row["failure"]) == {"no composite for unit 'd07' (too few weighted children present for an "
                                           "availability threshold, or no data)"}
    res = sobol_analysis(problem, 64, np.random.default_rng(0), n_boot=20)
    assert 0 < sum(res.failures.values()) < res.n_evaluations // 4  # only the availability failures of some drops
    assert all("availability threshold" in k for k in res.failures)


def _scores_at_share(problem, node: str, share: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    W = sens._share_rows(problem, node, np.array([share]))
    return problem.evaluate_settings(W, np.array([-1]), np.array([True]), np.array([-1]))[0][0]


def test_swap_points_exact_and_bisection_agree_and_are_swaps(monkeypatch: pytest.MonkeyPatch) -> None:
    fw = two_sided()
    inputs = inputs_for(fw, raw_data(fw, seed=5))
    problem = build_problem(UncertaintySpec(blend=BlendRange(demand=(0.0, 1.0))), inputs)
    exact = swap_points(problem, "demand")
    assert exact.height >= len(problem.units) - 1 and set(exact["method"]) == {"exact"}
    found = exact.filter(exact["swap_share"].is_not_nan())
    assert found.height > 0
    units = list(problem.units)
    for r in found.iter_rows(named=True):
        sc = _scores_at_share(problem, "demand", r["swap_share"])
        assert sc[units.index(r["unit_a"])] == pytest.approx(sc[units.index(r["unit_b"])], abs=1e-9)
    monkeypatch.setattr(sens, "_is_linear", lambda *a: False)
    bis = swap_points(problem, "demand")
    merged = found.join(bis.filter(bis["swap_share"].is_not_nan()), on=["unit_a", "unit_b"], suffix="_b")
    assert merged.height == found.height
    assert merged["swap_share"].to_numpy() == pytest.approx(merged["swap_share_b"].to_numpy(), abs=1e-8)


def test_swap_points_with_a_geometric_mean_use_bisection() -> None:
    fw = two_sided()
    model = ModelSpec(normalisation=MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                      aggregation=MethodSpec(name="gmean"))
    problem = build_problem(UncertaintySpec(blend=BlendRange(demand=(0.0, 1.0))), inputs_for(fw, raw_data(fw), model))
    sw = swap_points(problem, "demand_value_0")
    assert set(sw["method"]) <= {"bisection", "grid"}
    units = list(problem.units)
    for r in sw.filter(sw["swap_share"].is_not_nan()).iter_rows(named=True):
        sc = _scores_at_share(problem, "demand_value_0", r["swap_share"])
        assert sc[units.index(r["unit_a"])] == pytest.approx(sc[units.index(r["unit_b"])], abs=1e-6)
    with pytest.raises(SensitivityError, match="root"):
        swap_points(problem, "index")
