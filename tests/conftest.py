"""Fixtures shared by every test folder: vendored reference files and the one warehouse builder.

Every test that needs a warehouse gets it from `warehouses` (or the `fixture_db` / `demo_env` shortcuts below):
- `synthetic(...)`: a small hand-made warehouse (district, quarterly indicator_values, ingest_files, quarantine), built
  in-process in well under a second; parameters give the variants a test needs (more quarters, another seed).
- `demo_sources(...)` / `demo(...)`: the demo generator's raw files, and a warehouse built from them by a real
  `govindex refresh`. These take seconds, so they are built once per test run and shared by the xdist workers
  (under a file lock in the run's common temporary folder); each worker then gets its own copy to open or serve.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl.demo.units import DISTRICTS as DEMO_DISTRICTS
from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
COINR_ASEM = FIXTURES / "coinr-asem"
GOVINDEX = Path(sys.executable).parent / "govindex"

# Districts strong on supply but weak on demand (the study's "task-oriented" pattern) and the reverse.
TASK_ORIENTED = ("310115", "310104", "310112")
USER_LED = ("310151", "310120")
DISTRICT_CODES = tuple(c for c, _, _ in DEMO_DISTRICTS)


def _quarters(first: str, n: int) -> list[str]:
    year, q = int(first[:4]), int(first[-1]) - 1
    return [f"{year + (q + k) // 4}Q{(q + k) % 4 + 1}" for k in range(n)]


def build_synthetic_warehouse(path: Path, quarters: int = 4, seed: int = 7, first: str = "2024Q1") -> Path:
    """Write district, indicator_values (quarter grain), quarantine and ingest_files into a new warehouse file."""
    rng = np.random.default_rng(seed)
    cat = load_catalog()
    periods = _quarters(first, quarters)
    supply = {c: rng.uniform(0.35, 0.65) for c in DISTRICT_CODES}
    demand = {c: rng.uniform(0.35, 0.65) for c in DISTRICT_CODES}
    for c in TASK_ORIENTED:
        supply[c], demand[c] = rng.uniform(0.75, 0.9), rng.uniform(0.15, 0.3)
    for c in USER_LED:
        supply[c], demand[c] = rng.uniform(0.2, 0.35), rng.uniform(0.7, 0.85)
    rows = []
    for k, per in enumerate(periods):
        for c in DISTRICT_CODES:
            for d in cat:
                latent = (supply if d.side == "supply" else demand)[c] + 0.03 * k + rng.normal(0, 0.08)
                x = float(np.clip(latent, 0.02, 0.98))
                lo, hi = d.goalposts.low, d.goalposts.high
                value = lo + (hi - lo) * (x if d.direction == 1 else 1 - x)
                den = float(rng.integers(20, 5000))
                rows.append((c, per, "quarter", d.id, value, value * den / 100, den))
    values = pl.DataFrame(rows, schema=["unit_code", "period", "grain", "indicator_id", "value", "numerator",
                                        "denominator"], orient="row")
    districts = pl.DataFrame(
        [(c, zh, en, int(rng.integers(300_000, 5_000_000)), int(rng.integers(50_000, 900_000)))
         for c, zh, en in DEMO_DISTRICTS],
        schema=["district_code", "name_zh", "name_en", "population", "pop_60plus"], orient="row",
    )
    now = datetime(2025, 3, 1, 2, 0)
    files = pl.DataFrame({
        "file_id": [1, 2], "batch_id": [1, 1], "path": ["demo/case_310115.csv", "demo/rating.csv"],
        "file_name": ["case_310115.csv", "rating.csv"], "table_name": ["case", "rating"],
        "sha256": ["a" * 64, "b" * 64], "size_bytes": [1000, 2000], "rows_in": [100, 50],
        "rows_loaded": [97, 50], "rows_quarantined": [2, 0], "rows_duplicate": [1, 0], "rows_superseded": [0, 0],
        "encoding": ["gb18030", "utf-8"], "status": ["loaded", "loaded"], "message": [None, None],
        "started_at": [now, now], "finished_at": [now, now],
    })
    q_rows = [
        {"case_id": "C1", "district_code": "310115", "channel": "fax", "started_at": "2024-02-01"},
        {"case_id": "C2", "district_code": "310115", "channel": "app", "started_at": "2031-01-01"},
    ]
    quarantine = pl.DataFrame({
        "file_id": [1, 1], "batch_id": [1, 1], "table_name": ["case", "case"],
        "source_file": ["case_310115.csv", "case_310115.csv"], "row_number": [7, 42],
        "column_name": ["channel", "started_at"], "check_name": ["isin", "not_future"],
        "value": ["fax", "2031-01-01"], "reason": ["渠道不在允许值内 channel not allowed", "时间晚于载入时间 in the future"],
        "original_row": [json.dumps(r, ensure_ascii=False) for r in q_rows],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(path)
    try:
        warehouse.insert_frame(con, "district", districts)
        warehouse.execute(con, "CREATE TABLE indicator_values (unit_code VARCHAR, period VARCHAR, grain VARCHAR, "
                               "indicator_id VARCHAR, value DOUBLE, numerator DOUBLE, denominator DOUBLE)")
        warehouse.insert_frame(con, "indicator_values", values)
        warehouse.insert_frame(con, "ingest_files", files)
        warehouse.insert_frame(con, "quarantine", quarantine)
    finally:
        con.close()
    return path


def free_port() -> int:
    """A free TCP port on the loopback address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(args: list[str], log_path: Path, *, cwd: Path, env: dict[str, str], probe: str = "/",
            start_seconds: float = 90, stop_seconds: float = 15) -> Iterator[str]:
    """`govindex serve ARGS --port <free>` as a subprocess (output to `log_path`) until `probe` answers; yields the
    base URL and stops the server (terminate, then kill) however the test ends. A server that exits or never
    answers raises with the end of its log."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "govindex"), "serve", *args, "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        try:
            deadline = time.monotonic() + start_seconds
            while proc.poll() is None:
                try:
                    urllib.request.urlopen(url + probe, timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the server did not answer {probe} within {start_seconds:.0f} s:\n"
                                           + log_path.read_text()[-3000:]) from None
                    time.sleep(0.3)
            if proc.poll() is not None:
                raise RuntimeError("the server exited:\n" + log_path.read_text()[-3000:])
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_govindex(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, without any configuration file from the environment; fails the test on error."""
    out = subprocess.run([str(GOVINDEX), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                         env={**os.environ, "GOVINDEX_CONFIG": ""})
    assert out.returncode == 0, f"govindex {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Warehouses:
    """Builds each warehouse variant once and hands out paths (see the module docstring)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        base = factory.getbasetemp()
        # under xdist each worker's basetemp is <run>/popen-gwN: the run's folder is common to the workers
        self._shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
        self._built: dict[str, Path] = {}

    def _shared_build(self, key: str, build: Callable[[Path], None]) -> Path:
        """The folder `key` in the run's common folder, filled by `build` by whichever worker gets there first."""
        if key in self._built:
            return self._built[key]
        folder = self._shared / key
        with _file_lock(self._shared / f"{key}.lock"):
            if not (folder / ".complete").exists():
                shutil.rmtree(folder, ignore_errors=True)  # a worker that died half-way
                folder.mkdir(parents=True)
                build(folder)
                (folder / ".complete").touch()
        self._built[key] = folder
        return folder

    def synthetic(self, quarters: int = 4, seed: int = 7, first: str = "2024Q1") -> Path:
        """The hand-made warehouse, one file per worker and variant (tests may open it for writing; never change it)."""
        key = f"synthetic-{quarters}-{seed}-{first}"
        if key not in self._built:
            self._built[key] = build_synthetic_warehouse(self._factory.mktemp(key) / "fixture.duckdb", quarters,
                                                         seed, first)
        return self._built[key]

    def demo_sources(self, months: int = 6, scale: float = 0.1) -> Path:
        """The demo generator's raw files (read only: copy what you change)."""
        def build(folder: Path) -> None:
            run_govindex("demo", "--out", str(folder / "raw"), "--months", str(months), "--scale", str(scale),
                         "--quiet")

        return self._shared_build(f"demo-sources-{months}-{scale}", build) / "raw"

    def demo(self, dest: Path, months: int = 6, scale: float = 0.1) -> Path:
        """A copy in `dest` of the warehouse `govindex refresh` built from `demo_sources(months, scale)`, with its
        run history beside it; returns the warehouse path."""
        raw = self.demo_sources(months, scale)

        def build(folder: Path) -> None:
            run_govindex("refresh", "--source", str(raw), "--db", str(folder / "warehouse.duckdb"), cwd=folder)

        built = self._shared_build(f"demo-warehouse-{months}-{scale}", build)
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("warehouse.duckdb", "runs.sqlite"):
            shutil.copy2(built / name, dest / name)
        return dest / "warehouse.duckdb"


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> Warehouses:
    return Warehouses(tmp_path_factory)


@pytest.fixture(scope="session")
def fixture_db(warehouses: Warehouses) -> Path:
    """The default synthetic warehouse, shared by the session: read it, or copy it before writing."""
    return warehouses.synthetic()


@pytest.fixture(scope="session")
def demo_env(warehouses: Warehouses, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real demo warehouse (demo → refresh through the CLI) with a copy of the shipped profiles, for this worker;
    "raw" is the demo's raw files it was built from (read only)."""
    base = tmp_path_factory.mktemp("demo")
    db = warehouses.demo(base)
    weights = base / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    return {"db": db, "weights": weights, "base": base, "raw": warehouses.demo_sources()}


@pytest.fixture(scope="session")
def units_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding only the default demo's unit table (Shanghai's 16 districts, two peer groups): the
    units the stores name and check (etl.warehouse.units)."""
    from etl.demo.districts import unit_table
    from etl.demo.units import shanghai_rows

    path = tmp_path_factory.mktemp("units") / "warehouse.duckdb"
    with warehouse.connection(path) as con:
        warehouse.insert_frame(con, "district", unit_table(shanghai_rows()))
    return path


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local SparkSession for the whole test session (skipped without pyspark or Java): small memory, bound to
    127.0.0.1, one shuffle partition (the test data are tiny; per-partition tasks would dominate)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs a Java 17 runtime")
    from etl.config import SparkConfig  # local: only the Spark tests need the session
    from etl.warehouse.spark_session import spark_session

    session = spark_session(SparkConfig(master="local[2]", driver_memory="1g", shuffle_partitions=1))
    yield session
    session.stop()
