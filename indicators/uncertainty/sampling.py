"""Uniform sample points on the unit cube (scrambled Sobol' or pseudo-random), whole or in chunks.

The Monte Carlo engine and the Saltelli design both draw from here; it imports nothing else from the project.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
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
