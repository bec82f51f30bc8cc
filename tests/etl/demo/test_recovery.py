"""Recovery of the generator's latent strengths: the latent panel matches the generator's draw, and the Spearman
table is computed per grain and pillar (fast: no data are generated)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from etl.demo.calendar import make_window
from etl.demo.districts import TASK_ORIENTED, USER_CENTRED, make_profiles
from etl.demo.recovery import latent_strengths, recovery


def test_latent_strengths_are_the_generators_draw_averaged_per_period() -> None:
    lat = latent_strengths(seed=7, months=6, end_month="2026-03")
    assert set(lat["grain"].unique()) == {"month", "quarter", "year"}
    assert lat.filter(pl.col("grain") == "quarter")["period"].unique().sort().to_list() == ["2025Q4", "2026Q1"]
    assert lat.height == 16 * (6 + 2 + 2)
    # Q1 2026 = mean of Jan–Mar; the named roles hold (task-oriented: supply high, demand low)
    m = lat.filter((pl.col("grain") == "month") & pl.col("period").str.starts_with("2026"))
    q = lat.filter((pl.col("grain") == "quarter") & (pl.col("period") == "2026Q1"))
    mean = m.group_by("unit_code").agg(pl.col("supply").mean().alias("s")).join(q, on="unit_code")
    assert np.allclose(mean["s"], mean["supply"])
    t = q.filter(pl.col("unit_code") == TASK_ORIENTED).row(0, named=True)
    u = q.filter(pl.col("unit_code") == USER_CENTRED).row(0, named=True)
    assert t["supply"] > u["supply"] and t["demand"] < u["demand"]


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.9])
def test_supply_demand_correlation_is_a_generator_parameter(rho: float) -> None:
    """Over many seeds the drawn correlation (before the named roles, which sit on top) follows the parameter."""
    r = []
    for seed in range(200):
        p = make_profiles(np.random.default_rng([seed, 1]), rho)
        keep = ~np.isin(p.codes, [TASK_ORIENTED, USER_CENTRED, "310116"])
        r.append(np.corrcoef(p.supply[keep], p.demand[keep])[0, 1])
    assert np.mean(r) == pytest.approx(rho, abs=0.1)
    with pytest.raises(ValueError, match="between -1 and 1"):
        make_profiles(np.random.default_rng(0), 1.5)


def test_recovery_table_per_grain_and_pillar() -> None:
    """Scores that are the latent strengths plus small noise recover them (rho near 1); reversed scores give −1;
    months are left out when the scores have none."""
    lat = latent_strengths(seed=7, months=12, end_month="2026-10")
    rng = np.random.default_rng(0)
    scores = (lat.filter(pl.col("grain") != "month")
              .with_columns((pl.col("supply") + pl.Series(rng.normal(0, 0.01, lat.filter(pl.col("grain") != "month")
                                                                     .height))).alias("supply"),
                            (-pl.col("demand")).alias("demand")))
    table = recovery(scores, lat)  # 2025Q4 … 2026Q4: five quarters
    assert table.select("grain", "pillar").rows() == [("quarter", "demand"), ("quarter", "supply"),
                                                      ("year", "demand"), ("year", "supply")]
    got = {(g, p): (n, med) for g, p, n, med in table.select("grain", "pillar", "periods", "rho_median").rows()}
    assert got[("quarter", "supply")][0] == 5 and got[("quarter", "supply")][1] > 0.95
    assert got[("quarter", "demand")][1] == pytest.approx(-1.0)
    assert got[("year", "supply")][0] == 2  # 2025 (Nov–Dec) and 2026
