"""The scheduler: APScheduler 3 runs the refresh on a cron and polls the inbox; one scheduler per warehouse (flock)."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from etl.cron import parse_cron
from etl.jobs.inbox import pending_files
from etl.jobs.locks import FileLock, LockHeld
from etl.jobs.refresh import RefreshBusy, refresh

if TYPE_CHECKING:
    from etl.config import Config

log = logging.getLogger("govindex.scheduler")


class SchedulerLocked(LockHeld):
    """Another scheduler already runs for this warehouse; the message names its pid."""


# --- locks ------------------------------------------------------------------------------------------------------------
def scheduler_lock(config: Config) -> FileLock:
    db = Path(os.path.abspath(config.paths.db))
    return FileLock(db.with_name(db.name + ".scheduler.lock"), "scheduler")


# --- jobs -------------------------------------------------------------------------------------------------------------
def _cron_job(config: Config) -> None:
    _run(config, "cron")


def _inbox_job(config: Config) -> None:
    ready, waiting = pending_files(Path(config.paths.inbox), config.refresh.inbox_settle_seconds)
    if not ready:
        if waiting:
            log.info("inbox: %d file(s) still being written; next poll", len(waiting))
        return
    _run(config, "inbox")


def _run(config: Config, trigger: str) -> None:
    try:
        record = refresh(config, trigger, None)  # type: ignore[arg-type]
    except RefreshBusy as e:
        # Another refresh is bringing the warehouse up to date right now; the next firing catches anything newer.
        log.warning("%s refresh skipped: %s", trigger, e)
        return
    level = logging.INFO if record.status == "succeeded" else logging.ERROR
    suffix = f": {record.error}" if record.error else ""
    log.log(level, "%s refresh run #%d %s%s", trigger, record.id, record.status, suffix)


# --- the scheduler ----------------------------------------------------------------------------------------------------
@dataclass
class RunningScheduler:
    """A started scheduler and the lock that makes it the only one for its warehouse."""

    scheduler: BackgroundScheduler
    lock: FileLock
    cron: str
    inbox_minutes: float

    def next_runs(self) -> dict[str, Any]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing; with wait=True also wait for a running refresh to finish. Releases the lock."""
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=wait)
        finally:
            self.lock.release()


def build_scheduler(config: Config, cron: str | None = None, inbox_minutes: float | None = None) -> BackgroundScheduler:
    """A (not yet started) scheduler with the cron job and, when inbox_minutes > 0, the inbox watch."""
    tz = ZoneInfo(config.schedule.tz)
    cron = config.schedule.cron if cron is None else cron
    minutes = config.schedule.inbox_minutes if inbox_minutes is None else inbox_minutes
    sched = BackgroundScheduler(
        timezone=tz,
        job_defaults={
            "coalesce": True,  # runs missed while down (or while a long refresh ran) collapse into one
            "max_instances": 1,
            "misfire_grace_time": config.schedule.misfire_grace_seconds,
        },
    )
    sched.add_job(_cron_job, parse_cron(cron, tz), args=[config], id="refresh-cron", name=f"refresh on cron {cron}")
    if minutes > 0:
        sched.add_job(
            _inbox_job,
            IntervalTrigger(seconds=max(1.0, minutes * 60), timezone=tz),
            args=[config],
            id="inbox-watch",
            name=f"watch {config.paths.inbox} every {minutes:g} min",
        )
    return sched


def start(config: Config, cron: str | None = None, inbox_minutes: float | None = None) -> RunningScheduler:
    """Take the scheduler lock (SchedulerLocked if another scheduler holds it), then start in the background."""
    lock = scheduler_lock(config)
    try:
        lock.acquire(0.0, db=str(config.paths.db))
    except LockHeld as e:
        raise SchedulerLocked(str(e), e.holder) from None
    try:
        sched = build_scheduler(config, cron, inbox_minutes)
        sched.start()
    except BaseException:
        lock.release()
        raise
    return RunningScheduler(
        sched,
        lock,
        config.schedule.cron if cron is None else cron,
        config.schedule.inbox_minutes if inbox_minutes is None else inbox_minutes,
    )


def start_in_process(config: Config, *, reloader: bool = False) -> RunningScheduler | None:
    """The scheduler for `govindex serve`, or None when this process must not run one.

    None when the configuration turns it off; in the Werkzeug reloader's watcher process (only the child with
    WERKZEUG_RUN_MAIN=true serves, and it is restarted on every code change, which frees the lock); and in every web
    worker but the first (the lock decides, and is freed by the kernel if that worker dies).
    """
    if not config.schedule.enabled_in_serve:
        log.info("scheduler off (schedule.enabled_in_serve = false)")
        return None
    if reloader and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    try:
        running = start(config)
    except SchedulerLocked as e:
        log.warning("not starting a scheduler in this process: %s", e)
        return None
    log.info("scheduler started in-process (pid %d): %s", os.getpid(), running.next_runs())
    atexit.register(running.shutdown, False)
    return running


def run_forever(
    config: Config,
    cron: str | None = None,
    inbox_minutes: float | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the scheduler until SIGINT/SIGTERM. The first signal stops firing and waits for a running refresh to
    finish; a second one leaves at once (that refresh is then recorded as interrupted by the next one).
    """
    running = start(config, cron, inbox_minutes)
    stop = threading.Event()
    signals = {"n": 0}

    def _handler(signum: int, frame: FrameType | None) -> None:
        signals["n"] += 1
        if signals["n"] > 1:
            raise KeyboardInterrupt
        stop.set()

    old = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        echo(f"scheduler running (pid {os.getpid()}, lock {running.lock.path}); Ctrl-C stops")
        for job in running.scheduler.get_jobs():
            echo(f"  {job.name}: next at {job.next_run_time.isoformat() if job.next_run_time else '-'}")
        while not stop.wait(0.5):
            pass
        echo("stopping: waiting for a running refresh to finish (Ctrl-C again to leave now)")
        running.shutdown(wait=True)
        echo("scheduler stopped")
    finally:
        running.shutdown(wait=False)
        for s, h in old.items():
            signal.signal(s, h)
