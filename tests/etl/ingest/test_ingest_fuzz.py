"""Randomly corrupted files never crash the ingest and every input row is accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.warehouse import connection as wh
from etl.ingest.files import ingest_folder
from tests.etl.ingest import corpus

pytestmark = pytest.mark.slow  # 30 corrupted corpora, each through the real ingest

_BASE: dict[str, bytes] = {}


def _base_files() -> dict[str, bytes]:
    if not _BASE:
        with tempfile.TemporaryDirectory() as d:
            corpus.build(Path(d))
            for name in ("district.csv", "service_item_gb.csv", "case_a_bom.csv", "case_c.parquet",
                         "case_b_export.xlsx", "rating_1.csv", "case_f_rules.csv"):  # fmt: skip
                _BASE[name] = (Path(d) / name).read_bytes()
    return _BASE


@st.composite
def corruption(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "drop_line", "dup_line", "swap", "none"]))
    if not data:
        return data
    if kind == "flip":
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 5))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] = draw(st.integers(0, 255))
        return bytes(b)
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    lines = data.split(b"\n")
    if kind == "drop_line" and len(lines) > 1:
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif kind == "dup_line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
    elif kind == "swap" and len(lines) > 1:
        i = draw(st.integers(0, len(lines) - 1))
        fields = lines[i].split(b",")
        if len(fields) > 1:
            a, c = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
            fields[a], fields[c] = fields[c], fields[a]
            lines[i] = b",".join(fields)
    return b"\n".join(lines)


@st.composite
def corrupted_corpus(draw: st.DrawFn) -> dict[str, bytes]:
    return {name: draw(corruption(data)) for name, data in _base_files().items()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=corrupted_corpus())
def test_corrupted_files_never_crash_and_never_lose_a_row(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "inbox"
        src.mkdir()
        for name, data in files.items():
            (src / name).write_bytes(data)
        report = ingest_folder(src, Path(d) / "wh.duckdb", now=corpus.LOAD_TIME)
        assert len(report.files) == len(files)
        for f in report.files:
            assert f.rows_in == f.rows_loaded + f.rows_quarantined + f.rows_duplicate + f.rows_blank, f
            if f.status == "rejected":
                assert f.message and f.rows_in == 0
        with wh.connection(Path(d) / "wh.duckdb", read_only=True) as con:
            log = wh.query(con, "SELECT sum(rows_in) i, sum(rows_loaded) l, sum(rows_quarantined) q, "
                                "sum(rows_duplicate) u, count(*) n FROM ingest_files").row(0, named=True)  # fmt: skip
            assert (log["i"], log["l"], log["q"], log["u"]) == (
                report.rows_in, report.rows_loaded, report.rows_quarantined, report.rows_duplicate
            )
            # quarantined rows counted once each, however many checks they failed; a rejected file has exactly one
            # whole-file record (row 0) in the quarantine
            per_file = wh.query(con, "SELECT f.file_name, f.status, f.rows_quarantined AS n, "
                                     "count(DISTINCT q.row_number) FILTER (WHERE q.row_number > 0) AS d, "
                                     "count(q.file_id) FILTER (WHERE q.row_number = 0) AS whole "
                                     "FROM ingest_files f LEFT JOIN quarantine q USING (file_id) "
                                     "GROUP BY ALL")  # fmt: skip
            for r in per_file.iter_rows(named=True):
                assert r["n"] == r["d"], r
                assert r["whole"] == (1 if r["status"] == "rejected" else 0), r
            # loaded rows are really in the tables (nothing superseded in this corpus beyond what is recorded)
            loaded = sum(wh.row_count(con, t) for t in ("district", "service_item", "case", "rating"))
            superseded = wh.row_count(con, "superseded")
            assert loaded == report.rows_loaded - superseded
