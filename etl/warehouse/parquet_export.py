"""Export the cleaned warehouse tables as partitioned Parquet: what a distributed engine (Spark) reads.

Layout (Hive-style, one folder per table): `<dest>/<table>/_month=YYYY-MM/*.parquet` for a table with an event time
(the contract's Table.event_time: cases by started_at, ratings by rated_at, …), so a month's new records are a new
folder and a reader can skip months; `<dest>/<table>/part-0.parquet` for a snapshot table (district, service_item).
The partition column `_month` is not part of the table: readers drop it (etl.warehouse.indicator_values_spark).
Each export replaces the folder as a whole, written beside it and renamed into place, so a reader never sees half.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from etl.contract import tables
from etl.warehouse import connection as warehouse

PARTITION_COLUMN = "_month"


@dataclass(frozen=True)
class ExportedTable:
    """One exported table: its folder, row count, bytes on disk and the partition column (None: one file)."""

    name: str
    path: Path
    rows: int
    bytes: int
    partitioned_by: str | None


def exportable_tables(con: warehouse.Connection, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The contract's raw tables present in the warehouse, then any `extra` table present (e.g. every table the
    indicator catalog names), in that order without repeats."""
    present = set(warehouse.table_names(con))
    out: list[str] = []
    for name in (*tables.load_order(), *extra):
        if name in present and name not in out:
            out.append(name)
    return out


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def export_table(con: warehouse.Connection, name: str, dest: Path) -> ExportedTable:
    """Write table `name` to `dest/<name>/` (replacing it), partitioned by event-time month when it has one."""
    final = dest / name
    building = dest / f".{name}.building"
    shutil.rmtree(building, ignore_errors=True)
    contract = tables.TABLES.get(name)
    event = contract.event_time if contract is not None else None
    q = warehouse.quote(name)
    rows = warehouse.row_count(con, name)
    if event is not None and rows:  # an empty table is one empty file, so readers still find its columns
        building.mkdir(parents=True)
        month = f"coalesce(strftime(CAST({warehouse.quote(event)} AS TIMESTAMP), '%Y-%m'), 'none')"
        warehouse.execute(
            con,
            f"COPY (SELECT *, {month} AS {PARTITION_COLUMN} FROM {q}) TO '{building}' "
            f"(FORMAT parquet, PARTITION_BY ({PARTITION_COLUMN}), COMPRESSION zstd)",
        )
    else:
        building.mkdir(parents=True)
        warehouse.execute(
            con, f"COPY (SELECT * FROM {q}) TO '{building / 'part-0.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
        )
    shutil.rmtree(final, ignore_errors=True)
    building.rename(final)
    return ExportedTable(name, final, rows, _size(final), PARTITION_COLUMN if event is not None and rows else None)


def export_tables(
    con: warehouse.Connection, dest: str | Path, extra: tuple[str, ...] | list[str] = ()
) -> list[ExportedTable]:
    """Export every table of `exportable_tables(con, extra)` under `dest` (created if need be)."""
    folder = Path(dest)
    folder.mkdir(parents=True, exist_ok=True)
    return [export_table(con, name, folder) for name in exportable_tables(con, extra)]
