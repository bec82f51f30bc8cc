"""The audit's numbers equal direct computations (scipy, numpy.linalg, the textbook formulas) on fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from indicators.audit import (
    redundant_pairs,
    AuditError, audit, correlation_matrix, correlation_table, cronbach_alpha, eta_squared, pair_correlation,
    pca_first_share,
)
from indicators.framework import Framework, Node


@pytest.fixture
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=20)
    y = 0.6 * x + rng.normal(size=20)
    x[3], y[7] = np.nan, np.nan
    return x, y


def test_pairwise_complete_correlations_match_scipy(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    ok = np.isfinite(x) & np.isfinite(y)
    r, n = pair_correlation(x, y, "pearson")
    assert n == 18 and r == pytest.approx(stats.pearsonr(x[ok], y[ok]).statistic, abs=1e-12)
    rs, _ = pair_correlation(x, y, "spearman")
    assert rs == pytest.approx(stats.spearmanr(x[ok], y[ok]).statistic, abs=1e-12)
    m = correlation_matrix(np.column_stack([x, y, -y]))
    assert m[0, 1] == pytest.approx(r) and m[1, 2] == pytest.approx(-1.0) and m[2, 2] == pytest.approx(1.0)
    with pytest.raises(AuditError, match="unknown correlation method 'kendall'"):
        pair_correlation(x, y, "kendall")  # type: ignore[arg-type]


def test_cronbach_alpha_is_the_textbook_formula() -> None:
    rng = np.random.default_rng(1)
    t = rng.normal(size=(30, 1))
    X = t + rng.normal(scale=0.7, size=(30, 4))
    k = X.shape[1]
    direct = k / (k - 1) * (1 - X.var(axis=0, ddof=1).sum() / X.sum(axis=1).var(ddof=1))
    assert cronbach_alpha(X) == pytest.approx(direct, abs=1e-12)
    same = np.repeat(t, 3, axis=1)
    assert cronbach_alpha(same) == pytest.approx(1.0)
    X[2, 1] = np.nan  # listwise deletion
    Xc = np.delete(X, 2, axis=0)
    assert cronbach_alpha(X) == pytest.approx(cronbach_alpha(Xc))
    assert np.isnan(cronbach_alpha(X[:, :1]))


def test_pca_share_matches_eigh_of_the_correlation_matrix() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(25, 5)) + rng.normal(size=(25, 1))
    eig = np.linalg.eigh(np.corrcoef(X, rowvar=False))[0]
    assert pca_first_share(X) == pytest.approx(eig[-1] / eig.sum(), abs=1e-12)
    assert pca_first_share(np.column_stack([X[:, 0], 2 * X[:, 0] + 1])) == pytest.approx(1.0)


def test_eta_squared_sees_nonlinear_dependence() -> None:
    x = np.linspace(-1, 1, 16)
    assert eta_squared(3 * x + 1, x) == pytest.approx(1.0)
    y = x**2
    assert abs(stats.pearsonr(x, y).statistic) < 1e-10  # invisible to a correlation...
    assert eta_squared(y, x) == pytest.approx(1.0)  # ...but not to the correlation ratio
    noise = np.random.default_rng(0).normal(size=16)
    assert eta_squared(noise, x) < 0.5
    assert eta_squared(noise, np.ones(16)) == 0.0


def _fw() -> Framework:
    return Framework.from_nodes([
        Node("idx", None), Node("A", "idx"), Node("B", "idx", weight=3),
        Node("a1", "A", is_indicator=True), Node("a2", "A", is_indicator=True), Node("a3", "A", is_indicator=True),
        Node("b1", "B", is_indicator=True), Node("b2", "B", is_indicator=True),
    ])


def _values(fw: Framework) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(9)
    n = 16
    a1 = rng.normal(size=n)
    v = {"a1": a1, "a2": a1 + rng.normal(scale=0.05, size=n), "a3": -a1 + rng.normal(scale=1.0, size=n),
         "b1": rng.normal(size=n), "b2": rng.normal(size=n)}
    v["A"] = (v["a1"] + v["a2"] + v["a3"]) / 3
    v["B"] = (v["b1"] + v["b2"]) / 2
    v["idx"] = 0.25 * v["A"] + 0.75 * v["B"]
    return v


def test_audit_report_matches_direct_computation() -> None:
    fw = _fw()
    v = _values(fw)
    rep = audit(fw, v, fw.effective_weights(), n_units=16)
    dims = {r["code"]: r for r in rep.dimensions.iter_rows(named=True)}
    XA = np.column_stack([v["a1"], v["a2"], v["a3"]])
    assert dims["A"]["alpha"] == pytest.approx(cronbach_alpha(XA))
    assert dims["A"]["pc1_share"] == pytest.approx(pca_first_share(XA))
    assert dims["idx"]["n_indicators"] == 5
    flags = {(r["code_a"], r["code_b"]): r["flag"] for r in rep.flags.iter_rows(named=True)}
    assert flags[("a1", "a2")] == "collinear"
    assert flags[("a1", "a3")] == "negative" and flags[("a2", "a3")] == "negative"
    assert not any(p[0].startswith("b") for p in flags)
    imp = rep.importance
    assert imp["importance"].sum() == pytest.approx(1.0)
    assert imp["nominal_weight"].to_list() == pytest.approx([1 / 12] * 3 + [3 / 8] * 2)
    eta_b1 = eta_squared(v["idx"], v["b1"])
    assert imp.filter(imp["indicator"] == "b1")["eta2"].item() == pytest.approx(eta_b1)
    # thresholds are parameters: a looser collinearity threshold flags nothing more, a stricter negative one less
    strict = audit(fw, v, fw.effective_weights(), n_units=16, collinear=0.999, negative=-0.99)
    assert strict.flags.height == 0


def test_correlation_table_covers_levels_and_matches_pairs() -> None:
    fw = _fw()
    v = _values(fw)
    tab = correlation_table(fw, v, 16, methods=("pearson",))
    # level 1 pairs: C(5,2)=10; 1x2: 5*2; 1x3: 5; 2x2: 1; 2x3: 2; (3x3 none)
    assert tab.height == 10 + 10 + 5 + 1 + 2
    row = tab.filter((tab["code_a"] == "a1") & (tab["code_b"] == "A")).row(0, named=True)
    assert row["r"] == pytest.approx(stats.pearsonr(v["a1"], v["A"]).statistic)
    assert row["b_is_ancestor_of_a"] is True
    with pytest.raises(AuditError, match="no values given for node"):
        correlation_table(fw, {k: x for k, x in v.items() if k != "B"}, 16)


def test_audit_flags_the_same_information_across_parents_and_with_either_sign() -> None:
    """|r| >= 0.9 is double counting wherever the pair sits: r = -1 (a gap computed from another indicator, as
    prompt_bias_gap from unprompted satisfaction) and a pair under different parents are both flagged collinear."""
    fw = _fw()
    v = _values(fw)
    v["b2"] = -v["b1"]  # one cancels the other
    v["a2"] = v["b1"] * 2 + 1  # under A, the same information as b1 under B
    v["A"] = (v["a1"] + v["a2"] + v["a3"]) / 3
    v["B"] = (v["b1"] + v["b2"]) / 2
    v["idx"] = 0.25 * v["A"] + 0.75 * v["B"]
    rep = audit(fw, v, fw.effective_weights(), n_units=16)
    flags = {(r["code_a"], r["code_b"]): (r["flag"], r["parent"]) for r in rep.flags.iter_rows(named=True)}
    assert flags[("b1", "b2")] == ("collinear", "B")
    assert flags[("a2", "b1")] == ("collinear", "idx")


def test_redundant_pairs_per_period_ignores_a_shared_trend() -> None:
    """Two unrelated indicators that both rise over time correlate when periods are pooled; per period (across
    units) they do not, so only the pair that shares information period by period is flagged."""
    fw = _fw()
    rng = np.random.default_rng(3)
    P, U = 6, 16
    trend = np.arange(P)[:, None] * 10.0
    a1 = trend + rng.normal(size=(P, U))
    X = np.stack([a1, a1 + rng.normal(scale=0.05, size=(P, U)), trend + rng.normal(size=(P, U)),
                  trend + rng.normal(size=(P, U)), rng.normal(size=(P, U))], axis=2)
    pooled = np.corrcoef(X[..., 0].ravel(), X[..., 2].ravel())[0, 1]
    assert pooled > 0.9  # what a pooled correlation would flag
    out = redundant_pairs(fw, {"quarter": X}, threshold=0.9)
    assert out.select("code_a", "code_b").rows() == [("a1", "a2")]
    assert out["n_periods"].item() == P and out["r"].item() > 0.99
