"""The refresh's uncertainty summary stores data and method uncertainty together and each part (issue 13.2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from etl.jobs.uncertainty_summary import part_hash, write_uncertainty_summary
from etl.stores.profiles import SHIPPED_DIR, load_profile
from etl.warehouse import connection as warehouse


@pytest.mark.slow
def test_each_part_is_stored_and_the_data_widens_the_method_intervals(demo_env: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_env["db"], db)
    with warehouse.connection(db) as con:
        warehouse.execute(con, "DELETE FROM uncertainty_ranks")
        warehouse.execute(con, "DELETE FROM uncertainty_runs")
    se = warehouse.query(db, "SELECT count(se) AS n FROM indicator_values")["n"][0]
    assert se > 0, "the demo warehouse stores standard errors"
    runs = write_uncertainty_summary(db, ["user-centred"], SHIPPED_DIR, samples=512, seed=3)
    assert len(runs) == 3 and all(r.samples_ok == 512 for r in runs)
    stored = warehouse.query(db, "SELECT run_id, profile_hash, spec_json FROM uncertainty_runs")
    h = load_profile("user-centred", SHIPPED_DIR).content_hash()
    assert sorted(stored["profile_hash"].to_list()) == sorted(part_hash(h, p) for p in ("both", "method", "data"))
    ranks = warehouse.query(db, "SELECT r.profile_hash, u.rank_low, u.rank_high FROM uncertainty_ranks u "
                                "JOIN uncertainty_runs r USING (run_id)")
    width = {k: float(g["w"].mean()) for (k,), g in ranks.with_columns(
        (pl.col("rank_high") - pl.col("rank_low")).alias("w")).group_by("profile_hash")}
    assert width[part_hash(h, "data")] > 0
    assert width[h] >= width[part_hash(h, "method")]  # the sampling error adds to the method's


def test_without_standard_errors_one_method_run_is_stored_as_the_default(fixture_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(fixture_db, db)
    runs = write_uncertainty_summary(db, ["user-centred"], SHIPPED_DIR, samples=256, seed=3)
    assert len(runs) == 1
    stored = warehouse.query(db, "SELECT profile_hash, spec_json FROM uncertainty_runs")
    assert stored["profile_hash"].to_list() == [load_profile("user-centred", SHIPPED_DIR).content_hash()]
