"""Pages at many units (issue 20 item 3): what changes when a page shows 2,844 county-level units instead of
Shanghai's 16 districts.

Up to `MANY` units every page looks as it always did. Beyond it: bar charts show the top and bottom `TOP_N` with
a note of how many are left out (no chart draws thousands of labels), the quadrant is WebGL points without labels,
the ranking is a virtualised, searchable grid with filters by parent unit and peer group, and the map draws the
units with boundaries in a few colour classes (one trace per class, not per unit) or, without boundaries, the
scores by parent unit instead of a tile grid.

Pure helpers on polars frames; the figures and components that use them live in app/ui/figures.py, app/ui/map.py
and the pages.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from app.ui.i18n import fmt_int, t
from indicators.peers import rank_within
from indicators.units import Units

#: more units than this and the pages switch to their many-unit forms (Shanghai has 16 districts)
MANY = 40
#: how many units a bar chart shows at each end of the ranking
TOP_N = 10

_COUNTS: dict[tuple[int, str], int] = {}


def is_many(n: int) -> bool:
    return n > MANY


def unit_count(snapshot: Any) -> int:
    """How many units the snapshot scores (distinct unit codes of its indicator values; its unit table when it
    has no values), counted once per snapshot."""
    key = (id(snapshot), str(getattr(snapshot, "snapshot_id", "")))
    if key not in _COUNTS:
        values = getattr(snapshot, "values", None)
        if values is not None and values.height:
            n = int(values["unit_code"].n_unique())
        else:
            n = int(getattr(snapshot, "districts", pl.DataFrame()).height)
        if len(_COUNTS) > 16:
            _COUNTS.clear()
        _COUNTS[key] = n
    return _COUNTS[key]


def top_bottom(df: pl.DataFrame, n: int = TOP_N, by: str = "rank") -> tuple[pl.DataFrame, int]:
    """The first and last `n` rows by `by` (ascending) and how many rows are left out (0: all rows kept). Rows
    without a `by` (units without a composite score) are never the "last": the ends are of the ranked rows."""
    d = df.sort(by, nulls_last=True)
    if d.height <= 2 * n:
        return d, 0
    ranked = d.filter(pl.col(by).is_not_null())
    ends = ranked if ranked.height <= 2 * n else pl.concat([ranked.head(n), ranked.tail(n)])
    return ends, d.height - ends.height


def unique_labels(names: list[str], codes: list[str]) -> list[str]:
    """Display names that are unique (plotly merges equal category labels): a name shared by several units (朝阳区
    in Beijing and in Changchun) gets its code in brackets."""
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [f"{name}（{code}）" if seen[name] > 1 else name for name, code in zip(names, codes, strict=True)]


def with_units(table: pl.DataFrame, units: pl.DataFrame, lang: str) -> pl.DataFrame:
    """`table` (unit_code, …) with `parent` (the parent unit's name, else its code) and `peer_group` from the unit
    table (`district_code`, names, and optionally `parent_code`, `peer_group`); empty strings where unknown."""
    if table.height == 0:
        return table.with_columns(pl.lit("").alias("parent"), pl.lit("").alias("peer_group"))
    cols = set(units.columns)
    name_col = "name_en" if lang == "en" and "name_en" in cols else "name_zh"
    names = dict(zip(units["district_code"].cast(pl.String).to_list(),
                     units[name_col].cast(pl.String).to_list(), strict=True)) if name_col in cols else {}
    parents = (dict(zip(units["district_code"].cast(pl.String).to_list(),
                        units["parent_code"].cast(pl.String).to_list(), strict=True))
               if "parent_code" in cols else {})
    peers = (dict(zip(units["district_code"].cast(pl.String).to_list(),
                      units["peer_group"].cast(pl.String).to_list(), strict=True))
             if "peer_group" in cols else {})
    codes = table["unit_code"].cast(pl.String).to_list()
    parent = [parents.get(c) or "" for c in codes]
    out = table.with_columns(
        pl.Series("parent", [names.get(p) or p for p in parent], dtype=pl.String),
        pl.Series("parent_code", parent, dtype=pl.String),
        pl.Series("peer_group", [peers.get(c) or "" for c in codes], dtype=pl.String),
    )
    return with_group_ranks(out, units) if "score" in table.columns else out


def with_group_ranks(table: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """`table` (unit_code, score, …) with `rank_peer` and `rank_parent`: the unit's rank within its peer group and
    within its parent unit as 'k/n' (indicators.peers.rank_within; empty where the unit has no group or score)."""
    hierarchy = Units.from_frame(units)
    scores = table.select(pl.col("unit_code").cast(pl.String), pl.col("score").cast(pl.Float64))
    out = table
    for by, col in (("peer_group", "rank_peer"), ("parent", "rank_parent")):
        r = rank_within(scores, hierarchy, by)
        text = {u: f"{k}/{n}" if k is not None and n else ""
                for u, k, n in zip(r["unit_code"].to_list(), r["rank_in_group"].to_list(), r["n_in_group"].to_list(),
                                   strict=True)}
        out = out.with_columns(pl.Series(col, [text.get(str(u), "") for u in table["unit_code"].to_list()],
                                         dtype=pl.String))
    return out


def filter_options(values: list[str], lang: str) -> list[dict[str, str]]:
    """Dropdown options for a filter: "all" first, then each distinct non-empty value, sorted."""
    opts = [{"label": t("many.all", lang), "value": ""}]
    opts += [{"label": v, "value": v} for v in sorted({v for v in values if v})]
    return opts


def filtered(table: pl.DataFrame, parent: str | None = None, peer: str | None = None,
             query: str | None = None) -> pl.DataFrame:
    """Rows of one parent unit and/or one peer group, and/or whose name or code contains `query`."""
    d = table
    if parent:
        d = d.filter(pl.col("parent") == parent)
    if peer:
        d = d.filter(pl.col("peer_group") == peer)
    if query and query.strip():
        q = query.strip()
        d = d.filter(pl.col("name").str.contains(q, literal=True)
                     | pl.col("unit_code").cast(pl.String).str.contains(q, literal=True))
    return d


def top_bottom_note(total: int, n: int, hidden: int, lang: str) -> str:
    return t("many.top_bottom", lang, n=n, total=fmt_int(total, lang), hidden=fmt_int(hidden, lang))
