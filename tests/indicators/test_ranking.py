"""The one rank rule (indicators.ranking.rank_desc) and its Monte Carlo form, pinned; every user of ranks follows it."""

from __future__ import annotations

import numpy as np
import pytest

from indicators.ranking import PAIRWISE_MAX_UNITS, RankError, RankTally, rank_desc, ranks_desc


def test_missing_scores_are_unranked_and_push_no_one_down() -> None:
    r = rank_desc(np.array([3.0, np.nan, 5.0, 3.0, np.inf, 1.0]))
    assert np.isnan(r[1]) and np.isnan(r[4])  # NaN and non-finite: no rank (NULL in the stored scores table)
    assert r[[0, 2, 3, 5]].tolist() == [2.0, 1.0, 2.0, 4.0]  # ties share the minimum rank; ranks stay 1..k


def test_all_missing_and_empty() -> None:
    assert np.isnan(rank_desc(np.full(4, np.nan))).all()
    assert rank_desc(np.empty((3, 0)), axis=1).shape == (3, 0)


def test_rank_along_any_axis() -> None:
    v = np.random.default_rng(0).integers(0, 4, size=(5, 7, 3)).astype(float)
    for axis in range(3):
        moved = np.moveaxis(v, axis, -1)
        expect = 1 + (moved[..., None, :] > moved[..., :, None]).sum(axis=-1)
        np.testing.assert_array_equal(np.moveaxis(rank_desc(v, axis=axis), axis, -1), expect)


@pytest.mark.parametrize("n_units", [1, 5, PAIRWISE_MAX_UNITS, PAIRWISE_MAX_UNITS + 3])
def test_monte_carlo_form_is_the_same_rule(n_units: int) -> None:
    scores = np.random.default_rng(n_units).integers(0, 6, size=(50, n_units)).astype(float)  # many ties
    np.testing.assert_array_equal(ranks_desc(scores), rank_desc(scores, axis=1))


def test_monte_carlo_form_refuses_failed_samples() -> None:
    with pytest.raises(RankError):
        ranks_desc(np.array([[1.0, np.nan]]))


def test_sensitivity_ranks_use_the_rule_and_drop_failed_samples() -> None:
    from indicators.uncertainty.sensitivity import _ranks_with_failures

    r = _ranks_with_failures(np.array([[1.0, 2.0, 2.0], [1.0, np.nan, 0.0]]))
    assert r[0].tolist() == [3.0, 1.0, 1.0] and np.isnan(r[1]).all()


def test_pairwise_tally_is_opt_in_above_the_pairwise_limit_and_exact_for_the_rows_asked() -> None:
    """Issue 16.3: the U x U pairwise tally was 84% of a 2,844-unit run; it is computed for the units asked only."""
    U = PAIRWISE_MAX_UNITS + 22
    scores = np.random.default_rng(3).integers(0, 9, (300, U)).astype(float)  # ties too
    full = RankTally(U, pairwise=True)
    full.add(scores)
    default = RankTally(U)
    default.add(scores)
    some = RankTally(U, pairwise=[4, 0, 149])
    some.add(scores[:100])
    some.add(scores[100:])
    assert np.isnan(default.p_above).all()  # not asked: not computed (NaN, never a made-up 0)
    ref = (scores[:, :, None] > scores[:, None, :]).mean(axis=0)
    assert np.array_equal(full.p_above, ref)
    assert np.array_equal(some.p_above[[0, 4, 149]], ref[[0, 4, 149]]) and np.isnan(some.p_above[1]).all()
    ranks = rank_desc(scores, axis=1).astype(int) - 1
    counts = np.stack([np.bincount(ranks[:, u], minlength=U) for u in range(U)])
    assert np.array_equal(default.rank_counts, counts) and np.array_equal(some.rank_counts, counts)
