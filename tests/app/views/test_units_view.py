"""The many-units view model: filters by parent, peer group and search, ranks within groups, top/bottom N."""

from __future__ import annotations

import polars as pl

from app.views.units import unit_ranking
from indicators.units import from_rows

UNITS = from_rows([
    {"code": "130000", "name_zh": "河北省", "name_en": "Hebei", "level": "province"},
    {"code": "130102", "name_zh": "长安区", "name_en": "Chang'an", "parent_code": "130000", "peer_group": "市辖区"},
    {"code": "130121", "name_zh": "井陉县", "name_en": "Jingxing", "parent_code": "130000", "peer_group": "县"},
    {"code": "440000", "name_zh": "广东省", "name_en": "Guangdong", "level": "province"},
    {"code": "440103", "name_zh": "荔湾区", "name_en": "Liwan", "parent_code": "440000", "peer_group": "市辖区"},
    {"code": "440121", "name_zh": "某县", "name_en": "Some county", "parent_code": "440000", "peer_group": "县"},
])
SCORES = pl.DataFrame({"unit_code": ["130102", "130121", "440103", "440121"], "score": [70.0, 40.0, 80.0, None]})


def test_ranked_best_first_with_names_parents_and_groups() -> None:
    r = unit_ranking(SCORES, UNITS)
    assert r["unit_code"].to_list() == ["440103", "130102", "130121", "440121"]
    assert r["rank"].to_list() == [1, 2, 3, None]
    first = r.row(0, named=True)
    assert (first["name_en"], first["parent_zh"], first["group"], first["rank_in_group"], first["n_in_group"]) == (
        "Liwan", "广东省", "市辖区", 1, 2)


def test_filters_search_and_ends() -> None:
    assert unit_ranking(SCORES, UNITS, parent="130000")["unit_code"].to_list() == ["130102", "130121"]
    assert unit_ranking(SCORES, UNITS, group="县")["unit_code"].to_list() == ["130121", "440121"]
    assert unit_ranking(SCORES, UNITS, search="jING")["unit_code"].to_list() == ["130121"]
    assert unit_ranking(SCORES, UNITS, search="荔湾")["unit_code"].to_list() == ["440103"]
    assert unit_ranking(SCORES, UNITS, top=1, bottom=1)["unit_code"].to_list() == ["440103", "130121"]
    by_parent = unit_ranking(SCORES, UNITS, by="parent")
    assert by_parent.filter(pl.col("unit_code") == "130121")["rank_in_group"].item() == 2
