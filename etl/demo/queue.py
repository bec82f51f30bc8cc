"""One month's hall queue tickets (取号排队, queue_ticket), consistent with the window cases of the `case` table.

Every case started at a window took a ticket: it was called when the case started (started_at) and finished when
it was submitted (submitted_at), so the service time is the case's counter time. Visitors who came to ask or
collect (咨询/取件) take tickets without a case, and some tickets are never served (过号 or left before the call).

Calibration. Waits (issued → called) are lognormal with a district median of about 6.5 minutes (shorter in
stronger districts) and a mean of about 9 minutes, after 奉贤区政务服务中心's published averages of 10 min 13 s
(2025 Q1) and 8 min 30 s (2025 Q2) from number taken to number called, and 11 min 8 s → 7 min 46 s from call to
completion (上观号 "上海奉贤", 2025-07-19, https://web.shobserver.com/sgh/detail?id=1613093). The share of
tickets without a case (35%) and of unserved tickets (4%, half called but absent) are ASSUMPTIONS.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Month, Window
from etl.demo.columns import col, dt, ids
from etl.demo.districts import Profiles

WAIT_MEDIAN_S = 390.0  # 6.5 min; with sigma 0.8 the mean is 1.38 × the median, about 9 min
WAIT_SIGMA = 0.8
NO_CASE_SHARE = 0.35
UNSERVED_SHARE = 0.04
OPENS_S = int(8.5 * 3600)  # the ticket machines start at 08:30


def make_queue(
    rng: np.random.Generator, month: Month, window: Window, profiles: Profiles, cases: pl.DataFrame
) -> pl.DataFrame:
    """queue_ticket rows for one month; ids are Q<yyyymm>-<seq>, ordered by issue time."""
    t = window.position(month)
    w = cases.filter((pl.col("channel") == "window") & pl.col("submitted_at").is_not_null())
    code_idx = {code: i for i, code in enumerate(profiles.codes.tolist())}
    # Tickets without a case: copies of window cases' centre and day, at other times of the day.
    n_case = w.height
    n_extra = int(rng.binomial(n_case, NO_CASE_SHARE / (1 - NO_CASE_SHARE))) if n_case else 0
    src = rng.integers(0, max(n_case, 1), n_extra)
    started = w["started_at"].dt.epoch("s").to_numpy().astype(np.int64)
    submitted = w["submitted_at"].dt.epoch("s").to_numpy().astype(np.int64)
    day0 = started // DAY_S * DAY_S
    extra_called = day0[src] + rng.uniform(9 * 3600, 16.5 * 3600, n_extra).astype(np.int64) if n_case else started[:0]
    called = np.concatenate([started, extra_called])
    finished = np.concatenate([submitted, called[n_case:] + rng.lognormal(np.log(300), 0.6, n_extra).astype(np.int64)])
    centre = np.concatenate([w["centre_id"].to_numpy(), w["centre_id"].to_numpy()[src]]).astype(str)
    district = np.concatenate([w["district_code"].to_numpy(), w["district_code"].to_numpy()[src]]).astype(str)
    case_id = np.concatenate([w["case_id"].to_numpy().astype(str), np.full(n_extra, "")])
    kind = np.concatenate([np.full(n_case, "综合受理"), np.where(rng.random(n_extra) < 0.7, "咨询", "取件")])
    n = len(called)

    didx = pl.Series(district).replace_strict(code_idx, return_dtype=pl.Int64).to_numpy() if n else np.zeros(0, int)
    s = profiles.supply_at(t)[didx]
    wait = rng.lognormal(np.log(WAIT_MEDIAN_S) - 0.25 * s, WAIT_SIGMA, n).astype(np.int64)
    issued = np.maximum(called - wait, called // DAY_S * DAY_S + OPENS_S)
    issued = np.minimum(issued, called)
    # Unserved tickets (only among those without a case: a case proves the visitor was served).
    unserved = np.zeros(n, bool)
    unserved[n_case:] = rng.random(n_extra) < UNSERVED_SHARE / NO_CASE_SHARE
    never_called = unserved & (rng.random(n) < 0.5)
    keep = finished < window.end_s
    order = np.lexsort((rng.random(int(keep.sum())), issued[keep]))
    idx = np.nonzero(keep)[0][order]
    frame = pl.DataFrame(
        [
            ids(f"Q{month.label.replace('-', '')}-", np.arange(1, len(idx) + 1), 7).alias("ticket_id"),
            col("centre_id", centre[idx], pl.Utf8),
            col("district_code", district[idx], pl.Utf8),
            col("service_type", kind[idx], pl.Utf8),
            dt("issued_at", issued[idx]),
            dt("called_at", called[idx], null=never_called[idx]),
            dt("finished_at", finished[idx], null=unserved[idx]),
            col("abandoned", unserved[idx], pl.Boolean),
            col("case_id", case_id[idx], pl.Utf8, null=case_id[idx] == ""),
        ]
    )
    # The number on the ticket: a letter per queue and a counter per centre and day.
    letter = pl.col("service_type").replace_strict({"综合受理": "A", "咨询": "B", "取件": "C"}, return_dtype=pl.Utf8)
    counter = pl.int_range(1, pl.len() + 1).over(pl.col("centre_id"), pl.col("issued_at").dt.date(),
                                                   pl.col("service_type"))
    frame = frame.with_columns(pl.concat_str(letter, counter.cast(pl.Utf8).str.zfill(3)).alias("ticket_no"))
    return frame.select("ticket_id", "ticket_no", "centre_id", "district_code", "service_type", "issued_at",
                        "called_at", "finished_at", "abandoned", "case_id")
