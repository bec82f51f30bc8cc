"""Each role in a real browser, in both languages: switch role in the demo banner, walk every page, check what it shows.

Each test runs in its own browser context (the `page` fixture), so the demo session and its role belong to that
context alone: the session server's other tests keep the demo's default role.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from etl.warehouse import snapshot as queries
from app.web.security import refusal_note
from etl.warehouse import connection as warehouse
from etl.demo.units import DISTRICTS

pytestmark = pytest.mark.browser

DISTRICT = "310115"  # 浦东新区: the district official's own district (not the demo's default, so the choice counts)
NAMES = {code: (zh, en) for code, zh, en in DISTRICTS}
ROLE_LABEL = {"leader": ("领导", "leader"), "assessor": ("评估人员", "assessor"),
              "district_official": ("区级人员", "district official")}
NAV = {"zh": "总览", "en": "Overview"}
PAGE_TEXT = {  # a piece of real content each page must show, per language
    "/": ("综合排名", "Composite ranking"),
    f"/district/{DISTRICT}": ("浦东新区", "Pudong"),
    "/weights": ("浦东新区", "Pudong"),
    "/sensitivity": ("敏感性分析", "Sensitivity analysis"),
    "/data-quality": ("浦东新区", "Pudong"),
    "/methodology": ("非引导好评率", "Unprompted"),
    "/weights/history": ("权重历史与发布", "Weight history and publication"),
}

from tests.app.pages.browser_steps import settle as _settle, switch_role



def _switch_role(page, server_url: str, role: str) -> None:
    """As a person does it: pick the role (and district) in the demo banner and press 切换 Switch."""
    switch_role(page, server_url, role, DISTRICT)
    who = page.inner_text(".auth-bar .auth-who")
    assert all(label in who for label in ROLE_LABEL[role]), who
    if role == "district_official":
        assert NAMES[DISTRICT][0] in who, who


def _outlined(page) -> list[str]:
    """Units drawn with the own-district highlight (the role's stylesheet outlines them)."""
    return page.eval_on_selector_all(
        "li.rank-item[data-unit]", "els => els.filter(e => getComputedStyle(e).outlineStyle === 'solid')"
        ".map(e => e.dataset.unit)")


def _check_highlight(page, role: str) -> None:
    page.wait_for_selector("li.rank-item[data-unit]", timeout=20_000)
    if role == "district_official":
        page.wait_for_function(
            "(c) => { const e = document.querySelector(`li.rank-item[data-unit='${c}']`);"
            " return e && getComputedStyle(e).outlineStyle === 'solid'; }", arg=DISTRICT, timeout=10_000)
        assert _outlined(page) == [DISTRICT]
    else:
        assert _outlined(page) == []


def _count_total(page) -> int:
    page.wait_for_function("() => /\\d/.test(document.querySelector('#dq-quarantine-count').innerText)",
                           timeout=20_000)
    numbers = re.findall(r"\d[\d,]*", page.inner_text("#dq-quarantine-count"))
    return int(numbers[-1].replace(",", ""))


def _check_quarantine(page, role: str, lang: str, demo_env) -> None:
    all_rows = int(warehouse.query(demo_env["db"], "SELECT count(*) AS n FROM quarantine")["n"][0])
    assert all_rows > 0, "the demo data should quarantine some rows"
    total = _count_total(page)
    page.wait_for_selector("#dq-quarantine-grid td", timeout=20_000)  # a static table: the demo has few rows
    cells = page.eval_on_selector("#dq-quarantine-grid table", "t => { const i = [...t.tHead.rows[0].cells]"
                                  ".findIndex(c => c.dataset.field === 'district');"
                                  " return [...t.tBodies[0].rows].map(r => r.cells[i].innerText.trim()); }")
    if role != "district_official":
        assert total == all_rows
        return
    # the official's rows: those the warehouse traces to their district (directly, or rating → case)
    snap = queries.load_snapshot(demo_env["db"])
    own = snap.quarantine.filter(pl.col("district_code") == DISTRICT).height
    direct = int(warehouse.query(
        demo_env["db"], "SELECT count(*) AS n FROM quarantine WHERE json_valid(original_row) AND "
        "json_extract_string(original_row, '$.district_code') = ?", [DISTRICT])["n"][0])
    assert 0 < direct <= own < all_rows
    assert total == own
    name = NAMES[DISTRICT][1 if lang == "en" else 0]
    assert cells and set(cells) == {name}, cells


def _check_controls(page, path: str, role: str, lang: str) -> None:
    editor = role == "assessor"
    if path == "/weights":
        assert page.is_disabled("#weights-save") is not editor
        msg = page.inner_text("#weights-save-msg")
        assert (msg == "") if editor else (msg == refusal_note("edit_weights", lang)), msg
    elif path == "/sensitivity":
        assert page.is_disabled("#sens-run") is not editor
        status = page.inner_text("#sens-status")
        # a stored result may be shown to every role; only a role that may not run one reads the refusal
        assert (refusal_note("run_sensitivity", lang) not in status) if editor else \
            status.endswith(refusal_note("run_sensitivity", lang)), status
    elif path == "/data-quality":
        assert page.is_disabled("#dq-refresh") is not editor
        title = page.get_attribute("#dq-refresh", "title")
        assert title is None if editor else title == refusal_note("refresh", lang)
    elif path == "/weights/history":
        page.wait_for_selector("#hist-versions .ag-row", timeout=20_000)
        assert page.is_disabled("#hist-publish") is not editor
        assert page.is_disabled("#hist-pub-rationale") is not editor
        msg = page.inner_text("#hist-pub-msg")
        assert (msg == "") if editor else (msg == refusal_note("publish_weights", lang)), msg


def _assessor_saves(page, lang: str, demo_env) -> None:
    """The assessor can do what the others cannot: save a profile through the form, as a new version on disk."""
    name = f"role-assessor-{lang}"
    page.fill("#weights-title", f"角色测试（{lang}）")
    page.fill("#weights-name", name)
    page.fill("#weights-author", "第三方评估机构")
    page.fill("#weights-rationale", "角色测试：评估人员可保存")
    page.click("#weights-save")
    page.wait_for_selector("#weights-save-msg .status-ok", timeout=15_000)
    assert (demo_env["weights"] / f"{name}.toml").is_file()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", list(ROLE_LABEL))
def test_each_role_walks_every_page_in_both_languages(page, server_url: str, demo_env, role: str,
                                                      lang: str) -> None:
    _switch_role(page, server_url, role)
    query = "?lang=en" if lang == "en" else ""
    for path, texts in PAGE_TEXT.items():
        page.goto(server_url + path + query)
        _settle(page)
        assert page.inner_text(".nav").startswith(NAV[lang]), path
        text = page.inner_text("body")
        assert texts[1 if lang == "en" else 0] in text, f"{path}: real content missing"
        if path in ("/", f"/district/{DISTRICT}", "/weights", "/data-quality"):
            assert re.search(r"\d+\.\d", text), f"{path}: no numbers on the page"
        if path in ("/", "/weights"):
            _check_highlight(page, role)
        if path == "/data-quality":
            _check_quarantine(page, role, lang, demo_env)
        _check_controls(page, path, role, lang)
        assert page.errors == [], f"{role} {lang} {path}: {page.errors}"
        # the role survives navigation: the banner still names it on every page
        assert page.get_attribute(".auth-bar .auth-who", "data-role") == role
    if role == "assessor":
        page.goto(server_url + "/weights" + query)
        _settle(page)
        _assessor_saves(page, lang, demo_env)
        assert page.errors == [], page.errors
