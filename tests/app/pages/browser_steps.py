"""Steps the browser tests share: wait until a Dash page has settled, and switch role as a person does."""

from __future__ import annotations

import time

DEMO_DISTRICT = "310115"  # 浦东新区: the district a demo district official is given in the tests


def settle(page, pause: float = 0.4) -> None:
    """Wait for the network to go quiet and Dash's loading marker to go, then a short pause for the last draw."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('._dash-loading')", timeout=30_000)
    time.sleep(pause)


def switch_role(page, url: str, role: str, district: str = DEMO_DISTRICT) -> None:
    """Pick the role (and a district official's district) in the demo banner and press 切换 Switch."""
    page.goto(url + "/")
    page.wait_for_selector(".auth-bar.demo #demo-role")
    page.select_option("#demo-role", role)
    if role == "district_official":
        page.select_option("#demo-district", district)
    page.click(".auth-bar.demo button[type=submit]")
    page.wait_for_selector(f'.auth-bar .auth-who[data-role="{role}"]', timeout=15_000)
