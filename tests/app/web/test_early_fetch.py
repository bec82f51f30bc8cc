"""The first layout and the callback graph requested with the page (issue 14 first paint, issue 16 goal 4).

Before the change the renderer asked for `/_dash-layout` and `/_dash-dependencies` only after every script had run
(after DOMContentLoaded); now the page's head preloads both and the renderer takes those answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.web import early_fetch
from tests.app.pages.browser_steps import settle


def test_the_links_name_both_addresses_under_the_prefix() -> None:
    links = early_fetch.preload_links("/app/")
    assert 'href="/app/_dash-layout"' in links and 'href="/app/_dash-dependencies"' in links
    assert links.count('rel="preload" as="fetch" crossorigin="anonymous"') == 2
    assert early_fetch.preload_links("/") == early_fetch.preload_links("")


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/weights"])
def test_the_layout_is_asked_for_once_and_before_the_scripts_have_run(page, server_url: str, path: str) -> None:
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if "preload" in m.text else None)
    page.goto(server_url + path)
    settle(page)
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const of = (name) => performance.getEntriesByType('resource')
            .filter(e => new URL(e.name).pathname === '/' + name).map(e => e.startTime);
        return {dcl: nav.domContentLoadedEventStart, layout: of('_dash-layout'), deps: of('_dash-dependencies')};
    }""")
    assert len(timing["layout"]) == 1 and len(timing["deps"]) == 1, timing  # the preloads were used, not re-sent
    assert timing["layout"][0] < timing["dcl"] and timing["deps"][0] < timing["dcl"], timing
    assert warnings == [], warnings
    assert page.errors == [], page.errors


def test_the_chunks_of_the_first_screen_are_preloaded_where_drawn() -> None:
    assert early_fetch.chunk_links("/", "/") == (
        '<link rel="preload" as="script" href="/_dash-component-suites/dash/dcc/async-dropdown.js">'
        '<link rel="preload" as="script" href="/_dash-component-suites/dash/dcc/async-graph.js">')
    assert "async-graph" in early_fetch.chunk_links("/app", "/district/310115")
    assert "async-graph" not in early_fetch.chunk_links("/", "/methodology")  # no chart on its first screen
    assert "async-graph" not in early_fetch.chunk_links("/", "/district/all")  # the district index: no chart
    assert "async-graph" not in early_fetch.chunk_links("/", "/data-quality")  # its heatmap: far below, drawn late
    assert "async-graph" in early_fetch.chunk_links("/", "/district/all-but-a-code/")  # a unit code is a district
    assert 'href="/app/_dash-component-suites/dash/dcc/async-dropdown.js"' in early_fetch.chunk_links("/app", "/ledger")
    # the weights page's sliders are in its first layout (issue 16 goal 4); no other page draws one
    assert "async-slider" in early_fetch.chunk_links("/", "/weights") and "async-graph" in early_fetch.chunk_links(
        "/", "/weights")
    assert not [p for p in ("/", "/weights/history", "/district/310115", "/sensitivity")
                if "async-slider" in early_fetch.chunk_links("/", p)]


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/methodology", "/weights"])
def test_the_chunks_come_with_the_page_once_and_before_the_scripts_have_run(page, server_url: str, path: str) -> None:
    """Before: webpack asked for the drop-down's and the graph's code once React drew the first of each, after
    DOMContentLoaded; now the page's head asks for them, webpack takes those answers (one request each), and
    Chromium does not warn of a preload left unused."""
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if "preload" in m.text else None)
    page.goto(server_url + path)
    settle(page, pause=3.5)  # Chromium warns of an unused preload a few seconds after the load event
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const of = (name) => performance.getEntriesByType('resource')
            .filter(e => new URL(e.name).pathname.endsWith('/dcc/' + name)).map(e => e.startTime);
        return {dcl: nav.domContentLoadedEventStart, dropdown: of('async-dropdown.js'), graph: of('async-graph.js'),
                slider: of('async-slider.js')};
    }""")
    assert len(timing["dropdown"]) == 1 and timing["dropdown"][0] < timing["dcl"], timing
    if path in ("/", "/weights"):
        assert len(timing["graph"]) == 1 and timing["graph"][0] < timing["dcl"], timing
    if path == "/weights":
        assert len(timing["slider"]) == 1 and timing["slider"][0] < timing["dcl"], timing
    assert warnings == [], warnings
    assert page.errors == [], page.errors


def test_plotly_is_started_early_on_the_same_pages_the_chunks_are_preloaded_for() -> None:
    """app/assets/plotly-preload.js starts plotly.js on the pages whose first screen draws a chart: its pattern is
    early_fetch.CHART_PAGES's (before, both also matched /district/all, which draws no chart, and /data-quality,
    whose only chart is far below the first screen)."""
    js = (Path(early_fetch.__file__).parents[1] / "assets" / "plotly-preload.js").read_text(encoding="utf-8")
    found = re.search(r"var charts = /(.*)/;", js)
    assert found, "the preload script names its pages in `var charts = /…/;`"
    assert found.group(1).replace("\\/", "/") == early_fetch.CHART_PAGES.pattern
