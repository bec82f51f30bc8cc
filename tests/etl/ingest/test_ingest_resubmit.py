"""Fix and resubmit: a file's rejected rows exported once each, corrected, ingested again, and accounted for."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from etl.contract import tables
from etl.ingest.files import ingest_files, ingest_folder
from etl.ingest.readers import RESUBMIT_HEADER
from etl.ingest.resubmit import REASON_HEADER, NothingToResubmitError, neutralise, resubmit_frame, write_resubmit
from etl.warehouse import connection as wh
from tests.etl.ingest import corpus


@pytest.fixture()
def warehouse(tmp_path: Path) -> tuple[Path, Path]:
    src, db = tmp_path / "inbox", tmp_path / "wh.duckdb"
    corpus.build(src)
    ingest_folder(src, db, now=corpus.LOAD_TIME)
    return src, db


def test_one_row_per_rejected_input_row_with_all_its_reasons(warehouse: tuple[Path, Path]) -> None:
    _, db = warehouse
    frame = resubmit_frame(db, "case_f_rules.csv")
    # rows 2-5 were quarantined, one line each however many checks a row failed
    assert frame[RESUBMIT_HEADER].to_list() == ["case_f_rules.csv:2", "case_f_rules.csv:3", "case_f_rules.csv:4",
                                                "case_f_rules.csv:5"]  # fmt: skip
    assert frame.columns[: len(tables.CASE.column_names)] == list(tables.CASE.column_names)
    assert frame.columns[-2:] == [RESUBMIT_HEADER, REASON_HEADER]
    assert frame.filter(pl.col(RESUBMIT_HEADER).str.ends_with(":5"))["channel"].item() == "fax"
    n_checks = wh.query(db, "SELECT row_number, count(*) AS n FROM quarantine WHERE source_file = 'case_f_rules.csv' "
                            "GROUP BY ALL ORDER BY 1")["n"].to_list()  # fmt: skip
    assert [r.count("\n") + 1 for r in frame[REASON_HEADER]] == n_checks
    assert all(r.startswith("文件 case_f_rules.csv") for r in frame[REASON_HEADER])
    with pytest.raises(NothingToResubmitError):
        resubmit_frame(db, "district.csv")


def test_round_trip_export_correct_ingest(warehouse: tuple[Path, Path], tmp_path: Path) -> None:
    """Export → correct the cells → ingest as a new file → every row loads and the earlier quarantine is resolved."""
    _, db = warehouse
    out = tmp_path / "rating_fix_rating_1.csv"
    assert write_resubmit(db, "rating_1.csv", out) == 6  # rows 3-8 of rating_1.csv
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    sheet = pl.read_csv(io.BytesIO(raw), infer_schema_length=0).fill_null("")
    assert sheet["rating_id"].to_list() == ["R2", "R3", "R4", "R5", "R6", ""]  # the ragged row cannot be split
    ragged = sheet.row(5, named=True)
    assert "R7,C001,app" in ragged[REASON_HEADER] and ragged[RESUBMIT_HEADER] == "rating_1.csv:8"
    # the clerk corrects the cells where they are, keeps the other columns, saves and resubmits
    fixes = {"R2": {"level": "5"}, "R3": {"level": "4"}, "R4": {"rated_at": "2025-03-05 10:00:00"},
             "R5": {"case_id": "C001"}, "R6": {"prompt_source": "staff"}}  # fmt: skip
    rows = []
    for r in sheet.iter_rows(named=True):
        if not r["rating_id"]:
            r.update({k: v for k, v in corpus.rating_row("R7", comment="ok").items()})
        else:
            r.update(fixes[r["rating_id"]])
        rows.append(r)
    corrected = pl.DataFrame(rows, schema=sheet.schema, orient="row")
    out.write_bytes(b"\xef\xbb\xbf" + corrected.write_csv().encode("utf-8"))
    report = ingest_files([out], db, now=corpus.LOAD_TIME)
    f = report.files[0]
    assert (f.status, f.rows_in, f.rows_loaded, f.rows_quarantined, f.rows_resolved) == ("loaded", 6, 6, 0, 6)
    assert "6 earlier quarantined row(s) resolved" in f.message
    open_rows = wh.query(db, "SELECT count(*) AS n FROM quarantine WHERE source_file = 'rating_1.csv' "
                             "AND resolved_by_file_id IS NULL")["n"].item()  # fmt: skip
    assert open_rows == 0
    ids = wh.query(db, "SELECT rating_id FROM rating ORDER BY rating_id")["rating_id"].to_list()
    assert {"R1", "R2", "R3", "R4", "R5", "R6", "R7"} <= set(ids)
    with pytest.raises(NothingToResubmitError):  # nothing left to correct
        resubmit_frame(db, "rating_1.csv")


def test_a_corrected_row_in_any_later_file_resolves_by_key(warehouse: tuple[Path, Path], tmp_path: Path) -> None:
    """Without the source-row column, a later file that loads the quarantined row's key resolves it too."""
    _, db = warehouse
    p = tmp_path / "case_z_later.csv"
    p.write_text(",".join(corpus.CASE_HEADER) + "\n" + ",".join(corpus.case_row("C504")[h] for h in corpus.CASE_HEADER)
                 + "\n", encoding="utf-8")  # fmt: skip
    f = ingest_files([p], db, now=corpus.LOAD_TIME).files[0]
    assert f.rows_resolved == 1
    left = resubmit_frame(db, "case_f_rules.csv")[RESUBMIT_HEADER].to_list()
    assert left == ["case_f_rules.csv:2", "case_f_rules.csv:3", "case_f_rules.csv:4"]


def test_formula_looking_cells_are_neutralised() -> None:
    assert neutralise("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("+86 21") == "'+86 21"
    assert neutralise("-1") == "-1" and neutralise("-2.5e3") == "-2.5e3" and neutralise("办事") == "办事"


def test_an_unchanged_file_says_its_open_quarantined_rows_are_not_checked_again_and_how_to_retry(
    warehouse: tuple[Path, Path],
) -> None:
    """Dropping the same file again does not re-validate its quarantined rows (issue 16.2: skipped by checksum); the
    clerk is told how many are still open and which command writes the sheet that retries them."""
    src, db = warehouse
    again = {f.name: f for f in ingest_folder(src, db, now=corpus.LOAD_TIME).files}
    rating = again["rating_1.csv"]
    assert rating.status == "unchanged"
    assert "6 row(s) of rating_1.csv are still quarantined" in rating.message, rating.message
    assert "govindex quarantine --resubmit rating_1.csv" in rating.message
    assert "仍有 6 行被隔离" in rating.message
    assert again["district.csv"].status == "unchanged" and "quarantined" not in again["district.csv"].message
