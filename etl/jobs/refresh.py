"""The refresh job: build a new warehouse snapshot beside the live one, then swap it in atomically (os.replace).

Steps (ingest → indicator values → scores for every profile → uncertainty summary) all write, through the one
connection the run opens, into `<db>.building-<run_id>`, a copy of the live snapshot, so history accumulates (re-loading a file is a no-op, a
corrected re-submission supersedes). Only a complete, checkpointed and fsynced file is renamed onto the live path;
until then readers keep the previous snapshot, and readers holding the old file open keep its inode. A failed or
killed refresh leaves its temp files behind; the next refresh (holding the refresh lock, so no build can be alive)
removes them.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from etl.config import Config
from etl.jobs import inbox as inbox_mod
from etl.jobs import refresh_manifest, snapshots
from etl.jobs.locks import FileLock, LockHeld
from etl.jobs.refresh_steps import (
    DEFAULT_STEPS, SCORE_GRAIN, IndicatorValuesResult, IngestResult, RefreshContext, RefreshError, ScoresResult, Step,
    StepResult, StepSkipped, UncertaintyResult, step_indicator_values, step_ingest, step_scores, step_uncertainty,
)
from etl.stores.runs import RunRecord, RunStore
from etl.warehouse import connection as warehouse, ddl

__all__ = [
    "DEFAULT_STEPS", "SCORE_GRAIN", "STOP_REQUESTED", "IndicatorValuesResult", "IngestResult", "RefreshBusy",
    "RefreshContext", "RefreshError", "ScoresResult", "Step", "StepResult", "StepSkipped", "UncertaintyResult",
    "current_snapshot_id", "refresh", "refresh_in_background", "stale_build_files", "step_indicator_values",
    "step_ingest", "step_scores", "step_uncertainty",
]  # fmt: skip

log = logging.getLogger("govindex.refresh")

Trigger = Literal["cron", "manual", "cli", "inbox"]
BUILDING_INFIX = ".building-"
# Set by a signal handler (the CLI's SIGTERM/SIGINT): whatever error follows is recorded as 'interrupted'.
STOP_REQUESTED = threading.Event()


class RefreshBusy(RefreshError):
    """Another refresh of the same warehouse is running; the message names its pid (and run id)."""


# --- paths ----------------------------------------------------------------------------------------------------------
def live_path(config: Config) -> Path:
    return Path(os.path.abspath(config.paths.db))


def building_path(db: Path, run_id: int) -> Path:
    return db.with_name(f"{db.name}{BUILDING_INFIX}{run_id}")


def refresh_lock(db: Path) -> FileLock:
    return snapshots.refresh_lock(db)


def stale_build_files(db: Path) -> list[Path]:
    """Temp files and folders left by earlier refreshes of `db` (building snapshots, their WALs, staged inboxes)."""
    if not db.parent.is_dir():
        return []
    return sorted(db.parent.glob(f"{db.name}{BUILDING_INFIX}*"))


def _remove(paths: Sequence[Path]) -> None:
    for p in paths:
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)
        except OSError as e:  # a leftover we cannot remove must not block the refresh; say so
            log.warning("could not remove leftover %s: %s", p, e)


def _fsync_file(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _wal(p: Path) -> Path:
    return snapshots.wal_path(p)


# --- snapshot bookkeeping inside the warehouse ----------------------------------------------------------------------
def current_snapshot_id(con: Any) -> str | None:
    """The id of the snapshot a connection looks at (the newest row of snapshot_info), or None for a bare file."""
    if "snapshot_info" not in warehouse.table_names(con):
        return None
    value = warehouse.scalar(con, 'SELECT "snapshot_id" FROM "snapshot_info" ORDER BY "started_at" DESC LIMIT 1')
    return None if value is None else str(value)


def _begin_snapshot(ctx: RefreshContext) -> str | None:
    """Open the run's one connection to the snapshot being built (steps share it) and record the snapshot; return
    the id of the snapshot it was copied from (the live one), None for a new or bare warehouse."""
    ctx.con = warehouse.connect(ctx.db_path)
    previous = current_snapshot_id(ctx.con)
    ddl.create(ctx.con, "snapshot_info")
    warehouse.execute(
        ctx.con,
        'INSERT INTO "snapshot_info" VALUES (?, ?, ?, ?, NULL)',
        [ctx.snapshot_id, ctx.run_id, ctx.trigger, ctx.started_at],
    )
    return previous


def _close(ctx: RefreshContext) -> None:
    if ctx.con is not None:
        ctx.con.close()
        ctx.con = None


def _seal_snapshot(ctx: RefreshContext) -> None:
    """Mark the snapshot complete, checkpoint it and close the run's connection, so the file alone holds everything."""
    con = ctx.connection
    warehouse.execute(
        con,
        'UPDATE "snapshot_info" SET "finished_at" = ? WHERE "snapshot_id" = ?',
        [datetime.now(timezone.utc), ctx.snapshot_id],
    )
    warehouse.execute(con, "CHECKPOINT")
    _close(ctx)
    wal = _wal(ctx.db_path)
    if wal.exists() and wal.stat().st_size > 0:
        raise RefreshError(f"{ctx.db_path} still has a write-ahead log after closing: a step left a connection open")
    wal.unlink(missing_ok=True)


def _checkpoint_live(db: Path) -> None:
    """Fold a leftover live WAL (from a writer that died) into the live file before copying it."""
    try:
        snapshots.checkpoint_live(db)
    except snapshots.SnapshotError as e:
        raise RefreshError(str(e)) from e


def _keep_snapshots(config: Config, db: Path, outgoing: str | None, *, before_swap: bool) -> None:
    """Keep the outgoing live file as a snapshot (before the swap), or prune to `refresh.keep_snapshots` (after);
    a failure is logged, never fails the refresh (the new data matter more than an old copy)."""
    try:
        if before_swap and outgoing is not None and config.refresh.keep_snapshots > 0:
            snapshots.keep(db, outgoing)
        elif not before_swap:
            snapshots.prune(db, config.refresh.keep_snapshots)
    except (OSError, snapshots.SnapshotError) as e:
        log.warning("could not %s previous snapshots of %s: %s", "keep" if before_swap else "prune", db, e)


# --- the job ----------------------------------------------------------------------------------------------------------
def _snapshot_id(started: datetime, run_id: int) -> str:
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-r{run_id}"


def _describe(step: Step) -> str:
    name = getattr(step, "__name__", type(step).__name__)
    return name.removeprefix("step_")


def refresh(
    config: Config,
    trigger: Trigger,
    source: str | os.PathLike[str] | None = None,
    *,
    steps: Sequence[Step] | None = None,
    wait_seconds: float | None = None,
) -> RunRecord:
    """Run one refresh and return its record (status 'succeeded' or 'failed', with the error).

    `source` is a folder to ingest; None means the inbox (files are archived after the swap). `steps` replaces
    DEFAULT_STEPS (tests inject failing or slow steps). Raises RefreshBusy when another refresh of the same
    warehouse holds the lock for longer than `wait_seconds` (default: config.refresh.wait_seconds for manual and
    cli triggers, 0 for scheduled ones).
    """
    db = live_path(config)
    if wait_seconds is None:
        wait_seconds = config.refresh.wait_seconds if trigger in ("manual", "cli") else 0.0
    lock = refresh_lock(db)
    try:
        lock.acquire(wait_seconds, trigger=trigger)
    except LockHeld as e:
        raise RefreshBusy(str(e)) from None
    try:
        return _run_locked(config, trigger, source, steps if steps is not None else DEFAULT_STEPS, db, lock)
    finally:
        lock.release()


def _run_locked(
    config: Config,
    trigger: str,
    source: str | os.PathLike[str] | None,
    steps: Sequence[Step],
    db: Path,
    lock: FileLock,
) -> RunRecord:
    # We hold the refresh lock, so no other build of this warehouse is alive: leftovers are from dead runs.
    leftovers = stale_build_files(db)
    if leftovers:
        log.info("removing %d leftover(s) of interrupted refreshes: %s", len(leftovers), [p.name for p in leftovers])
        _remove(leftovers)
    store = RunStore(config.paths.runs_path)
    src_path = Path(source).resolve() if source is not None else None
    if src_path is not None and not src_path.is_dir():
        raise RefreshError(f"source folder {src_path} does not exist")
    run = store.start(trigger, db, source=str(src_path) if src_path else f"inbox {config.paths.inbox}")
    lock.update(run_id=run.id)
    log.info("refresh run #%d started (%s) from %s", run.id, trigger, run.source)
    ctx = RefreshContext(
        config=config,
        run_id=run.id,
        trigger=trigger,
        snapshot_id=_snapshot_id(run.started_at, run.id),
        db_path=building_path(db, run.id),
        live_path=db,
        source=src_path,
        started_at=run.started_at,
    )
    step_log: list[dict[str, Any]] = []
    plan: inbox_mod.InboxPlan | None = None
    current = "prepare"
    # Only the default steps are known to depend on nothing but the manifest's inputs (tests inject others).
    default_steps = tuple(steps) == DEFAULT_STEPS
    manifest = refresh_manifest.Manifest.read(db)
    inputs = ""
    try:
        if src_path is None:
            plan = inbox_mod.plan_inbox(
                Path(config.paths.inbox), store.loaded_checksums(), config.refresh.inbox_settle_seconds
            )
        if default_steps:
            t0 = time.perf_counter()
            inputs = refresh_manifest.inputs_digest(config)
            verdict = refresh_manifest.check(db, manifest, src_path, plan is None or plan.empty, inputs)
            ctx.checksums = dict(verdict.checksums)
            if verdict.unchanged:
                return _keep_live(store, run.id, db, verdict, time.perf_counter() - t0, manifest)
        if plan is not None and plan.load:
            staging = db.with_name(f"{db.name}{BUILDING_INFIX}{run.id}.inbox")
            ctx.source = inbox_mod.stage(plan.load, staging)
            ctx.inbox_files = [ctx.source / f.name for f in plan.load]
        db.parent.mkdir(parents=True, exist_ok=True)
        if db.exists():
            _checkpoint_live(db)
            shutil.copyfile(db, ctx.db_path)
        previous_id = _begin_snapshot(ctx)
        for step in steps:
            current = _describe(step)
            entry: dict[str, Any] = {"name": current, "status": "running", "seconds": 0.0}
            step_log.append(entry)
            store.update(run.id, steps=step_log)
            t0 = time.perf_counter()
            try:
                result = step(ctx)
                if result is not None and not isinstance(result, str):
                    ctx.results.append(result)
                    result = result.note()
                entry.update(status="ok", note=result)
            except StepSkipped as s:
                entry.update(status="skipped", note=str(s))
            finally:
                entry["seconds"] = round(time.perf_counter() - t0, 3)
            store.update(run.id, steps=step_log, **ctx.counts)
        current = "swap"
        _seal_snapshot(ctx)
        if _wal(db).exists():
            raise RefreshError(
                f"the live warehouse {db} was written by another process during the refresh ({_wal(db).name} exists);"
                " not replacing it — run the refresh again"
            )
        _fsync_file(ctx.db_path)
        _keep_snapshots(config, db, previous_id or f"before-r{run.id}", before_swap=True)
        os.replace(ctx.db_path, db)
        _fsync_dir(db.parent)
        _keep_snapshots(config, db, None, before_swap=False)
    except BaseException as e:
        _close(ctx)
        for entry in step_log:
            if entry["status"] == "running":
                entry["status"] = "failed"
        _remove(stale_build_files(db))
        # A signal can surface as DuckDB's "Query interrupted" error rather than as the exception its handler raised.
        interrupted = isinstance(e, (KeyboardInterrupt, SystemExit)) or STOP_REQUESTED.is_set()
        message = f"{current}: {type(e).__name__}: {e}"
        if interrupted:
            message = f"{current}: interrupted by a signal ({type(e).__name__}: {e})"
        log.error("refresh run #%d failed in %s\n%s", run.id, current, traceback.format_exc())
        record = store.finish(
            run.id, "interrupted" if interrupted else "failed", error=message, steps=step_log, **ctx.counts
        )
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return record
    # The new snapshot is live. Archiving the inbox comes after, so a crash here at worst re-loads files (a no-op).
    warning: str | None = None
    try:
        if plan is not None:
            _archive_inbox(config, store, run.id, plan, ctx)
    except BaseException as e:
        warning = f"the new snapshot is live, but archiving the inbox failed: {type(e).__name__}: {e}"
        log.error("refresh run #%d: %s", run.id, warning)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            store.finish(
                run.id, "succeeded", warning, snapshot_id=ctx.snapshot_id, snapshot_path=str(db), steps=step_log
            )
            raise
    _remove(stale_build_files(db))
    if default_steps:  # the live snapshot is now the one these inputs built: the next refresh may keep it
        _write_manifest(db, manifest, ctx.snapshot_id, inputs, ctx.checksums)
    record = store.finish(
        run.id, "succeeded", warning, snapshot_id=ctx.snapshot_id, snapshot_path=str(db), steps=step_log, **ctx.counts
    )
    log.info("refresh run #%d succeeded in %.1f s: snapshot %s (%s)", run.id, record.duration_s or 0.0,
             ctx.snapshot_id, "; ".join(f"{e['name']} {e['status']}" for e in step_log))
    from etl.jobs import alerts as alerts_job  # local: a refresh with nothing new sends none

    alerts_job.after_refresh(config, record)  # alerts for the people concerned (never fails the refresh)
    return record


def _write_manifest(
    db: Path, manifest: refresh_manifest.Manifest, snapshot_id: str, inputs: str, checksums: dict[str, tuple[str, int]]
) -> None:
    """Record what the new live snapshot was built from; when that cannot be read, leave no manifest (the next
    refresh then rebuilds: never skip on a guess)."""
    try:
        manifest.ingests = refresh_manifest.live_state(db).ingests
    except warehouse.WarehouseError as e:
        log.warning("could not read %s back for the refresh manifest: %s", db, e)
        refresh_manifest.manifest_path(db).unlink(missing_ok=True)
        return
    manifest.snapshot_id, manifest.inputs = snapshot_id, inputs
    manifest.keep_only(checksums)
    manifest.write(db)


def _keep_live(
    store: RunStore, run_id: int, db: Path, verdict: refresh_manifest.Verdict, seconds: float,
    manifest: refresh_manifest.Manifest,
) -> RunRecord:
    """Nothing new: record the run as succeeded with one step saying so, the live snapshot untouched."""
    manifest.keep_only(verdict.checksums)
    manifest.write(db)  # the checksum cache may have learnt new timestamps (a file touched but not changed)
    note = (
        f"nothing new since snapshot {verdict.live_snapshot}: {verdict.files} file(s) already loaded; catalog, weight"
        " profiles and settings unchanged; the live snapshot is kept (no rebuild)"
    )
    step = {"name": "unchanged", "status": "skipped", "note": note, "seconds": round(seconds, 3)}
    record = store.finish(
        run_id, "succeeded", None, snapshot_id=verdict.live_snapshot, snapshot_path=str(db), steps=[step],
        files_skipped=verdict.files,
    )
    log.info("refresh run #%d: %s", run_id, note)
    return record


def _archive_inbox(
    config: Config, store: RunStore, run_id: int, plan: inbox_mod.InboxPlan, ctx: RefreshContext
) -> None:
    archive = Path(config.paths.archive)
    day = datetime.now(ZoneInfo(config.schedule.tz)).date().isoformat()
    skips = list(plan.skip) + [(f, ctx.unchanged_files[f.name]) for f in plan.load if f.name in ctx.unchanged_files]
    for f, reason in skips:
        dest = inbox_mod.archive_file(f, archive, day)
        store.record_inbox_file(run_id, f.sha256, f.name, f.size_bytes, "skipped", reason, str(dest))
    rejects = list(plan.reject) + [(f, ctx.rejected_files[f.name]) for f in plan.load if f.name in ctx.rejected_files]
    for f, reason in rejects:
        dest = inbox_mod.reject_file(f, archive, reason)
        store.record_inbox_file(run_id, f.sha256, f.name, f.size_bytes, "rejected", reason, str(dest))
    for f in plan.load:
        if f.name in ctx.rejected_files or f.name in ctx.unchanged_files:
            continue
        dest = inbox_mod.archive_file(f, archive, day)
        store.record_inbox_file(run_id, f.sha256, f.name, f.size_bytes, "loaded", None, str(dest))
    ctx.counts["files_skipped"] += len(plan.skip)
    ctx.counts["files_rejected"] += len(plan.reject)


_executor: ThreadPoolExecutor | None = None
_pending: Future[RunRecord] | None = None


def refresh_in_background(
    config: Config, trigger: Trigger = "manual", *, steps: Sequence[Step] | None = None
) -> Future[RunRecord]:
    """Start a refresh on a background thread (the app's "refresh now") and return its future.

    While one started here is still queued or running, the same future is returned (a double click starts one
    refresh). The future raises RefreshBusy when another process (the scheduler, the CLI) is refreshing.
    """
    global _executor, _pending
    if _pending is not None and not _pending.done():
        return _pending
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govindex-refresh")
    _pending = _executor.submit(refresh, config, trigger, None, steps=steps, wait_seconds=0.0)
    return _pending
