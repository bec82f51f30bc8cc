"""Every registered normaliser, aggregator, imputer and treatment goes through the same properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from indicators.aggregate import (
    AGGREGATORS,
    AggregationError,
    AggregationPlan,
    aggregate_tree,
    aggregate_values,
    node_order,
)
from indicators.framework import Framework, Node
from indicators.impute import IMPUTERS, impute
from indicators.normalise import NORMALISERS, Normaliser, NotFittedError, make_normaliser
from indicators.treat import TREATMENTS, treat

RNG = np.random.default_rng(42)
X = RNG.lognormal(1.0, 0.6, size=(30, 4))
X[3, 1] = np.nan
X[7, 2] = np.nan
# out-of-sample values for a normaliser fitted on X[:20]: the rest, far below the fitted min, far above the fitted max,
# zero, negative, and a NaN
BEYOND = np.vstack([
    X[20:], np.nanmin(X, axis=0) - 10.0, np.nanmax(X, axis=0) * 5 + 10.0, np.zeros(4), np.full(4, -1e6),
    np.full(4, 1e6), np.array([np.nan, 1.0, 2.0, 3.0]),
])

#: every registered normaliser with its defaults, plus the parameter variants that change its range or its clipping
NORM_CASES: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in NORMALISERS.names] + [
    ("minmax", {"l": 1.0, "u": 100.0}),
    ("minmax", {"clip": False}),
    ("zscore", {"m": 10.0, "s": 2.0}),
    ("goalposts", {"clip": False, "scale": 1.0}),
    ("distance_to_target", {"cap": False}),
    ("distance_to_best", {"clip": False, "scale": 1.0}),
]


def _norm(case: tuple[str, dict[str, Any]], directions: Any = None, n_cols: int = 4) -> Normaliser:
    name, params = case
    extra: dict[str, Any] = {}
    if name == "goalposts":
        extra = {"low": np.zeros(n_cols), "high": np.full(n_cols, 50.0)}
    if name == "distance_to_target":
        extra = {"targets": np.full(n_cols, 20.0)}
    return make_normaliser(name, params, directions, **extra)


#: the largest output scale among the registered defaults and the variants above (minmax u, goalposts/distance scale)
OUTPUT_SCALE = 100.0


def _input_bound(inputs: np.ndarray, fitted: np.ndarray) -> float:
    """How far a normaliser without a declared range may reach. Each is affine in x, its slope at most OUTPUT_SCALE
    over the fitted data's smallest positive column spread (z-score's s / sd is far below it), its offset within the
    fitted values' reach; so |out| stays below this, and a division by a near-zero spread is caught."""
    spreads = np.nanmax(fitted, axis=0) - np.nanmin(fitted, axis=0) if np.isfinite(fitted).any() else np.array([])
    spreads = spreads[np.isfinite(spreads) & (spreads > 0)]
    spread = float(spreads.min()) if spreads.size else 1.0
    reach = float(np.nanmax(np.abs(inputs))) + float(np.nanmax(np.abs(fitted)))
    return OUTPUT_SCALE * (1.0 + reach / spread)


def _in_range(
    out: np.ndarray, rng: tuple[float, float] | None, what: str, inputs: np.ndarray, fitted: np.ndarray
) -> None:
    vals = out[~np.isnan(out)]
    assert vals.size and np.all(np.isfinite(vals)), f"{what}: no finite output, or an infinite one"
    if rng is not None:
        assert vals.min() >= rng[0] - 1e-12 and vals.max() <= rng[1] + 1e-12, f"{what}: {vals.min()}..{vals.max()} " \
            f"outside the declared range {rng}"
    else:
        bound = _input_bound(inputs, fitted)
        assert np.abs(vals).max() <= bound, f"{what}: |output| up to {np.abs(vals).max()}, beyond {bound} " \
            "(no declared range, so bounded by the inputs' magnitude over the fitted spread)"


def test_every_registered_normaliser_is_covered() -> None:
    assert {n for n, _ in NORM_CASES} == set(NORMALISERS.names)


@pytest.mark.parametrize("case", NORM_CASES, ids=lambda c: f"{c[0]}{c[1] or ''}")
class TestNormaliserContract:
    def test_nan_stays_nan_and_only_nan(self, case: tuple[str, dict[str, Any]]) -> None:
        out = _norm(case).fit_transform(X)
        assert np.array_equal(np.isnan(out), np.isnan(X))
        new = _norm(case).fit(X[:20]).transform(BEYOND)  # out of sample too
        assert np.array_equal(np.isnan(new), np.isnan(BEYOND))

    def test_direction_flips_order(self, case: tuple[str, dict[str, Any]]) -> None:
        up = _norm(case, [1, 1, 1, 1]).fit_transform(X)
        down = _norm(case, [-1, -1, -1, -1]).fit_transform(X)
        for j in range(X.shape[1]):
            ok = ~np.isnan(X[:, j])
            x, a, b = X[ok, j], up[ok, j], down[ok, j]
            hi, lo = np.argmax(x), np.argmin(x)
            assert a[hi] >= a[lo] and b[hi] <= b[lo]
            strict = (a[hi] > a[lo]) or (b[hi] < b[lo])
            assert strict, f"{case}: direction made no difference in column {j}"

    def test_order_kept_out_of_sample(self, case: tuple[str, dict[str, Any]]) -> None:
        grid = np.linspace(-50.0, 200.0, 251)[:, None].repeat(4, axis=1)  # spans far beyond the fitted values
        up = _norm(case, [1, 1, 1, 1]).fit(X[:20]).transform(grid)
        down = _norm(case, [-1, -1, -1, -1]).fit(X[:20]).transform(grid)
        assert np.all(np.diff(up, axis=0) >= -1e-12) and np.all(np.diff(down, axis=0) <= 1e-12)
        assert np.all(up[-1] > up[0]) and np.all(down[-1] < down[0])

    def test_range_respected(self, case: tuple[str, dict[str, Any]]) -> None:
        norm = _norm(case)
        _in_range(norm.fit_transform(X), norm.output_range(), f"{case} in sample", X, X)

    @pytest.mark.parametrize("direction", [1, -1])
    def test_range_respected_out_of_sample(self, case: tuple[str, dict[str, Any]], direction: int) -> None:
        norm = _norm(case, [direction] * 4).fit(X[:20])
        _in_range(norm.transform(BEYOND), norm.output_range(), f"{case} fitted on one sample, applied to another",
                  BEYOND, X[:20])

    def test_constant_column_handled(self, case: tuple[str, dict[str, Any]]) -> None:
        C = np.column_stack([np.full(10, 3.0), np.r_[np.full(9, 2.0), np.nan], np.r_[5.0, np.full(9, np.nan)]])
        norm = _norm(case, n_cols=3)
        out = norm.fit_transform(C)
        assert np.all(np.isfinite(out[~np.isnan(C)]))
        for j in range(3):  # equal inputs, equal scores
            vals = out[~np.isnan(C[:, j]), j]
            assert np.all(vals == vals[0]), f"{case}: constant column {j} gave {vals}"
        _in_range(out, norm.output_range(), f"{case} constant columns", C, C)
        new_in = np.array([[-4.0, 0.0, 1e6], [3.0, 2.0, 5.0], [9.0, 7.0, -1e6]])
        new = norm.transform(new_in)
        assert np.all(np.isfinite(new))
        _in_range(new, norm.output_range(), f"{case} constant columns, out of sample", new_in, C)

    def test_fit_then_transform_equals_fit_transform(self, case: tuple[str, dict[str, Any]]) -> None:
        a = _norm(case).fit(X).transform(X)
        b = _norm(case).fit_transform(X)
        np.testing.assert_array_equal(a, b)

    def test_fit_on_one_set_transform_another(self, case: tuple[str, dict[str, Any]]) -> None:
        norm = _norm(case).fit(X[:20])
        out = norm.transform(X[20:])
        assert out.shape == (10, 4)
        np.testing.assert_array_equal(norm.transform(X[:20]), _norm(case).fit_transform(X[:20]))

    def test_transform_before_fit_is_an_error(self, case: tuple[str, dict[str, Any]]) -> None:
        with pytest.raises(NotFittedError, match="not fitted"):
            _norm(case).transform(X)

    def test_one_dimensional_input(self, case: tuple[str, dict[str, Any]]) -> None:
        out = _norm(case, n_cols=1).fit_transform(X[:, 0])
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
            Node("ref", "A", is_indicator=True, weight=0),  # reference only, like the catalog's raw_good_rate
            Node("b1", "B", is_indicator=True),
            Node("b2", "B", is_indicator=True, weight=0.5),
        ]
    )


POS = RNG.uniform(1, 90, size=(12, 6))
POS_NAN = POS.copy()
POS_NAN[0, 1] = np.nan  # a2 of unit 0
POS_NAN[1, 4] = np.nan  # b1 of unit 1
POS_NAN[2, 3] = -7.0  # the zero-weight reference: outside every mean's domain, and it must not matter
POS_NAN[3, 3] = 0.0
POS_NAN[4, 3] = np.nan

#: every registered aggregator with its defaults, plus the power-mean exponents and a shift
AGG_CASES: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in AGGREGATORS.names] + [
    ("pmean", {"p": 2.0}), ("pmean", {"p": 0.5}), ("pmean", {"p": -2.0}), ("gmean", {"shift": 5.0}),
]


def _run(case: tuple[str, dict[str, Any]], V: np.ndarray, weights: dict[str, float] | None = None,
         availability: float = 0.0) -> np.ndarray:
    return aggregate_tree(_tree(), V, weights, default=case, availability=availability)


def test_every_registered_aggregator_is_covered() -> None:
    assert {n for n, _ in AGG_CASES} == set(AGGREGATORS.names)


@pytest.mark.parametrize("case", AGG_CASES, ids=lambda c: f"{c[0]}{c[1] or ''}")
class TestAggregatorContract:
    @pytest.mark.parametrize("node", ["idx", "A", "B"])
    @pytest.mark.parametrize("factor", [1e-3, 0.1, 7.0, 1e4])
    def test_rescaling_weights_of_a_node_changes_nothing(
        self, case: tuple[str, dict[str, Any]], node: str, factor: float
    ) -> None:
        fw = _tree()
        w = fw.weights()
        base = _run(case, POS_NAN, w, availability=0.5)
        scaled = {k: v * factor if k in fw.children(node) else v for k, v in w.items()}
        np.testing.assert_allclose(_run(case, POS_NAN, scaled, availability=0.5), base, rtol=1e-12, atol=1e-12)

    def test_rescaling_every_node_at_once_changes_nothing(self, case: tuple[str, dict[str, Any]]) -> None:
        w = _tree().weights()
        base = _run(case, POS_NAN, w)
        for factor in (0.1, 7.0):
            np.testing.assert_allclose(_run(case, POS_NAN, {k: v * factor for k, v in w.items()}), base,
                                       rtol=1e-12, atol=1e-12)
        V, ww = POS[:, :5], RNG.uniform(0.1, 3, 5)
        np.testing.assert_allclose(aggregate_values(V, ww * 13.0, case[0], **case[1]),
                                   aggregate_values(V, ww, case[0], **case[1]), rtol=1e-12)

    def test_zero_weight_child_takes_no_part(self, case: tuple[str, dict[str, Any]]) -> None:
        out = _run(case, POS_NAN)
        w = _tree().weights()
        without = Framework.from_nodes([n for n in _tree().nodes if n.code != "ref"])
        keep = [0, 1, 2, 4, 5]
        w_without = {k: v for k, v in w.items() if k != "ref"}
        expect = aggregate_tree(without, POS_NAN[:, keep], w_without, default=case)
        np.testing.assert_allclose(out[:, 6:], expect[:, 5:], rtol=1e-13)
        # nor in the availability share: unit 4 (reference missing) is complete, unit 0 (a2 missing) is not
        a = node_order(_tree()).index("A")
        strict = _run(case, POS_NAN, availability=1.0)
        assert not np.isnan(strict[4, a]) and np.isnan(strict[0, a])

    def test_nan_child_dropped_and_weights_renormalised(self, case: tuple[str, dict[str, Any]]) -> None:
        name, params = case
        V = POS[:, :4].copy()
        w = np.array([1.0, 2.0, 3.0, 4.0])
        V[0, 1] = np.nan
        full = aggregate_values(V, w, name, **params)
        assert full[0] == pytest.approx(aggregate_values(V[:1, [0, 2, 3]], w[[0, 2, 3]], name, **params)[0], rel=1e-12)
        assert np.all(np.isfinite(full))

    def test_nan_stays_nan(self, case: tuple[str, dict[str, Any]]) -> None:
        name, params = case
        assert np.all(np.isnan(aggregate_values(np.full((2, 3), np.nan), [1, 1, 1], name, **params)))
        # only a zero-weight child present: nothing to aggregate
        assert np.isnan(aggregate_values(np.array([[np.nan, 5.0]]), [1.0, 0.0], name, **params)[0])
        V = POS_NAN.copy()
        V[5] = np.nan  # a unit with no data at all is NaN at every node, and the others are untouched
        out = _run(case, V)
        assert np.all(np.isnan(out[5])) and np.all(np.isfinite(out[np.arange(12) != 5][:, 6:]))

    def test_direction_flips_order(self, case: tuple[str, dict[str, Any]]) -> None:
        name, params = case
        w = np.array([1.0, 2.0, 1.0, 0.5, 3.0])
        A = POS[:, :5]
        B = A + RNG.uniform(0.5, 5.0, A.shape)  # B beats A on every child
        a, b = aggregate_values(A, w, name, **params), aggregate_values(B, w, name, **params)
        assert np.all(b > a)
        fa, fb = aggregate_values(200 - A, w, name, **params), aggregate_values(200 - B, w, name, **params)
        assert np.all(fb < fa), f"{case}: flipping every child did not flip the order"

    def test_constant_column_handled(self, case: tuple[str, dict[str, Any]]) -> None:
        name, params = case
        np.testing.assert_allclose(aggregate_values(np.full((3, 4), 42.0), [1, 2, 3, 4], name, **params), 42.0)
        V = POS_NAN.copy()
        V[:, 2] = 50.0  # a3 the same for every unit
        out = _run(case, V)
        assert np.all(np.isfinite(out[:, 6:]))
        same = np.full((4, 6), 50.0)
        same[:, 3] = -1.0  # the reference may be anything
        np.testing.assert_allclose(_run(case, same)[:, 6:], 50.0, rtol=1e-13)

    def test_compiled_plan_equals_one_shot(self, case: tuple[str, dict[str, Any]]) -> None:
        # the aggregators' "fit then transform": a plan compiled once and run on any rows equals the one-shot call,
        # and each unit's scores depend on that unit alone
        fw = _tree()
        plan = AggregationPlan.build(fw, default=case)
        whole = aggregate_tree(fw, POS_NAN, default=case)
        parts = np.vstack([plan.run(POS_NAN[:5]).values, plan.run(POS_NAN[5:]).values])
        np.testing.assert_array_equal(parts, whole)
        col = node_order(fw).index("B")
        one_node = aggregate_values(POS_NAN[:, [4, 5]], [1.0, 0.5], case[0], **case[1])
        np.testing.assert_array_equal(whole[:, col], one_node)

    def test_within_children_range_and_monotone(self, case: tuple[str, dict[str, Any]]) -> None:
        name, params = case
        w = np.array([1.0, 2.0, 1.0, 0.5, 3.0])
        V = POS[:, :5]
        out = aggregate_values(V, w, name, **params)
        assert np.all(out >= V.min(axis=1) - 1e-9) and np.all(out <= V.max(axis=1) + 1e-9)
        bumped = V * 1.5
        assert np.all(aggregate_values(bumped, w, name, **params) >= out)


@pytest.mark.parametrize("name", ["gmean", "hmean"])
@pytest.mark.parametrize("bad", [0.0, -2.0])
def test_nonpositive_values_name_node_and_unit(name: str, bad: float) -> None:
    fw = _tree()
    V = POS.copy()
    V[4, 4] = bad  # b1 of unit "u5"
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
