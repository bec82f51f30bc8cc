"""Self-service kiosk log of one month: daily heartbeats, stalls (down with duration) and user sessions that lag,
time out, reload (lost pages) or fail, worse where a district under-invests in maintenance."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Month, Window, centre_open
from etl.demo.columns import col, dt, ids
from etl.demo.districts import Profiles

_PROBLEMS = np.array(["lag", "reload", "timeout", "error"])
_PROBLEM_P = np.array([0.4, 0.25, 0.2, 0.15])


def make_kiosk(
    rng: np.random.Generator, month: Month, window: Window, profiles: Profiles, kiosk_cases: np.ndarray
) -> pl.DataFrame:
    """kiosk_event rows; kiosk_cases[d] is the number of kiosk-channel cases of district d this month."""
    t = window.position(month)
    c = profiles.centres
    kc = c["kiosk_count"].to_numpy()
    dev_centre = np.repeat(np.arange(len(c)), kc)
    dev_no = np.concatenate([np.arange(1, k + 1) for k in kc])
    device_ids = np.array([f"K{cid}-{k:02d}" for cid, k in zip(c["centre_id"].to_numpy()[dev_centre], dev_no,
                                                                 strict=True)])
    main = c["main"].to_numpy()
    open_c = np.stack([centre_open(month.days, bool(m)) for m in main])
    dv, di = np.nonzero(open_c[dev_centre])  # device-days the kiosk is in service
    dday = month.days.astype(np.int64)[di] * DAY_S
    ddist = c["district_idx"].to_numpy()[dev_centre[dv]]
    s_dev = profiles.supply_at(t)[ddist]
    m = len(dv)

    # Heartbeat at opening, and stalls: maintenance-starved districts go down more often and for longer.
    hb_ts = dday + 8 * 3600 + 1800 + rng.integers(0, 600, m)
    down = rng.random(m) < np.clip(0.035 - 0.02 * s_dev, 0.005, 0.08)
    down_ts = dday + rng.integers(9 * 3600, 17 * 3600, m)
    down_dur = np.clip(rng.lognormal(np.log(1800 * (1 - 0.4 * s_dev)), 0.9, m), 60, 6 * 3600).astype(np.int64)

    # Sessions: kiosk applications plus about half as many look-ups, on random device-days of the district.
    n_sess = rng.poisson(kiosk_cases * 1.5)
    pick = np.concatenate([
        rng.choice(np.flatnonzero(ddist == d), size=int(k)) if k and np.any(ddist == d) else np.zeros(0, np.int64)
        for d, k in enumerate(n_sess)
    ]).astype(np.int64)
    ns = len(pick)
    s_s = s_dev[pick]
    start = dday[pick] + rng.integers(9 * 3600, 17 * 3600, ns)
    start_lat = np.round(rng.lognormal(np.log(700 * (1 - 0.35 * s_s)), 0.5, ns)).astype(np.int64)
    fail = rng.random(ns) < np.clip(0.12 - 0.07 * s_s + 0.03 * (t - 0.5) * (s_s < -0.5), 0.02, 0.3)
    kind = _PROBLEMS[rng.choice(4, size=ns, p=_PROBLEM_P)]
    prob_ts = start + rng.integers(20, 300, ns)
    prob_lat = np.select([kind == "lag", kind == "timeout"],
                         [rng.integers(3000, 20000, ns), np.full(ns, 30000)], -1).astype(np.int64)
    end_ts = np.where(fail, prob_ts, start) + rng.integers(60, 900, ns)
    sess = ids(f"KS{month.label.replace('-', '')}-", np.arange(1, ns + 1), 7).to_numpy()

    fi = np.flatnonzero(fail)
    di_ = np.flatnonzero(down)
    parts = {
        "device": [dv, dv[di_], dv[pick], dv[pick[fi]], dv[pick]],
        "ts": [hb_ts, down_ts[di_], start, prob_ts[fi], end_ts],
        "event": [np.full(m, "heartbeat"), np.full(len(di_), "down"), np.full(ns, "session_start"), kind[fi],
                  np.full(ns, "session_end")],
        "session": [np.full(m, ""), np.full(len(di_), ""), sess, sess[fi], sess],
        "latency": [np.round(rng.lognormal(np.log(120), 0.4, m)).astype(np.int64), np.full(len(di_), -1),
                    start_lat, prob_lat[fi], np.full(ns, -1)],
        "duration": [np.full(m, -1), down_dur[di_], np.full(ns, -1), np.full(len(fi), -1), np.full(ns, -1)],
    }
    a = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((a["device"], a["ts"]))
    a = {k: v[order] for k, v in a.items()}
    dev_idx = dev_centre[a["device"]]
    return pl.DataFrame(
        [
            ids(f"E{month.label.replace('-', '')}-", np.arange(1, len(order) + 1), 8).alias("event_id"),
            col("device_id", device_ids[a["device"]], pl.Utf8),
            col("centre_id", c["centre_id"].to_numpy()[dev_idx], pl.Utf8),
            col("district_code", profiles.codes[c["district_idx"].to_numpy()[dev_idx]], pl.Utf8),
            dt("ts", a["ts"]),
            col("event", a["event"], pl.Utf8),
            col("session_id", a["session"], pl.Utf8, null=a["session"] == ""),
            col("latency_ms", a["latency"], pl.Int64, null=a["latency"] < 0),
            col("duration_s", a["duration"], pl.Int64, null=a["duration"] < 0),
        ]
    )
