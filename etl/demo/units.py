"""The default demo's units: Shanghai's 16 districts (GB/T 2260 codes), their peer groups and their population.

This is demo data, written into the demo's `district` table like any other raw table; nothing else in govindex
keeps a list of units (they are read from the warehouse, etl.warehouse.units). The peer groups are the Shanghai
statistical yearbook's: the seven 中心城区 (central districts) and the nine 郊区 (Pudong and the suburban districts).
"""

from __future__ import annotations

CITY = ("310000", "上海市", "Shanghai")
CENTRAL, SUBURBAN = "中心城区", "郊区"

# code, Chinese name, English name, peer group, resident population and share aged 60+ (2020 census, rounded)
SHANGHAI: tuple[tuple[str, str, str, str, int, float], ...] = (
    ("310101", "黄浦区", "Huangpu", CENTRAL, 662_030, 0.36),
    ("310104", "徐汇区", "Xuhui", CENTRAL, 1_113_078, 0.27),
    ("310105", "长宁区", "Changning", CENTRAL, 693_051, 0.31),
    ("310106", "静安区", "Jing'an", CENTRAL, 975_707, 0.32),
    ("310107", "普陀区", "Putuo", CENTRAL, 1_239_252, 0.31),
    ("310109", "虹口区", "Hongkou", CENTRAL, 757_498, 0.37),
    ("310110", "杨浦区", "Yangpu", CENTRAL, 1_242_548, 0.32),
    ("310112", "闵行区", "Minhang", SUBURBAN, 2_653_489, 0.19),
    ("310113", "宝山区", "Baoshan", SUBURBAN, 2_235_218, 0.24),
    ("310114", "嘉定区", "Jiading", SUBURBAN, 1_834_258, 0.18),
    ("310115", "浦东新区", "Pudong", SUBURBAN, 5_681_512, 0.22),
    ("310116", "金山区", "Jinshan", SUBURBAN, 822_776, 0.30),
    ("310117", "松江区", "Songjiang", SUBURBAN, 1_909_713, 0.16),
    ("310118", "青浦区", "Qingpu", SUBURBAN, 1_271_424, 0.19),
    ("310120", "奉贤区", "Fengxian", SUBURBAN, 1_140_872, 0.24),
    ("310151", "崇明区", "Chongming", SUBURBAN, 637_921, 0.40),
)
SHANGHAI_CODES: tuple[str, ...] = tuple(r[0] for r in SHANGHAI)
SHANGHAI_NAMES: dict[str, tuple[str, str]] = {r[0]: (r[1], r[2]) for r in SHANGHAI}


def shanghai_rows() -> list[dict[str, object]]:
    """The demo's unit rows (the `district` table's columns): 16 districts, a flat level, two peer groups."""
    return [{"district_code": c, "name_zh": zh, "name_en": en, "population": pop,
             "pop_60plus": round(pop * old), "level": "district", "parent_code": None, "peer_group": group}
            for c, zh, en, group, pop, old in SHANGHAI]
# (code, Chinese name, English name) of the demo's districts: for tests and the demo's own code, never the product's
DISTRICTS: tuple[tuple[str, str, str], ...] = tuple((c, zh, en) for c, zh, en, *_ in SHANGHAI)
