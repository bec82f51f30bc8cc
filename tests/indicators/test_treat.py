"""Outlier treatment: COINr's skew/kurtosis estimators, winsorisation from either side, the log fallback."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from indicators.treat import check_skew_kurt, kurt, log_ct, skew, treat, treat_coinr_default, winsorise


def test_estimators_are_excel_type2() -> None:
    x = np.array([1.0, 2, 3, 4, 10, np.nan])
    # type 2 = the bias-adjusted Fisher–Pearson estimators (scipy's bias=False), NaN ignored
    assert skew(x) == pytest.approx(stats.skew(x[:-1], bias=False), rel=1e-12)
    assert kurt(x) == pytest.approx(stats.kurtosis(x[:-1], bias=False), rel=1e-12)


def test_winsorise_high_side() -> None:
    x = np.r_[np.arange(1.0, 11.0), 30.0, 100.0]
    out, nwin, flag = winsorise(x, winmax=5)
    assert check_skew_kurt(out)[0]
    assert nwin >= 1 and flag[-1] == 1 and out.max() < 100


def test_winsorise_low_side() -> None:
    x = -np.r_[np.arange(1.0, 11.0), 30.0, 100.0]
    out, nwin, flag = winsorise(x)
    assert flag[-1] == -1 and out.min() > -100


def test_log_fallback_when_winsorising_is_not_enough() -> None:
    x = np.r_[np.ones(20), np.geomspace(2, 1e6, 10)]
    res = treat_coinr_default(x, winmax=1)
    assert res.details["winsorise.nwin"] == 1 and res.details["check_SkewKurt1.Pass"] is False
    np.testing.assert_allclose(res.values, log_ct(x))  # applied to the original column, as COINr does
    assert (res.flag == 2).all()


def test_short_columns_untouched_and_overrides() -> None:
    X = np.column_stack([[1.0, 2, 1000, np.nan, np.nan], np.r_[np.arange(4.0), 1000]])
    res = treat(X, ("short", "ok"), "coinr_default", overrides={"ok": ("none", {})})
    np.testing.assert_array_equal(res.values[:, 0], X[:, 0])
    np.testing.assert_array_equal(res.values[:, 1], X[:, 1])
    assert res.details["iCode"].to_list() == ["short", "ok"]
