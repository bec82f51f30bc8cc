"""What the layout marks hidden stays hidden, whatever its class's display: the national map's extent drop-down
("地图范围 全国（按省）") is in every map page's layout but hidden below national scale — and showed on the 16-district
demo's overview and comparison, because `.map-controls { display: flex }` overrode the `hidden` attribute."""

from __future__ import annotations

import pytest

from tests.app.pages.browser_steps import settle

pytestmark = pytest.mark.browser

SHOWN_HIDDEN = """() => [...document.querySelectorAll('[hidden]')]
    .filter(e => getComputedStyle(e).display !== 'none')
    .map(e => (e.id || e.className) + ': ' + e.innerText.slice(0, 40))"""


@pytest.mark.parametrize("path", ["/", "/compare?units=310101,310115", "/district/310115", "/weights"])
def test_elements_marked_hidden_are_not_shown(page, server_url: str, path: str) -> None:
    page.goto(server_url + path)
    settle(page)
    assert page.evaluate(SHOWN_HIDDEN) == []
    assert "地图范围" not in page.inner_text("main")  # 16 districts: no national map, nothing to choose
