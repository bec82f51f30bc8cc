"""A small synthetic warehouse for the app's fast tests (test fixture only; the browser suite uses the real CLI)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from etl.contract import tables
from etl.warehouse import connection as warehouse
from etl.contract.catalog import load_catalog

# Districts strong on supply but weak on demand (the study's "task-oriented" pattern) and the reverse.
TASK_ORIENTED = ("310115", "310104", "310112")
USER_LED = ("310151", "310120")


def build(path: Path, quarters: int = 4, seed: int = 7) -> Path:
    """Write district, indicator_values (quarter grain), quarantine and ingest_files into a new warehouse file."""
    rng = np.random.default_rng(seed)
    cat = load_catalog()
    codes = [c for c, _, _ in tables.DISTRICTS]
    periods = [f"2024Q{q + 1}" if q < 4 else f"2025Q{q - 3}" for q in range(quarters)]
    supply = {c: rng.uniform(0.35, 0.65) for c in codes}
    demand = {c: rng.uniform(0.35, 0.65) for c in codes}
    for c in TASK_ORIENTED:
        supply[c], demand[c] = rng.uniform(0.75, 0.9), rng.uniform(0.15, 0.3)
    for c in USER_LED:
        supply[c], demand[c] = rng.uniform(0.2, 0.35), rng.uniform(0.7, 0.85)
    rows = []
    for k, per in enumerate(periods):
        for c in codes:
            for d in cat:
                latent = (supply if d.side == "supply" else demand)[c] + 0.03 * k + rng.normal(0, 0.08)
                x = float(np.clip(latent, 0.02, 0.98))
                lo, hi = d.goalposts.low, d.goalposts.high
                value = lo + (hi - lo) * (x if d.direction == 1 else 1 - x)
                den = float(rng.integers(20, 5000))
                rows.append((c, per, "quarter", d.id, value, value * den / 100, den))
    values = pl.DataFrame(rows, schema=["unit_code", "period", "grain", "indicator_id", "value", "numerator",
                                        "denominator"], orient="row")
    districts = pl.DataFrame(
        [(c, zh, en, int(rng.integers(300_000, 5_000_000)), int(rng.integers(50_000, 900_000)))
         for c, zh, en in tables.DISTRICTS],
        schema=["district_code", "name_zh", "name_en", "population", "pop_60plus"], orient="row",
    )
    now = datetime(2025, 3, 1, 2, 0)
    files = pl.DataFrame({
        "file_id": [1, 2], "batch_id": [1, 1], "path": ["demo/case_310115.csv", "demo/rating.csv"],
        "file_name": ["case_310115.csv", "rating.csv"], "table_name": ["case", "rating"],
        "sha256": ["a" * 64, "b" * 64], "size_bytes": [1000, 2000], "rows_in": [100, 50],
        "rows_loaded": [97, 50], "rows_quarantined": [2, 0], "rows_duplicate": [1, 0], "rows_superseded": [0, 0],
        "encoding": ["gb18030", "utf-8"], "status": ["loaded", "loaded"], "message": [None, None],
        "started_at": [now, now], "finished_at": [now, now],
    })
    q_rows = [
        {"case_id": "C1", "district_code": "310115", "channel": "fax", "started_at": "2024-02-01"},
        {"case_id": "C2", "district_code": "310115", "channel": "app", "started_at": "2031-01-01"},
    ]
    quarantine = pl.DataFrame({
        "file_id": [1, 1], "batch_id": [1, 1], "table_name": ["case", "case"],
        "source_file": ["case_310115.csv", "case_310115.csv"], "row_number": [7, 42],
        "column_name": ["channel", "started_at"], "check_name": ["isin", "not_future"],
        "value": ["fax", "2031-01-01"], "reason": ["渠道不在允许值内 channel not allowed", "时间晚于载入时间 in the future"],
        "original_row": [json.dumps(r, ensure_ascii=False) for r in q_rows],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(path)
    try:
        warehouse.insert_frame(con, "district", districts)
        warehouse.execute(con, "CREATE TABLE indicator_values (unit_code VARCHAR, period VARCHAR, grain VARCHAR, "
                               "indicator_id VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE)")
        warehouse.insert_frame(con, "indicator_values", values)
        warehouse.insert_frame(con, "ingest_files", files)
        warehouse.insert_frame(con, "quarantine", quarantine)
    finally:
        con.close()
    return path
