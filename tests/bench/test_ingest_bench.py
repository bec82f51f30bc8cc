"""bench.ingest's one-thread mode: both sides really run on one thread, so their CPU ratio measures work, not the
spinning of idle worker threads on a loaded machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import ingest as bench_ingest
from tests.conftest import Warehouses


@pytest.mark.parametrize("phase", ["floor", "ours"])
def test_threads_1_pins_both_sides_to_one_thread(warehouses: Warehouses, tmp_path: Path, phase: str) -> None:
    source = warehouses.demo_sources(months=1, scale=0.05)
    one = bench_ingest._child(phase, source, tmp_path / "one.duckdb", threads=1)
    assert one["threads"] == 1 and one["polars_threads"] == 1, one
    assert one["rows"] > 0 and one["cpu"] > 0
