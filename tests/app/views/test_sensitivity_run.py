"""The sensitivity run of the app offers the data factor: drawn from the warehouse's standard errors (issue 13.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def test_a_result_is_stored_per_spec_and_the_last_comes_back_only_on_the_same_data(
        fixture_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    # a private run history (the store sits beside it), never beside the shared fixture warehouse
    ctx = AppContext.create(app_config(fixture_db, weights_dir, rank_samples=200, runs_db=str(tmp_path / "r.sqlite")))
    profile = ctx.profile("user-centred")
    spec = sr.build_spec(["weights", "blend"], 1000, 1, profile)
    assert sr.last_stored(ctx, profile) is None
    res = sr.run_stored(ctx, profile, spec)
    back = sr.last_stored(ctx, profile)
    assert back is not None and back.units == res.units and back.factors == res.factors
    for f in ("nominal_rank", "median", "low", "high", "p_above"):
        assert np.array_equal(getattr(back, f), getattr(res, f), equal_nan=True), f
    assert back.sobol.equals(res.sobol) and back.tornado.equals(res.tornado)
    assert sr.run_stored(ctx, profile, spec).sobol.equals(res.sobol)  # the same spec is read, not run again
    other = profile.model_copy(update={"blend": {"supply": 0.9, "demand": 0.1}})
    assert sr.last_stored(ctx, other) is None  # other numbers (same name): the stored result is not theirs
