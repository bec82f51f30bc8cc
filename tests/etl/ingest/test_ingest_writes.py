"""How the ingest writes: one checkpoint per batch (not one per file's commit), rows written once (file → target),
consecutive files in one transaction (a failing one replayed alone, an interrupt leaving no file half-loaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.contract import tables
from etl.ingest import files as ingest
from etl.jobs import snapshots
from etl.warehouse import connection as warehouse
from tests.conftest import Warehouses


@pytest.fixture(scope="module")
def source(warehouses: Warehouses) -> Path:
    return warehouses.demo_sources(months=3, scale=0.05)


def test_commits_of_a_batch_do_not_checkpoint_file_by_file(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    wal = snapshots.wal_path(db)
    sizes: list[int] = []
    real_finish = ingest._finish

    def finish(*args: object, **kwargs: object) -> object:
        sizes.append(wal.stat().st_size if wal.exists() else 0)  # after the file's COMMIT
        return real_finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_finish", finish)
    monkeypatch.setattr(ingest, "GROUP_BYTES", 1)  # a transaction per file: each one's commit is seen by the next
    con = warehouse.connect(db)
    try:
        warehouse.execute(con, "SET checkpoint_threshold = '1KB'")  # any commit would checkpoint
        setting = warehouse.scalar(con, "SELECT current_setting('checkpoint_threshold')")
        report = ingest.ingest_folder(source, con)
        assert report.rows_loaded > 0
        # Each file's commit only appended to the WAL (durable); nothing was folded into the file in between.
        assert sizes == sorted(sizes) and sizes[-1] > sizes[0] > 0, sizes
        assert not wal.exists() or wal.stat().st_size == 0  # the one checkpoint at the end of the batch
        assert warehouse.scalar(con, "SELECT current_setting('checkpoint_threshold')") == setting  # restored
    finally:
        con.close()


def test_rows_go_from_the_file_to_the_table_without_a_temp_table(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    real = warehouse.execute

    def spy(con: warehouse.Connection, sql: str, params: object = None) -> None:
        statements.append(sql)
        real(con, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(warehouse, "execute", spy)
    src = tmp_path / "src"
    shutil.copytree(source, src)
    report = ingest.ingest_folder(src, tmp_path / "w.duckdb")
    assert report.rows_loaded > 0
    into_stage = [s for s in statements if f'INTO "{ingest.STAGE}"' in s or f'TABLE "{ingest.STAGE}"' in s]
    assert into_stage == [], into_stage[:3]


def test_a_large_file_spills_its_stage_to_disk_with_the_same_result(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file above STAGE_MEMORY_BYTES is staged in a temp table (bounded memory); every table ends up the same."""
    now = ingest.local_now()

    def build(db: Path) -> dict[str, list[tuple[object, ...]]]:
        report = ingest.ingest_folder(source, db, now=now)  # the same load time: messages quote it
        assert report.rows_loaded > 0 and report.rows_duplicate > 0 and report.rows_quarantined > 0
        with warehouse.connection(db, read_only=True) as con:
            out = {}
            for t in (*tables.TABLES, "quarantine", "superseded"):
                cols = [c for c in warehouse.query(con, f"SELECT * FROM {warehouse.quote(t)} LIMIT 0").columns
                        if c not in ("started_at", "finished_at", "superseded_at")]  # fmt: skip
                sel = ", ".join(warehouse.quote(c) for c in cols)
                out[t] = sorted(warehouse.query(con, f"SELECT {sel} FROM {warehouse.quote(t)}").rows(), key=repr)
            out["ingest_files"] = warehouse.query(
                con, "SELECT file_name, rows_in, rows_loaded, rows_quarantined, rows_duplicate, rows_superseded, "
                "rows_blank, status FROM ingest_files ORDER BY file_id").rows()  # fmt: skip
        return out

    in_memory = build(tmp_path / "a.duckdb")
    monkeypatch.setattr(ingest, "STAGE_MEMORY_BYTES", 0)  # every file spills
    spilled_tables: list[str] = []
    real_append = ingest.Stage.append

    def append(self: ingest.Stage, frame: object) -> None:
        real_append(self, frame)  # type: ignore[arg-type]
        if self.spilled:
            spilled_tables.append(self.table.name)

    monkeypatch.setattr(ingest.Stage, "append", append)
    assert build(tmp_path / "b.duckdb") == in_memory
    assert set(spilled_tables) >= {"case", "rating"}


def test_repeated_keys_are_looked_for_in_sql_only_in_files_that_repeat_a_key(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file held in memory whose keys are all distinct (nearly every file) is not grouped by key in SQL: its
    rows' keys are counted in polars; only a file that repeats a key gets the temp table of repeated keys."""
    grouped: list[str] = []
    real = warehouse.execute

    def spy(con: warehouse.Connection, sql: str, params: object = None) -> None:
        if f"TABLE {warehouse.quote(ingest.DUP_KEYS)}" in sql and sql.startswith("CREATE"):
            grouped.append(sql)
        real(con, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(warehouse, "execute", spy)
    report = ingest.ingest_folder(source, tmp_path / "w.duckdb")
    loaded = [f for f in report.files if f.status in ("loaded", "partial")]
    repeating = [f for f in loaded if f.rows_duplicate or f.rows_quarantined]
    assert len(loaded) > len(repeating) and report.rows_duplicate > 0
    assert 1 <= len(grouped) <= len(repeating), (len(grouped), len(repeating), len(loaded))


def _accounted(con: warehouse.Connection) -> dict[str, tuple[int, int]]:
    """Per table: (rows in the table, rows the ingest_files log says were loaded, less those superseded)."""
    out = {}
    for t in tables.TABLES:
        logged = warehouse.scalar(con, 'SELECT coalesce(sum("rows_loaded" - "rows_superseded"), 0) FROM "ingest_files" '
                                       'WHERE "table_name" = ?', [t])  # fmt: skip
        out[t] = (warehouse.row_count(con, t), int(logged))
    return out


def _spy_load(monkeypatch: pytest.MonkeyPatch, fail_on: str, error: type[BaseException]) -> list[int]:
    """Make `_load` raise `error` after loading the file named `fail_on` (its rows written: the rollback must take
    them back); returns the list the transaction id of each file's log line is appended to."""
    txids: list[int] = []
    real_load, real_finish = ingest._load, ingest._finish

    def load(con: warehouse.Connection, src: object, *a: object, **k: object) -> None:
        real_load(con, src, *a, **k)  # type: ignore[arg-type]
        if src.name == fail_on:  # type: ignore[attr-defined]
            raise error("injected")

    def finish(con: warehouse.Connection, *a: object, **k: object) -> object:
        txids.append(int(warehouse.scalar(con, "SELECT txid_current()")))
        return real_finish(con, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_load", load)
    monkeypatch.setattr(ingest, "_finish", finish)
    return txids


def test_consecutive_files_share_one_transaction(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files are not committed one by one (each commit of a file under a row group went through the WAL):
    the log lines of a group's files are written in the same transaction as their rows."""
    txids = _spy_load(monkeypatch, "", RuntimeError)
    report = ingest.ingest_folder(source, tmp_path / "w.duckdb")
    assert len(txids) == len(report.files) > 2
    assert len(set(txids)) < len(txids) / 2, txids
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        assert all(n == logged for n, logged in _accounted(con).values())


def test_a_file_failing_inside_a_group_is_rejected_alone(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [n for _, n in sorted(ingest.discover(source)[0], key=ingest.load_order_key)]
    victim = names[len(names) // 2]
    _spy_load(monkeypatch, victim, RuntimeError)
    report = ingest.ingest_folder(source, tmp_path / "w.duckdb")
    by_name = {f.name: f for f in report.files}
    assert [f.name for f in report.files] == names  # each file reported once, in load order
    assert by_name[victim].status == "rejected" and by_name[victim].rows_in == 0
    assert all(f.status in ("loaded", "partial") for f in report.files if f.name != victim)
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        assert all(n == logged for n, logged in _accounted(con).values())
        assert warehouse.scalar(con, 'SELECT count(*) FROM "quarantine" WHERE "source_file" = ? AND "row_number" > 0',
                                [victim]) == 0  # fmt: skip


def test_an_interrupt_inside_a_group_leaves_no_file_half_loaded(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = ingest.discover(source)[0]
    names = [n for _, n in sorted(found, key=ingest.load_order_key)]
    monkeypatch.setattr(ingest, "GROUP_BYTES", sum(p.stat().st_size for p, _ in found) // 4)  # a few groups
    _spy_load(monkeypatch, names[len(names) // 2], KeyboardInterrupt)
    with pytest.raises(KeyboardInterrupt):
        ingest.ingest_folder(source, tmp_path / "w.duckdb")
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        accounted = _accounted(con)
        assert all(n == logged for n, logged in accounted.values()), accounted
        assert 0 < warehouse.scalar(con, 'SELECT count(*) FROM "ingest_files"') < len(names)
