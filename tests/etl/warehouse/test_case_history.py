"""The per-case history of case_event (etl.warehouse.case_history): found in the catalog's formulas, read by them, and
kept up to date by recomputing only the cases a change reaches — equal, row for row, to building it again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from etl.contract.catalog import load_catalog
from etl.warehouse import case_history, connection as warehouse, indicator_values as iv

CASE_HISTORY_IDS = ("first_time_completion_rate", "correction_rounds_rate", "net_processing_days")


def test_the_case_history_formulas_share_per_case_expressions_and_nothing_else_is_taken_for_one() -> None:
    catalog = load_catalog()
    per_case = case_history.tables_of(catalog)
    users = {d.id for d in catalog if any(b in t for t in d.sql.texts() if t for b in per_case)}
    assert users == set(CASE_HISTORY_IDS)
    assert all(name.startswith(case_history.PREFIX) for name in per_case.values())
    # not per case: a join, a filter of the rows, a grouping by anything else, a placeholder
    for sql in (
        "WITH h AS (SELECT case_id, count(*) AS n FROM case_event e JOIN \"case\" c USING (case_id) GROUP BY case_id) "
        "SELECT * FROM h",
        "WITH h AS (SELECT case_id, count(*) AS n FROM case_event WHERE seq > 1 GROUP BY case_id) SELECT * FROM h",
        "WITH h AS (SELECT case_id, count(*) AS n FROM case_event GROUP BY case_id, seq) SELECT * FROM h",
        "WITH h AS (SELECT case_id, max(event_at) < {data_end} AS n FROM case_event GROUP BY case_id) SELECT * FROM h",
    ):
        assert case_history.per_case_bodies(sql) == [], sql
    # a comment holding a parenthesis inside the expression is no obstacle
    body = "  -- steps (all of them)\n  SELECT case_id, count(*) FILTER (WHERE seq > 1) AS n FROM case_event GROUP BY case_id\n"
    assert case_history.per_case_bodies(f"WITH h AS ({body}) SELECT * FROM h") == [body]


def _events(rows: list[tuple[str, int, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"case_id": pl.String, "seq": pl.Int64, "event": pl.String,
                                      "event_at": pl.Datetime("us")}, orient="row")  # fmt: skip


def _history(con: warehouse.Connection, per_case: dict[str, str]) -> dict[str, pl.DataFrame]:
    return {name: con.sql(f"SELECT * FROM {name} ORDER BY ALL").pl() for name in [case_history.SPINE, *per_case.values()]}


def test_an_update_recomputes_the_cases_reached_and_equals_a_rebuild() -> None:
    """Cases with events on or after the changed day are recomputed, also one whose later steps were taken away
    (it has no event after that day any more: only its recorded last event says it was reached); the rest stay."""
    per_case = case_history.tables_of(load_catalog())
    t0 = datetime(2025, 1, 10, 9)
    rows = []
    for i in range(40):  # received in January, decided (some after a 补正 round) in January or March
        c, at = f"c{i:02d}", t0 + timedelta(days=i % 5)
        steps = ["received", *(["correction_requested", "resubmitted"] if i % 3 == 0 else []), "accepted", "decided"]
        late = 55 if i % 4 == 0 else 0
        rows += [(c, k + 1, e, at + timedelta(days=k + (late if e == "decided" else 0))) for k, e in enumerate(steps)]
    with warehouse.connection(":memory:") as con:
        con.register("_new", _events(rows).to_arrow())
        con.sql("INSERT INTO case_event (case_id, seq, event, event_at, channel) SELECT *, 'internal' FROM _new")
        con.unregister("_new")
        case_history.update(con, per_case, None, rebuild=True)
        before = _history(con, per_case)
        # March changes: c00's decision (in March) is taken away, c01 gets a later step, c99 is new
        con.sql("DELETE FROM case_event WHERE case_id = 'c00' AND event = 'decided'")
        con.sql("INSERT INTO case_event (case_id, seq, event, event_at, channel) VALUES "
                "('c01', 5, 'delivered', TIMESTAMP '2025-03-02 10:00:00', 'internal'), "
                "('c99', 1, 'received', TIMESTAMP '2025-03-03 10:00:00', 'internal')")  # fmt: skip
        note = case_history.update(con, per_case, date(2025, 3, 1), rebuild=False)
        got = _history(con, per_case)
        case_history.update(con, per_case, None, rebuild=True)
        want = _history(con, per_case)
    assert note.startswith("per-case history: ") and 0 < int(note.split(": ")[1].split()[0]) < 41, note
    for name in want:
        assert got[name].equals(want[name]), name
    assert not before[case_history.SPINE].equals(want[case_history.SPINE])
    assert any(not before[n].equals(want[n]) for n in per_case.values())


def test_the_formulas_read_the_history_tables_when_they_exist_and_run_as_written_otherwise() -> None:
    catalog = load_catalog()
    per_case = case_history.tables_of(catalog)
    with warehouse.connection(":memory:") as con:
        for d in (catalog.indicator(i) for i in CASE_HISTORY_IDS):
            written = iv.formula_sql(d, "month", None)
            assert iv._pick_formula(con, d, written, None, per_case) == written  # no table yet: as written
        case_history.update(con, per_case, None, rebuild=True)
        for d in (catalog.indicator(i) for i in CASE_HISTORY_IDS):
            written = iv.formula_sql(d, "month", None)
            fast = iv._pick_formula(con, d, written, None, per_case)
            assert "FROM case_event" not in fast and any(name in fast for name in per_case.values())
