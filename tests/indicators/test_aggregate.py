"""Aggregation: known answers, power-mean identities, availability thresholds, per-node methods, errors."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.aggregate import (
    AggregationError,
    AggregationPlan,
    a_amean,
    a_gmean,
    a_hmean,
    a_pmean,
    a_wmedian,
    aggregate_tree,
    aggregate_values,
    node_order,
)
from indicators.framework import Framework, Node
from indicators.registry import MethodError

V = np.array([[1.0, 2.0, 4.0], [3.0, np.nan, 9.0]])
W = np.array([1.0, 1.0, 2.0])


def test_known_answers() -> None:
    np.testing.assert_allclose(a_amean(V, W), [11 / 4, 21 / 3])
    np.testing.assert_allclose(a_gmean(V, W), [np.exp((0 + np.log(2) + 2 * np.log(4)) / 4), np.exp((np.log(3) + 2 * np.log(9)) / 3)])
    np.testing.assert_allclose(a_hmean(V, W), [4 / (1 + 0.5 + 0.5), 3 / (1 / 3 + 2 / 9)])


def test_power_mean_identities() -> None:
    np.testing.assert_allclose(a_pmean(V, W, p=1), a_amean(V, W))
    np.testing.assert_allclose(a_pmean(V, W, p=0), a_gmean(V, W))
    np.testing.assert_allclose(a_pmean(V, W, p=-1), a_hmean(V, W))
    assert np.all(a_pmean(V, W, p=2) >= a_amean(V, W))


def test_weighted_median() -> None:
    np.testing.assert_allclose(a_wmedian(np.array([[1.0, 2, 3, 4]]), np.ones(4)), [2.5])
    np.testing.assert_allclose(a_wmedian(np.array([[1.0, 2, 3, 4]]), np.array([1, 1, 1, 5.0])), [4])
    np.testing.assert_allclose(a_wmedian(np.array([[5.0, np.nan, 1, 3]]), np.ones(4)), [3])


def _fw() -> Framework:
    return Framework.from_nodes(
        [
            Node("idx", None),
            Node("A", "idx"),
            Node("B", "idx", aggregation="gmean"),
            Node("a1", "A", is_indicator=True),
            Node("a2", "A", is_indicator=True),
            Node("a3", "A", is_indicator=True),
            Node("b1", "B", is_indicator=True),
            Node("b2", "B", is_indicator=True),
        ]
    )


def test_tree_with_per_node_methods_and_order() -> None:
    fw = _fw()
    X = np.array([[10.0, 20.0, 30.0, 4.0, 9.0]])
    out = aggregate_tree(fw, X)
    assert node_order(fw) == ("a1", "a2", "a3", "b1", "b2", "A", "B", "idx")
    np.testing.assert_allclose(out[0, 5:], [20.0, 6.0, 13.0])  # B uses its node's gmean
    out2 = aggregate_tree(fw, X, methods={"B": "amean"})
    assert out2[0, 6] == pytest.approx(6.5)
    # leading dimensions (periods × units × indicators) are kept
    assert aggregate_tree(fw, np.stack([X, X])).shape == (2, 1, 8)


def test_availability_threshold_flags() -> None:
    fw = _fw()
    X = np.array([[10.0, np.nan, np.nan, 4.0, 9.0], [np.nan] * 3 + [4.0, 9.0]])
    plan = AggregationPlan.build(fw, availability={"A": 0.5})
    res = plan.run(X)
    assert np.isnan(res.values[0, 5]) and res.below_threshold[0, 5]
    assert res.values[0, 7] == pytest.approx(6.0)  # idx from B alone, weights renormalised
    assert np.isnan(res.values[1, 5])
    loose = AggregationPlan.build(fw).run(X)
    assert loose.values[0, 5] == 10.0 and not loose.below_threshold.any()


def test_errors() -> None:
    fw = _fw()
    with pytest.raises(AggregationError, match="not an aggregate"):
        aggregate_tree(fw, np.ones((1, 5)), methods={"a1": "amean"})
    with pytest.raises(MethodError, match="allowed: amean, gmean"):
        aggregate_tree(fw, np.ones((1, 5)), default="mean")
    with pytest.raises(AggregationError, match="expected 5 indicator columns"):
        aggregate_tree(fw, np.ones((1, 4)))
    with pytest.raises(AggregationError, match="power mean with p=-2"):
        a_pmean(np.array([[0.0, 1.0]]), np.ones(2), p=-2)


# -- zero-weight children (the catalog's reference-only indicators) take no part at all -------------------------
@pytest.mark.parametrize(
    "name,params,bad",
    [("gmean", {}, 0.0), ("gmean", {}, -3.0), ("hmean", {}, 0.0), ("hmean", {}, -3.0),
     ("pmean", {"p": -2.0}, 0.0), ("pmean", {"p": 0.5}, -3.0)],
)
def test_zero_weight_child_outside_the_domain_is_ignored(name: str, params: dict, bad: float) -> None:
    V = np.array([[2.0, bad, 8.0], [4.0, bad, np.nan]])
    w = np.array([1.0, 0.0, 3.0])
    out = aggregate_values(V, w, name, **params)
    np.testing.assert_allclose(out, aggregate_values(V[:, [0, 2]], w[[0, 2]], name, **params), rtol=1e-15)
    assert np.all(np.isfinite(out))
    with pytest.raises(AggregationError, match="needs positive values|needs"):
        aggregate_values(V, np.array([1.0, 1e-9, 3.0]), name, **params)  # any positive weight: still an error


def _fw_with_reference() -> Framework:
    return Framework.from_nodes(
        [
            Node("idx", None),
            Node("A", "idx"),
            Node("B", "idx"),
            Node("a1", "A", is_indicator=True),
            Node("a2", "A", is_indicator=True),
            Node("ref", "A", is_indicator=True, weight=0),  # shown for reference only
            Node("b1", "B", is_indicator=True),
        ]
    )


@pytest.mark.parametrize("name", ["gmean", "hmean"])
def test_zero_weight_indicator_at_zero_does_not_break_the_tree(name: str) -> None:
    fw = _fw_with_reference()
    X = np.array([[10.0, 20.0, 0.0, 5.0], [30.0, 40.0, -1.0, 6.0]])
    out = aggregate_tree(fw, X, default=name, units=["u1", "u2"])
    without = Framework.from_nodes([n for n in fw.nodes if n.code != "ref"])
    expect = aggregate_tree(without, X[:, [0, 1, 3]], default=name)
    np.testing.assert_allclose(out[:, 4:], expect[:, 3:], rtol=1e-15)
    # the same indicator with a positive weight override is an error naming node and unit
    with pytest.raises(AggregationError, match="node 'A', unit 'u1'.*child 'ref'"):
        aggregate_tree(fw, X, {"ref": 1.0}, default=name, units=["u1", "u2"])


def test_availability_share_counts_only_weighted_children() -> None:
    fw = _fw_with_reference()
    X = np.array([
        [5.0, np.nan, 7.0, 1.0],  # one of the two weighted children of A: share 1/2 (the reference does not count)
        [5.0, 6.0, np.nan, 1.0],  # both weighted children present, the reference missing: share 1
    ])
    a = node_order(fw).index("A")
    res = AggregationPlan.build(fw, availability={"A": 0.6}).run(X)
    assert res.below_threshold[0, a] and np.isnan(res.values[0, a])
    assert not res.below_threshold[1, a] and res.values[1, a] == pytest.approx(5.5)
    strict = AggregationPlan.build(fw, availability={"A": 1.0}).run(X)
    assert not strict.below_threshold[1, a] and strict.values[1, a] == pytest.approx(5.5)
    # the share follows the weights of the run: with a2 weighted 0, a1 alone is all of A
    res2 = AggregationPlan.build(fw, availability={"A": 1.0}).run(X, {"a2": 0.0})
    assert not res2.below_threshold[0, a] and res2.values[0, a] == pytest.approx(5.0)
