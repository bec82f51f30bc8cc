"""Score the warehouse's indicator values with a weight profile and store the run next to its results.

A run records everything needed to regenerate its numbers: profile name and content hash, framework hash, the full
model specification (JSON), the data snapshot id (hash of the ingested files' checksums) and the grain.
Tables: `score_runs` (one row per run) and `scores` (run_id, unit_code, period, node, score, rank, …).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from etl.warehouse import connection as warehouse, ddl
from etl.errors import EtlError
from etl.warehouse.panel import covered_months_in
from etl.warehouse.snapshot import data_snapshot_id
from indicators.audit import GrainAudit, grain_audit
from indicators.framework import Framework
from indicators.reliability import DEFAULT_THRESHOLD as DEFAULT_RELIABILITY
from indicators.model import Panel, panel_from_long, score
from indicators.periods import completeness, default_period
from indicators.profile import WeightProfile

SCORE_COLUMNS = (
    "unit_code", "period", "node", "level", "is_indicator", "raw_value", "score", "rank", "gap_to_best", "target",
    "gap_to_target", "band", "band_en", "contribution", "imputed", "treatment", "below_threshold",
)


__all__ = ["SCORES_DDL", "SCORE_COLUMNS", "SCORE_RUNS_DDL", "ScoreInputs", "ScoreStoreError", "StoredRun",
           "data_snapshot_id", "read_audit", "read_ranking", "read_score_inputs", "read_values", "score_and_store"]


class ScoreStoreError(EtlError):
    """The warehouse cannot be scored (no indicator values, unknown grain, …); the message says what is missing."""


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    n_units: int
    n_periods: int
    n_rows: int
    warnings: tuple[str, ...]


def read_values(con: warehouse.Connection, grain: str) -> pl.DataFrame:
    """indicator_values of one grain as the scoring engine's long frame."""
    if "indicator_values" not in set(warehouse.table_names(con)):
        raise ScoreStoreError("the warehouse has no indicator_values table yet (run `govindex refresh` first)")
    df = warehouse.query(
        con,
        "SELECT unit_code, period, indicator_id, value FROM indicator_values WHERE grain = ? "
        "ORDER BY period, unit_code, indicator_id",
        [grain],
    )
    if df.height == 0:
        grains = [r[0] for r in con.sql("SELECT DISTINCT grain FROM indicator_values ORDER BY 1").fetchall()]
        raise ScoreStoreError(f"no indicator values for grain {grain!r}; available: {', '.join(grains) or 'none'}")
    return df


@dataclass(frozen=True)
class ScoreInputs:
    """What a score run of one grain reads from the warehouse: the values (read_values), the data snapshot id and the
    months the data cover. A refresh scores several profiles (and their published versions) on the same values:
    it reads these once per grain and hands them to every score_and_store, instead of one read of the whole
    indicator_values grain per profile (at 2,844 units, most of the scores step)."""

    grain: str
    values: pl.DataFrame
    snapshot: str
    months: tuple[str, ...]
    #: the values pivoted for `framework_hash` (panel_from_long: a third of a run's time at 2,844 units), or None
    panel: Panel | None = None
    framework_hash: str | None = None

    def panel_for(self, framework: Framework) -> Panel | pl.DataFrame:
        """A private copy of the shared panel (scoring must not see another run's changes) when it was pivoted for
        this framework, else the long values (pivoted by score itself)."""
        if self.panel is None or self.framework_hash != framework.fingerprint():
            return self.values
        se = None if self.panel.se is None else self.panel.se.copy()
        return replace(self.panel, values=self.panel.values.copy(), se=se)


def read_score_inputs(con: warehouse.Connection, grain: str, framework: Framework | None = None) -> ScoreInputs:
    """The inputs of every score run at `grain` over the warehouse as it is now (ScoreStoreError as read_values);
    with `framework`, the values pivoted once for it too."""
    values = read_values(con, grain)
    panel = panel_from_long(framework, values) if framework is not None else None
    return ScoreInputs(grain, values, data_snapshot_id(con), covered_months_in(con), panel,
                       framework.fingerprint() if framework is not None else None)


def score_and_store(
    db: str | Path | warehouse.Connection,
    framework: Framework,
    profile: WeightProfile,
    grain: str = "quarter",
    *,
    now: datetime | None = None,
    inputs: ScoreInputs | None = None,
) -> StoredRun:
    """Score the warehouse at `db` with `profile` and append the run to score_runs / scores (one transaction).

    `inputs`: read_score_inputs(con, grain) of this warehouse, already read (shared by the runs of one refresh);
    the caller vouches that the indicator values have not changed since. Default: read here."""
    if inputs is not None and inputs.grain != grain:
        raise ScoreStoreError(f"score inputs of grain {inputs.grain!r} given for a run at grain {grain!r}")
    # score_runs/uncertainty_runs.created_at hold UTC (TIMESTAMP without zone): pages convert to Beijing time
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    with warehouse.connection(db) as con:
        # Load inputs
        read = inputs if inputs is not None else read_score_inputs(con, grain)
        data, snapshot = read.values, read.snapshot
        # Process data
        spec = profile.model_spec(framework)
        periods = sorted(data["period"].unique().to_list())
        result = score(framework, read.panel_for(framework), spec, complete=completeness(periods, read.months))
        run_id = f"{created:%Y%m%dT%H%M%S}-" + hashlib.sha256(
            f"{profile.content_hash()}{framework.fingerprint()}{spec.fingerprint()}{snapshot}{grain}{created}".encode()
        ).hexdigest()[:8]
        rows = result.scores.select(SCORE_COLUMNS).with_columns(pl.lit(run_id).alias("run_id"))
        run = pl.DataFrame(
            {
                "run_id": [run_id], "created_at": [created], "profile_name": [profile.name],
                "profile_hash": [profile.content_hash()], "framework_hash": [framework.fingerprint()],
                "spec_json": [spec.to_json()], "data_snapshot_id": [snapshot], "grain": [grain],
                "n_units": [len(result.units)], "n_periods": [len(result.periods)],
                "warnings": ["\n".join(result.warnings) or None],
            }
        )
        # Save outputs
        with warehouse.transaction(con):
            ddl.create(con, "score_runs", "scores")
            warehouse.insert_frame(con, "score_runs", run)
            warehouse.insert_frame(con, "scores", rows.select("run_id", *SCORE_COLUMNS))
    return StoredRun(run_id, len(result.units), len(result.periods), rows.height, result.warnings)


def read_ranking(db_path: str | Path, run_id: str, framework: Framework,
                 period: str | None = None) -> tuple[str, pl.DataFrame]:
    """A stored run's ranking for `period` (default: the latest complete one): one row per unit, best first.

    Columns: unit_code, name_zh (when the warehouse has the district table), rank, band, and the score of the root
    and of each of its children (named by node code).
    """
    nodes = [framework.root, *framework.children(framework.root)]
    with warehouse.connection(db_path, read_only=True) as con:
        stored = warehouse.query(
            con,
            "SELECT unit_code, period, node, score, rank, band FROM scores WHERE run_id = ? AND node IN ("
            + ", ".join("?" for _ in nodes) + ")",
            [run_id, *nodes],
        )
        months = covered_months_in(con)
        names = warehouse.query(con, "SELECT district_code AS unit_code, name_zh FROM district") \
            if "district" in warehouse.table_names(con) else None
    if stored.height == 0:
        raise ScoreStoreError(f"run {run_id!r} has no stored scores in {db_path}")
    chosen = period or default_period(stored["period"].unique().to_list(), months)
    assert chosen is not None
    rows = stored.filter(pl.col("period") == chosen)
    wide = rows.pivot(on="node", index="unit_code", values="score")
    root = rows.filter(pl.col("node") == framework.root).select("unit_code", "rank", "band")
    out = root.join(wide, on="unit_code", how="left").rename({framework.root: "index"} if framework.root != "index"
                                                             else {})
    if names is not None:
        out = out.join(names, on="unit_code", how="left")
    else:
        out = out.with_columns(pl.lit("").alias("name_zh"))
    return chosen, out.sort("rank", nulls_last=True)


def read_audit(db_path: str | Path, framework: Framework, census: Sequence[str] = (),
               threshold: float = DEFAULT_RELIABILITY) -> GrainAudit:
    """The data audit of the warehouse's indicator values (every grain, complete periods): reliability per indicator
    and grain, and the pairs with |r| >= 0.9 (indicators.audit.grain_audit). `census` names indicators counted over
    a whole inventory (no sampling error when no `se` is stored)."""
    with warehouse.connection(db_path, read_only=True) as con:
        if "indicator_values" not in set(warehouse.table_names(con)):
            raise ScoreStoreError("the warehouse has no indicator_values table yet (run `govindex refresh` first)")
        values = warehouse.query(con, "SELECT * FROM indicator_values")
        months = covered_months_in(con)
    return grain_audit(framework, values, months, threshold=threshold, census=census)
