"""Issue 14, finding 10 in a real browser: every in-app link carries the address's view (language, weight profile,
period) at the moment it is followed, whatever changed the address and however slowly the server redraws the links
(app/assets/url-state.js).

The navigation's links are redrawn by a server callback from the address, a round trip after it changes; these tests
hold that round trip (the shell's callback request is kept back until the test lets it go), so a click made "at once"
is one made before the redraw, on any machine."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from app.ui import ids
from tests.app.pages.browser_steps import click_point
from tests.app.pages.browser_steps import settle as _settle

pytestmark = pytest.mark.browser


def _wait_url(page, pattern: str, timeout: int = 15_000) -> None:
    page.wait_for_function("(p) => new RegExp(p).test(location.href)", arg=pattern, timeout=timeout)


UPDATE = re.compile(r"/_dash-update-component(\?|$)")  # Dash's callback requests (with their ?endId=...)


def _hold_shell_redraw(page) -> Callable[[], None]:
    """Keep back the shell callback's requests (the one that redraws the navigation from the address) until the
    returned function lets them go: a slow server round trip, made certain."""
    held: list = []
    holding = [True]

    def handle(route) -> None:
        if holding[0] and f"..{ids.NAV}.children.." in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route(UPDATE, handle)

    def release() -> None:
        holding[0] = False
        for route in held:
            route.continue_()

    return release


def _query(page) -> dict[str, str]:
    return dict(re.findall(r"[?&]([^=&]+)=([^&#]*)", page.url))


def _other_period(page) -> str:
    page.click("#overview-period")
    page.locator("[role=option][aria-selected=false]").first.click()  # another period than the one shown
    _wait_url(page, r"period=")
    return _query(page)["period"]


def _equal_profile(page) -> str:
    page.click(f"#{ids.PROFILE_SELECT}")
    page.locator("[role=option]", has_text=re.compile("等权重|Equal weights")).first.click()
    _wait_url(page, r"profile=equal")
    return "equal"


@pytest.mark.parametrize("change", ["profile", "period", "lang"])
def test_a_nav_link_followed_at_once_carries_the_new_state(page, server_url: str, change: str) -> None:
    page.goto(server_url + "/")
    _settle(page)
    release = _hold_shell_redraw(page)
    try:
        if change == "profile":
            want = {"profile": _equal_profile(page)}
        elif change == "period":
            want = {"period": _other_period(page)}
        else:
            page.click(f"#{ids.LANG_LINK}")
            _wait_url(page, r"lang=en")
            want = {"lang": "en"}
        # at once: the navigation has not been redrawn (its request is held), its hrefs still name the old view
        page.click(".nav >> text=权重")
        _wait_url(page, r"/weights(\?|$)")
        got = _query(page)
    finally:
        release()
    assert {k: got.get(k) for k in want} == want, page.url
    _settle(page)
    assert page.errors == [], page.errors


def _lands_with(page, pattern: str, view: dict[str, str | None]) -> None:
    """After a click: the address reaches `pattern` with the shared keys of `view` (None: absent), then settles."""
    _wait_url(page, pattern)
    assert {k: _query(page).get(k) for k in view} == view, page.url
    _settle(page)


def test_links_in_pages_carry_the_view(page, server_url: str) -> None:
    """District links in the ranking, the quadrant chart's points, the comparison's headers, the language switch and
    the not-found page's way back: all keep the profile, period and language of the address."""
    page.goto(server_url + "/?lang=en")
    _settle(page)
    profile, period = _equal_profile(page), _other_period(page)
    view: dict[str, str | None] = {"lang": "en", "profile": profile, "period": period}
    shared = f"lang=en&profile={profile}&period={period}"
    _settle(page)
    # a district's name in the ranking (drawn with the language only)
    page.locator("#overview-ranking-list a").first.click()
    _lands_with(page, r"/district/\d+", view)
    # the way back by the browser, then a point of the quadrant chart (the address set by a server callback)
    page.go_back()
    _lands_with(page, r"/\?", view)
    click_point(page, "overview-quadrant", "310115")
    _lands_with(page, r"/district/310115", view)
    # the comparison's column headers link to each district
    page.goto(server_url + f"/compare?units=310101,310115&{shared}")
    _settle(page)
    page.locator("th a[href*='/district/310101']").first.click()
    _lands_with(page, r"/district/310101", view)
    # the language switch keeps the profile and period, and the page it names
    page.click(f"#{ids.LANG_LINK}")
    _lands_with(page, r"/district/310101(?!.*lang=en)", {**view, "lang": None})
    # the not-found page's buttons
    page.goto(server_url + f"/no-such-page?{shared}")
    _settle(page)
    page.locator("#not-found a.button").first.click()
    _lands_with(page, r"/\?", view)
    assert page.errors == [], page.errors


def test_a_link_opened_elsewhere_names_the_view(page, server_url: str) -> None:
    """What a person copies or opens in a new tab (the link's href, read when pointed at) names the view too."""
    page.goto(server_url + "/")
    _settle(page)
    release = _hold_shell_redraw(page)
    try:
        profile = _equal_profile(page)
        link = page.locator(".nav a", has_text="权重").first
        link.hover()
        href = link.get_attribute("href")
    finally:
        release()
    assert f"profile={profile}" in href, href
