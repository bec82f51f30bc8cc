"""The sensitivity results store: one result per key, the newest per profile, a bounded history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from etl.stores import sensitivity as store


def test_save_load_latest_and_keep_a_bounded_history(tmp_path: Path) -> None:
    path = store.store_path(tmp_path / "runs.sqlite")
    assert path.name == store.SENSITIVITY_FILE and store.latest(path, "p") is None and store.load(path, "k") is None
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(store.KEEP_PER_PROFILE + 3):
        store.save(path, f"k{i}", "p", f'{{"i": {i}}}', now=t0 + timedelta(minutes=i))
    store.save(path, "other", "q", "{}", now=t0)
    assert store.latest(path, "p") == (f"k{store.KEEP_PER_PROFILE + 2}", f'{{"i": {store.KEEP_PER_PROFILE + 2}}}')
    assert store.load(path, "k0") is None and store.load(path, "k5") is not None  # the oldest were dropped
    assert store.latest(path, "q") == ("other", "{}")
    store.save(path, "k5", "p", "again", now=t0 + timedelta(hours=1))  # same key: replaced, now the newest
    assert store.latest(path, "p") == ("k5", "again")
