"""One month's 办件过程 (case_event): the steps of each submitted case, consistent with its `case` row.

Each case that was submitted gets: received (= submitted_at, in the case's channel); 0–2 correction cycles
(补正告知 → 补正提交) before acceptance; then returned (退件, status 'rejected'), or accepted (= accepted_at), then
withdrawn (status 'withdrawn') or decided (= closed_at) and delivered (送达: electronically, at the window or by
post). Steps after the data's end are not written (the case is still open there). Built as a matrix of step slots
(cases × SLOTS) and flattened, so it stays vectorised at any scale.

Calibration. No published Shanghai figure for the 补正 (correction) rate or 一次办成 (first-time completion) was
found: the shares here are ASSUMPTIONS — about 9% of submitted cases get a correction request (6% in the strongest
districts, 13% in the weakest), a fifth of those a second one, and 退件 follows the case table's rejected share
(0.5–5%). A correction is more likely the longer a case waited for acceptance (the applicant's time sits in that
gap), so rework and the acceptance delay go together as they do in a real export.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.contract.tables import EVENT_CHANNELS
from etl.demo.calendar import DAY_S, Window
from etl.demo.columns import col, dt
from etl.demo.districts import Profiles

# Step slots, in the order a case can take them; a case uses a subset, numbered 1.. in this order.
SLOTS = ("received", "correction_requested", "resubmitted", "correction_requested", "resubmitted", "returned",
         "accepted", "withdrawn", "decided", "delivered")  # fmt: skip
_CORRECTION_REASONS = np.array(["材料不齐全", "材料不符合法定形式", "申请表信息填写有误", "缺少签字或盖章", "证明材料已过期"])
_RETURN_REASONS = np.array(["不属于本部门受理范围", "补正逾期未提交", "申请人不符合申请条件"])
_REASONS = np.concatenate([_CORRECTION_REASONS, _RETURN_REASONS])
_CHANNELS_SORTED = np.array(sorted(EVENT_CHANNELS))


def make_case_events(
    rng: np.random.Generator, cases: pl.DataFrame, window: Window, profiles: Profiles, t: float, depts: pl.DataFrame
) -> pl.DataFrame:
    """case_event rows for one month's cases (the clean `case` frame, before defects), ordered by case and step.
    `depts` maps item_code to the responsible dept (the service_item catalogue)."""
    c = cases.filter(pl.col("submitted_at").is_not_null()).join(depts, on="item_code", how="left", maintain_order="left")
    n = c.height
    sec = {k: _seconds(c[k]) for k in ("submitted_at", "accepted_at", "closed_at", "promised_due_at")}
    sub, acc, clo, due = sec["submitted_at"], sec["accepted_at"], sec["closed_at"], sec["promised_due_at"]
    status = c["status"].to_numpy()
    channel = c["channel"].to_numpy().astype("<U8")
    code_idx = {code: i for i, code in enumerate(profiles.codes.tolist())}
    dist = c["district_code"].replace_strict(code_idx, return_dtype=pl.Int64).to_numpy()
    s = profiles.supply_at(t)[dist]
    end = window.end_s
    rejected, withdrawn = status == "rejected", status == "withdrawn"
    has_acc = acc >= 0

    # When the case left the pre-acceptance stage: accepted, returned, or (still open) the data's end.
    returned_at = sub + np.minimum(rng.lognormal(np.log(1.5 * DAY_S), 0.8, n), np.maximum(end - 1 - sub, 0) * 0.99)
    stage_end = np.where(has_acc, acc, np.where(rejected, returned_at, end - 1)).astype(np.int64)
    span = np.maximum(stage_end - sub, 0).astype(np.float64)

    # Correction cycles: likelier for weaker districts and for cases that waited long to be accepted.
    base = np.clip(0.09 - 0.035 * s, 0.04, 0.16)
    p1 = np.where(rejected, 0.55, np.clip(base * 2.2 * (1 - np.exp(-span / (1.5 * DAY_S))) + 0.3 * base, 0, 0.6))
    k = (rng.random(n) < p1).astype(np.int64)
    k += (k == 1) & (rng.random(n) < 0.2)
    # Times inside (submitted, stage end): office review, applicant, office review, … with the applicant's
    # segments three times as long on average (gamma weights, normalised per case).
    w = rng.gamma(np.array([1.0, 3.0, 1.0, 3.0, 1.0]), size=(n, 5))
    w[:, 3:] *= (k == 2)[:, None]
    cuts = np.cumsum(w, axis=1)[:, :4] / (w.sum(axis=1)[:, None])
    at = sub[:, None] + (cuts * span[:, None]).astype(np.int64)  # c1 request, c1 resubmit, c2 request, c2 resubmit
    # A returned case with a correction pending was returned because the applicant never resubmitted (补正逾期).
    lapsed = rejected & (k >= 1) & (rng.random(n) < 0.5)

    # Delivery of the decision: electronic for online cases (minutes), else pick-up at the window or post (days).
    online = np.isin(channel, ("pc", "app"))
    by_post = ~online & (rng.random(n) < 0.4)
    deliver_delay = np.where(online, rng.uniform(60, 3600, n), np.where(by_post, rng.uniform(1, 3, n) * DAY_S,
                                                                        rng.uniform(0.1, 4, n) * DAY_S))
    delivered_at = clo + deliver_delay.astype(np.int64)
    withdrawn_at = acc + (rng.uniform(0.1, 0.9, n) * np.maximum(np.minimum(due, end - 1) - acc, 0)).astype(np.int64)

    times = np.stack([sub, at[:, 0], at[:, 1], at[:, 2], at[:, 3], returned_at.astype(np.int64), acc, withdrawn_at,
                      clo, delivered_at], axis=1)
    present = np.stack([
        np.ones(n, bool), k >= 1, (k >= 1) & ~(lapsed & (k == 1)), k >= 2, (k >= 2) & ~lapsed, rejected, has_acc,
        withdrawn & has_acc, clo >= 0, (clo >= 0) & (delivered_at < end),
    ], axis=1)  # fmt: skip
    # Strings are built in polars by gathering from small vocabularies (numpy unicode → polars is slow).
    ch_code = np.searchsorted(_CHANNELS_SORTED, channel)
    internal, window_, post = (int(np.searchsorted(_CHANNELS_SORTED, x)) for x in ("internal", "window", "post"))
    resubmit_ch = np.where(online, ch_code, window_)
    deliver_ch = np.where(online, ch_code, np.where(by_post, post, window_))
    ones = np.ones(n, np.int64)
    chans = np.stack([ch_code, internal * ones, resubmit_ch, internal * ones, resubmit_ch, internal * ones,
                      internal * ones, ch_code, internal * ones, deliver_ch], axis=1)
    reasons = np.full((n, len(SLOTS)), -1, dtype=np.int64)  # index into _REASONS, -1 = none
    reasons[:, 1] = rng.integers(0, len(_CORRECTION_REASONS), n)
    reasons[:, 3] = rng.integers(0, len(_CORRECTION_REASONS), n)
    reasons[:, 5] = len(_CORRECTION_REASONS) + np.where(lapsed, 1, np.where(rng.random(n) < 0.6, 0, 2))
    office = np.array([False, True, False, True, False, True, True, False, True, False])
    staff_no = rng.integers(1, 40, n)

    ci, si = np.nonzero(present)  # row-major: cases in order, steps in slot order within each case
    seq = (np.cumsum(present, axis=1) * present)[ci, si]
    r = reasons[ci, si]
    gi = pl.Series(ci)
    frame = pl.DataFrame(
        [
            c["case_id"].gather(gi),
            col("seq", seq.astype(np.int64), pl.Int64),
            pl.Series("event", SLOTS).gather(pl.Series(si)),
            dt("event_at", times[ci, si]),
            pl.Series("channel", _CHANNELS_SORTED.tolist()).gather(pl.Series(chans[ci, si])),
            c["dept"].gather(gi),
            c["district_code"].gather(gi).alias("_d"),
            col("_staff", staff_no[ci], pl.Int64),
            col("_office", office[si], pl.Boolean),
            pl.Series("reason", _REASONS.tolist()).gather(pl.Series(np.where(r < 0, 0, r))),
            col("_no_reason", r < 0, pl.Boolean),
        ]
    )
    return frame.select(
        "case_id", "seq", "event", "event_at", "channel", "dept",
        pl.when(pl.col("_office")).then(pl.concat_str(pl.lit("S"), "_d", pl.lit("-"),
                                                      pl.col("_staff").cast(pl.Utf8).str.zfill(2))).alias("actor_id"),
        pl.when(~pl.col("_no_reason")).then(pl.col("reason")).alias("reason"),
    )


def _seconds(s: pl.Series) -> np.ndarray:
    """Seconds since 1970 of a datetime column, -1 where empty."""
    return (s.dt.epoch("s").fill_null(-1)).to_numpy().astype(np.int64)
