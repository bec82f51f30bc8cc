"""Tile-grid positions for the map: one square per district, placed roughly where the district lies.

A tile grid avoids boundary-data licensing and keeps small central districts as readable as the large outer ones.
Units without a hand-made position (another city, a renamed district) get a plain grid below, so the map still
works for any set of units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# code -> (column, row); row 0 is the top (north). Chongming is the island at the top, Pudong to the east of the
# Huangpu river, Jinshan in the south-west, the nine central districts clustered in the middle.
SHANGHAI_TILES: dict[str, tuple[int, int]] = {
    "310151": (3, 0),  # 崇明 Chongming (island, north)
    "310114": (1, 1),  # 嘉定 Jiading (north-west)
    "310113": (3, 1),  # 宝山 Baoshan (north)
    "310107": (1, 2),  # 普陀 Putuo
    "310106": (2, 2),  # 静安 Jing'an
    "310109": (3, 2),  # 虹口 Hongkou
    "310110": (4, 2),  # 杨浦 Yangpu (north-east of the centre)
    "310118": (0, 3),  # 青浦 Qingpu (west)
    "310105": (1, 3),  # 长宁 Changning
    "310104": (2, 3),  # 徐汇 Xuhui
    "310101": (3, 3),  # 黄浦 Huangpu (centre, on the river)
    "310115": (4, 3),  # 浦东新区 Pudong (east)
    "310117": (1, 4),  # 松江 Songjiang (south-west)
    "310112": (2, 4),  # 闵行 Minhang (south of the centre)
    "310116": (1, 5),  # 金山 Jinshan (south-west coast)
    "310120": (3, 5),  # 奉贤 Fengxian (south coast)
}


def tile_positions(codes: Sequence[str], layout: dict[str, tuple[int, int]] | None = None,
                   parent_of: Mapping[str, str | None] | None = None) -> dict[str, tuple[int, int]]:
    """Position for every code: the hand-made layout where known, then a 5-wide grid under it for the rest. Given
    `parent_of` (the unit table's parents, indicators.units.Units.parent), the rest are grouped by parent, each
    parent's units starting a new row, so a province's counties stay together."""
    layout = SHANGHAI_TILES if layout is None else layout
    out = {c: layout[c] for c in codes if c in layout}
    rest = [c for c in codes if c not in layout]
    if not rest:
        return out
    top = (max(r for _, r in out.values()) + 1) if out else 0
    width = 5
    groups: dict[str | None, list[str]] = {}
    for c in rest:
        groups.setdefault(parent_of.get(c) if parent_of is not None else None, []).append(c)
    for members in groups.values():
        for i, c in enumerate(members):
            out[c] = (i % width, top + i // width)
        top += (len(members) + width - 1) // width
    return out
