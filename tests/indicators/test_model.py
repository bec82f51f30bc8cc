"""The scoring pipeline end to end: long input, panel fitting, ranks, gaps, bands, contributions, reweighting."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from indicators.framework import Framework, Node
from indicators.model import ScoringError, reaggregate, score
from indicators.spec import BandSpec, ModelSpec


def _fw() -> Framework:
    return Framework.from_nodes(
        [
            Node("idx", None),
            Node("S", "idx", weight=4),
            Node("D", "idx", weight=1, target=80.0),
            Node("s1", "S", is_indicator=True, target=10.0),
            Node("s2", "S", is_indicator=True, direction=-1, goalposts=(0.0, 50.0)),
            Node("d1", "D", is_indicator=True),
            Node("d2", "D", is_indicator=True, weight=2),
        ]
    )


def _long(n_units: int = 6, periods: tuple[str, ...] = ("2024Q1", "2024Q2", "2024Q3"), seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (f"U{u}", p, i, float(rng.uniform(1, 40)))
        for p in periods
        for u in range(n_units)
        for i in ("s1", "s2", "d1", "d2")
    ]
    return pl.DataFrame(rows, schema=["unit_code", "period", "indicator_id", "value"], orient="row")


def test_long_input_scores_every_unit_period_node() -> None:
    res = score(_fw(), _long())
    assert res.values.shape == (3, 6, 7) and res.units[0] == "U0" and res.periods == ("2024Q1", "2024Q2", "2024Q3")
    s = res.scores
    assert s.height == 3 * 6 * 7
    root = s.filter(pl.col("node") == "idx")
    # rank 1 = best, ties min, gap to best 0 for the best
    best = root.filter(pl.col("rank") == 1)
    assert best["gap_to_best"].to_list() == [0.0] * best.height
    assert set(root["band"].unique().to_list()) <= {"优秀", "良好", "一般", "较差"}  # absolute bands by default
    # panel fit: min-max over all periods, so not every period spans 0..100
    assert res.values[..., 0].min() == 0 and res.values[..., 0].max() == 100


def test_gap_to_target_sign_and_aggregate_targets() -> None:
    res = score(_fw(), _long())
    s = res.scores
    s1 = s.filter(pl.col("node") == "s1")
    np.testing.assert_allclose(s1["gap_to_target"].to_numpy(), 10.0 - s1["raw_value"].to_numpy())
    d = s.filter(pl.col("node") == "D")
    np.testing.assert_allclose(d["gap_to_target"].to_numpy(), 80.0 - d["score"].to_numpy())
    assert s.filter(pl.col("node") == "S")["gap_to_target"].null_count() == 18


def test_fit_on_a_period_and_unknown_period() -> None:
    res = score(_fw(), _long(), ModelSpec(fit_on="2024Q1"))
    assert res.values[0, :, 0].min() == 0 and res.values[0, :, 0].max() == 100
    with pytest.raises(ScoringError, match="fit_on period '2023Q4' is not in the data"):
        score(_fw(), _long(), ModelSpec(fit_on="2023Q4"))


def test_duplicates_and_missing_columns_are_named() -> None:
    df = _long()
    with pytest.raises(ScoringError, match="duplicate"):
        score(_fw(), pl.concat([df, df.head(1)]))
    with pytest.raises(ScoringError, match="lacks column"):
        score(_fw(), df.drop("value"))


def test_contributions_sum_to_composite_and_match_effective_weights() -> None:
    res = score(_fw(), _long())
    c = res.contributions
    total = c.group_by("unit_code", "period").agg(pl.col("contribution").sum()).sort("unit_code", "period")
    root = res.scores.filter(pl.col("node") == "idx").sort("unit_code", "period")
    np.testing.assert_allclose(total["contribution"].to_numpy(), root["score"].to_numpy())
    eff = res.effective_weights
    np.testing.assert_allclose(eff["nominal_effective"].to_numpy(), [0.4, 0.4, 0.2 / 3, 0.4 / 3])
    # for arithmetic means, contribution = nominal effective weight × normalised value
    one = c.filter((pl.col("unit_code") == "U2") & (pl.col("period") == "2024Q2"))
    np.testing.assert_allclose(one["contribution"].to_numpy(), one["score"].to_numpy() * eff["nominal_effective"].to_numpy())


def test_reaggregate_equals_full_rescore_and_rescaling_weights_is_neutral() -> None:
    fw, df = _fw(), _long()
    res = score(fw, df)
    new = {"S": 1.0, "D": 1.0, "d2": 5.0}
    fast = reaggregate(res.cache, new)
    slow = score(fw, df, ModelSpec(weights=new)).values
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    scaled = reaggregate(res.cache, {k: 3 * v for k, v in res.weights.items()})
    np.testing.assert_allclose(scaled, res.values, rtol=0, atol=1e-12)


def test_improvement_priorities() -> None:
    res = score(_fw(), _long())
    pr = res.improvement_priorities("U3", "2024Q3", step="range", size=0.1)
    assert pr.height == 4
    gains = pr["composite_gain"].to_numpy()
    assert np.all(np.diff(gains) <= 1e-12) and np.all(gains >= 0)
    # U3 is already the panel's best on s2 (score 100): min-max clips beyond the fitted range, so no gain there;
    # every indicator with room to improve gains
    at_top = pr.filter(pl.col("score") >= 100.0)
    assert at_top["indicator"].to_list() == ["s2"] and at_top["composite_gain"].to_list() == [0.0]
    assert (pr.filter(pl.col("score") < 100.0)["composite_gain"] > 0).all()
    # 10% of the range on a min-max [0,100] indicator = 10 points × its effective weight
    top = pr.row(0, named=True)
    assert top["indicator"] in ("s1", "s2") and top["composite_gain"] == pytest.approx(4.0)
    best = res.improvement_priorities("U3", "2024Q3", step="best")
    assert (best["new_rank"] <= best["rank"]).all()
    with pytest.raises(ScoringError, match="unknown unit"):
        res.improvement_priorities("nobody")


def test_geometric_errors_name_unit_and_period() -> None:
    X = np.array([[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]])
    spec = ModelSpec(normalisation={"name": "minmax", "params": {"l": 0, "u": 100}}, aggregation={"name": "gmean"})
    with pytest.raises(Exception, match="node 'S', unit 'A'"):
        score(_fw(), X, spec, units=["A", "B"])


def test_goalposts_and_imputation_flags_and_fixed_bands() -> None:
    df = _long().filter(~((pl.col("unit_code") == "U1") & (pl.col("indicator_id") == "d1")))
    spec = ModelSpec(
        imputation={"name": "mean"},
        normalisation_overrides={"s2": {"name": "goalposts"}},
        bands=BandSpec(method="fixed", cuts=(60.0, 40.0, 20.0)),
    )
    res = score(_fw(), df, spec)
    s = res.scores
    assert s.filter(pl.col("imputed"))["unit_code"].unique().to_list() == ["U1"]
    s2 = s.filter(pl.col("node") == "s2")
    np.testing.assert_allclose(s2["score"].to_numpy(), np.clip((50 - s2["raw_value"].to_numpy()) / 50 * 100, 0, 100))
    top = s.filter(pl.col("score") >= 60)
    assert set(top["band_en"].to_list()) == {"excellent"}  # absolute labels
    with pytest.raises(ScoringError, match="^goalpost normalisation: indicator 's1' has no goalposts"):
        score(_fw(), df, ModelSpec(normalisation={"name": "goalposts"}))


def test_matrix_input_and_warnings_for_absent_indicators() -> None:
    df = _long().filter(pl.col("indicator_id") != "d2")
    res = score(_fw(), df)
    assert any("d2" in w for w in res.warnings)
    assert np.isnan(res.values[..., 3]).all() and not np.isnan(res.root_scores).any()
    wide = res.wide("2024Q1")
    assert wide.columns[0] == "uCode" and wide.columns[1:] == list(res.order)


def test_vectorised_rank_and_quantile_match_references() -> None:
    import warnings

    from scipy.stats import rankdata

    from indicators.outputs import nan_quantile
    from indicators.ranking import rank_desc

    rng = np.random.default_rng(3)
    V = rng.integers(0, 6, size=(3, 25, 4)).astype(float)
    V[V == 5] = np.nan
    V[1, :, 2] = np.nan
    ours = rank_desc(V, axis=1)
    ref = rankdata(-V, method="min", axis=1, nan_policy="omit")
    assert np.array_equal(np.isnan(ours), np.isnan(ref)) and np.nanmax(np.abs(ours - ref)) == 0
    q = np.array([0.75, 0.5, 0.25])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(nan_quantile(V, q, 1), np.nanquantile(V, q, axis=1), equal_nan=True)
