"""`govindex sensitivity` end to end on a small warehouse: every table written, reproducible, errors named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shutil

import polars as pl
import pytest

from etl.demo.units import DISTRICTS as NAMES
from etl.warehouse import connection as warehouse
from tests.conftest import DISTRICT_CODES as DISTRICTS, Warehouses

pytestmark = pytest.mark.slow  # full Monte Carlo and Sobol runs through the CLI

GOVINDEX = str(Path(sys.executable).with_name("govindex"))
TABLES = ("rank_intervals", "p_rank_at_most", "pairwise", "failures", "sobol", "sobol_convergence", "tornado",
          "swap_points", "audit_correlations", "audit_dimensions", "audit_importance", "audit_flags", "issues")


@pytest.fixture(scope="module")
def db(warehouses: Warehouses) -> Path:
    return warehouses.synthetic(quarters=3, seed=3, first="2025Q1")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVINDEX, "sensitivity", *args], capture_output=True, text=True, timeout=300)


def test_writes_every_table_and_is_reproducible(db: Path, tmp_path: Path) -> None:
    args = ["--db", str(db), "--samples", "2000", "--sobol-samples", "64", "--seed", "5", "--profile", "user-centred"]
    a, b = _run(*args, "--out", str(tmp_path / "a")), _run(*args, "--out", str(tmp_path / "b"))
    assert a.returncode == 0, a.stderr
    assert "16 units, period 2025年第三季度 (2025 Q3)" in a.stdout
    for name in TABLES:
        csv = pl.read_csv(tmp_path / "a" / f"{name}.csv")
        assert pl.read_parquet(tmp_path / "a" / f"{name}.parquet").shape == csv.shape
    ranks = pl.read_parquet(tmp_path / "a" / "rank_intervals.parquet")
    assert sorted(ranks["unit"].to_list()) == sorted(DISTRICTS)
    assert (ranks["rank_low"] <= ranks["median_rank"]).all() and (ranks["median_rank"] <= ranks["rank_high"]).all()
    assert pl.read_parquet(tmp_path / "a" / "failures.parquet")["samples"].sum() == 2000
    assert ranks.equals(pl.read_parquet(tmp_path / "b" / "rank_intervals.parquet"))
    assert pl.read_parquet(tmp_path / "a" / "sobol.parquet").equals(pl.read_parquet(tmp_path / "b" / "sobol.parquet"))
    summary = (tmp_path / "a" / "summary.md").read_text(encoding="utf-8")
    assert "排名区间 / Rank intervals" in summary and "Sobol" in summary
    run = json.loads((tmp_path / "a" / "run.json").read_text(encoding="utf-8"))
    assert run["seed"] == 5 and run["profile"] == "user-centred" and run["spec"]["samples"] == 2000


def test_bad_spec_and_missing_warehouse_are_named(db: Path, tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('samples = 100\n[blend]\ndemand = [0.5, 1.5]\n[[weight_noise]]\nlevel = 1\nsprad = 0.1\n',
                    encoding="utf-8")
    r = _run("--db", str(db), "--spec", str(spec), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "weight_noise.0.sprad: unknown key" in r.stderr and str(spec) in r.stderr
    spec.write_text('samples = 100\nsobol_samples = 64\n[blend]\ndemand = [0.5, 1.5]\n', encoding="utf-8")
    r = _run("--db", str(db), "--spec", str(spec), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "0 <= low <= high <= 1, got [0.5, 1.5]" in r.stderr
    r = _run("--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_help_describes_every_option() -> None:
    r = _run("--help")
    assert r.returncode == 0
    for opt in ("--profile", "--spec", "--samples", "--sobol-samples", "--seed", "--grain", "--period", "--db", "--out"):
        assert opt in r.stdout


def test_summary_names_districts(db: Path, tmp_path: Path) -> None:
    """summary.md shows district names beside codes when the warehouse has the district table (it used to query a
    column `code` that does not exist, and a bare except hid the error)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(db, path)
    names = pl.DataFrame([(c, zh, en, 100_000, 20_000) for c, zh, en in NAMES],
                         schema=["district_code", "name_zh", "name_en", "population", "pop_60plus"], orient="row")
    with warehouse.connection(path) as con:
        warehouse.insert_frame(con, "district", names)
    r = _run("--db", str(path), "--samples", "200", "--sobol-samples", "16", "--seed", "1", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    summary = (tmp_path / "o" / "summary.md").read_text(encoding="utf-8")
    shown = [f"{zh} ({code})" for code, zh, _en in NAMES if code in DISTRICTS]
    assert shown and any(s in summary for s in shown), summary[:2000]
