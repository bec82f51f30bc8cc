"""Normalisers: known answers, goalposts and targets, panel fitting, errors."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.normalise import (
    ColumnNormaliser,
    MinMaxNormaliser,
    n_dist2max,
    n_dist2targ,
    n_goalposts,
    n_minmax,
    n_prank,
    n_rank,
    n_zscore,
)
from indicators.registry import MethodError
from indicators.normalise import make_normaliser


def test_known_answers() -> None:
    x = np.array([1.0, 2.0, 2.0, 5.0, np.nan])
    np.testing.assert_allclose(n_minmax(x, 0, 100), [0, 25, 25, 100, np.nan])
    np.testing.assert_allclose(n_minmax(x, 0, 100, direction=[-1]), [100, 75, 75, 0, np.nan])
    np.testing.assert_allclose(n_rank(x), [1, 2, 2, 4, np.nan])
    np.testing.assert_allclose(n_prank(x), [0, 1 / 3, 1 / 3, 1, np.nan])
    z = n_zscore(x, 10, 2)
    assert np.nanmean(z) == pytest.approx(10) and np.nanstd(z, ddof=1) == pytest.approx(2)
    np.testing.assert_allclose(n_dist2max(x, 1.0), [0, 0.25, 0.25, 1, np.nan])


def test_goalposts_clip_and_flip() -> None:
    x = np.array([[-5.0, 0.0], [5.0, 5.0], [20.0, 10.0]])
    out = n_goalposts(x, low=[0, 0], high=[10, 10], direction=[1, -1])
    np.testing.assert_allclose(out, [[0, 100], [50, 50], [100, 0]])
    unclipped = n_goalposts(x, low=[0, 0], high=[10, 10], clip=False)
    assert unclipped[0, 0] == -50 and unclipped[2, 0] == 200
    with pytest.raises(ValueError, match="low < high"):
        n_goalposts(x, low=[1, 0], high=[1, 10])


def test_distance_to_target() -> None:
    x = np.array([0.0, 5.0, 10.0, 12.0])
    np.testing.assert_allclose(n_dist2targ(x, [10.0]), [0, 50, 100, 100])
    np.testing.assert_allclose(n_dist2targ(x, [10.0], cap=False), [0, 50, 100, 120])
    # lower is better: target 2 with direction -1
    np.testing.assert_allclose(n_dist2targ(x, [2.0], direction=[-1]), [100, 70, 20, 0])


def test_fit_on_base_period_transform_later_period() -> None:
    base = np.array([[0.0], [10.0]])
    later = np.array([[5.0], [20.0], [-5.0]])
    norm = MinMaxNormaliser(0, 100)
    norm.fit(base)
    # the min and max learned in the base stay; beyond them the score is clipped to [l, u] by default ...
    np.testing.assert_allclose(norm.transform(later), [[50], [100], [0]])
    assert norm.min_[0] == 0 and norm.max_[0] == 10 and norm.output_range() == (0.0, 100.0)
    # ... or extrapolated linearly on request (clip=False), when the range is no longer promised
    free = make_normaliser("minmax", {"l": 1.0, "u": 100.0, "clip": False}).fit(base)
    np.testing.assert_allclose(free.transform(later), [[50.5], [199.0], [-48.5]])
    assert free.output_range() is None


def test_out_of_sample_rank_and_percentile_rank_stay_in_range() -> None:
    base = np.array([1.0, 2.0, 2.0, 4.0, 5.0])
    new = np.array([0.0, 2.0, 3.0, 5.0, 9.0, np.nan])
    rank = make_normaliser("rank").fit(base)
    # position within the fitted sample: 1 + count of fitted values strictly below, capped at the fitted count
    np.testing.assert_allclose(rank.transform(new), [1, 2, 4, 5, 5, np.nan])
    assert rank.output_range() == (1.0, 5.0)
    prank = make_normaliser("prank").fit(base)
    np.testing.assert_allclose(prank.transform(new), [0, 0.25, 0.75, 1, 1, np.nan])
    assert prank.output_range() == (0.0, 1.0)
    # direction -1: the new value that is lowest is best
    down = make_normaliser("prank", directions=[-1]).fit(base)
    np.testing.assert_allclose(down.transform(new), [1, 0.5, 0.5, 0, 0, np.nan])  # ties take the lower rank


def test_out_of_sample_distance_to_best_is_clipped() -> None:
    norm = make_normaliser("distance_to_best", {"scale": 1.0}).fit(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(norm.transform(np.array([0.0, 5.0, 9.0])), [0, 0.75, 1])
    free = make_normaliser("distance_to_best", {"scale": 1.0, "clip": False}).fit(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_allclose(free.transform(np.array([0.0, 5.0, 9.0])), [-0.5, 0.75, 1.75])


def test_column_normaliser_mixes_methods() -> None:
    X = np.array([[0.0, 1.0], [10.0, 3.0], [5.0, 2.0]])
    cn = ColumnNormaliser([([0], make_normaliser("minmax")), ([1], make_normaliser("rank"))])
    np.testing.assert_allclose(cn.fit_transform(X), [[0, 1], [100, 3], [50, 2]])


def test_bad_names_and_params_list_what_is_allowed() -> None:
    with pytest.raises(MethodError, match="allowed: minmax, zscore"):
        make_normaliser("minmaxx")
    with pytest.raises(MethodError, match="unknown parameter"):
        make_normaliser("minmax", {"lower": 0})
    with pytest.raises(MethodError, match="l < u"):
        make_normaliser("minmax", {"l": 5, "u": 1})
    with pytest.raises(ValueError, match="directions must be 1 or -1"):
        n_minmax(np.ones((3, 1)), direction=[0])
