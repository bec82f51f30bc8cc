"""The Parquet export Spark reads: every row of every table, partitioned by event-time month, replaced atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from etl.contract import tables
from etl.warehouse import connection as warehouse
from etl.warehouse.parquet_export import PARTITION_COLUMN, export_table, export_tables, exportable_tables


@pytest.fixture(scope="module")
def demo_db(warehouses: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return warehouses.demo(tmp_path_factory.mktemp("export-demo"))  # type: ignore[no-any-return]


@pytest.mark.slow  # builds the demo warehouse (shared with the other demo tests of the run)
def test_every_row_of_every_raw_table_is_exported_and_event_tables_are_split_by_month(
    demo_db: Path, tmp_path: Path
) -> None:
    with warehouse.connection(demo_db, read_only=True) as con:
        exported = export_tables(con, tmp_path)
        counts = {t.name: warehouse.row_count(con, t.name) for t in exported}
        months = {
            name: {r[0] for r in con.sql(
                f"SELECT DISTINCT strftime(CAST({warehouse.quote(t.event_time)} AS TIMESTAMP), '%Y-%m') "
                f"FROM {warehouse.quote(name)}").fetchall()}
            for name, t in tables.TABLES.items() if t.event_time and counts.get(name)
        }
    assert [t.name for t in exported] == [n for n in tables.load_order() if n in counts]
    for t in exported:
        back = duckdb.sql(f"SELECT count(*) FROM read_parquet('{t.path}/**/*.parquet')").fetchall()[0]
        assert back == (counts[t.name],) == (t.rows,), t.name
        if t.name in months:
            assert t.partitioned_by == PARTITION_COLUMN
            assert {p.name.split("=", 1)[1] for p in t.path.iterdir()} == months[t.name]
        else:
            assert t.partitioned_by is None and [p.name for p in t.path.iterdir()] == ["part-0.parquet"]
    assert not list(tmp_path.glob(".*.building"))


def test_an_empty_event_table_is_one_file_with_its_columns_and_a_reexport_replaces_the_folder(
    tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    with warehouse.connection(db) as con:
        first = export_table(con, "case", tmp_path / "pq")
        assert first.rows == 0 and first.partitioned_by is None
        cols = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{first.path}/part-0.parquet'").fetchall()]
        assert cols == list(tables.TABLES["case"].column_names)
        (first.path / "stale.parquet").write_bytes(b"")
        again = export_table(con, "case", tmp_path / "pq")
        assert [p.name for p in again.path.iterdir()] == ["part-0.parquet"]


def test_extra_tables_are_exported_only_when_present(tmp_path: Path) -> None:
    with warehouse.connection(tmp_path / "w.duckdb") as con:
        con.sql("CREATE TABLE workdays (day DATE)")
        names = exportable_tables(con, ["workdays", "no_such_table", "case"])
    assert names[-1] == "workdays" and "no_such_table" not in names and names.count("case") == 1
