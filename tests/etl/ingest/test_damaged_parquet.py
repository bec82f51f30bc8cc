"""A damaged Parquet file is refused with an error; it never panics the reader or aborts the ingest's process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from etl.ingest import files, readers
from etl.ingest.files import ingest_folder
from tests.etl.ingest import corpus

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_thousands_of_damaged_copies_are_read_or_refused_never_crash(tmp_path: Path) -> None:
    corpus.build(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "tests.etl.ingest.damaged_parquet", str(tmp_path / "case_c.parquet"), "2500", "7"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "RUST_BACKTRACE": "0", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    counts = json.loads(run.stdout.strip().splitlines()[-1])
    assert counts["read"] + counts["refused"] == 2500
    assert counts["refused"] > 0 and counts["read"] > 0  # the damage really reaches both outcomes


def test_a_panicking_reader_rejects_its_file_and_the_batch_goes_on(tmp_path: Path, monkeypatch) -> None:
    corpus.build(tmp_path / "inbox")
    real = readers.iter_chunks

    def panics_on_parquet(src, *a, **k):
        if src.name.endswith(".parquet"):
            raise pl.exceptions.PanicException("assertion failed: offset + length <= self.length")
        return real(src, *a, **k)

    monkeypatch.setattr(files.readers, "iter_chunks", panics_on_parquet)
    report = ingest_folder(tmp_path / "inbox", tmp_path / "wh.duckdb", now=corpus.LOAD_TIME)
    parquet = [f for f in report.files if f.name.endswith(".parquet")]
    assert parquet and all(f.status == "rejected" and f.rows_in == 0 and f.message for f in parquet)
    assert any(f.status in ("loaded", "partial") for f in report.files)


def test_an_interrupt_still_stops_the_batch(tmp_path: Path, monkeypatch) -> None:
    corpus.build(tmp_path / "inbox")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.readers, "iter_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest_folder(tmp_path / "inbox", tmp_path / "wh.duckdb", now=corpus.LOAD_TIME)
