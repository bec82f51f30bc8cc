"""Every page's first visit in a real browser: the page comes with the first layout response, so no callback asks
Dash's router for it, and no callback is sent twice (issue 14: first paint; issue 16 goal 4).

Measured on main before the change (54c38df), in the browser: every page's first load sent the router callback
(`_pages_content.children`) one round trip after the layout, and then the page's own callbacks — the shell's
header callback went twice (at load, and again when the shell's Location reported the address on mount), and the
methodology, district and compare bodies waited for the profile picker's URL callback to answer first. Now the
page's callbacks go in the first batch."""

from __future__ import annotations

import json
import re

import pytest

from tests.app.pages.browser_steps import settle

pytestmark = pytest.mark.browser

#: every page the app has (dash.page_registry), and the not-found page
PATHS = ["/", "/district/310115", "/district/all", "/compare", "/weights", "/weights/history", "/sensitivity",
         "/data-quality", "/methodology", "/editions", "/ledger", "/targets", "/alerts", "/no-such-page"]
#: most callback requests a first load may send: the weights page sent 10 (header, bell, its controls, ranking,
#: comparisons and the charts they feed; 13 before that), the most of any page, until its controls, ranking and AHP
#: box came with its first layout (issue 16 goal 4)
MAX_CALLBACKS = 10


def _asked_for(page, output: str):
    """Wait for a callback request whose outputs name `output`, around the action that should send it. Reading the
    list a `page.on("request")` listener fills is not enough: in playwright's sync API the listener may run after
    the call that saw the page change has returned (the weights test once saw its ranking redrawn and no request
    in the list)."""
    return page.expect_request(lambda r: output in (_outputs(r) or ""), timeout=30_000)


def _outputs(request) -> str | None:
    if "_dash-update-component" not in request.url:
        return None
    try:
        return str(json.loads(request.post_data or "{}").get("output"))
    except ValueError:
        return "?"


@pytest.mark.parametrize("path", PATHS)
def test_a_first_visit_asks_no_router_and_sends_each_callback_once(page, server_url: str, path: str) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(o) if (o := _outputs(r)) is not None else None)
    page.goto(server_url + path + "?lang=en")
    settle(page, pause=0.8)
    assert not [o for o in sent if "_pages_content" in o], f"{path}: the router sent for the page: {sent}"
    twice = sorted({o for o in sent if sent.count(o) > 1})
    assert not twice, f"{path}: sent more than once: {twice}"
    assert len(sent) <= MAX_CALLBACKS, f"{path}: {len(sent)} callbacks: {sent}"
    assert page.errors == [], page.errors


def test_a_shared_links_profile_draws_the_page_on_that_profile(page, server_url: str) -> None:
    """The picker is no longer set by a callback at load: the first layout draws it, and the page, on the link's
    profile (the default here is user-centred)."""
    page.goto(server_url + "/methodology")
    settle(page)
    default_title = page.locator("#method-profile-title").inner_text()
    page.goto(server_url + "/methodology?profile=supply-led")
    settle(page)
    assert page.locator("#method-profile-title").inner_text() not in ("", default_title)
    assert "profile=supply-led" in page.url


def test_the_methodology_page_paints_without_the_full_plotly_bundle(page, server_url: str) -> None:
    """Its framework tree was a sunburst, which only the full plotly.js (4.8 MB) draws: the page named that bundle and
    loaded it on every first visit, most of the slowest first visit of the app (issue 16 goal 4). The tree is HTML
    now: no plotly.js at all, and the tree still gives each side, dimension and indicator its effective weight."""
    bundles: list[str] = []
    page.on("request", lambda r: bundles.append(r.url) if re.search(r"plotly[^/]*\.js", r.url) else None)
    page.goto(server_url + "/methodology?lang=en")
    page.wait_for_selector("#method-profile-title", timeout=60_000)  # the page's body has come
    settle(page)
    assert not [u for u in bundles if re.search(r"/plotly\.min\.js($|\?)", u)], bundles
    assert page.locator("#method-body .dash-graph").count() == 0
    for code in ("supply", "demand", "supply_value", "demand_environment", "unprompted_satisfaction"):
        row = page.locator(f"#method-node-{code} > .fw-row")
        assert row.is_visible(), code
        assert re.fullmatch(r"\d+\.\d%", row.locator(".fw-weight").inner_text()), code
    assert page.errors == [], page.errors


def test_the_overview_paints_from_its_first_layout_and_redraws_for_its_pickers(page, server_url: str) -> None:
    """Issue 14 (the overview's cold first paint): its body came from a callback sent once every script had run;
    now it is in the first layout, and no callback asks for it on a first visit. A profile chosen in the picker
    still redraws it, and coming back in-app shows the chosen profile (the links carry it; where the address and
    the drawn page disagree, the browser-side check asks for the body again)."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(o) if (o := _outputs(r)) is not None else None)
    page.goto(server_url + "/?lang=en")
    page.wait_for_selector("#overview-ranking-list li", timeout=60_000)
    settle(page)
    assert not [o for o in sent if "overview-body" in o], sent
    kpis = page.locator("#overview-body .kpis")
    assert "User-centred" in kpis.inner_text()
    page.click("#profile-select")
    with _asked_for(page, "overview-body"):
        page.get_by_text("Equal weights", exact=False).first.click()
    page.wait_for_function("() => document.querySelector('#overview-body .kpis').innerText.includes('Equal')",
                           timeout=30_000)
    settle(page)
    page.locator("#overview-ranking-list a.rank-name").first.click()  # drawn naming the language only
    page.wait_for_selector("#district-summary", timeout=60_000)
    settle(page)
    assert "profile=equal" in page.url  # followed carrying the address's view (app/assets/url-state.js)
    page.locator(".nav a").first.click()  # back to the overview
    page.wait_for_function("() => (document.querySelector('#overview-body .kpis') || {}).innerText?.includes('Equal')",
                           timeout=30_000)
    assert page.errors == [], page.errors


def test_the_district_page_paints_from_its_first_layout_and_redraws_for_its_pickers(page, server_url: str) -> None:
    """Issue 16 goal 4: the district page's body (and the district index's cards) came from a callback sent once every
    script had run, one more round trip before the first paint; now they are in the first layout and no callback asks
    for them on a first visit. Another period or profile in the pickers still redraws the body."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(o) if (o := _outputs(r)) is not None else None)
    page.goto(server_url + "/district/310115?lang=en")
    page.wait_for_selector("#district-summary", timeout=60_000)
    settle(page)
    assert not [o for o in sent if "district-body" in o], sent
    kpis = page.locator("#district-body .kpis")
    before = kpis.inner_text()
    page.click("#district-period")
    with _asked_for(page, "district-body"):
        page.locator(".dash-dropdown-content [role=option][aria-selected=false]").last.click()  # another period
    page.wait_for_function("(b) => document.querySelector('#district-body .kpis').innerText !== b", arg=before,
                           timeout=30_000)
    settle(page)
    sent.clear()
    page.goto(server_url + "/district/all?lang=en")
    page.wait_for_selector("#district-body .district-card", timeout=60_000)
    settle(page)
    assert not [o for o in sent if "district-body" in o], sent
    assert page.locator("#district-body .district-card").count() == 16
    assert page.errors == [], page.errors


def test_the_weights_page_paints_from_its_first_layout_and_redraws_for_its_controls(page, server_url: str) -> None:
    """Issue 16 goal 4: the weights page's sliders, its ranking and the comparison's invitation came from three
    callbacks in a row after the scripts (the controls, the ranking they fed, then the comparison); now they are in
    the first layout, as is the AHP box (with its consistency ratio and the budget's total), and none of them is
    asked for on a first visit. An AHP judgement, a slider and the profile picker still redraw,
    and the picker's remembered profile (browser storage) redraws the controls drawn for the default one."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(o) if (o := _outputs(r)) is not None else None)
    page.goto(server_url + "/weights?lang=en")
    page.wait_for_selector("#weights-ranking-list li", timeout=60_000)
    settle(page)
    own = ("weights-controls", "weights-ranking-list", "weights-compare-fig", "weights-compare.options",
           "weights-ahp", "weights-budget-total")
    assert not [o for o in sent if any(k in o for k in own)], sent
    cr = page.locator("#weights-cr-value").inner_text()  # the AHP box came drawn with its first result
    assert cr and page.locator("#weights-budget-total").inner_text()
    page.locator('[id=\'{"i":0,"j":1,"type":"ahp"}\']').click()  # a judgement: the consistency is recomputed
    page.locator(".dash-dropdown-content [role=option]").last.click()
    page.wait_for_function("(b) => document.querySelector('#weights-cr-value').innerText !== b", arg=cr,
                           timeout=30_000)
    blend = page.locator("#weights-blend [role=slider]")
    assert blend.get_attribute("aria-valuenow") == "0.6"  # the default profile's (user-centred) blend
    shares = page.eval_on_selector_all(".weight-row .wshare", "els => els.map(e => e.innerText)")
    assert shares and all(shares), shares  # the dimension sliders' shares came drawn too
    before = _weights_ranking(page)
    blend.focus()
    with _asked_for(page, "weights-ranking-list"):
        for _ in range(12):  # 0.60 → 0.00: supply-only evaluation ranks the demo's districts differently
            page.keyboard.press("ArrowLeft")
    page.wait_for_function("(b) => JSON.stringify([...document.querySelectorAll('#weights-ranking-list li')]"
                           ".map(e => e.dataset.unit)) !== b", arg=json.dumps(before), timeout=30_000)
    settle(page)
    page.click("#profile-select")
    with _asked_for(page, "weights-controls"):
        page.get_by_text("Equal weights", exact=False).first.click()
    page.wait_for_function("() => document.querySelector('#weights-blend [role=slider]')"
                           ".getAttribute('aria-valuenow') === '0.5'", timeout=30_000)
    settle(page)
    equal = _weights_ranking(page)
    with _asked_for(page, "weights-controls"):
        page.goto(server_url + "/weights?lang=en")  # no profile named: the picker opens on the one it remembers
    page.wait_for_function("() => (document.querySelector('#weights-blend [role=slider]') || {})"
                           ".getAttribute?.('aria-valuenow') === '0.5'", timeout=60_000)
    settle(page)
    assert _weights_ranking(page) == equal
    assert page.errors == [], page.errors


def _weights_ranking(page) -> list[str]:
    return page.eval_on_selector_all("#weights-ranking-list li", "els => els.map(e => e.dataset.unit)")
