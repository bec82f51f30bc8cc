"""The read-ahead (etl.ingest.readahead): the next file is read while this one is loaded, and nothing the ingest
decides changes with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from etl.ingest import files as ingest
from etl.ingest import readers
from etl.warehouse import connection as warehouse
from tests.etl.ingest import corpus


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """What an ingest leaves that a person reads: the log, the quarantine, the superseded rows, every table's rows."""
    out: dict[str, list[tuple[object, ...]]] = {}
    with warehouse.connection(db, read_only=True) as con:
        out["ingest_files"] = con.sql(
            'SELECT "file_name", "table_name", "sha256", "rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate", '
            '"rows_superseded", "rows_blank", "encoding", "status", "message" FROM "ingest_files" ORDER BY "file_id"'
        ).fetchall()
        out["quarantine"] = con.sql(
            'SELECT "source_file", "row_number", "column_name", "check_name", "value", "reason", "original_row", '
            '"resolved_by_file_id" IS NULL FROM "quarantine" ORDER BY ALL'
        ).fetchall()
        for t in ("superseded", *sorted(ingest.tables.TABLES)):
            cols = "*" if t != "superseded" else '"table_name", "key", "old_row", "superseded_by_file", "superseded_by_row"'
            out[t] = con.sql(f'SELECT {cols} FROM "{t}" ORDER BY ALL').fetchall()
    return out


def test_the_next_file_is_read_while_this_one_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the first file's rows go into the warehouse, the second file is already being read (on the worker)."""
    corpus.build(tmp_path / "inbox")
    order = [n for _, n in sorted(ingest.discover(tmp_path / "inbox")[0], key=ingest.load_order_key)]
    real_chunks, real_load = readers.iter_chunks, ingest._dedupe_and_load
    second_read = threading.Event()
    seen: list[bool] = []

    def chunks(src: readers.SourceFile, *a: object, **k: object) -> object:
        if src.name == order[1]:
            second_read.set()
        return real_chunks(src, *a, **k)  # type: ignore[arg-type]

    def load(con: object, table: object, rep: ingest.FileReport, *a: object, **k: object) -> None:
        if rep.name == order[0]:
            seen.append(second_read.wait(timeout=30))  # a generous bound: the read starts at once, or never
        real_load(con, table, rep, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(readers, "iter_chunks", chunks)
    monkeypatch.setattr(ingest, "_dedupe_and_load", load)
    ingest.ingest_folder(tmp_path / "inbox", tmp_path / "wh.duckdb", now=corpus.LOAD_TIME)
    assert seen and all(seen)  # (a group replayed after a failing file loads the first file again)


def test_reading_ahead_changes_nothing_the_ingest_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus (every kind of bad row and file) ingested with the read-ahead and without it (every file read on
    the ingest's thread) leaves the same log, quarantine, superseded rows and tables, twice over (the second batch
    finds every file unchanged)."""
    corpus.build(tmp_path / "inbox")
    ahead, alone = tmp_path / "ahead.duckdb", tmp_path / "alone.duckdb"
    for _ in range(2):
        ingest.ingest_folder(tmp_path / "inbox", ahead, now=corpus.LOAD_TIME)
    monkeypatch.setattr(ingest.readahead.Readahead, "_schedule", lambda self, item: None)  # no file read ahead
    for _ in range(2):
        ingest.ingest_folder(tmp_path / "inbox", alone, now=corpus.LOAD_TIME)
    assert _snapshot(ahead) == _snapshot(alone)


def test_an_unchanged_file_is_only_checksummed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch with nothing new reads each file once, for its checksum: the read-ahead does not parse files whose
    bytes were ingested already."""
    corpus.build(tmp_path / "inbox")
    ingest.ingest_folder(tmp_path / "inbox", tmp_path / "wh.duckdb", now=corpus.LOAD_TIME)
    opened: list[str] = []
    real = readers.inspect_file
    monkeypatch.setattr(readers, "inspect_file", lambda p, *a, **k: (opened.append(p.name), real(p, *a, **k))[1])
    report = ingest.ingest_folder(tmp_path / "inbox", tmp_path / "wh.duckdb", now=corpus.LOAD_TIME)
    unchanged = {f.name for f in report.files if f.status == "unchanged"}
    assert unchanged and not unchanged & set(opened)
