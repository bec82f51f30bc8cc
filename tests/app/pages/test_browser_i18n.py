"""Issue 14 in a real browser: the district link and the app's own 404 page, Beijing times, "refresh now" that
finishes on screen, invalid weights shown as such, the view kept in the URL, and no Latin-only words on Chinese
screens (findings 1, 3, 4, 7, 10 and the i18n guard)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.contract.catalog import load_catalog
from tests.app.pages.browser_steps import settle as _settle
from tests.conftest import serving

pytestmark = pytest.mark.browser



def _wait_url(page, pattern: str, timeout: int = 15_000) -> None:
    """Wait until the address matches `pattern` (in-app links and replaceState change it without a page load)."""
    page.wait_for_function("(p) => new RegExp(p).test(location.href)", arg=pattern, timeout=timeout)


# -- finding 1: 区画像 goes to the district index; unknown paths get the app's own page -----------------------------
def test_the_district_link_opens_the_district_index(page, server_url: str) -> None:
    page.goto(server_url + "/")
    _settle(page)
    page.click(".nav >> text=区画像")
    _wait_url(page, r"/district/all(\?|$)", 15_000)
    _settle(page)
    body = page.inner_text("body")
    assert "404" not in body and "浦东新区" in body
    assert page.errors == [], page.errors


def test_old_district_address_redirects_and_keeps_the_language(page, server_url: str) -> None:
    page.goto(server_url + "/district?lang=en")
    _settle(page)
    assert "/district/all?lang=en" in page.url  # (the period the page shows follows in the URL)
    assert "Pudong" in page.inner_text("body")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_unknown_paths_get_the_apps_own_not_found_page(page, server_url: str, lang: str) -> None:
    page.goto(server_url + "/no-such-page" + ("?lang=en" if lang == "en" else ""))
    _settle(page)
    body = page.inner_text("body")
    assert "404 - Page not found" not in body
    assert page.is_visible("#not-found")
    assert ("页面不存在" if lang == "zh" else "Page not found") in page.inner_text("h1")
    assert "/no-such-page" in body  # says which address was not found
    assert "There is no page at" in body and "没有找到地址" in body  # the other language beside
    back = page.locator("#not-found a.button").first
    assert back.inner_text() == ("返回总览" if lang == "zh" else "Back to the overview")
    back.click()
    page.wait_for_selector("#overview-ranking-list li", timeout=30_000)
    assert page.errors == [], page.errors


# -- finding 3: every time is Beijing time, labelled ----------------------------------------------------------------
def test_times_on_screen_are_labelled_beijing_time(page, server_url: str) -> None:
    page.goto(server_url + "/data-quality")
    _settle(page)
    kpi = page.inner_text(".kpis")
    assert "（北京时间）" in kpi, kpi
    assert "（北京时间）" in page.inner_text("#footer-loaded")
    page.goto(server_url + "/data-quality?lang=en")
    _settle(page)
    assert "(Beijing time)" in page.inner_text("#footer-loaded")


# -- finding 7: all-zero weights clear the ranking and say so -------------------------------------------------------
def test_all_zero_weights_clear_the_ranking_and_say_why(page, server_url: str) -> None:
    page.goto(server_url + "/weights")
    _settle(page)
    page.wait_for_selector("#weights-ranking-list li")
    assert page.is_hidden("#weights-invalid")
    for code in load_catalog().framework().children("supply"):
        slider = page.locator(f"[id*='\"node\":\"{code}\"'] [role=slider]").first
        slider.focus()
        page.keyboard.press("Home")
    page.wait_for_selector("#weights-invalid:not([hidden])", timeout=15_000)
    msg = page.inner_text("#weights-invalid")
    assert "权重无效" in msg and "供给侧" in msg and "node" not in msg
    assert page.locator("#weights-ranking-list li").count() == 0  # nothing stale left on screen
    # one weight back above zero: the ranking returns and the warning goes
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#weights-ranking-list li", timeout=15_000)
    assert page.is_hidden("#weights-invalid")
    assert page.errors == [], page.errors


# -- finding 10: period, profile and language survive navigation and role switches ------------------------------------
def test_period_profile_and_language_stay_in_the_url(page, server_url: str) -> None:
    page.goto(server_url + "/?lang=en")
    _settle(page)
    page.click("#overview-period")
    page.locator("[role=option][aria-selected=false]").first.click()  # another period than the default
    _wait_url(page, r"period=", 10_000)
    period = re.search(r"period=([^&]+)", page.url).group(1)
    page.click("#profile-select")
    page.get_by_text("Equal weights", exact=False).first.click()
    _wait_url(page, r"profile=equal", 10_000)
    # followed at once: the links carry the address as it is now (app/assets/url-state.js), not as last drawn
    page.click(".nav >> text=Weights")
    _wait_url(page, r"/weights\?", 10_000)
    _settle(page)
    assert "lang=en" in page.url and f"period={period}" in page.url and "profile=equal" in page.url
    page.click(".nav >> text=Overview")
    _settle(page)
    assert f"period={period}" in page.url
    shared = page.url
    # a shared link opens the same view
    other = page.context.new_page()
    other.goto(shared)
    _settle(other)
    assert "Composite ranking" in other.inner_text("body")
    # the picker's label is drawn by the renderer after the network is quiet: wait for it rather than read it once
    other.wait_for_function("() => (document.querySelector('#profile-select') || {}).innerText?.includes('Equal')",
                            timeout=15_000)
    other.close()
    # switching role (demo mode) keeps the query
    page.select_option("#demo-role", "leader")
    page.click(".auth-bar button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "lang=en" in page.url and "profile=equal" in page.url and f"period={period}" in page.url, page.url
    assert page.errors == [], page.errors


# -- finding 4: "refresh now" reports progress and completion and refreshes the screen --------------------------------
@pytest.fixture()
def own_server(demo_env: dict[str, Path], tmp_path: Path) -> Iterator[str]:
    """`govindex serve` over a copy of the demo warehouse (a refresh swaps the snapshot: never the shared one)."""
    db = tmp_path / "wh" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy(demo_env["db"], db)
    weights = tmp_path / "weights"
    shutil.copytree(demo_env["weights"], weights)
    (tmp_path / "inbox").mkdir()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "GOVINDEX_INBOX": str(tmp_path / "inbox"),
           "GOVINDEX_ARCHIVE": str(tmp_path / "archive")}
    env = {k: v for k, v in env.items() if not k.startswith("GOVINDEX_CONFIG")}
    args = ["--db", str(db), "--weights-dir", str(weights), "--no-scheduler"]
    with serving(args, tmp_path / "serve.log", cwd=tmp_path, env=env) as url:
        yield url


def test_refresh_now_reports_completion_and_refreshes_the_screen(page, own_server: str) -> None:
    page.goto(own_server + "/data-quality")
    _settle(page)
    time.sleep(1.5)
    assert page.inner_text("#dq-refresh-msg") == ""  # opening the page starts no refresh
    snapshot_before = page.inner_text("#footer-snapshot")
    assert "手动" not in page.inner_text("#dq-runs")
    page.click("#dq-refresh")
    page.wait_for_function("() => /刷新/.test(document.querySelector('#dq-refresh-msg').innerText)", timeout=10_000)
    page.wait_for_function("() => /刷新完成|刷新失败/.test(document.querySelector('#dq-refresh-msg').innerText)",
                           timeout=120_000)
    msg = page.inner_text("#dq-refresh-msg")
    assert "刷新完成" in msg and "成功" in msg, msg
    # what is on screen was read again: the footer names the new snapshot, the history lists the new run
    page.wait_for_function("(before) => document.querySelector('#footer-snapshot').innerText !== before",
                           arg=snapshot_before, timeout=15_000)
    # the refresh history now lists this run, its trigger in words ('手动', not 'manual')
    page.wait_for_function("() => /手动/.test(document.querySelector('#dq-runs').innerText)", timeout=15_000)
    assert "manual" not in page.inner_text("#dq-runs")
    assert page.errors == [], page.errors


# -- the guard: no Latin-only words on the Chinese screens ------------------------------------------------------------
GUARD_PAGES = ("/", "/district/all", "/district/310115", "/compare?units=310101,310115", "/weights",
               "/weights/history", "/sensitivity", "/data-quality", "/methodology", "/no-such-page", "/ledger",
               "/targets", "/alerts")

# Words a Chinese reader meets as they are: names of methods and standards, file formats, the product, units.
ALLOWED_WORDS = {
    "English", "govindex", "AHP", "CR", "Sobol", "S1", "ST", "N", "CSV", "XLSX", "Excel", "SQL", "UTF", "UTC",
    "COINr", "GB18030", "A4", "Q1", "Q2", "Q3", "Q4", "ms", "pp", "FTE", "v",
}

# Text nodes: everything the person reads, minus what is marked as the English beside the Chinese (lang="en"), the
# switch to English, code (SQL formulas in <pre>), and the clerk's own raw data in the quarantine grids (the value,
# the original row and the column code as they were sent).
TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const el = n.parentElement;
    if (!el || el.closest('script,style,noscript,pre,code,[lang=en],#lang-link,.en,.modebar,' +
        '[col-id=value],[col-id=original_row],[col-id=column_name],.raw-data')) continue;
    if (el.closest('[hidden]') || el.offsetParent === null && !el.closest('svg')) continue;
    const s = n.textContent.trim();
    if (s) out.push(s);
  }
  for (const el of document.querySelectorAll('input[placeholder],textarea[placeholder]'))
    out.push(el.getAttribute('placeholder'));
  return out;
}"""

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def latin_only(texts: list[str]) -> list[str]:
    """Texts with no Chinese that hold a Latin word outside the allow-list. Codes (with digits, '_' or '.'), words in
    brackets after a Chinese name (handled: they are not Latin-only texts) and allowed words pass."""
    bad = []
    for s in texts:
        if CJK.search(s):
            continue
        words = re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", s)
        flagged = [w for w in words if w.strip(".-") not in ALLOWED_WORDS and not re.search(r"[0-9_.]", w)
                   and not re.fullmatch(r"[A-Z]", w)]
        if flagged:
            bad.append(s)
    return bad


def test_the_guard_flags_raw_ids_and_english_only_text() -> None:
    assert latin_only(["cli", "partial", "user-centred", "minmax {'l': 0.0}", "Refresh started"]) == [
        "cli", "partial", "user-centred", "minmax {'l': 0.0}", "Refresh started"]
    assert latin_only(["命令行", "最小-最大归一化（0–100）", "浦东新区（310115）", "CR = 0.05", "service_item",
                       "report.csv", "12.5%", "AHP 两两比较"]) == []


@pytest.mark.parametrize("path", GUARD_PAGES)
def test_chinese_screens_have_no_latin_only_words(page, server_url: str, path: str) -> None:
    page.goto(server_url + path)
    _settle(page)
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, int(height), 600):  # grids render their rows when visible
        page.evaluate(f"window.scrollTo(0, {y})")
        time.sleep(0.05)
    for summary in page.locator("details > summary").all()[:3]:  # the weight groups
        summary.click()
    time.sleep(0.3)
    bad = latin_only(page.evaluate(TEXTS_JS))
    assert bad == [], json.dumps(sorted(set(bad)), ensure_ascii=False)
