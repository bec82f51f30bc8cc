"""Every message exists in both languages with the same placeholders; formats follow the language."""

from __future__ import annotations

import ast
import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from app.ui import i18n
from app.ui.figures import district_trend_figure
from app.ui.i18n import MESSAGES, fmt_num, fmt_pct, fmt_period, norm_lang, t
from etl.contract.catalog import load_catalog
from indicators.aggregate import AGGREGATORS
from indicators.alerts import period_words
from indicators.impute import IMPUTERS
from indicators.normalise import NORMALISERS
from indicators.treat import TREATMENTS

APP = Path(__file__).resolve().parents[3] / "app"


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_key_has_both_languages(key: str) -> None:
    zh, en = MESSAGES[key]
    assert zh.strip() and en.strip(), f"{key} lacks a language"
    assert _fields(zh) == _fields(en), f"{key}: placeholders differ between zh and en"
    if key not in ("na", "lang.switch"):
        assert re.search(r"[\u4e00-\u9fff]", zh) or not re.search(r"[A-Za-z]{4,}", zh), f"{key}: zh text is not Chinese"


def test_every_key_used_in_the_app_exists() -> None:
    """Literal t('...') calls in app/ all name a known key (a typo would raise at render time)."""
    missing = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value not in MESSAGES:
                    missing.append(f"{path.name}: {arg.value}")
    assert not missing, missing


def test_language_default_and_switch() -> None:
    assert norm_lang(None) == "zh" and norm_lang("EN") == "en" and norm_lang("fr") == "zh"
    assert t("nav.overview") == "总览" and t("nav.overview", "en") == "Overview"
    assert t("district.summary", "en", score="1", rank=2, n=16, srank=3, drank=4).startswith("Composite 1")


def test_number_and_period_formats() -> None:
    assert fmt_num(1234.567, "en") == "1,234.6"
    assert fmt_num(1_234_567, "zh", 1) == "123.5 万"
    assert fmt_num(None, "en") == "—" and fmt_num(float("nan"), "zh") == "—"
    assert fmt_pct(0.256, "en") == "25.6%"
    assert fmt_period("2026Q3", "zh") == "2026年第三季度" and fmt_period("2026Q3", "en") == "2026 Q3"
    assert fmt_period("2026-05", "zh") == "2026年5月" and fmt_period("2026-05", "en") == "May 2026"
    assert i18n.pick("区", "", "en") == "区"  # falls back to the language that exists


# -- issue 14: periods read as 2026年第三季度 (Chinese numerals), whatever form the label comes in ------------------
@pytest.mark.parametrize("label", ["2026Q3", "2026-Q3", "2026q3", "2026-q3"])
def test_every_period_formatter_writes_chinese_quarter_numerals(label: str) -> None:
    assert fmt_period(label, "zh") == "2026年第三季度" and fmt_period(label, "en") == "2026 Q3"
    assert i18n.fmt_period_marked(label, "zh", {}) == "2026年第三季度"
    assert i18n.fmt_period_marked(label, "zh", {label: ("2026-07",)}).startswith("2026年第三季度 · ")
    fig = district_trend_figure(pl.DataFrame({"period": [label], "score": [50.0], "rank": [3]}), "zh", 16)
    assert fig["data"][0]["x"] == ["2026年第三季度"]
    assert period_words("2026Q3")[0] == "2026年第三季度"
    assert [fmt_period(f"2026Q{q}", "zh")[5:] for q in range(1, 5)] == ["第一季度", "第二季度", "第三季度", "第四季度"]
    assert fmt_period("2026Q5", "zh") == "2026Q5"  # not a quarter: shown as given, never 第五季度


# -- issue 14 finding 3: one time format, Beijing time, labelled --------------------------------------------------
def test_times_are_shown_in_beijing_time_with_the_zone_named() -> None:
    utc = datetime(2026, 12, 2, 1, 21, tzinfo=UTC)  # the run history keeps UTC
    assert i18n.fmt_datetime(utc, "zh") == "2026年12月02日 09:21（北京时间）"
    assert i18n.fmt_datetime(utc, "en") == "02 Dec 2026 09:21 (Beijing time)"
    assert i18n.fmt_datetime("2026-12-02T01:21:00+00:00", "zh").endswith("09:21（北京时间）")
    # the warehouse's naive timestamps are Beijing wall time already: not shifted again
    assert i18n.fmt_datetime(datetime(2026, 12, 2, 9, 20), "zh") == "2026年12月02日 09:20（北京时间）"
    assert i18n.fmt_datetime(utc, "zh", zone=False) == "2026年12月02日 09:21"
    assert i18n.fmt_datetime(date(2026, 12, 2), "zh") == "2026年12月02日"
    assert i18n.fmt_datetime("2026-12-02", "en") == "02 Dec 2026"  # a date stays a date


def test_pages_format_times_only_through_i18n() -> None:
    """One formatting function: no page, view or web module formats a time itself for people to read."""
    offenders = []
    machine_facing = {"health.py"}  # JSON for probes and monitoring: ISO 8601 with its offset, read by programs
    for folder in ("pages", "ui", "web", "views"):
        for path in (APP / folder).glob("*.py"):
            if path.name == "i18n.py" or path.name in machine_facing:
                continue
            text = path.read_text(encoding="utf-8")
            if folder != "views":  # view models may carry a date as ISO data; the page formats it
                offenders += [f"{path.name}: {m}" for m in re.findall(r"\.(strftime|isoformat)\(", text)]
            # an f-string or format() time pattern ({when:%Y-%m-%d %H:%M}) formats a time just the same
            offenders += [f"{path.name}: {m}" for m in re.findall(r":%[YmdHM][^}\"']*\}", text)]
    assert offenders == []


# -- issue 14 finding 2: raw ids and English words on Chinese screens become words -----------------------------------
@pytest.mark.parametrize(("fn", "value", "zh", "en"), [
    (i18n.trigger_label, "cli", "命令行", "command line"),
    (i18n.trigger_label, "manual", "手动", "manual"),
    (i18n.status_label, "partial", "部分成功", "partly loaded"),
    (i18n.status_label, "succeeded", "成功", "succeeded"),
    (i18n.status_label, "interrupted", "已中断", "interrupted"),
    (i18n.check_label, "allowed", "不在允许值内", "not an allowed value"),
    (i18n.check_label, "dtype", "格式无法识别", "unreadable value"),
    (i18n.check_label, "not_nullable", "必填项为空", "required value empty"),
    (i18n.unit_label, "pp", "个百分点", "pp"),
    (i18n.unit_label, "ratio", "比值", "ratio"),
    (i18n.unit_label, "FTE per 1k visitors", "人（全职当量）/千名访客", "FTE per 1k visitors"),
    (i18n.unit_label, "per 10k cases", "件/万件", "per 10k cases"),
    (i18n.table_label, "case", "办件（case）", "case"),
])
def test_codes_are_shown_in_words(fn, value: str, zh: str, en: str) -> None:
    assert fn(value, "zh") == zh
    assert fn(value, "en") == en


def test_every_unit_of_the_catalogue_has_chinese_words() -> None:
    cat = load_catalog()
    units = {cat.indicator(code).unit for code in cat.ids}
    missing = [u for u in units if re.search(r"[A-Za-z]{2,}", i18n.unit_label(u, "zh"))]
    assert missing == []


def test_every_registered_method_has_chinese_words() -> None:
    names = {n for reg in (AGGREGATORS, IMPUTERS, NORMALISERS, TREATMENTS) for n in reg.names}
    assert sorted(n for n in names if n not in i18n.METHODS) == []


def test_method_choices_read_as_words() -> None:
    assert i18n.method_label("minmax", {"l": 0.0, "u": 100.0}, "zh") == "最小-最大归一化（0–100）"
    assert i18n.method_label("minmax", {"l": 0.0, "u": 100.0}, "en") == "min–max (0–100)"
    assert i18n.method_label("amean", {}, "zh") == "算术平均"
    assert i18n.method_label("none", {}, "zh") == "不处理"
    assert i18n.method_label("gmean", {"shift": 1.0}, "zh") == "几何平均（shift = 1）"


def test_bilingual_part_splits_the_ingest_messages() -> None:
    text = "文件 a.csv 第 3 行：值“-5”低于下限 0。请核对并更正该数值。 / a.csv row 3: value '-5' is below the minimum 0"
    assert i18n.bilingual_part(text, "zh").startswith("文件 a.csv")
    assert i18n.bilingual_part(text, "en").startswith("a.csv row 3")
    assert i18n.bilingual_part("km / h", "zh") == "km / h"  # not a pair: left alone


def test_counts_read_in_wan_and_yi_in_chinese() -> None:
    from app.ui.i18n import fmt_count

    assert fmt_count(33_811_200, "zh") == "3,381.1 万" and fmt_count(33_811_200, "en") == "33,811,200"
    assert fmt_count(125_000_000, "zh") == "1.25 亿" and fmt_count(9_999, "zh") == "9,999"
    assert fmt_count(None, "zh") == "—"
