"""What the ingest's per-file checks cost, each against a floor measured in the same test (issue 16 goal 1: the
ingest within 1.5x of DuckDB loading the same files). Best of a few runs, ratios only: the machine is shared."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import polars as pl
import pytest

from etl.contract import tables
from etl.ingest import files as ingest
from etl.warehouse import connection as warehouse


def _best(f: Callable[[], object], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


@pytest.fixture
def con() -> Iterator[warehouse.Connection]:
    c = warehouse.connect(":memory:")
    try:
        yield c
    finally:
        c.close()


def _case_events(n: int, repeat_last: bool = False) -> pl.DataFrame:
    """A case_event-like stage: (case_id, seq) keys, a few steps per case, text like the demo's."""
    rng = np.random.default_rng(7)
    cases = np.repeat(np.arange(n // 4), 4)[:n]
    seq = np.tile(np.arange(1, 5), n // 4 + 1)[:n]
    if repeat_last:
        cases[-1], seq[-1] = cases[0], seq[0]
    return pl.DataFrame({
        "case_id": [f"C202503-{c:07d}" for c in cases], "seq": seq.astype(np.int64),
        "event": rng.choice(["received", "accepted", "decided", "delivered"], n), "_row": np.arange(2, n + 2),
    })  # fmt: skip


@pytest.mark.parametrize("repeat_last", [False, True])
def test_the_key_check_says_whether_a_key_repeats(con: warehouse.Connection, repeat_last: bool) -> None:
    st = ingest.Stage(con, tables.TABLES["case_event"])
    st.append(_case_events(10_000, repeat_last))
    assert st.may_repeat(["case_id", "seq"]) is repeat_last


def test_a_hash_collision_sends_the_file_to_the_exact_check(
    con: warehouse.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer distinct hashes than rows (a collision, forced here) only means "may repeat": the SQL check decides."""
    frame = _case_events(1_000)
    st = ingest.Stage(con, tables.TABLES["case_event"])
    st.append(frame)
    monkeypatch.setattr(pl.DataFrame, "hash_rows", lambda self, *a, **k: pl.Series([1] * self.height, dtype=pl.UInt64))
    assert st.may_repeat(["case_id", "seq"]) is True


def test_the_key_check_costs_about_one_hash_of_the_keys(con: warehouse.Connection) -> None:
    """Whether a file repeats a key is asked of every file; at 1M rows it costs about hashing the key columns and
    counting distinct integers (it counted distinct key structs before, comparing the strings: ~10x that)."""
    frame = _case_events(1_000_000)
    st = ingest.Stage(con, tables.TABLES["case_event"])
    st.append(frame)

    def check() -> None:
        st._unique_key = None
        assert st.may_repeat(["case_id", "seq"]) is False

    floor = _best(lambda: frame.select("case_id", "seq").hash_rows().n_unique())
    ours = _best(check)
    assert ours < 2.5 * floor, (ours, floor)
