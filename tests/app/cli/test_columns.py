"""app.cli.columns: widths in terminal cells, so Chinese text keeps the CLI's tables aligned."""

from __future__ import annotations

from app.cli.columns import cell_width, clip, pad


def test_chinese_characters_and_full_width_punctuation_take_two_cells() -> None:
    assert cell_width("abc") == 3
    assert cell_width("浦东新区") == 8
    assert cell_width("（2025年）") == 2 + 4 + 2 + 2
    assert cell_width("e\u0301") == 1  # a combining accent adds nothing


def test_clip_never_exceeds_the_column_and_marks_the_cut() -> None:
    assert clip("浦东新区", 8) == "浦东新区"
    assert clip("浦东新区", 7) == "浦东新…" and cell_width(clip("浦东新区", 7)) == 7
    assert clip("浦东新区", 6) == "浦东…" and cell_width(clip("浦东新区", 6)) == 5  # a wide char does not half-fit


def test_pad_fills_to_the_width_in_cells_and_leaves_longer_text_whole() -> None:
    assert pad("黄浦", 6) == "黄浦  " and pad("黄浦", 6, ">") == "  黄浦"
    assert pad("a-very-long-name", 4) == "a-very-long-name"
