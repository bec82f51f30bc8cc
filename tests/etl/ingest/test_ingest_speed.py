"""What the ingest's per-file checks cost, each against a floor measured in the same test (issue 16 goal 1: the
ingest within 1.5x of DuckDB loading the same files). Best of a few runs, ratios only: the machine is shared."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl.contract import tables
from etl.ingest import files as ingest
from etl.warehouse import connection as warehouse
from tests.conftest import Warehouses


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


def test_referenced_keys_are_looked_up_once_per_batch(
    warehouses: Warehouses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The district codes every monthly file names are checked against the warehouse once per batch, not once per
    file and column (a key found stays found: references are to primary keys, which a batch never removes); codes
    not found are asked again, so a file's unknown code is still quarantined."""
    source = warehouses.demo_sources(months=3, scale=0.05)
    asked: list[tuple[str, int]] = []
    real = warehouse.missing_values

    def spy(con: warehouse.Connection, table: str, column: str, values: pl.Series) -> pl.Series:
        asked.append((table, values.len()))
        return real(con, table, column, values)

    monkeypatch.setattr(warehouse, "missing_values", spy)
    report = ingest.ingest_folder(source, tmp_path / "w.duckdb")
    naming = [f for f in report.files if f.status in ("loaded", "partial") and f.table and any(
        c.references == "district.district_code" for c in tables.TABLES[f.table].columns)]  # fmt: skip
    districts = [n for t, n in asked if t == "district"]
    assert len(naming) >= 6 and report.rows_loaded > 0
    assert len(districts) <= len(naming) // 2, (len(districts), len(naming))
    with warehouse.connection(tmp_path / "w.duckdb", read_only=True) as con:
        codes = warehouse.row_count(con, "district")
    assert sum(districts) <= 2 * codes + 20, (sum(districts), codes)


def test_a_column_of_ever_new_keys_is_no_longer_filtered_through_the_cache(
    con: warehouse.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys found stay cached up to MAX_CACHED per column; a column whose found keys outgrow it (case ids: each month's
    are new, so the cache never hits) is dropped from the cache and not cached again, so later files are not filtered
    through a large set that cannot help. The answers stay exact either way."""
    monkeypatch.setattr(ingest.PresentKeys, "MAX_CACHED", 4)
    con.sql("CREATE TABLE ref_t (k VARCHAR)")
    con.sql("INSERT INTO ref_t SELECT printf('K%02d', i) FROM range(20) AS r(i)")
    present = ingest.PresentKeys(con)
    filtered: list[int] = []
    real_is_in = pl.Series.is_in

    def spy(self: pl.Series, other: object, **kwargs: object) -> pl.Series:
        filtered.append(self.len())
        return real_is_in(self, other, **kwargs)  # type: ignore[arg-type]

    assert present.missing("ref_t", "k", pl.Series(["K00", "K01", "X1"])).to_list() == ["X1"]
    assert present.found[("ref_t", "k")].sort().to_list() == ["K00", "K01"]
    assert present.missing("ref_t", "k", pl.Series(["K01", "K02", "K03", "K04"])).to_list() == []  # 5 found: over 4
    assert ("ref_t", "k") not in present.found
    monkeypatch.setattr(pl.Series, "is_in", spy)
    assert present.missing("ref_t", "k", pl.Series(["K05", "K06", "X2"])).to_list() == ["X2"]
    assert filtered == [] and ("ref_t", "k") not in present.found
