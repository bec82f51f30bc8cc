"""The national demo end to end at a small size: provinces over county-level units, GB/T 2260-shaped codes,
refreshed (ingest, indicator values, scores) and scored at the county and the province level."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl.config import load_config
from etl.contract.catalog import load_catalog
from etl.contract.tables import UNIT_CODE_PATTERN
from etl.demo.national import N_COUNTIES, PROVINCES, generate_national, national_rows
from etl.jobs.refresh import refresh
from etl.stores.levels import score_level
from etl.stores.profiles import load_profile
from etl.warehouse import connection as warehouse


def test_the_full_unit_table_has_2844_counties_under_31_provinces() -> None:
    rows = national_rows(np.random.default_rng(1))
    provinces = [r for r in rows if r["level"] == "province"]
    counties = [r for r in rows if r["level"] == "county"]
    assert len(PROVINCES) == len(provinces) == 31 and len(counties) == N_COUNTIES == 2844
    codes = [str(r["district_code"]) for r in rows]
    assert len(set(codes)) == len(codes) and all(re.fullmatch(UNIT_CODE_PATTERN, c) for c in codes)
    assert all(str(r["district_code"])[:2] == str(r["parent_code"])[:2] for r in counties)
    assert {r["peer_group"] for r in counties} == {"市辖区", "县", "县级市"}


def test_the_county_level_units_are_the_real_ones_with_their_gbt2260_codes_and_kinds() -> None:
    rows = national_rows(np.random.default_rng(1))
    counties = {str(r["district_code"]): r for r in rows if r["level"] == "county"}
    for code, zh, _, n, _, _ in PROVINCES:  # each province keeps the demo's count of units
        assert sum(c[:2] == code for c in counties) == n, zh
    assert counties["110101"]["name_zh"] == "东城区" and counties["110101"]["name_en"] == "Dongcheng District"
    assert counties["310115"]["name_zh"] == "浦东新区" and counties["310115"]["peer_group"] == "市辖区"
    assert counties["130181"]["name_zh"] == "辛集市" and counties["130181"]["peer_group"] == "县级市"
    assert counties["150121"]["name_zh"] == "土默特左旗" and counties["150121"]["peer_group"] == "县"
    assert counties["220104"]["name_zh"] == "朝阳区" and counties["220104"]["name_en"] == "Chaoyang District"
    assert not any(c.endswith("00") for c in counties)  # prefecture-level cities without counties are left out
    names = [str(r["name_zh"]) for r in counties.values()]
    assert all(r["peer_group"] == ("市辖区" if str(r["name_zh"]).endswith("区") else "县级市"
                                   if str(r["name_zh"]).endswith("市") else "县") for r in counties.values()
               if not str(r["name_zh"]).endswith(("特区", "林区")))
    assert len(set(names)) < len(names)  # real names repeat across provinces (朝阳区 in Beijing and Changchun)


@pytest.mark.slow
def test_the_national_demo_refreshes_and_scores_at_both_levels(tmp_path: Path) -> None:
    src, db = tmp_path / "national", tmp_path / "warehouse.duckdb"
    report = generate_national(src, provinces=3, counties=6, months=3, end_month="2026-09", scale=2.0)
    assert report.rows["district"] == 3 + 18
    config = load_config(env={}, overrides={"db": str(db), "inbox": str(tmp_path / "inbox"),
                                            "archive": str(tmp_path / "archive"), "uncertainty_samples": 50,
                                            "inbox_settle_seconds": 0})
    t0 = time.perf_counter()
    record = refresh(config, "cli", src)
    seconds = time.perf_counter() - t0
    assert record.status == "succeeded", record.error
    size = sum(f.stat().st_size for f in src.iterdir())
    print(f"national demo (3 provinces × 6 counties): {size / 1e6:.1f} MB of raw files, refresh {seconds:.1f} s")
    with warehouse.connection(db, read_only=True) as con:
        units = warehouse.query(con, "SELECT DISTINCT unit_code FROM indicator_values")["unit_code"].to_list()
        scored = warehouse.query(con, "SELECT DISTINCT unit_code FROM scores")["unit_code"].to_list()
    assert len(units) == 18 and not any(u.endswith("0000") for u in units)  # records belong to counties
    assert set(scored) == set(units)
    fw = load_catalog().framework()
    prof = load_profile("equal")
    counties, tree = score_level(db, fw, prof, "quarter", "county", "parent")
    latest = counties.filter(pl.col("period") == "2026Q3")
    assert latest.height == 18 and set(latest["group"]) == {"110000", "120000", "130000"}
    assert sorted(latest.filter(pl.col("group") == "130000")["rank_in_group"].to_list()) == [1, 2, 3, 4, 5, 6]
    provinces, _ = score_level(db, fw, prof, "quarter", "province", "all")
    top = provinces.filter(pl.col("period") == "2026Q3")
    assert sorted(top["unit_code"].to_list()) == ["110000", "120000", "130000"]
    assert top["score"].is_not_null().all() and sorted(top["rank"].to_list()) == [1, 2, 3]
    assert tree.children("130000") == tuple(sorted(tree.children("130000")))
    from click.testing import CliRunner

    from app.cli import main

    res = CliRunner().invoke(main, ["rank", "--db", str(db), "--level", "county", "--within", "peer_group",
                                    "--parent", "120000", "--top", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ranks = [r["rank"] for r in out["rows"]]
    assert out["units"] == 6 and len(ranks) == 2 and ranks == sorted(ranks)
    assert all(r["unit_code"].startswith("12") for r in out["rows"])


def test_the_cut_down_options_need_national() -> None:
    from click.testing import CliRunner

    from app.cli import main

    res = CliRunner().invoke(main, ["demo", "--provinces", "2", "--out", "/nonexistent/never"])
    assert res.exit_code == 2 and "--provinces and --counties go with --national" in res.output


@pytest.mark.slow
def test_govindex_demo_national_writes_provinces_and_counties(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main

    res = CliRunner().invoke(main, ["demo", "--national", "--provinces", "2", "--counties", "3", "--months", "1",
                                    "--scale", "0.2", "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    raw = (tmp_path / "district.csv").read_bytes()  # the demo writes this file in GB18030, as some exports are
    units = pl.read_csv(raw.decode("gb18030").encode(), infer_schema_length=0)
    assert units.filter(pl.col("level") == "province")["district_code"].to_list() == ["110000", "120000"]
    assert units.filter(pl.col("level") == "county").height == 6
