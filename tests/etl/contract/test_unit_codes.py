"""Unit codes are GB/T 2260 codes of any province (not Shanghai's 31 only), or the deployer's own by configuration."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from etl.config import ConfigError, load_config
from etl.contract import schemas, tables
from etl.ingest.files import ingest_files
from etl.warehouse import connection as warehouse
from etl.warehouse.units import read_units


@pytest.mark.parametrize("code", ["110101", "130102", "440103", "650102", "310104", "820000"])
def test_gbt2260_codes_of_every_province_are_unit_codes(code: str) -> None:
    assert re.fullmatch(tables.UNIT_CODE_PATTERN, code)


@pytest.mark.parametrize("code", ["999999", "100101", "300101", "31010", "3101011", "31010a", "720000"])
def test_codes_under_no_province_are_not(code: str) -> None:
    assert not re.fullmatch(tables.UNIT_CODE_PATTERN, code)


def _units_csv(path: Path, rows: list[str]) -> Path:
    header = "district_code,name_zh,name_en,population,pop_60plus,level,parent_code,peer_group"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_province_and_its_counties_load_and_a_bad_code_is_quarantined_naming_it(tmp_path: Path) -> None:
    f = _units_csv(tmp_path / "district.csv", [
        "130000,河北省,Hebei,74610235,14818830,province,,",
        "130102,长安区,Chang'an,1000000,200000,county,130000,市辖区",
        "130121,井陉县,Jingxing,300000,60000,county,130000,县",
        "990101,无效区,Nowhere,1,0,county,130000,县",
        "130122,自指县,Self,1,0,county,130122,县",
    ])
    db = tmp_path / "w.duckdb"
    rep = ingest_files([f], db, now=datetime(2026, 1, 1))
    assert (rep.rows_loaded, rep.rows_quarantined) == (3, 2)
    with warehouse.connection(db, read_only=True) as con:
        units = read_units(con)
        q = warehouse.query(con, "SELECT row_number, column_name, check_name, value FROM quarantine ORDER BY 1")
    assert units.children("130000") == ("130102", "130121") and units.get("130121").peer_group == "县"
    assert q.rows() == [(5, "district_code", "pattern", "990101"),
                        (6, "district_code, parent_code", "parent_not_self", "district_code=130122, parent_code=130122")]


def test_a_deployers_own_codes_load_by_configuration(tmp_path: Path) -> None:
    f = _units_csv(tmp_path / "district.csv", ["310101001,南京东路街道,Nanjing East Rd,60000,20000,street,,中心城区"])
    assert ingest_files([f], tmp_path / "a.duckdb").rows_quarantined == 1  # nine digits: not GB/T 2260
    pattern = load_config(env={}, overrides={"units.code_pattern": r"^31\d{7}$"}).units.code_pattern
    rep = ingest_files([f], tmp_path / "b.duckdb", code_pattern=pattern)
    assert (rep.rows_loaded, rep.rows_quarantined) == (1, 0)
    with pytest.raises(ConfigError, match="not a regular expression"):
        load_config(env={}, overrides={"units.code_pattern": "^31(\\d{7}$"})


def test_a_unit_file_of_the_shanghai_release_still_loads() -> None:
    old = pl.DataFrame({"_row": [2], "district_code": ["310104"], "name_zh": ["徐汇区"], "name_en": ["Xuhui"],
                        "population": [1_113_078], "pop_60plus": [300_531]})
    assert schemas.validate(old, schemas.SCHEMAS["district"]).height == 0
