"""The pages at 2,844 county-level units in a real browser (issue 20.3): one server over a synthetic national
warehouse (tests/app/many_units_warehouse.py) shared by these few tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.ui import national_map
from tests.app.conftest import ARTIFACTS, ROOT
from tests.app.many_units_warehouse import SHARED_NAME, build, unit_table
from tests.app.pages.browser_steps import choose, click_point, click_shape, settle, switch_role
from tests.conftest import serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]
N = 2844
SERVED: dict[str, Path] = {}  # the module server's warehouse (its loop store lies beside it)


@pytest.fixture(scope="module")
def many_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("many-units")
    db = build(base / "national.duckdb", N)
    SERVED["db"] = db
    weights = base / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    args = ["--db", str(db), "--weights-dir", str(weights), "--no-scheduler"]
    # fewer Monte Carlo samples than the default: the intervals' width is not what these tests look at
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "GOVINDEX_RANK_SAMPLES": "100"}
    with serving(args, base / "server.log", cwd=ROOT, env=env, start_seconds=240) as url:
        yield url


def _bars(page, graph: str) -> int:
    return int(page.evaluate(f"() => document.querySelectorAll('#{graph} g.point').length"))


def test_overview_at_many_units_searches_filters_and_draws_no_thousand_labels(page, many_url: str) -> None:
    page.goto(many_url + "/")
    page.wait_for_selector("#units-grid .ag-row", timeout=60_000)
    settle(page)
    # the ranking chart: the two ends and a note, not 2,844 bars
    page.wait_for_selector("#overview-ranking .main-svg")
    assert 0 < _bars(page, "overview-ranking") <= 40
    assert "2,824" in page.inner_text("#overview-ranking")
    # the quadrant is WebGL: one canvas, no text label per unit
    assert page.locator("#overview-quadrant canvas").count() >= 1
    assert page.locator("#overview-quadrant g.textpoint").count() == 0
    # no list item per unit anywhere on the page
    assert page.locator("li").count() < 200
    # the grid is virtualised: far fewer row elements than units
    assert 0 < page.locator("#units-grid .ag-center-cols-container .ag-row").count() < 200
    assert f"{N:,}" in page.inner_text("#units-note")
    # search: both units named 朝阳区 (Beijing's and Changchun's), by name
    page.fill("#units-search", SHARED_NAME)
    page.press("#units-search", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#units-grid .ag-center-cols-container .ag-row')"
                           ".length === 2", timeout=20_000, polling=250)
    codes = sorted(page.locator("#units-grid .ag-center-cols-container [col-id=unit_code]").all_inner_texts())
    assert codes == ["110101", "220101"]
    # filter by parent: Beijing's 92 units only (the search cleared)
    page.fill("#units-search", "")
    page.press("#units-search", "Enter")
    choose(page, "units-parent", "110000")
    page.wait_for_function("() => (document.querySelector('#units-note') || {}).innerText.includes('92')",
                           timeout=20_000)
    shown = page.locator("#units-grid .ag-center-cols-container [col-id=unit_code]").all_inner_texts()
    assert shown and all(code.startswith("11") for code in shown)
    # the map: no tile grid of thousands of squares
    assert page.locator("#overview-map g.heatmaplayer").count() == 0
    assert page.errors == [], page.errors
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-many-units.png"), full_page=True)


@pytest.mark.parametrize("path, graph", [("/weights", "weights-ranking-fig"), ("/data-quality", "dq-coverage")])
def test_chart_pages_at_many_units_show_the_ends_only(page, many_url: str, path: str, graph: str) -> None:
    page.goto(many_url + path)
    page.wait_for_selector(f"#{graph} .main-svg", timeout=90_000)
    settle(page)
    assert page.locator("li.rank-item").count() <= 40
    assert "<sup>" not in page.inner_text(f"#{graph}")  # the note is rendered, not printed as markup
    assert page.locator(f"#{graph} .gtitle").count() >= 1
    assert page.errors == [], page.errors


def _map_title(page) -> str:
    return str(page.evaluate("() => document.querySelector('#overview-map .gtitle').textContent"))


def test_the_national_map_draws_the_provinces(page, many_url: str) -> None:
    """Issue 14/20.3: at national scale the map is the 31 provinces (31 names at most, not 2,844)."""
    page.goto(many_url + "/")
    page.wait_for_selector("#overview-map .main-svg", timeout=90_000)
    settle(page)
    assert "各省" in _map_title(page)
    assert page.locator("#overview-map g.textpoint").count() <= 31  # province names, not one per unit
    shapes = page.evaluate("() => document.getElementById('overview-map').querySelector('.js-plotly-plot').data"
                           ".filter(t => t.fill === 'toself').length")
    assert shapes == 31
    assert "中位数" in page.inner_text(".map-method")  # the synthetic warehouse has no province level
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-national-map.png"), full_page=True)
    assert page.errors == [], page.errors


def test_alerts_at_many_units_are_a_virtualised_grid_with_filters(page, many_url: str) -> None:
    """An alert per unit (what the national demo's first refresh stored before alerts needed an earlier state):
    the page shows a virtualised grid with every alert, filters by parent unit, not thousands of rows."""
    from etl.config import load_config
    from etl.stores import alerts as alert_store
    from etl.stores.loop import LoopStore
    from tests.app.many_units_warehouse import unit_table

    store = LoopStore.for_config(load_config(env={}, overrides={"db": str(SERVED["db"])}))
    codes = unit_table(N)["district_code"].to_list()
    alert_store.record(store, [alert_store.AlertDraft("missing", f"browser:{u}", u, params={
        "missing": 20, "total": 49, "period_zh": "2025年第二季度", "period_en": "2025 Q2"}) for u in codes])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(many_url + "/alerts")
    page.wait_for_selector("#alerts-grid .ag-row", timeout=60_000)
    settle(page)
    assert 0 < page.locator("#alerts-grid .ag-center-cols-container .ag-row").count() < 200
    assert page.locator("tr").count() < 50 and page.locator("button").count() < 60
    assert f"{N:,}" in page.inner_text("#alerts-many-note")
    choose(page, "alerts-parent", "110000")  # Beijing's 92 county-level units
    try:
        page.wait_for_function("() => (document.querySelector('#alerts-many-note') || {}).innerText.includes('92')",
                               timeout=20_000, polling=250)
    finally:
        page.screenshot(path=str(ARTIFACTS / "alerts-many.png"), full_page=True)
    shown = page.locator("#alerts-grid .ag-center-cols-container [col-id=parent]").all_inner_texts()
    assert shown and set(shown) == {"110000"}
    assert page.errors == [], page.errors


def _title(page, graph: str) -> str:
    return str(page.evaluate(f"() => (document.querySelector('#{graph} .gtitle') || {{}}).textContent || ''"))


def _wait_title(page, graph: str, text: str) -> None:
    page.wait_for_function(f"() => ((document.querySelector('#{graph} .gtitle') || {{}}).textContent || '')"
                           f".includes('{text}')", timeout=30_000, polling=250)
    settle(page)


def _plot(graph: str, expr: str) -> str:
    return f"() => document.getElementById('{graph}').querySelector('.js-plotly-plot').data{expr}"


def _drilled_into(page, graph: str, province: str, name: str) -> list[str]:
    """The map `graph` shows `province`'s county-level units (those of the warehouse), its title and drop-down
    (`<graph>-province`) name it; returns the units' codes."""
    _wait_title(page, graph, name)
    assert _title(page, graph).startswith(name)
    codes = sorted(page.evaluate(_plot(graph, ".filter(t => t.customdata).flatMap(t => t.customdata)")))
    # the warehouse's codes are GB/T 2260-shaped, not all real: those of the province with a shipped boundary
    units = sorted(c for c in unit_table(N)["district_code"].to_list()
                   if c.startswith(province[:2]) and national_map.counties(province).has(c))
    assert codes == units and len(units) >= 5  # the province's counties with a boundary, none of another
    assert page.evaluate(_plot(graph, ".filter(t => t.fill === 'toself').length")) >= 1  # the shapes are drawn
    assert name in page.inner_text(f"#{graph}-province")
    return codes


def test_the_national_map_drills_into_a_province_chosen_or_clicked(page, many_url: str) -> None:
    """Issue 20.3: choosing a province in the map's drop-down (typing part of its name) draws its county-level
    units; back to the whole country, a click inside a province's shape (not on its name) does too."""
    page.goto(many_url + "/")
    page.wait_for_selector("#overview-map .main-svg", timeout=90_000)
    settle(page)
    choose(page, "overview-map-province", "河北")
    _drilled_into(page, "overview-map", "130000", "河北省")
    choose(page, "overview-map-province", "全国")
    _wait_title(page, "overview-map", "各省")
    assert click_shape(page, "overview-map", "650000") > 30  # well away from the name's click target
    _drilled_into(page, "overview-map", "650000", "新疆")
    assert page.url.rstrip("/") == many_url  # a province opens no page: it drills down
    assert page.errors == [], page.errors


def test_the_compare_page_has_the_national_map(page, many_url: str) -> None:
    """Issue 20.3: the comparison's map at national scale is the overview's (app.ui.national_map): the provinces, a
    click inside one draws its counties, a click on a county adds it to the comparison, and back on the whole
    country the province of a chosen unit is outlined."""
    page.goto(many_url + "/compare")
    page.wait_for_selector("#compare-map .main-svg", timeout=90_000)
    settle(page)
    assert "各省" in _title(page, "compare-map")
    assert page.evaluate(_plot("compare-map", ".filter(t => t.fill === 'toself').length")) == 31
    click_shape(page, "compare-map", "650000")
    county = _drilled_into(page, "compare-map", "650000", "新疆")[0]
    click_point(page, "compare-map", county)
    page.wait_for_function(f"() => window.location.search.includes('{county}')", timeout=30_000, polling=250)
    assert county in page.inner_text("#compare-units")
    choose(page, "compare-map-province", "全国")
    _wait_title(page, "compare-map", "各省")
    outlined = page.evaluate(_plot("compare-map", ".filter(t => t.fill === 'toself' && t.line.width === 3)"
                                                  ".map(t => t.name)"))
    assert outlined == ["650000"]
    assert page.errors == [], page.errors


def test_a_county_officials_map_opens_on_their_province_with_their_unit_outlined(page, many_url: str) -> None:
    """Issue 20.3: an official sees their unit and what is under it: the national map opens on their province,
    their county outlined, on the overview and on the comparison."""
    own = next(c for c in unit_table(N)["district_code"].to_list()
               if c.startswith("13") and national_map.counties("130000").has(c))
    switch_role(page, many_url, "district_official", own)
    page.goto(many_url + "/")
    page.wait_for_selector("#overview-map .main-svg", timeout=90_000)
    _drilled_into(page, "overview-map", "130000", "河北省")
    at = page.evaluate(_plot("overview-map", f".find(t => t.name === 'units').customdata.indexOf('{own}')"))
    centre = page.evaluate(_plot("overview-map", f".filter(t => t.name === 'units').map(t => [t.x[{at}], t.y[{at}]])"))
    ring = page.evaluate(_plot("overview-map", ".filter(t => t.marker && t.marker.line && t.marker.line.width === 2)"
                                               ".map(t => [t.x[0], t.y[0], t.x.length])"))
    assert ring == [[*centre[0], 1]]  # one unit outlined: the official's
    page.goto(many_url + "/compare")
    page.wait_for_selector("#compare-map .main-svg", timeout=90_000)
    _drilled_into(page, "compare-map", "130000", "河北省")
    assert page.errors == [], page.errors
