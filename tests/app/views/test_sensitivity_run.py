"""The sensitivity run of the app offers the data factor: drawn from the warehouse's standard errors (issue 13.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.state import AppContext
from app.views import sensitivity_run as sr
from tests.app.conftest import app_config


@pytest.mark.slow
def test_the_data_factor_draws_from_the_stored_standard_errors(demo_env: dict[str, Path]) -> None:
    ctx = AppContext.create(app_config(demo_env["db"], demo_env["weights"], rank_samples=200))
    profile = ctx.profile("user-centred")
    spec = sr.build_spec(["weights", "data"], 1000, 1, profile)
    assert spec.data and not spec.imputation
    res = sr.run(ctx, profile, spec)
    assert "data" in res.factors and res.n_ok == res.n
    st = res.sobol.filter((res.sobol["output"] == sr.SHIFT_OUTPUT) & (res.sobol["factor"] == "data"))["ST"][0]
    assert st > 0.05  # the sampling error moves ranks
