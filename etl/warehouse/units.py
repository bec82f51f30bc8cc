"""Read the unit table (the warehouse's `district` table) into indicators.units.Units: the one source of the units.

Users and roles (an official of a unit sees it and every unit under it), the loop store's names, alerts, tiles and
the map all ask here (or the app's snapshot, which reads the same table) instead of keeping a list of districts.
A warehouse of the Shanghai release has no level/parent_code/peer_group columns: they read as empty (flat units).
`units_at(path)` caches per file (inode, mtime), so a refresh's atomic swap is picked up on the next call.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb
import polars as pl

from etl.contract import tables
from etl.warehouse import connection as warehouse
from indicators.units import Units

_COLUMNS = ("district_code", "name_zh", "name_en", "level", "parent_code", "peer_group", "population", "pop_60plus")


def units_frame(con: warehouse.Connection) -> pl.DataFrame:
    """The `district` table's rows (every unit column; those a warehouse lacks are null), in code order."""
    if "district" not in warehouse.table_names(con):
        return pl.DataFrame(schema={c: warehouse.POLARS_TYPES[tables.DISTRICT.column(c).dtype] for c in _COLUMNS})
    have = {r[0] for r in con.sql("SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                                  "AND table_name = 'district'").fetchall()}
    cols = ", ".join(f'"{c}"' if c in have else f'CAST(NULL AS VARCHAR) AS "{c}"' for c in _COLUMNS)
    return con.sql(f'SELECT {cols} FROM "district" ORDER BY "district_code"').pl()


def read_units(con: warehouse.Connection) -> Units:
    """The warehouse's units as a hierarchy."""
    return Units.from_frame(units_frame(con))


_CACHE: dict[str, tuple[tuple[int, int], Units]] = {}
_LOCK = threading.Lock()


def units_at(path: str | os.PathLike[str]) -> Units | None:
    """The units of the warehouse file at `path` (read-only, cached per file version); None when there is no
    warehouse yet or its unit table is empty (callers then check a code's shape only)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return None
    key = (st.st_ino, st.st_mtime_ns)
    with _LOCK:
        hit = _CACHE.get(str(p))
        if hit is not None and hit[0] == key:
            return hit[1] if len(hit[1]) else None
    try:
        with warehouse.connection(p, read_only=True) as con:
            units = read_units(con)
    except (warehouse.WarehouseError, duckdb.Error, OSError):  # being written, another schema version: no units
        return None
    with _LOCK:
        _CACHE[str(p)] = (key, units)
    return units if len(units) else None


def scored_units(con: warehouse.Connection) -> pl.DataFrame:
    """`unit_code` of every unit the indicator SQL runs for: the units with no unit under them (the raw records'
    level). A parent (a province over its counties) gets its values by rolling its children's up
    (indicators.levels), from the same records, so it is never computed twice or from nothing."""
    units = read_units(con)
    return pl.DataFrame({"unit_code": sorted(units.leaves())}, schema={"unit_code": pl.String})
