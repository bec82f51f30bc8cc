"""Figures are pure functions of frames: they build, carry the right data and translate their labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl

from app.ui import figures
from app.ui.i18n import t
from app.ui.tiles import SHANGHAI_TILES, tile_positions
from etl.demo.units import DISTRICTS

CODES = [c for c, _, _ in DISTRICTS]


def _table() -> pl.DataFrame:
    rng = np.random.default_rng(1)
    sup, dem = rng.uniform(20, 90, 16), rng.uniform(20, 90, 16)
    score = 0.4 * sup + 0.6 * dem
    rank = (-score).argsort().argsort() + 1
    return pl.DataFrame({"unit_code": CODES, "name": [n for _, n, _ in DISTRICTS], "score": score, "rank": rank,
                         "supply": sup, "demand": dem,
                         "task_oriented": (sup >= np.median(sup)) & (dem < np.median(dem)),
                         "rank_lo": np.maximum(rank - 2, 1), "rank_hi": np.minimum(rank + 2, 16),
                         "rank_median": rank})


def test_tiles_cover_shanghai_uniquely_and_place_known_geography() -> None:
    assert set(SHANGHAI_TILES) == set(CODES)
    assert len(set(SHANGHAI_TILES.values())) == 16
    row = {c: r for c, (_, r) in SHANGHAI_TILES.items()}
    col = {c: k for c, (k, _) in SHANGHAI_TILES.items()}
    assert row["310151"] == min(row.values())  # Chongming on top
    assert col["310115"] == max(col.values())  # Pudong east
    assert row["310116"] == max(row.values()) and col["310116"] < col["310115"]  # Jinshan south-west
    extra = tile_positions([*CODES, "999999"])
    assert extra["999999"][1] > max(row.values())


def test_ranking_has_bars_and_intervals_in_rank_order() -> None:
    df = _table()
    fig = figures.ranking_figure(df, "en")
    assert isinstance(fig, go.Figure) and len(fig.data) == 2
    assert list(fig.data[0].y) == df.sort("rank")["name"].to_list()
    assert fig.layout.title.text == t("overview.ranking", "en")


def test_quadrant_marks_task_oriented_in_red_with_median_lines() -> None:
    df = _table()
    fig = figures.quadrant_figure(df, "zh")
    red = [tr for tr in fig.data if tr.marker.color == figures.RED]
    assert red and set(red[0].text) == set(df.filter(pl.col("task_oriented"))["name"].to_list())
    assert len(fig.layout.shapes) == 2  # the two median lines
    assert t("col.supply", "zh") in fig.layout.xaxis.title.text


def test_tile_map_places_every_district_once() -> None:
    df = _table()
    fig = figures.tile_map_figure(df, "zh")
    z = np.array(fig.data[0].z, dtype=float)
    assert np.isfinite(z).sum() == 16
    codes = [c for row in fig.data[0].customdata for c in row if c]
    assert sorted(codes) == sorted(CODES)


def test_movers_and_empty_states() -> None:
    movers = pl.DataFrame({"name": ["A", "B"], "change": [2, -1], "rank": [1, 3], "prev_rank": [3, 2]})
    fig = figures.movers_figure(movers, "en")
    assert list(fig.data[0].x) == [-1, 2]
    empty = figures.movers_figure(movers.head(0), "zh")
    assert empty.layout.annotations[0].text == t("overview.movers_none", "zh")


def test_sensitivity_figures() -> None:
    sob = pl.DataFrame({"label": ["w", "b"], "S1": [0.1, 0.8], "S1_conf": [0.05, 0.05], "ST": [0.15, 0.85],
                        "ST_conf": [0.05, 0.05]})
    assert len(figures.sobol_figure(sob, "en").data) == 2
    p = np.array([[0.5, 0.9], [0.1, 0.5]])
    hm = figures.pairwise_figure(["A", "B"], p, "zh")
    assert np.isnan(np.array(hm.data[0].z, dtype=float)[0, 0])
    tor = figures.tornado_figure(pl.DataFrame({"label": ["w", "b"], "low": [9.0, 12.0], "high": [7.0, 3.0]}), 8.0,
                                 "en", "Pudong")
    assert list(tor.data[0].y) == ["w", "b"]  # sorted by swing, widest last (top of the chart)


def test_sparkline_text() -> None:
    assert figures.sparkline_text([1, 2, 3]) == "▁▅█"
    assert figures.sparkline_text([None, 5.0, 5.0]) == " ▄▄"
    assert figures.sparkline_text([]) == ""


def test_other_figures_build() -> None:
    cov = pl.DataFrame({"name": ["A", "A"], "label": ["x", "y"], "denominator": [30.0, None], "value": [0.5, None]})
    assert figures.coverage_figure(cov, "zh").data[0].text[0][0] == "30"
    dims = pl.DataFrame({"label": ["x"], "this": [50.0], "median": [40.0], "best": [90.0]})
    assert len(figures.dimension_compare_figure(dims, "zh")["data"]) == 3


def test_live_figures_are_plain_dicts_plotly_accepts_unchanged() -> None:
    """The weights page's live figures skip plotly's object model for speed; plotly must still take them verbatim."""
    df = _table().with_columns(pl.when(pl.col("rank") == 3).then(None).otherwise(pl.col("score")).alias("score"))
    eff = pl.DataFrame({"label": ["x", "y", "z"], "weight": [0.5, 0.2, 0.3], "side": ["supply", "demand", "demand"]})
    for lang in ("zh", "en"):
        for fig, title in ((figures.live_ranking_figure(df, lang), t("weights.ranking", lang)),
                           (figures.effective_weights_figure(eff, lang), t("weights.effective", lang))):
            assert isinstance(fig, dict)
            assert go.Figure(fig).to_plotly_json() == fig  # every property valid, nothing added or dropped
            assert fig["layout"]["title"]["text"] == title and "template" in fig["layout"]
    rank = figures.live_ranking_figure(df, "en")
    assert rank["data"][0]["y"] == df.sort("rank")["name"].to_list() and rank["data"][0]["x"][2] is None
    assert rank["layout"]["yaxis"]["autorange"] == "reversed" and rank["layout"]["height"] == 24 * 16 + 80
    e = figures.effective_weights_figure(eff, "zh")["data"][0]
    assert e["y"] == ["y", "z", "x"] and e["text"] == ["20.0%", "30.0%", "50.0%"]
    assert e["marker"]["color"] == [figures.DEMAND_COLOUR, figures.DEMAND_COLOUR, figures.SUPPLY_COLOUR]
    # the cached layout is shared between calls, so each figure gets its own top-level layout dict
    a, b = figures.live_ranking_figure(df, "zh"), figures.live_ranking_figure(df, "zh")
    assert a["layout"] == b["layout"] and a["layout"] is not b["layout"]
    assert isinstance(figures.live_ranking_figure(df.head(0), "zh"), dict)


def test_live_ranking_axis_fits_scores_outside_0_100() -> None:
    """Z-score or rank profiles give scores outside [0, 100]: the live chart's axis must show them, not clip them."""
    df = _table()
    inside = figures.live_ranking_figure(df, "zh")
    assert inside["layout"]["xaxis"]["range"] == [0, 100]
    wide = figures.live_ranking_figure(df.with_columns((pl.col("score") * 3 - 120).alias("score")), "zh")
    lo, hi = wide["layout"]["xaxis"]["range"]
    scores = (df["score"] * 3 - 120).to_list()
    assert lo <= min(scores) and hi >= max(scores)
    assert figures.live_ranking_figure(df, "zh")["layout"]["xaxis"]["range"] == [0, 100]  # the shared layout untouched


# -- issue 14, finding 8: charts a leader can read -------------------------------------------------------------------
def test_the_rank_interval_dot_is_the_point_estimate_and_the_interval_chart_names_the_districts() -> None:
    """Before: the dot was the Monte Carlo median (the leader's dot sat at 2) and the interval panel had no names."""
    df = _table().with_columns((pl.col("rank") + 1).clip(1, 16).alias("rank_median"),
                               pl.col("rank").clip(2, 16).alias("rank_lo"))
    fig = figures.ranking_figure(df, "zh")
    iv = fig.data[1]
    assert list(iv.x) == df.sort("rank")["rank"].to_list()
    assert iv.x[0] == 1
    lo = [x - m for x, m in zip(iv.x, iv.error_x.arrayminus, strict=True)]
    hi = [x + p for x, p in zip(iv.x, iv.error_x.array, strict=True)]
    assert all(a <= r <= b for a, r, b in zip(lo, iv.x, hi, strict=True))  # the interval reaches the dot
    assert fig.layout.yaxis2.showticklabels is True and fig.layout.yaxis2.side == "right"


def _crowded() -> pl.DataFrame:
    """The demo's overview: several districts within a point or two of each other (宝山/徐汇) and one at the edge."""
    names = [n for _, n, _ in DISTRICTS]
    sup = [62.0, 62.8, 63.1, 61.5, 70.0, 45.0, 44.2, 80.0, 55.0, 56.0, 50.0, 66.0, 35.0, 58.0, 59.0, 90.0]
    dem = [60.0, 60.5, 59.4, 61.0, 40.0, 75.0, 74.5, 30.0, 55.0, 54.2, 65.0, 68.0, 85.0, 50.0, 49.0, 20.0]
    return pl.DataFrame({"unit_code": CODES, "name": names, "supply": sup, "demand": dem,
                         "task_oriented": [s >= 58.5 and d < 59.7 for s, d in zip(sup, dem, strict=True)]})


def test_quadrant_labels_do_not_overlap_each_other_or_the_corner_captions_and_stay_inside() -> None:
    df = _crowded()
    fig = figures.quadrant_figure(df, "zh")
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    boxes = []
    for tr in fig.data:
        px = figures._to_px(list(tr.x), xr[0], xr[1], figures.PLOT_W)
        py = figures._to_px(list(tr.y), yr[0], yr[1], figures.PLOT_H)
        for x, y, name, pos in zip(px, py, tr.text, tr.textposition, strict=True):
            if name:
                boxes.append((name, figures.label_box(x, y, figures.text_width(name), pos)))
        assert tr.cliponaxis is False
    for a in fig.layout.annotations:  # labels moved out of a crowd, with a leader line
        if a.showarrow:
            x = figures._to_px([a.x], xr[0], xr[1], figures.PLOT_W)[0]
            y = figures._to_px([a.y], yr[0], yr[1], figures.PLOT_H)[0]
            boxes.append((a.text, figures.placement_box(x, y, figures.text_width(a.text), ("callout", a.ax, -a.ay))))
    assert sorted(n for n, _ in boxes) == sorted(df["name"].to_list())  # every district is named once
    for i, (a, box_a) in enumerate(boxes):
        assert figures._outside(box_a, figures.PLOT_W, figures.PLOT_H) == 0, f"{a} is cut off"
        for b, box_b in boxes[i + 1:]:
            assert figures._overlap(box_a, box_b) == 0, f"{a} overlaps {b}"
    corners = [a for a in fig.layout.annotations if a.xref == "x domain"]
    assert {a.text for a in corners} == {t(k, "zh") for k in ("quadrant.task", "quadrant.balanced_high",
                                                              "quadrant.user", "quadrant.low")}
    assert all(a.bgcolor == "white" for a in corners)
    for name, box in boxes:  # the captions sit in the corners: no label under them
        for cx in (0, 1):
            for cy in (0, 1):
                w = figures.text_width("供需均强", 12) + 8
                x0 = figures.PLOT_W - w if cx else 0.0
                y0 = figures.PLOT_H - figures.LABEL_H - 4 if cy else 0.0
                assert figures._overlap(box, (x0, y0, x0 + w, y0 + figures.LABEL_H + 4)) == 0, name


def test_the_comparison_chart_keeps_whole_names() -> None:
    """Before: names were cut to '1浦区' (a fixed 90 px margin, text clipped to the plot)."""
    df = _table().with_columns(pl.col("rank").alias("a"), (17 - pl.col("rank")).alias("b"))
    fig = figures.rank_comparison_figure(df, "zh", [("a", "甲方案"), ("b", "乙方案")])
    longest = max(figures.text_width(f"{n} 16", 13) for n in df["name"].to_list())
    assert fig.layout.margin.l >= longest and fig.layout.margin.r >= longest
    assert all(tr.cliponaxis is False for tr in fig.data)
    assert any(tr.text[0].startswith("浦东新区") for tr in fig.data)


def test_heatmap_numbers_fit_their_cells() -> None:
    """Before: '33,811,200' at size 9 in a 29 px cell spilled over its neighbours."""
    rng = np.random.default_rng(3)
    recs = [{"name": n, "label": f"指标{j}", "value": 1.0, "denominator": float(rng.choice([36, 8123, 33_811_200]))}
            for _, n, _ in DISTRICTS for j in range(39)]
    for lang in ("zh", "en"):
        fig = figures.coverage_figure(pl.DataFrame(recs), lang)
        hm = fig.data[0]
        size = hm.textfont.size
        labels = {s for row in hm.text for s in row if s}
        assert max(len(s) for s in labels) <= 5
        cell = figures.COVERAGE_PLOT_W / 39
        if hm.texttemplate:
            assert all(figures.text_width(s, size) <= cell - 2 for s in labels), (lang, size)
        exact = {s for row in hm.customdata for s in row}
        assert ("3,381.1 万" if lang == "zh" else "33,811,200") in exact  # the hover keeps the exact number
    assert figures.compact_count(33_811_200, "zh") == "3381万"
    assert figures.coverage_text_size(["3381万"], 200) == 0  # too narrow: no numbers rather than spilled ones


def test_long_english_labels_keep_the_district_charts_plot_area() -> None:
    label = "Cases actually needing at most one visit"
    wrapped = figures.wrap_label(label, 170)
    assert "<br>" in wrapped and wrapped.replace("<br>", " ") == label
    assert all(figures.text_width(line) <= 170 for line in wrapped.split("<br>"))
    assert figures.wrap_label("实际办件网办率", 170) == "实际办件网办率"
    pri = pl.DataFrame({"label": [label, "Mobile availability"], "priority": [3.7, 1.2],
                        "composite_gain": [3.7, 1.2]})
    fig = go.Figure(figures.priorities_figure(pri, "en"))
    assert fig.layout.xaxis.range[1] >= 3.7 * 1.2  # the '3.70' beside the longest bar is not cut
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks[-1] == figures.short_label(label, 200) and "<br>" not in ticks[-1]  # one line (top bar: the last)
    assert list(fig.data[0].hovertext) == [label, "Mobile availability"][::-1]  # the full name in the hover
    dims = pl.DataFrame({"label": ["Supply · technology adaptation"], "this": [40.0], "median": [50.0],
                         "best": [70.0]})
    fig = go.Figure(figures.dimension_compare_figure(dims, "en"))
    assert list(fig.layout.xaxis.ticktext) == ["Supply · technology…"]  # one line, cut at a word
    assert list(fig.data[0].hovertext) == ["Supply · technology adaptation"]  # the whole name in the hover
    # the legend hangs from the figure's top edge under the title, so a second row grows down into the margin
    legend, title = fig.layout.legend, fig.layout.title
    assert (legend.yref, legend.yanchor, legend.x, title.yref) == ("container", "top", 0, "container")
    assert (1 - legend.y) * fig.layout.height >= 30 and fig.layout.margin.t >= (1 - legend.y) * fig.layout.height + 50


def test_print_labels_keep_to_their_lines_and_say_they_are_cut() -> None:
    """A4 print (issue 14): a name longer than its lines is cut at a word with '…'; names cut alike stay two bars."""
    long = "Offline fallback and elder-friendly coverage of the high-frequency items"
    one = figures.short_label(long, 130)
    assert "<br>" not in one and one.endswith("…") and long.startswith(one[:-1])
    assert figures.text_width(one) <= 130
    two = figures.short_label(long, 170, lines=2)
    assert two.count("<br>") == 1 and two.endswith("…")
    assert all(figures.text_width(line) <= 170 for line in two.split("<br>"))
    assert figures.short_label("Mobile availability", 160) == "Mobile availability"
    assert figures.short_label("Supercalifragilisticexpialidocious", 60).endswith("…")
    pri = pl.DataFrame({"label": [long, long + " (case-weighted)"], "priority": [2.0, 1.0]})
    fig = go.Figure(figures.priorities_figure(pri, "en"))
    assert len(set(fig.data[0].y)) == 2 and len(set(fig.layout.yaxis.ticktext)) == 1  # two bars, cut alike


def test_quadrant_leaves_out_a_district_without_a_side_score() -> None:
    """Under a profile's availability threshold a district can lack its demand score (too few indicators measured);
    the quadrant draws the others instead of failing the whole overview."""
    df = _table().with_columns(pl.when(pl.col("rank") == 1).then(None).otherwise(pl.col("demand")).alias("demand"))
    fig = figures.quadrant_figure(df, "zh")
    drawn = {name for tr in fig.data for name in tr.hovertext}
    assert len(drawn) == df.height - 1
    nothing = figures.quadrant_figure(df.with_columns(pl.lit(None, dtype=pl.Float64).alias("demand")), "zh")
    assert isinstance(nothing, go.Figure)


def test_the_apps_template_is_plotlys_trimmed_to_every_trace_type_the_app_draws() -> None:
    """Every figure carries its template in its JSON: the app's is plotly's own without the parts no chart of the
    app reads (3-D, polar, ternary, geo, trace types it never draws), so the charts look the same for a fraction
    of the bytes. A trace type the app starts to draw must be added, or it would lose the template's styling."""
    import inspect
    import json
    import re

    import plotly.io as pio
    from plotly.basedatatypes import BaseTraceType

    import app.ui as ui_package

    full = pio.templates["plotly"].to_plotly_json()
    kept = figures.TEMPLATE
    assert all(full["layout"][k] == v for k, v in kept["layout"].items())
    assert all(full["data"][k] == v for k, v in kept["data"].items())
    assert {"xaxis", "yaxis", "hovermode", "autotypenumbers", "colorway", "colorscale"} <= set(kept["layout"])
    assert len(json.dumps(kept)) < len(json.dumps(full)) / 2
    assert pio.templates.default == "govindex" and go.Figure().to_plotly_json()["layout"]["template"] == kept
    classes = {name: cls for name in dir(go)
               if isinstance(cls := getattr(go, name), type) and issubclass(cls, BaseTraceType)}
    trace_types = {cls().type for cls in classes.values()}
    drawn: set[str] = set()
    for path in Path(inspect.getfile(ui_package)).parent.glob("*.py"):  # every module that builds figures
        source = path.read_text(encoding="utf-8")
        drawn.update(classes[name]().type for name in re.findall(r"\bgo\.([A-Z][A-Za-z0-9]*)\(", source)
                     if name in classes)
        drawn.update(set(re.findall(r'"type": "([a-z0-9]+)"', source)) & trace_types)  # the plain-dict traces
    assert {"bar", "scatter", "heatmap"} <= drawn and drawn <= set(figures.TEMPLATE_TRACES), drawn


def test_the_district_figures_are_plain_dicts_plotly_accepts_unchanged() -> None:
    """The district page's charts skip plotly's object model (built on every visit); plotly must take them
    verbatim, the trend's rank still on a second axis on the right, reversed (1 at the top)."""
    trend = pl.DataFrame({"period": ["2026Q1", "2026Q2"], "score": [50.0, None], "rank": [3, None]})
    pri = pl.DataFrame({"label": ["a", "b"], "priority": [0.5, 0.2], "weight": [0.1, 0.2], "gap_points": [3.0, None],
                        "feasibility": [0.5, 0.6], "composite_gain": [0.3, 0.2]})
    dims = pl.DataFrame({"label": ["a", "b"], "this": [50.0, None], "median": [40.0, 50.0], "best": [80.0, 90.0]})
    for lang in ("zh", "en"):
        for fig in (figures.district_trend_figure(trend, lang, 16), figures.priorities_figure(pri, lang),
                    figures.priorities_figure(pri.select("label", "priority"), lang),
                    figures.dimension_compare_figure(dims, lang), figures.priorities_figure(pri.head(0), lang)):
            assert isinstance(fig, dict)
            assert go.Figure(fig).to_plotly_json() == fig  # every property valid, nothing added or dropped
            assert fig["layout"]["template"] == figures.TEMPLATE
    t_ = figures.district_trend_figure(trend, "zh", 16)
    assert t_["data"][1]["yaxis"] == "y2" and t_["layout"]["yaxis2"]["overlaying"] == "y"
    assert t_["layout"]["yaxis2"]["side"] == "right" and t_["layout"]["yaxis2"]["range"] == [17.5, 0.5]
