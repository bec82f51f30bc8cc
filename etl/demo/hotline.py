"""12345 hotline tickets of one month: more complaints where demand is weak, resolution and callback results."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Month, Window, day_weights
from etl.demo.columns import col, dt, ids
from etl.demo.districts import Profiles
from etl.demo.items import Catalogue
from etl.contract.tables import CALLBACK_RESULTS, HOTLINE_CATEGORIES

TICKETS_PER_MONTH = 2_000  # at scale 1
_CAT = np.array(HOTLINE_CATEGORIES)
_CAT_P = np.array([0.22, 0.14, 0.2, 0.1, 0.1, 0.12, 0.12])
_GOV_P = np.array([1.0, 0.15, 0.0, 0.25, 0.05, 0.45, 0.0])  # share of each category about government services
_DEADLINE = np.array([5, 7, 7, 15, 7, 7, 15])
_CALLBACK = np.array(CALLBACK_RESULTS)
# The district's own gov_service_related flag leaves out some of the tickets the city centre classed as government
# services (category 政务服务 or a service item named): 2–25% by district, more where demand-side service is weak.
# The rule the indicators use (catalog README, "12345 government-service requests") ignores the flag.
_UNDERFLAG_BASE, _UNDERFLAG_WEAK = 0.08, 0.08
# First response (签收) by the district after dispatch: log-normal, median 1.5 h in an average district (0.7–3 h by
# district); local rules set 签收 deadlines of hours, not days. No published Shanghai distribution: a demo assumption.
_FIRST_RESPONSE_MEDIAN_H = 1.5
# 发回重办 (sent back for rework by the city centre after review or an unsatisfied callback): about 5% of closed
# tickets, 2–10% by district, three times as likely for a ticket not resolved. No published Shanghai figure.
_REOPEN_BASE = 0.035


def make_hotline(
    rng: np.random.Generator, month: Month, window: Window, profiles: Profiles, cat: Catalogue, scale: float
) -> pl.DataFrame:
    """The hotline_ticket rows created in one month, sorted by created_at."""
    t = window.position(month)
    w = 0.5 + 0.5 * day_weights(month.days)  # the hotline runs every day; the holiday dip is milder
    dmd = profiles.demand_at(t)
    lam = TICKETS_PER_MONTH * scale * profiles.size_share * np.clip(1 - 0.35 * dmd, 0.5, 1.6) * w.sum() / 30.4
    counts = rng.poisson(lam)
    dist = np.repeat(np.arange(len(counts)), counts)
    n = len(dist)
    day = month.days.astype(np.int64)[rng.choice(len(w), size=n, p=w / w.sum())]
    created = day * DAY_S + rng.integers(7 * 3600, 23 * 3600, n)
    k = rng.choice(len(_CAT), size=n, p=_CAT_P / _CAT_P.sum())
    gov = rng.random(n) < _GOV_P[k]
    dd, s = dmd[dist], profiles.supply_at(t)[dist]
    # Tickets about government services name the item half the time.
    item_pos = (rng.random(n) * (cat.offsets[dist + 1] - cat.offsets[dist])).astype(np.int64) + cat.offsets[dist]
    has_item = gov & (rng.random(n) < 0.5)
    deadline = _DEADLINE[k]
    closed = created + (rng.uniform(0.1, 1.15, n) * deadline * DAY_S).astype(np.int64)
    never = (rng.random(n) < 0.03) | (closed > window.end_s)
    resolved = rng.random(n) < np.clip(0.78 + 0.1 * dd + 0.05 * s, 0.55, 0.96)
    called = ~never & (rng.random(n) < 0.85)
    p_sat = np.clip(0.68 + 0.12 * dd, 0.45, 0.9)
    u = rng.random(n)
    callback = _CALLBACK[np.where(u < p_sat, 0, np.where(u < p_sat + 0.6 * (1 - p_sat), 1, 2))]
    callback = np.where(resolved | (u < p_sat * 0.5), callback, "不满意")
    extra = rng.spawn(1)[0]  # the new columns draw from a child generator: the others stay as they were
    # The city centre links a service item to half of the 政务服务 tickets it has in mind (the `gov` draw), the
    # rule counts category 政务服务 or a linked item; the district's own flag leaves out some of these.
    centre_gov = (k == 0) | has_item
    underflag = np.clip(_UNDERFLAG_BASE - _UNDERFLAG_WEAK * dd + extra.normal(0, 0.03, len(profiles.codes))[dist],
                        0.02, 0.25)
    district_flag = np.where(centre_gov, extra.random(n) >= underflag, gov)
    resp_med_h = _FIRST_RESPONSE_MEDIAN_H * np.exp(-0.35 * s - 0.2 * dd)
    first_resp = created + (extra.lognormal(np.log(resp_med_h * 3600), 0.8, n)).astype(np.int64)
    first_resp = np.minimum(first_resp, closed)
    no_resp = first_resp > window.end_s
    p_reopen = np.clip(_REOPEN_BASE * np.exp(-0.4 * dd) * np.where(resolved, 1.0, 3.0), 0.005, 0.4)
    reopened = extra.random(n) < p_reopen
    order = np.lexsort((rng.random(n), created))
    return pl.DataFrame(
        [
            ids(f"T{month.label.replace('-', '')}-", np.arange(1, n + 1), 6).alias("ticket_id"),
            dt("created_at", created[order]),
            col("district_code", profiles.codes[dist[order]], pl.Utf8),
            col("category", _CAT[k[order]], pl.Utf8),
            col("gov_service_related", district_flag[order], pl.Boolean),
            cat.frame["item_code"].gather(item_pos[order]).alias("item_code").scatter(
                np.flatnonzero(~has_item[order]), None),
            col("deadline_days", deadline[order].astype(np.int64), pl.Int64),
            dt("closed_at", closed[order], null=never[order]),
            col("resolved", resolved[order], pl.Boolean, null=never[order]),
            col("callback_result", callback[order], pl.Utf8, null=~called[order]),
            dt("first_response_at", first_resp[order], null=no_resp[order]),
            col("reopened", reopened[order], pl.Boolean, null=never[order]),
        ]
    )
