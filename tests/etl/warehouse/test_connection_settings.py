"""DuckDB's memory limit and threads come from the configuration's [warehouse] section, on every connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config import WarehouseConfig
from etl.warehouse import connection as warehouse


@pytest.fixture()
def restore_settings() -> Iterator[None]:
    yield
    default = WarehouseConfig.model_validate({})
    warehouse.configure(default.memory_limit, default.threads)


def test_memory_limit_and_threads_from_configuration(tmp_path: Path, restore_settings: None) -> None:
    with warehouse.connection(tmp_path / "a.duckdb") as con:  # the default: 1536 MB (was hard-coded in the ingest)
        assert warehouse.scalar(con, "SELECT current_setting('memory_limit')") in ("1.5 GiB", "1.4 GiB", "1536.0 MiB")
    warehouse.configure("512MB", 1)
    with warehouse.connection(tmp_path / "a.duckdb") as con:
        assert warehouse.scalar(con, "SELECT current_setting('memory_limit')") in ("488.2 MiB", "512.0 MiB")
        assert warehouse.scalar(con, "SELECT current_setting('threads')") == 1
    with warehouse.connection(tmp_path / "a.duckdb", read_only=True) as con:
        assert warehouse.scalar(con, "SELECT current_setting('threads')") == 1
