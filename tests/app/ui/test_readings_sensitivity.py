"""Readings of a sensitivity run: the verdict that keeps a failed run off the page, and the sentences of a good one."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from app.ui import readings_sensitivity as rs

LABELS = {"weights:dimensions": "维度权重", "blend": "供需混合比例", "aggregation": "聚合方法"}


def _sobol(rows: list[tuple[str, str, float, float, float, float, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["factor", "output", "S", "S_low", "S_high", "ST", "ST_low", "ST_high"],
                        orient="row")


GOOD = _sobol([("weights:dimensions", "shift", 0.1, 0.0, 0.2, 0.3, 0.25, 0.35),
               ("blend", "shift", 0.5, 0.4, 0.6, 0.65, 0.6, 0.7),
               ("aggregation", "shift", 0.0, -0.01, 0.01, 0.01, 0.0, 0.02)])


def test_a_mostly_failed_run_or_s1_above_st_is_not_a_result_and_says_why_in_chinese_and_english() -> None:
    """Issue 13.8: 500 of 1,000 samples failed and S1 0.33 > ST 0.08 beyond their intervals, yet it was drawn."""
    assert rs.verdict(((1000, 50), (4096, 0)), GOOD, LABELS, "zh").ok  # 5% exactly is still shown
    half = rs.verdict(((1000, 500), (4096, 0)), GOOD, LABELS, "zh")
    assert not half.ok and "1,000 个样本中有 500 个计算失败" in half.messages("zh")[0]
    sobol_fail = rs.verdict(((1000, 0), (4096, 2048)), GOOD, LABELS, "en")
    assert not sobol_fail.ok and "2,048 of 4,096 samples failed" in sobol_fail.messages("en")[0]
    impossible = _sobol([("aggregation", "shift", 0.33, 0.25, 0.58, 0.08, 0.02, 0.12)])
    v = rs.verdict(((1000, 0),), impossible, LABELS, "zh")
    assert not v.ok and "聚合方法" in v.messages("zh")[0] and "不可能" in v.messages("zh")[0]
    en = rs.verdict(((1000, 0),), impossible, LABELS, "en").messages("en")[0]
    assert "above its total effect" in en
    for m in half.messages("zh") + v.messages("zh"):
        assert not re.search(r"[A-Za-z]{3,}", m), m  # plain Chinese, no English error line


def test_the_reading_names_the_secure_the_contested_the_unstable_and_the_driving_factor() -> None:
    units = ("a", "b", "c", "d", "e")
    names = {"a": "黄浦区", "b": "松江区", "c": "闵行区", "d": "徐汇区", "e": "宝山区"}
    nominal = np.array([1, 2, 3, 4, 5])
    low, high = np.array([1, 1, 2, 3, 2]), np.array([2, 3, 5, 4, 5])
    zh = rs.reading(units, names, nominal, low, high, GOOD, "shift", LABELS, "zh")
    text = "".join(zh)
    assert "黄浦区、松江区在至少 95% 的模拟中位列前 3 名" in text
    assert "闵行区目前位列前 3 名，但在部分模拟中会跌出前 3 名" in text
    assert "闵行区、宝山区的名次最不稳定（第 2–5 名）" in text
    assert "名次变动主要来自“供需混合比例”" in text and "聚合方法对名次几乎没有影响" in text
    fixed = rs.reading(units, names, nominal, nominal, nominal, GOOD, "shift", LABELS, "en")
    assert any("Every district keeps its rank" in x for x in fixed)
