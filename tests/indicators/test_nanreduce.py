"""Quiet NaN-ignoring min/max: an indicator no unit has in a period is ordinary, so it gives NaN without numpy's
"All-NaN slice encountered" RuntimeWarning (which np.errstate cannot silence and which reached refresh logs)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from indicators.nanreduce import nanmax, nanmin, nanmin_max
from indicators.uncertainty.problem import positive_scale


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_equals_numpy_where_every_slice_has_a_value(no_warnings) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, 5, 4))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[0, 0, :] = 1.0  # every slice along axis 0 and 2 keeps a value below
    x[:, :, 0] = 2.0
    for axis in (0, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_min, want_max = np.nanmin(x, axis=axis), np.nanmax(x, axis=axis)
        np.testing.assert_array_equal(nanmin(x, axis=axis), want_min)
        np.testing.assert_array_equal(nanmax(x, axis=axis, keepdims=True), np.expand_dims(want_max, axis))
    assert nanmin(x) == np.nanmin(x) and nanmax(x) == np.nanmax(x)


def test_an_all_nan_or_empty_slice_gives_nan_without_a_warning(no_warnings) -> None:
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, -2.0]])
    lo, hi = nanmin_max(x)
    np.testing.assert_array_equal(lo, [1.0, np.nan, -2.0])
    np.testing.assert_array_equal(hi, [1.0, np.nan, 3.0])
    assert np.isnan(nanmax(np.full(4, np.nan)))
    assert nanmin(np.empty((0, 3)), axis=0).shape == (3,) and np.isnan(nanmin(np.empty((0, 3)), axis=0)).all()
    assert np.isnan(nanmax(np.empty(0)))


def test_positive_scale_keeps_an_indicator_no_unit_has_as_nan_quietly(no_warnings) -> None:
    """The refresh's Monte Carlo rescales every indicator; one missing for every unit warned once per refresh."""
    X = np.array([[1.0, np.nan, 5.0], [3.0, np.nan, 5.0], [2.0, np.nan, np.nan]])
    out = positive_scale(X)
    np.testing.assert_allclose(out[:, 0], [1.0, 100.0, 50.5])
    assert np.isnan(out[:, 1]).all()
    np.testing.assert_allclose(out[:2, 2], [50.5, 50.5])
    assert np.isnan(out[2, 2])
