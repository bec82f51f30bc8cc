"""Every message exists in both languages with the same placeholders; formats follow the language."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from app.ui import i18n
from app.ui.i18n import MESSAGES, fmt_num, fmt_pct, fmt_period, norm_lang, t

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
    assert fmt_period("2026Q3", "zh") == "2026年第3季度" and fmt_period("2026Q3", "en") == "2026 Q3"
    assert fmt_period("2026-05", "zh") == "2026年5月" and fmt_period("2026-05", "en") == "May 2026"
    assert i18n.pick("区", "", "en") == "区"  # falls back to the language that exists
