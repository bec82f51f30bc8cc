"""The app in a real browser (Debian's chromium via playwright) over a demo warehouse built with the CLI."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl.warehouse import connection as warehouse
from etl.contract.catalog import load_catalog
from etl.stores.profiles import load_profile
from indicators.model import score
from etl.warehouse.panel import covered_months
from indicators.periods import default_period
from tests.app.pages.browser_steps import settle as _settle
from tests.app.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PAGES = {
    "overview": ("/", ("浦东新区", "Pudong")),
    "district": ("/district/310115", ("浦东新区", "Pudong")),
    "weights": ("/weights", ("浦东新区", "Pudong")),
    "sensitivity": ("/sensitivity", ("敏感性分析", "Sensitivity analysis")),
    "data-quality": ("/data-quality", ("浦东新区", "Pudong")),
    "methodology": ("/methodology", ("非引导好评率", "Unprompted")),
    "editions": ("/editions", ("尚无评估版本", "No editions yet")),
}



def _screenshot(page, name: str) -> None:
    """Scroll through once (grids render rows when visible), then save a full-page screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, int(height), 700):
        page.evaluate(f"window.scrollTo(0, {y})")
        time.sleep(0.05)
    page.evaluate("window.scrollTo(0, 0)")
    time.sleep(0.3)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_without_console_errors_and_shows_real_data(page, server_url: str, name: str,
                                                                     lang: str) -> None:
    path, (zh_text, en_text) = PAGES[name]
    page.goto(server_url + path + ("?lang=en" if lang == "en" else ""))
    _settle(page)
    text = page.inner_text("body")
    assert (en_text if lang == "en" else zh_text) in text
    if name in ("overview", "district", "weights", "data-quality"):
        assert re.search(r"\d+\.\d", text), "no numbers on the page"
    assert page.errors == [], page.errors
    _screenshot(page, f"{name}-{lang}")


def _expected_order(demo_env, blend: float) -> list[str]:
    """The ranking straight from the engine (not the app): full pipeline, then the blend applied."""
    fw = load_catalog().framework()
    prof = load_profile("user-centred", demo_env["weights"])
    values = warehouse.query(demo_env["db"], "SELECT * FROM indicator_values WHERE grain = 'quarter'")
    res = score(fw, values, prof.methods)
    p = res.periods.index(default_period(res.periods, covered_months(demo_env["db"])))  # what the app ranks on
    w = dict(prof.resolved_weights(fw), supply=1 - blend, demand=blend)
    comp = res.cache.reaggregate(w)[p, :, res.order.index(fw.root)]
    return [res.units[i] for i in np.argsort(-comp, kind="stable")]


def _ranking(page) -> list[str]:
    return page.eval_on_selector_all("#weights-ranking-list li", "els => els.map(e => e.dataset.unit)")


def test_moving_the_blend_slider_reorders_the_ranking_as_the_model_says(page, server_url, demo_env) -> None:
    page.goto(server_url + "/weights")
    _settle(page)
    page.wait_for_selector("#weights-ranking-list li")
    before = _ranking(page)
    assert before == _expected_order(demo_env, 0.6)  # the profile's own blend
    target = _expected_order(demo_env, 0.0)
    assert target != before, "the demo data should rank differently under supply-only evaluation"
    slider = page.locator("#weights-blend [role=slider]")
    slider.focus()
    for _ in range(12):  # 0.60 → 0.00 in steps of 0.05: supply-only evaluation
        page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "(want) => JSON.stringify([...document.querySelectorAll('#weights-ranking-list li')].map(e => e.dataset.unit))"
        " === JSON.stringify(want)", arg=target, timeout=15_000)
    assert _ranking(page) == target
    assert page.errors == []


def test_saving_a_profile_makes_it_appear_in_the_switcher(page, server_url, demo_env) -> None:
    page.goto(server_url + "/weights")
    _settle(page)
    page.fill("#weights-title", "浏览器测试方案")
    page.fill("#weights-name", "browser-test")
    page.fill("#weights-author", "第三方评估机构")
    page.fill("#weights-rationale", "测试：需求侧权重提高")
    page.click("#weights-save")
    page.wait_for_selector("#weights-save-msg .status-ok", timeout=15_000)
    assert (demo_env["weights"] / "browser-test.toml").is_file()
    page.click("#profile-select")
    page.get_by_text("浏览器测试方案", exact=True).first.wait_for(timeout=10_000)  # its Chinese title, not the code
    assert page.errors == []


def test_language_switch_changes_labels(page, server_url) -> None:
    page.goto(server_url + "/")
    _settle(page)
    assert page.inner_text(".nav").startswith("总览")
    page.click("#lang-link")
    page.wait_for_function("() => document.querySelector('.nav').innerText.startsWith('Overview')")
    # the page comes drawn in the router's one answer (its body is in its layout), which may follow the nav's text
    page.wait_for_function("() => (document.querySelector('#overview-body') || {}).innerText?.includes('Composite')",
                           timeout=20_000)
    page.wait_for_selector("#overview-ranking-list li", timeout=20_000)
    assert "lang=en" in page.url
    assert "Composite ranking" in page.inner_text("body")
    assert page.errors == []


def test_district_export_downloads_a_valid_workbook(page, server_url, tmp_path: Path) -> None:
    page.goto(server_url + "/district/310115")
    _settle(page)
    with page.expect_download(timeout=30_000) as dl:
        page.click("#district-export")
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    sheets = pl.read_excel(path, sheet_id=0)
    indicators = sheets["指标明细"]
    assert indicators.height == len(load_catalog().ids)
    assert "310115" in str(sheets["评分卡"].to_dicts())


def test_quarantine_csv_download(page, server_url, tmp_path: Path) -> None:
    page.goto(server_url + "/data-quality")
    _settle(page)
    with page.expect_download(timeout=30_000) as dl:
        page.click("#dq-csv")
    path = tmp_path / "q.csv"
    dl.value.save_as(path)
    q = pl.read_csv(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    assert q.height > 0 and {"table_name", "row_number", "reason"} <= set(q.columns)


def test_sensitivity_runs_in_the_background(page, server_url) -> None:
    page.goto(server_url + "/sensitivity?lang=en")
    _settle(page)
    page.click("#sens-run")
    page.wait_for_function("() => /Done|From the cache/.test(document.querySelector('#sens-status').innerText)",
                           timeout=60_000)
    page.wait_for_selector("#sens-pairwise .main-svg", timeout=15_000)
    assert "Pudong" in page.inner_text("#sens-results")
    assert page.errors == []
    _screenshot(page, "sensitivity-results-en")
