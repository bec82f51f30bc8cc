"""Users and roles follow the unit table: an official of a unit sees that unit and every unit under it, edits only
their own, and unit codes are checked against the table (or, before there is one, for their shape)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.demo.districts import unit_table
from etl.stores import alerts
from etl.stores.alerts import AlertDraft
from etl.stores.loop import Actor, BadInput, LoopStore, check_unit, may_edit, may_see
from etl.stores.users import UserError, check_role
from etl.warehouse import connection as warehouse
from etl.warehouse.units import units_at

ROWS = [
    {"district_code": "130000", "name_zh": "河北省", "name_en": "Hebei", "population": 100, "pop_60plus": 20,
     "level": "province", "parent_code": None, "peer_group": None},
    {"district_code": "130102", "name_zh": "长安区", "name_en": "Chang'an", "population": 60, "pop_60plus": 12,
     "level": "county", "parent_code": "130000", "peer_group": "市辖区"},
    {"district_code": "130121", "name_zh": "井陉县", "name_en": "Jingxing", "population": 40, "pop_60plus": 8,
     "level": "county", "parent_code": "130000", "peer_group": "县"},
    {"district_code": "440000", "name_zh": "广东省", "name_en": "Guangdong", "population": 10, "pop_60plus": 1,
     "level": "province", "parent_code": None, "peer_group": None},
]


@pytest.fixture()
def store(tmp_path: Path) -> LoopStore:
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connection(db) as con:
        warehouse.insert_frame(con, "district", unit_table(ROWS))
    return LoopStore(tmp_path / "loop.sqlite", warehouse=db)


def test_a_provincial_official_sees_the_province_and_its_counties_and_edits_only_their_own(store: LoopStore) -> None:
    units = store.units()
    assert units is not None
    hebei = Actor("zhao", "district_official", "130000")
    county = Actor("qian", "district_official", "130102")
    assert may_see(hebei, "130000", units) and may_see(hebei, "130102", units) and may_see(hebei, "130121", units)
    assert not may_see(hebei, "440000", units)
    assert may_see(county, "130102", units) and not may_see(county, "130000", units)  # not upwards
    assert not may_see(county, "130121", units)  # nor sideways
    assert may_edit(hebei, "130000") and not may_edit(hebei, "130102")


def test_alerts_about_a_county_reach_its_provinces_officials_with_its_name(store: LoopStore) -> None:
    alerts.record(store, [AlertDraft("missing", "missing:130121", "130121", params={"missing": 3, "total": 9,
                                                                                    "period_zh": "2026年第三季度",
                                                                                    "period_en": "2026 Q3"})])
    seen = alerts.list_alerts(store, Actor("zhao", "district_official", "130000"))
    assert [a.unit_code for a in seen] == ["130121"] and "井陉县" in seen[0].text("zh")
    assert alerts.list_alerts(store, Actor("sun", "district_official", "440000")) == []


def test_unit_codes_are_checked_against_the_unit_table(store: LoopStore) -> None:
    units = store.units()
    assert check_unit("130121", units) == "130121"
    with pytest.raises(BadInput):
        check_unit("310104", units)  # a GB/T 2260 code, but not one of this deployment's units
    assert check_role("district_official", "130121", units.codes) == ("district_official", "130121")
    with pytest.raises(UserError, match="unknown district code '310104'"):
        check_role("district_official", "310104", units.codes)
    assert check_role("district_official", "440103") == ("district_official", "440103")  # no table: the shape
    with pytest.raises(UserError, match="not a unit code"):
        check_role("district_official", "990101")


def test_units_are_reread_when_the_warehouse_is_replaced(store: LoopStore, tmp_path: Path) -> None:
    assert store.warehouse is not None and len(units_at(store.warehouse) or ()) == 4
    fresh = tmp_path / "new.duckdb"
    with warehouse.connection(fresh) as con:
        warehouse.insert_frame(con, "district", unit_table(ROWS[:1]))
    fresh.replace(store.warehouse)  # a refresh's atomic swap
    assert [u.code for u in units_at(store.warehouse) or ()] == ["130000"]
