"""A synthetic warehouse with many units (issue 20: 2,844 county-level units under 31 provinces), for the pages'
many-unit forms until the national demo exists: a unit table with parent and peer group, two quarters of indicator
values, no raw records. Units have GB/T 2260-shaped codes (province, city, county); names repeat across provinces
(朝阳区 in Beijing and Changchun), as real ones do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse

PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53,
             54, 61, 62, 63, 64, 65)
PEERS = ("市辖区", "县级市", "县")
SHARED_NAME = "朝阳区"  # in two provinces, as in Beijing and Changchun


def unit_table(n_units: int = 2844, seed: int = 11) -> pl.DataFrame:
    """n_units county-level units spread over the 31 provinces (parents), each in one of three peer groups."""
    rng = np.random.default_rng(seed)
    rows = []
    per = -(-n_units // len(PROVINCES))
    k = 0
    for p in PROVINCES:
        for i in range(per):
            if k == n_units:
                break
            code = f"{p}{1 + i // 99:02d}{1 + i % 99:02d}"
            name = SHARED_NAME if i == 0 and p in (11, 22) else f"{p}省第{i + 1}县"
            rows.append((code, name, f"County {p}-{i + 1}", f"{p}0000", PEERS[int(rng.integers(0, 3))],
                         int(rng.integers(50_000, 2_000_000))))
            k += 1
    units = pl.DataFrame(rows, schema=["district_code", "name_zh", "name_en", "parent_code", "peer_group",
                                       "population"], orient="row")
    return units.with_columns((pl.col("population") // 5).alias("pop_60plus"), pl.lit("county").alias("level"))


def build(path: Path, n_units: int = 2844, quarters: tuple[str, ...] = ("2025Q1", "2025Q2"), seed: int = 11) -> Path:
    """Write `district` (with level, parent_code, peer_group) and `indicator_values` into a new warehouse file."""
    rng = np.random.default_rng(seed)
    units = unit_table(n_units, seed)
    codes = units["district_code"].to_list()
    cat = load_catalog()
    supply, demand = rng.uniform(0.2, 0.8, len(codes)), rng.uniform(0.2, 0.8, len(codes))
    frames = []
    for q, per in enumerate(quarters):
        for d in cat:
            latent = (supply if d.side == "supply" else demand) + 0.02 * q + rng.normal(0, 0.08, len(codes))
            x = np.clip(latent, 0.02, 0.98)
            lo, hi = d.goalposts.low, d.goalposts.high
            value = lo + (hi - lo) * (x if d.direction == 1 else 1 - x)
            den = rng.integers(20, 5000, len(codes)).astype(float)
            frames.append(pl.DataFrame({"unit_code": codes, "period": per, "grain": "quarter", "indicator_id": d.id,
                                        "value": value, "numerator": value * den / 100, "denominator": den}))
    values = pl.concat(frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(path)
    try:
        for col in ("level", "parent_code", "peer_group"):  # the contract's unit columns (issue 20), if not yet there
            warehouse.execute(con, f'ALTER TABLE "district" ADD COLUMN IF NOT EXISTS {col} VARCHAR')
        warehouse.insert_frame(con, "district", units)
        warehouse.execute(con, "CREATE TABLE indicator_values (unit_code VARCHAR, period VARCHAR, grain VARCHAR, "
                               "indicator_id VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE)")
        warehouse.insert_frame(con, "indicator_values", values)
    finally:
        con.close()
    return path
