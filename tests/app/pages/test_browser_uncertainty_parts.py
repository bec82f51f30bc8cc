"""The overview says its rank intervals combine data and method uncertainty, and shows each part (issue 13.2)."""

from __future__ import annotations

import time

import pytest

from tests.app.pages.browser_steps import draw_chart

pytestmark = pytest.mark.browser

ERRORS = """() => { const p = document.querySelector('#iv-parts-graph .js-plotly-plot');
  return p && p.data ? JSON.stringify([p.data[0].error_x.array, p.data[0].error_x.arrayminus]) : null; }"""


def test_the_overview_says_what_its_intervals_contain_and_switches_the_part(page, server_url: str) -> None:
    page.goto(server_url + "/")
    page.wait_for_selector("#iv-parts-switch", timeout=60_000)
    assert "默认的排名区间同时包含数据抽样误差" in page.inner_text("#iv-parts-note")
    draw_chart(page, "iv-parts-graph")  # below the first screen: drawn when scrolled to
    page.wait_for_function(ERRORS, timeout=30_000)
    shown = {"both": page.evaluate(ERRORS)}
    for i, part in ((1, "method"), (2, "data")):
        page.click(f"#iv-parts-switch label:nth-child({i + 1}) input")
        page.wait_for_function(f"() => ({ERRORS})() !== {shown['both']!r}" if i == 1 else
                               f"() => ({ERRORS})() !== {shown['method']!r}", timeout=30_000)
        time.sleep(0.3)
        shown[part] = page.evaluate(ERRORS)
    assert len(set(shown.values())) == 3  # three different sets of intervals
    assert page.errors == []
