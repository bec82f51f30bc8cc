"""The first layout and the callback graph requested with the page (issue 14 first paint, issue 16 goal 4).

Before the change the renderer asked for `/_dash-layout` and `/_dash-dependencies` only after every script had run
(after DOMContentLoaded); now the page's head preloads both and the renderer takes those answers."""

from __future__ import annotations

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
