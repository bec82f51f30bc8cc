"""Every plotly figure of the app: pure functions from polars frames (and a language) to figures.

Frames carry display names already (column `name`); the figures only translate their own titles and axes, so a
test can build each figure from a hand-made frame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from app.ui.i18n import fmt_num, fmt_signed, t
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


def _base(fig: go.Figure, title: str, height: int = 420, **layout: object) -> go.Figure:
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
    fig.update_layout(**settings)
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, automargin=True)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, automargin=True)
    return fig


def empty_figure(message: str, height: int = 240) -> go.Figure:
    """A blank figure that says why it is blank (no data, one period only, ...)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": MUTED})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, "", height=height)


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
    names = d["name"].to_list()
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
        lo, hi = d["rank_lo"].to_list(), d["rank_hi"].to_list()
        mid = d["rank_median"].to_list() if "rank_median" in d.columns else d["rank"].to_list()
        fig.add_trace(
            go.Scatter(
                x=mid, y=names, mode="markers", marker={"color": colours, "size": 9},
                error_x={"type": "data", "symmetric": False,
                         "array": [h - m for h, m in zip(hi, mid, strict=True)],
                         "arrayminus": [m - lo_ for m, lo_ in zip(mid, lo, strict=True)],
                         "color": MUTED, "thickness": 2, "width": 4},
                customdata=np.column_stack([lo, hi]),
                name=t("col.rank_interval", lang),
                hovertemplate="%{y}: %{x} [%{customdata[0]}–%{customdata[1]}]<extra></extra>",
            ),
            row=1, col=2,
        )
        fig.update_xaxes(title_text=t("fig.rank", lang), autorange="reversed", dtick=2, row=1, col=2)
    fig.update_xaxes(title_text=t("fig.score", lang), range=[0, max(100.0, float(cast(float, d["score"].max()) or 0))], row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    return _base(fig, title or t("overview.ranking", lang), height=max(360, 28 * d.height + 90), showlegend=False)


def quadrant_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Supply (x) against demand (y) with dashed city-median lines; task-oriented districts in red.

    Columns: name, supply, demand, task_oriented (bool); optional unit_code (customdata for click-through).
    A district without a supply or a demand score (too few indicators measured) has no point.
    """
    if df.height and {"supply", "demand"} <= set(df.columns):
        df = df.filter(pl.col("supply").is_not_null() & pl.col("demand").is_not_null())
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    xm, ym = float(df["supply"].median()), float(df["demand"].median())  # type: ignore[arg-type]
    fig = go.Figure()
    task = df["task_oriented"] if "task_oriented" in df.columns else pl.Series([False] * df.height)
    for flag, colour, label in ((False, BLUE, t("col.district", lang)), (True, RED, t("quadrant.task", lang))):
        part = df.filter(task == flag)
        if part.height == 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["supply"].to_list(), y=part["demand"].to_list(), mode="markers+text",
                text=part["name"].to_list(), textposition="top center",
                marker={"size": 13 if flag else 11, "color": colour, "line": {"color": "white", "width": 1}},
                customdata=part["unit_code"].to_list() if "unit_code" in part.columns else None,
                name=label, textfont={"color": colour if flag else INK},
                hovertemplate="%{text}<br>" + t("col.supply", lang) + " %{x:.1f}<br>"
                + t("col.demand", lang) + " %{y:.1f}<extra></extra>",
            )
        )
    fig.add_vline(x=xm, line_dash="dash", line_color=MUTED)
    fig.add_hline(y=ym, line_dash="dash", line_color=MUTED)
    xs, ys = df["supply"].to_list(), df["demand"].to_list()
    pad_x = max(2.0, (max(xs) - min(xs)) * 0.12)
    pad_y = max(2.0, (max(ys) - min(ys)) * 0.12)
    xr = [min(xs) - pad_x, max(xs) + pad_x]
    yr = [min(ys) - pad_y, max(ys) + pad_y]
    corners = (
        (xr[1], yr[0], "right", "bottom", "quadrant.task", RED),
        (xr[1], yr[1], "right", "top", "quadrant.balanced_high", GREEN),
        (xr[0], yr[1], "left", "top", "quadrant.user", AMBER),
        (xr[0], yr[0], "left", "bottom", "quadrant.low", MUTED),
    )
    for x, y, xa, ya, key, colour in corners:
        fig.add_annotation(x=x, y=y, text=t(key, lang), showarrow=False, xanchor=xa, yanchor=ya,
                           font={"color": colour, "size": 12}, opacity=0.9)
    fig.update_xaxes(title_text=t("col.supply", lang) + " " + t("fig.score", lang), range=xr)
    fig.update_yaxes(title_text=t("col.demand", lang) + " " + t("fig.score", lang), range=yr)
    return _base(fig, t("overview.quadrant", lang), height=460, showlegend=True,
                 legend={"orientation": "h", "y": -0.15})


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
    ch = d["change"].to_list()
    colours = [GREEN if c > 0 else RED if c < 0 else GRID for c in ch]
    hover = None
    if "prev_rank" in d.columns and "rank" in d.columns:
        hover = [f"{p} → {r}" for p, r in zip(d["prev_rank"].to_list(), d["rank"].to_list(), strict=True)]
    fig = go.Figure(
        go.Bar(x=ch, y=d["name"].to_list(), orientation="h", marker_color=colours,
               text=[f"{c:+d}" if c else "0" for c in ch], textposition="outside", cliponaxis=False,
               customdata=hover, hovertemplate="%{y}: %{customdata}<extra></extra>" if hover else None)
    )
    m = max([abs(c) for c in ch] + [1])
    fig.update_xaxes(title_text=t("col.change", lang), range=[-m - 1, m + 1], dtick=1 if m <= 6 else None)
    return _base(fig, t("overview.movers", lang), height=max(300, 22 * d.height + 90))


# -- district ------------------------------------------------------------------------------------------------------
def dimension_compare_figure(df: pl.DataFrame, lang: str, title: str | None = None) -> go.Figure:
    """Grouped bars per dimension: this unit, city median, best unit. Columns: label, this, median, best."""
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    labels = df["label"].to_list()
    fig = go.Figure()
    for col, key, colour in (("this", "district.this", BLUE), ("median", "district.median", "#95a5a6"),
                             ("best", "district.best", GREEN)):
        fig.add_trace(go.Bar(x=labels, y=df[col].to_list(), name=t(key, lang), marker_color=colour,
                             text=_fmt_list(df[col].to_list(), lang), textposition="outside", cliponaxis=False,
                             hovertemplate="%{x}: %{y:.1f}<extra>" + t(key, lang) + "</extra>"))
    fig.update_yaxes(title_text=t("fig.score", lang), range=[0, 110])
    return _base(fig, title or t("district.dimensions", lang), height=400, barmode="group",
                 legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})


def priorities_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Horizontal bars of composite points gained per indicator. Columns: label, composite_gain."""
    if df.height == 0:
        return empty_figure(t("none", lang), height=200)
    d = df.sort("composite_gain")
    gain = d["composite_gain"].to_list()
    fig = go.Figure(go.Bar(x=gain, y=d["label"].to_list(), orientation="h", marker_color=AMBER,
                           text=[fmt_signed(v, lang, 2) for v in gain], textposition="outside",
                           cliponaxis=False, hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    fig.update_xaxes(title_text=t("col.gain", lang))
    return _base(fig, t("district.priorities", lang), height=max(260, 30 * d.height + 80))


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
FigureDict = dict[str, Any]


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
    scores = d["score"].to_list()
    trace = {"hovertemplate": "%{y}: %{x:.2f}<extra></extra>", "marker": {"color": BLUE}, "orientation": "h",
             "text": [f"{r}. {fmt_num(s, lang)}" for r, s in zip(d["rank"].to_list(), scores, strict=True)],
             "textposition": "auto", "x": scores, "y": d["name"].to_list(), "type": "bar"}
    fig = _figure_dict(trace, _live_layout("ranking", lang, max(360, 24 * d.height + 80)))
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
    fig = go.Figure()
    xs = [label for _, label in columns]
    for row in df.iter_rows(named=True):
        ranks = [row[c] for c, _ in columns]
        moved = len(set(ranks)) > 1
        fig.add_trace(go.Scatter(x=xs, y=ranks, mode="lines+markers+text", text=[row["name"]] + [""] * (len(xs) - 1),
                                 textposition="middle left", line={"color": RED if moved else LIGHT_BLUE, "width": 2},
                                 marker={"size": 7}, name=row["name"], showlegend=False,
                                 hovertemplate=row["name"] + ": %{y}<extra>%{x}</extra>"))
    fig.update_yaxes(autorange="reversed", title_text=t("fig.rank", lang), dtick=1)
    fig.update_xaxes(showgrid=False)
    return _base(fig, t("weights.compare", lang), height=max(380, 24 * df.height + 90),
                 margin={"l": 90, "r": 20, "t": 48, "b": 10})


# -- sensitivity ---------------------------------------------------------------------------------------------------
def rank_interval_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Nominal rank (diamond), median rank (dot) and the 5–95% interval per unit.

    Columns: name, rank (nominal), rank_median, rank_lo, rank_hi.
    """
    if df.height == 0:
        return empty_figure(t("sens.status.idle", lang))
    d = df.sort("rank")
    names = d["name"].to_list()
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
    fig.update_xaxes(title_text=t("fig.rank", lang), autorange="reversed", dtick=1)
    return _base(fig, t("sens.rank_intervals", lang), height=max(380, 26 * d.height + 90),
                 legend={"orientation": "h", "y": -0.12})


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
    p = np.asarray(prob, dtype=float).copy()
    np.fill_diagonal(p, np.nan)
    text = [[("" if i == j else f"{p[i, j]:.2f}") for j in range(len(names))] for i in range(len(names))]
    fig = go.Figure(go.Heatmap(z=p, x=list(names), y=list(names), text=text, texttemplate="%{text}",
                               textfont={"size": 10}, colorscale=DIVERGING, zmin=0, zmax=1, hoverongaps=False,
                               colorbar={"title": {"text": t("fig.probability", lang)}, "thickness": 12},
                               hovertemplate="P(%{y} > %{x}) = %{z:.2f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _base(fig, t("sens.pairwise", lang), height=max(420, 30 * len(names) + 140))


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
def coverage_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Units × indicators heatmap of sample sizes (log colour); blank cells are missing values.

    Columns: name (unit), label (indicator), denominator (may be null), value (null = missing).
    """
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    units = list(dict.fromkeys(df["name"].to_list()))
    inds = list(dict.fromkeys(df["label"].to_list()))
    ui, ii = {u: i for i, u in enumerate(units)}, {c: j for j, c in enumerate(inds)}
    z = np.full((len(units), len(inds)), np.nan)
    text = [[""] * len(inds) for _ in units]
    for u, c, den, val in df.select("name", "label", "denominator", "value").iter_rows():
        if val is None:
            continue
        n = den if den is not None else float("nan")
        z[ui[u], ii[c]] = math.log10(n) if n and n > 0 else 0.0
        text[ui[u]][ii[c]] = fmt_num(n, lang, 0) if den is not None else "·"
    ticks = [v for v in range(0, 8)]
    fig = go.Figure(go.Heatmap(z=z, x=inds, y=units, text=text, texttemplate="%{text}", textfont={"size": 9},
                               colorscale="Greens", hoverongaps=False, zmin=0,
                               colorbar={"title": {"text": t("col.sample", lang)}, "tickvals": ticks,
                                         "ticktext": [f"{10 ** v:,}" for v in ticks], "thickness": 12},
                               hovertemplate="%{y} · %{x}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-50)
    return _base(fig, t("dq.coverage", lang), height=max(440, 26 * len(units) + 260))


def sunburst_figure(df: pl.DataFrame, lang: str) -> go.Figure:
    """Framework tree sized by effective weight. Columns: code, parent ('' for the root), label, weight."""
    if df.height == 0:
        return empty_figure(t("error.nodata", lang))
    fig = go.Figure(go.Sunburst(
        ids=df["code"].to_list(), parents=df["parent"].to_list(), labels=df["label"].to_list(),
        values=df["weight"].to_list(), branchvalues="total", insidetextorientation="radial",
        hovertemplate="%{label}<br>" + t("col.eff_weight", lang) + " %{value:.1%}<extra></extra>",
        maxdepth=4,
    ))
    return _base(fig, t("method.tree", lang), height=620, margin={"l": 0, "r": 0, "t": 48, "b": 0})
