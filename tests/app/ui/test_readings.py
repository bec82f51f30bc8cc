"""Plain-language readings (app.ui.readings): generated from the numbers, edge cases in both languages."""

from __future__ import annotations

import re

import pytest

from app.ui.readings import (Row, absolute_band, fmt_k_of_n, fmt_rank_interval, incomplete, join_names,
                             ranking_readings, rows_from_table)

LATIN = re.compile(r"[A-Za-z]{2,}")


def _rows(ivs: list[tuple[float, float]], names: list[str] | None = None) -> list[Row]:
    names = names or [f"区{i + 1}" for i in range(len(ivs))]
    return [Row(n, i + 1, 80 - i, lo, hi) for i, (n, (lo, hi)) in enumerate(zip(names, ivs))]


def test_helpers_format_names_intervals_and_k_of_n() -> None:
    assert join_names(["黄浦", "松江", "闵行"], "zh") == "黄浦、松江和闵行"
    assert join_names(["Huangpu", "Songjiang", "Minhang"], "en") == "Huangpu, Songjiang and Minhang"
    assert join_names(["黄浦"], "zh") == "黄浦" and join_names([], "zh") == ""
    assert fmt_rank_interval(1.0, 3.0, "zh") == "第 1–3 名" and fmt_rank_interval(2, 2, "en") == "rank 2"
    assert fmt_rank_interval(None, 3, "zh") == "—"
    assert fmt_k_of_n(7, 9, "zh") == "7/9 项指标" and fmt_k_of_n(7, 9, "en") == "7 of 9 indicators"
    assert fmt_k_of_n(None, 9, "zh") == "—"
    assert incomplete(7, 9) and not incomplete(9, 9) and not incomplete(None, 9)
    assert absolute_band(91, (90, 80, 60), ("优秀", "良好", "一般", "较差")) == "优秀"
    assert absolute_band(59.9, (90, 80, 60), ("优秀", "良好", "一般", "较差")) == "较差"
    assert absolute_band(None, (90,), ("a", "b")) is None


def test_one_clear_leader() -> None:
    rows = _rows([(1, 1), (2, 4), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9), (7, 9)])
    zh = ranking_readings(rows, "zh")
    assert zh[0] == "区1在 95% 以上的模拟中均居第一，领先地位稳固。"
    en = ranking_readings(_rows([(1, 1), (2, 4), (2, 5)], ["Huangpu", "Songjiang", "Minhang"]), "en")
    assert en[0] == "Huangpu is first in over 95% of the simulations: a secure lead."


def test_leading_group_that_cannot_be_told_apart() -> None:
    names = ["黄浦", "松江", "闵行", "青浦", "奉贤", "嘉定", "宝山", "金山"]
    rows = _rows([(1, 3), (1, 3), (1, 3), (3, 6), (4, 7), (6, 8), (6, 8), (6, 8)], names)
    zh = ranking_readings(rows, "zh")
    assert zh[0] == "黄浦、松江和闵行在 95% 以上的模拟中位列前 3 名，彼此难分先后。"
    # and the trailing group
    assert any(s.startswith("嘉定、宝山和金山在 95% 以上的模拟中均处于后 3 名") for s in zh)
    assert any("中位宽度为 3 个名次" in s and "不宜只看名次" in s for s in zh)
    assert not any(LATIN.search(s) for s in zh)


def test_uncertain_leader_names_its_rivals() -> None:
    rows = _rows([(1, 5), (1, 6), (2, 8), (3, 8), (4, 8), (5, 8), (6, 8), (6, 8)])
    zh = ranking_readings(rows, "zh")
    assert zh[0] == ("第一名区1的排名区间为第 1–5 名，与区2重叠：名次之差在不确定性范围之内，不宜据此排先后。")


def test_ties_missing_intervals_bands_and_k_of_n() -> None:
    rows = [Row("黄浦", 1, 70.0, band="一般", k=8, n=9), Row("松江", 1, 70.0, band="一般", k=9, n=9),
            Row("闵行", 3, 55.0, band="较差", k=9, n=9), Row("无分区", None)]
    zh = ranking_readings(rows, "zh", band_order=("优秀", "良好", "一般", "较差"))
    assert zh[0] == "本期没有排名区间，名次之差是否可靠无法判断。"
    assert "黄浦和松江得分相同，并列第 1 名。" in zh
    assert "按绝对分档：优秀 0 个区、良好 0 个区、一般 2 个区、较差 1 个区。" in zh
    assert "黄浦（仅 8/9 项指标）的综合得分并非基于全部指标，结论须谨慎。" in zh
    en = ranking_readings(rows, "en", band_order=("excellent", "good", "fair", "poor"))
    assert "黄浦 (only 8 of 9 indicators)" in en[-2]
    assert zh[-1] == "无分区本期有实测值的指标不足，没有综合得分，也不参与排名。"
    assert ranking_readings([], "zh") == []
    assert ranking_readings([Row("甲", None)], "zh") == ["甲本期有实测值的指标不足，没有综合得分，也不参与排名。"]


def test_a_tied_first_place_is_not_a_clear_lead() -> None:
    rows = [Row("甲", 1, 80.0, 1, 1), Row("乙", 1, 80.0, 1, 1), Row("丙", 3, 70.0, 3, 3)]
    zh = ranking_readings(rows, "zh")
    assert not any("领先地位稳固" in s for s in zh)
    assert "甲和乙得分相同，并列第 1 名。" in zh


def test_rows_from_table_reads_the_overview_columns() -> None:
    rows = rows_from_table([{"name": "黄浦", "rank": 1, "score": 66.2, "rank_lo": 1.0, "rank_hi": 3.0,
                             "n_observed": 8, "n_indicators": 9},
                            {"unit_code": "310101", "rank": None, "score": float("nan")}])
    assert rows[0] == Row("黄浦", 1, 66.2, 1.0, 3.0, None, 8, 9)
    assert rows[1].name == "310101" and rows[1].rank is None and rows[1].score is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reading_is_filled_in(lang: str) -> None:
    rows = _rows([(1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (6, 8), (7, 8)])
    for s in ranking_readings(rows, lang, shrunk=True):
        assert "{" not in s and s.strip()


def test_english_agrees_with_one_name_or_several() -> None:
    rows = _rows([(1, 1), (2, 3), (2, 4), (3, 5), (4, 6), (5, 8), (6, 8), (8, 8)],
                 ["Minhang", "Huangpu", "Songjiang", "Qingpu", "Fengxian", "Jiading", "Baoshan", "Yangpu"])
    rows[6] = Row("Baoshan", 7, 60.0, 5, 8)
    rows += [Row("Chongming", None), Row("Jinshan", 8, k=30, n=37), Row("Putuo", 7, k=36, n=37)]
    en = ranking_readings(rows[:8] + rows[8:9], "en")
    assert "Yangpu is in the bottom 3 in over 95% of the simulations: it needs attention first." in en
    assert en[-1] == "Chongming has too few measured indicators this period for a composite, and is not ranked."
    thin = ranking_readings([Row("Jinshan", 1, k=30, n=37), Row("Putuo", 2, k=36, n=37)], "en")
    assert thin[-1] == ("The composite of Jinshan (only 30 of 37 indicators) and Putuo (only 36 of 37 indicators) "
                        "does not rest on every indicator; read it with care.")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_readings_at_national_scale_name_a_few_and_count_the_rest(lang: str) -> None:
    """The real national demo (2,844 counties, few records each) has dozens of tied places and hundreds of scores
    on a few indicators: the readings stay a few short sentences, naming some units and counting the others."""
    rows = []
    for i in range(2844):
        rank = 1 + (i // 20) * 20 if i < 600 else i + 1  # 30 groups of 20 tied units, then distinct places
        rows.append(Row(f"第{i + 1}县", rank, 90 - i / 100, max(1, rank - 200), rank + 200, None,
                        12 if i % 3 == 0 else 45, 45))
    rows += [Row(f"无分{i}", None) for i in range(50)]
    out = ranking_readings(rows, lang)
    assert len(out) <= 10, out
    assert all(len(s) < 400 for s in out), max(out, key=len)
    text = "\n".join(out)
    assert ("等 14 个单位" if lang == "zh" else "and 14 more") in text  # a tie of 20 names 6
    assert ("另有 27 组共 540 个单位" if lang == "zh" else "27 more groups of 540 units") in text
    assert ("等 942 个单位" if lang == "zh" else "and 942 more") in text  # 948 thin scores name 6
    assert ("等 44 个单位" if lang == "zh" else "and 44 more") in text  # 50 without a composite name 6
