"""Daily staffing of each service centre by role: window staff, guides (导办) and 1–6 assistants (帮办)."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Month, Window, centre_open, day_weights
from etl.demo.columns import col, dt
from etl.demo.districts import Profiles

_ROLES = ("window", "guide", "assist")


def make_staffing(rng: np.random.Generator, month: Month, window: Window, profiles: Profiles) -> pl.DataFrame:
    """centre_staffing rows for the days each centre is open in one month."""
    c = profiles.centres
    main = c["main"].to_numpy()
    nc, ndays = len(c), len(month.days)
    open_ = np.stack([centre_open(month.days, bool(m)) for m in main])  # centres × days
    ci, di = np.nonzero(open_)
    n = len(ci)
    t = window.position(month)
    s = profiles.supply_at(t)[c["district_idx"].to_numpy()[ci]]
    visitors = np.round(c["visitors_base"].to_numpy()[ci] * day_weights(month.days)[di].clip(0.5, None)
                        * rng.lognormal(0, 0.2, n) * (1 + 0.08 * t)).astype(np.int64)
    window_n = np.maximum(np.round(visitors / rng.uniform(22, 32, n)), 2).astype(np.int64)
    guide_n = np.clip(np.round(1 + visitors / 300 + 0.8 * s + rng.normal(0, 0.5, n)), 1, 4).astype(np.int64)
    jitter = rng.choice([-1, 0, 0, 0, 0, 0, 1], size=n)
    assist_n = np.clip(c["assist_base"].to_numpy()[ci] + jitter, 1, 6).astype(np.int64)
    staff = np.stack([window_n, guide_n, assist_n], axis=1).reshape(-1)
    rows = np.repeat(np.arange(n), 3)
    role = np.tile(np.array(_ROLES), n)
    hours = np.round(staff * rng.uniform(6.5, 8.0, len(staff)) * 2) / 2
    del nc, ndays
    return pl.DataFrame(
        [
            col("centre_id", c["centre_id"].to_numpy()[ci][rows], pl.Utf8),
            col("district_code", profiles.codes[c["district_idx"].to_numpy()[ci]][rows], pl.Utf8),
            dt("date", month.days.astype(np.int64)[di][rows] * DAY_S).cast(pl.Date),
            col("role", role, pl.Utf8),
            col("fte_hours", hours, pl.Float64),
            col("staff_n", staff, pl.Int64),
            col("visitors", visitors[rows], pl.Int64),
            col("kiosk_count", c["kiosk_count"].to_numpy()[ci][rows].astype(np.int64), pl.Int64),
        ]
    ).sort("date", "centre_id", maintain_order=True)
