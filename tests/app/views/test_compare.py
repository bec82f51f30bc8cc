"""The district comparison's view model (app/views/compare.py)."""

from __future__ import annotations

from app.views import frames as views
from app.views.compare import MAX_UNITS, compare, parse_units


def test_units_from_the_address_keep_their_order_without_duplicates() -> None:
    assert parse_units("310104, 310101,,310104") == ["310104", "310101"]
    assert parse_units(["310115", "310115"]) == ["310115"] and parse_units(None) == []


def test_districts_side_by_side_match_their_district_profiles(ctx) -> None:
    cmp = compare(ctx, "310115,310104,999999", None, "en")
    assert cmp.units == ("310115", "310104") and cmp.unknown == ("999999",)
    one = views.district_profile(ctx, "310104", None, "en")
    row = cmp.summary.filter(cmp.summary["unit_code"] == "310104").row(0, named=True)
    assert (row["score"], row["rank"]) == (one.summary["score"], one.summary["rank"])
    assert cmp.dimensions["s_310104"].to_list() == one.dimensions["this"].to_list()
    assert cmp.indicators.height == len(ctx.framework.indicators)
    assert cmp.indicators["indicator"].to_list() == list(ctx.framework.indicators)  # framework order, not priority
    v = dict(zip(one.indicators["indicator"], one.indicators["value"], strict=True))
    assert all(v[i] == x for i, x in zip(cmp.indicators["indicator"], cmp.indicators["v_310104"], strict=True)
               if x is not None)
    assert len(compare(ctx, [c for c in ctx.snapshot().district_names("zh")], None, "zh").units) == MAX_UNITS
    assert compare(ctx, "nowhere", None, "zh").units == ()
