"""The raw-table contract: every table, column, type, unit, key and allowed value, in one place.

Adding a raw table is one `Table` in TABLES. Everything else reads it: the load order (`load_order`, from the
references), the warehouse DDL, the pandera schemas, which file names map to the table, the event-time span of the
data (`span_columns`), how a quarantined row is traced to its district (`district_route`) and the data dictionary
(data/README.md). Only two things are code of their own: cross-column rules in words (implemented in
etl.contract.schemas.RULES) and the demo generator, which writes the tables it knows (a table it does not write is
documented as such).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The data's and the people's time zone: naive datetimes in the raw tables are local time here.
LOCAL_TZ = "Asia/Shanghai"

CHANNELS = ("pc", "app", "window", "kiosk", "proxy")
ONLINE_CHANNELS = ("pc", "app")
AGE_BANDS = ("18-29", "30-44", "45-59", "60-69", "70+")
ELDERLY_AGE_BANDS = ("60-69", "70+")
CASE_STATUSES = ("abandoned", "submitted", "accepted", "closed", "rejected", "withdrawn")
RATING_CHANNELS = ("pc", "app", "window", "kiosk", "sms", "pad")
PROMPT_SOURCES = ("staff", "sms_invite", "none")
FOLLOWUP_OUTCOMES = ("rectified", "explained", "unresolved")
CALLBACK_RESULTS = ("满意", "基本满意", "不满意")
HOTLINE_CATEGORIES = ("政务服务", "市场监管", "城市管理", "住房保障", "交通出行", "社会保障", "其他")
REASONS_FOR_USE = ("social_norm", "org_pressure", "personal_need")
KIOSK_EVENTS = ("heartbeat", "down", "error", "timeout", "reload", "lag", "session_start", "session_end")
STAFF_ROLES = ("window", "guide", "assist")
CASE_KINDS = ("即办", "承诺")
ONLINE_DEPTHS = ("full", "partial", "none")
APPLICANT_TYPES = ("person", "enterprise")

# A GB/T 2260 administrative-division code: six digits under a real province-level prefix (11 Beijing … 65 Xinjiang,
# 71 Taiwan, 81 Hong Kong, 82 Macao). The units are data (the `district` table), not constants: any city, province
# or the whole country loads; a deployer with codes of their own (streets, centres) sets `[units] code_pattern`.
GBT2260_PROVINCES: tuple[str, ...] = (
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
)
UNIT_CODE_PATTERN = r"^(?:" + "|".join(GBT2260_PROVINCES) + r")\d{4}$"
DISTRICT_CODE_PATTERN = UNIT_CODE_PATTERN  # the name before units were data; kept for callers of that release
UNIT_LEVELS = ("country", "province", "city", "district", "county", "street", "centre")


@dataclass(frozen=True)
class Column:
    """One column of a raw table."""

    name: str
    dtype: str  # one of: str, int, float, bool, date, datetime
    description: str
    unit: str = ""
    nullable: bool = False
    allowed: tuple[str, ...] | tuple[int, ...] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    references: str | None = None  # "table.column" that must hold this value


@dataclass(frozen=True)
class Table:
    """One raw table: its columns, primary key and cross-column rules in words (enforced in etl.contract.schemas)."""

    name: str
    title_zh: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rules: tuple[str, ...] = field(default_factory=tuple)
    # The event-time column whose months span the data (indicator periods, coverage); None for snapshot tables.
    event_time: str | None = None

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        missing = [k for k in (*self.primary_key, *([self.event_time] if self.event_time else [])) if k not in names]
        if missing:
            raise ValueError(f"table {self.name}: key or event-time column(s) not among its columns: {missing}")
        if self.event_time and self.column(self.event_time).dtype not in ("date", "datetime"):
            raise ValueError(f"table {self.name}: event_time {self.event_time!r} is not a date or datetime column")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


def _c(name: str, dtype: str, description: str, **kw: object) -> Column:
    return Column(name, dtype, description, **kw)  # type: ignore[arg-type]


# The unit table. It keeps its name `district` and the `district_code` column of every raw table, so the files and
# exports of the Shanghai release load unchanged; the columns added with units-as-data (level, parent_code,
# peer_group) are optional, and a file without them loads as a flat set of units (etl.warehouse.units).
DISTRICT = Table(
    "district",
    "区（评估单元）",
    "The units that are scored (Shanghai's districts in the demo; any hierarchy: city → district → street, "
    "province → city → county), with their parent and peer group.",
    (
        _c("district_code", "str", "unit code: GB/T 2260 six digits, or the deployer's ([units] code_pattern)",
           pattern=UNIT_CODE_PATTERN),
        _c("name_zh", "str", "Chinese name"),
        _c("name_en", "str", "English name"),
        _c("population", "int", "resident population", unit="persons", min=0),
        _c("pop_60plus", "int", "residents aged 60 and over", unit="persons", min=0),
        _c("level", "str", "level of the unit in its hierarchy; empty: a unit of the scored level",
           nullable=True, allowed=UNIT_LEVELS),
        _c("parent_code", "str", "code of the unit this one belongs to (a city, a province); empty at the top",
           nullable=True, pattern=UNIT_CODE_PATTERN),
        _c("peer_group", "str", "group of comparable units it is ranked within (e.g. 中心城区, 郊区); empty: none",
           nullable=True),
    ),
    ("district_code",),
    ("pop_60plus <= population", "parent_code differs from district_code"),
)

SERVICE_ITEM = Table(
    "service_item",
    "政务服务事项",
    "The catalogue of service items each district handles, with their reform attributes (snapshot).",
    (
        _c("item_code", "str", "item code, unique across the city"),
        _c("name", "str", "item name (Chinese)"),
        _c("district_code", "str", "district that handles the item", references="district.district_code"),
        _c("dept", "str", "responsible department (Chinese)"),
        _c("in_basic_catalog", "bool", "applicable: the item is in the basic catalogue the district must offer"),
        _c("onboarded", "bool", "the item is on the 一网通办 platform"),
        _c("onboarded_on", "date", "date the item went on the platform; empty when not onboarded", nullable=True),
        _c("legal_limit_days", "int", "time limit set by law", unit="working days", min=0),
        _c("promised_limit_days", "int", "time limit the district promises", unit="working days", min=0),
        _c("case_kind", "str", "即办 (handled on the spot) or 承诺 (promised within a time limit)", allowed=CASE_KINDS),
        _c("required_visits", "int", "visits an applicant must make in person", unit="visits", min=0),
        _c("online_depth", "str", "how far the item can be done online", allowed=ONLINE_DEPTHS),
        _c("mobile_enabled", "bool", "completable on mobile (随申办 app)"),
        _c("materials_required_n", "int", "materials an applicant must submit now", unit="materials", min=0),
        _c("materials_baseline_n", "int", "materials required before the reform", unit="materials", min=0),
        _c("bundle_id", "str", "一件事 bundle the item belongs to; empty when none", nullable=True),
        _c("guide_elements_present", "int", "guide elements present and correct (audit)", unit="elements", min=0),
        _c("guide_elements_required", "int", "guide elements the standard requires", unit="elements", min=1),
        _c("high_freq", "bool", "high-frequency item"),
        _c("offline_path", "bool", "has an offline or proxy (代办) path"),
        _c("elder_version", "bool", "has an elder-friendly (适老化) version"),
    ),
    ("item_code",),
    (
        "promised_limit_days <= legal_limit_days",
        "guide_elements_present <= guide_elements_required",
        "onboarded_on is empty exactly when onboarded is false",
    ),
)

CASE = Table(
    "case",
    "办件",
    "One application (办件) for a service item, online or offline.",
    (
        _c("case_id", "str", "case identifier"),
        _c("item_code", "str", "service item applied for", references="service_item.item_code"),
        _c("district_code", "str", "district handling the case", references="district.district_code"),
        _c("centre_id", "str", "service centre for offline channels; empty for pc/app", nullable=True),
        _c("channel", "str", "channel the application came through", allowed=CHANNELS),
        _c("applicant_type", "str", "natural person or enterprise", allowed=APPLICANT_TYPES),
        _c("age_band", "str", "applicant's age band; empty for enterprises", nullable=True, allowed=AGE_BANDS),
        _c("started_at", "datetime", "application started (local time, Asia/Shanghai)"),
        _c("submitted_at", "datetime", "application submitted; empty when abandoned", nullable=True),
        _c("accepted_at", "datetime", "accepted (受理)", nullable=True),
        _c("closed_at", "datetime", "closed (办结)", nullable=True),
        _c("promised_due_at", "datetime", "promised completion deadline", nullable=True),
        _c("status", "str", "case status", allowed=CASE_STATUSES),
        _c("visits_actual", "int", "visits the applicant actually made", unit="visits", min=0),
        _c("materials_submitted_n", "int", "materials the applicant submitted", unit="materials", min=0),
        _c("materials_via_sharing_n", "int", "materials obtained by e-licence or data sharing", unit="materials", min=0),
        _c("assisted", "bool", "staff helped (帮办) with the application"),
        _c("via_bundle", "bool", "handled as part of a 一件事 bundle"),
    ),
    ("case_id",),
    (
        "started_at <= submitted_at <= accepted_at <= closed_at where present",
        "status 'abandoned' exactly when submitted_at is empty",
        "status 'closed' requires closed_at",
    ),
    event_time="started_at",
)

RATING = Table(
    "rating",
    "好差评",
    "好差评 ratings of closed cases, with whether staff or an invitation prompted them.",
    (
        _c("rating_id", "str", "rating identifier"),
        _c("case_id", "str", "case rated", references="case.case_id"),
        _c("channel", "str", "where the rating was given", allowed=RATING_CHANNELS),
        _c("rated_at", "datetime", "when the rating was given"),
        _c("level", "int", "rating: 5 非常满意 … 1 非常不满意", allowed=(1, 2, 3, 4, 5)),
        _c("prompted", "bool", "the rating was prompted by staff or an invitation"),
        _c("prompt_source", "str", "who prompted it", allowed=PROMPT_SOURCES),
        _c("comment", "str", "free-text comment", nullable=True),
    ),
    ("rating_id",),
    ("prompt_source is 'none' exactly when prompted is false",),
    event_time="rated_at",
)

BAD_RATING_FOLLOWUP = Table(
    "bad_rating_followup",
    "差评整改",
    "Follow-up of bad ratings (level 1–2): callback, rectification deadline and outcome.",
    (
        _c("rating_id", "str", "bad rating followed up", references="rating.rating_id"),
        _c("callback_at", "datetime", "when the rater was called back", nullable=True),
        _c("due_at", "datetime", "rectification deadline"),
        _c("rectified_at", "datetime", "when rectified; empty when not", nullable=True),
        _c("outcome", "str", "result of the follow-up", allowed=FOLLOWUP_OUTCOMES),
        _c("appeal_upheld", "bool", "the district appealed and the appeal was upheld", nullable=True),
    ),
    ("rating_id",),
)

HOTLINE_TICKET = Table(
    "hotline_ticket",
    "12345热线工单",
    "12345 hotline tickets assigned to a district.",
    (
        _c("ticket_id", "str", "ticket identifier"),
        _c("created_at", "datetime", "ticket created"),
        _c("district_code", "str", "district assigned", references="district.district_code"),
        _c("category", "str", "ticket category (Chinese)", allowed=HOTLINE_CATEGORIES),
        _c("gov_service_related", "bool", "about government services (政务服务诉求)"),
        _c("item_code", "str", "service item concerned, when known", nullable=True),
        _c("deadline_days", "int", "handling deadline", unit="days", min=0),
        _c("closed_at", "datetime", "ticket closed", nullable=True),
        _c("resolved", "bool", "resolved and confirmed by the caller", nullable=True),
        _c("callback_result", "str", "callback satisfaction", nullable=True, allowed=CALLBACK_RESULTS),
    ),
    ("ticket_id",),
    ("created_at <= closed_at",),
    event_time="created_at",
)

SURVEY_RESPONSE = Table(
    "survey_response",
    "满意度调查",
    "Resident survey responses (quarterly waves), weighted.",
    (
        _c("response_id", "str", "response identifier"),
        _c("wave", "str", "survey wave, e.g. 2025Q3", pattern=r"^\d{4}Q[1-4]$"),
        _c("surveyed_on", "date", "interview date"),
        _c("district_code", "str", "respondent's district", references="district.district_code"),
        _c("weight", "float", "survey weight", min=0),
        _c("age", "int", "respondent's age", unit="years", min=18, max=110),
        _c("uses_platform", "bool", "uses 一网通办"),
        _c("reason_for_use", "str", "main reason for use; empty for non-users", nullable=True, allowed=REASONS_FOR_USE),
        _c("csat", "int", "overall satisfaction 1–5", nullable=True, allowed=(1, 2, 3, 4, 5)),
        _c("trust", "int", "trust 1–5", nullable=True, allowed=(1, 2, 3, 4, 5)),
        _c("ease", "int", "ease of use 1–5", nullable=True, allowed=(1, 2, 3, 4, 5)),
        _c("digital_skill", "int", "self-rated digital skill 1–5", nullable=True, allowed=(1, 2, 3, 4, 5)),
    ),
    ("response_id",),
    ("reason_for_use is empty exactly when uses_platform is false",),
    event_time="surveyed_on",
)

KIOSK_EVENT = Table(
    "kiosk_event",
    "自助终端日志",
    "Self-service kiosk log: heartbeats, downtime, errors, timeouts, reloads, lag and sessions.",
    (
        _c("event_id", "str", "event identifier"),
        _c("device_id", "str", "kiosk device"),
        _c("centre_id", "str", "service centre the kiosk stands in"),
        _c("district_code", "str", "district of the centre", references="district.district_code"),
        _c("ts", "datetime", "event time"),
        _c("event", "str", "event type", allowed=KIOSK_EVENTS),
        _c("session_id", "str", "user session the event belongs to", nullable=True),
        _c("latency_ms", "int", "response latency", unit="ms", nullable=True, min=0),
        _c("duration_s", "int", "downtime length for 'down' events", unit="s", nullable=True, min=0),
    ),
    ("event_id",),
    event_time="ts",
)

CENTRE_STAFFING = Table(
    "centre_staffing",
    "中心人员配置",
    "Daily staffing of each service centre by role, with visitors and kiosks.",
    (
        _c("centre_id", "str", "service centre"),
        _c("district_code", "str", "district of the centre", references="district.district_code"),
        _c("date", "date", "day"),
        _c("role", "str", "window staff, guide (导办) or assistant (帮办)", allowed=STAFF_ROLES),
        _c("fte_hours", "float", "staff hours worked", unit="hours", min=0),
        _c("staff_n", "int", "people on duty in the role", unit="persons", min=0),
        _c("visitors", "int", "visitors to the centre that day", unit="persons", min=0),
        _c("kiosk_count", "int", "self-service kiosks in the centre", unit="devices", min=0),
    ),
    ("centre_id", "date", "role"),
    event_time="date",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        DISTRICT,
        SERVICE_ITEM,
        CASE,
        RATING,
        BAD_RATING_FOLLOWUP,
        HOTLINE_TICKET,
        SURVEY_RESPONSE,
        KIOSK_EVENT,
        CENTRE_STAFFING,
    )
}



def references(table: Table) -> list[tuple[Column, str, str]]:
    """(column, referenced table, referenced column) for each referencing column of `table`."""
    out = []
    for c in table.columns:
        if c.references:
            ref_table, ref_col = c.references.split(".")
            out.append((c, ref_table, ref_col))
    return out


def load_order() -> tuple[str, ...]:
    """Every table, each after the tables it references (otherwise in contract order); read from TABLES on each call.

    Raises ValueError on a reference to an unknown table or a reference cycle.
    """
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, via: str) -> None:
        if name in order:
            return
        if name not in TABLES:
            raise ValueError(f"table {via} references unknown table {name!r}")
        if name in visiting:
            raise ValueError(f"reference cycle through table {name!r}")
        visiting.add(name)
        for _c, ref, _col in references(TABLES[name]):
            if ref != name:
                visit(ref, name)
        visiting.discard(name)
        order.append(name)

    for name in TABLES:
        visit(name, name)
    return tuple(order)


def span_columns() -> tuple[tuple[str, str], ...]:
    """(table, event-time column) of every table with one, in load order: the months these span are the data's."""
    return tuple((n, TABLES[n].event_time) for n in load_order() if TABLES[n].event_time)  # type: ignore[misc]


def district_route(name: str) -> tuple[tuple[str, str, str, str], ...] | None:
    """How a row of table `name` reaches a district: () when it has a district_code column itself, else the hops
    (table, column, referenced table, referenced column) through its references to a table that has one (shortest
    route; rating → case); None when no route exists."""
    frontier: list[tuple[str, tuple[tuple[str, str, str, str], ...]]] = [(name, ())]
    seen = {name}
    while frontier:
        nxt = []
        for t, route in frontier:
            if "district_code" in TABLES[t].column_names:
                return route
            for c, ref, col in references(TABLES[t]):
                if ref in TABLES and ref not in seen:
                    seen.add(ref)
                    nxt.append((ref, (*route, (t, c.name, ref, col))))
        frontier = nxt
    return None


# Load order respects references: a table comes after every table it references.
LOAD_ORDER: tuple[str, ...] = load_order()

FILE_EXTENSIONS = (".csv", ".xlsx", ".parquet")
_SUFFIX = re.compile(r"^(?:[_\-.].*)?$")


def table_for_file(filename: str) -> str | None:
    """The raw table a file holds, from its name: `<table>[_<anything>].<csv|xlsx|parquet>`.

    `case_2025-01.parquet` → case; `rating.csv` → rating; the longest table name that prefixes the stem wins, so
    `bad_rating_followup_01.csv` is bad_rating_followup, not rating. None when no table matches.
    """
    name = filename.rsplit("/", 1)[-1]
    lower = name.lower()
    ext = next((e for e in FILE_EXTENSIONS if lower.endswith(e)), None)
    if ext is None:
        return None
    stem = lower[: -len(ext)]
    for table in sorted(TABLES, key=len, reverse=True):
        if stem.startswith(table) and _SUFFIX.match(stem[len(table) :]):
            return table
    return None
