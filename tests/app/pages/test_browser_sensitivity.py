"""The sensitivity page in a real browser (issue 14 finding 9): a reading of the results, a disabled 取消 that looks
disabled, a running run that can be cancelled, and results that survive a reload."""

from __future__ import annotations

import time

import pytest

from tests.app.pages.browser_steps import settle as _settle
from tests.app.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

DISABLED_GREY = "rgb(149, 165, 166)"



def _done(page) -> None:
    page.wait_for_function("() => /完成|来自缓存/.test(document.querySelector('#sens-status').innerText)",
                           timeout=120_000)


def test_the_disabled_cancel_button_looks_disabled(page, server_url: str) -> None:
    page.goto(server_url + "/sensitivity")
    _settle(page)
    assert page.is_disabled("#sens-cancel")
    bg = page.eval_on_selector("#sens-cancel", "e => getComputedStyle(e).backgroundColor")
    assert bg == DISABLED_GREY, bg  # it was the danger red of an active button
    assert page.errors == []


def test_results_carry_a_reading_and_survive_a_reload(page, server_url: str) -> None:
    page.goto(server_url + "/sensitivity")
    _settle(page)
    page.click("#sens-run")
    _done(page)
    page.wait_for_selector("#sens-reading li", timeout=15_000)
    reading = page.inner_text("#sens-reading")
    assert "结论解读" in reading and "名次变动主要来自" in reading
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sensitivity-reading-zh.png"), full_page=True)
    page.reload()
    _settle(page)
    page.wait_for_selector("#sens-reading li", timeout=30_000)  # shown again without running again
    assert page.inner_text("#sens-reading") == reading
    assert page.errors == []


def test_a_running_run_can_be_cancelled(page, server_url: str) -> None:
    page.goto(server_url + "/sensitivity")
    _settle(page)
    for box in page.query_selector_all("#sens-factors input[type=checkbox]"):
        if not box.is_checked():
            box.check()  # every factor, the largest N: a run that takes long enough to cancel
    page.click("#sens-n label:last-child input")
    page.click("#sens-run")
    page.wait_for_function("() => !document.querySelector('#sens-cancel').disabled", timeout=30_000)
    page.click("#sens-cancel")
    page.wait_for_function("() => /已取消/.test(document.querySelector('#sens-status').innerText)", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#sens-cancel').disabled", timeout=60_000)
    time.sleep(1.5)  # the poll has stopped: the status stays cancelled and no result is drawn
    assert "已取消" in page.inner_text("#sens-status")
    assert "16,000" not in page.inner_text("#sens-results")  # the cancelled run's result is never drawn
    assert page.errors == []
