"""Roll up and drill down on the district page (app.ui.unit_levels): a province's page summarises its counties'
scores and lists them ranked within it; the page index at many units lists the provinces."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.ui import unit_levels
from etl.demo.districts import unit_table
from etl.demo.national import national_rows
from indicators.units import Units

DISTRICTS = unit_table(national_rows(np.random.default_rng(2), provinces=3, counties=40))
UNITS = Units.from_frame(DISTRICTS)


def _table() -> pl.DataFrame:
    codes = [u for u in UNITS.leaves()]
    score = np.linspace(90, 10, len(codes))
    score[5] = np.nan  # a county without a composite
    return pl.DataFrame({"unit_code": codes, "name": codes, "score": score,
                         "rank": [i + 1 if i != 5 else None for i in range(len(codes))]})


def test_rollup_summarises_the_counties_scores_weighted_by_population() -> None:
    table = _table()
    s = unit_levels.rollup(table, UNITS, "110000")
    mine = table.filter(pl.col("unit_code").str.starts_with("11") & pl.col("score").is_not_nan())
    pop = np.array([UNITS.get(u).population for u in mine["unit_code"]], dtype=float)
    assert s["n"] == mine.height > 10
    assert np.isclose(s["mean"], mine["score"].mean())
    assert np.isclose(s["weighted"], float((mine["score"].to_numpy() * pop).sum() / pop.sum()))
    assert (s["lo"], s["hi"]) == (mine["score"].min(), mine["score"].max())
    assert unit_levels.rollup(table.head(0), UNITS, "110000")["mean"] is None


def test_parent_body_lists_its_units_ranked_within_it_and_the_index_lists_the_parents() -> None:
    body = unit_levels.parent_body(_table(), DISTRICTS, UNITS, "120000", "zh", "2026Q3", "g")
    grid = next(x for x in body.children if getattr(x, "id", None) == "g")
    rows = grid.rowData
    n = len(UNITS.children("120000"))
    assert len(rows) == n > 10 and all(r["unit_code"].startswith("12") for r in rows)
    assert [r["rank_parent"] for r in rows[:3]] == [f"1/{n}", f"2/{n}", f"3/{n}"]
    assert "/district/120101" in rows[0]["name"]  # drill down: each name opens the county
    index = unit_levels.parent_index(_table(), UNITS, "en", "2026Q3")
    cards = index.children[1].children
    assert [card.href.split("?")[0] for card in cards] == ["/district/110000", "/district/120000",
                                                           "/district/130000"]
