"""A small warehouse with `indicator_values` for the catalog's indicators (16 districts x 3 quarters), for CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from etl.warehouse import connection as warehouse
from etl.contract.catalog import load_catalog
from etl.warehouse import ddl
from etl.warehouse.indicator_values import SCHEMA, TABLE

DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113", "310114",
             "310115", "310116", "310117", "310118", "310120", "310151")


def build(path: Path, seed: int = 3) -> Path:
    cat = load_catalog()
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, len(DISTRICTS))
    rows = []
    for q in ("2025-Q1", "2025-Q2", "2025-Q3"):
        for d in cat:
            lo, hi = d.goalposts.low, d.goalposts.high
            z = 0.5 + 0.15 * d.direction * strength + rng.normal(0, 0.12, len(DISTRICTS))
            vals = lo + (hi - lo) * np.clip(z, 0.02, 0.98)
            for u, v in zip(DISTRICTS, vals, strict=True):
                rows.append((u, q, "quarter", d.id, float(v), None, 100.0))
    frame = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    con = warehouse.connect(path)
    try:
        ddl.create(con, TABLE)
        warehouse.insert_frame(con, TABLE, frame)
    finally:
        con.close()
    return path
