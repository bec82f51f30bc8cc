"""The demo banner's unit picker (app.web.unit_picker): Shanghai's 16 districts one plain list; the national demo's
2,875 units grouped (the 31 provinces, then the current province's counties) with a search by name or code."""

from __future__ import annotations

import re

import numpy as np

from app.web import unit_picker
from etl.demo.districts import unit_table
from etl.demo.national import national_rows
from etl.demo.units import shanghai_rows
from indicators.units import Units

NATIONAL = Units.from_frame(unit_table(national_rows(np.random.default_rng(7))))
SHANGHAI = Units.from_frame(unit_table(shanghai_rows()))


def test_shanghai_stays_one_plain_list_without_search() -> None:
    names = SHANGHAI.name_pairs()
    html = unit_picker.options("310115", names, SHANGHAI)
    assert html.count("<option") == 16 and "<optgroup" not in html
    assert 'value="310115" selected' in html
    assert unit_picker.search_field(names, SHANGHAI) == ""


def test_national_scale_lists_the_provinces_and_the_current_provinces_units() -> None:
    names = NATIONAL.name_pairs()
    assert len(names) == 2875
    html = unit_picker.options("110101", names, NATIONAL)
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', html)
    assert len(groups) == 2
    assert groups[0][1].count("<option") == 31
    beijing = len(NATIONAL.children("110000"))
    assert groups[1][1].count("<option") == beijing and "北京" in groups[1][0]
    assert html.count("<option") == 31 + beijing < 300
    assert 'value="110101" selected' in html
    assert 'id="demo-unit-search"' in unit_picker.search_field(names, NATIONAL)


def test_search_by_code_by_name_and_by_part_and_the_page_of_matches_groups_by_parent() -> None:
    names = NATIONAL.name_pairs()
    assert unit_picker.find("110101", names) == ["110101"]
    assert unit_picker.find(names["110000"][0], names) == ["110000"]
    assert unit_picker.find(names["110101"][1].lower(), names) == ["110101"]  # English, any case
    part = unit_picker.find("朝阳", names)  # 朝阳区 in Beijing and in Changchun, 朝阳县 in Liaoning: real names repeat
    assert len(part) > 1 and {c[:2] for c in part} >= {"11", "21", "22"}
    body = unit_picker.matches_body("朝阳", part, "district_official", "tok", names, NATIONAL, "/ledger")
    assert body.count("<form") == len(part) and body.count('name="next" value="/ledger"') == len(part)
    groups = re.findall(r'<h2 class="unit-group">(.*?)</h2>', body)
    assert len(groups) == 3 and "北京" in groups[0]
    many = unit_picker.find("县", names)
    assert len(many) > unit_picker.MAX_MATCHES
    assert unit_picker.matches_body("县", many, "r", "t", names, NATIONAL).count("<form") == unit_picker.MAX_MATCHES
    assert "No unit" in unit_picker.matches_body("火星", [], "r", "t", names, NATIONAL)


def test_the_demo_official_is_a_county_level_unit_when_the_shanghai_default_is_not_there() -> None:
    """A cut-down national demo (`govindex demo --national --provinces 2`) has no 徐汇区: the demo banner offers,
    and a switch to district official without a unit gets, its first county-level unit, not its first province."""
    from app.web import auth
    from app.web.security import Identity

    small = Units.from_frame(unit_table(national_rows(np.random.default_rng(7), provinces=2, counties=3)))
    names = small.name_pairs()
    assert next(iter(names)) == "110000" and auth.DEMO_DISTRICT not in names
    bar = auth.auth_bar(Identity("demo", "admin", None, "demo"), None, "demo", names, small)
    assert 'value="110101" selected' in bar  # the role switcher's unit: 东城区, a county-level unit of Beijing
    first = auth._first(names, auth.DEMO_DISTRICT, small)
    assert first == "110101" and not small.children(first) and small.ancestors(first) == ("110000",)
    assert auth._first(NATIONAL.name_pairs(), auth.DEMO_DISTRICT, NATIONAL) == auth.DEMO_DISTRICT  # 徐汇区 is there


def test_the_demo_banner_names_the_unit_list_by_scale() -> None:
    """At national scale an official's unit is a county or a province: the list is 单位 Unit, not 区 District."""
    from app.web import auth
    from app.web.security import Identity

    ident = Identity("demo", "admin", None, "demo")
    national = auth.auth_bar(ident, None, "demo", NATIONAL.name_pairs(), NATIONAL)
    assert '<label for="demo-district">单位 Unit</label>' in national and "区 District" not in national
    shanghai = auth.auth_bar(ident, None, "demo", SHANGHAI.name_pairs(), SHANGHAI)
    assert '<label for="demo-district">区 District</label>' in shanghai
