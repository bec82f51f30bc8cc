"""One month of 办件 (cases): volumes by district and day, channels by age, timings and statuses."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Month, Window, day_weights
from etl.demo.columns import col, dt, ids
from etl.demo.districts import Profiles
from etl.demo.items import Catalogue

CASES_PER_MONTH = 400_000 / 24  # at scale 1
ONLINE_ITEM_PULL = 4.0
_AGE_YOUNG = np.array(["18-29", "30-44", "45-59"])
_AGE_OLD = np.array(["60-69", "70+"])
# Online applications arrive all day with a morning and an evening peak; counters work office hours.
# 全市通办: the share of offline applications (window, kiosk, proxy) made in a district other than the applicant's.
# No published Shanghai share (reports count 通办 items, not cases); the demo assumes commuters make it about 12% in
# the seven central districts, where people work, and about 5% elsewhere, ±2 points by district.
_CENTRAL = ("310101", "310104", "310105", "310106", "310107", "310109", "310110")
_CROSS_CENTRAL, _CROSS_OUTER, _CROSS_SD = 0.12, 0.05, 0.02
_ONLINE_HOUR_W = np.array([1, .5, .3, .2, .2, .3, .8, 2, 4, 6, 7, 6.5, 5, 5.5, 6, 6, 5.5, 5, 5, 6, 6.5, 5.5, 4, 2])


def growth(t: float) -> float:
    """Volumes grow about 10% over the window."""
    return 0.95 + 0.1 * t


def base_daily(window: Window, scale: float) -> float:
    """Cases per unit day-weight so that the whole window holds about 400,000 × scale × months/24 cases."""
    total_w = sum(float(day_weights(m.days).sum()) * growth(window.position(m)) for m in window.months)
    return CASES_PER_MONTH * len(window.months) * scale / total_w


def make_cases(
    rng: np.random.Generator, month: Month, window: Window, profiles: Profiles, cat: Catalogue, base: float
) -> pl.DataFrame:
    """The case table for one month, sorted by started_at; ids are C<yyyymm>-<seq>."""
    t = window.position(month)
    w = day_weights(month.days) * growth(t)
    share = profiles.size_share
    dist_parts, day_parts, item_parts = [], [], []
    mid_day = int(month.days.astype(np.int64)[len(month.days) // 2])
    for d in range(len(profiles.codes)):
        n_d = int(rng.poisson(base * share[d] * w.sum()))
        lo, hi = int(cat.offsets[d]), int(cat.offsets[d + 1])
        # Demand follows supply online: an item that can be done online draws ONLINE_ITEM_PULL times the applications
        # it would offline (the high-volume items went online first), so about 84% of the cases of 2025–26 are
        # submitted online (Shanghai reported 83.97% for 2022: docs STANDARDS.md).
        pop = cat.popularity[lo:hi] * np.where(cat.online_from_day[lo:hi] <= mid_day, ONLINE_ITEM_PULL, 1.0)
        dist_parts.append(np.full(n_d, d))
        day_parts.append(rng.choice(len(w), size=n_d, p=w / w.sum()))
        item_parts.append(lo + rng.choice(hi - lo, size=n_d, p=pop / pop.sum()))
    dist = np.concatenate(dist_parts)
    item = np.concatenate(item_parts)
    day_num = month.days.astype(np.int64)[np.concatenate(day_parts)]
    n = len(dist)
    s = profiles.supply_at(t)[dist]
    dd = profiles.demand_at(t)[dist]

    # Who applies: enterprises for enterprise items; older residents in older districts.
    enterprise = np.where(cat.enterprise[item], rng.random(n) < 0.92, rng.random(n) < 0.03)
    old_share = (profiles.pop_60plus / profiles.population)[dist]
    elderly = ~enterprise & (rng.random(n) < old_share * 0.85)
    age = np.where(elderly, _AGE_OLD[(rng.random(n) < 0.33).astype(int)],
                   _AGE_YOUNG[rng.choice(3, size=n, p=[0.24, 0.45, 0.31])])

    # Channel: online only where the item is online by then; the 60+ take it up less (the digital gap).
    available = cat.online_from_day[item] <= day_num
    p_online = np.clip(0.93 + 0.04 * s + 0.03 * dd + 0.03 * t, 0.7, 0.99)
    p_online = np.where(elderly, p_online - profiles.elderly_gap[dist], p_online + 0.03 * enterprise)
    online = available & (rng.random(n) < p_online)
    app = rng.random(n) < np.where(enterprise, 0.25, 0.6 + 0.1 * t)
    u = rng.random(n)
    offline_ch = np.where(elderly, np.where(u < 0.62, "window", np.where(u < 0.72, "kiosk", "proxy")),
                          np.where(u < 0.70, "window", np.where(u < 0.90, "kiosk", "proxy")))
    channel = np.where(online, np.where(app, "app", "pc"), offline_ch)

    # Timeline in seconds.
    tod = np.where(online, (rng.choice(24, size=n, p=_ONLINE_HOUR_W / _ONLINE_HOUR_W.sum()) + rng.random(n)) * 3600,
                   rng.uniform(9 * 3600, 16.5 * 3600, n))
    started = day_num * DAY_S + tod.astype(np.int64)
    abandoned = online & (rng.random(n) < np.clip(0.10 - 0.05 * s - 0.03 * t, 0.03, 0.2))
    submitted = started + np.where(online, rng.lognormal(np.log(600), 0.7, n), rng.lognormal(np.log(360), 0.5, n)
                                   ).astype(np.int64)
    immediate = cat.immediate[item]
    accepted = submitted + np.where(immediate, rng.uniform(60, 1200, n),
                                    np.minimum(rng.lognormal(np.log(4 * 3600), 1.0, n), 5 * DAY_S)).astype(np.int64)
    promised_s = np.where(immediate, 4 * 3600, (cat.promised_days[item] * 1.4 * DAY_S)).astype(np.int64)
    due = accepted + promised_s
    on_time = rng.random(n) < np.clip(0.95 + 0.08 * s, 0.8, 0.995)  # trends come from the district profile
    frac = np.where(on_time, rng.uniform(0.05, 0.98, n), rng.uniform(1.02, 1.6, n))
    closed = accepted + (frac * promised_s).astype(np.int64)

    u = rng.random(n)
    rejected = ~abandoned & (u < np.clip(0.025 - 0.01 * s, 0.005, 0.05))
    withdrawn = ~abandoned & ~rejected & (u > 0.99)
    status = np.where(abandoned, "abandoned", np.where(rejected, "rejected", np.where(withdrawn, "withdrawn",
                                                                                        "closed")))
    end = window.end_s
    late_submit = ~abandoned & (submitted > end)  # drafts still open at the cut-off look abandoned
    status = np.where(late_submit, "abandoned", status)
    abandoned = abandoned | late_submit
    open_ = (status == "closed") & (closed > end)
    status = np.where(open_, "accepted", status)
    not_accepted = ~abandoned & ~rejected & (accepted > end)
    status = np.where(not_accepted, "submitted", status)

    no_submit = abandoned
    no_accept = no_submit | rejected | not_accepted
    no_close = status != "closed"

    req_visits = cat.required_visits[item]
    visits = np.where(online, np.where(cat.depth[item] == 1, np.maximum(req_visits, 1), 0),
                      np.maximum(req_visits, 1) + (rng.random(n) < np.clip(0.12 - 0.08 * s, 0.02, 0.25)))
    visits = np.where(abandoned, 0, visits)
    req = cat.materials_required[item]
    via_share = rng.binomial(req, np.clip(0.35 + 0.25 * s + 0.1 * t, 0.05, 0.9))
    via_share = np.where(abandoned, 0, via_share)
    submitted_n = np.where(abandoned, rng.binomial(req, 0.5), req - via_share)
    assisted = np.where(channel == "proxy", True, rng.random(n) < np.select(
        [channel == "kiosk", channel == "window"], [0.45, 0.15], 0.01))
    via_bundle = cat.bundled[item] & (rng.random(n) < np.clip(0.45 + 0.25 * s + 0.15 * t, 0.1, 0.95))

    elicence = _elicence(month.label, via_share, s, t)
    centre = _pick_centres(rng, profiles, dist)
    applicant_district = _applicant_districts(rng.spawn(1)[0], profiles, dist, online | enterprise)
    order = np.lexsort((rng.random(n), started))
    frame = pl.DataFrame(
        [
            ids(f"C{month.label.replace('-', '')}-", np.arange(1, n + 1), 7).alias("case_id"),
            cat.frame["item_code"].gather(item[order]),
            col("district_code", profiles.codes[dist[order]], pl.Utf8),
            col("centre_id", centre[order], pl.Utf8, null=online[order]),
            col("channel", channel[order], pl.Utf8),
            col("applicant_type", np.where(enterprise, "enterprise", "person")[order], pl.Utf8),
            col("age_band", age[order], pl.Utf8, null=enterprise[order]),
            dt("started_at", started[order]),
            dt("submitted_at", submitted[order], null=no_submit[order]),
            dt("accepted_at", accepted[order], null=no_accept[order]),
            dt("closed_at", closed[order], null=no_close[order]),
            dt("promised_due_at", due[order], null=no_accept[order]),
            col("status", status[order], pl.Utf8),
            col("visits_actual", visits[order].astype(np.int64), pl.Int64),
            col("materials_submitted_n", submitted_n[order].astype(np.int64), pl.Int64),
            col("materials_via_sharing_n", via_share[order].astype(np.int64), pl.Int64),
            col("assisted", assisted[order], pl.Boolean),
            col("via_bundle", via_bundle[order], pl.Boolean),
            col("applicant_district_code", applicant_district[order], pl.Utf8),
            col("materials_via_elicence_n", elicence[order].astype(np.int64), pl.Int64),
        ]
    )
    return frame


def _applicant_districts(
    rng: np.random.Generator, profiles: Profiles, dist: np.ndarray, at_home: np.ndarray
) -> np.ndarray:
    """The applicant's district of every case: the handling district, except for the 全市通办 share of offline
    personal applications, whose applicants come from another district in proportion to its size. Online and
    enterprise applications are handled where the applicant (or the enterprise's registration) is. A child
    generator (rng.spawn) keeps the other columns' draws as they were."""
    codes = profiles.codes
    central = np.isin(codes.astype(str), _CENTRAL)
    p = np.clip(np.where(central, _CROSS_CENTRAL, _CROSS_OUTER) + rng.normal(0, _CROSS_SD, len(codes)), 0.01, 0.3)
    cross = ~at_home & (rng.random(len(dist)) < p[dist])
    size = profiles.size_share / profiles.size_share.sum()
    other = rng.choice(len(codes), size=len(dist), p=size)
    other = np.where(other == dist, (other + 1) % len(codes), other)  # another district, never the handling one
    return codes[np.where(cross, other, dist)].astype(str)
def _elicence(label: str, via_share: np.ndarray, s: np.ndarray, t: float) -> np.ndarray:
    """Of the materials obtained instead of submitted, those provided by e-licence (电子证照), from a generator of
    its own so the other columns' draws do not move. No district figure is published; calibrated so e-licences
    provide a little over half of the substituted materials (the rest: data sharing and online verification, the
    study's other ways of not asking for a material), more in stronger districts and later months."""
    g = np.random.default_rng([int(label[:4]), int(label[5:7]), len(via_share), 18])
    return g.binomial(via_share, np.clip(0.5 + 0.15 * s + 0.05 * t, 0.2, 0.9))


def _pick_centres(rng: np.random.Generator, profiles: Profiles, dist: np.ndarray) -> np.ndarray:
    """A centre for every case of district d: the main centre takes 40%, street centres share the rest."""
    c = profiles.centres
    out = np.empty(len(dist), dtype=object)
    cids = c["centre_id"].to_numpy()
    cd = c["district_idx"].to_numpy()
    for d in range(len(profiles.codes)):
        mask = dist == d
        mine = cids[cd == d]
        p = np.full(len(mine), 0.6 / max(len(mine) - 1, 1))
        p[0] = 0.4 if len(mine) > 1 else 1.0
        out[mask] = mine[rng.choice(len(mine), size=int(mask.sum()), p=p / p.sum())]
    return out.astype(str)
