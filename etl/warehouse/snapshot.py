"""All data access of the app: read the warehouse READ-ONLY into memory, close it, and reload when the file changes.

A DuckDB connection held open by the web server would lock out the refresh writer in another process, so every
load opens, reads what the pages need into polars frames and closes at once. A refresh swaps in a new snapshot
with os.replace, which changes the file's (st_ino, st_mtime_ns): `SnapshotCache.get` notices on the next request
and reloads, so the app picks up new data without a restart.

Scores have one home: the runs stored by `govindex refresh` / `govindex score` (`score_runs`, `scores`,
`uncertainty_runs`, `uncertainty_ranks`). The snapshot carries the latest stored run of each (profile, framework,
grain) over the warehouse's current data (`data_snapshot_id`), and the latest uncertainty summary of each
(profile, grain, period); the pages show those, not a re-computation.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from etl.ingest.quarantine import count_quarantine, list_quarantine
from etl.ingest.quarantine import empty as empty_quarantine
from etl.warehouse import connection as warehouse
from etl.warehouse.panel import covered_months_in
from indicators.units import Units

# Quarantined rows kept in memory; a pathological file could quarantine millions, the page only needs a window.
QUARANTINE_CAP = 200_000
# indicator_values' uncertainty columns (etl.warehouse.indicator_values.SCHEMA): numbers, then labels
INTERVAL_COLUMNS = ("n", "ci_low", "ci_high", "se")
INTERVAL_LABELS = ("interval_method", "missing_reason")

FileKey = tuple[int, int]
_UNITS: dict[int, tuple[pl.DataFrame, Units]] = {}  # id of a snapshot's district frame → its Units (built once)


def _units_of(districts: pl.DataFrame) -> Units:
    hit = _UNITS.get(id(districts))
    if hit is not None and hit[0] is districts:
        return hit[1]
    units = Units.from_frame(districts) if "district_code" in districts.columns else Units(())
    if len(_UNITS) > 8:
        _UNITS.clear()
    _UNITS[id(districts)] = (districts, units)
    return units


class DataUnavailable(RuntimeError):
    """The warehouse is missing or lacks what a page needs; the message says what to run."""


def file_key(path: str | Path) -> FileKey | None:
    """(st_ino, st_mtime_ns) of the file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


@dataclass(frozen=True)
class Snapshot:
    """What the app knows from one warehouse snapshot, in memory."""

    path: str
    key: FileKey | None
    loaded_at: datetime
    districts: pl.DataFrame  # district_code, name_zh, name_en, population, pop_60plus
    values: pl.DataFrame  # unit_code, period, grain, indicator_id, value, numerator, denominator, n, ci_low, ci_high,
    # se, interval_method, missing_reason
    quarantine: pl.DataFrame  # etl.ingest.quarantine.COLUMNS (with the district each row concerns), capped
    quarantine_total: int
    files: pl.DataFrame  # ingest_files
    batches: pl.DataFrame  # ingest_batches
    snapshot_id: str
    load_seconds: float = 0.0
    complete_months: tuple[str, ...] = ()  # months the data cover from first to last day (etl.warehouse.panel.covered_months)
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)
    data_id: str = ""  # data_snapshot_id of the indicator values: the key of the stored score runs over them
    score_runs: pl.DataFrame = field(default_factory=pl.DataFrame)  # latest run per profile/framework/grain
    scores: pl.DataFrame = field(default_factory=pl.DataFrame)  # those runs' rows (etl.stores.scores.SCORES_DDL)
    uncertainty_runs: pl.DataFrame = field(default_factory=pl.DataFrame)  # latest per profile/grain/period
    uncertainty_ranks: pl.DataFrame = field(default_factory=pl.DataFrame)  # those runs' per-unit rows

    @property
    def available(self) -> bool:
        return self.values.height > 0

    @property
    def periods(self) -> list[str]:
        """Periods with indicator values, oldest first."""
        if self.values.height == 0:
            return []
        return sorted(self.values["period"].cast(pl.String).unique().to_list())

    def district_names(self, lang: str) -> dict[str, str]:
        """code → name of every unit of the unit table, and of every unit with values but no row there (its code)."""
        names = self.units.names(lang)
        if self.values.height:
            for code in self.values["unit_code"].unique().sort().to_list():
                names.setdefault(code, code)  # a unit missing from the unit table is shown by its code
        return names

    @property
    def units(self) -> Units:
        """The unit table as a hierarchy (levels, parents, peer groups): indicators.units.Units."""
        return _units_of(self.districts)


def data_snapshot_id(con: warehouse.Connection) -> str:
    """sha256 over the sorted checksums of every ingested file (same files → same id), plus the values' shape."""
    names = set(warehouse.table_names(con))
    sums: list[str] = []
    if "ingest_files" in names:
        sums = [r[0] for r in con.sql("SELECT DISTINCT sha256 FROM ingest_files ORDER BY 1").fetchall()]
    n = warehouse.scalar(con, "SELECT count(*) FROM indicator_values") if "indicator_values" in names else 0
    return hashlib.sha256(("|".join(sums) + f"#{n}").encode()).hexdigest()[:16]


# The latest stored score run per (profile content, framework, grain) over the current data, and its rows.
_SCORE_RUNS_SQL = """SELECT run_id, created_at, profile_name, profile_hash, framework_hash, grain, n_units, n_periods
FROM score_runs WHERE data_snapshot_id = ?
QUALIFY row_number() OVER (PARTITION BY profile_hash, framework_hash, grain ORDER BY created_at DESC, run_id DESC) = 1
ORDER BY profile_name, grain"""
_UNCERTAINTY_RUNS_SQL = """SELECT run_id, created_at, profile_name, profile_hash, grain, period, samples, samples_ok
FROM uncertainty_runs
QUALIFY row_number() OVER (PARTITION BY profile_hash, grain, period ORDER BY created_at DESC, run_id DESC) = 1"""


def _stored_runs(con: warehouse.Connection, present: set[str], data_id: str
                 ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(score_runs, scores, uncertainty_runs, uncertainty_ranks) for the app; empty frames when never stored."""
    runs = scores = u_runs = u_ranks = pl.DataFrame()
    if {"score_runs", "scores"} <= present:
        runs = warehouse.query(con, _SCORE_RUNS_SQL, [data_id])
        if runs.height:
            scores = warehouse.query(
                con, "SELECT s.* FROM scores s SEMI JOIN (" + _SCORE_RUNS_SQL + ") r ON s.run_id = r.run_id "
                "ORDER BY s.run_id, s.period, s.unit_code, s.node", [data_id])
    # An uncertainty run does not record the data it saw: the app matches it to a stored score run by its
    # nominal scores (app.views.scoring.stored_intervals), so a summary of older data is never shown.
    if {"uncertainty_runs", "uncertainty_ranks"} <= present:
        u_runs = warehouse.query(con, _UNCERTAINTY_RUNS_SQL)
        if u_runs.height:
            u_ranks = warehouse.query(
                con, "SELECT u.* FROM uncertainty_ranks u SEMI JOIN (" + _UNCERTAINTY_RUNS_SQL + ") r "
                "ON u.run_id = r.run_id ORDER BY u.run_id, u.unit_code")
    return runs, scores, u_runs, u_ranks


def _empty_snapshot(path: str, key: FileKey | None) -> Snapshot:
    return Snapshot(
        path=path,
        key=key,
        loaded_at=datetime.now(timezone.utc),
        districts=pl.DataFrame(schema={"district_code": pl.String, "name_zh": pl.String, "name_en": pl.String}),
        values=pl.DataFrame(
            schema={"unit_code": pl.String, "period": pl.String, "grain": pl.String, "indicator_id": pl.String,
                    "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64,
                    **{c: pl.Float64 for c in INTERVAL_COLUMNS}, **{c: pl.String for c in INTERVAL_LABELS}}
        ),
        quarantine=empty_quarantine(),
        quarantine_total=0,
        files=pl.DataFrame(),
        batches=pl.DataFrame(),
        snapshot_id="",
    )


def load_snapshot(path: str | Path) -> Snapshot:
    """Read what the app needs from the warehouse at `path` (read-only) and close the connection."""
    p = str(path)
    key = file_key(p)
    if key is None:
        return _empty_snapshot(p, None)
    t0 = time.perf_counter()
    with warehouse.connection(p, read_only=True) as con:
        present = set(warehouse.table_names(con))

        def q(sql: str) -> pl.DataFrame:
            return warehouse.query(con, sql)

        snap = _empty_snapshot(p, key)
        districts = q('SELECT * FROM "district" ORDER BY district_code') if "district" in present else snap.districts
        values = snap.values
        if "indicator_values" in present:
            have = set(warehouse.query(con, "SELECT * FROM indicator_values LIMIT 0").columns)
            extra = "".join(  # n, interval, SE, method and missing reason (NULL on a file that predates them)
                f", CAST({c if c in have else 'NULL'} AS {'DOUBLE' if c in INTERVAL_COLUMNS else 'VARCHAR'}) AS {c}"
                for c in (*INTERVAL_COLUMNS, *INTERVAL_LABELS)
            )
            values = q(
                "SELECT CAST(unit_code AS VARCHAR) AS unit_code, CAST(period AS VARCHAR) AS period, "
                "CAST(grain AS VARCHAR) AS grain, indicator_id, CAST(value AS DOUBLE) AS value, "
                f"CAST(numerator AS DOUBLE) AS numerator, CAST(denominator AS DOUBLE) AS denominator{extra} "
                "FROM indicator_values ORDER BY unit_code, period, indicator_id"
            )
        total = count_quarantine(con)
        quarantine = list_quarantine(con, limit=QUARANTINE_CAP) if total else snap.quarantine
        files = q("SELECT * FROM ingest_files ORDER BY file_id") if "ingest_files" in present else pl.DataFrame()
        batches = q("SELECT * FROM ingest_batches ORDER BY batch_id") if "ingest_batches" in present else pl.DataFrame()
        snapshot_id = ""
        if "snapshot_info" in present:  # written by the refresh job when it builds a snapshot
            meta = q("SELECT * FROM snapshot_info")
            if meta.height and "snapshot_id" in meta.columns:
                snapshot_id = str(meta["snapshot_id"][-1])
        if not snapshot_id and batches.height:
            snapshot_id = "batch " + str(batches["batch_id"].max())
        months = covered_months_in(con)
        data_id = data_snapshot_id(con)
        score_runs, scores, u_runs, u_ranks = _stored_runs(con, present, data_id)
    return Snapshot(
        path=p,
        key=key,
        loaded_at=datetime.now(timezone.utc),
        districts=districts,
        values=values,
        quarantine=quarantine,
        quarantine_total=total,
        files=files,
        batches=batches,
        snapshot_id=snapshot_id or Path(p).name,
        load_seconds=time.perf_counter() - t0,
        complete_months=months,
        data_id=data_id,
        score_runs=score_runs,
        scores=scores,
        uncertainty_runs=u_runs,
        uncertainty_ranks=u_ranks,
    )


class SnapshotCache:
    """The current snapshot of one warehouse path; reloaded when the file's identity changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self.reloads = 0

    def get(self) -> Snapshot:
        key = file_key(self.path)
        snap = self._snap
        if snap is not None and snap.key == key:
            return snap
        with self._lock:
            if self._snap is None or self._snap.key != key:
                try:
                    self._snap = load_snapshot(self.path)
                except warehouse.SchemaMismatch as e:  # older or newer schema: the pages say what to run
                    raise DataUnavailable(str(e)) from e
                except warehouse.WarehouseError:
                    # The file is being replaced or locked by a writer: keep serving the last good snapshot.
                    if self._snap is None:
                        raise
                    return self._snap
                self.reloads += 1
            return self._snap


# -- run history (the refresh job's store) -------------------------------------------------------------------------
def load_runs(runs_path: str | Path, limit: int = 50) -> pl.DataFrame | None:
    """Refresh runs, newest first, from the run store; None when no run has ever been recorded there."""
    if not Path(runs_path).is_file():
        return None
    from etl.stores.runs import list_runs  # local: the run store is optional for the app

    runs = list_runs(Path(runs_path), limit=limit)
    return runs if runs.height else None
