"""The parts of the stored rank intervals (issue 13.2): data and method uncertainty together (the default the overview
shows), method only, data only, as the refresh's uncertainty summary stored them (etl.jobs.uncertainty_summary)."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.jobs.uncertainty_summary import PARTS, part_hash
from etl.warehouse.snapshot import Snapshot

SAME_NOMINAL = 1e-9


def part_intervals(snapshot: Snapshot, both_run: str | None) -> dict[str, pl.DataFrame]:
    """Per part: unit_code, rank_median, rank_lo, rank_hi, from the runs stored beside `both_run` (the run the
    overview shows: same profile, grain and period). A part is left out unless its nominal scores equal that run's
    (it saw the same data). Empty when `both_run` is None (intervals computed live: the method part only)."""
    runs, ranks = snapshot.uncertainty_runs, snapshot.uncertainty_ranks
    if both_run is None or runs.height == 0:
        return {}
    hit = runs.filter(pl.col("run_id") == both_run)
    if hit.height == 0:
        return {}
    run = hit.row(0, named=True)
    base = run["profile_hash"].split("#")[0]
    cols = ["unit_code", "nominal_score", "median_rank", "rank_low", "rank_high"]
    ref = ranks.filter(pl.col("run_id") == both_run).select(cols).sort("unit_code")
    out: dict[str, pl.DataFrame] = {}
    for part in PARTS:
        same = runs.filter((pl.col("profile_hash") == part_hash(base, part)) & (pl.col("grain") == run["grain"])
                           & (pl.col("period") == run["period"]))
        if same.height == 0:
            continue
        rid = same.sort("created_at").row(-1, named=True)["run_id"]
        r = ranks.filter(pl.col("run_id") == rid).select(cols).sort("unit_code")
        if r["unit_code"].to_list() != ref["unit_code"].to_list():
            continue
        a = r["nominal_score"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        b = ref["nominal_score"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        if not ((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= SAME_NOMINAL)).all():
            continue
        out[part] = r.select("unit_code", pl.col("median_rank").alias("rank_median"),
                             pl.col("rank_low").alias("rank_lo"), pl.col("rank_high").alias("rank_hi"))
    return out
