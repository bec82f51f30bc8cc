"""Background jobs for the web app: a thread-pool registry polled by dcc.Interval, with progress, cancel and a cache.

Dash's own background callbacks need a diskcache/celery manager and a separate process; sensitivity runs are
numpy-bound (the GIL is released in the heavy parts), so threads in the server process are enough and keep the
results in memory next to the model cache. A job function receives a `JobContext` and must call
`ctx.progress(fraction)` between chunks; that call raises `JobCancelled` once cancel was requested.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


class JobCancelled(Exception):
    """The job was cancelled by the user between two chunks."""


class UnknownJob(KeyError):
    """No job with this id (expired or never started)."""


@dataclass
class JobContext:
    """What a running job sees: a cancel flag and a progress sink."""

    _cancel: threading.Event
    _job: Job

    def progress(self, fraction: float) -> None:
        """Report progress in [0, 1]; raises JobCancelled when a cancel was requested."""
        self._job.progress = max(0.0, min(1.0, float(fraction)))
        if self._cancel.is_set():
            raise JobCancelled(self._job.id)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


@dataclass
class Job:
    """A job's public state (read by the polling callback)."""

    id: str
    key: str
    status: str = "queued"  # queued | running | done | cancelled | error
    progress: float = 0.0
    result: Any = None
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    from_cache: bool = False
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class JobRegistry:
    """Runs callables in a small thread pool, keeps their state by id and their results by specification key."""

    def __init__(self, max_workers: int = 1, cache_size: int = 32, keep_jobs: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="govindex-job")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._keep_jobs = keep_jobs

    def submit(self, key: str, fn: Callable[[JobContext], Any]) -> Job:
        """Start `fn` unless a result for `key` is cached (then a finished job is returned at once).

        A job already running for the same key is reused, so double clicks do not start two runs.
        """
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                job = Job(id=uuid.uuid4().hex, key=key, status="done", progress=1.0, result=self._cache[key])
                job.finished, job.from_cache = job.started, True
                self._remember(job)
                return job
            for job in self._jobs.values():
                if job.key == key and job.active:
                    return job
            job = Job(id=uuid.uuid4().hex, key=key)
            self._remember(job)
        self._pool.submit(self._run, job, fn)
        return job

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > self._keep_jobs:
            oldest = next(iter(self._jobs))
            if self._jobs[oldest].active:
                break
            self._jobs.pop(oldest)

    def _run(self, job: Job, fn: Callable[[JobContext], Any]) -> None:
        if job.cancel_event.is_set():
            job.status, job.finished = "cancelled", time.monotonic()
            return
        job.status, job.started = "running", time.monotonic()
        try:
            result = fn(JobContext(job.cancel_event, job))
        except JobCancelled:
            job.status = "cancelled"
        except Exception as e:  # a failed run is shown to the user, not swallowed
            job.status, job.error = "error", f"{type(e).__name__}: {e}"
        else:
            job.result, job.progress, job.status = result, 1.0, "done"
            with self._lock:
                self._cache[job.key] = result
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        finally:
            job.finished = time.monotonic()

    def get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UnknownJob(job_id) from None

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel_event.set()
        return job

    def cached(self, key: str) -> Any | None:
        with self._lock:
            return self._cache.get(key)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def shutdown(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
