"""An incremental refresh (issue 16.2) writes exactly what a full rebuild over the same raw data writes: indicator
values, data coverage, scores and uncertainty summaries, cell by cell — after a new month, after a re-submission
that supersedes rows of an old month, and after late outcomes of a maturing period."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from etl.contract.catalog import load_catalog
from etl.jobs.refresh import refresh
from etl.jobs.refresh_steps import RefreshContext, step_scores, step_uncertainty
from etl.warehouse import case_history, connection as warehouse, ddl, incremental, indicator_values as iv
from etl.warehouse.indicator_values import write_indicator_values
from tests.conftest import Warehouses
from tests.etl.jobs.test_refresh_manifest import config_for

KEY = ["unit_code", "period", "grain", "indicator_id"]


@pytest.fixture(scope="module")
def months_split(tmp_path_factory: pytest.TempPathFactory, warehouses: Warehouses) -> dict[str, Any]:
    """A warehouse refreshed from a small demo without its last month, and that month's files held back."""
    raw = warehouses.demo_sources(months=4, scale=0.05)
    base = tmp_path_factory.mktemp("incremental")
    src = base / "src"
    src.mkdir()
    months = sorted({p.stem.rsplit("_", 1)[-1] for p in raw.glob("case_*.parquet")})
    held = [p for p in raw.iterdir() if p.stem.endswith(f"_{months[-1]}")]
    for p in raw.iterdir():
        if p.is_file() and p not in held and not p.name.startswith("_"):
            shutil.copy(p, src / p.name)
    (base / "w").mkdir()
    db = base / "w" / "warehouse.duckdb"
    (db.parent / "weights").mkdir()
    first = refresh(config_for(db), "cli", src)
    assert first.status == "succeeded", first.error
    return {"src": src, "db": db, "held": held, "months": months}


def _copy(built: dict[str, Any], tmp_path: Path) -> tuple[Path, Path]:
    w = tmp_path / "w"
    shutil.copytree(built["db"].parent, w, ignore=shutil.ignore_patterns("*.lock"))
    src = tmp_path / "src"
    shutil.copytree(built["src"], src)
    return w / built["db"].name, src


def _refresh(db: Path, src: Path) -> str:
    """The notes of the indicator values and uncertainty steps, as one text."""
    rec = refresh(config_for(db), "cli", src)
    assert rec.status == "succeeded", rec.error
    notes = {s["name"]: s.get("note") or "" for s in rec.steps}
    return notes["indicator_values"] + " | uncertainty: " + notes["uncertainty"]


def _reference(db: Path, tmp_path: Path) -> Path:
    """A copy of the refreshed warehouse whose values, scores and summaries are recomputed in full."""
    ref = tmp_path / "reference" / db.name
    ref.parent.mkdir()
    shutil.copy(db, ref)
    cfg = config_for(db)
    ctx = RefreshContext(config=cfg, run_id=0, trigger="cli", snapshot_id="reference", db_path=ref, live_path=ref,
                         source=None, started_at=datetime.now(timezone.utc))  # fmt: skip
    ctx.con = warehouse.connect(ref)
    try:
        write_indicator_values(ctx.con, load_catalog(), params=cfg.haochaping.params())
        ctx.results.append(step_scores(ctx))
        step_uncertainty(ctx)
    finally:
        ctx.con.close()
    return ref


def _tables(db: Path) -> dict[str, pl.DataFrame]:
    """Everything the refresh derives, keyed without run ids and times: the latest run of each (profile, grain)."""
    with warehouse.connection(db, read_only=True) as con:
        values = con.sql("SELECT * FROM indicator_values ORDER BY ALL").pl()
        coverage = con.sql("SELECT * FROM data_coverage").pl()
        scores = con.sql(
            "WITH latest AS (SELECT run_id FROM (SELECT run_id, row_number() OVER (PARTITION BY profile_hash, "
            "framework_hash, grain ORDER BY created_at DESC, run_id DESC) AS n FROM score_runs) WHERE n = 1) "
            "SELECT r.profile_hash, r.grain, s.* EXCLUDE (run_id) FROM scores s JOIN score_runs r USING (run_id) "
            "WHERE s.run_id IN (SELECT run_id FROM latest) ORDER BY ALL"
        ).pl()
        ranks = con.sql(
            "WITH latest AS (SELECT run_id FROM (SELECT run_id, row_number() OVER (PARTITION BY profile_hash, grain "
            "ORDER BY created_at DESC, run_id DESC) AS n FROM uncertainty_runs) WHERE n = 1) "
            "SELECT r.profile_hash, r.grain, r.period, r.samples_ok, k.* EXCLUDE (run_id) FROM uncertainty_ranks k "
            "JOIN uncertainty_runs r USING (run_id) WHERE k.run_id IN (SELECT run_id FROM latest) ORDER BY ALL"
        ).pl()
    return {"indicator_values": values, "data_coverage": coverage, "scores": scores, "uncertainty_ranks": ranks}


def _assert_history_as_built(db: Path) -> None:
    """The per-case history tables the refresh kept up to date hold what their expressions give over case_event now."""
    per_case = case_history.tables_of(load_catalog())
    assert per_case
    with warehouse.connection(db, read_only=True) as con:
        for body, name in [(f"SELECT case_id, min(event_at), max(event_at) FROM case_event GROUP BY case_id",
                            case_history.SPINE), *per_case.items()]:
            got, want = (con.sql(f"SELECT * FROM ({q}) ORDER BY ALL").fetchall() for q in (f"FROM {name}", body))
            assert got == want and got, f"{name}: {len(got)} rows, built again {len(want)}"


def _assert_same_as_full(db: Path, tmp_path: Path) -> None:
    _assert_history_as_built(db)
    got, want = _tables(db), _tables(_reference(db, tmp_path))
    for name in want:
        a, b = got[name], want[name]
        assert a.height == b.height and a.height > 0, f"{name}: {a.height} rows, a full rebuild {b.height}"
        if not a.equals(b):
            diff = a.join(b, how="anti", on=a.columns, nulls_equal=True)
            raise AssertionError(f"{name} differs from a full rebuild in {diff.height} row(s):\n{diff.head(8)}")


def _write_rows(db: Path, sql: str, dest: Path) -> int:
    """Rows of the warehouse (a query over it) written as a Parquet file: a re-submission."""
    with warehouse.connection(db, read_only=True) as con:
        n = int(warehouse.scalar(con, f"SELECT count(*) FROM ({sql})"))
        con.sql(f"COPY ({sql}) TO '{dest}' (FORMAT PARQUET)")
    return n


def test_one_new_month_computes_only_what_it_reaches_and_equals_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    db, src = _copy(months_split, tmp_path)
    for p in months_split["held"]:
        shutil.copy(p, src / p.name)
    note = _refresh(db, src)
    assert note.split("; ", 1)[1].startswith("incremental"), note
    kept = int(note.split(" kept")[0].rsplit(", ", 1)[1])
    assert kept > 0, note  # the earlier months' cells were not recomputed
    # the new month starts a partial quarter: the summaries of the last complete one read the same inputs
    assert "unchanged" in note.split("uncertainty: ")[1], note
    _assert_same_as_full(db, tmp_path)


def test_a_resubmission_superseding_rows_of_an_old_month_equals_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    db, src = _copy(months_split, tmp_path)
    first = months_split["months"][0]
    n = _write_rows(
        db,
        "SELECT * REPLACE (materials_submitted_n + 1 AS materials_submitted_n, "
        "CASE WHEN channel = 'pc' THEN 'app' WHEN channel = 'app' THEN 'pc' ELSE channel END AS channel) "
        f"FROM \"case\" WHERE strftime(submitted_at, '%Y-%m') = '{first}' AND materials_submitted_n IS NOT NULL "
        "ORDER BY case_id LIMIT 60",
        src / f"case_{first}_fix.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note, note
    with warehouse.connection(db, read_only=True) as con:
        assert warehouse.scalar(con, "SELECT sum(rows_superseded) FROM ingest_files WHERE file_name LIKE '%_fix%'")
    _assert_same_as_full(db, tmp_path)


def test_a_resubmission_of_old_case_steps_recomputes_only_those_cases_and_equals_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """Decisions (and the deliveries after them) of the second month's cases re-submitted a month later (same case and step: they supersede): the
    cases' outcome period moves, so first-time completion, correction rounds and net processing days of both months
    change. The per-case history recomputes the cases with a step from the second month on, not those of the first month."""
    db, src = _copy(months_split, tmp_path)
    first = months_split["months"][1]
    n = _write_rows(
        db,
        "SELECT e.* REPLACE (e.event_at + INTERVAL 31 DAY AS event_at) FROM case_event e JOIN (SELECT case_id, seq "
        f"FROM case_event WHERE event = 'decided' AND strftime(event_at, '%Y-%m') = '{first}' ORDER BY case_id "
        "LIMIT 40) d ON d.case_id = e.case_id AND e.seq >= d.seq",
        src / f"case_event_{first}_fix.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note and "per-case history: " in note, note
    with warehouse.connection(db, read_only=True) as con:
        assert warehouse.scalar(con, "SELECT sum(rows_superseded) FROM ingest_files WHERE file_name LIKE '%_fix%'")
        cases = int(warehouse.scalar(con, "SELECT count(DISTINCT case_id) FROM case_event"))
    recomputed = int(note.split("per-case history: ")[1].split(" case")[0])
    assert 0 < recomputed < cases, note
    _assert_same_as_full(db, tmp_path)


def test_late_outcomes_of_a_maturing_period_equal_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    db, src = _copy(months_split, tmp_path)
    m = months_split["months"][-2]
    n = _write_rows(
        db,
        "SELECT * REPLACE (created_at + INTERVAL 3 DAY AS closed_at, true AS resolved, "
        "coalesce(callback_result, (SELECT max(callback_result) FROM hotline_ticket)) AS callback_result) "
        f"FROM hotline_ticket WHERE strftime(created_at, '%Y-%m') = '{m}' AND closed_at IS NULL",
        src / f"hotline_ticket_{m}_late.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note, note
    _assert_same_as_full(db, tmp_path)


def test_the_plan_bounds_periods_by_the_earliest_changed_month_and_computes_data_end_formulas_whole() -> None:
    catalog = load_catalog()
    d = next(d for d in catalog if d.id == "hotline_resolution_rate")  # waits for outcomes: reads {data_end}
    plain = next(d for d in catalog if d.id == "actual_online_case_rate")  # cases by their own month
    base = {"version": incremental.VERSION, "code": "c", "grains": ["month", "quarter"], "units": "u",
            "defs": {d.id: "a", plain.id: "b"}}  # fmt: skip
    old = {**base, "span": ["2025-01-01", "2025-05-31"],
           "tables": {"case": {"mark": "1:1", "months": {"2025-01": "1:1", "2025-04": "2:2"}},
                      "hotline_ticket": {"mark": "1:1", "months": {"2025-01": "1:1"}}}}  # fmt: skip
    new = {**base, "span": ["2025-01-01", "2025-06-30"],
           "tables": {"case": {"mark": "2:2", "months": {"2025-01": "1:1", "2025-04": "3:3", "2025-06": "1:1"}},
                      "hotline_ticket": {"mark": "1:1", "months": {"2025-01": "1:1"}}}}  # fmt: skip
    sub = type(catalog)(catalog.nodes, (d, plain), catalog.source)
    p, whole = incremental.plan(sub, old, new)
    assert p is not None
    assert p[(plain.id, "month")] == {"2025-04", "2025-05", "2025-06"}
    assert p[(plain.id, "quarter")] == {"2025Q2"}
    assert (d.id, "month") not in p and any(d.id in w for w in whole)
    # a row without a date changed: every period
    new["tables"]["case"]["months"]["none"] = "1:1"
    p, _ = incremental.plan(sub, old, new)
    assert p is not None and p[(plain.id, "month")] == {f"2025-0{i}" for i in range(1, 7)}
    assert incremental.plan(sub, None, new)[0] is None
    assert incremental.plan(sub, old, {**new, "units": "other"})[0] is None


def test_an_outcome_window_bounds_the_maturing_periods_and_outcomes_in_other_rows_are_computed_whole() -> None:
    """`outcome_window_days` W (catalog): a moved data end reaches the periods ending within W + 1 days of the earlier
    data end, a changed row those ending within W days before its month. A formula waiting for outcomes in other rows
    (a rating of a case closed months before) is computed whole whenever such a table changed, even when the data end
    stays, unless its `later_rows` lead there by a key (then the lookup says which periods) — whatever its window;
    one waiting in its own row (a rate form over one table) is bounded as any other."""
    catalog = load_catalog()
    ids = ("online_completion_rate", "elderly_success_rate", "rating_coverage_rate", "hotline_resolution_rate")
    defs = tuple(catalog.indicator(i) for i in ids)
    online, elderly, coverage, hotline = defs
    assert (online.outcome_window_days, elderly.outcome_window_days, coverage.outcome_window_days) == (3, 30, 7)
    sub = type(catalog)(catalog.nodes, defs, catalog.source)
    tabs = {"case": {"mark": "1:1", "months": {"2025-01": "1:1", "2025-04": "2:2"}},
            "rating": {"mark": "1:1", "months": {"2025-01": "1:1"}},
            "hotline_ticket": {"mark": "1:1", "months": {"2025-01": "1:1", "2025-04": "1:1"}}}  # fmt: skip
    old = {"version": incremental.VERSION, "code": "c", "grains": ["month"], "units": "u",
           "defs": {d.id: d.id for d in defs}, "span": ["2025-01-01", "2025-05-31"], "tables": tabs}  # fmt: skip
    # only the data end moved (a month of files for other tables): W days back from the earlier data end, less a day
    p, whole = incremental.plan(sub, old, {**old, "span": ["2025-01-01", "2025-06-30"]})
    assert p is not None
    assert p[(online.id, "month")] == {"2025-05", "2025-06"}  # ends on or after 05-27
    assert p[(elderly.id, "month")] == {"2025-04", "2025-05", "2025-06"}  # ends on or after 04-30
    assert p[(coverage.id, "month")] == {"2025-05", "2025-06"}  # ends on or after 05-23
    assert (hotline.id, "month") not in p  # reads the data end, no window
    # the data end stays, cases of April changed: W days before April for the windowed ones (rating coverage counts
    # cases in the period they closed in, on or after their earliest date); the hotline did not change
    cases = {**tabs, "case": {"mark": "2:2", "months": {"2025-01": "1:1", "2025-04": "3:3"}}}
    p, whole = incremental.plan(sub, old, {**old, "tables": cases})
    assert p is not None
    assert p[(online.id, "month")] == {"2025-03", "2025-04", "2025-05"}  # ends on or after 03-29
    assert p[(elderly.id, "month")] == {"2025-03", "2025-04", "2025-05"}  # ends on or after 03-02
    assert p[(coverage.id, "month")] == {"2025-03", "2025-04", "2025-05"}  # ends on or after 03-25
    assert p[(hotline.id, "month")] == frozenset()
    # ratings of May changed: the ratings may be of cases closed in any earlier month, and it is the lookup that
    # says which (here: January's); without one, rating coverage is computed whole
    ratings = {**tabs, "rating": {"mark": "2:2", "months": {"2025-01": "1:1", "2025-05": "1:1"}}}
    p, whole = incremental.plan(sub, old, {**old, "tables": ratings})
    assert p is not None and (coverage.id, "month") not in p and any(coverage.id in w for w in whole)
    asked: list[tuple[str, str, str]] = []

    def lookup(d: Any, grain: str, table: str, key: str) -> frozenset[str]:
        asked.append((d.id, table, key))
        return frozenset({"2025-01"})

    p, whole = incremental.plan(sub, old, {**old, "tables": ratings}, lookup)
    assert p is not None and p[(coverage.id, "month")] == {"2025-01"} and not whole
    assert asked == [(coverage.id, "rating", "case_id")]
    # the staff on shift changed: no key leads from a shift to the cases whose ratings it prompted → whole
    staff = {**tabs, "centre_staffing": {"mark": "2:2", "months": {"2025-05": "1:1"}}}
    p, whole = incremental.plan(sub, {**old, "tables": {**tabs, "centre_staffing": {"mark": "1:1", "months": {}}}},
                                {**old, "tables": staff}, lookup)
    assert p is not None and (coverage.id, "month") not in p and any(coverage.id in w for w in whole)
    # a ticket of April changed, the data end stays: its own row, its own period on
    tickets = {**tabs, "hotline_ticket": {"mark": "2:2", "months": {"2025-01": "1:1", "2025-04": "2:2"}}}
    p, _ = incremental.plan(sub, old, {**old, "tables": tickets})
    assert p is not None and p[(hotline.id, "month")] == {"2025-04", "2025-05"}
    assert p[(coverage.id, "month")] == frozenset()  # reads no hotline table


def _last_day(db: Path) -> str:
    with warehouse.connection(db, read_only=True) as con:
        return str(warehouse.scalar(con, "SELECT last_day FROM data_coverage"))


def test_late_ratings_of_cases_closed_months_before_equal_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """Ratings given on the last day of the data for cases closed two months before: the data end stays, the rating
    table changes only in its last month, yet rating coverage of the cases' month changes (it waits for outcomes in
    other rows). Before the fix that month kept its stored value."""
    db, src = _copy(months_split, tmp_path)
    m, last = months_split["months"][-3], _last_day(db)
    n = _write_rows(
        db,
        "SELECT r.* REPLACE ('late-' || c.case_id AS rating_id, c.case_id AS case_id, 'app' AS channel, "
        f"TIMESTAMP '{last} 10:00:00' AS rated_at, CAST(NULL AS TIMESTAMP) AS invited_at, "
        "CAST(NULL AS VARCHAR) AS invite_channel) "
        "FROM (SELECT * FROM rating WHERE channel = 'app' ORDER BY rating_id LIMIT 1) r CROSS JOIN "
        f"(SELECT case_id FROM \"case\" WHERE status = 'closed' AND strftime(closed_at, '%Y-%m') = '{m}' "
        "AND case_id NOT IN (SELECT case_id FROM rating) ORDER BY case_id LIMIT 80) c",
        src / "rating_late.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note and "rating_coverage_rate" not in note, note  # looked up, not computed whole
    assert _last_day(db) == last
    _assert_same_as_full(db, tmp_path)


def _later_tickets(db: Path, dest: Path, days: int) -> None:
    """The tickets of the last 10 loaded days again, re-dated `days` later under new ids: the data end moves."""
    shift = f"INTERVAL {days} DAY"
    n = _write_rows(
        db,
        f"SELECT * REPLACE ('later{days}-' || ticket_id AS ticket_id, created_at + {shift} AS created_at, "
        f"closed_at + {shift} AS closed_at, first_response_at + {shift} AS first_response_at) FROM hotline_ticket "
        "WHERE created_at >= (SELECT max(created_at) FROM hotline_ticket WHERE ticket_id NOT LIKE 'later%') "
        "- INTERVAL 10 DAY AND ticket_id NOT LIKE 'later%'",
        dest,
    )
    assert n > 0


def test_a_data_end_moved_by_late_tickets_bounds_the_windowed_formulas_and_equals_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """The last month's files and tickets re-dated 50 days later (the data end moves into the next month,
    mid-month), then the new last days' tickets re-dated 40 days later (it moves three weeks on): the formulas that
    read the data end with an outcome window (online completion 3 days, elderly success 30, on-time completion and
    processing time 0) recompute only the periods their window reaches, and the result equals a full rebuild.
    Elderly success with a window of 0 days kept the last month of cases stale (cases started within 30 days before
    the first data end) and failed here."""
    db, src = _copy(months_split, tmp_path)
    for p in months_split["held"]:
        shutil.copy(p, src / p.name)
    _later_tickets(db, src / "hotline_ticket_later50.parquet", 50)
    first_end = _last_day(db)
    _refresh(db, src)
    assert _last_day(db) > first_end
    _later_tickets(db, src / "hotline_ticket_later40.parquet", 40)
    mid, note = _last_day(db), _refresh(db, src)
    assert "incremental" in note, note
    assert _last_day(db) > mid
    whole = note.split("computed whole: ", 1)[-1].split(" | ")[0]
    assert "hotline_resolution_rate (reads the data end)" in whole, note
    assert not any(i in whole for i in ("online_completion_rate", "elderly_success_rate", "processing_time_ratio",
                                        "ontime_completion_rate")), note
    _assert_same_as_full(db, tmp_path)


def test_a_resubmission_changing_census_values_of_the_scored_period_recomputes_its_uncertainty_summary(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """A district's register re-submitted with fewer required materials: census indicators (interval 'none') of the
    scored quarter change while their standard errors stay 0, so only the values in the summary's inputs digest
    tell the stored summary is stale. The summary is recomputed and equals a full rebuild (with the values left out
    of the digest the stale summary stood and this failed; the re-submission of cases did not, their SEs moved)."""
    db, src = _copy(months_split, tmp_path)
    n = _write_rows(
        db,
        "SELECT * REPLACE (0 AS materials_required_n) FROM service_item WHERE onboarded AND materials_required_n > 0 "
        "AND district_code = (SELECT min(district_code) FROM service_item)",
        src / "service_item_fewer_materials.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note and "unchanged" not in note.split("uncertainty: ")[1], note
    _assert_same_as_full(db, tmp_path)


def test_a_rate_form_computed_from_a_start_reads_no_earlier_row_and_other_forms_are_left_as_they_are() -> None:
    catalog = load_catalog()
    rate, query = catalog.indicator("actual_online_case_rate"), catalog.indicator("first_time_completion_rate")
    snapshot = catalog.indicator("item_coverage_rate")  # over `periods`: an item onboarded years before counts
    start = date(2026, 9, 1)
    cut = iv.since(rate, start)
    assert cut.sql.where is not None and "TIMESTAMP '2026-09-01 00:00:00'" in cut.sql.where
    assert rate.sql.where is None or rate.sql.where in cut.sql.where
    assert iv.since(rate, None) is rate and iv.since(query, start) is query and iv.since(snapshot, start) is snapshot


def test_a_query_of_one_select_over_one_table_counts_its_outcomes_in_its_own_rows() -> None:
    """hotline_reopened_rate (a query, waits for outcomes, no window) counts each ticket in the period of its own
    creation: a changed ticket of April reaches April on, as the rate forms over one table do — it was computed whole
    ('waits for outcomes in later rows') before. First response hours reads every ticket in a subquery (whether any
    sign-for time is recorded at all): still whole."""
    catalog = load_catalog()
    reopened, first_response = catalog.indicator("hotline_reopened_rate"), catalog.indicator("hotline_first_response_hours")
    assert incremental.own_row_outcomes(reopened) and not incremental.own_row_outcomes(first_response)
    sub = type(catalog)(catalog.nodes, (reopened, first_response), catalog.source)
    tabs = {"hotline_ticket": {"mark": "1:1", "months": {"2025-01": "1:1", "2025-04": "1:1"}}}
    old = {"version": incremental.VERSION, "code": "c", "grains": ["month"], "units": "u",
           "defs": {d.id: d.id for d in sub}, "span": ["2025-01-01", "2025-05-31"], "tables": tabs}  # fmt: skip
    new = {**old, "tables": {"hotline_ticket": {"mark": "2:2", "months": {"2025-01": "1:1", "2025-04": "2:2"}}}}
    p, whole = incremental.plan(sub, old, new)
    assert p is not None and p[(reopened.id, "month")] == {"2025-04", "2025-05"}
    assert (first_response.id, "month") not in p and any(first_response.id in w for w in whole)


def _assert_looked_up(db: Path, src: Path, indicator: str, file_part: str, tmp_path: Path) -> None:
    """Refreshed with the re-submitted file (its rows superseding), `indicator` is not computed whole and the result
    equals a full rebuild."""
    note = _refresh(db, src)
    assert "incremental" in note and indicator not in note.split(" | ")[0], note
    with warehouse.connection(db, read_only=True) as con:
        assert warehouse.scalar(con, f"SELECT sum(rows_superseded) FROM ingest_files WHERE file_name LIKE '%{file_part}%'")
    _assert_same_as_full(db, tmp_path)


def test_late_follow_ups_of_old_bad_ratings_recompute_the_ratings_periods_and_equal_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """Follow-ups of the first month's bad ratings re-submitted on the last day of the data (an appeal upheld, a
    callback made late): the follow-up table changes in its last month, and the old rows are superseded. The bad-rating
    rates of the first month change (an upheld appeal leaves the denominator): the lookup from the follow-ups to their
    ratings recomputes that month, not the rates whole (they were before), and the result equals a full rebuild."""
    db, src = _copy(months_split, tmp_path)
    m, last = months_split["months"][0], _last_day(db)
    n = _write_rows(
        db,
        f"SELECT f.* REPLACE (TIMESTAMP '{last} 09:00:00' AS callback_at, TIMESTAMP '{last} 18:00:00' AS due_at, "
        "CAST(NULL AS TIMESTAMP) AS rectified_at, true AS appeal_upheld) FROM bad_rating_followup f "
        f"JOIN rating r USING (rating_id) WHERE strftime(r.rated_at, '%Y-%m') = '{m}' ORDER BY rating_id LIMIT 30",
        src / "bad_rating_followup_late.parquet",
    )
    assert n > 0
    _assert_looked_up(db, src, "bad_rating_c", "_late", tmp_path)


def test_a_rating_moved_to_another_case_recomputes_the_old_cases_period_and_equals_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """Ratings of cases closed in the first month re-submitted (same rating, same date) for unrated cases closed in
    the third: rating coverage of both months changes. The rating's new row names the new case only; the old case
    is named by the superseded row, which the lookup reads too (without it the first month kept its old value)."""
    db, src = _copy(months_split, tmp_path)
    first, third = months_split["months"][0], months_split["months"][2]
    n = _write_rows(
        db,
        "WITH old AS (SELECT r.*, row_number() OVER (ORDER BY r.rating_id) AS i FROM rating r JOIN \"case\" c "
        f"USING (case_id) WHERE strftime(c.closed_at, '%Y-%m') = '{first}' ORDER BY r.rating_id LIMIT 60), "
        "free AS (SELECT case_id, row_number() OVER (ORDER BY case_id) AS i FROM \"case\" WHERE status = 'closed' "
        f"AND strftime(closed_at, '%Y-%m') = '{third}' AND case_id NOT IN (SELECT case_id FROM rating)) "
        "SELECT old.* EXCLUDE (i) REPLACE (free.case_id AS case_id) FROM old JOIN free USING (i)",
        src / "rating_moved.parquet",
    )
    assert n > 0
    _assert_looked_up(db, src, "rating_coverage_rate", "moved", tmp_path)


def test_the_lookup_back_reads_the_changed_months_and_the_superseded_rows() -> None:
    """The periods a changed rating reaches are those of the cases it names: a new rating's case (its month changed)
    and the case a superseded rating named before (gone from the table, kept in `superseded`). A rating of an
    unchanged month reaches nothing."""
    con = duckdb.connect()
    ddl.create(con, "superseded")
    con.sql("CREATE TABLE \"case\" (case_id VARCHAR, closed_at TIMESTAMP)")
    con.sql("INSERT INTO \"case\" VALUES ('a', '2025-01-10'), ('b', '2025-02-10'), ('c', '2025-03-10'), "
            "('d', '2025-04-10')")
    con.sql("CREATE TABLE rating (rating_id VARCHAR, case_id VARCHAR, rated_at TIMESTAMP)")
    con.sql("INSERT INTO rating VALUES ('r1', 'a', '2025-05-01'), ('r2', 'b', '2025-06-01')")

    def state(mark: str) -> dict[str, Any]:
        return {"tables": {"rating": {"mark": mark, "months": incremental.month_digests(con, "rating")}}}

    old = state("2:7")
    # r2 re-submitted by file 8 for case c (same date), the old row superseded; a new rating r3 of case d in July
    con.sql("DELETE FROM rating WHERE rating_id = 'r2'")
    con.sql("INSERT INTO rating VALUES ('r2', 'c', '2025-06-01'), ('r3', 'd', '2025-07-01')")
    con.execute("INSERT INTO superseded VALUES ('rating', '[\"r2\"]', ?, 8, 'rating_fix.csv', 1, now())",
                [json.dumps({"rating_id": "r2", "case_id": "b", "rated_at": "2025-06-01 00:00:00"})])
    d = load_catalog().indicator("rating_coverage_rate")
    look = incremental.lookup_back(con, old, state("4:8"))
    assert look(d, "month", "rating", "case_id") == {"2025-02", "2025-03", "2025-04"}  # not January (r1 unchanged)
    assert look(d, "quarter", "rating", "case_id") == {"2025Q1", "2025Q2"}


def test_a_new_month_sums_the_years_stored_months_and_reads_only_itself(
    months_split: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rolled-up indicator (a rate form summed from months) gets its quarter and year from the months' sums: with
    one new month, the year's other months are kept at month grain, so their sums are the stored month rows; the raw
    tables are read for the new month only (before, for every month of its year), and the result equals a full
    rebuild. An indicator whose sums are not integer counts, or carry the delta moments, reads its months as before."""
    db, src = _copy(months_split, tmp_path)
    for p in months_split["held"]:
        shutil.copy(p, src / p.name)
    new = months_split["months"][-1]
    read: dict[str, frozenset[str] | None] = {}
    monthly_sums = iv._monthly_sums

    def spy(con: Any, d: Any, shared: Any, last_day: Any, months: frozenset[str] | None = None,
            per_case: Any = None) -> pl.DataFrame:
        out = monthly_sums(con, d, shared, last_day, months, per_case)
        if set(out.columns) == {"unit_code", "period", "numerator", "denominator"} and all(
                iv.integral(out.schema[c]) for c in ("numerator", "denominator")):
            read[d.id] = months
        return out

    monkeypatch.setattr(iv, "_monthly_sums", spy)
    note = _refresh(db, src)
    assert "incremental" in note, note
    assert len(read) > 5 and all(m is not None and new in m for m in read.values()), read
    # queries the catalog declares additive are summed from their months too (before: run over the whole year)
    assert {"first_time_completion_rate", "correction_rounds_rate", "kiosk_session_failure_rate"} <= set(read), read
    # the new month, and the one before for those whose outcome window reaches back into it, and the year's months
    # outside the data span (rows dated there count in the year; they have no stored month row): not its others
    year = [m for m in months_split["months"] if m[:4] == new[:4]]
    assert len(year) > 2, year
    outside = {f"{new[:4]}-{k:02d}" for k in range(1, 13)} - set(year)
    assert {i: m for i, m in read.items() if m is None or not m <= set(year[-2:]) | outside} == {}, note
    monkeypatch.undo()
    _assert_same_as_full(db, tmp_path)


def test_rows_dated_after_the_data_end_count_in_the_rolled_up_quarter_and_year_as_in_a_full_rebuild(
    months_split: dict[str, Any], tmp_path: Path
) -> None:
    """Cases of the last month closed 5 to 25 days after the data end (the span reads when a case started, not when it
    closed): a full rebuild counts them in the year of their closing month through the rolled-up month sums of
    realised one-visit, though that month is past the grid; the incremental refresh summed only the grid's months
    and left them out of the year."""
    db, src = _copy(months_split, tmp_path)
    last = _last_day(db)
    n = _write_rows(
        db,
        "SELECT * REPLACE ('after-' || case_id AS case_id, closed_at + INTERVAL 25 DAY AS closed_at) FROM \"case\" "
        f"WHERE status = 'closed' AND closed_at >= DATE '{last}' - INTERVAL 20 DAY "
        f"AND year(closed_at + INTERVAL 25 DAY) = year(DATE '{last}') ORDER BY case_id LIMIT 50",
        src / f"case_{last[:7]}_after_end.parquet",
    )
    assert n > 0
    note = _refresh(db, src)
    assert "incremental" in note and "realised_one_visit_rate" not in note.split(" | ")[0], note
    with warehouse.connection(db, read_only=True) as con:
        after = warehouse.scalar(con, f"SELECT count(*) FROM \"case\" WHERE closed_at > DATE '{last}' + 1")
    assert after == n and _last_day(db) == last
    _assert_same_as_full(db, tmp_path)


def test_month_digests_hash_the_keys_and_count_the_superseded_rows_of_each_month() -> None:
    """A month's digest reads the rows' keys and dates, not every value (hashing every column was most of the digests'
    cost): a value changed outside the ingest leaves it (before, every column was hashed and it moved). The ingest
    changes a row under its key only by superseding it, so a superseded row (same key, same month) changes the
    digest of its old row's month and of no other; a new row changes its own month's."""
    con = duckdb.connect()
    ddl.create(con, "superseded")
    con.sql("CREATE TABLE rating (rating_id VARCHAR, case_id VARCHAR, rated_at TIMESTAMP, level INTEGER)")
    con.sql("INSERT INTO rating VALUES ('r1', 'a', '2025-01-10', 5), ('r2', 'b', '2025-02-10', 4)")
    before = incremental.month_digests(con, "rating")
    assert set(before) == {"2025-01", "2025-02"}
    con.sql("UPDATE rating SET level = 1 WHERE rating_id = 'r1'")
    assert incremental.month_digests(con, "rating") == before
    con.execute("INSERT INTO superseded VALUES ('rating', '[\"r1\"]', ?, 8, 'rating_fix.csv', 1, now())",
                [json.dumps({"rating_id": "r1", "case_id": "a", "rated_at": "2025-01-10 00:00:00", "level": 5})])
    fixed = incremental.month_digests(con, "rating")
    assert fixed["2025-01"] != before["2025-01"] and fixed["2025-02"] == before["2025-02"]
    con.sql("INSERT INTO rating VALUES ('r3', 'c', '2025-02-20', 3)")
    added = incremental.month_digests(con, "rating")
    assert added["2025-01"] == fixed["2025-01"] and added["2025-02"] != fixed["2025-02"]
