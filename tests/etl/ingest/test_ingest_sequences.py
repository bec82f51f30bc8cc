"""Rules across rows: a case's steps (case_event) are checked as a sequence, in the file and against the warehouse;
a broken step is quarantined with the file, row, column, value and the neighbouring step; every row accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from etl.contract import tables
from etl.ingest import files as ingest
from etl.ingest import sequences
from etl.warehouse import connection as warehouse

NOW = ingest.dt.datetime(2026, 1, 1, 12, 0, 0)


def _frame(table: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    cols = tables.TABLES[table].column_names
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema={c: pl.String for c in cols})


def _base(folder: Path) -> None:
    """One district, one item and cases C1…C6 (closed)."""
    folder.mkdir(parents=True, exist_ok=True)
    _frame("district", [dict(district_code="310101", name_zh="黄浦区", name_en="Huangpu", population="100",
                             pop_60plus="30")]).write_csv(folder / "district.csv")
    _frame("service_item", [dict(
        item_code="I1", name="事项", district_code="310101", dept="局", in_basic_catalog="true", onboarded="true",
        onboarded_on="2024-01-01", legal_limit_days="20", promised_limit_days="5", case_kind="承诺",
        required_visits="0", online_depth="full", mobile_enabled="true", materials_required_n="3",
        materials_baseline_n="5", guide_elements_present="10", guide_elements_required="10", high_freq="true",
        offline_path="true", elder_version="true")]).write_csv(folder / "service_item.csv")
    _frame("case", [dict(
        case_id=f"C{i}", item_code="I1", district_code="310101", channel="pc", applicant_type="person",
        age_band="30-44", started_at="2025-03-01 09:00:00", submitted_at="2025-03-01 09:10:00",
        accepted_at="2025-03-03 09:00:00", closed_at="2025-03-05 09:00:00", promised_due_at="2025-03-10 09:00:00",
        status="closed", visits_actual="0", materials_submitted_n="3", materials_via_sharing_n="0", assisted="false",
        via_bundle="false") for i in range(1, 7)]).write_csv(folder / "case.csv")


def _events(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    return _frame("case_event", [dict(case_id=c, seq=str(s), event=e, event_at=f"2025-03-0{t}", channel="internal")
                                 for c, s, e, t in rows])


FIRST = [
    ("C1", 1, "received", "1 09:10:00"), ("C1", 2, "correction_requested", "1 15:00:00"),  # rows 2, 3
    ("C1", 3, "resubmitted", "2 10:00:00"), ("C1", 4, "accepted", "3 09:00:00"),  # rows 4, 5
    ("C1", 5, "decided", "5 09:00:00"), ("C1", 6, "delivered", "5 10:00:00"),  # rows 6, 7
    ("C2", 1, "received", "1 09:10:00"), ("C2", 2, "resubmitted", "2 09:00:00"),  # rows 8, 9: 9 is out of order
    ("C2", 3, "accepted", "3 09:00:00"),  # row 10: loaded after the gap
    ("C3", 1, "accepted", "3 09:00:00"),  # row 11: step 1 must be received
    ("C4", 1, "received", "1 09:10:00"), ("C4", 2, "accepted", "1 09:00:00"),  # rows 12, 13: 13 goes back in time
    ("C5", 2, "decided", "5 09:00:00"),  # row 14: step 1 not (yet) known, loaded
    ("C6", 1, "received", "1 09:10:00"), ("C6", 1, "received", "1 09:10:00"),  # rows 15, 16: identical copies
]


def _load(folder: Path, db: Path) -> ingest.IngestReport:
    return ingest.ingest_folder(folder, db, now=NOW)


def test_broken_steps_are_quarantined_with_their_neighbour_and_the_rest_load(tmp_path: Path) -> None:
    src, db = tmp_path / "src", tmp_path / "w.duckdb"
    _base(src)
    _events(FIRST).write_csv(src / "case_event_2025-03.csv")
    report = _load(src, db)
    rep = next(f for f in report.files if f.table == "case_event")
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined, rep.rows_duplicate) == (15, 11, 3, 1)
    with warehouse.connection(db, read_only=True) as con:
        q = warehouse.query(con, 'SELECT row_number, column_name, check_name, value, reason FROM quarantine '
                                 "WHERE table_name = 'case_event' ORDER BY row_number")
    assert q.select("row_number", "column_name", "check_name", "value").rows() == [
        (9, "event", "sequence_step", "resubmitted"),
        (11, "event", "sequence_first", "accepted"),
        (13, "event_at", "sequence_time", "2025-03-01 09:00:00"),
    ]
    reason = q["reason"][0]
    assert "case_event_2025-03.csv" in reason and "row 9" in reason and "'resubmitted'" in reason
    assert "C2 #1 received @ 2025-03-01 09:10:00 → correction_requested, accepted, returned, withdrawn" in reason
    assert "第 9 行" in reason  # Chinese first


def test_a_later_file_is_checked_against_the_steps_already_loaded(tmp_path: Path) -> None:
    src, db = tmp_path / "src", tmp_path / "w.duckdb"
    _base(src)
    _events(FIRST).write_csv(src / "case_event_2025-03.csv")
    _load(src, db)
    later = tmp_path / "later"
    later.mkdir()
    _events([
        ("C1", 7, "accepted", "6 09:00:00"),  # row 2: nothing may follow delivered
        ("C5", 1, "received", "1 09:10:00"),  # row 3: its next step (decided, loaded) cannot follow received
        ("C4", 2, "accepted", "1 10:00:00"),  # row 4: C4's step 2 corrected (resolves the first file's row 13)
    ]).write_csv(later / "case_event_2025-03b.csv")
    report = _load(later, db)
    rep = report.files[0]
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined, rep.rows_resolved) == (3, 1, 2, 1)
    with warehouse.connection(db, read_only=True) as con:
        q = warehouse.query(con, "SELECT row_number, check_name, reason FROM quarantine "
                                 "WHERE source_file = 'case_event_2025-03b.csv' ORDER BY row_number")
    assert q.select("row_number", "check_name").rows() == [(2, "sequence_step"), (3, "sequence_next")]
    assert "C5 #2 decided @ 2025-03-05 09:00:00" in q["reason"][1]


def test_every_step_has_its_successors_and_every_successor_is_a_step() -> None:
    assert set(sequences.NEXT) == set(tables.CASE_EVENTS)
    assert all(set(n) <= set(tables.CASE_EVENTS) for n in sequences.NEXT.values())
    assert sequences.FIRST in tables.CASE_EVENTS
    assert set(sequences.SEQUENCES) == {n for n, t in tables.TABLES.items() if t.across_rows}


@pytest.mark.parametrize("table", ["case_event", "queue_ticket"])
def test_new_tables_have_a_primary_key_and_an_event_time(table: str) -> None:
    t = tables.TABLES[table]
    assert t.primary_key and t.event_time


def _row_groups_read(con: warehouse.Connection, out: Path, table: str, run: object) -> tuple[int, int]:
    """(row groups scanned, row groups in the table) by the scans of `table` in the last query `run` sends
    (DuckDB's JSON profile)."""
    con.sql("SET enable_profiling = 'json'")
    con.sql(f"SET profiling_output = '{out}'")
    try:
        run()  # type: ignore[operator]
    finally:
        con.sql("RESET enable_profiling")
    scans: list[dict[str, object]] = []

    def walk(node: dict[str, object]) -> None:
        info = node.get("extra_info") or {}
        if node.get("type") == "TABLE_SCAN" and str(info.get("Table", "")).replace('"', "").endswith(f".{table}"):  # type: ignore[union-attr]
            scans.append(node)
        for child in node.get("children", []):  # type: ignore[attr-defined]
            walk(child)

    for root in json.loads(out.read_text())["operator"]:
        walk(root)
    assert scans, f"no scan of {table}"
    return sum(int(s["row_groups_scanned"]) for s in scans), sum(int(s["total_row_groups_to_scan"]) for s in scans)  # type: ignore[call-overload]


def test_the_checks_against_the_warehouse_read_only_the_row_groups_of_the_files_key_range(tmp_path: Path) -> None:
    """A file's cases are looked up in the warehouse within their own key range (zonemap-pruned), not by a scan of
    every row group of case_event and case for each file: 300k older steps sit in row groups the check skips."""
    src, db = tmp_path / "src", tmp_path / "w.duckdb"
    _base(src)
    _events(FIRST[:6]).write_csv(src / "case_event_2025-03.csv")
    _load(src, db)
    n = 300_000  # older cases "A…" (sorting before "C…"), loaded month by month: they fill row groups of their own
    with warehouse.connection(db) as con:
        cols = ", ".join(f'"{c}"' for c in tables.TABLES["case"].column_names if c != "case_id")
        con.sql(f"""INSERT INTO "case" SELECT printf('A%07d', i) AS "case_id", {cols}
                    FROM range({n}) AS r(i), (SELECT * EXCLUDE ("case_id") FROM "case" WHERE "case_id" = 'C1')""")
        con.sql(f"""INSERT INTO "case_event" SELECT printf('A%07d', i), 1, 'received', TIMESTAMP '2025-02-01', 'internal',
                    NULL, NULL, NULL FROM range({n}) AS r(i)""")
        con.sql("CHECKPOINT")
        stage = _frame("case_event", [dict(case_id="C1", seq="7", event="delivered", event_at="2025-03-06 09:00:00",
                                           channel="internal")])
        typed = stage.with_columns(pl.col("seq").cast(pl.Int64), pl.col("event_at").str.to_datetime(),
                                   pl.lit(2, pl.Int64).alias("_row"))
        with warehouse.registered(con, "_stage", typed):
            scanned, total = _row_groups_read(
                con, tmp_path / "seq.json", "case_event",
                lambda: sequences.failures(con, tables.TABLES["case_event"], "_stage"))  # fmt: skip
            assert total >= 3 and scanned < total / 2, (scanned, total)
        scanned, total = _row_groups_read(
            con, tmp_path / "ref.json", "case",
            lambda: warehouse.missing_values(con, "case", "case_id", pl.Series(["C1", "C2", "Z9"])))  # fmt: skip
        assert total >= 3 and scanned < total / 2, (scanned, total)
        assert warehouse.missing_values(con, "case", "case_id", pl.Series(["C1", "A0000007", "Z9", "B1"])).sort().to_list() == ["B1", "Z9"]


def test_the_polars_pairing_finds_exactly_the_broken_pairs_of_the_sql_join(tmp_path: Path) -> None:
    """A file held in memory has its steps paired in polars, a spilled one by the SQL join: the same broken pairs
    (file and warehouse steps, gaps, wrong order, time going back, a wrong first step) on random histories."""
    import random

    rnd = random.Random(16)
    events = list(sequences.NEXT)
    t0 = ingest.dt.datetime(2025, 3, 1)

    def steps(cases: range, first_seq: int) -> list[dict[str, object]]:
        return [dict(case_id=f"C{c:03d}", seq=s, event=rnd.choice(events), channel="internal",
                     event_at=t0 + ingest.dt.timedelta(hours=rnd.randint(0, 50)))
                for c in cases for s in range(first_seq, first_seq + rnd.randint(0, 4)) if rnd.random() < 0.85]  # fmt: skip

    cols = tables.TABLES["case_event"].column_names
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        loaded = pl.DataFrame(steps(range(0, 300), 1)).select([pl.col(c) if c in ("case_id", "seq", "event", "event_at",
                                                                                   "channel") else pl.lit(None, pl.String).alias(c) for c in cols])  # fmt: skip
        warehouse.insert_frame(con, "case_event", loaded)
        # this file: new steps of the same and of other cases, some replacing a loaded step (same key)
        stage = pl.DataFrame(steps(range(150, 450), 1) + steps(range(0, 300, 3), 3)).unique(["case_id", "seq"], keep="first")
        stage = stage.with_columns(pl.int_range(2, stage.height + 2, dtype=pl.Int64).alias("_row"))
        table = tables.TABLES["case_event"]
        with warehouse.registered(con, "_stage", stage):
            sql = sequences.broken_pairs_sql(con, table, "_stage")
            fast = sequences.broken_pairs(con, table, "_stage", stage)
            both = sequences.failures(con, table, "_stage"), sequences.failures(con, table, "_stage", stage)
    key = ["g", "o1", "o2", "r1", "r2"]
    assert sql.height > 50 and {None, True, False} <= set(sql["ok"].to_list())
    assert fast.cast(sql.schema).sort(key, nulls_last=True).equals(sql.sort(key, nulls_last=True))  # type: ignore[arg-type]
    assert both[0].sort(both[0].columns).equals(both[1].sort(both[1].columns))


def test_a_file_of_new_keys_is_not_joined_with_the_warehouse_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate/supersede comparison with the warehouse is skipped when no loaded row falls in the file's key
    range (a new month's cases); a file that does overlap is still compared (and supersedes)."""
    src, db = tmp_path / "src", tmp_path / "w.duckdb"
    _base(src)
    _load(src, db)
    joins: list[str] = []
    for name in ("scalar", "query"):
        real = getattr(warehouse, name)

        def spy(con: object, sql: str, params: object = None, real: object = real) -> object:
            if 'EXISTS (SELECT 1 FROM "case" AS t WHERE s.' in sql or 'JOIN "case" AS t ON' in sql:
                joins.append(sql)
            return real(con, sql, params)  # type: ignore[operator]

        monkeypatch.setattr(warehouse, name, spy)
    new = pl.read_csv(src / "case.csv", infer_schema=False).with_columns(pl.col("case_id").str.replace("C", "D"))
    (tmp_path / "new").mkdir()
    new.write_csv(tmp_path / "new" / "case_2.csv")
    assert ingest.ingest_folder(tmp_path / "new", db, now=NOW).rows_loaded == 6
    assert joins == []
    (tmp_path / "fix").mkdir()
    new.head(1).with_columns(pl.lit("3").alias("visits_actual")).write_csv(tmp_path / "fix" / "case_3.csv")
    assert ingest.ingest_folder(tmp_path / "fix", db, now=NOW).files[0].rows_superseded == 1
    assert joins


def test_steps_already_in_case_order_are_paired_without_a_sort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file written in (case, step) order, with no loaded step of its cases, is paired as it is (no sort: a
    monthly case_event export is sorted already); shuffled, the same rows are sorted and give the same pairs."""
    t0 = ingest.dt.datetime(2025, 3, 1)
    rows = [("C1", 1, "received"), ("C1", 2, "decided"), ("C1", 3, "delivered"), ("C2", 1, "accepted"),
            ("C3", 1, "received"), ("C3", 2, "accepted"), ("C3", 3, "decided")]  # fmt: skip
    stage = pl.DataFrame({
        "case_id": [r[0] for r in rows], "seq": [r[1] for r in rows], "event": [r[2] for r in rows],
        "event_at": [t0 + ingest.dt.timedelta(hours=10 - i) for i in range(len(rows))],
        "_row": list(range(2, len(rows) + 2)),
    })  # fmt: skip
    sorts: list[int] = []
    real_sort = pl.LazyFrame.sort

    def counting_sort(self: pl.LazyFrame, *args: object, **kwargs: object) -> pl.LazyFrame:
        sorts.append(1)
        return real_sort(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.LazyFrame, "sort", counting_sort)
    table = tables.TABLES["case_event"]
    key = ["g", "o1", "o2", "r1", "r2"]
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        with warehouse.registered(con, "_stage", stage):
            in_order = sequences.broken_pairs(con, table, "_stage", stage)
        assert sorts == []
        shuffled = stage.sample(fraction=1.0, shuffle=True, seed=3)
        with warehouse.registered(con, "_stage", shuffled):
            resorted = sequences.broken_pairs(con, table, "_stage", shuffled)
        assert sorts == [1]
    assert in_order.height >= 3  # received → decided, the time going back, C2's first step
    assert in_order.sort(key, nulls_last=True).equals(resorted.sort(key, nulls_last=True))
