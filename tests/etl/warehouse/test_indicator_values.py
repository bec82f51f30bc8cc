"""indicator_values against a hand computation on a tiny fixture, for every indicator of the catalog.

Fixture: districts A (310101) and B (310104) with a handful of rows per table in 2025-01 and 2025-02, and C
(310105) with no data at all. The data span ends on 2025-02-23 (the last event: rating r11), so {data_end} is
2025-02-24 00:00: outcomes not knowable by then (deadlines still ahead, cases closed too recently to be rated,
applications started too recently to tell abandoned from in progress) are left out. Every expected number below
is worked out by hand in the comments, independently of the SQL. The hand computation switches the precision rule
off (the fixture is far smaller than any real sample); separate tests check the intervals by hand and that the real
thresholds turn imprecise values into NULL with missing_reason 'imprecise'.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from etl.contract import tables
from etl.warehouse import connection as warehouse
from etl.contract.catalog import load_catalog
from etl.warehouse.indicator_values import compute_indicator_values, write_indicator_values
from indicators.catalog import Catalog

A, B, C = "310101", "310104", "310105"
J, F, Q = "2025-01", "2025-02", "2025Q1"


def dt(s: str) -> datetime:
    """'01-05 09:00' → 2025-01-05 09:00."""
    return datetime.strptime(f"2025-{s}", "%Y-%m-%d %H:%M")


def d(s: str) -> date:
    return date.fromisoformat(s if len(s) == 10 else f"2025-{s}")


# ---------------------------------------------------------------------------------------------------------------
# The fixture
# ---------------------------------------------------------------------------------------------------------------
DISTRICTS = [(A, "黄浦区", "Huangpu", 100, 30), (B, "徐汇区", "Xuhui", 100, 30), (C, "长宁区", "Changning", 100, 30)]

# item, district, basic, onboarded_on (None = not onboarded), legal, promised, kind, visits, depth, mobile,
# materials required, baseline, bundle, guide present, guide required, high_freq, offline_path, elder_version
ITEMS = [
    ("A1", A, True, "2024-06-01", 20, 10, "承诺", 0, "full", True, 0, 3, "B1", 8, 10, True, True, True),
    ("A2", A, True, "2025-02-10", 0, 0, "即办", 1, "partial", False, 2, 4, None, 6, 10, True, True, False),
    ("A3", A, True, None, 15, 15, "承诺", 2, "none", False, 5, 5, None, 5, 10, False, True, False),
    ("A4", A, False, "2024-01-01", 30, 12, "承诺", 2, "full", True, 1, 2, "B1", 10, 10, False, False, False),
    ("B1", B, True, "2023-05-01", 20, 20, "承诺", 2, "partial", True, 3, 3, None, 6, 10, True, False, True),
    ("B2", B, True, "2025-03-15", 10, 4, "承诺", 0, "full", True, 0, 1, None, 10, 10, False, True, True),
]

# case, item, district, channel, applicant, age, started, submitted, accepted, closed, due, status, visits,
# materials submitted, via sharing, via_bundle
CASES = [
    ("a1", "A1", A, "pc", "person", "30-44", "01-05 09:00", "01-05 09:10", "01-05 10:00", "01-07 10:00", "01-15 10:00", "closed", 0, 0, 2, True),
    ("a2", "A1", A, "app", "person", "60-69", "01-10 08:00", "01-10 08:30", "01-10 09:00", "01-20 09:00", "01-15 09:00", "closed", 0, 1, 1, False),
    ("a3", "A2", A, "window", "person", "70+", "01-12 09:00", "01-12 09:30", "01-12 10:00", "01-12 11:00", "01-12 12:00", "closed", 1, 2, 0, False),
    ("a4", "A3", A, "window", "enterprise", None, "01-20 09:00", "01-20 09:00", "01-21 09:00", "02-03 09:00", "02-05 09:00", "closed", 2, 5, 0, False),
    ("a5", "A1", A, "pc", "person", "45-59", "01-25 09:00", None, None, None, None, "abandoned", 0, 0, 0, False),
    ("a6", "A2", A, "app", "person", "18-29", "02-12 10:00", "02-12 10:05", "02-12 10:10", "02-12 10:25", "02-12 10:30", "closed", 0, 1, 1, False),
    ("a7", "A4", A, "kiosk", "person", "60-69", "02-15 09:00", "02-15 09:20", "02-15 10:00", None, "02-28 10:00", "accepted", 1, 1, 0, False),
    ("a8", "A1", A, "proxy", "person", "70+", "02-20 09:00", "02-20 09:30", "02-20 12:00", "02-22 12:00", "02-24 12:00", "closed", 1, 0, 2, True),
    ("b1", "B1", B, "window", "enterprise", None, "01-08 09:00", "01-08 09:00", "01-08 10:00", "01-18 10:00", "01-28 10:00", "closed", 2, 3, 0, False),
    ("b2", "B1", B, "pc", "person", "30-44", "01-09 09:00", "01-09 09:30", "01-09 10:00", "01-29 10:00", "01-19 10:00", "closed", 0, 2, 1, False),
    ("b3", "B2", B, "app", "person", "60-69", "02-03 09:00", "02-03 09:30", "02-03 10:00", "02-04 10:00", "02-07 10:00", "closed", 0, 0, 1, False),
    ("b4", "B1", B, "pc", "enterprise", None, "02-05 09:00", None, None, None, None, "abandoned", 0, 0, 0, False),
    # started 02-22, within 3 days of the data end: not yet known whether abandoned or still being filled in
    ("b5", "B1", B, "app", "enterprise", None, "02-22 09:00", None, None, None, None, "abandoned", 0, 0, 0, False),
]

# rating, case, channel, rated_at, level, prompted
RATINGS = [
    ("r1", "a1", "pc", "01-07 12:00", 5, False),
    ("r2", "a2", "app", "01-21 09:00", 2, False),
    ("r3", "a3", "window", "01-12 11:05", 5, True),
    ("r4", "a3", "sms", "01-13 09:00", 4, True),  # a second rating of the same case
    ("r5", "a6", "app", "02-12 11:00", 3, False),
    ("r6", "a8", "window", "02-22 12:10", 1, True),
    ("r11", "a8", "app", "02-23 09:00", 2, False),
    ("r8", "b1", "window", "01-18 10:10", 5, True),
    ("r9", "b2", "pc", "02-01 09:00", 1, False),  # case closed in January, rated in February
    ("r10", "b3", "app", "02-05 09:00", 4, False),
]

# rating, callback, due, rectified, outcome, appeal_upheld  (r11 has no follow-up record)
FOLLOWUPS = [
    ("r2", "01-22 09:00", "01-31 18:00", "01-25 09:00", "rectified", False),
    ("r6", "02-23 09:00", "02-23 18:00", "02-23 20:00", "rectified", None),  # rectified two hours late
    ("r9", "02-02 09:00", "02-10 18:00", None, "explained", True),
]

# ticket, created, district, category, gov_related, deadline_days, closed, resolved, callback
TICKETS = [
    ("t1", "01-03 09:00", A, "政务服务", True, 5, "01-06 09:00", True, "满意"),
    ("t2", "01-15 09:00", A, "政务服务", True, 5, "01-20 09:00", False, "不满意"),
    ("t3", "01-20 09:00", A, "城市管理", False, 5, "01-22 09:00", True, "满意"),
    ("t4", "02-10 10:00", A, "政务服务", True, 10, None, None, None),
    ("t5", "02-11 10:00", A, "社会保障", True, 2, "02-13 10:00", None, "基本满意"),
    ("t6", "01-05 09:00", B, "政务服务", True, 5, "01-08 09:00", True, None),
    ("t7", "02-07 09:00", B, "交通出行", False, 5, "02-08 09:00", True, "满意"),
    ("t8", "02-20 09:00", A, "政务服务", True, 10, None, None, None),  # open, deadline 03-02: after the data end
    ("t9", "02-21 09:00", A, "政务服务", True, 5, "02-23 09:00", None, None),  # closed, deadline 02-26: same
]

# response, surveyed_on, district, weight, age, uses, reason, csat, trust, ease
SURVEY = [
    ("s1", "01-10", A, 1.0, 30, True, "personal_need", 5, 4, 5),
    ("s2", "01-11", A, 2.0, 65, True, "social_norm", 3, 3, 2),
    ("s3", "02-05", A, 1.5, 50, False, None, None, 2, None),
    ("s4", "02-06", A, 0.5, 70, True, "org_pressure", 1, None, 1),
    ("s5", "02-20", B, 1.0, 40, True, "personal_need", 4, 5, 4),
]

# event, device, centre, district, ts, event, session, latency, duration
KIOSK = [
    ("e1", "K1", "CA1", A, "01-10 08:00", "heartbeat", None, None, None),
    ("e2", "K1", "CA1", A, "01-10 09:00", "session_start", "S1", None, None),
    ("e3", "K1", "CA1", A, "01-10 09:01", "error", "S1", None, None),
    ("e4", "K1", "CA1", A, "01-10 09:05", "session_end", "S1", None, None),
    ("e5", "K1", "CA1", A, "01-10 10:00", "session_start", "S2", None, None),
    ("e6", "K1", "CA1", A, "01-10 10:03", "session_end", "S2", None, None),
    ("e7", "K1", "CA1", A, "01-10 11:00", "down", None, None, 3600),
    ("e8", "K2", "CA1", A, "01-10 08:00", "heartbeat", None, None, None),
    ("e9", "K2", "CA1", A, "01-10 09:30", "session_start", "S1", None, None),  # same id, other device
    ("e10", "K2", "CA1", A, "01-10 09:31", "lag", "S1", 5000, None),
    ("e11", "K2", "CA1", A, "01-10 09:40", "session_end", "S1", None, None),
    ("e12", "K1", "CA1", A, "02-03 08:00", "heartbeat", None, None, None),
    ("e13", "K1", "CA1", A, "02-03 09:00", "session_start", "S3", None, None),
    ("e14", "K1", "CA1", A, "02-03 09:02", "session_end", "S3", None, None),
    ("e15", "K1", "CA1", A, "02-03 14:00", "down", None, None, 36000),  # 10 h: capped at the 8-h day
    ("e16", "K2", "CA1", A, "02-03 10:00", "session_start", "S4", None, None),
    ("e17", "K2", "CA1", A, "02-03 10:01", "reload", "S4", None, None),
    ("e18", "K2", "CA1", A, "02-03 10:05", "session_end", "S4", None, None),
    ("e19", "K9", "CB1", B, "01-20 08:00", "heartbeat", None, None, None),
]

# centre, district, date, role, fte_hours, staff_n, visitors, kiosk_count
STAFFING = [
    ("CA1", A, "01-10", "window", 16.0, 2, 200, 2),
    ("CA1", A, "01-10", "guide", 8.0, 1, 200, 2),
    ("CA1", A, "01-10", "assist", 4.0, 1, 200, 2),
    ("CA2", A, "01-11", "window", 8.0, 1, 50, 0),
    ("CA2", A, "01-11", "assist", 8.0, 1, 50, 0),
    ("CA1", A, "02-03", "window", 24.0, 3, 100, 4),
    ("CA1", A, "02-03", "guide", 12.0, 2, 100, 4),
    ("CB1", B, "01-20", "window", 8.0, 1, 80, 1),
]


def _opt(f: Any, v: Any) -> Any:
    return None if v is None else f(v)


def _frames() -> dict[str, list[dict[str, Any]]]:
    return {
        "district": [dict(zip(tables.DISTRICT.column_names[:5], r, strict=True)) for r in DISTRICTS],
        "service_item": [
            {
                "item_code": i[0], "name": f"事项{i[0]}", "district_code": i[1], "dept": "部门",
                "in_basic_catalog": i[2], "onboarded": i[3] is not None, "onboarded_on": _opt(d, i[3]),
                "legal_limit_days": i[4], "promised_limit_days": i[5], "case_kind": i[6], "required_visits": i[7],
                "online_depth": i[8], "mobile_enabled": i[9], "materials_required_n": i[10],
                "materials_baseline_n": i[11], "bundle_id": i[12], "guide_elements_present": i[13],
                "guide_elements_required": i[14], "high_freq": i[15], "offline_path": i[16], "elder_version": i[17],
            }
            for i in ITEMS
        ],
        "case": [
            {
                "case_id": c[0], "item_code": c[1], "district_code": c[2],
                "centre_id": None if c[3] in ("pc", "app") else "CA1", "channel": c[3], "applicant_type": c[4],
                "age_band": c[5], "started_at": dt(c[6]), "submitted_at": _opt(dt, c[7]),
                "accepted_at": _opt(dt, c[8]), "closed_at": _opt(dt, c[9]), "promised_due_at": _opt(dt, c[10]),
                "status": c[11], "visits_actual": c[12], "materials_submitted_n": c[13],
                "materials_via_sharing_n": c[14], "assisted": c[3] == "proxy", "via_bundle": c[15],
            }
            for c in CASES
        ],
        "rating": [
            {
                "rating_id": r[0], "case_id": r[1], "channel": r[2], "rated_at": dt(r[3]), "level": r[4],
                "prompted": r[5], "prompt_source": "staff" if r[5] else "none", "comment": None,
            }
            for r in RATINGS
        ],
        "bad_rating_followup": [
            {
                "rating_id": f[0], "callback_at": _opt(dt, f[1]), "due_at": dt(f[2]), "rectified_at": _opt(dt, f[3]),
                "outcome": f[4], "appeal_upheld": f[5],
            }
            for f in FOLLOWUPS
        ],
        "hotline_ticket": [
            {
                "ticket_id": t[0], "created_at": dt(t[1]), "district_code": t[2], "category": t[3],
                "gov_service_related": t[4], "item_code": None, "deadline_days": t[5], "closed_at": _opt(dt, t[6]),
                "resolved": t[7], "callback_result": t[8],
            }
            for t in TICKETS
        ],
        "survey_response": [
            {
                "response_id": s[0], "wave": "2025Q1", "surveyed_on": d(s[1]), "district_code": s[2], "weight": s[3],
                "age": s[4], "uses_platform": s[5], "reason_for_use": s[6], "csat": s[7], "trust": s[8],
                "ease": s[9], "digital_skill": 3,
            }
            for s in SURVEY
        ],
        "kiosk_event": [
            {
                "event_id": e[0], "device_id": e[1], "centre_id": e[2], "district_code": e[3], "ts": dt(e[4]),
                "event": e[5], "session_id": e[6], "latency_ms": e[7], "duration_s": e[8],
            }
            for e in KIOSK
        ],
        "centre_staffing": [dict(zip(tables.CENTRE_STAFFING.column_names, (*s[:2], d(s[2]), *s[3:]), strict=True)) for s in STAFFING],
    }


def _fill(con: warehouse.Connection) -> None:
    for name, rows in _frames().items():
        schema = warehouse.polars_schema(tables.TABLES[name])
        warehouse.insert_frame(con, name, pl.DataFrame(rows, schema=schema, orient="row"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def con() -> Iterator[warehouse.Connection]:
    c = warehouse.connect(":memory:")
    _fill(c)
    yield c
    c.close()


def _loose(catalog: Catalog, half_width: float | None = None) -> Catalog:
    """The catalog with every sampled indicator's precision threshold set to `half_width` (default None: no rule;
    only a hand-built catalog can have that, the catalog model requires a threshold)."""
    return Catalog(
        catalog.nodes,
        tuple(i if i.interval == "none" else i.model_copy(update={"max_half_width": half_width}) for i in catalog),
        catalog.source,
    )


@pytest.fixture(scope="module")
def values(con: warehouse.Connection, catalog: Catalog) -> pl.DataFrame:
    return compute_indicator_values(con, _loose(catalog))


# ---------------------------------------------------------------------------------------------------------------
# The hand computation: indicator → {(district, period): value}; every cell not listed must be NULL
# (district C has no data, so it is never listed).
# ---------------------------------------------------------------------------------------------------------------
EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    # high-freq basic items: A = {A1 full, A2 partial} → 1 of 2 at every period end; B = {B1 partial} → 0 of 1.
    "high_freq_full_online_rate": {(A, J): 50.0, (A, F): 50.0, (A, Q): 50.0, (B, J): 0.0, (B, F): 0.0, (B, Q): 0.0},
    # Facing from the cases started by the period's end (never later ones); basic items only. Parity = 100 × lower
    # onboarded share ÷ higher one. A: A1, A2 person-facing, A3 enterprise from January on: persons {A1, A2} 1/2
    # (Jan), 2/2 (Feb, Q1) vs the never-onboarded A3 0/1 → 0 throughout. B by 31 Jan: B1 has b1 (enterprise) and b2
    # (person) → half persons → person-facing; B2 has no case yet → unclassified: no enterprise item → NULL
    # (no_cases). By 28 Feb: B1 {b1, b4, b5 enterprise, b2 person} → enterprise; B2 {b3 person} → person-facing:
    # 0/1 (B2 onboarded 03-15) vs 1/1 → 0; Q1 (to 31 Mar): 1/1 vs 1/1 → 100 (equal treatment).
    "person_item_onboarding_parity": {(A, J): 0.0, (A, F): 0.0, (A, Q): 0.0, (B, F): 0.0, (B, Q): 100.0},
    # high-freq onboarded: A Jan {A1 bundled} 1/1; Feb & Q1 {A1, A2} 1/2; B {B1 unbundled} 0/1.
    "high_freq_bundle_rate": {(A, J): 100.0, (A, F): 50.0, (A, Q): 50.0, (B, J): 0.0, (B, F): 0.0, (B, Q): 0.0},
    # basic: A {A1, A2, A3}: Jan 1/3, Feb 2/3 (A2 on 02-10); B {B1, B2}: 1/2 until B2 on 03-15, Q1 2/2.
    "item_coverage_rate": {(A, J): 100 / 3, (A, F): 200 / 3, (A, Q): 200 / 3, (B, J): 50.0, (B, F): 50.0, (B, Q): 100.0},
    # onboarded: A Jan {A1 8/10, A4 10/10} 18/20; Feb {+A2 6/10} 24/30; B Jan {B1 6/10}, Q1 {+B2 10/10} 16/20.
    "guide_accuracy_rate": {(A, J): 90.0, (A, F): 80.0, (A, Q): 80.0, (B, J): 60.0, (B, F): 60.0, (B, Q): 80.0},
    # visits ≤ 1: A Jan {A1 0, A4 2} 1/2; Feb {+A2 1} 2/3; B Jan {B1 2} 0/1; Q1 {+B2 0} 1/2.
    "max_one_visit_rate": {(A, J): 50.0, (A, F): 200 / 3, (A, Q): 200 / 3, (B, J): 0.0, (B, F): 0.0, (B, Q): 50.0},
    # zero materials: A Jan {A1 0, A4 1} 1/2; Feb {+A2 2} 1/3; B Jan {B1 3} 0/1; Q1 {+B2 0} 1/2.
    "zero_material_item_rate": {(A, J): 50.0, (A, F): 100 / 3, (A, Q): 100 / 3, (B, J): 0.0, (B, F): 0.0, (B, Q): 50.0},
    # 1 - req/base: A Jan (3+2 - 0-1)/5 = 4/5; Feb (3+4+2 - 0-2-1)/9 = 6/9; B Jan 0/3; Q1 (3+1 - 3-0)/4 = 1/4.
    "material_reduction_rate": {(A, J): 80.0, (A, F): 600 / 9, (A, Q): 600 / 9, (B, J): 0.0, (B, F): 0.0, (B, Q): 25.0},
    # 即办: A Jan {A1, A4 承诺} 0/2; Feb {+A2 即办} 1/3; B {B1}, {B1, B2} all 承诺 → 0.
    "immediate_item_rate": {(A, J): 0.0, (A, F): 100 / 3, (A, Q): 100 / 3, (B, J): 0.0, (B, F): 0.0, (B, Q): 0.0},
    # legal > 0: A {A1 20→10, A4 30→12} (10+18)/50 (A2 has legal 0); B Jan {B1 20→20} 0/20; Q1 {+B2 10→4} 6/30.
    "time_limit_compression": {(A, J): 56.0, (A, F): 56.0, (A, Q): 56.0, (B, J): 0.0, (B, F): 0.0, (B, Q): 20.0},
    # cases by the month of their promised deadline, deadline before the data end 02-24 00:00 (a7 due 02-28 and a8
    # due 02-24 12:00 are not yet due): A Jan {a1 ok, a2 late, a3 ok} 2/3; Feb {a4, a6 ok} 2/2; Q1 4/5.
    # B Jan {b1 ok, b2 late} 1/2; Feb {b3 ok} 1/1; Q1 2/3.
    "ontime_completion_rate": {(A, J): 200 / 3, (A, F): 100.0, (A, Q): 80.0, (B, J): 50.0, (B, F): 100.0, (B, Q): 200 / 3},
    # (closed-accepted)/(due-accepted) by the month of the deadline (a7, a8 not yet due): a1 48h/240h=.2, a2
    # 240/120=2, a3 1/2=.5 → median .5; a4 13d/15d=.8667, a6 15min/20min=.75 → median .8083; Q1
    # {.2,.5,.75,.867,2} → .75. b1 10d/20d=.5, b2 20/10=2 → 1.25; b3 24h/96h=.25; Q1 {.25,.5,2} → .5.
    "processing_time_ratio": {(A, J): 0.5, (A, F): (0.75 + 13 / 15) / 2, (A, Q): 0.75, (B, J): 1.25, (B, F): 0.25, (B, Q): 0.5},
    # submitted cases of bundled items (A1, A4): A Jan {a1 yes, a2 no} 1/2; Feb {a7 no, a8 yes} 1/2; B none → NULL.
    "one_thing_case_share": {(A, J): 50.0, (A, F): 50.0, (A, Q): 50.0},
    # depth at submission: A Jan a1 100, a2 100, a3 0 (A2 not yet on), a4 0 → 200/4; Feb a6 50, a7 100, a8 100
    # → 250/3; Q1 450/7. B Jan b1 50, b2 50 → 50; Feb b3 0 (B2 on 03-15) → 0; Q1 100/3.
    "online_depth_score": {(A, J): 50.0, (A, F): 250 / 3, (A, Q): 450 / 7, (B, J): 50.0, (B, F): 0.0, (B, Q): 100 / 3},
    # depth full/partial & onboarded: A Jan {A1 m, A4 m} 2/2; Feb {+A2 no mobile} 2/3; B {B1 m} 1/1, Q1 {+B2 m} 2/2.
    "mobile_availability_rate": {(A, J): 100.0, (A, F): 200 / 3, (A, Q): 200 / 3, (B, J): 100.0, (B, F): 100.0, (B, Q): 100.0},
    # shared/(submitted+shared): A Jan (2+1+0+0)/(2+2+2+5)=3/11; Feb (1+0+2)/(2+1+2)=3/5; Q1 6/16.
    # B Jan (0+1)/(3+3)=1/6; Feb 1/1; Q1 2/7.
    "data_substitution_rate": {(A, J): 300 / 11, (A, F): 60.0, (A, Q): 37.5, (B, J): 100 / 6, (B, F): 100.0, (B, Q): 200 / 7},
    # scheduled device-days (centre_staffing.kiosk_count) × 8 h: A Jan CA1 01-10 2 kiosks: K1 (1 h down) + K2 =
    # 54000/57600; Feb CA1 02-03 4 kiosks: K1 (10 h down, capped 8) 0 + K2 28800 + two that logged nothing 0 =
    # 28800/115200; Q1 82800/172800. CA2 has no kiosks. B Jan CB1 1 kiosk, K9 28800/28800; Feb no schedule → NULL.
    "kiosk_availability": {(A, J): 93.75, (A, F): 25.0, (A, Q): 8280000 / 172800, (B, J): 100.0, (B, Q): 100.0},
    # sessions per (device, session): A Jan K1/S1 error, K1/S2 ok, K2/S1 lag → 2/3; Feb K1/S3 ok, K2/S4 reload
    # → 1/2; Q1 3/5. B: no sessions → NULL.
    "kiosk_session_failure_rate": {(A, J): 200 / 3, (A, F): 50.0, (A, Q): 60.0},
    # (guide+assist h)/8 per 1000 visitors (once per centre-day): A Jan CA1 12/8 + CA2 8/8 = 2.5 / 250 → 10;
    # Feb CA1 12/8 = 1.5 / 100 → 15; Q1 4/350*1000. B Jan 0/80 → 0.
    "assist_staff_ratio": {(A, J): 10.0, (A, F): 15.0, (A, Q): 4000 / 350, (B, J): 0.0, (B, Q): 0.0},
    # high-freq onboarded with offline & elder: A Jan {A1 yes} 1/1; Feb {A1, A2 no elder} 1/2; B {B1 no} 0/1.
    "offline_fallback_coverage": {(A, J): 100.0, (A, F): 50.0, (A, Q): 50.0, (B, J): 0.0, (B, F): 0.0, (B, Q): 0.0},
    # helpers per 10 kiosks, centre-days with kiosks: A Jan CA1 2/2; Feb CA1 2/4; Q1 4/6 (CA2 has none). B Jan 0/1.
    "kiosk_help_staffing": {(A, J): 10.0, (A, F): 5.0, (A, Q): 40 / 6, (B, J): 0.0, (B, Q): 0.0},
    # unprompted, level ≥ 4, by rated month: A Jan {r1 5, r2 2} 1/2; Feb {r5 3, r11 2} 0/2; Q1 1/4.
    # B Jan none → NULL; Feb {r9 1, r10 4} 1/2; Q1 1/2.
    "unprompted_satisfaction": {(A, J): 50.0, (A, F): 0.0, (A, Q): 25.0, (B, F): 50.0, (B, Q): 50.0},
    # all ratings ≥ 4: A Jan {r1, r3, r4 of 4} 3/4; Feb {r5, r6, r11} 0/3; Q1 3/7. B Jan {r8} 1/1; Feb 1/2; Q1 2/3.
    "raw_good_rate": {(A, J): 75.0, (A, F): 0.0, (A, Q): 300 / 7, (B, J): 100.0, (B, F): 50.0, (B, Q): 200 / 3},
    # gov tickets mature by the data end 02-24 00:00 (deadline + 15 days passed), with a callback: A Jan {t1 满意
    # (01-03 + 20 d), t2 不满意 (01-15 + 20 d = 02-04)} 1/2; Feb {t5 基本满意, but 02-11 + 17 d = 02-28: not
    # mature} → NULL; Q1 1/2. B: t6 no callback.
    "hotline_satisfaction_rate": {(A, J): 50.0, (A, Q): 50.0},
    # csat (x-1)*25 weighted: A Jan (100*1 + 50*2)/3; Feb 0*0.5/0.5; Q1 200/3.5. B Feb 75.
    "csat_index": {(A, J): 200 / 3, (A, F): 0.0, (A, Q): 200 / 3.5, (B, F): 75.0, (B, Q): 75.0},
    # both trust and ease: A Jan s1 (4.5-1)*25 = 87.5 w1, s2 (2.5-1)*25 = 37.5 w2 → 162.5/3; Feb none; B s5 87.5.
    "trust_index": {(A, J): 162.5 / 3, (A, Q): 162.5 / 3, (B, F): 87.5, (B, Q): 87.5},
    # users, weighted personal need: A Jan 1/(1+2); Feb 0/0.5; Q1 1/3.5. B Feb 1/1.
    "voluntary_use_share": {(A, J): 100 / 3, (A, F): 0.0, (A, Q): 100 / 3.5, (B, F): 100.0, (B, Q): 100.0},
    # bad ratings (≤2, appeal not upheld) whose deadline is past by the data end 02-24 00:00: A Jan {r2 rectified
    # 01-25 ≤ due 01-31} 1/1; Feb {r6 due 02-23 18:00, rectified 20:00: late} 0/1 — r11 has no follow-up, so its
    # deadline is 15 days after 02-23 09:00, after the data end: not counted yet; Q1 1/2. B: r9's appeal upheld.
    "bad_rating_closure_rate": {(A, J): 100.0, (A, F): 0.0, (A, Q): 50.0},
    # gov, mature (deadline + 15 days passed by 02-24 00:00), closed, resolved known: A Jan {t1 yes, t2 no} 1/2;
    # Feb {t4, t5, t8, t9 not mature} → NULL; B Jan {t6 (01-05 + 20 d)} 1/1.
    "hotline_resolution_rate": {(A, J): 50.0, (A, Q): 50.0, (B, J): 100.0, (B, Q): 100.0},
    # gov, deadline past by the data end 02-24 00:00, closed within it: A Jan {t1 3d ≤ 5, t2 5d ≤ 5} 2/2; Feb {t4
    # open past its 02-20 deadline, t5 2d ≤ 2} 1/2 — t8 (open) and t9 (closed early) are due after the data end, so
    # neither counts yet; Q1 3/4. B Jan {t6 3d ≤ 5} 1/1; Feb: t7 not gov → NULL.
    "hotline_ontime_rate": {(A, J): 100.0, (A, F): 50.0, (A, Q): 75.0, (B, J): 100.0, (B, Q): 100.0},
    # closed, visits ≤ 1: A Jan {a1 0, a2 0, a3 1} 3/3; Feb {a4 2, a6 0, a8 1} 2/3; Q1 5/6. B Jan {b1 2, b2 0} 1/2;
    # Feb {b3 0} 1/1; Q1 2/3.
    "realised_one_visit_rate": {(A, J): 100.0, (A, F): 200 / 3, (A, Q): 500 / 6, (B, J): 50.0, (B, F): 100.0, (B, Q): 200 / 3},
    # submitted via pc/app: A Jan {a1 pc, a2 app, a3 window, a4 window} 2/4; Feb {a6 app, a7 kiosk, a8 proxy} 1/3;
    # Q1 3/7. B Jan {b1 window, b2 pc} 1/2; Feb {b3 app} 1/1; Q1 2/3.
    "actual_online_case_rate": {(A, J): 50.0, (A, F): 100 / 3, (A, Q): 300 / 7, (B, J): 50.0, (B, F): 100.0, (B, Q): 200 / 3},
    # online starts submitted, by start month, started by 02-21 00:00 (3 days before the data end): A Jan {a1, a2
    # yes, a5 abandoned} 2/3; Feb {a6} 1/1; Q1 3/4. B Jan {b2} 1/1; Feb {b3 yes, b4 abandoned; b5 too recent} 1/2;
    # Q1 2/3.
    "online_completion_rate": {(A, J): 200 / 3, (A, F): 100.0, (A, Q): 75.0, (B, J): 100.0, (B, F): 50.0, (B, Q): 200 / 3},
    # 60+ persons, submitted, via pc/app: A Jan {a2 app, a3 window} 1/2; Feb {a7 kiosk, a8 proxy} 0/2; Q1 1/4.
    # B Jan none → NULL; Feb {b3 app} 1/1.
    "online_rate_60plus": {(A, J): 50.0, (A, F): 0.0, (A, Q): 25.0, (B, F): 100.0, (B, Q): 100.0},
    # closed by 02-17 00:00 (7 days before the data end) with ≥ 1 rating, by closing month: A Jan {a1, a2, a3} 3/3;
    # Feb {a4 none, a6} 1/2 (a8 closed 02-22: too recent); Q1 4/5. B Jan {b1, b2 (rated in Feb)} 2/2; Feb {b3} 1/1.
    "rating_coverage_rate": {(A, J): 100.0, (A, F): 50.0, (A, Q): 80.0, (B, J): 100.0, (B, F): 100.0, (B, Q): 100.0},
    # unprompted / ratings: A Jan 2/4; Feb 2/3; Q1 4/7. B Jan 0/1; Feb 2/2; Q1 2/3.
    "unprompted_rating_share": {(A, J): 50.0, (A, F): 200 / 3, (A, Q): 400 / 7, (B, J): 0.0, (B, F): 100.0, (B, Q): 200 / 3},
    # good rate prompted − unprompted: A Jan 2/2 − 1/2 = 50 pp; Feb 0/1 − 0/2 = 0; Q1 2/3 − 1/4.
    # B Jan no unprompted, Feb no prompted → NULL; Q1 1/1 − 1/2 = 50.
    "prompt_bias_gap": {(A, J): 50.0, (A, F): 0.0, (A, Q): 200 / 3 - 25, (B, Q): 50.0},
    # gov tickets per 10k submitted cases: A Jan 2/4; Feb {t4, t5, t8, t9} 4/3; Q1 6/7. B Jan 1/2; Feb 0/1 (a true
    # zero); Q1 1/3.
    "hotline_service_complaint_rate": {
        (A, J): 5000.0, (A, F): 40000 / 3, (A, Q): 60000 / 7, (B, J): 5000.0, (B, F): 0.0, (B, Q): 10000 / 3,
    },
    # persons, online share under 60 − 60+: A Jan {a1 pc} 1/1 − {a2 app, a3 window} 1/2 = 50; Feb {a6 app} 1/1 −
    # {a7, a8} 0/2 = 100; Q1 2/2 − 1/4 = 75. B Jan no 60+, Feb no under-60 → NULL; Q1 {b2} 1/1 − {b3} 1/1 = 0.
    "elderly_digital_gap": {(A, J): 50.0, (A, F): 100.0, (A, Q): 75.0, (B, Q): 0.0},
}

# A few (numerator, denominator) pairs, worked out above, including the query-form conventions.
EXPECTED_COUNTS: dict[tuple[str, str, str], tuple[float | None, float | None]] = {
    ("actual_online_case_rate", A, J): (2, 4),
    ("item_coverage_rate", A, J): (1, 3),
    ("processing_time_ratio", A, Q): (1, 5),  # cases late (ratio above 1), cases due
    ("prompt_bias_gap", A, Q): (None, 7),  # numerator NULL, denominator = ratings compared
    ("prompt_bias_gap", B, J): (None, 1),  # value NULL (no unprompted), sample still reported
    ("person_item_onboarding_parity", A, J): (None, 3),  # numerator NULL, items counted
    ("voluntary_use_share", A, F): (0, 1),
    ("assist_staff_ratio", A, J): (2.5, 250),
    ("hotline_service_complaint_rate", B, F): (0, 1),
    ("kiosk_availability", A, F): (28800, 115200),
    ("bad_rating_closure_rate", A, F): (0, 1),  # r11 not yet due
    ("hotline_ontime_rate", A, F): (1, 2),  # t8, t9 not yet due (not 2/4, and not 2/3 either)
    ("rating_coverage_rate", A, F): (1, 2),  # a8 closed too recently to be rated
    ("online_completion_rate", B, F): (1, 2),  # b5 started too recently
    ("trust_index", A, F): (None, None),  # no row at all → NULL, not zero
    ("one_thing_case_share", B, J): (None, None),
}


def _cell(values: pl.DataFrame, indicator: str, unit: str, period: str) -> dict[str, Any]:
    rows = values.filter(
        (pl.col("indicator_id") == indicator) & (pl.col("unit_code") == unit) & (pl.col("period") == period)
    )
    assert rows.height == 1, (indicator, unit, period, rows.height)
    return rows.row(0, named=True)


def test_every_indicator_has_a_hand_computation(catalog: Catalog) -> None:
    assert set(EXPECTED) == set(catalog.ids)


@pytest.mark.parametrize("indicator", list(EXPECTED))
def test_matches_hand_computation(values: pl.DataFrame, indicator: str) -> None:
    expected = EXPECTED[indicator]
    for unit in (A, B, C):
        for period in (J, F, Q):
            got = _cell(values, indicator, unit, period)["value"]
            want = expected.get((unit, period))
            if want is None:
                assert got is None, f"{indicator} {unit} {period}: expected NULL, got {got}"
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), f"{indicator} {unit} {period}"


def test_numerators_and_denominators(values: pl.DataFrame) -> None:
    for (indicator, unit, period), (num, den) in EXPECTED_COUNTS.items():
        row = _cell(values, indicator, unit, period)
        assert (row["numerator"], row["denominator"]) == (num, den), (indicator, unit, period)


def test_grid_is_complete(values: pl.DataFrame, catalog: Catalog) -> None:
    assert values.columns == [
        "unit_code", "period", "grain", "indicator_id", "value", "numerator", "denominator",
        "n", "ci_low", "ci_high", "se", "interval_method", "missing_reason",
    ]
    assert values.height == 3 * 4 * len(catalog)  # 3 districts × (2 months + 1 quarter + 1 year)
    assert values.select("unit_code", "period", "indicator_id").is_duplicated().sum() == 0
    months = values.filter(pl.col("grain") == "month")
    assert sorted(months["period"].unique()) == [J, F]
    assert values.filter(pl.col("grain") == "quarter")["period"].unique().to_list() == [Q]
    assert values.filter(pl.col("grain") == "year")["period"].unique().to_list() == ["2025"]
    c_rows = values.filter(pl.col("unit_code") == C)
    assert c_rows["value"].null_count() == c_rows.height  # no data is NULL, never zero
    assert values["value"].is_nan().sum() == 0


def test_quarter_adds_up_months_for_rates(values: pl.DataFrame, catalog: Catalog) -> None:
    """For rate-form indicators over event tables, the quarter's numerator and denominator are the months' sums."""
    for ind in catalog:
        if ind.sql.is_query or "periods" in (ind.sql.from_ or ""):
            continue
        for unit in (A, B):
            m = [_cell(values, ind.id, unit, p) for p in (J, F)]
            q = _cell(values, ind.id, unit, Q)
            for col in ("numerator", "denominator"):
                parts = [r[col] for r in m if r[col] is not None]
                assert q[col] == (sum(parts) if parts else None), (ind.id, unit, col)


def test_year_adds_up_months_and_rolls_up_like_direct_year_sql(
    con: warehouse.Connection, values: pl.DataFrame, catalog: Catalog
) -> None:
    """The year grain (the annual assessment cycle): rate-form values are the months' sums, and the runner's month →
    year roll-up gives exactly what the formula computes directly at year grain."""
    from etl.warehouse.indicator_values import _run_one, periods_frame, rolls_up

    cat = _loose(catalog)
    for ind in cat:
        if not rolls_up(ind):
            continue
        for unit in (A, B):
            m = [_cell(values, ind.id, unit, p) for p in (J, F)]
            y = _cell(values, ind.id, unit, "2025")
            parts = [r["denominator"] for r in m if r["denominator"] is not None]
            assert y["denominator"] == (sum(parts) if parts else None), (ind.id, unit)
    rolled = compute_indicator_values(con, cat, grains=("year",))
    assert rolled["period"].unique().to_list() == ["2025"]
    con.register("_iv_units", pl.DataFrame({"unit_code": [A, B, C]}).to_arrow())
    con.register("periods", periods_frame(date(2025, 1, 1), date(2025, 2, 28), "year").to_arrow())
    try:
        for ind in [i for i in cat if rolls_up(i)]:
            direct = _run_one(con, ind, "year", 3, last_day=date(2025, 2, 23)).sort("unit_code")
            assert direct.equals(rolled.filter(pl.col("indicator_id") == ind.id).sort("unit_code")), ind.id
    finally:
        con.unregister("periods")
        con.unregister("_iv_units")


def test_precision_rule_nulls_imprecise_values_and_keeps_why(con: warehouse.Connection, catalog: Catalog) -> None:
    """A value whose 95% half-width exceeds the catalog's max_half_width is NULL with missing_reason 'imprecise';
    n and the interval stay so a reader sees why. Wilson for k = 1 of n = 2 (z² = 3.8415): centre
    (0.5 + z²/4) / (1 + z²/2) = 0.5, half-width z·√(0.25/2 + z²/16) / (1 + z²/2) = 1.96·0.6042 / 2.9207 = 0.40547."""
    real = compute_indicator_values(con, catalog, grains=("month",))
    row = _cell(real, "unprompted_satisfaction", A, J)  # 1 good of 2 unprompted ratings: ± 40.5 pp > 10 pp
    assert (row["value"], row["numerator"], row["denominator"], row["n"]) == (None, 1, 2, 2)
    assert row["missing_reason"] == "imprecise" and row["interval_method"] == "wilson"
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(9.453121, abs=1e-5), pytest.approx(90.546879, abs=1e-5))
    row = _cell(real, "item_coverage_rate", B, J)  # a census of 2 items: exact, no precision rule
    assert (row["value"], row["se"], row["ci_low"], row["ci_high"], row["missing_reason"]) == (50.0, 0.0, 50.0, 50.0, None)
    row = _cell(real, "one_thing_case_share", B, J)  # nothing to count
    assert row["value"] is None and row["missing_reason"] == "no_cases" and row["n"] is None
    # A threshold of exactly the half-width keeps the value; a hair below drops it.
    hw = 40.54687904
    assert _cell(compute_indicator_values(con, _loose(catalog, hw + 1e-6), grains=("month",)),
                 "unprompted_satisfaction", A, J)["value"] == pytest.approx(50.0)
    assert _cell(compute_indicator_values(con, _loose(catalog, hw - 1e-6), grains=("month",)),
                 "unprompted_satisfaction", A, J)["missing_reason"] == "imprecise"


@pytest.mark.slow
def test_write_replaces_table(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "w.duckdb"
    with warehouse.connection(db) as c:
        _fill(c)
    first = write_indicator_values(db, catalog)
    second = write_indicator_values(db, catalog)  # rebuilt, not appended
    stored = warehouse.query(db, "SELECT * FROM indicator_values")
    assert stored.height == first.height == second.height == 3 * 4 * len(catalog)
    assert stored.sort("grain", "indicator_id", "unit_code", "period").equals(
        second.sort("grain", "indicator_id", "unit_code", "period")
    )
    # A path is opened read-only for computing.
    assert compute_indicator_values(db, catalog, grains=("quarter",)).height == 3 * len(catalog)


def test_unknown_grain(con: warehouse.Connection, catalog: Catalog) -> None:
    from etl.warehouse.indicator_values import IndicatorSQLError

    with pytest.raises(IndicatorSQLError, match="unknown grain 'week'"):
        compute_indicator_values(con, catalog, grains=("week",))


def test_rolled_up_quarters_equal_direct_quarter_sql(con: warehouse.Connection, catalog: Catalog) -> None:
    """The runner's month → quarter roll-up gives exactly what the formula computes directly at quarter grain."""
    from etl.warehouse.indicator_values import _run_one, periods_frame, rolls_up

    cat = _loose(catalog)
    rolled = compute_indicator_values(con, cat, grains=("quarter",))
    periods = periods_frame(date(2025, 1, 1), date(2025, 2, 28), "quarter")
    con.register("_iv_units", pl.DataFrame({"unit_code": [A, B, C]}).to_arrow())
    con.register("periods", periods.to_arrow())
    try:
        ids = [i for i in cat if rolls_up(i)]
        assert len(ids) >= 15
        for ind in ids:
            direct = _run_one(con, ind, "quarter", 3, last_day=date(2025, 2, 23)).sort("unit_code")
            assert direct.equals(rolled.filter(pl.col("indicator_id") == ind.id).sort("unit_code")), ind.id
    finally:
        con.unregister("periods")
        con.unregister("_iv_units")


def test_non_additive_rate_formulas_are_computed_per_quarter_not_rolled_up(
    con: warehouse.Connection, catalog: Catalog
) -> None:
    """A rate-form formula with count(DISTINCT …) (or avg, median, …) is not a sum over rows: its quarter is not the
    sum of its months. A: Jan items {A1, A1, A2, A3} → 3 distinct of 4 cases; Feb {A2, A4, A1} → 3 of 3; Q1 the 7
    cases touch {A1, A2, A3, A4} → 4 of 7 (rolled up it would be wrongly 6/7)."""
    from etl.warehouse.indicator_values import rolls_up

    base = catalog.indicator("actual_online_case_rate")
    sql = base.sql.model_copy(update={"numerator": "count(DISTINCT item_code)"})
    distinct = base.model_copy(update={"id": "distinct_items_per_case", "sql": sql, "max_half_width": None})
    assert not rolls_up(distinct)
    for expr in ("avg(visits_actual) * count(*)", "max(visits_actual)", "median(visits_actual)"):
        assert not rolls_up(base.model_copy(update={"sql": base.sql.model_copy(update={"numerator": expr})})), expr
    assert rolls_up(base)  # count(*) FILTER (…) over count(*) adds up
    cat = Catalog(catalog.nodes, (distinct,), catalog.source)
    got = compute_indicator_values(con, cat)
    assert _cell(got, "distinct_items_per_case", A, J)["value"] == pytest.approx(75.0)
    assert _cell(got, "distinct_items_per_case", A, F)["value"] == pytest.approx(100.0)
    assert _cell(got, "distinct_items_per_case", A, Q)["value"] == pytest.approx(400 / 7)


def test_data_end_decides_which_outcomes_count(con: warehouse.Connection, catalog: Catalog) -> None:
    """With the data running to 31 March instead ({data_end} 2025-04-01 00:00), the outcomes left out above become
    knowable and count, failures included: the rule waits for an outcome, it does not drop bad news."""
    got = compute_indicator_values(con, _loose(catalog), grains=("month",),
                                   span=(date(2025, 1, 1), date(2025, 3, 31)))
    counts = {
        ("hotline_ontime_rate", A): (2, 4),  # t4 late, t5 on time, t8 still open (late), t9 on time
        ("bad_rating_closure_rate", A): (0, 2),  # r6 late, r11 without follow-up: not rectified
        ("rating_coverage_rate", A): (2, 3),  # a4 unrated, a6 and a8 rated
        ("online_completion_rate", B): (1, 3),  # b3 submitted, b4 and b5 abandoned
    }
    for (indicator, unit), (num, den) in counts.items():
        row = _cell(got, indicator, unit, F)
        assert (row["numerator"], row["denominator"]) == (num, den), indicator


def test_data_end_placeholder_expansion(catalog: Catalog) -> None:
    from etl.warehouse.indicator_values import data_end_sql, formula_sql

    assert data_end_sql(date(2026, 10, 31)) == "TIMESTAMP '2026-11-01 00:00:00'"
    assert data_end_sql(date(2025, 12, 31)) == "TIMESTAMP '2026-01-01 00:00:00'"
    assert data_end_sql(None) == "CAST(NULL AS TIMESTAMP)"
    sql = formula_sql(catalog.indicator("hotline_ontime_rate"), "month", date(2026, 10, 31))
    assert "<= TIMESTAMP '2026-11-01 00:00:00'" in sql and "{" not in sql


def test_write_records_the_data_coverage(tmp_path: Path, catalog: Catalog) -> None:
    from etl.warehouse.panel import covered_months, default_panel_period

    db = tmp_path / "w.duckdb"
    with warehouse.connection(db) as c:
        _fill(c)
    write_indicator_values(db, catalog)
    assert warehouse.query(db, "SELECT * FROM data_coverage").rows() == [(date(2025, 1, 3), date(2025, 2, 23))]  # t1, r11
    # Neither month is covered from its first to its last day: nothing is complete, the latest period is the default.
    assert covered_months(db) == ()
    frame = pl.DataFrame({"period": [J, F]})
    assert default_panel_period(db, frame) == F
    # Data from 1 January to 2 March (only two days of March): the default month is February, not March.
    with warehouse.connection(db) as c:
        c.sql("INSERT INTO centre_staffing VALUES ('CA1', '310101', DATE '2025-01-01', 'window', 8, 1, 10, 0), "
              "('CA1', '310101', DATE '2025-03-02', 'window', 8, 1, 10, 0)")
    write_indicator_values(db, catalog)
    assert covered_months(db) == (J, F)
    assert default_panel_period(db, pl.DataFrame({"period": [J, F, "2025-03"]})) == F
    assert default_panel_period(db, pl.DataFrame({"period": [Q]})) == Q  # partial Q1: nothing else to choose
    # A warehouse built before data_coverage existed falls back to the month labels present.
    with warehouse.connection(db) as c:
        c.sql("DROP TABLE data_coverage")
    assert covered_months(db) == (J, F, "2025-03")
    assert default_panel_period(db, pl.DataFrame({"period": [J, F, "2025-03"]})) == "2025-03"


def test_empty_warehouse_records_no_coverage(tmp_path: Path, catalog: Catalog) -> None:
    from etl.warehouse.panel import covered_months

    db = tmp_path / "empty.duckdb"
    write_indicator_values(db, catalog)
    assert warehouse.query(db, "SELECT count(*) AS n FROM data_coverage")["n"].item() == 0
    assert covered_months(db) == ()


# ---------------------------------------------------------------------------------------------------------------
# Intervals by hand (issue 13 item 1): one cell per method, numbers worked out in the comments.
# ---------------------------------------------------------------------------------------------------------------
Z = 1.959963984540054


def test_intervals_by_hand(values: pl.DataFrame) -> None:
    # wilson, unprompted_rating_share B Jan: k = 0 of n = 1 → centre (0 + z²/2)/(1 + z²) = 1.9207/4.8415 = 0.39672,
    # half-width z·√(0 + z²/4)/(1 + z²) = z²/2/(1 + z²) = 0.39672 → [0, 79.34]; se = half-width / z.
    row = _cell(values, "unprompted_rating_share", B, J)
    hw = Z * Z / 2 / (1 + Z * Z)
    assert (row["n"], row["ci_low"], row["ci_high"], row["se"]) == (
        1, pytest.approx(0, abs=1e-9), pytest.approx(200 * hw), pytest.approx(100 * hw / Z))
    # poisson (Byar), hotline_service_complaint_rate B Jan: k = 1 ticket per E = 2 cases × 10,000:
    # low = 1 · (1 − 1/9 − z/3)³ / 2 · 10⁴ = 0.235568³ · 5000 = 65.36; high = 2 · (1 − 1/18 + z/(3√2))³ / 2 · 10⁴
    # = 1.406413³ · 10⁴ = 27818.4.
    row = _cell(values, "hotline_service_complaint_rate", B, J)
    lo, hi = (1 - 1 / 9 - Z / 3) ** 3 * 5000, (1 - 1 / 18 + Z / (3 * 2 ** 0.5)) ** 3 * 10000
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert lo == pytest.approx(65.36, abs=0.01) and hi == pytest.approx(27818.4, abs=1)
    # design, csat_index A Jan: s1 w 1 x 100, s2 w 2 x 50; m = 200/3; Σw²(x − m)² = 33.33² + 4 · 16.67² = 2222.2;
    # × k/(k − 1) = 2 → 4444.4; √ = 66.67; ÷ Σw 3 → se 22.22. Kish n = 3² / (1 + 4) = 1.8.
    row = _cell(values, "csat_index", A, J)
    assert (row["n"], row["se"], row["interval_method"]) == (pytest.approx(1.8), pytest.approx(200 / 9), "design")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(200 / 3 - Z * 200 / 9), pytest.approx(100.0))  # capped
    # agresti_caffo, prompt_bias_gap A Jan: prompted 2 good of 2, unprompted 1 of 2 → value 50 pp; adjusted
    # a1 = 3/4, a2 = 2/4; var = .75·.25/4 + .5·.5/4 = 0.109375 → se 33.07 pp; [25 − z·33.07, 25 + z·33.07].
    row = _cell(values, "prompt_bias_gap", A, J)
    se = 100 * 0.109375 ** 0.5
    assert (row["value"], row["se"]) == (50.0, pytest.approx(se))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(25 - Z * se), pytest.approx(25 + Z * se))
    # exact (order statistics), processing_time_ratio A Q1: k = 5 sorted {.2, .5, .75, .867, 2}; ranks
    # floor(2.5 − z·√5/2) = floor(0.309) → 1 (at least 1) and ceil(3.5 + 2.191) = 6 → 5 (at most k) → [0.2, 2].
    row = _cell(values, "processing_time_ratio", A, Q)
    assert (row["ci_low"], row["ci_high"], row["n"]) == (pytest.approx(0.2), pytest.approx(2.0), 5)
    # delta (ratio estimator over scheduled device-days), kiosk_availability A Jan: y = {25200, 28800} s, x = 28800
    # each; R = 0.9375; residuals ∓1800; var = n/(n−1) · Σ(y − Rx)² / (Σx)² = 2 · 6.48e6 / 57600² → se 6.25 pp.
    row = _cell(values, "kiosk_availability", A, J)
    assert (row["n"], row["se"]) == (2, pytest.approx(6.25))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(93.75 - Z * 6.25), pytest.approx(100.0))
    # none: a census of items, no sampling error
    row = _cell(values, "item_coverage_rate", A, J)
    assert (row["se"], row["ci_low"], row["ci_high"], row["interval_method"]) == (
        0.0, pytest.approx(100 / 3), pytest.approx(100 / 3), "none")


def test_rolled_up_delta_moments_equal_a_direct_run(values: pl.DataFrame) -> None:
    """data_substitution_rate (sum over cases of shared ÷ sum of submitted + shared) rolls up months into the
    quarter with its moments. A Q1 cases (submitted, shared): a1 (0, 2), a2 (1, 1), a3 (2, 0), a4 (5, 0), a6 (1, 1),
    a7 (1, 0), a8 (0, 2): y = shared, x = total → Σy 6, Σx 16, R = .375; residuals y − Rx: 1.25, .25, −.75,
    −1.875, .25, −.375, 1.25 → Σ² = 1.5625 + .0625 + .5625 + 3.515625 + .0625 + .140625 + 1.5625 = 7.46875;
    var = 7/6 · 7.46875 / 16² = 0.034037 → se 18.449 pp."""
    row = _cell(values, "data_substitution_rate", A, Q)
    assert (row["value"], row["n"]) == (37.5, 7)
    assert row["se"] == pytest.approx(100 * (7 / 6 * 7.46875 / 256) ** 0.5)


# ---------------------------------------------------------------------------------------------------------------
# Definitions fixed at the root (issue 13 item 7)
# ---------------------------------------------------------------------------------------------------------------
def _fixture_plus(sql: str) -> warehouse.Connection:
    c = warehouse.connect(":memory:")
    _fill(c)
    c.sql(sql)
    return c


def test_a_case_open_past_its_deadline_counts_as_late(catalog: Catalog) -> None:
    """a9 (A, accepted 01-26 10:00, promised 01-30 10:00) is still open at the data end. Counted by closing date it
    would never count at all; by deadline cohort it is late in January. On-time A Jan: {a1 ok, a2 late, a3 ok, a9
    late} 2/4 = 50% (not 2/3). Processing-time ratio: a9 runs until the end of January (02-01 00:00): 134 h of 96 h
    = 1.3958 → Jan {.2, .5, 1.3958, 2} median (.5 + 1.3958)/2 = 0.9479 (not .5); February is unchanged."""
    con = _fixture_plus(
        "INSERT INTO \"case\" VALUES ('a9', 'A1', '310101', NULL, 'pc', 'person', '30-44', TIMESTAMP '2025-01-26 09:00',"
        " TIMESTAMP '2025-01-26 09:30', TIMESTAMP '2025-01-26 10:00', NULL, TIMESTAMP '2025-01-30 10:00', 'accepted',"
        " 0, 0, 0, false, false)"
    )
    try:
        cat = Catalog(catalog.nodes, tuple(_loose(catalog).indicator(i) for i in
                                           ("ontime_completion_rate", "processing_time_ratio")), catalog.source)
        got = compute_indicator_values(con, cat, grains=("month",))
    finally:
        con.close()
    row = _cell(got, "ontime_completion_rate", A, J)
    assert (row["value"], row["numerator"], row["denominator"]) == (50.0, 2, 4)
    assert _cell(got, "processing_time_ratio", A, J)["value"] == pytest.approx((0.5 + 134 / 96) / 2)
    assert _cell(got, "processing_time_ratio", A, F)["value"] == pytest.approx((0.75 + 13 / 15) / 2)


def test_hotline_outcomes_wait_until_the_ticket_is_mature(con: warehouse.Connection, catalog: Catalog) -> None:
    """A ticket counts once its deadline + 15 days (time to close and call back) has passed by the data end. With
    data to 02-23, February's A tickets (t4, t5, t8, t9) are not mature: resolution and satisfaction are NULL rather
    than computed from the few early closers. With data to 31 March they are: satisfaction {t5 基本满意} 1/1; still
    open t4 and t8 are not counted as unresolved (no outcome recorded) and t5/t9 have none → resolution NULL."""
    cat = _loose(catalog)
    early = compute_indicator_values(con, cat, grains=("month",))
    late = compute_indicator_values(con, cat, grains=("month",), span=(date(2025, 1, 1), date(2025, 3, 31)))
    for ind in ("hotline_satisfaction_rate", "hotline_resolution_rate"):
        assert _cell(early, ind, A, F)["value"] is None, ind
        assert catalog.indicator(ind).waits_for_outcomes
        assert _cell(early, ind, A, J)["value"] == _cell(late, ind, A, J)["value"] == 50.0  # mature: unchanged
    assert _cell(late, "hotline_satisfaction_rate", A, F)["value"] == 100.0
    assert _cell(late, "hotline_resolution_rate", A, F)["value"] is None


# The state of knowledge at the end of January: events after it are unknown, outcomes after it not yet happened.
_AS_OF_JAN = """
DELETE FROM bad_rating_followup WHERE rating_id IN (SELECT rating_id FROM rating WHERE rated_at >= TIMESTAMP '{t}');
UPDATE bad_rating_followup SET callback_at = NULL WHERE callback_at >= TIMESTAMP '{t}';
UPDATE bad_rating_followup SET rectified_at = NULL WHERE rectified_at >= TIMESTAMP '{t}';
DELETE FROM rating WHERE rated_at >= TIMESTAMP '{t}';
DELETE FROM "case" WHERE started_at >= TIMESTAMP '{t}' AND case_id NOT IN (SELECT case_id FROM rating);
UPDATE "case" SET closed_at = NULL, status = 'accepted' WHERE closed_at >= TIMESTAMP '{t}';
UPDATE "case" SET accepted_at = NULL, status = 'submitted' WHERE accepted_at >= TIMESTAMP '{t}';
UPDATE "case" SET submitted_at = NULL, status = 'abandoned' WHERE submitted_at >= TIMESTAMP '{t}';
DELETE FROM hotline_ticket WHERE created_at >= TIMESTAMP '{t}';
UPDATE hotline_ticket SET closed_at = NULL, resolved = NULL, callback_result = NULL WHERE closed_at >= TIMESTAMP '{t}';
DELETE FROM survey_response WHERE surveyed_on >= DATE '{t}';
DELETE FROM kiosk_event WHERE ts >= TIMESTAMP '{t}';
DELETE FROM centre_staffing WHERE date >= DATE '{t}';
UPDATE service_item SET onboarded = false, onboarded_on = NULL WHERE onboarded_on >= DATE '{t}';
"""


def test_no_indicator_uses_information_from_after_its_period(catalog: Catalog) -> None:
    """January computed from what was known at the end of January equals January computed from all the data, for
    every indicator except those the catalog marks waits_for_outcomes (their value waits for deadlines, ratings and
    callbacks that fall after the period, by design). Before the fix, onboarding parity classified items by all
    their cases, later ones included (B1: person-facing on January's cases, enterprise on February's)."""
    cat = _loose(catalog)
    full = compute_indicator_values(_fixture_plus("SELECT 1"), cat, grains=("month",))
    con = _fixture_plus(_AS_OF_JAN.format(t="2025-02-01"))
    try:
        known = compute_indicator_values(con, cat, grains=("month",), span=(date(2025, 1, 1), date(2025, 1, 31)))
    finally:
        con.close()
    waiting = {d.id for d in catalog if d.waits_for_outcomes}
    assert waiting >= {"hotline_satisfaction_rate", "hotline_resolution_rate", "rating_coverage_rate"}
    leaks = []
    for d in catalog:
        if d.id in waiting:
            continue
        for unit in (A, B, C):
            a, b = _cell(full, d.id, unit, J), _cell(known, d.id, unit, J)
            if any(a[k] != pytest.approx(b[k]) if a[k] is not None and b[k] is not None else a[k] != b[k]
                   for k in ("value", "numerator", "denominator")):
                leaks.append((d.id, unit, a["value"], b["value"]))
    assert leaks == []
