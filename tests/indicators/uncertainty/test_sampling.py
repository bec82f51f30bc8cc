"""The Gamma inverse CDF behind Dirichlet weights: a per-alpha table that must equal scipy's solver."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from indicators.uncertainty.sampling import GAMMA_P_MIN, GAMMA_PPF_RTOL, gamma_ppf, gamma_table


@pytest.mark.parametrize("alpha", [200.0, 25.0, 12.5, 3.0, 1.0, 0.5, 0.3, 0.01])
def test_gamma_ppf_equals_gammaincinv_over_the_whole_clipped_range(alpha: float) -> None:
    """Every alpha the Dirichlet can ask for (concentration x nominal share), the deep tails and the clip bounds
    included; small alphas that no table fits are solved directly, so they agree too."""
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.random(20_000), 10.0 ** -rng.uniform(1, 12, 2_000), 1 - 10.0 ** -rng.uniform(1, 12, 2_000),
                        [GAMMA_P_MIN, 1 - GAMMA_P_MIN, 0.5]])
    p = np.clip(p, GAMMA_P_MIN, 1 - GAMMA_P_MIN)
    np.testing.assert_allclose(gamma_ppf(alpha, p), special.gammaincinv(alpha, p), rtol=GAMMA_PPF_RTOL, atol=0)


def test_gamma_ppf_outside_the_table_range_is_solved_directly() -> None:
    p = np.array([0.0, 1e-15, 0.3, 1 - 1e-14, 1.0])
    assert gamma_table(25.0) is not None
    np.testing.assert_array_equal(gamma_ppf(25.0, p)[[0, 1, 3, 4]], special.gammaincinv(25.0, p[[0, 1, 3, 4]]))
    np.testing.assert_allclose(gamma_ppf(25.0, p)[2], special.gammaincinv(25.0, 0.3), rtol=GAMMA_PPF_RTOL)


def test_the_product_default_concentrations_get_a_table() -> None:
    """weights/uncertainty/default.toml: Dirichlet(50 x 1/4) dimension shares; bench.sensitivity uses 100."""
    assert gamma_table(12.5) is not None and gamma_table(25.0) is not None
