"""Recovery: how well the index's pillars find the demo generator's latent district strengths (a validation no
anchor publishes). The generator knows each district's latent supply and demand strength at every moment
(etl.demo.districts.Profiles); the index only sees the raw tables. Per period, the Spearman rank correlation across
districts between a pillar's score and the latent strength it should measure says how much of the truth survives
the indicators, their noise and the aggregation.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from etl.demo.calendar import make_window
from etl.demo.districts import SUPPLY_DEMAND_CORR, make_profiles
from etl.demo.generate import PROFILE_STREAM

PILLARS = ("supply", "demand")


def latent_strengths(
    seed: int = 7, months: int = 24, end_month: str = "2026-10", supply_demand_corr: float = SUPPLY_DEMAND_CORR
) -> pl.DataFrame:
    """unit_code, period, grain, supply, demand: the latent strengths the generator drew with these arguments, averaged
    over the months of each month, quarter and year of its window (the same draw as `generate`)."""
    profiles = make_profiles(np.random.default_rng([seed, PROFILE_STREAM]), supply_demand_corr)
    window = make_window(end_month, months)
    rows = []
    for m in window.months:
        t = window.position(m)
        y, mo = (int(x) for x in m.label.split("-"))
        labels = {"month": m.label, "quarter": f"{y}Q{(mo - 1) // 3 + 1}", "year": str(y)}
        for code, s, d in zip(profiles.codes, profiles.supply_at(t), profiles.demand_at(t), strict=True):
            for grain, period in labels.items():
                rows.append((str(code), period, grain, float(s), float(d)))
    frame = pl.DataFrame(rows, schema=["unit_code", "period", "grain", "supply", "demand"], orient="row")
    return frame.group_by("unit_code", "period", "grain", maintain_order=True).agg(pl.col("supply").mean(),
                                                                                    pl.col("demand").mean())


def recovery(scores: pl.DataFrame, latent: pl.DataFrame, min_units: int = 5) -> pl.DataFrame:
    """Per grain and pillar: the Spearman correlation between the pillar's scores (`scores`: unit_code, period, grain,
    supply, demand) and the latent strengths, over the districts of each period, summarised as the median, min and max
    over periods (periods with fewer than `min_units` scored districts are skipped). Columns: grain, pillar, periods,
    rho_median, rho_min, rho_max, rho_pooled (all district-periods of the grain together)."""
    joined = scores.join(latent, on=["unit_code", "period", "grain"], suffix="_latent")
    out = []
    for (grain,), g in joined.group_by(["grain"], maintain_order=True):
        for pillar in PILLARS:
            ok = g.filter(pl.col(pillar).is_not_null() & pl.col(pillar).is_finite())
            per = []
            for (_period,), p in ok.group_by(["period"]):
                if p.height >= min_units:
                    per.append(_spearman(p[pillar], p[f"{pillar}_latent"]))
            per = [r for r in per if np.isfinite(r)]
            pooled = _spearman(ok[pillar], ok[f"{pillar}_latent"]) if ok.height >= min_units else float("nan")
            out.append({
                "grain": grain, "pillar": pillar, "periods": len(per),
                "rho_median": float(np.median(per)) if per else None,
                "rho_min": float(np.min(per)) if per else None,
                "rho_max": float(np.max(per)) if per else None,
                "rho_pooled": pooled if np.isfinite(pooled) else None,
            })
    order = {"month": 0, "quarter": 1, "year": 2}
    return pl.DataFrame(out, schema={"grain": pl.String, "pillar": pl.String, "periods": pl.Int64,
                                     "rho_median": pl.Float64, "rho_min": pl.Float64, "rho_max": pl.Float64,
                                     "rho_pooled": pl.Float64}).sort(
        pl.col("grain").replace_strict(order, default=9, return_dtype=pl.Int64), "pillar")


def _spearman(a: pl.Series, b: pl.Series) -> float:
    x, y = a.to_numpy().astype(float), b.to_numpy().astype(float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)
