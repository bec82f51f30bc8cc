"""Ranks within a peer group or a parent, and drilling down: the project's one rank rule applied per group."""

from __future__ import annotations

import math

import polars as pl
import pytest

from indicators.peers import drill_down, rank_within
from indicators.units import UnitsError, from_rows

UNITS = from_rows([
    {"code": "310000", "name_zh": "上海市", "name_en": "Shanghai", "level": "city"},
    {"code": "310101", "name_zh": "黄浦区", "name_en": "Huangpu", "parent_code": "310000", "peer_group": "中心城区"},
    {"code": "310104", "name_zh": "徐汇区", "name_en": "Xuhui", "parent_code": "310000", "peer_group": "中心城区"},
    {"code": "310112", "name_zh": "闵行区", "name_en": "Minhang", "parent_code": "310000", "peer_group": "郊区"},
    {"code": "310115", "name_zh": "浦东新区", "name_en": "Pudong", "parent_code": "310000", "peer_group": "郊区"},
    {"code": "310151", "name_zh": "崇明区", "name_en": "Chongming", "parent_code": "310000", "peer_group": "郊区"},
])
SCORES = pl.DataFrame({"unit_code": ["310101", "310104", "310112", "310115", "310151"],
                       "period": ["2026Q3"] * 5, "score": [60.0, 70.0, 80.0, 50.0, math.nan]})


def test_rank_within_peer_group() -> None:
    r = rank_within(SCORES, UNITS, "peer_group")
    got = {u: (g, k, n) for u, g, k, n in r.select("unit_code", "group", "rank_in_group", "n_in_group").iter_rows()}
    assert got == {"310104": ("中心城区", 1, 2), "310101": ("中心城区", 2, 2), "310112": ("郊区", 1, 2),
                   "310115": ("郊区", 2, 2), "310151": ("郊区", None, 2)}  # a missing score is unranked


def test_rank_within_parent_and_all_agree_for_one_parent() -> None:
    by_parent = rank_within(SCORES, UNITS, "parent").sort("unit_code")["rank_in_group"].to_list()
    overall = rank_within(SCORES, UNITS, "all").sort("unit_code")["rank_in_group"].to_list()
    assert by_parent == overall == [3, 2, 1, 4, None]
    with pytest.raises(UnitsError, match="unknown grouping"):
        rank_within(SCORES, UNITS, "street")


def test_drill_down_lists_the_children_best_first() -> None:
    d = drill_down(SCORES, UNITS, "310000")
    assert d["unit_code"].to_list()[:4] == ["310112", "310104", "310101", "310115"]
    assert d.filter(pl.col("unit_code") == "310112")["name_en"].item() == "Minhang"
    assert not any(d["has_children"].to_list())
