"""The unit table as a hierarchy: parents, children, subtrees, peer groups, levels; refusals that name the unit."""

from __future__ import annotations

import pytest

from indicators.units import Units, UnitsError, from_rows

ROWS = [
    {"code": "130000", "name_zh": "河北省", "name_en": "Hebei", "level": "province"},
    {"code": "130100", "name_zh": "石家庄市", "name_en": "Shijiazhuang", "level": "city", "parent_code": "130000"},
    {"code": "130102", "name_zh": "长安区", "name_en": "Chang'an", "level": "county", "parent_code": "130100",
     "peer_group": "市辖区"},
    {"code": "130121", "name_zh": "井陉县", "name_en": "Jingxing", "level": "county", "parent_code": "130100",
     "peer_group": "县"},
    {"code": "440000", "name_zh": "广东省", "name_en": "Guangdong", "level": "province"},
    {"code": "440103", "name_zh": "荔湾区", "name_en": "Liwan", "level": "county", "parent_code": "440000",
     "peer_group": "市辖区"},
]


def test_any_depth_of_hierarchy() -> None:
    u = from_rows(ROWS)
    assert u.children(None) == ("130000", "440000")
    assert u.children("130100") == ("130102", "130121")
    assert u.subtree("130000") == ("130000", "130100", "130102", "130121")
    assert u.ancestors("130121") == ("130100", "130000") and u.depth("130121") == 2
    assert u.leaves() == ("130102", "130121", "440103")
    assert u.levels() == ("province", "city", "county")
    assert u.at_level("county") == ("130102", "130121", "440103")


def test_an_official_sees_their_unit_and_everything_under_it() -> None:
    u = from_rows(ROWS)
    assert u.within("130000", "130121") and u.within("130100", "130100")
    assert not u.within("130100", "440103") and not u.within("130121", "130100")
    assert not u.within("130000", "999999")


def test_peer_groups_and_groupings() -> None:
    u = from_rows(ROWS)
    assert u.peer_groups() == {"市辖区": ("130102", "440103"), "县": ("130121",)}
    assert u.group_of("130121", "parent") == "130100" and u.group_of("130121", "peer_group") == "县"
    assert u.group_of("130121", "all") == "*"
    with pytest.raises(UnitsError, match="unknown grouping 'province'"):
        u.group_of("130121", "province")


def test_the_district_table_reads_as_units_and_a_missing_parent_is_named() -> None:
    import polars as pl

    frame = pl.DataFrame({"district_code": ["310101", "310104"], "name_zh": ["黄浦区", "徐汇区"],
                          "name_en": ["Huangpu", "Xuhui"], "parent_code": ["310000", "310000"]})
    u = Units.from_frame(frame)
    assert u.codes == ("310101", "310104") and u.names("en") == {"310101": "Huangpu", "310104": "Xuhui"}
    assert u.children(None) == ("310101", "310104")  # the city row was never loaded: both are top units
    assert u.problems() == ["unit 310101: parent 310000 is not in the unit table (taken as a top unit)",
                            "unit 310104: parent 310000 is not in the unit table (taken as a top unit)"]


def test_a_cycle_or_a_duplicate_is_refused_naming_the_unit() -> None:
    with pytest.raises(UnitsError, match="cycle"):
        from_rows([{"code": "110000", "parent_code": "120000"}, {"code": "120000", "parent_code": "110000"}])
    with pytest.raises(UnitsError, match="'110000' appears twice"):
        from_rows([{"code": "110000"}, {"code": "110000"}])
