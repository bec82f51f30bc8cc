"""Orchestration: build the profiles and catalogue, then generate, damage and write the tables month by month."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from etl.demo import plan
from etl.demo.calendar import make_window
from etl.demo.cases import base_daily, make_cases
from etl.demo.defects import Injector
from etl.demo.districts import SHANGHAI_DENSITY, SUPPLY_DEMAND_CORR, Density, district_frame, make_profiles
from etl.demo.errors import DemoConfigError
from etl.demo.events import make_case_events
from etl.demo.hotline import make_hotline
from etl.demo.items import make_catalogue
from etl.demo.kiosk import make_kiosk
from etl.demo.queue import make_queue
from etl.demo.ratings import make_ratings
from etl.demo.report import REPORT_FILE, DefectRecord, GenerationReport
from etl.demo.staffing import make_staffing
from etl.demo.survey import make_survey
from etl.demo.writers import LAYOUT, Writer, to_text
from etl.contract.tables import TABLES, table_for_file

RATING_DUPLICATE_SHARE = 0.003
CASE_CARRYOVER = 3  # cases exported again at the top of the next month's file

# Independent random streams, so changing one table's recipe leaves the others' bytes unchanged.
_S_PROFILES, _S_ITEMS, _S_SURVEY, _S_CASES, _S_RATINGS, _S_HOTLINE, _S_KIOSK, _S_STAFF, _S_DEFECTS = range(1, 10)
_S_EVENTS, _S_QUEUE = 10, 11  # appended: the streams above keep their numbers
PROFILE_STREAM = _S_PROFILES  # the latent profiles' stream: etl.demo.recovery redraws them from (seed, it)


def generate(
    out_dir: Path,
    months: int = 24,
    seed: int = 7,
    scale: float = 1.0,
    end_month: str = "2026-10",
    progress: Callable[[str], None] | None = None,
    supply_demand_corr: float = SUPPLY_DEMAND_CORR,
    units: pl.DataFrame | None = None,
    density: Density = SHANGHAI_DENSITY,
) -> GenerationReport:
    """Write the demo raw tables into out_dir (replacing earlier table files there) and return the accounting.
    `supply_demand_corr` is the correlation of the districts' latent supply and demand strengths. `units`: the
    unit table (default Shanghai's 16 districts; etl.demo.national for the national demo), `density` how many
    records each unit gets whatever its size."""
    if not -1.0 <= supply_demand_corr <= 1.0:
        raise DemoConfigError(f"supply-demand correlation must be between -1 and 1, got {supply_demand_corr}")
    if not scale > 0:
        raise DemoConfigError(f"scale must be positive, got {scale}")
    if seed < 0:
        raise DemoConfigError(f"seed must be non-negative, got {seed}")
    window = make_window(end_month, months)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in sorted(out_dir.iterdir()):
        if old.is_file() and (table_for_file(old.name) is not None or old.name == REPORT_FILE):
            old.unlink()

    def rng(*key: int) -> np.random.Generator:
        return np.random.default_rng([seed, *key])

    say = progress or (lambda _msg: None)
    w = Writer(out_dir)
    defects: list[DefectRecord] = []

    # Load inputs: the latent world.
    profiles = make_profiles(rng(_S_PROFILES), supply_demand_corr, units, density)
    cat = make_catalogue(rng(_S_ITEMS), profiles, window)
    w.write("district", to_text(district_frame(profiles)))
    items, recs = plan.service_item(rng(_S_DEFECTS, 0), LAYOUT["service_item"].file("service_item"),
                                    to_text(cat.frame))
    w.write("service_item", items)
    defects += recs

    # Process and save, one month at a time so memory stays bounded at any scale.
    base = base_daily(window, scale)
    mid = len(window.months) // 2
    carry: pl.DataFrame | None = None
    for m in window.months:
        i = m.index
        cases = make_cases(rng(_S_CASES, i), m, window, profiles, cat, base)
        ratings, follow = make_ratings(rng(_S_RATINGS, i), m, window, profiles, cases)
        kiosk_cases = np.bincount(
            cases.filter(pl.col("channel") == "kiosk")["district_code"]
            .replace_strict({c: k for k, c in enumerate(profiles.codes.tolist())}, return_dtype=pl.Int64)
            .to_numpy(), minlength=len(profiles.codes))
        kiosk = make_kiosk(rng(_S_KIOSK, i), m, window, profiles, kiosk_cases)
        hot = make_hotline(rng(_S_HOTLINE, i), m, window, profiles, cat, scale)
        staff = make_staffing(rng(_S_STAFF, i), m, window, profiles)
        d = rng(_S_DEFECTS, 100 + i)

        case_file = LAYOUT["case"].file("case", m.label)
        case_out = cases
        if carry is not None:  # the same cases again in the next month's export
            inj = Injector(d, "case", case_file, carry)
            inj.duplicate(len(carry))
            defects += inj.records
            case_out = pl.concat([carry, cases])
        if i == mid:
            case_out, recs = plan.case(d, case_file, case_out)
            defects += recs
        carry = cases.tail(CASE_CARRYOVER) if i in (mid - 1, len(window.months) - 2) else None
        w.write("case", case_out, m.label)

        rating_file = LAYOUT["rating"].file("rating")
        rt, recs = plan.rating(d, rating_file, to_text(ratings), RATING_DUPLICATE_SHARE, i == mid)
        defects += recs
        w.write("rating", rt)
        fu = to_text(follow)
        if i == mid:
            fu, recs = plan.followup(d, LAYOUT["bad_rating_followup"].file("bad_rating_followup"), fu)
            defects += recs
        w.write("bad_rating_followup", fu)
        ht = to_text(hot)
        if i == mid:
            ht, recs = plan.hotline(d, LAYOUT["hotline_ticket"].file("hotline_ticket", m.label), ht)
            defects += recs
        w.write("hotline_ticket", ht, m.label)
        if i == mid:
            kiosk, recs = plan.kiosk(d, LAYOUT["kiosk_event"].file("kiosk_event", m.label), kiosk)
            defects += recs
        w.write("kiosk_event", kiosk, m.label)
        st = to_text(staff)
        if i == mid:
            st, recs = plan.staffing(d, LAYOUT["centre_staffing"].file("centre_staffing"), st)
            defects += recs
        w.write("centre_staffing", st)
        events = make_case_events(rng(_S_EVENTS, i), cases, window, profiles, window.position(m),
                                  cat.frame.select("item_code", "dept"))
        if i == mid:
            events, recs = plan.case_event(d, LAYOUT["case_event"].file("case_event", m.label), events)
            defects += recs
        w.write("case_event", events, m.label)
        queue = to_text(make_queue(rng(_S_QUEUE, i), m, window, profiles, cases))
        if i == mid:
            queue, recs = plan.queue_ticket(d, LAYOUT["queue_ticket"].file("queue_ticket", m.label), queue)
            defects += recs
        w.write("queue_ticket", queue, m.label)
        say(f"{m.label}: {len(case_out):,} cases, {len(rt):,} ratings, {len(kiosk):,} kiosk events")

    survey = make_survey(rng(_S_SURVEY), window, profiles, scale)
    sv, recs = plan.survey(rng(_S_DEFECTS, 1), LAYOUT["survey_response"].file("survey_response"), survey)
    defects += recs
    w.write("survey_response", sv)

    files = w.files
    rows = {t: sum(f.rows for f in files if f.table == t) for t in TABLES}
    report = GenerationReport(seed=seed, months=months, scale=scale, end_month=end_month, files=files, rows=rows,
                              defects=defects, supply_demand_corr=supply_demand_corr)
    report.write(out_dir)
    return report
