"""Latent district profiles (supply and demand strengths, trends, gaps) and their service centres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.contract.tables import DISTRICTS

# Resident population and share aged 60+ (2020 census, rounded): district size drives every volume.
_POPULATION: dict[str, tuple[int, float]] = {
    "310101": (662_030, 0.36), "310104": (1_113_078, 0.27), "310105": (693_051, 0.31),
    "310106": (975_707, 0.32), "310107": (1_239_252, 0.31), "310109": (757_498, 0.37),
    "310110": (1_242_548, 0.32), "310112": (2_653_489, 0.19), "310113": (2_235_218, 0.24),
    "310114": (1_834_258, 0.18), "310115": (5_681_512, 0.22), "310116": (822_776, 0.30),
    "310117": (1_909_713, 0.16), "310118": (1_271_424, 0.19), "310120": (1_140_872, 0.24),
    "310151": (637_921, 0.40),
}

# Named roles, fixed whatever the seed, so the demo always tells the paper's story.
TASK_ORIENTED = "310112"  # Minhang: strong supply (targets met), weak demand (users not served)
USER_CENTRED = "310105"  # Changning: modest supply, strong demand
REGRESSING = "310116"  # Jinshan: gets worse over the window


@dataclass(frozen=True)
class Profiles:
    """One entry per district, in DISTRICTS order; strengths are roughly in [-1, 1]."""

    codes: np.ndarray
    population: np.ndarray
    pop_60plus: np.ndarray
    supply: np.ndarray  # catalogue, reform attributes, processing, kiosks, staffing
    demand: np.ndarray  # satisfaction, voluntary use, unprompted feedback, hotline, take-up
    supply_trend: np.ndarray  # change of supply over the window (in strength units)
    demand_trend: np.ndarray
    elderly_gap: np.ndarray  # drop in online take-up for applicants aged 60+ (share points)
    centres: pl.DataFrame  # centre_id, district_idx, main, kiosk_count, assist_base, visitors_base

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


def make_profiles(rng: np.random.Generator, supply_demand_corr: float = SUPPLY_DEMAND_CORR) -> Profiles:
    """Draw the latent profiles; the three named districts get their roles on top of the draw.

    `supply_demand_corr` (−1…1) is the correlation of the latent supply and demand draws: whether districts that
    build supply also serve users well is a question the index should answer from the data, not one the demo
    settles in advance (the named roles are set on top of the draw)."""
    if not -1.0 <= supply_demand_corr <= 1.0:
        raise ValueError(f"supply_demand_corr must be between -1 and 1, got {supply_demand_corr}")
    codes = np.array([c for c, _, _ in DISTRICTS])
    n = len(codes)
    pop = np.array([_POPULATION[c][0] for c in codes], dtype=np.int64)
    old_share = np.array([_POPULATION[c][1] for c in codes])
    z_s, z_d = rng.normal(0.0, 1.0, n), rng.normal(0.0, 1.0, n)
    supply = np.clip(0.45 * z_s, -0.8, 0.8)
    rho = supply_demand_corr
    demand = 0.42 * (rho * z_s + np.sqrt(1.0 - rho * rho) * z_d)
    demand = np.clip(demand - demand.mean(), -0.8, 0.8)  # centred, so the named roles stand out
    supply_trend = rng.uniform(0.1, 0.45, n)  # most districts improve steadily
    demand_trend = rng.uniform(0.05, 0.35, n)
    i = {c: k for k, c in enumerate(codes)}
    supply[i[TASK_ORIENTED]], demand[i[TASK_ORIENTED]] = 0.9, -0.75
    supply[i[USER_CENTRED]], demand[i[USER_CENTRED]] = -0.45, 0.85
    supply_trend[i[REGRESSING]], demand_trend[i[REGRESSING]] = -0.7, -0.6
    # The gap is wider where the district does little for its elderly (demand) and where many are old.
    elderly_gap = np.clip(0.34 - 0.05 * demand + 0.2 * (old_share - 0.27) + rng.normal(0, 0.015, n), 0.27, 0.42)
    return Profiles(
        codes=codes,
        population=pop,
        pop_60plus=np.round(pop * old_share).astype(np.int64),
        supply=supply,
        demand=demand,
        supply_trend=supply_trend,
        demand_trend=demand_trend,
        elderly_gap=elderly_gap,
        centres=_make_centres(rng, codes, pop, supply),
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
    """The district table."""
    return pl.DataFrame(
        {
            "district_code": [c for c, _, _ in DISTRICTS],
            "name_zh": [z for _, z, _ in DISTRICTS],
            "name_en": [e for _, _, e in DISTRICTS],
            "population": p.population,
            "pop_60plus": p.pop_60plus,
        }
    )
