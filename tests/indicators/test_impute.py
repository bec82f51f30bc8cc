"""Imputation methods: known answers on a small panel."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.framework import Framework, Node
from indicators.impute import ImputationError, impute

nan = np.nan


def test_mean_median_group() -> None:
    X = np.array([[1.0], [2.0], [9.0], [nan]])
    assert impute(X, "mean").values[3, 0] == pytest.approx(4.0)
    assert impute(X, "median").values[3, 0] == pytest.approx(2.0)
    res = impute(X, "group_mean", groups=["a", "b", "a", "a"])
    assert res.values[3, 0] == pytest.approx(5.0) and res.imputed[3, 0]
    with pytest.raises(ImputationError, match="unit-group column"):
        impute(X, "group_mean")


def test_locf_over_periods() -> None:
    P = np.array([[[nan]], [[1.0]], [[nan]], [[nan]], [[3.0]]])
    res = impute(P, "locf")
    np.testing.assert_array_equal(res.values[:, 0, 0], [nan, 1, 1, 1, 3])
    assert res.imputed[:, 0, 0].tolist() == [False, False, True, True, False]


def test_within_parent_uses_direction_adjusted_positions() -> None:
    fw = Framework.from_nodes(
        [Node("r", None), Node("i1", "r", is_indicator=True), Node("i2", "r", is_indicator=True, direction=-1)]
    )
    # unit 3 is the best on i2 (lowest, direction -1): its missing i1 should be imputed high
    X = np.array([[1.0, 30.0], [2.0, 20.0], [nan, 10.0], [3.0, 20.0]])
    res = impute(X, "within_parent", framework=fw)
    assert res.values[2, 0] > 2.0 and res.imputed[2, 0]


def test_worst_observed_takes_the_worst_value_of_the_period_by_direction() -> None:
    fw = Framework.from_nodes(
        [Node("r", None), Node("up", "r", is_indicator=True), Node("down", "r", is_indicator=True, direction=-1)]
    )
    P = np.array([
        [[80.0, 5.0], [nan, 9.0], [60.0, nan]],  # period 1: worst 'up' is 60, worst 'down' (lower is better) is 9
        [[90.0, 2.0], [nan, 3.0], [nan, nan]],  # period 2: its own worst, not period 1's
    ])
    res = impute(P, "worst", framework=fw)
    assert res.values[0, 1, 0] == 60.0 and res.values[0, 2, 1] == 9.0
    assert res.values[1, 1, 0] == 90.0 and res.values[1, 2, 1] == 3.0 and res.values[1, 2, 0] == 90.0
    assert res.imputed[0, 1, 0] and not res.imputed[0, 0, 0]
    allnan = impute(np.array([[[nan, 1.0]], [[nan, 2.0]]]), "worst", framework=fw)
    assert np.isnan(allnan.values[:, 0, 0]).all() and not allnan.imputed[:, 0, 0].any()
    with pytest.raises(ImputationError, match="framework"):
        impute(P, "worst")
