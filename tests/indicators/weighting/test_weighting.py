"""Known-answer tests for the weighting methods (AHP, budget, entropy, CRITIC, PCA) and the effective-weights report."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from indicators.framework import Framework, Node
from indicators.weighting.derive import WeightingError, budget_weights, critic_weights, entropy_weights, equal_weights, pca_weights, relative_weights_for_node
from indicators.weighting.ahp import RANDOM_INDEX, InconsistentJudgementsError, ahp_matrix, ahp_weights, check_pairwise
from indicators.weighting.report import effective_weights_report

# Saaty (1990), "How to make a decision: the Analytic Hierarchy Process", EJOR 48, Table 2 (choosing a house):
# published priorities .173 .054 .188 .018 .031 .036 .167 .333, λmax = 9.669, CI = 0.239, CR = 0.169.
SAATY_HOUSE = """1 5 3 7 6 6 1/3 1/4
1/5 1 1/3 5 3 3 1/5 1/7
1/3 3 1 6 3 4 6 1/5
1/7 1/5 1/6 1 1/3 1/4 1/7 1/8
1/6 1/3 1/3 3 1 1/2 1/5 1/6
1/6 1/3 1/4 4 2 1 1/5 1/6
3 5 1/6 7 5 5 1 1/2
4 7 5 8 6 6 2 1"""
HOUSE_CODES = ["size", "transport", "neighbourhood", "age", "yard", "modern", "condition", "financing"]


def _saaty_house() -> np.ndarray:
    return np.array([[float(Fraction(x)) for x in row.split()] for row in SAATY_HOUSE.splitlines()])


# -- equal ---------------------------------------------------------------------------------------------------------
def test_equal_weights_sum_to_one() -> None:
    r = equal_weights(["a", "b", "c", "d"])
    assert r.weights == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}


def test_equal_weights_refuse_duplicates() -> None:
    with pytest.raises(WeightingError, match="duplicate code.*a"):
        equal_weights(["a", "b", "a"])


# -- AHP -----------------------------------------------------------------------------------------------------------
def test_ahp_consistent_matrix_gives_exact_weights_and_cr_zero() -> None:
    true = np.array([0.5, 0.25, 0.125, 0.125])
    a = np.outer(true, 1 / true)  # perfectly consistent: a_ij = w_i / w_j
    r = ahp_weights(a, ["w", "x", "y", "z"])
    assert np.allclose(list(r.weights.values()), true, atol=1e-12)
    assert r.diagnostics["lambda_max"] == pytest.approx(4.0, abs=1e-10)
    assert r.diagnostics["cr"] == pytest.approx(0.0, abs=1e-10)
    assert r.diagnostics["consistent"] is True


def test_ahp_reproduces_saaty_1990_house_example() -> None:
    r = ahp_weights(_saaty_house(), HOUSE_CODES, max_cr=None)
    published = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
    assert [round(v, 3) for v in r.weights.values()] == published
    assert round(r.diagnostics["lambda_max"], 3) == 9.669
    assert round(r.diagnostics["ci"], 3) == 0.238  # Saaty prints 0.239 (from the rounded λmax 9.669)
    assert round(r.diagnostics["cr"], 3) == 0.169
    assert r.diagnostics["ri"] == RANDOM_INDEX[8] == 1.41


def test_ahp_refuses_inconsistent_judgements_and_names_the_worst_pair() -> None:
    with pytest.raises(InconsistentJudgementsError) as e:
        ahp_weights(_saaty_house(), HOUSE_CODES)
    msg = str(e.value)
    assert "CR = 0.169 > 0.1" in msg
    # the neighbourhood-vs-condition judgement (6, while the weights imply about 1.1) is the most out of line
    assert "neighbourhood vs condition: judged 6" in msg


def test_ahp_cyclic_judgements_are_refused() -> None:
    a = ahp_matrix(["a", "b", "c"], {("a", "b"): 5, ("b", "c"): 5, ("c", "a"): 5})  # a>b>c>a
    with pytest.raises(InconsistentJudgementsError, match="CR = "):
        ahp_weights(a, ["a", "b", "c"])


def test_ahp_matrix_from_upper_triangle() -> None:
    a = ahp_matrix(["a", "b", "c"], {("a", "b"): 3, ("c", "a"): 0.2, ("b", "c"): 2})
    assert a[0, 1] == 3 and a[1, 0] == pytest.approx(1 / 3)
    assert a[0, 2] == pytest.approx(5) and a[2, 0] == pytest.approx(0.2)
    assert np.allclose(a * a.T, 1)


def test_ahp_matrix_names_the_missing_pair() -> None:
    with pytest.raises(WeightingError, match=r"missing judgement.*\('b', 'c'\)"):
        ahp_matrix(["a", "b", "c"], {("a", "b"): 3, ("a", "c"): 2})
    with pytest.raises(WeightingError, match="'q' is not one of"):
        ahp_matrix(["a", "b"], {("a", "q"): 3})
    with pytest.raises(WeightingError, match="judged twice"):
        ahp_matrix(["a", "b"], {("a", "b"): 3, ("b", "a"): 1 / 3})


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 3], [0.5, 1]], "not reciprocal"),
        ([[1, -3], [-1 / 3, 1]], "positive number"),
        ([[2, 3], [1 / 3, 1]], "diagonal"),
        ([[1, 3, 1], [1 / 3, 1, 1]], "square"),
        ([[1, float("nan")], [1, 1]], "positive number"),
    ],
)
def test_check_pairwise_rejects_bad_matrices(matrix: list[list[float]], message: str) -> None:
    codes = ["a", "b"] if len(matrix[0]) == 2 else ["a", "b", "c"]
    with pytest.raises(WeightingError, match=message):
        check_pairwise(matrix, codes)


def test_ahp_accepts_rounded_reciprocals() -> None:
    r = ahp_weights([[1, 3], [0.333, 1]], ["a", "b"])
    assert r.weights["a"] == pytest.approx(0.75)


# -- budget ----------------------------------------------------------------------------------------------------------
def test_budget_average_and_spread() -> None:
    alloc = {
        "assessor-1": {"a": 50, "b": 30, "c": 20},
        "assessor-2": {"a": 40, "b": 40, "c": 20},
        "assessor-3": {"a": 60, "b": 20, "c": 20},
    }
    r = budget_weights(alloc)
    assert r.weights == pytest.approx({"a": 0.5, "b": 0.3, "c": 0.2})
    sp = r.diagnostics["spread"]
    assert sp["a"]["sd_points"] == pytest.approx(10.0)  # sample sd of 50, 40, 60
    assert sp["c"]["sd_points"] == pytest.approx(0.0)
    assert sp["b"]["range_points"] == 20
    assert r.diagnostics["most_disputed"] in ("a", "b")
    assert 0 <= r.diagnostics["kendall_w"] <= 1


def test_budget_full_agreement_has_kendall_w_one() -> None:
    alloc = {f"p{i}": {"a": 70, "b": 20, "c": 10} for i in range(4)}
    r = budget_weights(alloc)
    assert r.diagnostics["kendall_w"] == pytest.approx(1.0)
    assert r.diagnostics["mean_sd_points"] == pytest.approx(0.0)


def test_budget_rejects_bad_sums_and_names_the_assessor() -> None:
    with pytest.raises(WeightingError, match="assessor 'p2': points sum to 90"):
        budget_weights({"p1": {"a": 60, "b": 40}, "p2": {"a": 60, "b": 30}})
    with pytest.raises(WeightingError, match="assessor 'p1': no points for 'b'"):
        budget_weights({"p1": {"a": 100}}, codes=["a", "b"])
    with pytest.raises(WeightingError, match="assessor 'p1': points for 'a' must be >= 0"):
        budget_weights({"p1": {"a": -10, "b": 110}})


# -- entropy ---------------------------------------------------------------------------------------------------------
def test_entropy_by_hand() -> None:
    x = np.array([[1.0, 1.0], [3.0, 1.0]])  # column b is constant -> no information
    r = entropy_weights(x, ["a", "b"])
    # column a: p = (0.25, 0.75); e = -(0.25 ln 0.25 + 0.75 ln 0.75) / ln 2
    e_a = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)) / np.log(2)
    assert r.diagnostics["entropy"]["a"] == pytest.approx(e_a)
    assert r.weights == pytest.approx({"a": 1.0, "b": 0.0})
    assert r.diagnostics["constant"] == ["b"]


def test_entropy_three_columns_by_hand() -> None:
    x = np.array([[0.0, 2.0, 1.0], [1.0, 2.0, 2.0], [1.0, 4.0, 1.0]])
    m = 3

    def ent(col: list[float]) -> float:
        p = np.array(col) / sum(col)
        return float(-sum(v * np.log(v) for v in p if v > 0) / np.log(m))

    d = np.array([1 - ent([0, 1, 1]), 1 - ent([2, 2, 4]), 1 - ent([1, 2, 1])])
    r = entropy_weights(x, ["a", "b", "c"])
    assert list(r.weights.values()) == pytest.approx(list(d / d.sum()))


def test_entropy_rejects_negative_and_missing() -> None:
    with pytest.raises(WeightingError, match="negative values in b"):
        entropy_weights([[1, -1], [2, 3]], ["a", "b"])
    with pytest.raises(WeightingError, match="'a' \\(1 missing\\)"):
        entropy_weights([[np.nan, 1], [2, 3]], ["a", "b"])
    with pytest.raises(WeightingError, match="every column is constant"):
        entropy_weights([[1, 2], [1, 2]], ["a", "b"])


# -- CRITIC ----------------------------------------------------------------------------------------------------------
def test_critic_by_hand() -> None:
    x = np.array([[0.0, 0.0, 1.0], [0.5, 1.0, 0.0], [1.0, 0.5, 0.5], [1.0, 1.0, 0.0]])
    sd = x.std(axis=0, ddof=1)
    r = np.corrcoef(x, rowvar=False)
    c = sd * (1 - r).sum(axis=1)
    res = critic_weights(x, ["a", "b", "c"])
    assert list(res.weights.values()) == pytest.approx(list(c / c.sum()))
    # by hand for column a: sd of (0, .5, 1, 1) = sqrt(0.229166...) ; checks the ddof-1 convention
    assert res.diagnostics["sd"]["a"] == pytest.approx(np.sqrt(((0 - .625) ** 2 + (.5 - .625) ** 2 + 2 * .375**2) / 3))


def test_critic_constant_column_gets_zero() -> None:
    x = np.array([[0.0, 5.0, 1.0], [0.5, 5.0, 0.0], [1.0, 5.0, 0.2]])
    r = critic_weights(x, ["a", "b", "c"])
    assert r.weights["b"] == 0.0 and r.diagnostics["constant"] == ["b"]
    assert sum(r.weights.values()) == pytest.approx(1.0)


# -- PCA -------------------------------------------------------------------------------------------------------------
def test_pca_two_correlated_columns_weigh_equally() -> None:
    x = np.array([[1.0, 2.0], [2.0, 4.5], [3.0, 5.5], [4.0, 8.0]])
    r = pca_weights(x, ["a", "b"])
    assert r.weights == pytest.approx({"a": 0.5, "b": 0.5})  # 2 variables: v1 = (1, 1)/√2 always
    rho = np.corrcoef(x, rowvar=False)[0, 1]
    assert r.diagnostics["explained_variance_ratio"] == pytest.approx((1 + rho) / 2)
    assert r.diagnostics["negative_loadings"] == []


def test_pca_sign_fixed_and_negative_loading_flagged() -> None:
    rng = np.random.default_rng(7)
    f = rng.normal(size=50)
    x = np.column_stack([f + 0.1 * rng.normal(size=50), f + 0.2 * rng.normal(size=50), -f + 0.3 * rng.normal(size=50)])
    r = pca_weights(x, ["a", "b", "c"])
    assert r.diagnostics["loadings"]["a"] > 0 and r.diagnostics["loadings"]["b"] > 0
    assert r.diagnostics["negative_loadings"] == ["c"]
    assert sum(r.weights.values()) == pytest.approx(1.0)
    # flipping every column's sign must not change weights
    assert pca_weights(-x, ["a", "b", "c"]).weights == pytest.approx(r.weights)


# -- framework mapping and effective weights -------------------------------------------------------------------------
def _fw() -> Framework:
    return Framework.from_nodes(
        [
            Node("index", None),
            Node("supply", "index"),
            Node("demand", "index"),
            Node("s1", "supply", is_indicator=True, name_zh="甲", name_en="A"),
            Node("s2", "supply", is_indicator=True),
            Node("d1", "demand", is_indicator=True),
            Node("d2", "demand", is_indicator=True),
        ]
    )


def test_relative_weights_reproduce_indicator_shares() -> None:
    fw = _fw()
    target = {"s1": 0.1, "s2": 0.3, "d1": 0.4, "d2": 0.2}
    rel = relative_weights_for_node(fw, "index", target)
    eff = fw.effective_weights(rel)
    assert list(eff) == pytest.approx([target[c] for c in fw.indicators])
    assert relative_weights_for_node(fw, "index", {"supply": 2, "demand": 1}) == {"supply": 2.0, "demand": 1.0}
    with pytest.raises(WeightingError, match="node 'supply': the weighted codes must be its children"):
        relative_weights_for_node(fw, "supply", {"s1": 1, "d1": 1})


def test_effective_weights_report_nominal_and_empirical() -> None:
    fw = _fw()
    nominal = effective_weights_report(fw, {"supply": 3, "demand": 1})
    assert nominal["nominal_share"].to_list() == pytest.approx([0.375, 0.375, 0.125, 0.125])
    assert nominal["name_zh"][0] == "甲"
    rng = np.random.default_rng(3)
    x = rng.random((40, 4)) * np.array([1.0, 0.01, 1.0, 1.0])  # s2 hardly varies: little real influence
    rep = effective_weights_report(fw, {"supply": 3, "demand": 1}, x)
    assert rep["variance_share"].sum() == pytest.approx(1.0)
    assert rep["corr_share"].sum() == pytest.approx(1.0)
    assert rep["contribution_share"].sum() == pytest.approx(1.0)
    s2 = rep.filter(pl.col("code") == "s2").row(0, named=True)
    assert s2["variance_share"] < 0.05 < s2["nominal_share"]
    # the same from a DataFrame keyed by code, columns in any order
    df = pl.DataFrame({c: x[:, j] for j, c in enumerate(fw.indicators)}).select(["d2", "s1", "d1", "s2"])
    assert_frame_equal(effective_weights_report(fw, {"supply": 3, "demand": 1}, df), rep, rel_tol=1e-12)


def test_effective_weights_report_contribution_share_by_hand() -> None:
    fw = _fw()
    x = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    rep = effective_weights_report(fw, None, x)
    # equal nominal 0.25 each; contributions: unit 1 -> s1 0.25; unit 2 -> d1 0.25, d2 0.25; total 0.75
    assert rep["contribution_share"].to_list() == pytest.approx([1 / 3, 0.0, 1 / 3, 1 / 3])


def test_effective_weights_report_shape_error() -> None:
    with pytest.raises(WeightingError, match="units × 4 indicators"):
        effective_weights_report(_fw(), None, np.ones((3, 2)))


def test_effective_weights_report_with_missing_values_and_engine_composite() -> None:
    fw = _fw()
    rng = np.random.default_rng(5)
    x = rng.random((30, 4))
    x[3, 1] = np.nan
    rep = effective_weights_report(fw, None, x)
    assert rep["corr_with_index"].is_finite().all() and rep["variance_share"].is_finite().all()
    geo = np.exp(np.log(np.where(np.isnan(x), 1.0, x + 0.1)).mean(axis=1))  # any composite the engine produced
    rep2 = effective_weights_report(fw, None, x, composite=geo)
    j = 2
    ok = np.isfinite(x[:, j])
    assert rep2["corr_with_index"][j] == pytest.approx(np.corrcoef(x[ok, j], geo[ok])[0, 1])
    with pytest.raises(WeightingError, match="one value per unit \\(30\\)"):
        effective_weights_report(fw, None, x, composite=np.ones(3))
