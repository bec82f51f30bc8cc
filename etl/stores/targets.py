"""Targets (目标值) per district × indicator × cycle, in the loop store: set by an assessor or a leader with a reason,
versioned (every setting is a new version, nothing overwritten) and recorded in the store's hash-chained change
record. The catalog's target is the default wherever none was set.

API:
- `set_target(store, actor, unit_code, indicator_id, cycle, value, reason, *, catalog=None, now=None) -> Target`:
  a new version; `value=None` returns the indicator to the catalog target. Refused (LoopError, nothing changed) for
  a role without SET_TARGETS, an unknown district / indicator / cycle, a value that is not a number or lies outside
  the indicator's possible range, or an empty reason.
- `target_history(store, unit_code, indicator_id, cycle) -> list[Target]`: every version, oldest first.
- `current_targets(store) -> dict[(unit, indicator, cycle), Target]`: the latest version of each.
- `effective_targets(store, period, catalog=None) -> pl.DataFrame`: one row per district × indicator with the target
  that holds for `period` (its own cycle, else its year, else the catalog): unit_code, indicator_id, target,
  source ('set' | 'catalog'), cycle, version, who, at_utc, reason.
- `status_frame(store, values, period, amber_band, catalog=None)`: `values` (unit_code, indicator_id, value) with
  target, direction, span and the red/amber/green `status` (indicators/targets.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from etl.contract.catalog import load_catalog
from etl.stores.loop import (
    Actor, BadInput, LoopStore, check_unit, clean_text, iso, may_set_targets, record_event,
    refuse,
)
from indicators.catalog import Catalog
from indicators.targets import cycle_chain, is_cycle, possible_range, rag_frame


@dataclass(frozen=True)
class Target:
    """One version of a target."""

    unit_code: str
    indicator_id: str
    cycle: str
    version: int
    value: float | None  # None: back to the catalog's target
    reason: str
    who: str
    role: str
    at_utc: str


def _catalog(catalog: Catalog | None) -> Catalog:
    return catalog if catalog is not None else load_catalog()


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise BadInput("loop.err.target_number", value=str(value)) from None
    if not math.isfinite(x):
        raise BadInput("loop.err.target_number", value=str(value))
    return x


def set_target(store: LoopStore, actor: Actor, unit_code: str, indicator_id: str, cycle: str, value: Any,
               reason: str, *, catalog: Catalog | None = None, now: datetime | None = None) -> Target:
    """Set (a new version of) a target; see the module docstring for what is refused."""
    if not may_set_targets(actor):
        raise refuse(actor, "targets")
    check_unit(unit_code, store.units())
    cat = _catalog(catalog)
    if indicator_id not in cat:
        raise BadInput("loop.err.unknown_indicator", indicator=indicator_id)
    if not is_cycle(cycle):
        raise BadInput("loop.err.bad_cycle", cycle=cycle)
    x = _number(value)
    ind = cat.indicator(indicator_id)
    low, high = possible_range(ind.unit)
    if x is not None and not (low <= x <= high):
        raise BadInput("loop.err.target_range", value=value, name_zh=ind.name_zh, name_en=ind.name_en,
                       low=f"{low:g}", high="∞" if math.isinf(high) else f"{high:g}", unit=ind.unit)
    why = clean_text(reason, "reason", limit=1000)
    at = iso(store.clock(now))
    with store.transaction() as con:
        row = con.execute("SELECT MAX(version) FROM targets WHERE unit_code = ? AND indicator_id = ? AND cycle = ?",
                          (unit_code, indicator_id, cycle)).fetchone()
        version = int(row[0] or 0) + 1
        con.execute("INSERT INTO targets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (unit_code, indicator_id, cycle, version, x, why, actor.name, actor.role, at))
        record_event(con, actor, "target_set", f"target:{unit_code}/{indicator_id}/{cycle}",
                     {"version": version, "value": x, "reason": why, "catalog_target": ind.target}, at)
    return Target(unit_code, indicator_id, cycle, version, x, why, actor.name, actor.role, at)


def _target(r: Any) -> Target:
    return Target(r["unit_code"], r["indicator_id"], r["cycle"], int(r["version"]), r["value"], r["reason"],
                  r["who"], r["role"], r["at_utc"])


def target_history(store: LoopStore, unit_code: str, indicator_id: str, cycle: str) -> list[Target]:
    with store.connect() as con:
        rows = con.execute("SELECT * FROM targets WHERE unit_code = ? AND indicator_id = ? AND cycle = ? "
                           "ORDER BY version", (unit_code, indicator_id, cycle)).fetchall()
    return [_target(r) for r in rows]


def _units_of(store: LoopStore, current: Mapping[tuple[str, str, str], Target]) -> list[str]:
    """The units targets are looked up for: the unit table's, else the units targets were set for."""
    units = store.units()
    return list(units.codes) if units is not None else sorted({u for u, _i, _c in current})


def current_targets(store: LoopStore) -> dict[tuple[str, str, str], Target]:
    with store.connect() as con:
        rows = con.execute(
            "SELECT t.* FROM targets t JOIN (SELECT unit_code, indicator_id, cycle, MAX(version) AS v FROM targets "
            "GROUP BY 1, 2, 3) m ON t.unit_code = m.unit_code AND t.indicator_id = m.indicator_id "
            "AND t.cycle = m.cycle AND t.version = m.v").fetchall()
    return {(r["unit_code"], r["indicator_id"], r["cycle"]): _target(r) for r in rows}


TARGET_SCHEMA: dict[str, Any] = {
    "unit_code": pl.String, "indicator_id": pl.String, "target": pl.Float64, "source": pl.String,
    "cycle": pl.String, "version": pl.Int64, "who": pl.String, "at_utc": pl.String, "reason": pl.String,
}


def effective_targets(store: LoopStore, period: str, catalog: Catalog | None = None) -> pl.DataFrame:
    """The target that holds for `period`, per district × indicator (TARGET_SCHEMA)."""
    cat = _catalog(catalog)
    current = current_targets(store)
    rows: list[tuple[Any, ...]] = []
    for unit in _units_of(store, current):
        for ind in cat:
            chosen = next((current[(unit, ind.id, c)] for c in cycle_chain(period) if (unit, ind.id, c) in current),
                          None)
            if chosen is not None and chosen.value is not None:
                rows.append((unit, ind.id, chosen.value, "set", chosen.cycle, chosen.version, chosen.who,
                             chosen.at_utc, chosen.reason))
            else:
                rows.append((unit, ind.id, ind.target, "catalog", None, None, None, None, None))
    return pl.DataFrame(rows, schema=TARGET_SCHEMA, orient="row")


def status_frame(store: LoopStore, values: pl.DataFrame, period: str, amber_band: float,
                 catalog: Catalog | None = None) -> pl.DataFrame:
    """`values` (unit_code, indicator_id, value) joined with the effective targets, direction, goalpost span and the
    red/amber/green status."""
    cat = _catalog(catalog)
    meta = pl.DataFrame([(i.id, i.direction, i.goalposts.high - i.goalposts.low) for i in cat],
                        schema={"indicator_id": pl.String, "direction": pl.Int64, "span": pl.Float64}, orient="row")
    frame = (values.select("unit_code", "indicator_id", pl.col("value").cast(pl.Float64))
             .join(effective_targets(store, period, cat).select("unit_code", "indicator_id", "target", "source"),
                   on=["unit_code", "indicator_id"], how="left")
             .join(meta, on="indicator_id", how="left"))
    return rag_frame(frame, amber_band)
