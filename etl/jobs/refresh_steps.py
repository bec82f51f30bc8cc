"""The refresh's steps (ingest → indicator values → scores → uncertainty summary), each writing into the snapshot
being built (`ctx.db_path`), never the live warehouse; tests inject their own steps next to these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etl.contract.catalog import load_catalog
from etl.ingest.files import ingest_files, ingest_folder
from etl.jobs.uncertainty_summary import write_uncertainty_summary
from etl.stores.profiles import list_profiles, load_profile
from etl.stores.scores import data_snapshot_id, score_and_store
from etl.warehouse import connection as warehouse
from etl.warehouse.indicator_values import write_indicator_values
from indicators.profile import ProfileError

if TYPE_CHECKING:
    from etl.config import Config

SCORE_GRAIN = "quarter"  # the grain the app reads scores at


class RefreshError(RuntimeError):
    """A refresh could not be carried out; the message says which step or file."""


class StepSkipped(Exception):
    """Raised by a step that has nothing to do (the message says why); the refresh goes on."""


@dataclass
class RefreshContext:
    """What a step gets: where to write, what to read, and counters it may fill in."""

    config: Config
    run_id: int
    trigger: str
    snapshot_id: str
    db_path: Path  # the snapshot being built: steps write here, never to live_path
    live_path: Path
    source: Path | None  # folder of raw files to ingest (the --source folder, or the staged inbox); None = none
    started_at: datetime
    inbox_files: list[Path] | None = None  # staged inbox files to ingest (None: ingest the whole source folder)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "files": 0, "files_skipped": 0, "files_rejected": 0,
            "rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0,
        }
    )  # fmt: skip
    rejected_files: dict[str, str] = field(default_factory=dict)  # file name → reason (file-level ingest rejection)
    unchanged_files: dict[str, str] = field(default_factory=dict)  # file name → why the ingest skipped it
    extra: dict[str, Any] = field(default_factory=dict)


Step = Callable[[RefreshContext], "str | None"]


def step_ingest(ctx: RefreshContext) -> str | None:
    """Load the raw files of ctx.source into the snapshot (per-file accounting lands in ingest_files)."""
    if ctx.source is None:
        raise StepSkipped("no new files")
    if ctx.inbox_files is not None:  # the staged inbox: exactly the planned files, by name
        report = ingest_files(ctx.inbox_files, ctx.db_path)
    else:
        report = ingest_folder(ctx.source, ctx.db_path)
    _count_ingest(ctx, report)
    c = ctx.counts
    return (
        f"{c['files']} file(s) loaded, {c['files_skipped']} unchanged, {c['files_rejected']} rejected:"
        f" {c['rows_loaded']} rows loaded, {c['rows_quarantined']} quarantined, {c['rows_duplicate']} duplicate"
    )


def _count_ingest(ctx: RefreshContext, report: Any) -> None:
    """Fold an IngestReport's per-file accounting (etl.ingest.accounting.FileReport) into the run counters."""
    for f in report.files:
        if f.status == "rejected":
            ctx.rejected_files[f.name] = f.message or "the file could not be read"
            ctx.counts["files_rejected"] += 1
        elif f.status == "unchanged":
            # The ingest's own checksum check: this exact file is already in the warehouse (e.g. via --source).
            ctx.unchanged_files[f.name] = "unchanged: the same content (sha256) is already in the warehouse"
            ctx.counts["files_skipped"] += 1
        else:
            ctx.counts["files"] += 1
        ctx.counts["rows_loaded"] += int(f.rows_loaded)
        ctx.counts["rows_quarantined"] += int(f.rows_quarantined)
        ctx.counts["rows_duplicate"] += int(f.rows_duplicate)


def step_indicator_values(ctx: RefreshContext) -> str | None:
    """Recompute indicator_values from the catalog over everything in the snapshot."""
    before = _values_digest(ctx.db_path)
    frame = write_indicator_values(ctx.db_path, load_catalog())
    ctx.extra["values_unchanged"] = before is not None and before == _values_digest(ctx.db_path)
    return f"{frame.height} indicator value row(s)" + (", unchanged" if ctx.extra["values_unchanged"] else "")


def _values_digest(db_path: Path) -> str | None:
    """An order-independent digest of indicator_values (None when the table does not exist yet)."""
    with warehouse.connection(db_path) as con:
        if "indicator_values" not in warehouse.table_names(con):
            return None
        row = warehouse.query(
            con,
            "SELECT count(*) AS n, sum(hash(unit_code, period, grain, indicator_id, value, numerator, denominator)"
            "::HUGEINT)::VARCHAR AS h FROM indicator_values",
        ).row(0)
    return f"{row[0]}:{row[1]}"


def _profiles(ctx: RefreshContext) -> list[str]:
    names = list_profiles(ctx.config.paths.weights_path)
    if not names:
        raise StepSkipped(f"no weight profiles in {ctx.config.paths.weights_path}")
    return names


def step_scores(ctx: RefreshContext) -> str | None:
    """Score every saved weight profile against the new indicator values (score_runs / scores in the snapshot).

    A profile that no longer fits the framework is left out and named in the step's note (one assessor's stale
    profile must not stop the daily refresh); any other scoring failure fails the refresh.
    """
    fw = load_catalog().framework()
    # Only when this refresh left the indicator values exactly as they were can an earlier run stand for this one.
    existing = _existing_score_runs(ctx.db_path) if ctx.extra.get("values_unchanged") else set()
    done, unchanged, left_out = [], [], []
    for name in _profiles(ctx):
        try:
            profile = load_profile(name, ctx.config.paths.weights_path)
            profile.validate_against(fw)
        except ProfileError as e:
            left_out.append(f"{name} ({e})")
            continue
        # Same profile, framework and data as a stored run: its numbers would be identical, so don't store them twice.
        if (profile.content_hash(), fw.fingerprint()) in existing:
            unchanged.append(name)
            continue
        run = score_and_store(ctx.db_path, fw, profile, SCORE_GRAIN)
        done.append(f"{name} → {run.run_id}")
    ctx.extra["scored_profiles"] = [d.split(" → ")[0] for d in done] + unchanged
    if not done and not unchanged:
        raise RefreshError("no weight profile could be scored: " + "; ".join(left_out))
    parts = [f"{len(done)} profile(s) scored" + (f": {', '.join(done)}" if done else "")]
    if unchanged:
        parts.append(f"unchanged (same data, profile and framework as a stored run): {', '.join(unchanged)}")
    if left_out:
        parts.append(f"left out: {'; '.join(left_out)}")
    return "; ".join(parts)


def _existing_score_runs(db_path: Path) -> set[tuple[str, str]]:
    """(profile_hash, framework_hash) of the stored score runs over the snapshot's current data."""
    with warehouse.connection(db_path) as con:
        if "score_runs" not in warehouse.table_names(con):
            return set()
        rows = warehouse.query(
            con,
            "SELECT DISTINCT profile_hash, framework_hash FROM score_runs WHERE data_snapshot_id = ? AND grain = ?",
            [data_snapshot_id(con), SCORE_GRAIN],
        )
    return {(r["profile_hash"], r["framework_hash"]) for r in rows.iter_rows(named=True)}


def step_uncertainty(ctx: RefreshContext) -> str | None:
    """The default uncertainty summary (Monte Carlo rank intervals per scored profile), a modest sample count."""
    n = ctx.config.refresh.uncertainty_samples
    if n <= 0:
        raise StepSkipped("uncertainty_samples = 0")
    names = ctx.extra.get("scored_profiles") or _profiles(ctx)
    runs = write_uncertainty_summary(
        ctx.db_path,
        names,
        ctx.config.paths.weights_path,
        samples=n,
        seed=ctx.config.refresh.seed,
        snapshot_id=ctx.snapshot_id,
        skip_existing=bool(ctx.extra.get("values_unchanged")),
    )
    unchanged = len(names) - len(runs)
    return f"{len(runs)} profile(s), {n} samples each" + (
        f", period {runs[0].period}" if runs else ""
    ) + (f"; {unchanged} unchanged (same data, profile and spec as a stored run)" if unchanged else "")


DEFAULT_STEPS: tuple[Step, ...] = (step_ingest, step_indicator_values, step_scores, step_uncertainty)
