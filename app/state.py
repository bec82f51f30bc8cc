"""The app's in-memory state: one context per process (paths, snapshot cache, profiles, model cache, jobs).

Pages never import the Dash app; they call `get_context()`. The expensive part of scoring (impute → treat →
normalise) is cached per (snapshot, method specification); reweighting re-aggregates the cached normalised tensor
only, and Monte Carlo rank intervals are cached per (snapshot, profile scoring hash, period).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.web.jobs import JobRegistry
from app.web.security import sees_published
from etl.config import Config
from etl.jobs.refresh import refresh_in_background
from etl.warehouse.snapshot import Snapshot, SnapshotCache, file_key
from app.views.scoring import Prepared, RankIntervals, prepare, quick_rank_intervals
from etl.contract.catalog import load_catalog
from etl.stores.profiles import PUBLISHED_FILE, SHIPPED_DIR, list_profiles, load_profile, viewer_profiles
from indicators.catalog import Catalog
from indicators.framework import Framework
from indicators.profile import WeightProfile

log = logging.getLogger("govindex.app")
T = TypeVar("T")


class _LRU:
    """A small thread-safe LRU: compute once per key, even when two requests ask at the same time."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            with self._lock:
                if key in self._data:
                    return self._data[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self._data[key] = value
                self._key_locks.pop(key, None)
                while len(self._data) > self._size:
                    self._data.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass
class AppContext:
    """Everything the pages need, created once by `create_app` from the process's configuration."""

    config: Config
    db_path: Path
    weights_dir: Path
    runs_path: Path
    default_profile: str
    mc_samples: int
    seed: int
    catalog: Catalog
    framework: Framework
    snapshots: SnapshotCache
    jobs: JobRegistry = field(default_factory=lambda: JobRegistry(max_workers=1))
    _prepared: _LRU = field(default_factory=lambda: _LRU(8))
    _intervals: _LRU = field(default_factory=lambda: _LRU(32))
    _views: _LRU = field(default_factory=lambda: _LRU(64))
    _profiles_key: tuple[Any, ...] | None = None
    _profiles: dict[str, WeightProfile] = field(default_factory=dict)
    _profiles_lock: threading.Lock = field(default_factory=threading.Lock)
    _published_key: tuple[Any, ...] | None = None
    _published: dict[str, WeightProfile] = field(default_factory=dict)
    _refresh: Future[Any] | None = None

    @classmethod
    def create(cls, config: Config, catalog: Catalog | None = None) -> AppContext:
        """Paths, default profile, rank-interval samples and seed from `config` (kept for "refresh now")."""
        cat = catalog or load_catalog()
        return cls(
            config=config,
            db_path=config.paths.db,
            weights_dir=config.paths.weights_dir,
            runs_path=config.paths.runs_path,
            default_profile=config.app.default_profile,
            mc_samples=config.app.rank_samples,
            seed=config.refresh.seed,
            catalog=cat,
            framework=cat.framework(),
            snapshots=SnapshotCache(config.paths.db),
        )

    # -- data ----------------------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.snapshots.get()

    def refresh_future(self, start: bool) -> Future[Any] | None:
        """The app's "refresh now": start one (start=True) or return the one already under way or just finished.

        The refresh runs on a background thread into a new snapshot (etl.jobs.refresh); the pages pick it up through the
        snapshot cache when it is swapped in. It uses the configuration the app was created with (the one `govindex
        serve` built from --config, GOVINDEX_* and its options), never a fresh read of ./govindex.toml.
        """
        if start:
            self._refresh = refresh_in_background(self.config, "manual")
        return self._refresh

    # -- profiles ------------------------------------------------------------------------------------------------
    def profiles(self) -> dict[str, WeightProfile]:
        """The profiles this request's role sees: leaders and district officials the published version of each
        (where one was published), editors the current one (app/security.sees_published)."""
        current = self.current_profiles()
        return self._published_view(current) if sees_published() else current

    def _published_view(self, current: dict[str, WeightProfile]) -> dict[str, WeightProfile]:
        key = (self._profiles_key,
               tuple((n, file_key(self.weights_dir / "history" / n / PUBLISHED_FILE)) for n in current))
        if key != self._published_key:
            with self._profiles_lock:
                out = viewer_profiles(current, self.weights_dir, framework=self.framework,
                                      on_error=lambda n, e: log.warning("published version of %s skipped: %s", n, e))
                self._published, self._published_key = out, key
        return self._published

    def current_profiles(self) -> dict[str, WeightProfile]:
        """Current profiles (saved in weights_dir, else shipped), re-read when any file changes (a save, another
        process)."""
        # asked on every request: one scandir per folder, no per-name Path work
        key = (_toml_files_key(self.weights_dir), _toml_files_key(SHIPPED_DIR))
        if key != self._profiles_key:
            with self._profiles_lock:
                names = list_profiles(self.weights_dir)
                loaded: dict[str, WeightProfile] = {}
                for n in names:
                    try:
                        p = load_profile(n, self.weights_dir)
                        p.validate_against(self.framework)
                    except Exception as e:  # one bad file must not take the app down; it is logged and skipped
                        log.warning("weight profile %s skipped: %s", n, e)
                        continue
                    loaded[n] = p
                self._profiles, self._profiles_key = loaded, key
        return self._profiles

    def profile_names(self) -> list[str]:
        return list(self.profiles())

    def profile_titles(self, lang: str) -> dict[str, str]:
        return {n: (p.title_en if lang == "en" else p.title_zh) for n, p in self.profiles().items()}

    def default_profile_name(self) -> str:
        names = self.profile_names()
        if self.default_profile in names:
            return self.default_profile
        return names[0] if names else ""

    def profile(self, name: str | None) -> WeightProfile:
        profiles = self.profiles()
        if name and name in profiles:
            return profiles[name]
        default = self.default_profile_name()
        if not default:
            raise LookupError(f"no usable weight profile in {self.weights_dir}")
        return profiles[default]

    # -- model ---------------------------------------------------------------------------------------------------
    def prepared(self, profile: WeightProfile | None = None) -> Prepared:
        """The normalised tensor for the current snapshot under the profile's method choices (cached)."""
        profile = profile or self.profile(None)
        snap = self.snapshot()
        spec = profile.methods_for(self.framework)  # without codes of retired indicators (see profile.notes)
        key = (snap.key, spec.fingerprint())
        return self._prepared.get(key, lambda: prepare(snap, self.catalog, self.framework, spec))

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A page part that depends only on `key` (which must name the snapshot, profile and language it was built
        for), computed once; the value is shared between requests, so callers treat it as read-only."""
        return self._views.get(key, compute)

    def rank_intervals(self, profile: WeightProfile, period: str) -> RankIntervals | None:
        """Quick Monte Carlo 5–95% rank intervals for the overview (cached per snapshot, profile and period)."""
        if self.mc_samples <= 0:
            return None
        prep = self.prepared(profile)
        key = (self.snapshot().key, profile.scoring_hash(), period, self.mc_samples, self.seed)
        return self._intervals.get(
            key, lambda: quick_rank_intervals(prep, profile, period, self.mc_samples, self.seed)
        )

    def warm(self) -> None:
        """Compute the default view once at start-up, so the first visitor does not wait."""
        try:
            prof = self.profile(None)
            prep = self.prepared(prof)
            if prep.periods:
                self.rank_intervals(prof, prep.default_period)
        except Exception as e:  # an empty or broken warehouse is shown on the pages, not fatal at start-up
            log.warning("could not warm the model cache: %s", e)


def _toml_files_key(directory: Path) -> tuple[tuple[str, int, int, int], ...]:
    """(name, inode, mtime, size) of every .toml file in `directory`: changes whenever a profile is saved, replaced,
    added or removed (by this process or another)."""
    out = []
    try:
        with os.scandir(directory) as it:
            for e in it:
                if e.name.endswith(".toml"):
                    try:
                        st = e.stat()
                    except FileNotFoundError:  # removed while we looked: the next request sees the new state
                        continue
                    out.append((e.name, st.st_ino, st.st_mtime_ns, st.st_size))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(sorted(out))


_CONTEXT: AppContext | None = None


def set_context(ctx: AppContext) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def get_context() -> AppContext:
    if _CONTEXT is None:
        raise RuntimeError("the app context is not set: call app.server.create_app first")
    return _CONTEXT
