"""Reliability (signal share of between-unit variance) and empirical-Bayes shrinkage, against hand computations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from indicators.framework import Framework, Node
from indicators.model import score
from indicators.reliability import (binomial_se, period_reliability, reliability, reliability_table, shrink)
from indicators.spec import ModelSpec
from indicators.errors import ScoringError


def test_period_reliability_is_one_minus_noise_over_spread_by_hand() -> None:
    x = np.array([[[10.0], [20.0], [30.0], [40.0]]])  # 1 period × 4 units × 1 indicator
    se = np.array([[[5.0], [5.0], [5.0], [5.0]]])
    s2 = np.var([10, 20, 30, 40], ddof=1)  # 166.67
    assert period_reliability(x, se)[0, 0] == pytest.approx(1 - 25 / s2)
    # noise larger than the spread: nothing to rank on (clipped at 0, not negative)
    assert period_reliability(x, se * 10)[0, 0] == 0.0
    # fewer than three units with a value and an error: undefined
    x2 = x.copy()
    x2[0, 1:3, 0] = np.nan
    assert np.isnan(period_reliability(x2, se)[0, 0])


def test_reliability_summarises_periods_by_median_and_rises_with_the_grain() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(0, 1, size=16)
    quarters = truth[None, :, None] + rng.normal(0, 1.0, size=(8, 16, 1))
    years = truth[None, :, None] + rng.normal(0, 0.3, size=(2, 16, 1))  # ten times the sample
    t = reliability_table({"quarter": (quarters, np.full(quarters.shape, 1.0)),
                           "year": (years, np.full(years.shape, 0.3))}, ["x"], threshold=0.7)
    q = reliability(quarters, np.full(quarters.shape, 1.0))[0]
    assert t.rows.filter(pl.col("grain") == "quarter")["reliability"].item() == pytest.approx(q)
    assert q < 0.7
    flagged = t.flagged().row(0, named=True)
    assert flagged["indicator"] == "x" and flagged["grain"] == "quarter"
    assert flagged["reliable_at"] == "year"
    with pytest.raises(ValueError, match="threshold"):
        reliability_table({}, ["x"], threshold=1.5)


def test_shrinkage_by_hand_and_small_samples_move_most() -> None:
    x = np.array([[[60.0], [70.0], [80.0], [90.0]]])
    se = np.array([[[1.0], [1.0], [10.0], [1.0]]])
    s2 = np.var([60, 70, 80, 90], ddof=1)
    tau2 = s2 - np.mean(se**2)
    w = 1 / (tau2 + se[0, :, 0] ** 2)
    city = (w * x[0, :, 0]).sum() / w.sum()
    out = shrink(x, se)
    B = tau2 / (tau2 + se[0, :, 0] ** 2)
    assert out.values[0, :, 0] == pytest.approx(city + B * (x[0, :, 0] - city))
    moved = np.abs(out.values - x)[0, :, 0] / np.abs(x[0, :, 0] - city)
    assert moved.argmax() == 2  # the value with the largest error moves most (relative to its distance)
    assert out.shrunk.all()
    # no signal: every unit gets the city value
    flat = shrink(np.array([[[50.0], [51.0], [49.0], [50.0]]]), np.full((1, 4, 1), 10.0))
    assert np.ptp(flat.values) == pytest.approx(0.0)
    # no error known: left as it is and not flagged
    none = shrink(x, np.full(x.shape, np.nan))
    assert (none.values == x).all() and not none.shrunk.any()


def test_binomial_se_reads_the_scale_and_skips_non_rates() -> None:
    se = binomial_se(np.array([50.0, 0.5, 3.2, np.nan]), np.array([10.0, 10.0, 10.0, 1.0]),
                     np.array([20.0, 20.0, 20.0, 2.0]))
    pt = 10.5 / 21
    assert se[0] == pytest.approx(100 * np.sqrt(pt * (1 - pt) / 20))
    assert se[1] == pytest.approx(np.sqrt(pt * (1 - pt) / 20))
    assert np.isnan(se[2]) and np.isnan(se[3])  # 3.2 is not 10/20 on any scale; no value


def _fw() -> Framework:
    return Framework.from_nodes([Node("idx", None), Node("a", "idx", is_indicator=True),
                                 Node("b", "idx", is_indicator=True)])


def test_score_with_empirical_bayes_shrinks_small_samples_and_flags_them() -> None:
    units = [f"u{i}" for i in range(6)]
    rates = [0.9, 0.8, 0.7, 0.6, 0.5, 0.95]
    dens = [400, 400, 400, 400, 400, 8]  # u5's 95% rests on 8 answers
    long = pl.DataFrame({
        "unit_code": units * 2, "period": ["2025Q1"] * 12, "indicator_id": ["a"] * 6 + ["b"] * 6,
        "value": [100 * r for r in rates] + [1.0, 2, 3, 4, 5, 6],
        "numerator": [r * d for r, d in zip(rates, dens)] + [None] * 6, "denominator": dens + [None] * 6,
    })
    spec = ModelSpec(normalisation={"name": "none"}, shrinkage="empirical_bayes")
    res = score(_fw(), long, spec)
    a = res.filled[0, :, 0]
    assert a[5] < 95.0 - 5  # pulled well toward the city value
    assert abs(a[0] - 90.0) < 1.0  # a large sample barely moves
    assert res.shrunk[0, :, 0].all() and not res.shrunk[0, :, 1].any()  # b has no error: not shrunk
    assert res.raw[0, 5, 0] == pytest.approx(95.0)  # the observed value is kept beside the shrunk one
    frame = res.scores.filter(pl.col("node") == "a")
    assert frame["shrunk"].all()
    plain = score(_fw(), long, ModelSpec(normalisation={"name": "none"}))
    assert plain.filled[0, 5, 0] == pytest.approx(95.0) and not plain.shrunk.any()
    with pytest.raises(ScoringError, match="sampling error"):
        score(_fw(), long.drop("numerator", "denominator"), spec)
