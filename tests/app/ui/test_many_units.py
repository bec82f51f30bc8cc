"""Pages at many units (issue 20.3): no chart draws thousands of labels or traces, the quadrant is WebGL, the
ranking can be searched and filtered by parent and peer group, the map falls back to scores by parent; and at
Shanghai's 16 districts every chart is as before."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest

from app.ui import figures, many_units
from app.ui import map as district_map
from app.ui.map import Boundaries
from etl.demo.units import DISTRICTS
from tests.app.many_units_warehouse import SHARED_NAME, unit_table

N = 2844


def _table(n: int, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    if n == 16:
        codes, names = [c for c, _, _ in DISTRICTS], [z for _, z, _ in DISTRICTS]
    else:
        units = unit_table(n)
        codes, names = units["district_code"].to_list(), units["name_zh"].to_list()
    sup, dem = rng.uniform(20, 90, n), rng.uniform(20, 90, n)
    score = 0.4 * sup + 0.6 * dem
    rank = (-score).argsort().argsort() + 1
    return pl.DataFrame({"unit_code": codes, "name": names, "score": score, "rank": rank, "supply": sup,
                         "demand": dem, "task_oriented": (sup >= np.median(sup)) & (dem < np.median(dem)),
                         "rank_lo": np.maximum(rank - 30, 1).astype(float),
                         "rank_hi": np.minimum(rank + 30, n).astype(float), "rank_median": rank.astype(float)})


def _labels(fig: go.Figure | dict) -> int:
    """How many category labels and text labels the figure's traces carry, all traces together."""
    data = fig["data"] if isinstance(fig, dict) else fig.to_plotly_json()["data"]
    n = 0
    for tr in data:
        n += len(tr.get("y") or []) if tr.get("orientation") == "h" or tr.get("type") == "bar" else 0
        n += sum(1 for x in (tr.get("text") or []) if x) if isinstance(tr.get("text"), list) else 0
    return n


# -- helpers -------------------------------------------------------------------------------------------------------
def test_top_bottom_keeps_both_ends_and_counts_what_lies_between() -> None:
    tbl = _table(N)
    part, hidden = many_units.top_bottom(tbl, 10)
    assert part["rank"].to_list() == [*range(1, 11), *range(N - 9, N + 1)]
    assert hidden == N - 20
    small, none = many_units.top_bottom(_table(16), 10)
    assert small.height == 16 and none == 0


def test_top_bottom_ends_are_of_the_ranked_units_not_the_unscored() -> None:
    """The real national demo has counties without a composite score (rank null): the bottom end is the worst
    ranked units, not the unranked ones (the weights page printed "None" as their rank)."""
    tbl = _table(N).with_columns(pl.when(pl.col("rank") > N - 50).then(None).otherwise(pl.col("rank")).alias("rank"))
    part, hidden = many_units.top_bottom(tbl, 10)
    assert part["rank"].to_list() == [*range(1, 11), *range(N - 59, N - 49)]
    assert hidden == N - 20
    few = tbl.with_columns(pl.when(pl.col("rank") > 15).then(None).otherwise(pl.col("rank")).alias("rank"))
    part, hidden = many_units.top_bottom(few, 10)
    assert part["rank"].to_list() == list(range(1, 16)) and hidden == N - 15


def test_unique_labels_add_the_code_only_to_shared_names() -> None:
    assert many_units.unique_labels(["朝阳区", "海淀区", "朝阳区"], ["110105", "110108", "220104"]) == \
        ["朝阳区（110105）", "海淀区", "朝阳区（220104）"]
    names = [z for _, z, _ in DISTRICTS]
    assert many_units.unique_labels(names, [c for c, _, _ in DISTRICTS]) == names


def test_with_units_and_filters_by_parent_peer_and_search() -> None:
    units = unit_table(N).with_columns(
        pl.when(pl.col("district_code") == "110101").then(pl.lit("北京市")).otherwise(pl.col("name_zh"))
        .alias("name_zh"))
    # a parent that is itself a row of the unit table is shown by its name, else by its code
    units = pl.concat([units, pl.DataFrame({"district_code": ["110000"], "name_zh": ["北京市"],
                                            "name_en": ["Beijing"], "parent_code": [""], "peer_group": [""],
                                            "population": [0], "pop_60plus": [0], "level": ["province"]})],
                      how="diagonal_relaxed")
    tbl = many_units.with_units(_table(N), units, "zh")
    assert set(tbl["parent"].unique().to_list()) >= {"北京市", "120000"}
    assert set(tbl["peer_group"].unique().to_list()) == {"市辖区", "县级市", "县"}
    beijing = many_units.filtered(tbl, parent="北京市")
    assert beijing.height == 92 and set(beijing["unit_code"].str.slice(0, 2).to_list()) == {"11"}
    peers = many_units.filtered(tbl, peer="县级市")
    assert 0 < peers.height < N and set(peers["peer_group"].to_list()) == {"县级市"}
    both = many_units.filtered(tbl, parent="北京市", peer="县级市")
    assert both.height == beijing.filter(pl.col("peer_group") == "县级市").height
    assert sorted(many_units.filtered(tbl, query=SHARED_NAME)["unit_code"].to_list()) == ["110101", "220101"]
    assert many_units.filtered(tbl, query="2201")["unit_code"].str.starts_with("2201").all()
    assert many_units.filtered(tbl, query="  ").height == N
    opts = many_units.filter_options(tbl["peer_group"].to_list(), "zh")
    assert opts[0]["value"] == "" and [o["value"] for o in opts[1:]] == sorted({"市辖区", "县级市", "县"})


def test_without_parent_or_peer_columns_the_unit_table_gives_empty_strings() -> None:
    units = pl.DataFrame({"district_code": [c for c, _, _ in DISTRICTS], "name_zh": [z for _, z, _ in DISTRICTS]})
    tbl = many_units.with_units(_table(16), units, "zh")
    assert set(tbl["parent"].to_list()) == {""} and set(tbl["peer_group"].to_list()) == {""}


# -- figures -------------------------------------------------------------------------------------------------------
def test_ranking_shows_the_two_ends_with_a_note_at_many_units_and_every_district_at_16() -> None:
    many = figures.ranking_figure(_table(N), "zh")
    bars = many.data[0]
    assert len(bars.y) == 20 and bars.y[0].startswith("1 · ") and bars.y[-1].startswith(f"{N} · ")
    assert "2,844" in many.layout.title.text and "2,824" in many.layout.title.text
    assert many.layout.height < 1000
    few = figures.ranking_figure(_table(16), "zh")
    assert len(few.data[0].y) == 16 and "<sup>" not in few.layout.title.text
    assert set(few.data[0].y) == {z for _, z, _ in DISTRICTS}  # names as before, no rank in front


def test_quadrant_is_webgl_without_labels_at_many_units_and_labelled_svg_at_16() -> None:
    many = figures.quadrant_figure(_table(N), "zh")
    assert {tr.type for tr in many.data} == {"scattergl"}
    assert sum(len(tr.x) for tr in many.data) == N
    assert all(tr.text is None for tr in many.data) and not many.layout.annotations[4:]  # corner captions only
    few = figures.quadrant_figure(_table(16), "zh")
    assert {tr.type for tr in few.data} == {"scatter"}
    assert sum(1 for tr in few.data for x in tr.text if x) + len(few.layout.annotations) - 4 == 16


def test_no_chart_draws_thousands_of_labels() -> None:
    tbl = _table(N)
    movers = tbl.select("unit_code", "name", "rank", pl.Series("change", np.arange(N) % 41 - 20),
                        (pl.col("rank") + 1).alias("prev_rank"))
    rank_cols = tbl.select("unit_code", "name", pl.col("rank").alias("r0"),
                           pl.col("rank").reverse().alias("r1"))
    cov = pl.DataFrame({"name": np.repeat(tbl["name"].to_numpy(), 3), "label": ["a", "b", "c"] * N,
                        "value": [None if i % 97 == 0 else 1.0 for i in range(3 * N)],
                        "denominator": [float(10 + i) for i in range(3 * N)]})
    built = {
        "ranking": figures.ranking_figure(tbl, "zh"),
        "movers": figures.movers_figure(movers, "zh"),
        "intervals": figures.rank_interval_figure(tbl, "zh"),
        "live": figures.live_ranking_figure(tbl, "zh"),
        "compare": figures.rank_comparison_figure(rank_cols, "zh", [("r0", "A"), ("r1", "B")]),
        "coverage": figures.coverage_figure(cov, "zh"),
        "pairwise": figures.pairwise_figure(tbl.sort("rank")["name"].to_list(), np.full((N, N), 0.5), "zh"),
    }
    for name, fig in built.items():
        data = fig["data"] if isinstance(fig, dict) else fig.to_plotly_json()["data"]
        layout = fig["layout"] if isinstance(fig, dict) else fig.to_plotly_json()["layout"]
        assert len(data) <= 40, name
        rows = max(len(tr.get("y") or []) for tr in data)
        assert rows <= 40, (name, rows)
        assert "<sup>" in layout["title"]["text"], name  # says what is left out
        assert layout["height"] < 2000, name
    go.Figure(built["live"])  # plotly accepts the plain dict unchanged


def test_many_unit_map_without_boundaries_shows_scores_by_parent_not_a_tile_grid() -> None:
    tbl = many_units.with_units(_table(N), unit_table(N), "zh")
    fig = district_map.many_map_figure(tbl, "zh", boundaries=Boundaries({}, "none", "none"))
    assert [tr.type for tr in fig.data] == ["box"]
    assert len(set(fig.data[0].y)) == 31  # one box per province
    assert not any(tr.type == "heatmap" for tr in fig.data)


def test_many_unit_map_draws_classes_not_one_trace_per_unit() -> None:
    tbl = _table(N)
    ring = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    polys = {code: ((ring + [i % 60, i // 60],),) for i, code in enumerate(tbl["unit_code"].to_list()[:500])}
    fig = district_map.many_map_figure(tbl, "zh", boundaries=Boundaries(polys, "test", "test"))
    assert len(fig.data) <= district_map.CLASSES + 3
    points = [tr for tr in fig.data if tr.name == "units"][0]
    assert len(points.customdata) == 500 and points.text is None


@pytest.mark.parametrize("n", [16, N])
def test_figures_of_the_cartesian_pages_are_drawable_by_the_cartesian_bundle(n: int) -> None:
    """What a page with the cartesian plotly.js draws must use its trace types only (else nothing is drawn):
    at 16 units every overview chart; at many units the full bundle is served (app.web.plotly_bundle)."""
    from app.web.plotly_bundle import CARTESIAN_TRACES, wants_full

    tbl = _table(n)
    types = {tr.type for f in (figures.ranking_figure(tbl, "zh"), figures.quadrant_figure(tbl, "zh"),
                               figures.rank_interval_figure(tbl, "zh")) for tr in f.data}
    if wants_full("/", n, many_units.MANY):
        assert n > many_units.MANY
    else:
        assert types <= CARTESIAN_TRACES, types - CARTESIAN_TRACES


def test_with_units_gives_the_rank_within_the_peer_group_and_within_the_parent() -> None:
    counties = unit_table(N)
    provinces = pl.DataFrame({"district_code": counties["parent_code"].unique(maintain_order=True)}).with_columns(
        pl.col("district_code").alias("name_zh"), pl.lit("province").alias("level"))
    tbl = many_units.with_units(_table(N), pl.concat([provinces, counties], how="diagonal"), "zh")
    beijing = tbl.filter(pl.col("parent_code") == "110000").sort("rank")
    assert beijing.height == 92
    assert beijing["rank_parent"].to_list() == [f"{k}/92" for k in range(1, 93)]
    peer = tbl.filter(pl.col("peer_group") == tbl["peer_group"][0]).sort("rank")
    assert peer["rank_peer"].to_list() == [f"{k}/{peer.height}" for k in range(1, peer.height + 1)]
    no_score = many_units.with_units(_table(16).drop("score"), unit_table(16), "zh")
    assert "rank_peer" not in no_score.columns
