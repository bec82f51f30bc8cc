"""Charts below the first screen are drawn when they come near (issue 14: the overview's cold first paint; issue 16
goal 4): a placeholder of the chart's size with a loading label until then; the first screen's charts draw at once;
the print (print media, beforeprint, the print button's drawAll) draws every chart. app/assets/graph-lazy.js."""

from __future__ import annotations

import time

import pytest

from tests.app.pages.browser_steps import draw_chart

pytestmark = pytest.mark.browser

BELOW = "iv-parts-graph"  # the overview's last chart: more than two screens down at 1440×900
STATE = """(id) => { const el = document.getElementById(id); if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top + scrollY, height: r.height, drawn: !!el.querySelector('.main-svg'),
          pending: el.classList.contains('govindex-graph-pending'), text: el.innerText.trim(),
          visible: r.width > 0 && r.height > 0}; }"""
UNDRAWN = """() => [...document.querySelectorAll('.dash-graph, .govindex-graph-pending')]
  .filter(g => g.offsetParent !== null && !g.querySelector('.main-svg')).map(g => g.id)"""


def _open_overview(page, url: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(url)
    page.wait_for_selector("#overview-ranking .main-svg", timeout=60_000)  # the first screen's chart
    page.wait_for_selector(f"#{BELOW}", state="attached", timeout=60_000)
    time.sleep(1.5)  # time for a chart that would draw without being scrolled to


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_chart_below_the_first_screen_waits_with_a_loading_placeholder_until_scrolled_to(
        page, server_url: str, lang: str) -> None:
    _open_overview(page, server_url + "/" + ("?lang=en" if lang == "en" else ""))
    assert page.evaluate("window.scrollY") == 0
    ranking = page.evaluate(STATE, "overview-ranking")
    assert ranking["drawn"] and ranking["top"] < 900  # on the first screen: drawn without scrolling
    before = page.evaluate(STATE, BELOW)
    assert before["top"] > 2 * 900, before  # more than one screen below the first
    assert not before["drawn"] and before["pending"] and before["visible"], before
    assert before["text"] == ("Loading chart…" if lang == "en" else "图表加载中…")
    assert before["height"] >= 240
    draw_chart(page, BELOW)
    after = page.evaluate(STATE, BELOW)
    assert after["drawn"] and not after["pending"]
    assert abs(after["height"] - before["height"]) <= 2, (before, after)  # the placeholder had the chart's size
    assert page.errors == [], page.errors


def test_the_print_media_draws_every_chart_without_scrolling(page, server_url: str) -> None:
    # the weights page in a short window: its last chart is far below the first screen, and is printed (the
    # overview's summary leaves out its own last chart)
    page.set_viewport_size({"width": 1440, "height": 400})
    page.goto(server_url + "/weights")
    page.wait_for_selector("#weights-ranking-list li", timeout=60_000)
    page.wait_for_selector("#weights-compare-fig", state="attached", timeout=60_000)
    time.sleep(1.5)
    assert page.evaluate(STATE, "weights-compare-fig")["pending"]
    page.emulate_media(media="print")
    page.wait_for_function(f"() => ({UNDRAWN})().length === 0", timeout=30_000)
    printed = page.evaluate(STATE, "weights-compare-fig")
    assert printed["drawn"] and printed["visible"], printed
    assert page.evaluate("window.scrollY") == 0
    page.emulate_media(media="screen")
    assert page.errors == [], page.errors


def test_beforeprint_and_the_print_button_draw_every_chart(page, server_url: str) -> None:
    _open_overview(page, server_url + "/")
    assert page.evaluate(STATE, BELOW)["pending"]
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_function(f"() => ({UNDRAWN})().length === 0", timeout=30_000)
    page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    # the print button: every chart drawn, then the browser's print (stubbed here: headless has no dialog)
    _open_overview(page, server_url + "/")
    page.evaluate("() => { window.__printed = null; window.print = () => { window.__printed = "
                  f"({UNDRAWN})().length; }}; }}")
    page.get_by_role("button", name="打印一页摘要").click()
    page.wait_for_function("() => window.__printed !== null", timeout=30_000)
    assert page.evaluate("window.__printed") == 0  # nothing left undrawn when the print began
    assert page.errors == [], page.errors
