"""`govindex ingest` and `govindex quarantine` as a person runs them (subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.etl.ingest import corpus

pytestmark = pytest.mark.slow  # the CLI ingests a generated corpus in subprocesses

GOVINDEX = str(Path(sys.executable).with_name("govindex"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVINDEX, *args], capture_output=True, text=True, timeout=300)


def test_ingest_then_quarantine(tmp_path: Path) -> None:
    src, db = tmp_path / "inbox", tmp_path / "wh.duckdb"
    corpus.build(src)
    r = run("ingest", "--source", str(src), "--db", str(db))
    assert r.returncode == 0, r.stderr
    assert "rating_1.csv" in r.stdout and "partial" in r.stdout and "rejected" in r.stdout
    assert "total" in r.stdout and "Traceback" not in r.stdout + r.stderr
    q = run("quarantine", "--db", str(db), "--table", "rating", "--limit", "0")
    assert q.returncode == 0, q.stderr
    assert "办事" in q.stdout and "列数不符" in q.stdout  # rich folds long cells; full text checked via --csv
    assert "field_count" not in q.stdout  # the problem is named in words, not by the internal check name
    out = tmp_path / "q.csv"
    q = run("quarantine", "--db", str(db), "--file", "rating_1.csv", "--csv", str(out))
    assert q.returncode == 0, q.stderr
    text = out.read_bytes().decode("utf-8-sig")
    assert "rating_1.csv row 3, column level: value '6'" in text and "办事很方便" in text
    assert "文件 rating_1.csv 第 3 行，level 列：值“6”不在允许值内" in text
    # whole-file rejections are listed too (row 0), with the catalogue's message
    q = run("quarantine", "--db", str(db), "--file", "kiosk_event_cut.parquet", "--csv", str(out))
    text = out.read_bytes().decode("utf-8-sig")
    assert q.returncode == 0 and "无法按 Parquet 读取" in text and "magic bytes" not in text
    # the fix-and-resubmit sheet: one row per rejected row, in the file's columns, with the reasons
    fix = tmp_path / "fix.csv"
    q = run("quarantine", "--db", str(db), "--resubmit", "rating_1.csv", "--out", str(fix))
    assert q.returncode == 0, q.stderr
    assert "rating_fix_rating_1.csv" in q.stdout
    lines = fix.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith(",".join(corpus.RATING_HEADER)) and sum(ln.startswith("R") for ln in lines) == 5
    q = run("quarantine", "--db", str(db), "--resubmit", "district.csv", "--out", str(fix))
    assert q.returncode != 0 and "没有待更正的隔离行" in q.stderr and "Traceback" not in q.stderr
    again = run("ingest", "--source", str(src), "--db", str(db))
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_nothing_processed_exits_nonzero(tmp_path: Path) -> None:
    r = run("ingest", "--source", str(tmp_path / "missing"), "--db", str(tmp_path / "w.duckdb"))
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mystery.csv").write_text("a\n1\n")
    (bad / "rating.csv").write_bytes(b"")
    r = run("ingest", "--source", str(bad), "--db", str(tmp_path / "w.duckdb"))
    assert r.returncode != 0 and "nothing could be processed" in r.stderr and "Traceback" not in r.stderr
