"""Server-side sign-in sessions (in-process, expiring, bounded) and the failed-sign-in throttle."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from app.web.security import Identity


@dataclass
class Session:
    identity: Identity
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)


class SessionStore:
    """In-process sessions keyed by sha256(session id): expiring, bounded, thread-safe."""

    def __init__(self, idle_seconds: int, max_seconds: int, max_sessions: int) -> None:
        self.idle, self.max_age, self.max_sessions = idle_seconds, max_seconds, max_sessions
        self._data: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(sid: str) -> str:
        return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()

    def create(self, identity: Identity) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        sess = Session(identity=identity)
        with self._lock:
            self._data[self._key(sid)] = sess
            while len(self._data) > self.max_sessions:  # oldest first: a flood of new sessions cannot exhaust memory
                self._data.popitem(last=False)
        return sid, sess

    def get(self, sid: str | None) -> Session | None:
        if not sid or len(sid) > 128:
            return None
        key, now = self._key(sid), time.monotonic()
        with self._lock:
            sess = self._data.get(key)
            if sess is None:
                return None
            if now - sess.seen > self.idle or now - sess.created > self.max_age:
                del self._data[key]
                return None
            sess.seen = now
            self._data.move_to_end(key)
            return sess

    def drop(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._data.pop(self._key(sid), None)

    def __len__(self) -> int:
        return len(self._data)


class Throttle:
    """Failed sign-ins per (address, name): after `limit` failures each further try waits 2^k seconds (max 15 min)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._fails: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, key: tuple[str, str]) -> float:
        with self._lock:
            n, last = self._fails.get(key, (0, 0.0))
        if n < self.limit:
            return 0.0
        return max(0.0, last + min(900.0, 2.0 ** (n - self.limit + 1)) - time.monotonic())

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            n, _ = self._fails.get(key, (0, 0.0))
            self._fails[key] = (n + 1, time.monotonic())
            if len(self._fails) > 50_000:
                self._fails.clear()

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._fails.pop(key, None)
