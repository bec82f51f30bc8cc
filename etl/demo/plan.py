"""Which defects go into which table: a few dozen invalid rows of several kinds, plus exact duplicates."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import polars as pl

from etl.demo.defects import FUTURE, FUTURE_TEXT, UNKNOWN_DISTRICT, Injector, fresh_ids, shift_text_datetime
from etl.demo.report import DefectRecord

Result = tuple[pl.DataFrame, list[DefectRecord]]


def service_item(rng: np.random.Generator, file: str, text: pl.DataFrame) -> Result:
    inj = Injector(rng, "service_item", file, text)
    inj.extra("unknown_district", 2, {"district_code": UNKNOWN_DISTRICT})
    inj.extra("negative_count", 1, {"materials_required_n": "-2"})
    inj.extra("rule_violation", 2, {"promised_limit_days": lambda r: (r["legal_limit_days"].cast(pl.Int64) + 5)
                                    .cast(pl.Utf8)})
    return inj.finish()


def case(rng: np.random.Generator, file: str, df: pl.DataFrame) -> Result:
    """Typed Parquet: only defects a typed export can carry (no unparseable text)."""
    inj = Injector(rng, "case", file, df)
    closed = pl.col("status") == "closed"
    inj.extra("unknown_district", 4, {"district_code": UNKNOWN_DISTRICT})
    inj.extra("negative_count", 3, {"visits_actual": -1})
    inj.extra("closed_before_submitted", 3, {"closed_at": lambda r: r["submitted_at"] - _dt.timedelta(days=1)},
              where=closed)
    inj.extra("future_timestamp", 3, {"closed_at": FUTURE}, where=closed)
    inj.extra("bad_enum", 3, {"channel": "wechat"})
    inj.extra("missing_required", 3, {"item_code": None})
    # Abandoned cases are never rated, so a conflict on their key cannot orphan a rating.
    inj.conflicting(2, {"materials_submitted_n": lambda r: r["materials_submitted_n"] + 1},
                    where=pl.col("status") == "abandoned")
    return inj.finish()


def rating(rng: np.random.Generator, file: str, text: pl.DataFrame, dup_share: float, mid: bool) -> Result:
    """Every month: ~0.3% exact duplicates; in the middle month also the invalid rows."""
    inj = Injector(rng, "rating", file, text)
    good = pl.col("level").is_in(["4", "5"])  # no follow-up hangs on these
    if mid:
        inj.extra("rating_level_out_of_range", 4, {"level": "6"}, where=good)
        inj.extra("broken_reference", 4, {"case_id": fresh_ids("C999912-")}, where=good)
        inj.extra("future_timestamp", 3, {"rated_at": FUTURE_TEXT}, where=good)
        inj.extra("unparseable_number", 3, {"level": "五"}, where=good)
        inj.extra("unparseable_date", 3, {"rated_at": "2025-13-45 25:61:00"}, where=good)
        inj.extra("bad_enum", 3, {"prompt_source": "manager"}, where=good)
        inj.extra("missing_required", 2, {"rated_at": None}, where=good)
        inj.conflicting(3, {"level": lambda r: pl.Series(np.where(r["level"].to_numpy() == "5", "4", "5"))},
                        where=good)
    n_dup = int(rng.binomial(len(text), dup_share)) if len(text) else 0
    inj.duplicate(n_dup)
    return inj.finish()


def followup(rng: np.random.Generator, file: str, text: pl.DataFrame) -> Result:
    inj = Injector(rng, "bad_rating_followup", file, text)
    inj.extra("broken_reference", 2, {"rating_id": fresh_ids("R999912-")}, new_key=False)
    inj.inplace("bad_enum", 2, {"outcome": "pending"})
    inj.inplace("unparseable_date", 1, {"due_at": "31/02/2025"})
    return inj.finish()


def hotline(rng: np.random.Generator, file: str, text: pl.DataFrame) -> Result:
    inj = Injector(rng, "hotline_ticket", file, text)
    inj.extra("unknown_district", 3, {"district_code": UNKNOWN_DISTRICT})
    inj.extra("negative_count", 2, {"deadline_days": "-3"})
    inj.extra("unparseable_number", 2, {"deadline_days": "N/A"})
    inj.extra("bad_enum", 2, {"category": "未知类别"})
    inj.extra("closed_before_created", 2, {"closed_at": shift_text_datetime("created_at", -2 * 86_400)},
              where=pl.col("closed_at").is_not_null())
    inj.conflicting(2, {"deadline_days": lambda r: (r["deadline_days"].cast(pl.Int64) + 10).cast(pl.Utf8)})
    inj.duplicate(4)
    return inj.finish()


def kiosk(rng: np.random.Generator, file: str, df: pl.DataFrame) -> Result:
    inj = Injector(rng, "kiosk_event", file, df)
    inj.extra("negative_count", 2, {"latency_ms": -5}, where=pl.col("event") == "session_start")
    inj.extra("bad_enum", 2, {"event": "reboot"})
    inj.extra("unknown_district", 2, {"district_code": UNKNOWN_DISTRICT})
    inj.duplicate(3)
    return inj.finish()


def staffing(rng: np.random.Generator, file: str, text: pl.DataFrame) -> Result:
    inj = Injector(rng, "centre_staffing", file, text)
    inj.inplace("negative_count", 2, {"visitors": "-5"})
    inj.inplace("unparseable_number", 2, {"fte_hours": lambda r: r["fte_hours"].str.replace(".", ",", literal=True)
                                          .str.replace(r"^(\d+)$", "$1,0")})
    inj.inplace("unknown_district", 1, {"district_code": UNKNOWN_DISTRICT})
    inj.duplicate(3)
    return inj.finish()


def survey(rng: np.random.Generator, file: str, df: pl.DataFrame) -> Result:
    inj = Injector(rng, "survey_response", file, df)
    inj.extra("bad_enum", 2, {"reason_for_use": "boredom"}, where=pl.col("uses_platform"))
    inj.extra("out_of_range", 2, {"age": 150})
    inj.extra("missing_required", 2, {"district_code": None})
    return inj.finish()


def case_event(rng: np.random.Generator, file: str, df: pl.DataFrame) -> Result:
    """Typed Parquet. Broken steps are made in place (nothing references case_event); each breaks one step only."""
    inj = Injector(rng, "case_event", file, df)
    inj.extra("broken_reference", 3, {"case_id": fresh_ids("C999912-")}, new_key=False)
    inj.extra("bad_enum", 2, {"event": "approved"})
    # a last step that cannot follow the decision (decided → accepted): quarantined; the case's history is then
    # incomplete until a corrected row arrives. Last steps only, so no later step is judged against a broken one.
    inj.inplace("sequence_step", 3, {"event": "accepted"}, where=pl.col("event") == "delivered")
    # a delivery dated a month before the decision it delivers
    inj.inplace("sequence_time", 3, {"event_at": lambda r: r["event_at"] - _dt.timedelta(days=30)},
                where=pl.col("event") == "delivered")
    inj.duplicate(3)
    return inj.finish()


def queue_ticket(rng: np.random.Generator, file: str, text: pl.DataFrame) -> Result:
    inj = Injector(rng, "queue_ticket", file, text)
    inj.extra("unknown_district", 2, {"district_code": UNKNOWN_DISTRICT})
    inj.extra("called_before_issued", 2, {"called_at": shift_text_datetime("issued_at", -3600)},
              where=pl.col("called_at").is_not_null())
    inj.extra("unparseable_date", 2, {"issued_at": "2025-02-30 09:00:00"})
    inj.duplicate(3)
    return inj.finish()
