"""The pages at 2,844 county-level units in a real browser (issue 20.3): one server over a synthetic national
warehouse (tests/app/many_units_warehouse.py) shared by these few tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import ARTIFACTS, ROOT
from tests.app.many_units_warehouse import SHARED_NAME, build
from tests.app.pages.browser_steps import settle
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
    page.click("#units-parent")
    page.keyboard.type("110000")
    page.keyboard.press("Enter")
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
    """Issue 14/20.3: at national scale the map is the 31 provinces (31 names at most, not 2,844); the drill-down
    into a province (drop-down or click) is covered by tests/app/ui/test_national_map.py at the figure level."""
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
    page.click("#alerts-parent")
    page.keyboard.type("110000")  # Beijing's 92 county-level units
    page.keyboard.press("Enter")
    try:
        page.wait_for_function("() => (document.querySelector('#alerts-many-note') || {}).innerText.includes('92')",
                               timeout=20_000, polling=250)
    finally:
        page.screenshot(path=str(ARTIFACTS / "alerts-many.png"), full_page=True)
    shown = page.locator("#alerts-grid .ag-center-cols-container [col-id=parent]").all_inner_texts()
    assert shown and set(shown) == {"110000"}
    assert page.errors == [], page.errors
