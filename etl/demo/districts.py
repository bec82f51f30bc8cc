"""Latent unit profiles (supply and demand strengths, trends, gaps) and their service centres.

The units are the demo's unit table (`district`): Shanghai's 16 districts by default (etl.demo.units), or any
table of units (the national demo's 31 provinces over 2,844 counties, etl.demo.national). Records attach to the
units with no unit under them; parents (provinces) are rows of the table only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from etl.contract.tables import DISTRICT
from etl.demo.units import shanghai_rows

# Named roles, fixed whatever the seed, so the demo always tells the paper's story.
TASK_ORIENTED = "310112"  # Minhang: strong supply (targets met), weak demand (users not served)
USER_CENTRED = "310105"  # Changning: modest supply, strong demand
REGRESSING = "310116"  # Jinshan: gets worse over the window


@dataclass(frozen=True)
class Profiles:
    """One entry per scored unit, in unit-table order; strengths are roughly in [-1, 1]."""

    codes: np.ndarray
    population: np.ndarray
    pop_60plus: np.ndarray
    supply: np.ndarray  # catalogue, reform attributes, processing, kiosks, staffing
    demand: np.ndarray  # satisfaction, voluntary use, unprompted feedback, hotline, take-up
    supply_trend: np.ndarray  # change of supply over the window (in strength units)
    demand_trend: np.ndarray
    elderly_gap: np.ndarray  # drop in online take-up for applicants aged 60+ (share points)
    centres: pl.DataFrame  # centre_id, district_idx, main, kiosk_count, assist_base, visitors_base
    table: pl.DataFrame = field(default_factory=pl.DataFrame)  # the unit table written as `district`

    def supply_at(self, t: float) -> np.ndarray:
        return self.supply + self.supply_trend * t

    def demand_at(self, t: float) -> np.ndarray:
        return self.demand + self.demand_trend * t

    @property
    def size_share(self) -> np.ndarray:
        """Share of city-wide service volume: population, slightly concave (big districts share centres)."""
        w = self.population.astype(float) ** 0.95
        return w / w.sum()


SUPPLY_DEMAND_CORR = 0.3  # default correlation of the latent supply and demand draws (before the named roles)


def unit_table(rows: list[dict[str, object]]) -> pl.DataFrame:
    """The `district` table of unit rows, in the contract's column order and types."""
    types = {"str": pl.String, "int": pl.Int64}
    return pl.DataFrame(rows, schema={c.name: types[c.dtype] for c in DISTRICT.columns})


def make_profiles(rng: np.random.Generator, supply_demand_corr: float = SUPPLY_DEMAND_CORR,
                  units: pl.DataFrame | None = None) -> Profiles:
    """Draw the latent profiles of the scored units of `units` (the unit table; default Shanghai's 16 districts);
    the three named districts get their roles on top of the draw when they are among them.

    `supply_demand_corr` (−1…1) is the correlation of the latent supply and demand draws: whether districts that
    build supply also serve users well is a question the index should answer from the data, not one the demo
    settles in advance (the named roles are set on top of the draw)."""
    if not -1.0 <= supply_demand_corr <= 1.0:
        raise ValueError(f"supply_demand_corr must be between -1 and 1, got {supply_demand_corr}")
    table = unit_table(shanghai_rows()) if units is None else units
    parents = set(table["parent_code"].drop_nulls().to_list())
    scored = table.filter(~pl.col("district_code").is_in(list(parents)))
    codes = np.array(scored["district_code"].to_list())
    n = len(codes)
    pop = scored["population"].to_numpy().astype(np.int64)
    old_share = scored["pop_60plus"].to_numpy() / np.maximum(pop, 1)
    z_s, z_d = rng.normal(0.0, 1.0, n), rng.normal(0.0, 1.0, n)
    supply = np.clip(0.45 * z_s, -0.8, 0.8)
    rho = supply_demand_corr
    demand = 0.42 * (rho * z_s + np.sqrt(1.0 - rho * rho) * z_d)
    demand = np.clip(demand - demand.mean(), -0.8, 0.8)  # centred, so the named roles stand out
    supply_trend = rng.uniform(0.1, 0.45, n)  # most districts improve steadily
    demand_trend = rng.uniform(0.05, 0.35, n)
    i = {c: k for k, c in enumerate(codes)}
    if {TASK_ORIENTED, USER_CENTRED, REGRESSING} <= set(i):
        supply[i[TASK_ORIENTED]], demand[i[TASK_ORIENTED]] = 0.9, -0.75
        supply[i[USER_CENTRED]], demand[i[USER_CENTRED]] = -0.45, 0.85
        supply_trend[i[REGRESSING]], demand_trend[i[REGRESSING]] = -0.7, -0.6
    # The gap is wider where the district does little for its elderly (demand) and where many are old.
    elderly_gap = np.clip(0.34 - 0.05 * demand + 0.2 * (old_share - 0.27) + rng.normal(0, 0.015, n), 0.27, 0.42)
    return Profiles(
        codes=codes,
        population=pop,
        pop_60plus=scored["pop_60plus"].to_numpy().astype(np.int64),
        supply=supply,
        demand=demand,
        supply_trend=supply_trend,
        demand_trend=demand_trend,
        elderly_gap=elderly_gap,
        centres=_make_centres(rng, codes, pop, supply),
        table=table,
    )


def _make_centres(rng: np.random.Generator, codes: np.ndarray, pop: np.ndarray, supply: np.ndarray) -> pl.DataFrame:
    """One main administrative service centre per district plus street-level community centres."""
    rows: dict[str, list] = {k: [] for k in ("centre_id", "district_idx", "main", "kiosk_count", "assist_base",
                                             "visitors_base")}
    for d, code in enumerate(codes):
        n_street = int(np.clip(round(2 + pop[d] / 450_000), 3, 8))
        for k in range(n_street + 1):
            main = k == 0
            # Staffing at the self-service area: 1 to 6 帮办 assistants (the paper saw 1, 3, 4 and 6).
            assist = int(np.clip(np.round(3.0 + 1.8 * supply[d] + (1.0 if main else -0.5) + rng.normal(0, 0.8)), 1, 6))
            kiosks = int(np.clip(np.round(2.5 + 1.5 * supply[d] + (1.5 if main else 0) + rng.normal(0, 0.7)), 1, 6))
            visitors = float(rng.uniform(350, 900) if main else rng.uniform(60, 220)) * (pop[d] / 1.5e6) ** 0.3
            rows["centre_id"].append(f"{code}-C{k:02d}")
            rows["district_idx"].append(d)
            rows["main"].append(main)
            rows["kiosk_count"].append(kiosks)
            rows["assist_base"].append(assist)
            rows["visitors_base"].append(visitors)
    return pl.DataFrame(rows, schema_overrides={"district_idx": pl.Int64, "kiosk_count": pl.Int64,
                                                "assist_base": pl.Int64, "visitors_base": pl.Float64})


def district_frame(p: Profiles) -> pl.DataFrame:
    """The district (unit) table."""
    return p.table
