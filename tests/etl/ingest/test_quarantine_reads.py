"""Quarantine reads in one place (etl/ingest/quarantine.py): the CLI, the snapshot the pages use, and the viewer
filter all read the same rows, each with the district it concerns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from etl.ingest.quarantine import COLUMNS, count_quarantine, filter_quarantine, for_viewer, list_quarantine
from etl.warehouse import connection as warehouse, ddl
from etl.warehouse.snapshot import load_snapshot

GOVINDEX = str(Path(sys.executable).with_name("govindex"))


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A warehouse with one case per district, a rating of one case, and five quarantined rows: one with its own
    district, a rating (district via its case), a follow-up (via its rating's case), one unknown case, one not JSON."""
    path = tmp_path / "wh.duckdb"
    con = warehouse.connect(path, create=False)
    try:
        warehouse.execute(con, 'CREATE TABLE "case" (case_id VARCHAR, district_code VARCHAR)')
        warehouse.execute(con, 'CREATE TABLE "rating" (rating_id VARCHAR, case_id VARCHAR)')
        ddl.create(con, "quarantine")
        warehouse.execute(con, "INSERT INTO \"case\" VALUES ('C1', '310104'), ('C2', '310115')")
        warehouse.execute(con, "INSERT INTO \"rating\" VALUES ('R1', 'C2')")
        originals = [{"case_id": "C9", "district_code": "310104"}, {"case_id": "C2", "level": "6"},
                     {"rating_id": "R1", "note": "=1+1"}, {"case_id": "C404"}, None]
        rows = pl.DataFrame({
            "file_id": [1, 2, 3, 2, 4], "batch_id": [1, 1, 2, 1, 2],
            "table_name": ["case", "rating", "bad_rating_followup", "rating", "hotline_ticket"],
            "source_file": ["in/case_1.csv", "rating_1.csv", "followup_1.csv", "rating_1.csv", "hotline.csv"],
            "row_number": [3, 4, 5, 6, 7], "column_name": ["started_at", "level", None, "case_id", None],
            "check_name": ["not_future", "in_range", "field_count", "references", "encoding"],
            "value": ["2031", "6", None, "C404", None], "reason": ["r1", "r2", "r3", "r4", "r5"],
            "original_row": [json.dumps(o) if o else "\ufffd broken" for o in originals],
        })
        warehouse.insert_frame(con, "quarantine", rows)
    finally:
        con.close()
    return path


def test_each_row_carries_its_district_and_filters_apply_in_sql(db: Path) -> None:
    q = list_quarantine(db)
    assert q.columns == list(COLUMNS) and q.height == 5
    by_row = dict(zip(q["row_number"].to_list(), q["district_code"].to_list(), strict=True))
    assert by_row == {3: "310104", 4: "310115", 5: "310115", 6: None, 7: None}
    assert q["batch_id"].to_list()[:2] == [2, 2]  # newest batch first
    assert sorted(list_quarantine(db, district="310115")["row_number"].to_list()) == [4, 5]
    assert count_quarantine(db, district="310115") == 2 and count_quarantine(db) == 5
    assert count_quarantine(db, table="rating") == 2 and count_quarantine(db, source_file="case_1.csv") == 1
    assert list_quarantine(db, limit=2).height == 2


def test_the_snapshot_and_the_in_memory_filters_read_the_same_rows(db: Path) -> None:
    snap = load_snapshot(db)
    assert snap.quarantine_total == 5
    assert snap.quarantine.equals(list_quarantine(db))
    mem = filter_quarantine(snap.quarantine, districts=["310115"], tables=["rating"])
    assert mem.equals(list_quarantine(db, district="310115", table="rating"))
    assert filter_quarantine(snap.quarantine, source_file="case_1.csv").equals(
        list_quarantine(db, source_file="case_1.csv"))


def test_a_viewer_sees_all_districts_or_only_their_own(db: Path) -> None:
    q = list_quarantine(db)
    assert for_viewer(q, all_districts=True, district_code=None).height == 5
    assert sorted(for_viewer(q, all_districts=False, district_code="310115")["row_number"].to_list()) == [4, 5]
    assert for_viewer(q, all_districts=False, district_code=None).height == 0


def test_cli_filters_by_district(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    r = subprocess.run([GOVINDEX, "quarantine", "--db", str(db), "--district", "310115", "--csv", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = pl.read_csv(out, infer_schema_length=0)
    assert sorted(got["row_number"].to_list()) == ["4", "5"] and set(got["district_code"]) == {"310115"}
    r = subprocess.run([GOVINDEX, "quarantine", "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "5 record(s)" in r.stdout and "310104" in r.stdout
