"""Every plotly figure of the app: pure functions from polars frames (and a language) to figures.

Frames carry display names already (column `name`); the figures only translate their own titles and axes, so a
test can build each figure from a hand-made frame.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

from app.ui import many_units
from app.ui.i18n import fmt_num, fmt_period, fmt_signed, t
from app.ui.tiles import tile_positions

FONT = '"WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif'
INK = "#1b2631"
MUTED = "#5d6d7e"
GRID = "#d5dbe1"
BLUE = "#1f5fa8"
LIGHT_BLUE = "#9cc3e6"
RED = "#c0392b"
GREEN = "#1e8449"
AMBER = "#b9770e"
SUPPLY_COLOUR = "#2e6fb7"
DEMAND_COLOUR = "#d35400"
# Sequential scale with enough contrast at both ends to read on a washed-out projector.
SCORE_SCALE = [[0.0, "#f7fbff"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]
DIVERGING = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


FigureDict = dict[str, Any]

# The app's plotly template: plotly's own ("plotly"), trimmed to what the app's charts read. Every figure carries
# its template in its JSON, and the full one is ~7 KB (3D scenes, polar and ternary axes, geo, two dozen trace
# types) that plotly.js then merges into each chart: three charts on the district page's first screen sent and
# merged it three times (issue 16 goal 4). Only the 2-D cartesian parts and the trace types the app draws are kept,
# so every chart looks as before; a trace type missing here would be drawn with plotly.js's bare defaults
# (tests/app/ui/test_figures.py checks that every trace type the app builds is listed).
TEMPLATE_TRACES = ("bar", "box", "heatmap", "scatter", "scattergl")
_NOT_CARTESIAN = ("geo", "polar", "scene", "ternary")


def _trimmed_template() -> FigureDict:
    full = pio.templates["plotly"].to_plotly_json()
    return {"data": {k: v for k, v in full["data"].items() if k in TEMPLATE_TRACES},
            "layout": {k: v for k, v in full["layout"].items() if k not in _NOT_CARTESIAN}}


TEMPLATE: FigureDict = _trimmed_template()
# the default of every go.Figure the process builds (the app's and its tests'), so none carries the full template
pio.templates["govindex"] = go.layout.Template(TEMPLATE)
pio.templates.default = "govindex"
# what _base sets on every axis of a figure
AXIS: FigureDict = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True}


def _base_layout(title: str, height: int, **layout: object) -> FigureDict:
    """The layout settings every chart shares (title, font, colours, margins), updated with the chart's own."""
    settings: dict[str, object] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16, "color": INK}},
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 10, "r": 10, "t": 48, "b": 10},
        "height": height,
        "separators": ".,",
        "hoverlabel": {"font": {"family": FONT}},
    }
    settings.update(layout)
    return settings


def _base(fig: go.Figure, title: str, height: int = 420, **layout: object) -> go.Figure:
    fig.update_layout(**_base_layout(title, height, **layout))
    fig.update_xaxes(**AXIS)
    fig.update_yaxes(**AXIS)
    return fig


def _plain_figure(data: list[FigureDict], axes: dict[str, FigureDict], title: str, height: int = 420,
                  **layout: object) -> FigureDict:
    """The figure `_base` would give, as the plain dict plotly would serialise it (go.Figure(d).to_plotly_json()
    == d), built without plotly's object model: its validation, `make_subplots` and the template's copy cost
    0.03–0.05 s a figure, on every first visit of a page with charts. `axes` maps each axis (xaxis, yaxis, yaxis2)
    to its own properties; a trace names a second axis itself (`"yaxis": "y2"`)."""
    settings = _base_layout(title, height, **layout)
    settings["template"] = TEMPLATE  # shared, never mutated: each figure's JSON carries this trimmed one
    for name, props in axes.items():
        settings[name] = {**props, **AXIS}
    return {"data": data, "layout": settings}


def empty_figure(message: str, height: int = 240) -> go.Figure:
    """A blank figure that says why it is blank (no data, one period only, ...)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": MUTED})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, "", height=height)


def wrap_label(text: str, width: float = 150.0, size: float = 13.0) -> str:
    """A long axis label on two or more lines (plotly's <br>), broken at spaces or after '·', so that no line is
    wider than `width` pixels: English names of indicators otherwise squeeze the plot to nothing."""
    if text_width(text, size) <= width:
        return text
    words = text.replace("·", "· ").split()
    lines: list[str] = []
    line = ""
    for w in words:
        # after a '·' written without a space ("供给·技术") the next word follows it directly; after " · " a space
        candidate = f"{line}{w}" if not line or (line.endswith("·") and "· " not in text) else f"{line} {w}"
        if line and text_width(candidate, size) > width:
            lines.append(line)
            line = w
        else:
            line = candidate
    lines.append(line)
    return "<br>".join(lines)


def short_label(text: str, width: float = 150.0, size: float = 13.0, lines: int = 1) -> str:
    """`wrap_label` kept to `lines` lines, the last one cut at a word with '…' where the name is longer: labels of
    charts printed on A4 (the full name stays in the hover and the table)."""
    parts = wrap_label(text, width, size).split("<br>")
    if len(parts) <= lines and all(text_width(p, size) <= width for p in parts):
        return "<br>".join(parts)
    head = parts[:min(lines, len(parts)) - 1]
    words = " ".join(parts[len(head):]).split()
    last = words[0]
    for w in words[1:]:
        if text_width(f"{last} {w}…", size) > width:
            break
        last = f"{last} {w}"
    while len(last) > 1 and text_width(last + "…", size) > width:  # one word wider than the line: cut it
        last = last[:-1]
    return "<br>".join(head + [last.rstrip(" ·,") + "…"])


def _fmt_list(values: Sequence[object], lang: str, decimals: int = 1) -> list[str]:
    return [fmt_num(v, lang, decimals) for v in values]


# -- overview ------------------------------------------------------------------------------------------------------
def ranking_figure(df: pl.DataFrame, lang: str, title: str | None = None) -> go.Figure:
    """Composite bars (left) and rank intervals (right), best at the top.

    Columns: name, score, rank; optional rank_lo, rank_hi, rank_median (Monte Carlo), task_oriented (bool).
    """
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    d = df.sort("rank")
    total, hidden = d.height, 0
    if many_units.is_many(total):  # 2,844 bars cannot be read: the two ends, and a note of what lies between
        d, hidden = many_units.top_bottom(d, many_units.TOP_N)
    names = _unit_labels(d, ranked=hidden > 0)
    colours = [RED if x else BLUE for x in (d["task_oriented"] if "task_oriented" in d.columns else [False] * d.height)]
    has_iv = "rank_lo" in d.columns and d["rank_lo"].null_count() < d.height
    fig = make_subplots(rows=1, cols=2 if has_iv else 1, shared_yaxes=True, horizontal_spacing=0.03,
                        column_widths=[0.62, 0.38] if has_iv else [1.0])
    fig.add_trace(
        go.Bar(x=d["score"].to_list(), y=names, orientation="h", marker_color=colours,
               text=_fmt_list(d["score"].to_list(), lang), textposition="auto", cliponaxis=False,
               name=t("col.score", lang),
               hovertemplate="%{y}: %{x:.1f}<extra></extra>"),
        row=1, col=1,
    )
    if has_iv:
        # The dot is the district's rank under the profile (the point estimate the bars show), not the Monte Carlo
        # median: the first-ranked district's dot sits at 1 even when its simulated median is 2. The bar is the
        # 5–95% interval of the simulated ranks, widened to reach the point estimate when it lies outside.
        lo, hi = d["rank_lo"].to_list(), d["rank_hi"].to_list()
        point = d["rank"].to_list()
        lo = [min(a, r) if a is not None and r is not None else a for a, r in zip(lo, point, strict=True)]
        hi = [max(b, r) if b is not None and r is not None else b for b, r in zip(hi, point, strict=True)]
        fig.add_trace(
            go.Scatter(
                x=point, y=names, mode="markers", marker={"color": colours, "size": 9},
                error_x={"type": "data", "symmetric": False,
                         "array": [h - m if h is not None else 0 for h, m in zip(hi, point, strict=True)],
                         "arrayminus": [m - lo_ if lo_ is not None else 0 for m, lo_ in zip(point, lo, strict=True)],
                         "color": MUTED, "thickness": 2, "width": 4},
                customdata=np.column_stack([lo, hi]),
                name=t("col.rank_interval", lang),
                hovertemplate="%{y}: " + t("fig.rank", lang) + " %{x} [%{customdata[0]}–%{customdata[1]}]"
                              "<extra></extra>",
            ),
            row=1, col=2,
        )
        fig.update_xaxes(title_text=t("col.rank_interval", lang), autorange="reversed",
                         dtick=2 if total <= 30 else None, row=1, col=2)
        # the district names on the interval chart's own side too, so it reads without the bars beside it
        fig.update_yaxes(showticklabels=True, side="right", row=1, col=2)
    fig.update_xaxes(title_text=t("fig.score", lang), range=[0, max(100.0, float(cast(float, d["score"].max()) or 0))], row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    title = title or t("overview.ranking", lang)
    if hidden:
        _mark_gap(fig, many_units.TOP_N, hidden, lang)
        title += "<br><sup>" + many_units.top_bottom_note(total, many_units.TOP_N, hidden, lang) + "</sup>"
    return _base(fig, title, height=max(360, 28 * d.height + 90), showlegend=False,
                 **({"margin": {"l": 10, "r": 10, "t": 70, "b": 10}} if hidden else {}))


def _unit_labels(d: pl.DataFrame, ranked: bool = False) -> list[str]:
    """Category labels of the units on a chart: unique (a name shared by two units gets its code), and with the
    rank in front when the chart shows only the two ends of a long ranking."""
    names = d["name"].to_list()
    if "unit_code" in d.columns:
        names = many_units.unique_labels(names, d["unit_code"].cast(pl.String).to_list())
    if ranked and "rank" in d.columns:
        names = [f"{r} · {n}" for r, n in zip(d["rank"].to_list(), names, strict=True)]
    return names


def _mark_gap(fig: go.Figure, n: int, hidden: int, lang: str) -> None:
    """A dashed line between the top and the bottom `n` of a category axis (reversed: first at the top), named."""
    fig.add_hline(y=n - 0.5, line_dash="dot", line_color=MUTED, line_width=1)
    fig.add_annotation(x=1, xref="paper", y=n - 0.5, text=t("many.gap", lang, hidden=f"{hidden:,}"),
                       showarrow=False, xanchor="right", yanchor="bottom", font={"size": 11, "color": MUTED},
                       bgcolor="white")


# Label placement for scatter charts: plotly has no collision avoidance, so each point's label gets the one of eight
# positions around it that overlaps least with the labels placed so far, the markers and the corner captions, in an
# estimate of the plot's pixels (the chart's width is not known on the server; a card of the overview is ~560 px).
PLOT_W, PLOT_H = 520.0, 300.0
LABEL_H = 17.0
_POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right", "top left",
              "bottom right", "bottom left")


def text_width(text: str, size: float = 13.0) -> float:
    """Estimated pixel width of a label: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y up


def label_box(x: float, y: float, width: float, position: str) -> Box:
    """The pixel box of a label of `width` at `position` around a marker at (x, y)."""
    vert, horiz = position.split()
    gap = 7.0
    cx = x if horiz == "center" else x + (width / 2 + gap if horiz == "right" else -(width / 2 + gap))
    cy = y if vert == "middle" else y + (LABEL_H / 2 + gap if vert == "top" else -(LABEL_H / 2 + gap))
    if vert != "middle" and horiz != "center":  # a diagonal position sits closer to the marker
        cy -= (gap - 2) if vert == "top" else -(gap - 2)
    return (cx - width / 2, cy - LABEL_H / 2, cx + width / 2, cy + LABEL_H / 2)


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _outside(a: Box, width: float, height: float) -> float:
    inner = _overlap(a, (0.0, 0.0, width, height))
    return (a[2] - a[0]) * (a[3] - a[1]) - inner


#: farther places for a label when none of the eight next to its marker is free: drawn with a leader line
_LEADERS = tuple((r * math.cos(a), r * math.sin(a)) for r in (34.0, 52.0, 72.0)
                 for a in (math.pi / 2, -math.pi / 2, 0.0, math.pi, math.pi / 4, 3 * math.pi / 4, -math.pi / 4,
                           -3 * math.pi / 4))

Placement = tuple[str, float, float]  # (plotly textposition, 0, 0), or ("callout", dx, dy) for a label with a line


def placement_box(x: float, y: float, width: float, place: Placement) -> Box:
    pos, dx, dy = place
    if pos != "callout":
        return label_box(x, y, width, pos)
    return (x + dx - width / 2, y + dy - LABEL_H / 2, x + dx + width / 2, y + dy + LABEL_H / 2)


def place_labels(px: Sequence[float], py: Sequence[float], texts: Sequence[str], obstacles: Sequence[Box] = (),
                 width: float = PLOT_W, height: float = PLOT_H) -> list[Placement]:
    """Where each point's label goes so that labels overlap each other, the markers and `obstacles` as little as
    possible and stay inside the plot: one of the eight places next to the marker, else (in a crowd) a place
    farther out with a leader line; points in crowded places choose first."""
    n = len(px)
    markers = [(x - 6.0, y - 6.0, x + 6.0, y + 6.0) for x, y in zip(px, py, strict=True)]
    crowd = [sum(1 for j in range(n) if j != i and abs(px[i] - px[j]) < 90 and abs(py[i] - py[j]) < 40)
             for i in range(n)]
    placed: list[Box] = []
    out: list[Placement] = [("top center", 0.0, 0.0)] * n
    candidates: list[Placement] = [(p, 0.0, 0.0) for p in _POSITIONS] + [("callout", dx, dy) for dx, dy in _LEADERS]
    for i in sorted(range(n), key=lambda k: (-crowd[k], -py[k])):
        w = text_width(texts[i])
        best, best_cost = candidates[0], math.inf
        for k, cand in enumerate(candidates):
            box = placement_box(px[i], py[i], w, cand)
            cost = (sum(_overlap(box, b) for b in placed) * 3
                    + sum(_overlap(box, m) for j, m in enumerate(markers) if j != i) * 2
                    + sum(_overlap(box, o) for o in obstacles) * 2
                    + _outside(box, width, height) * 4 + k * 0.01)  # ties: the nearer places first
            if cost < best_cost:
                best, best_cost = cand, cost
        out[i] = best
        placed.append(placement_box(px[i], py[i], w, best))
    return out


def _to_px(v: Sequence[float], lo: float, hi: float, size: float) -> list[float]:
    return [(x - lo) / (hi - lo) * size if hi > lo else size / 2 for x in v]


def quadrant_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Supply (x) against demand (y) with dashed city-median lines; task-oriented districts in red.

    Columns: name, supply, demand, task_oriented (bool); optional unit_code (customdata for click-through).
    Names are placed around their points to avoid each other (place_labels); the four quadrants are named in the
    corners, on a white ground, and the labels keep clear of them.
    A district without a supply or a demand score (too few indicators measured) has no point.
    """
    if df.height and {"supply", "demand"} <= set(df.columns):
        df = df.filter(pl.col("supply").is_not_null() & pl.col("demand").is_not_null())
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    xm, ym = float(df["supply"].median()), float(df["demand"].median())  # type: ignore[arg-type]
    xs, ys = df["supply"].to_list(), df["demand"].to_list()
    pad_x = max(2.0, (max(xs) - min(xs)) * 0.14)
    pad_y = max(2.0, (max(ys) - min(ys)) * 0.16)
    xr = [min(xs) - pad_x, max(xs) + pad_x]
    yr = [min(ys) - pad_y, max(ys) + pad_y * 1.6]  # room at the top for the corner captions
    corners = (
        (1, 0, "right", "bottom", "quadrant.task", RED),
        (1, 1, "right", "top", "quadrant.balanced_high", GREEN),
        (0, 1, "left", "top", "quadrant.user", AMBER),
        (0, 0, "left", "bottom", "quadrant.low", MUTED),
    )
    if many_units.is_many(df.height):
        return _quadrant_gl(df, lang, xm, ym, xr, yr, corners)
    obstacles: list[Box] = []
    for cx, cy, _, _, key, _ in corners:
        w = text_width(t(key, lang), 12) + 8
        x0 = PLOT_W - w if cx else 0.0
        y0 = PLOT_H - LABEL_H - 4 if cy else 0.0
        obstacles.append((x0, y0, x0 + w, y0 + LABEL_H + 4))
    places = place_labels(_to_px(xs, xr[0], xr[1], PLOT_W), _to_px(ys, yr[0], yr[1], PLOT_H),
                          df["name"].to_list(), obstacles)
    leader = [p[0] == "callout" for p in places]
    df = df.with_columns(pl.Series("_pos", [p[0] if p[0] != "callout" else "top center" for p in places],
                                   dtype=pl.String),
                         pl.Series("_label", [("" if lead else n) for n, lead in zip(df["name"].to_list(), leader,
                                                                                    strict=True)], dtype=pl.String))
    fig = go.Figure()
    task = df["task_oriented"] if "task_oriented" in df.columns else pl.Series([False] * df.height)
    for flag, colour, label in ((False, BLUE, t("col.district", lang)), (True, RED, t("quadrant.task", lang))):
        part = df.filter(task == flag)
        if part.height == 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["supply"].to_list(), y=part["demand"].to_list(), mode="markers+text",
                text=part["_label"].to_list(), textposition=part["_pos"].to_list(), cliponaxis=False,
                hovertext=part["name"].to_list(),
                marker={"size": 13 if flag else 11, "color": colour, "line": {"color": "white", "width": 1}},
                customdata=part["unit_code"].to_list() if "unit_code" in part.columns else None,
                name=label, textfont={"color": colour if flag else INK},
                hovertemplate="%{hovertext}<br>" + t("col.supply", lang) + " %{x:.1f}<br>"
                + t("col.demand", lang) + " %{y:.1f}<extra></extra>",
            )
        )
    for r, (pos, dx, dy) in zip(df.iter_rows(named=True), places, strict=True):
        if pos == "callout":  # a crowd: the name a little farther out, with a thin line to its point
            fig.add_annotation(x=r["supply"], y=r["demand"], text=r["name"], ax=dx, ay=-dy, showarrow=True,
                               arrowhead=0, arrowwidth=1, arrowcolor=MUTED, standoff=6, xanchor="center",
                               yanchor="middle", font={"size": 13, "color": RED if r.get("task_oriented") else INK})
    return _quadrant_frame(fig, lang, xm, ym, xr, yr, corners)


def _quadrant_gl(df: pl.DataFrame, lang: str, xm: float, ym: float, xr: list[float], yr: list[float],
                 corners: tuple) -> go.Figure:
    """The quadrant at many units: WebGL points (Scattergl), no labels (names on hover), same medians, corners and
    colours as the 16-district chart."""
    fig = go.Figure()
    task = df["task_oriented"] if "task_oriented" in df.columns else pl.Series([False] * df.height)
    for flag, colour, label in ((False, BLUE, t("many.col.unit", lang)), (True, RED, t("quadrant.task", lang))):
        part = df.filter(task == flag)
        if part.height == 0:
            continue
        fig.add_trace(go.Scattergl(
            x=part["supply"].to_list(), y=part["demand"].to_list(), mode="markers",
            hovertext=part["name"].to_list(), name=label,
            customdata=part["unit_code"].to_list() if "unit_code" in part.columns else None,
            marker={"size": 6, "color": colour, "opacity": 0.7},
            hovertemplate="%{hovertext}<br>" + t("col.supply", lang) + " %{x:.1f}<br>"
            + t("col.demand", lang) + " %{y:.1f}<extra></extra>"))
    return _quadrant_frame(fig, lang, xm, ym, xr, yr, corners)


def _quadrant_frame(fig: go.Figure, lang: str, xm: float, ym: float, xr: list[float], yr: list[float],
                    corners: tuple) -> go.Figure:
    """What both quadrant charts (labelled points, WebGL points at many units) draw around their points: the dashed
    city-median lines, the four quadrants named in the corners on a white ground, the axes and the layout."""
    fig.add_vline(x=xm, line_dash="dash", line_color=MUTED)
    fig.add_hline(y=ym, line_dash="dash", line_color=MUTED)
    for cx, cy, xa, ya, key, colour in corners:
        fig.add_annotation(x=cx, y=cy, xref="x domain", yref="y domain", text=t(key, lang), showarrow=False,
                           xanchor=xa, yanchor=ya, font={"color": colour, "size": 12}, bgcolor="white",
                           opacity=0.95)
    fig.update_xaxes(title_text=t("col.supply", lang) + " " + t("fig.score", lang), range=xr)
    fig.update_yaxes(title_text=t("col.demand", lang) + " " + t("fig.score", lang), range=yr)
    return _base(fig, t("overview.quadrant", lang), height=460, showlegend=True,
                 legend={"orientation": "h", "y": -0.18}, margin={"l": 10, "r": 24, "t": 48, "b": 10})


def tile_map_figure(df: pl.DataFrame, lang: str, value_col: str = "score", title: str | None = None) -> go.Figure:
    """Tile-grid map: one square per unit, coloured by `value_col`, labelled with name and value.

    Columns: unit_code, name, `value_col`; optional rank.
    """
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    codes = df["unit_code"].to_list()
    pos = tile_positions(codes)
    ncol = max(c for c, _ in pos.values()) + 1
    nrow = max(r for _, r in pos.values()) + 1
    z: list[list[float | None]] = [[None] * ncol for _ in range(nrow)]
    text: list[list[str]] = [[""] * ncol for _ in range(nrow)]
    custom: list[list[str]] = [[""] * ncol for _ in range(nrow)]
    ranks = df["rank"].to_list() if "rank" in df.columns else [None] * df.height
    for code, name, v, rk in zip(codes, df["name"].to_list(), df[value_col].to_list(), ranks, strict=True):
        c, r = pos[code]
        z[r][c] = v
        rank_txt = f"<br>#{rk}" if rk is not None else ""
        text[r][c] = f"<b>{name}</b><br>{fmt_num(v, lang)}{rank_txt}"
        custom[r][c] = code
    vals = [v for v in df[value_col].to_list() if v is not None and math.isfinite(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    fig = go.Figure(
        go.Heatmap(
            z=z, text=text, customdata=custom, texttemplate="%{text}", textfont={"size": 12},
            colorscale=SCORE_SCALE, zmin=lo, zmax=hi if hi > lo else lo + 1, xgap=4, ygap=4,
            hovertemplate="%{text}<extra></extra>", hoverongaps=False,
            colorbar={"title": {"text": t("fig.score", lang)}, "thickness": 12},
        )
    )
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False, autorange="reversed", scaleanchor="x")
    return _base(fig, title or t("overview.map", lang), height=470)


def movers_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Rank change since the previous period (positive = moved up). Columns: name, change; optional rank, prev_rank."""
    if df.height == 0:
        return empty_figure(t("overview.movers_none", lang))
    d = df.sort(["change", "name"], descending=[False, False])
    title = t("overview.movers", lang)
    if many_units.is_many(d.height):  # the biggest moves at each end, not 2,844 bars
        total = d.height
        d = pl.concat([d.head(many_units.TOP_N), d.tail(many_units.TOP_N)])
        title += "<br><sup>" + t("many.movers_note", lang, n=many_units.TOP_N, total=f"{total:,}") + "</sup>"
    ch = d["change"].to_list()
    colours = [GREEN if c > 0 else RED if c < 0 else GRID for c in ch]
    hover = None
    if "prev_rank" in d.columns and "rank" in d.columns:
        hover = [f"{p} → {r}" for p, r in zip(d["prev_rank"].to_list(), d["rank"].to_list(), strict=True)]
    fig = go.Figure(
        go.Bar(x=ch, y=_unit_labels(d), orientation="h", marker_color=colours,
               text=[f"{c:+d}" if c else "0" for c in ch], textposition="outside", cliponaxis=False,
               customdata=hover, hovertemplate="%{y}: %{customdata}<extra></extra>" if hover else None)
    )
    m = max([abs(c) for c in ch] + [1])
    fig.update_xaxes(title_text=t("col.change", lang), range=[-m - 1, m + 1], dtick=1 if m <= 6 else None)
    return _base(fig, title, height=max(300, 22 * d.height + 90))


# -- district ------------------------------------------------------------------------------------------------------
# The district page's three charts are on its first screen and built on every visit: plain figure dicts
# (_plain_figure), not plotly's object model.
def dimension_compare_figure(df: pl.DataFrame, lang: str, title: str | None = None) -> FigureDict:
    """Grouped bars per dimension: this unit, city median, best unit. Columns: label, this, median, best."""
    if df.height == 0:
        return cast(FigureDict, empty_figure(t("error.nodata", lang)).to_plotly_json())
    names = df["label"].to_list()
    x = list(range(len(names)))  # positions, named by the ticks: two names cut alike stay two bars
    data = []
    for col, key, colour in (("this", "district.this", BLUE), ("median", "district.median", "#95a5a6"),
                             ("best", "district.best", GREEN)):
        y = df[col].to_list()
        data.append({"cliponaxis": False, "hovertemplate": "%{hovertext}: %{y:.1f}<extra>" + t(key, lang) + "</extra>",
                     "hovertext": names, "marker": {"color": colour}, "name": t(key, lang),
                     "text": _fmt_list(y, lang), "textposition": "outside", "x": x, "y": y, "type": "bar"})
    # one line per name, upright (turned on a narrow A4 card, two lines or a slant overlap their neighbours)
    xaxis = {"tickmode": "array", "tickvals": x, "ticktext": [short_label(n, 200) for n in names], "tickangle": -90,
             "tickfont": {"size": 10}}
    # the legend under the title, both placed from the figure's top edge: anchored to the plot instead, a legend
    # that wraps to two rows on a narrow (A4) card grew upwards over the title
    height = 420
    fig = _plain_figure(data, {"xaxis": xaxis, "yaxis": {"title": {"text": t("fig.score", lang)}, "range": [0, 110]}},
                        title or t("district.dimensions", lang), height=height, barmode="group",
                        legend={"orientation": "h", "yref": "container", "y": 1 - 34 / height, "x": 0,
                                "xanchor": "left", "yanchor": "top"},
                        margin={"l": 10, "r": 10, "t": 96, "b": 10})
    fig["layout"]["title"].update({"yref": "container", "y": 1 - 8 / height, "yanchor": "top"})
    return fig


def priorities_figure(df: pl.DataFrame, lang: str) -> FigureDict:
    """Horizontal bars of improvement priority (weight × gap × feasibility, app/views/priorities.py), highest on top.
    Columns: label, priority; optional weight, gap_points, feasibility, composite_gain for the hover."""
    if df.height == 0:
        return cast(FigureDict, empty_figure(t("none", lang), height=200).to_plotly_json())
    d = df.sort("priority")
    value = d["priority"].to_list()
    names = d["label"].to_list()
    y = list(range(len(names)))  # positions, named by the ticks: two names cut alike stay two bars
    bar: FigureDict = {"cliponaxis": False, "hovertemplate": "%{hovertext}: %{x:.2f}<extra></extra>",
                       "hovertext": names, "marker": {"color": AMBER}, "orientation": "h",
                       "text": [fmt_num(v, lang, 2) for v in value], "textposition": "outside", "x": value, "y": y,
                       "type": "bar"}
    if {"weight", "gap_points", "feasibility", "composite_gain"} <= set(d.columns):
        bar["customdata"] = [
            f"{t('col.weight_eff', lang)} {fmt_num(w * 100 if w is not None else None, lang)}% · "
            f"{t('col.gap_target', lang)} {fmt_num(g, lang)} · {t('col.feasibility', lang)} "
            f"{fmt_num(f * 100 if f is not None else None, lang, 0)}% · {t('col.gain_target', lang)} "
            f"{fmt_signed(c, lang, 2)}"
            for w, g, f, c in zip(d["weight"].to_list(), d["gap_points"].to_list(), d["feasibility"].to_list(),
                                  d["composite_gain"].to_list(), strict=True)
        ]
        bar["hovertemplate"] = "%{hovertext}: %{x:.2f}<br>%{customdata}<extra></extra>"
    ticks = [short_label(n, 200) for n in names]  # one line a bar: a row of the A4 print holds no more
    top = max([v for v in value if v is not None] + [0.0])
    axes: dict[str, FigureDict] = {
        "yaxis": {"tickmode": "array", "tickvals": y, "ticktext": ticks, "tickfont": {"size": 10}},  # fits a print row
        "xaxis": {"title": {"text": t("col.priority", lang)}, "range": [0, top * 1.25 if top > 0 else 1]}}  # room: text
    return _plain_figure([bar], axes, t("district.priorities", lang), height=max(260, 30 * d.height + 80))


def district_trend_figure(df: pl.DataFrame, lang: str, n_units: int | None = None) -> FigureDict:
    """The composite (bars, left axis) and the rank in the city (line, right axis, 1 at the top, down to
    `n_units`) per period. Columns: period, score, rank."""
    if df.height == 0:
        return cast(FigureDict, empty_figure(t("error.nodata", lang)).to_plotly_json())
    x = [fmt_period(p, lang) for p in df["period"].to_list()]
    score, rank = df["score"].to_list(), df["rank"].to_list()
    data: list[FigureDict] = [
        {"cliponaxis": False, "hovertemplate": "%{x}: %{y:.1f}<extra></extra>", "marker": {"color": LIGHT_BLUE},
         "name": t("district.trend_score", lang), "text": _fmt_list(score, lang), "textposition": "outside",
         "x": x, "y": score, "type": "bar"},
        {"hovertemplate": "%{x}: #%{y}<extra></extra>", "line": {"color": BLUE, "width": 2},
         "mode": "lines+markers+text", "name": t("district.trend_rank", lang),
         "text": [f"#{r}" if r is not None else "" for r in rank], "textposition": "top center", "x": x, "y": rank,
         "type": "scatter", "yaxis": "y2"},
    ]
    known = [r for r in rank if r is not None]
    top = n_units or (max(known) if known else 1)
    # the rank's axis on the right over the score's, the plot narrowed to leave it room (as make_subplots'
    # secondary_y lays it out, without building a subplot grid)
    axes: dict[str, FigureDict] = {
        "xaxis": {"domain": [0.0, 0.94]},
        "yaxis": {"title": {"text": t("district.trend_score", lang)}, "range": [0, 110]},
        "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right", "title": {"text": t("district.trend_rank", lang)},
                   "range": [top + 1.5, 0.5], "showgrid": False, "dtick": max(1, round(top / 8))}}
    return _plain_figure(data, axes, t("district.trend", lang), height=320,
                         legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})


def compare_dimensions_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Grouped bars per dimension, one colour per chosen district. Columns: label, then one column per district
    name (scores)."""
    if df.height == 0 or df.width < 2:
        return empty_figure(t("error.nodata", lang))
    # side and dimension on two lines, so long English names do not run into each other
    labels = [re.sub(r"\s*·\s*", "<br>", str(x)) for x in df["label"].to_list()]
    palette = (BLUE, DEMAND_COLOUR, GREEN, "#8e44ad", AMBER, "#16a085", RED, MUTED)
    fig = go.Figure()
    for i, name in enumerate(c for c in df.columns if c != "label"):
        ys = df[name].to_list()
        fig.add_trace(go.Bar(x=labels, y=ys, name=name, marker_color=palette[i % len(palette)],
                             text=_fmt_list(ys, lang), textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: %{y:.1f}<extra>" + name + "</extra>"))
    fig.update_yaxes(title_text=t("fig.score", lang), range=[0, 110])
    fig.update_xaxes(tickangle=0)
    return _base(fig, t("compare.dimensions", lang), height=420, barmode="group",
                 legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})


SPARK = "▁▂▃▄▅▆▇█"


def sparkline_text(values: Sequence[float | None]) -> str:
    """A unicode sparkline (works in grids, XLSX and print); missing values show as a blank."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
        elif hi == lo:
            out.append(SPARK[3])
        else:
            out.append(SPARK[int(round((v - lo) / (hi - lo) * (len(SPARK) - 1)))])
    return "".join(out)


# -- weights -------------------------------------------------------------------------------------------------------
# The live figures are redrawn on every slider move: plotly's validated object model costs ~10 ms per figure there,
# so they are plain figure dicts (what go.Figure.to_plotly_json() gives, which Dash sends as is). The layout does not
# depend on the data, only on (language, number of rows): it is built once through the usual plotly path (_base) and
# shared, read-only; only the trace is built per call. tests/app/ui/test_figures.py checks both against plotly.


@functools.lru_cache(maxsize=64)
def _live_layout(kind: str, lang: str, height: int) -> FigureDict:
    fig = go.Figure()
    if kind == "ranking":
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title_text=t("fig.score", lang), range=[0, 100])
        title = t("weights.ranking", lang)
    else:
        fig.update_xaxes(title_text=t("col.eff_weight", lang), tickformat=".0%")
        title = t("weights.effective", lang)
    return _base(fig, title, height=height).to_plotly_json()["layout"]  # type: ignore[no-any-return]


def _figure_dict(trace: FigureDict, layout: FigureDict) -> FigureDict:
    return {"data": [trace], "layout": dict(layout)}  # a fresh top level; nested parts are shared and never mutated


def live_ranking_figure(df: pl.DataFrame, lang: str) -> FigureDict:
    """A light ranking chart for live reweighting (a figure dict). Columns: name, score, rank."""
    if df.height == 0:
        return empty_figure(t("error.nodata", lang)).to_plotly_json()  # type: ignore[no-any-return]
    d = df.sort("rank")
    total, hidden = d.height, 0
    if many_units.is_many(total):  # the two ends of the live ranking; the rest is in no chart
        d, hidden = many_units.top_bottom(d, many_units.TOP_N)
    scores = d["score"].to_list()
    trace = {"hovertemplate": "%{y}: %{x:.2f}<extra></extra>", "marker": {"color": BLUE}, "orientation": "h",
             "text": [f"{r}. {fmt_num(s, lang)}" for r, s in zip(d["rank"].to_list(), scores, strict=True)],
             "textposition": "auto", "x": scores, "y": _unit_labels(d, ranked=hidden > 0), "type": "bar"}
    fig = _figure_dict(trace, _live_layout("ranking", lang, max(360, 24 * d.height + 80)))
    if hidden:
        note = many_units.top_bottom_note(total, many_units.TOP_N, hidden, lang)
        title = fig["layout"].get("title") or {}
        fig["layout"]["title"] = {**title, "text": f"{title.get('text', '')}<br><sup>{note}</sup>"}
        fig["layout"]["margin"] = {**fig["layout"].get("margin", {}), "t": 70}
    present = [s for s in scores if s is not None and s == s]
    if present and (min(present) < 0 or max(present) > 100):  # z-score or rank profiles: fit the axis to the data
        lo, hi = min(0.0, min(present)), max(present)
        fig["layout"]["xaxis"] = {**fig["layout"]["xaxis"], "range": [lo, hi + 0.05 * (hi - lo or 1)]}
    return fig


def effective_weights_figure(df: pl.DataFrame, lang: str) -> FigureDict:
    """Bars of effective (root-level) weights per indicator, coloured by side (a figure dict). Columns: label,
    weight, side."""
    if df.height == 0:
        return empty_figure(t("none", lang)).to_plotly_json()  # type: ignore[no-any-return]
    d = df.sort("weight")
    weights = d["weight"].to_list()
    trace = {"cliponaxis": False, "hovertemplate": "%{y}: %{x:.2%}<extra></extra>",
             "marker": {"color": [SUPPLY_COLOUR if s == "supply" else DEMAND_COLOUR for s in d["side"].to_list()]},
             "orientation": "h", "text": [f"{w * 100:.1f}%" for w in weights], "textposition": "outside",
             "x": weights, "y": d["label"].to_list(), "type": "bar"}
    return _figure_dict(trace, _live_layout("effective", lang, max(360, 17 * d.height + 80)))


def rank_comparison_figure(df: pl.DataFrame, lang: str, columns: Sequence[tuple[str, str]]) -> go.Figure:
    """Bump chart: each unit's rank under several profiles. `columns` is (frame column, axis label)."""
    if df.height == 0 or not columns:
        return empty_figure(t("none", lang))
    total, hidden = df.height, 0
    if many_units.is_many(total):  # one line per unit: the two ends of the first ranking, not 2,844 lines
        df, hidden = many_units.top_bottom(df, many_units.TOP_N, by=columns[0][0])
    fig = go.Figure()
    xs = [label for _, label in columns]
    for row in df.iter_rows(named=True):
        ranks = [row[c] for c, _ in columns]
        moved = len(set(ranks)) > 1
        # the name at both ends, outside the plot area (cliponaxis off), in margins as wide as the longest name
        text = [f"{row['name']} {ranks[0]}"] + [""] * (len(xs) - 2) + [f"{ranks[-1]} {row['name']}"] \
            if len(xs) > 1 else [row["name"]]
        fig.add_trace(go.Scatter(x=xs, y=ranks, mode="lines+markers+text", text=text, cliponaxis=False,
                                 textposition=["middle left"] + ["middle center"] * (len(xs) - 2)
                                 + (["middle right"] if len(xs) > 1 else []),
                                 line={"color": RED if moved else LIGHT_BLUE, "width": 2},
                                 marker={"size": 7}, name=row["name"], showlegend=False,
                                 hovertemplate=row["name"] + ": %{y}<extra>%{x}</extra>"))
    side = int(max(text_width(f"{n} 16", 13) for n in df["name"].to_list())) + 24
    fig.update_yaxes(autorange="reversed", showticklabels=False, dtick=1 if total <= 30 else None)
    fig.update_xaxes(showgrid=False)
    title = t("weights.compare", lang)
    if hidden:
        title += "<br><sup>" + many_units.top_bottom_note(total, many_units.TOP_N, hidden, lang) + "</sup>"
    return _base(fig, title, height=max(380, 24 * df.height + 90),
                 margin={"l": side, "r": side, "t": 70 if hidden else 48, "b": 10})


# -- sensitivity ---------------------------------------------------------------------------------------------------
def rank_interval_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Nominal rank (diamond), median rank (dot) and the 5–95% interval per unit.

    Columns: name, rank (nominal), rank_median, rank_lo, rank_hi.
    """
    if df.height == 0:
        return empty_figure(t("sens.status.idle", lang))
    d = df.sort("rank")
    total, hidden = d.height, 0
    if many_units.is_many(total):  # the two ends of the ranking, not 2,844 labelled rows
        d, hidden = many_units.top_bottom(d, many_units.TOP_N)
    names = _unit_labels(d, ranked=hidden > 0)
    med = d["rank_median"].to_list()
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=med, y=names, mode="markers", marker={"size": 10, "color": BLUE}, name=t("fig.rank", lang) + " (MC)",
        error_x={"type": "data", "symmetric": False,
                 "array": [h - m for h, m in zip(d["rank_hi"].to_list(), med, strict=True)],
                 "arrayminus": [m - lo for m, lo in zip(med, d["rank_lo"].to_list(), strict=True)],
                 "color": BLUE, "thickness": 3, "width": 5},
        hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.add_trace(go.Scatter(x=d["rank"].to_list(), y=names, mode="markers", name=t("col.rank", lang),
                             marker={"symbol": "diamond-open", "size": 11, "color": RED, "line": {"width": 2}},
                             hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=t("fig.rank", lang), autorange="reversed", dtick=1 if total <= 30 else None)
    title = t("sens.rank_intervals", lang)
    if hidden:
        _mark_gap(fig, many_units.TOP_N, hidden, lang)
        title += "<br><sup>" + many_units.top_bottom_note(total, many_units.TOP_N, hidden, lang) + "</sup>"
    return _base(fig, title, height=max(380, 26 * d.height + 90), legend={"orientation": "h", "y": -0.12},
                 **({"margin": {"l": 10, "r": 10, "t": 70, "b": 10}} if hidden else {}))


def sobol_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """First-order and total Sobol indices with confidence intervals.

    Columns: label, S1, S1_conf, ST, ST_conf (half-widths of the 95% intervals).
    """
    if df.height == 0:
        return empty_figure(t("sens.status.idle", lang))
    labels = df["label"].to_list()
    fig = go.Figure()
    for col, key, colour in (("S1", "sens.first_order", LIGHT_BLUE), ("ST", "sens.total_order", BLUE)):
        fig.add_trace(go.Bar(x=labels, y=df[col].to_list(), name=t(key, lang), marker_color=colour,
                             error_y={"type": "data", "array": df[f"{col}_conf"].to_list(), "color": INK},
                             hovertemplate="%{x}: %{y:.3f}<extra>" + t(key, lang) + "</extra>"))
    fig.update_yaxes(title_text=t("fig.index", lang), rangemode="tozero")
    return _base(fig, t("sens.sobol", lang), height=400, barmode="group",
                 legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})


def pairwise_figure(names: Sequence[str], prob: np.ndarray, lang: str) -> go.Figure:
    """Heatmap of P(row ranks above column), units in nominal rank order."""
    if len(names) == 0:
        return empty_figure(t("sens.status.idle", lang))
    title = t("sens.pairwise", lang)
    if many_units.is_many(len(names)):  # n² cells: the leading units only (names come in nominal rank order)
        keep = 2 * many_units.TOP_N
        title += "<br><sup>" + t("many.pairwise_note", lang, n=keep, total=f"{len(names):,}") + "</sup>"
        names, prob = list(names)[:keep], np.asarray(prob)[:keep, :keep]
    p = np.asarray(prob, dtype=float).copy()
    np.fill_diagonal(p, np.nan)
    text = [[("" if i == j else f"{p[i, j]:.2f}") for j in range(len(names))] for i in range(len(names))]
    fig = go.Figure(go.Heatmap(z=p, x=list(names), y=list(names), text=text, texttemplate="%{text}",
                               textfont={"size": 10}, colorscale=DIVERGING, zmin=0, zmax=1, hoverongaps=False,
                               colorbar={"title": {"text": t("fig.probability", lang)}, "thickness": 12},
                               hovertemplate="P(%{y} > %{x}) = %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _base(fig, title, height=max(420, 30 * len(names) + 140))


def tornado_figure(df: pl.DataFrame, base: float, lang: str, unit_name: str = "") -> go.Figure:
    """One bar per factor from its worst to its best rank of one unit (one at a time), sorted by swing.

    Columns: label, low (worst rank over the factor's settings), high (best rank); `base` is the nominal rank.
    """
    if df.height == 0:
        return empty_figure(t("sens.status.idle", lang))
    d = df.with_columns((pl.col("high") - pl.col("low")).abs().alias("_swing")).sort("_swing")
    labels = d["label"].to_list()
    fig = go.Figure()
    for col, key, colour in (("low", "sens.low", LIGHT_BLUE), ("high", "sens.high", BLUE)):
        vals = d[col].to_list()
        fig.add_trace(go.Bar(y=labels, x=[v - base for v in vals], base=base, orientation="h",
                             name=t(key, lang), marker_color=colour, customdata=vals,
                             hovertemplate="%{y}: %{customdata:.0f}<extra>" + t(key, lang) + "</extra>"))
    fig.add_vline(x=base, line_color=INK, line_width=2)
    fig.update_xaxes(title_text=t("fig.rank", lang), autorange="reversed", dtick=1)
    title = t("sens.tornado", lang) + (f" — {unit_name}" if unit_name else "")
    return _base(fig, title, height=max(300, 40 * d.height + 120), barmode="overlay",
                 legend={"orientation": "h", "y": -0.2})


# -- data quality and methodology ----------------------------------------------------------------------------------
COVERAGE_PLOT_W = 1150.0  # the coverage heatmap's plot width on a 1366 px screen (a full-width card)


def compact_count(n: float, lang: str) -> str:
    """A count in at most five narrow characters for a heatmap cell: 812, 8123, 3381万 / 812, 8.1k, 34M."""
    if lang == "zh":
        return f"{n:.0f}" if n < 10_000 else f"{n / 10_000:.0f}万" if n < 1e8 else f"{n / 1e8:.1f}亿"
    if n < 1000:
        return f"{n:.0f}"
    if n < 1e6:
        return f"{n / 1e3:.1f}k" if n < 1e4 else f"{n / 1e3:.0f}k"
    return f"{n / 1e6:.1f}M" if n < 1e7 else f"{n / 1e6:.0f}M"


def coverage_text_size(labels: Sequence[str], n_columns: int, plot_width: float = COVERAGE_PLOT_W,
                       row_height: float = 26.0) -> int:
    """The font size at which the widest cell label fits its cell (0: too narrow to print numbers; hover has them)."""
    widest = max((text_width(s, 1.0) for s in labels if s), default=0.0)
    if widest == 0:
        return 0
    cell = plot_width / max(n_columns, 1) - 4  # a little air on each side
    size = int(min(11.0, cell / widest, row_height * 0.6))
    return size if size >= 7 else 0


def coverage_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Units × indicators heatmap of sample sizes (log colour); blank cells are missing values.

    Columns: name (unit), label (indicator), denominator (may be null), value (null = missing). Cells carry the
    sample size in short form (3381万) at a font size that fits the cell; the exact number is in the hover.
    """
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    units = list(dict.fromkeys(df["name"].to_list()))
    title = t("dq.coverage", lang)
    if many_units.is_many(len(units)):  # 2,844 rows say nothing: the units with the most missing values first
        shown = 2 * many_units.TOP_N
        gaps = (df.group_by("name", maintain_order=True).agg(pl.col("value").is_null().sum().alias("m"),
                                                             pl.col("denominator").min().alias("d"))
                .sort(["m", "d"], descending=[True, False], nulls_last=True).head(shown))
        title += "<br><sup>" + t("many.coverage_note", lang, n=shown, total=f"{len(units):,}") + "</sup>"
        units = gaps["name"].to_list()
        df = df.filter(pl.col("name").is_in(units))
    inds = list(dict.fromkeys(df["label"].to_list()))
    ui, ii = {u: i for i, u in enumerate(units)}, {c: j for j, c in enumerate(inds)}
    z = np.full((len(units), len(inds)), np.nan)
    text = [[""] * len(inds) for _ in units]
    exact = [[""] * len(inds) for _ in units]
    for u, c, den, val in df.select("name", "label", "denominator", "value").iter_rows():
        if val is None:
            continue
        n = den if den is not None else float("nan")
        z[ui[u], ii[c]] = math.log10(n) if n and n > 0 else 0.0
        text[ui[u]][ii[c]] = compact_count(n, lang) if den is not None else "·"
        exact[ui[u]][ii[c]] = fmt_num(n, lang, 0) if den is not None else "·"
    size = coverage_text_size([s for row in text for s in row], len(inds))
    ticks = [v for v in range(0, 8)]
    fig = go.Figure(go.Heatmap(z=z, x=inds, y=units, text=text, customdata=exact,
                               texttemplate="%{text}" if size else "", textfont={"size": size or 8},
                               colorscale="Greens", hoverongaps=False, zmin=0, xgap=1, ygap=1,
                               colorbar={"title": {"text": t("col.sample", lang)}, "tickvals": ticks,
                                         "ticktext": [compact_count(10 ** v, lang) for v in ticks], "thickness": 12},
                               hovertemplate="%{y} · %{x}: %{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-50)
    return _base(fig, title, height=max(440, 26 * len(units) + 260))

