"""The scheduler: APScheduler 3 runs the refresh on a cron and polls the inbox; one scheduler per warehouse (flock)."""

from __future__ import annotations

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
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from etl.jobs.locks import FileLock, LockHeld

if TYPE_CHECKING:
    from etl.config import Config

log = logging.getLogger("govindex.scheduler")

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) = Sunday
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class SchedulerLocked(LockHeld):
    """Another scheduler already runs for this warehouse; the message names its pid."""


class CronError(ValueError):
    """A cron expression cannot be parsed; the message names the field."""


# --- cron ------------------------------------------------------------------------------------------------------------
def _dow_value(token: str, expr: str) -> int:
    t = token.strip().lower()
    if t in _DOW_NAMES:
        return _DOW_NAMES.index(t)
    if t.isdigit() and 0 <= int(t) <= 7:
        return int(t) % 7
    raise CronError(f"cron {expr!r}: day-of-week value {token!r} is not 0-7 or sun..sat")


def _crontab_dow(field: str, expr: str) -> str:
    """Translate a crontab day-of-week field (0/7 = Sunday) into APScheduler 3's names (where 0 = Monday)."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        rng, _, step_s = part.partition("/")
        step = 1
        if step_s:
            if not step_s.isdigit() or int(step_s) == 0:
                raise CronError(f"cron {expr!r}: bad step {part!r} in the day-of-week field")
            step = int(step_s)
        if rng in ("*", "?"):
            lo, hi = 0, 6
        elif "-" in rng:
            a, b = rng.split("-", 1)
            lo, hi = _dow_value(a, expr), _dow_value(b, expr)
            if hi == 0 and lo > 0:
                hi = 7  # "5-7", "fri-sun": Sunday closes the week
            if hi < lo:
                raise CronError(f"cron {expr!r}: day-of-week range {rng!r} runs backwards")
        else:
            lo = _dow_value(rng, expr)
            hi = 6 if step_s else lo
        days.update(d % 7 for d in range(lo, hi + 1, step))
    if len(days) == 7:
        return "*"
    order = (1, 2, 3, 4, 5, 6, 0)
    return ",".join(_DOW_NAMES[d] for d in order if d in days)


def parse_cron(expr: str, timezone: str | ZoneInfo) -> CronTrigger:
    """A CronTrigger from a crontab: 5 fields (minute hour day month weekday), 6 with a leading seconds field, or
    an alias (@hourly, @daily, @weekly, @monthly, @yearly). Weekdays use crontab numbering (0 or 7 = Sunday).
    """
    text = _ALIASES.get(expr.strip().lower(), expr.strip())
    fields = text.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise CronError(
            f"cron {expr!r}: expected 5 fields (minute hour day month weekday) or 6 (second first), got {len(fields)}"
        )
    second, minute, hour, day, month, dow = fields
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    day_of_week = _crontab_dow(dow, expr)
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=tz,
        )
    except ValueError as e:
        raise CronError(f"cron {expr!r}: {e}") from None


# --- locks ------------------------------------------------------------------------------------------------------------
def scheduler_lock(config: Config) -> FileLock:
    db = Path(os.path.abspath(config.paths.db))
    return FileLock(db.with_name(db.name + ".scheduler.lock"), "scheduler")


# --- jobs -------------------------------------------------------------------------------------------------------------
def _cron_job(config: Config) -> None:
    _run(config, "cron")


def _inbox_job(config: Config) -> None:
    from etl.jobs.inbox import pending_files

    ready, waiting = pending_files(Path(config.paths.inbox), config.refresh.inbox_settle_seconds)
    if not ready:
        if waiting:
            log.info("inbox: %d file(s) still being written; next poll", len(waiting))
        return
    _run(config, "inbox")


def _run(config: Config, trigger: str) -> None:
    from etl.jobs.refresh import RefreshBusy, refresh

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
    import atexit

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
