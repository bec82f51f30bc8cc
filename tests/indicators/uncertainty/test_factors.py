"""Factor kinds of the uncertainty analysis: one class each, all registered, sampled and one-at-a-time settings agree."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import special

from indicators.uncertainty.factors import FACTOR_KINDS, Factor, FactorError, Settings, apply_drops, make_factor
from indicators.uncertainty.problem import Factor as ProblemFactor
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.montecarlo import run_monte_carlo
from indicators.uncertainty.problem import BlendRange, DataUncertainty, Problem, UncertaintySpec, WeightNoise, build_problem
from tests.indicators.uncertainty.uncertainty_fixtures import inputs_for, raw_data, two_sided

KINDS = ("weights", "blend", "normalisation", "aggregation", "imputation", "drop", "data")


def test_every_factor_kind_is_registered_with_its_own_class() -> None:
    assert set(FACTOR_KINDS) == set(KINDS)
    assert len(set(FACTOR_KINDS.values())) == len(KINDS)
    for kind, cls in FACTOR_KINDS.items():
        f = make_factor(kind, f"a {kind}", (0,), choices=("x", "y"))
        assert type(f) is cls and f.kind == kind and isinstance(f, Factor)
    with pytest.raises(FactorError, match="unknown factor kind 'noise'"):
        make_factor("noise", "n", (0,))
    assert ProblemFactor is Factor  # problem.py builds factors through the registry, no second dispatch


def _every_kind(noise: str) -> Problem:
    fw = two_sided()
    X = raw_data(fw, missing=4)
    model = ModelSpec(normalisation=MethodSpec(name="minmax"), aggregation=MethodSpec(name="amean"))
    spec = UncertaintySpec(
        weight_noise=(WeightNoise(level=2, distribution=noise),),  # type: ignore[arg-type]
        blend=BlendRange(demand=(0.3, 0.7)),
        normalisation=(MethodSpec(name="zscore"), MethodSpec(name="rank")),
        aggregation=(MethodSpec(name="amean"), MethodSpec(name="gmean")),
        imputation=True,
        drop_indicators=True,
        data=True, data_draws=16,
    )
    inputs = replace(inputs_for(fw, X, model), data=DataUncertainty(np.full(X.shape, 2.0)))
    return build_problem(spec, inputs)


def test_every_kind_of_the_reference_problem_round_trips_from_design_to_settings() -> None:
    """Each factor of a problem with every kind: a design value that picks one of its settings gives the settings
    its one-at-a-time row names (discrete choices exactly; weights and blend at their low/high ends)."""
    problem = _every_kind("uniform")
    kinds = {f.kind for f in problem.factors}
    assert kinds == set(KINDS), f"the reference problem lacks {set(KINDS) - kinds}"
    tree, w0 = problem.tree, problem.w0
    for f in problem.factors:
        rows = list(f.one_at_a_time(tree, w0))
        assert rows, f.kind
        if f.choices:  # discrete: the centre of choice i's bin selects choice i
            k = len(f.choices)
            for i, one in enumerate(rows):
                # choice 0 is the nominal for imputation and drop; the data rows are some of its draws
                pick = one.data if f.kind == "data" else i + 1 if f.kind in ("imputation", "drop") else i
                u = np.full((1, problem.n_columns), 0.5)
                u[0, f.columns[0]] = (pick + 0.5) / k
                ref = Settings.nominal(w0, 1)
                f.apply(np.ascontiguousarray(u.T)[list(f.columns)], ref, tree, w0)
                apply_drops(ref, tree)
                assert ((ref.norm[0], bool(ref.imp[0]), ref.agg[0], ref.data[0])
                        == (one.norm, one.imp, one.agg, one.data)), (f.kind, i)
                np.testing.assert_allclose(ref.Wt[:, 0], one.w, err_msg=f"{f.kind} choice {i}")
        else:  # continuous: the design's ends (u = 0 and u -> 1) give the low and high rows' weights
            for one, edge in zip(rows[:2], (0.0, 1.0), strict=True):
                s = Settings.nominal(w0, 1)
                cols = np.full((len(f.columns), 1), edge)
                if f.kind == "weights":  # only the row's own node moves in a one-at-a-time row
                    cols[:] = 0.5
                    cols[0, 0] = edge
                f.apply(cols, s, tree, w0)
                np.testing.assert_allclose(s.Wt[:, 0], one.w, err_msg=f"{f.kind} {one.label}")


def test_imputation_is_a_factor_by_default_when_the_profile_imputes_cells() -> None:
    """Issue 13.5: imputed values make the imputation choice a factor, unless the spec says otherwise."""
    fw = two_sided()
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),))
    mean = ModelSpec(imputation=MethodSpec(name="mean"))

    def kinds(X: np.ndarray, model: ModelSpec, s: UncertaintySpec = spec) -> set[str]:
        return {f.kind for f in build_problem(s, inputs_for(fw, X, model)).factors}

    assert "imputation" in kinds(raw_data(fw, missing=3), mean)
    assert "imputation" not in kinds(raw_data(fw), mean)  # nothing to impute
    assert "imputation" not in kinds(raw_data(fw, missing=3), ModelSpec())  # the profile imputes nothing
    assert "imputation" not in kinds(raw_data(fw, missing=3), mean, spec.model_copy(update={"imputation": False}))


def test_dirichlet_weights_solve_the_gamma_inverse_cdf_per_distinct_alpha_not_per_sample(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dirichlet dimension weights (the product's default spec) drew every Gamma variate with scipy's iterative
    gammaincinv: 8 solves a sample, 85% of a 100,000-sample run. The solves now build one checked table per distinct
    alpha, so a run of many samples does fewer solves than it has samples, whatever its size (no timing here)."""
    solved = {"values": 0}
    for name in ("gammaincinv", "gammainccinv"):
        real = getattr(special, name)

        def counting(a, p, _real=real):  # type: ignore[no-untyped-def]
            solved["values"] += int(np.broadcast(a, p).size)
            return _real(a, p)

        monkeypatch.setattr(special, name, counting)
    fw = two_sided()
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2, distribution="dirichlet",
                                                                           concentration=37.0)))
    problem = build_problem(spec, inputs_for(fw, raw_data(fw)))
    n = 1 << 16
    run_monte_carlo(problem, n, np.random.default_rng(0))
    assert 0 < solved["values"] < n  # before: 8 x n (one per sample and dimension)
    solved["values"] = 0
    run_monte_carlo(problem, n, np.random.default_rng(1))
    assert solved["values"] == 0  # the table is kept per alpha: a second run solves nothing
