"""Partial periods are never fitted on; a reference window freezes the bounds; absolute bands by default (issue 12)."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from indicators.errors import ScoringError
from indicators.framework import Framework, Node
from indicators.model import frozen_spec, score
from indicators.periods import complete_periods, completeness, in_window, partial_periods, period_grain, period_months
from indicators.spec import BandSpec, MethodSpec, ModelSpec


def _fw() -> Framework:
    return Framework.from_nodes([
        Node("idx", None),
        Node("a", parent="idx", is_indicator=True, goalposts=(0.0, 50.0)),
        Node("b", parent="idx", is_indicator=True, direction=-1, goalposts=(0.0, 50.0)),
    ])


QUARTERS = ("2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2")


def _long(periods: tuple[str, ...], seed: int = 3) -> pl.DataFrame:
    """Values that depend only on (unit, period): a later period never changes an earlier one's raw values."""
    rows = []
    for p in periods:
        rng = np.random.default_rng(zlib.crc32(p.encode()) + seed)
        for u in range(8):
            for i in ("a", "b"):
                rows.append((f"U{u}", p, i, float(rng.uniform(5, 45))))
    return pl.DataFrame(rows, schema=["unit_code", "period", "indicator_id", "value"], orient="row")


def _extreme_partial(periods: tuple[str, ...], partial: str) -> pl.DataFrame:
    """The data plus a partial period holding extreme values (a one-month quarter's noisy rates)."""
    extra = pl.DataFrame(
        [(f"U{u}", partial, i, 1000.0 if u == 0 else -1000.0) for u in range(8) for i in ("a", "b")],
        schema=["unit_code", "period", "indicator_id", "value"], orient="row",
    )
    return pl.concat([_long(periods), extra])


def test_period_labels_and_years() -> None:
    assert period_months("2025")[0] == "2025-01" and len(period_months("2025")) == 12
    assert period_grain("2025") == "year" and period_grain("2025Q3") == "quarter" and period_grain("2025-07") == "month"
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    assert complete_periods(["2025", "2026", "2026Q1", "2026-01"], months) == ("2025", "2026-01")
    assert partial_periods(["2025", "2026", "2026Q1"], months) == {"2026": ("2026-01",), "2026Q1": ("2026-01",)}
    assert partial_periods(["2025Q1"], []) == {} and completeness(["2025Q1"], []) is None  # coverage unknown
    assert completeness(["2025Q1", "2025Q2"], ["2025-01", "2025-02", "2025-03"]) == ("2025Q1",)
    assert in_window("2025", ("2025Q1", "2025Q4")) and in_window("2025-03", ("2025Q1", "2025Q4"))
    assert not in_window("2026Q1", ("2025Q1", "2025Q4"))


def test_partial_period_is_never_fitted_on() -> None:
    """Min-max over the panel: an extreme partial quarter would set the bounds; flagged partial, it does not."""
    base = score(_fw(), _long(QUARTERS), ModelSpec(), complete=QUARTERS)
    with_partial = score(_fw(), _extreme_partial(QUARTERS, "2026Q3"), ModelSpec(), complete=QUARTERS)
    np.testing.assert_allclose(with_partial.values[:-1], base.values)
    assert not with_partial.fit_rows[-1] and not with_partial.complete[-1]
    # unflagged (the old behaviour), the partial quarter squeezes every complete period's scores
    unflagged = score(_fw(), _extreme_partial(QUARTERS, "2026Q3"), ModelSpec())
    assert not np.allclose(unflagged.values[:-1], base.values)


def test_partial_period_not_used_by_pooled_treatment() -> None:
    spec = ModelSpec(treatment=MethodSpec(name="coinr_default"))
    base = score(_fw(), _long(QUARTERS), spec, complete=QUARTERS)
    with_partial = score(_fw(), _extreme_partial(QUARTERS, "2026Q3"), spec, complete=QUARTERS)
    np.testing.assert_allclose(with_partial.treated[:-1], base.treated)


def test_reference_window_bounds_do_not_move_when_later_periods_arrive() -> None:
    """Scores of 2025Q3 stay put when 2026 quarters (and a partial one) are added, with the 2025 window frozen."""
    spec = ModelSpec(fit_on="reference", reference=("2025Q1", "2025Q4"))
    early = QUARTERS[:4]
    before = score(_fw(), _long(early), spec, complete=early)
    after = score(_fw(), _extreme_partial(QUARTERS, "2026Q3"), spec, complete=QUARTERS)
    k = before.periods.index("2025Q3")
    np.testing.assert_array_equal(after.values[after.periods.index("2025Q3")], before.values[k])
    assert after.fit_rows.tolist() == [True] * 4 + [False] * 3
    # whereas fitting on the whole panel moves them
    moved = score(_fw(), _long(QUARTERS), ModelSpec(), complete=QUARTERS)
    assert not np.allclose(moved.values[moved.periods.index("2025Q3")], before.values[k])


def test_goalposts_do_not_move_when_later_periods_arrive() -> None:
    spec = ModelSpec(normalisation=MethodSpec(name="goalposts"))
    before = score(_fw(), _long(QUARTERS[:4]), spec, complete=QUARTERS[:4])
    after = score(_fw(), _extreme_partial(QUARTERS, "2026Q3"), spec, complete=QUARTERS)
    np.testing.assert_array_equal(after.values[:4], before.values)


def test_reference_window_must_be_covered_by_complete_periods() -> None:
    spec = ModelSpec(fit_on="reference", reference=("2025Q1", "2025Q4"))
    with pytest.raises(ScoringError, match="2025-10"):
        score(_fw(), _long(QUARTERS[:4]), spec, complete=QUARTERS[:3])  # 2025Q4 partial
    with pytest.raises(ValidationError, match="needs reference"):
        ModelSpec(fit_on="reference")
    with pytest.raises(ValidationError, match="not a period label"):
        ModelSpec(fit_on="reference", reference=("2025", "Q4"))
    with pytest.raises(ScoringError, match="partial"):
        score(_fw(), _long(QUARTERS), ModelSpec(fit_on="2026Q2"), complete=QUARTERS[:5])


def test_no_complete_period_to_fit_on_is_refused() -> None:
    with pytest.raises(ScoringError, match="no complete period"):
        score(_fw(), _long(QUARTERS[:2]), ModelSpec(), complete=())


def test_absolute_bands_by_default_quantile_by_name() -> None:
    spec = ModelSpec(normalisation=MethodSpec(name="goalposts"))
    res = score(_fw(), _long(QUARTERS), spec, complete=QUARTERS)
    s = res.scores.filter(pl.col("node") == "a")
    expect = np.select([s["score"] >= 90, s["score"] >= 80, s["score"] >= 60], ["优秀", "良好", "一般"], "较差")
    assert s["band"].to_list() == expect.tolist()
    q = BandSpec.model_validate({"method": "quantile"})
    assert q.cuts == (0.75, 0.5, 0.25) and q.labels_zh[-1] == "待提升" and "四分位" in q.source
    res_q = score(_fw(), _long(QUARTERS), spec.model_copy(update={"bands": q}), complete=QUARTERS)
    counts = res_q.scores.filter((pl.col("node") == "idx") & (pl.col("period") == "2025Q1"))["band"].value_counts()
    assert dict(counts.iter_rows())["待提升"] == 2  # a quarter of 8 districts, always
    assert BandSpec.model_validate({"method": "fixed", "cuts": [85, 70, 60]}).method == "absolute"


def test_frozen_spec_keeps_the_scores_when_the_reference_data_change() -> None:
    """An edition can store frozen bounds: re-scoring with them gives the same scores, a later revision of the
    window's data does not move them, and goalposts are written out so a later catalog change cannot either."""
    spec = ModelSpec(fit_on="reference", reference=("2025Q1", "2025Q4"))
    res = score(_fw(), _long(QUARTERS), spec, complete=QUARTERS)
    frozen = frozen_spec(res)
    assert frozen.normalisation.name == "goalposts" and frozen.reference is None
    assert set(frozen.normalisation.params["goalposts"]) == {"a", "b"}
    again = score(_fw(), _long(QUARTERS), frozen, complete=QUARTERS)
    np.testing.assert_allclose(again.values, res.values, atol=1e-9)
    # a revision inside the window (a late correction of 2025Q1) moves the refitted bounds, not the frozen ones
    revised = _long(QUARTERS).with_columns(
        pl.when((pl.col("period") == "2025Q1") & (pl.col("unit_code") == "U0")).then(pl.lit(100.0))
        .otherwise(pl.col("value")).alias("value"))
    k = QUARTERS.index("2026Q1")
    assert not np.allclose(score(_fw(), revised, spec, complete=QUARTERS).values[k], res.values[k])
    np.testing.assert_allclose(score(_fw(), revised, frozen, complete=QUARTERS).values[k], res.values[k], atol=1e-9)
    gp = frozen_spec(score(_fw(), _long(QUARTERS), ModelSpec(normalisation=MethodSpec(name="goalposts")),
                           complete=QUARTERS))
    assert gp.normalisation.params["goalposts"] == {"a": [0.0, 50.0], "b": [0.0, 50.0]}  # direction -1 stays raw
    with pytest.raises(ScoringError, match="cannot freeze"):
        frozen_spec(score(_fw(), _long(QUARTERS), ModelSpec(normalisation=MethodSpec(name="zscore")),
                          complete=QUARTERS))
