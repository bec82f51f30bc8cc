"""好差评 ratings of a month's closed cases (mostly staff-prompted, glowing) and follow-ups of the bad ones."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.contract import tables
from etl.demo.calendar import DAY_S, Month, Window
from etl.demo.columns import col, dt
from etl.demo.districts import Profiles

_GOOD_COMMENTS = np.array(["办事效率高", "工作人员很耐心", "一次办成，点赞", "流程清楚", "不用跑腿，方便", "服务热情"])
_MID_COMMENTS = np.array(["等候时间有点长", "材料要求说明不够清楚", "系统有点卡", "还可以"])
STAFF_PROMPT_RATE = 0.4  # staff ask for a rating at the counter / beside the kiosk for 40% of the cases they serve
SMS_ANSWER_RATE = 0.05  # share of the remaining closed cases that answer the SMS invitation
APP_PUSH_SHARE = 0.5  # online cases invited by an app push (answered in the app) rather than by SMS
SUBDIMENSION_SKIP_RATE = 0.1  # ratings that skip the optional GB/T 39734 sub-dimension questions
_BAD_COMMENTS = np.array(["自助机卡顿，页面丢失要重新提交", "来回跑了好几次", "材料要求前后不一致", "窗口人员态度差",
                          "网上办到一半办不下去", "说好即办却等了很久", "打电话没人接"])


def make_ratings(
    rng: np.random.Generator, month: Month, window: Window, profiles: Profiles, cases: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rating, bad_rating_followup) for the closed cases of one month's case frame."""
    t = window.position(month)
    closed = cases.filter(pl.col("status") == "closed").select("case_id", "district_code", "channel", "closed_at",
                                                                "assisted")
    code_idx = {c: i for i, c in enumerate(profiles.codes.tolist())}
    dist = closed["district_code"].replace_strict(code_idx, return_dtype=pl.Int64).to_numpy()
    s, dd = profiles.supply_at(t)[dist], profiles.demand_at(t)[dist]
    case_ch = closed["channel"].to_numpy()
    n = len(closed)
    online = np.isin(case_ch, ("pc", "app"))
    # Few closed cases are rated (the study: "评价反馈的条数并不多"); the city publishes no participation rate, so these
    # are assumptions giving about 15% of closed cases a rating: most of them asked for by staff where staff are
    # present, some answering an SMS invitation, a few volunteered.
    #  - staff prompt only where staff are: counter and proxy cases, and kiosk cases a helper assisted (never pc/app);
    #  - an SMS invitation reaches every other closed case, online ones included; SMS_ANSWER_RATE of them answer;
    #  - unprompted ratings come from users who want to say something, more where demand is served well.
    staffed = np.isin(case_ch, ("window", "proxy")) | ((case_ch == "kiosk") & closed["assisted"].to_numpy())
    u = rng.random(n)
    p_unprompted = np.clip(0.025 + 0.012 * dd + 0.005 * t, 0.01, 0.05)
    p_staff = np.where(staffed, STAFF_PROMPT_RATE, 0.0)
    unprompted = u < p_unprompted
    by_staff = ~unprompted & (u < p_unprompted + p_staff)
    by_sms = ~unprompted & ~by_staff & (rng.random(n) < SMS_ANSWER_RATE)
    rated = unprompted | by_staff | by_sms
    source = np.where(unprompted, "none", np.where(by_staff, "staff", "sms_invite"))
    u = rng.random(n)
    # Where the rating is given (what the 好差评 system records, from which etl.warehouse.derived derives the prompt
    # type): staff ask at the counter (window evaluator or pad) or beside the kiosk; an online case's invitation is
    # an app push half the time (answered in the app), otherwise an SMS (answered by SMS); a volunteer rates on the
    # channel of an online case, and on the app or the website later for a case done at a centre.
    # (The app-push draw comes after the level draws below, so adding it left the levels' random stream as it was.)
    volunteer_ch = np.where(online, case_ch, np.where(u < 0.7, "app", "pc"))
    staff_ch = np.where(case_ch == "kiosk", "kiosk", np.where(u < 0.5, "pad", "window"))
    channel = np.select([source == "sms_invite", source == "staff"], ["sms", staff_ch], volunteer_ch)
    good_unprompted = np.clip(0.91 + 0.05 * dd, 0.86, 0.95)
    # Staff asking face to face get almost only top marks; an SMS answered at home is a little more candid.
    p_good = np.select([unprompted, source == "sms_invite"], [good_unprompted, np.full(n, 0.97)], 0.9993)
    p_bad = np.select([unprompted, source == "sms_invite"], [(1 - good_unprompted) * 0.55, np.full(n, 0.012)], 0.0003)
    u = rng.random(n)
    level = np.where(u < p_good, np.where(rng.random(n) < np.where(unprompted, 0.7, 0.95), 5, 4),
                     np.where(u < p_good + p_bad, np.where(rng.random(n) < 0.5, 1, 2), 3)).astype(np.int64)
    # Staff ask on the spot; SMS invitations are answered hours or days later; volunteers rate when they like.
    delay = np.select([source == "staff", source == "sms_invite"],
                      [rng.uniform(20, 900, n), rng.lognormal(np.log(6 * 3600), 1.0, n)],
                      rng.lognormal(np.log(12 * 3600), 1.3, n)).astype(np.int64)
    closed_s = (closed["closed_at"].cast(pl.Int64).to_numpy() // 1_000_000)
    rated_at = closed_s + delay
    keep = rated & (rated_at <= window.end_s)
    app_push = online & (source == "sms_invite") & (rng.random(n) < APP_PUSH_SHARE)
    channel = np.where(app_push, "app", channel)
    # The system sends its invitation some minutes after closure, always before the answer.
    invited_at = closed_s + (delay * rng.uniform(0.02, 0.3, n)).astype(np.int64)
    invite_channel = np.where(app_push, "app_push", "sms")
    not_invited = source != "sms_invite"
    subdims = _subdimensions(rng, level, channel, s, dd)
    comment = np.select(
        [level >= 4, level == 3],
        [_GOOD_COMMENTS[rng.integers(0, len(_GOOD_COMMENTS), n)], _MID_COMMENTS[rng.integers(0, len(_MID_COMMENTS), n)]],
        _BAD_COMMENTS[rng.integers(0, len(_BAD_COMMENTS), n)],
    )
    has_comment = rng.random(n) < np.select([level >= 4, level == 3], [0.03, 0.4], 0.85)
    case_ids = closed["case_id"].str.slice(1)
    rating = pl.DataFrame(
        [
            ("R" + case_ids).alias("rating_id"),
            closed["case_id"],
            col("channel", channel, pl.Utf8),
            dt("rated_at", rated_at),
            col("level", level, pl.Int64),
            col("prompted", ~unprompted, pl.Boolean),
            col("prompt_source", source, pl.Utf8),
            col("comment", comment, pl.Utf8, null=~has_comment),
            *subdims,
            dt("invited_at", invited_at, null=not_invited),
            col("invite_channel", invite_channel, pl.Utf8, null=not_invited),
        ]
    ).filter(pl.Series(keep))
    rating = rating.sort("rated_at", "rating_id")
    return rating, _followups(rng, t, window, profiles, rating, code_idx, closed)


def _subdimensions(
    rng: np.random.Generator, level: np.ndarray, channel: np.ndarray, s: np.ndarray, dd: np.ndarray
) -> list[pl.Series]:
    """GB/T 39734-2020 sub-dimension scores (1–5) of each rating: online ones on pc/app, offline ones at the
    window, pad or kiosk, none on SMS. No published figures exist for them (Shanghai reports only the overall
    好评率, 99.96% real-name good in 2022), so these are assumptions: each score is the overall level moved by at
    most one step, mostly not at all (people rate the parts as they rate the whole, so the scores correlate with
    `level`), slightly lower where the district's supply (guide, platform) or service (counter) is weak; about one
    rating in ten skips the optional sub-dimension questions."""
    n = len(level)
    online = np.isin(channel, tables.RATING_ONLINE_CHANNELS)
    offline = np.isin(channel, tables.RATING_OFFLINE_CHANNELS)
    skipped = rng.random(n) < SUBDIMENSION_SKIP_RATE
    out = []
    for names, where, strength in ((tables.ONLINE_SUBDIMENSIONS, online, s), (tables.OFFLINE_SUBDIMENSIONS, offline, dd)):
        for _name in names:
            u = rng.random(n)
            p_down = np.clip(0.12 - 0.06 * strength, 0.03, 0.25)
            step = np.where(u < p_down, -1, np.where(u > 1 - 0.08, 1, 0))
            score = np.clip(level + step, 1, 5).astype(np.int64)
            out.append(col(_name, score, pl.Int64, null=~where | skipped))
    return out


def _followups(
    rng: np.random.Generator, t: float, window: Window, profiles: Profiles, rating: pl.DataFrame,
    code_idx: dict[str, int], closed: pl.DataFrame,
) -> pl.DataFrame:
    """Every bad rating (level 1–2) gets a follow-up: a callback, a 5-working-day deadline, an outcome."""
    bad = rating.filter(pl.col("level") <= 2).join(closed.select("case_id", "district_code"), on="case_id")
    n = len(bad)
    dist = bad["district_code"].replace_strict(code_idx, return_dtype=pl.Int64).to_numpy()
    s = profiles.supply_at(t)[dist]
    rated = bad["rated_at"].cast(pl.Int64).to_numpy() // 1_000_000
    callback = rated + rng.lognormal(np.log(8 * 3600), 0.8, n).astype(np.int64)
    no_callback = rng.random(n) < 0.05
    due = rated + 7 * DAY_S
    u = rng.random(n)
    p_rect = np.clip(0.82 + 0.1 * s, 0.6, 0.97)
    outcome = np.where(u < p_rect, "rectified", np.where(u < p_rect + (1 - p_rect) * 0.65, "explained", "unresolved"))
    on_time = rng.random(n) < np.clip(0.9 + 0.06 * s, 0.7, 0.99)
    rectified = np.where(on_time, rated + (rng.uniform(0.1, 0.97, n) * 7 * DAY_S).astype(np.int64),
                         due + rng.integers(DAY_S, 12 * DAY_S, n))
    pending = (outcome == "rectified") & (rectified > window.end_s)
    outcome = np.where(pending, "unresolved", outcome)  # not yet rectified at the cut-off
    callback_null = no_callback | (callback > window.end_s)
    u = rng.random(n)
    appeal = np.where(u < 0.03, True, False)
    return pl.DataFrame(
        [
            bad["rating_id"],
            dt("callback_at", callback, null=callback_null),
            dt("due_at", due),
            dt("rectified_at", rectified, null=outcome != "rectified"),
            col("outcome", outcome, pl.Utf8),
            col("appeal_upheld", appeal, pl.Boolean, null=u >= 0.1),
        ]
    )
