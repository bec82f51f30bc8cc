"""Uniform sample points on the unit cube (scrambled Sobol' or pseudo-random), whole or in chunks, and the Gamma
inverse CDF that maps them to Dirichlet weights.

The Monte Carlo engine and the Saltelli design both draw from here; it imports nothing else from the project.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.stats import qmc


class SensitivityError(ValueError):
    """A sensitivity design or estimator was given inconsistent shapes or settings."""


def uniform_matrix(n: int, d: int, rng: np.random.Generator, sampler: str = "sobol") -> np.ndarray:
    """n points in [0,1)^d: scrambled Sobol' (scipy.stats.qmc, seeded from rng) or plain pseudo-random."""
    if n < 1 or d < 1:
        raise SensitivityError(f"need at least one point and one dimension, got n={n}, d={d}")
    if sampler == "sobol":
        if n & (n - 1):
            raise SensitivityError(f"Sobol' sampling needs a power-of-two sample count, got {n}")
        return qmc.Sobol(d=d, scramble=True, seed=rng).random(n)
    if sampler == "random":
        return rng.random((n, d))
    raise SensitivityError(f"unknown sampler {sampler!r}; allowed: sobol, random")


def uniform_chunks(
    n: int, d: int, rng: np.random.Generator, sampler: str = "sobol", chunk: int = 4096
) -> Iterator[np.ndarray]:
    """The first n points of uniform_matrix (Sobol': of its next power of two), `chunk` rows at a time.

    Generating in chunks keeps each block in cache for the evaluation that follows and draws only n points, not
    the next power of two; the points are identical (scrambled Sobol' and numpy's Generator are sequential).
    """
    if n < 1 or d < 1:
        raise SensitivityError(f"need at least one point and one dimension, got n={n}, d={d}")
    if chunk < 1 or chunk & (chunk - 1):
        raise SensitivityError(f"chunk must be a power of two, got {chunk}")
    if sampler == "sobol":
        engine = qmc.Sobol(d=d, scramble=True, seed=rng)
        first = min(chunk, 1 << (n - 1).bit_length())  # a power of two: scipy checks balance on the first draw only
        yield engine.random(first)[:n]
        for start in range(first, n, chunk):
            yield engine.random(min(chunk, n - start))
    elif sampler == "random":
        for start in range(0, n, chunk):
            yield rng.random((min(chunk, n - start), d))
    else:
        raise SensitivityError(f"unknown sampler {sampler!r}; allowed: sobol, random")


# -- the Gamma inverse CDF ----------------------------------------------------------------------------------------
# Dirichlet weights are Gamma(alpha) variates by inverse CDF (quasi-random columns keep their stratification), one per
# sample and perturbed node: 800,000 at 100,000 samples x 8 dimensions. scipy's gammaincinv solves each one
# iteratively (about 0.6 us a value, 85% of such a run), although alpha is the same for a whole column. So each alpha
# gets a table once: log x as a function of z = Phi^-1(p), a smooth, nearly polynomial curve (Wilson-Hilferty: x is
# close to a cubic in z), with its exact slope, interpolated by cubic Hermite pieces. The table is checked against
# gammaincinv at every piece's midpoint (where a Hermite piece errs most) and refined until it agrees to
# GAMMA_PPF_RTOL, else that alpha keeps the direct solve: either way a value equals gammaincinv's to that tolerance.
GAMMA_P_MIN = 1e-12  # the design's tails are clipped here (factors.dirichlet), so the table spans exactly this range
GAMMA_PPF_RTOL = 3e-14  # relative: ~100 units in the last place; gammaincinv itself scatters ~1e-14 deep in the tails
_GAMMA_PIECES = (4096, 8192, 16384)  # 4096 fits alpha >= ~3, 8192 down to ~0.5; below, the tails bend too much


@dataclass(frozen=True)
class _GammaTable:
    """Cubic Hermite pieces of log x(z) on a uniform grid of z = Phi^-1(p): coefficients (pieces x 4) in t."""

    z0: float
    step: float
    coef: np.ndarray

    def __call__(self, z: np.ndarray) -> np.ndarray:
        t = (z - self.z0) / self.step
        i = np.clip(t.astype(np.intp), 0, len(self.coef) - 1)
        t -= i
        c = self.coef[i]
        return np.exp(c[..., 0] + t * (c[..., 1] + t * (c[..., 2] + t * c[..., 3])))


def _gamma_exact(alpha: float, z: np.ndarray) -> np.ndarray:
    """The Gamma(alpha) quantile at Phi(z), the upper half through the complement: Phi(z) near 1 would round away
    the digits that decide the quantile there."""
    return np.where(z <= 0, special.gammaincinv(alpha, special.ndtr(np.minimum(z, 0))),
                    special.gammainccinv(alpha, special.ndtr(-np.maximum(z, 0))))


def _gamma_slope(alpha: float, z: np.ndarray, logx: np.ndarray) -> np.ndarray:
    """d log x / dz = phi(z) / (x f(x)), f the Gamma density; in logs so that no term overflows."""
    x = np.exp(logx)
    return np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - (alpha * logx - x - special.gammaln(alpha)))


@lru_cache(maxsize=64)
def gamma_table(alpha: float) -> _GammaTable | None:
    """The checked interpolation table of the Gamma(alpha) inverse CDF, or None where none meets GAMMA_PPF_RTOL."""
    z0, z1 = float(special.ndtri(GAMMA_P_MIN)), float(-special.ndtri(GAMMA_P_MIN))
    with np.errstate(all="ignore"):
        for pieces in _GAMMA_PIECES:
            z = np.linspace(z0, z1, pieces + 1)
            y = np.log(_gamma_exact(alpha, z))
            step = (z1 - z0) / pieces
            d = _gamma_slope(alpha, z, y) * step
            if not (np.isfinite(y).all() and np.isfinite(d).all()):
                return None
            y0, y1, d0, d1 = y[:-1], y[1:], d[:-1], d[1:]
            coef = np.stack([y0, d0, 3 * (y1 - y0) - 2 * d0 - d1, 2 * (y0 - y1) + d0 + d1], axis=1)
            table = _GammaTable(z0, step, coef)
            mid = z[:-1] + step / 2
            if np.max(np.abs(table(mid) / _gamma_exact(alpha, mid) - 1)) <= GAMMA_PPF_RTOL:
                return table
    return None


def gamma_ppf(alpha: float, p: np.ndarray) -> np.ndarray:
    """scipy.special.gammaincinv(alpha, p) to GAMMA_PPF_RTOL, from a per-alpha table (see above) where p lies in
    [GAMMA_P_MIN, 1 - GAMMA_P_MIN]; values outside, and alphas no table fits, are solved directly."""
    p = np.asarray(p, dtype=float)
    table = gamma_table(float(alpha))
    if table is None:
        return special.gammaincinv(alpha, p)
    inside = (p >= GAMMA_P_MIN) & (p <= 1 - GAMMA_P_MIN)
    out = table(special.ndtri(np.where(inside, p, 0.5)))
    if not inside.all():
        out[~inside] = special.gammaincinv(alpha, p[~inside])
    return out
