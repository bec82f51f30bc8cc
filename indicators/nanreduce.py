"""NaN-ignoring min and max that stay quiet: a slice with no value gives NaN, never numpy's "All-NaN slice" warning.

numpy's nanmin/nanmax warn (RuntimeWarning, which np.errstate cannot silence) for every all-NaN slice, and an
indicator no unit has in a period is an ordinary case here, not an error. np.fmin/np.fmax skip NaN as long as one
side has a value, so their reduction is NaN exactly where the slice is empty or all NaN.
"""

from __future__ import annotations

import numpy as np


def nanmin(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """np.nanmin without the all-NaN warning: NaN where a slice has no value (also for an empty slice)."""
    return _reduce(np.fmin, x, axis, keepdims)


def nanmax(x: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """np.nanmax without the all-NaN warning: NaN where a slice has no value (also for an empty slice)."""
    return _reduce(np.fmax, x, axis, keepdims)


def nanmin_max(x: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(nanmin, nanmax) along `axis`, both NaN where a slice has no value."""
    return nanmin(x, axis), nanmax(x, axis)


def _reduce(op: np.ufunc, x: np.ndarray, axis: int | None, keepdims: bool) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if axis is None:
        a, axis = a.reshape(-1), 0
    if a.shape[axis] == 0:  # fmin.reduce has no identity: an empty slice is "no value"
        shape = list(a.shape)
        shape[axis] = 1
        out = np.full(shape, np.nan)
        return out if keepdims else np.squeeze(out, axis=axis)
    return op.reduce(a, axis=axis, keepdims=keepdims)  # type: ignore[no-any-return]
