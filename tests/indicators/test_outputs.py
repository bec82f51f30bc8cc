"""Result tables: k of n indicators and imputed flags for every node (indicators.outputs.coverage)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from indicators.framework import Framework, Node
from indicators.model import score
from indicators.outputs import coverage, counted_indicators
from indicators.profile import WeightProfile
from indicators.spec import ModelSpec

nan = np.nan


def _fw() -> Framework:
    return Framework.from_nodes([
        Node("idx", None), Node("A", "idx"), Node("B", "idx"),
        Node("a1", "A", is_indicator=True), Node("a2", "A", is_indicator=True), Node("a3", "A", is_indicator=True),
        Node("ref", "A", is_indicator=True, weight=0),  # comparison only: never counted
        Node("b1", "B", is_indicator=True), Node("b2", "B", is_indicator=True),
    ])


def _data() -> np.ndarray:
    # unit 0 complete; unit 1 misses a3 (2 of 3 under A); unit 2 misses a2 and a3 (1 of 3); unit 3 misses b2
    return np.array([[
        [50, 60, 70, 99, 40, 50],
        [55, 65, nan, 99, 45, 55],
        [90, nan, nan, 99, 50, 60],
        [40, 50, 60, 99, 70, nan],
    ]], dtype=float)


def test_coverage_counts_observed_of_counted_indicators_per_node() -> None:
    fw = _fw()
    order = fw.indicators + fw.aggregates
    M = counted_indicators(fw, order, fw.weights())
    assert M[order.index("ref")].sum() == 0 and M[order.index("idx")].sum() == 5
    observed = ~np.isnan(_data())
    k, n = coverage(fw, order, fw.weights(), observed)
    assert n[order.index("A")] == 3 and n[order.index("idx")] == 5
    assert k[0, :, order.index("A")].tolist() == [3, 2, 1, 3]
    assert k[0, :, order.index("idx")].tolist() == [5, 4, 3, 4]
    # a zero weight on B takes its indicators out of the root's count
    k0, n0 = coverage(fw, order, {**fw.weights(), "B": 0.0}, observed)
    assert n0[order.index("idx")] == 3


def test_profile_availability_makes_a_thin_node_missing_not_an_average_of_the_rest() -> None:
    """With the engine's COINr default (0) unit 2's A is the average of its one indicator; under a profile's
    default (two thirds) A is missing there, and the score table says 1 of 3."""
    fw = _fw()
    loose = score(fw, _data(), ModelSpec(normalisation={"name": "none"}))
    col = loose.order.index("A")
    assert loose.values[0, 2, col] == pytest.approx(90.0)
    prof = WeightProfile.from_dict({"name": "t", "title_zh": "测", "title_en": "t", "author": "a",
                                    "date": "2025-01-01", "rationale": {"en": "x"},
                                    "methods": {"normalisation": {"name": "none"}}})
    strict = score(fw, _data(), prof.model_spec(fw))
    assert np.isnan(strict.values[0, 2, col]) and strict.below_threshold[0, 2, col]
    assert strict.values[0, 1, col] == pytest.approx(60.0)  # 2 of 3 is enough
    rows = strict.scores.filter(pl.col("node") == "A").sort("unit_code")
    assert rows["n_observed"].to_list() == [3, 2, 1, 3] and rows["n_indicators"].to_list() == [3] * 4
    # the threshold is on each dimension's indicators: the composite aggregates the dimensions present (B), and
    # says 3 of 5; applied to every node instead ("all"), the composite needs both dimensions
    root = strict.order.index("idx")
    assert strict.values[0, 2, root] == pytest.approx(55.0)
    assert strict.scores.filter((pl.col("node") == "idx") & (pl.col("unit_code") == "u3"))["n_observed"].item() == 3
    every = score(fw, _data(), prof.model_spec(fw).model_copy(update={"availability_nodes": "all"}))
    assert np.isnan(every.values[0, 2, root])


def test_imputed_flag_reaches_every_node_above_an_imputed_indicator() -> None:
    fw = _fw()
    res = score(fw, _data(), ModelSpec(normalisation={"name": "none"}, imputation={"name": "worst"}))
    s = res.scores
    flagged = set(s.filter(pl.col("imputed") & (pl.col("unit_code") == "u2"))["node"].to_list())
    assert flagged == {"a3", "A", "idx"}
    assert res.values[0, 1, res.order.index("a3")] == pytest.approx(60.0)  # the worst observed a3
    # imputed cells are not observed: k of n still says what was measured
    row = s.filter((pl.col("unit_code") == "u2") & (pl.col("node") == "A")).row(0, named=True)
    assert (row["n_observed"], row["n_indicators"]) == (2, 3)
