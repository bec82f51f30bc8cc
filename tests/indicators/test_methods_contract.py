"""Every registered normaliser, aggregator, imputer and treatment goes through the same properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from indicators.aggregate import AGGREGATORS, AggregationError, aggregate_tree, aggregate_values
from indicators.framework import Framework, Node
from indicators.impute import IMPUTERS, impute
from indicators.normalise import NORMALISERS, Normaliser, NotFittedError, make_normaliser
from indicators.treat import TREATMENTS, treat

RNG = np.random.default_rng(42)
X = RNG.lognormal(1.0, 0.6, size=(30, 4))
X[3, 1] = np.nan
X[7, 2] = np.nan


def _norm(name: str, directions: Any = None, n_cols: int = 4) -> Normaliser:
    extra: dict[str, Any] = {}
    if name == "goalposts":
        extra = {"low": np.zeros(n_cols), "high": np.full(n_cols, 50.0)}
    if name == "distance_to_target":
        extra = {"targets": np.full(n_cols, 20.0)}
    return make_normaliser(name, None, directions, **extra)


@pytest.mark.parametrize("name", NORMALISERS.names)
class TestNormaliserContract:
    def test_nan_stays_nan_and_only_nan(self, name: str) -> None:
        out = _norm(name).fit_transform(X)
        assert np.array_equal(np.isnan(out), np.isnan(X))

    def test_direction_flips_order(self, name: str) -> None:
        up = _norm(name, [1, 1, 1, 1]).fit_transform(X)
        down = _norm(name, [-1, -1, -1, -1]).fit_transform(X)
        for j in range(X.shape[1]):
            ok = ~np.isnan(X[:, j])
            x, a, b = X[ok, j], up[ok, j], down[ok, j]
            hi, lo = np.argmax(x), np.argmin(x)
            assert a[hi] >= a[lo] and b[hi] <= b[lo]
            strict = (a[hi] > a[lo]) or (b[hi] < b[lo])
            assert strict, f"{name}: direction made no difference in column {j}"

    def test_range_respected(self, name: str) -> None:
        norm = _norm(name)
        out = norm.fit_transform(X)
        rng = norm.output_range()
        if rng is not None:
            vals = out[~np.isnan(out)]
            assert vals.min() >= rng[0] - 1e-12 and vals.max() <= rng[1] + 1e-12

    def test_constant_column_is_finite(self, name: str) -> None:
        C = np.column_stack([np.full(10, 3.0), np.r_[np.full(9, 2.0), np.nan], np.r_[5.0, np.full(9, np.nan)]])
        out = _norm(name, n_cols=3).fit_transform(C)
        assert np.all(np.isfinite(out[~np.isnan(C)]))

    def test_fit_then_transform_equals_fit_transform(self, name: str) -> None:
        a = _norm(name).fit(X).transform(X)
        b = _norm(name).fit_transform(X)
        np.testing.assert_array_equal(a, b)

    def test_fit_on_one_set_transform_another(self, name: str) -> None:
        norm = _norm(name).fit(X[:20])
        out = norm.transform(X[20:])
        assert out.shape == (10, 4)
        np.testing.assert_array_equal(norm.transform(X[:20]), _norm(name).fit_transform(X[:20]))

    def test_transform_before_fit_is_an_error(self, name: str) -> None:
        with pytest.raises(NotFittedError, match="not fitted"):
            _norm(name).transform(X)

    def test_one_dimensional_input(self, name: str) -> None:
        out = _norm(name, n_cols=1).fit_transform(X[:, 0])
        assert out.shape == (30,)


def _tree() -> Framework:
    return Framework.from_nodes(
        [
            Node("idx", None),
            Node("A", "idx", weight=2),
            Node("B", "idx", weight=1),
            Node("a1", "A", is_indicator=True),
            Node("a2", "A", is_indicator=True, weight=3),
            Node("a3", "A", is_indicator=True),
            Node("b1", "B", is_indicator=True),
            Node("b2", "B", is_indicator=True, weight=0.5),
        ]
    )


POS = RNG.uniform(1, 100, size=(12, 5))


@pytest.mark.parametrize("name", AGGREGATORS.names)
class TestAggregatorContract:
    def test_rescaling_weights_of_a_node_changes_nothing(self, name: str) -> None:
        fw = _tree()
        base = aggregate_tree(fw, POS, default=name)
        for factor in (0.1, 7.0):
            scaled = {"a1": factor, "a2": 3 * factor, "a3": factor, "A": 2 * factor, "B": factor}
            np.testing.assert_allclose(aggregate_tree(fw, POS, scaled, default=name), base, rtol=1e-12, atol=1e-12)

    def test_nan_child_dropped_and_weights_renormalised(self, name: str) -> None:
        V = POS[:, :4].copy()
        w = np.array([1.0, 2.0, 3.0, 4.0])
        V[0, 1] = np.nan
        full = aggregate_values(V, w, name)
        assert full[0] == pytest.approx(aggregate_values(V[:1, [0, 2, 3]], w[[0, 2, 3]], name)[0], rel=1e-12)
        assert np.all(np.isfinite(full))

    def test_all_nan_gives_nan(self, name: str) -> None:
        out = aggregate_values(np.full((2, 3), np.nan), [1, 1, 1], name)
        assert np.all(np.isnan(out))

    def test_constant_children_give_the_constant(self, name: str) -> None:
        out = aggregate_values(np.full((3, 4), 42.0), [1, 2, 3, 4], name)
        np.testing.assert_allclose(out, 42.0)

    def test_within_children_range_and_monotone(self, name: str) -> None:
        w = np.array([1.0, 2.0, 1.0, 0.5, 3.0])
        out = aggregate_values(POS, w, name)
        assert np.all(out >= POS.min(axis=1) - 1e-9) and np.all(out <= POS.max(axis=1) + 1e-9)
        bumped = POS * 1.5
        assert np.all(aggregate_values(bumped, w, name) >= out)


@pytest.mark.parametrize("name", ["gmean", "hmean"])
@pytest.mark.parametrize("bad", [0.0, -2.0])
def test_nonpositive_values_name_node_and_unit(name: str, bad: float) -> None:
    fw = _tree()
    V = POS.copy()
    V[4, 3] = bad  # b1 of unit "u5"
    units = [f"u{i + 1}" for i in range(V.shape[0])]
    with pytest.raises(AggregationError) as e:
        aggregate_tree(fw, V, default=name, units=units)
    assert e.value.node == "B" and e.value.unit == "'u5'"
    assert "node 'B'" in str(e.value) and "unit 'u5'" in str(e.value)
    # the documented shift makes it computable, explicitly
    out = aggregate_tree(fw, V, methods={"B": (name, {"shift": 10.0})}, default=name, units=units)
    assert np.all(np.isfinite(out))


P3 = RNG.normal(10, 2, size=(3, 8, 5))
P3[1, 2, 0] = np.nan
P3[2, 5, 3] = np.nan
P3[0, 4, 4] = np.nan


def _imp_fw() -> Framework:
    return Framework.from_nodes(
        [Node("r", None), Node("A", "r"), Node("B", "r")]
        + [Node(f"i{k}", "A" if k < 3 else "B", is_indicator=True) for k in range(5)]
    )


@pytest.mark.parametrize("name", IMPUTERS.names)
def test_imputer_contract(name: str) -> None:
    res = impute(P3, name, framework=_imp_fw(), groups=list("aabbaabb"))
    present = ~np.isnan(P3)
    np.testing.assert_array_equal(res.values[present], P3[present])  # observed values untouched
    assert np.array_equal(res.imputed, np.isnan(P3) & ~np.isnan(res.values))  # flag exactly the filled points
    if name == "none":
        assert not res.imputed.any()
    elif name == "locf":
        assert res.imputed.sum() == 2  # the period-0 gap has nothing to carry forward
    else:
        assert res.imputed.sum() == 3


@pytest.mark.parametrize("name", TREATMENTS.names)
def test_treatment_contract(name: str) -> None:
    Y = np.column_stack([RNG.lognormal(0, 1.5, 40), RNG.normal(0, 1, 40)])
    Y[0, 0] = np.nan
    res = treat(Y, ("x", "y"), name)
    assert np.array_equal(np.isnan(res.values), np.isnan(Y))
    assert res.details.height == 2
    # points not flagged keep their value, unless their column was log-transformed as a whole (flag 2)
    logged = (res.flags == 2).any(axis=0)
    keep = (res.flags == 0) & ~np.isnan(Y) & ~logged[None, :]
    np.testing.assert_array_equal(res.values[keep], Y[keep])
    if name == "none":
        assert not res.flags.any()
