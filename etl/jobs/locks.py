"""Exclusive advisory file locks (fcntl.flock) with the holder's pid written inside; the kernel frees them on death."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


class LockHeld(RuntimeError):
    """Another live process holds the lock; `holder` says who (pid, since, what)."""

    def __init__(self, message: str, holder: dict[str, Any]):
        super().__init__(message)
        self.holder = holder


class FileLock:
    """An flock on `path`, held until release() or process death (no stale state survives a SIGKILL).

    The lock file itself is never deleted: deleting it while another process waits on the old inode would let two
    processes "hold" different inodes of the same name. Its content (JSON: pid, host, since, what) is informational.
    """

    def __init__(self, path: str | os.PathLike[str], what: str):
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def read_holder(self) -> dict[str, Any]:
        """What the lock file says about its holder ({} when empty or unreadable)."""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
            data = json.loads(text) if text else {}
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self, wait_seconds: float = 0.0, **info: Any) -> FileLock:
        """Take the lock, waiting up to `wait_seconds`; raise LockHeld naming the holder's pid otherwise."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = self.read_holder()
                        raise LockHeld(self._held_message(holder), holder) from None
                    time.sleep(0.1)
        except BaseException:
            os.close(fd)
            raise
        # Written only once we hold the lock, so a waiting process never truncates the holder's record.
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "what": self.what,
            **info,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"), 0)
        self._fd = fd
        return self

    def update(self, **info: Any) -> None:
        """Add fields to the holder record (e.g. the run id once known)."""
        if self._fd is None:
            return
        record = {**self.read_holder(), **info}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # an empty file reads as "free"; the lock itself is what counts
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _held_message(self, holder: dict[str, Any]) -> str:
        pid = holder.get("pid", "unknown")
        extra = ", ".join(f"{k} {holder[k]}" for k in ("host", "since", "run_id") if k in holder)
        return f"another {self.what} is running (pid {pid}{', ' + extra if extra else ''}); lock file {self.path}"

    def __enter__(self) -> FileLock:
        if not self.held:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
