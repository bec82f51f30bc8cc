"""The ranking at many units: a virtualised AG Grid of every unit with a search box and filters by parent unit and
peer group (issue 20 item 3), in place of the overview's plain ranking list (which stays for 16 districts).

AG Grid draws only the rows on screen, so 2,844 rows scroll like 16. The filters run on the server over the frame
the page was built from (app.ui.many_units.filtered, called by the page's callback): one code path for the page
and its tests.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from dash import dcc, html

from app.ui import components as c
from app.ui import many_units
from app.ui.i18n import t

PREFIX = "units"
SEARCH, PARENT, PEER, GRID, NOTE = (f"{PREFIX}-search", f"{PREFIX}-parent", f"{PREFIX}-peer", f"{PREFIX}-grid",
                                    f"{PREFIX}-note")
STORE = f"{PREFIX}-source"  # what the page's callback needs to rebuild the frame: profile, period, language


def rows(table: pl.DataFrame, lang: str) -> list[dict[str, Any]]:
    """Grid rows: rank, a link to the unit's page, code, parent, peer group, composite, supply, demand, interval."""
    out = []
    for r in table.iter_rows(named=True):
        lo, hi = r.get("rank_lo"), r.get("rank_hi")
        out.append({
            "rank": r.get("rank"), "unit_code": r["unit_code"],
            "name": f"[{r['name']}]({c.href('/district/' + str(r['unit_code']), lang)})",
            "parent": r.get("parent") or "", "peer_group": r.get("peer_group") or "",
            "rank_peer": r.get("rank_peer") or "", "rank_parent": r.get("rank_parent") or "",
            "score": r.get("score"), "supply": r.get("supply"), "demand": r.get("demand"),
            "interval": f"{int(lo)}–{int(hi)}" if lo is not None and hi is not None else "",
        })
    return out


def columns(lang: str, table: pl.DataFrame) -> list[dict[str, Any]]:
    cols = [c.num_col("rank", "col.rank", lang, decimals=0, maxWidth=90, sort="asc"),
            c.col("name", "many.col.unit", lang, cellRenderer="markdown", minWidth=140),
            c.col("unit_code", "col.code", lang, maxWidth=110)]
    if table.height and (table["parent"] != "").any():
        cols.append(c.col("parent", "col.parent", lang))
    if table.height and (table["peer_group"] != "").any():
        cols.append(c.col("peer_group", "col.peer_group", lang))
    for col, key in (("rank_peer", "many.col.rank_peer"), ("rank_parent", "many.col.rank_parent")):
        if col in table.columns and (table[col] != "").any():  # rank within the peer group / the parent unit
            cols.append(c.col(col, key, lang, maxWidth=130, sortable=False))
    cols += [c.num_col("score", "col.score", lang), c.num_col("supply", "col.supply", lang),
             c.num_col("demand", "col.demand", lang), c.col("interval", "col.rank_interval", lang, sortable=False)]
    return cols


def finder(table: pl.DataFrame, lang: str, source: dict[str, Any]) -> html.Div:
    """Search, filters and the grid. `table`: the overview's table with parent and peer group
    (app.ui.many_units.with_units); `source`: what the callback passes to `load` to get it again."""
    dd_common = {"clearable": False, "searchable": True, "className": "unit-filter"}
    controls: list[Any] = [html.Label(t("many.search", lang), htmlFor=SEARCH, className="inline-label"),
                           dcc.Input(id=SEARCH, type="search", debounce=True, className="unit-search")]
    for fid, col, key in ((PARENT, "parent", "many.parent"), (PEER, "peer_group", "many.peer")):
        # always in the layout (the callback needs its inputs); hidden when no unit has a value for it
        shown = bool((table[col] != "").any())
        controls.append(html.Span(
            [html.Label(t(key, lang), htmlFor=fid, className="inline-label"),
             c.dropdown(lang, id=fid, options=many_units.filter_options(table[col].to_list(), lang), value="",
                        **dd_common)],
            className="unit-filter-box", style=None if shown else {"display": "none"}))
    return html.Div([
        dcc.Store(id=STORE, data=source),
        html.Div(controls, className="unit-controls"),
        html.P(note(table.height, table.height, lang), id=NOTE, className="note"),
        c.grid(GRID, rows(table, lang), columns(lang, table), lang, height=460),
    ], className="unit-finder")


def note(total: int, shown: int, lang: str) -> str:
    text = t("many.table_note", lang, total=f"{total:,}")
    return text + (" " + t("many.shown", lang, n=f"{shown:,}") if shown != total else "")
