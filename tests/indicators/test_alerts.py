"""Pure alert rules: each fires on exactly the change that defines it."""

from __future__ import annotations

from indicators.alerts import missing_counts, missing_units, period_words, rank_drops, share_crossings, status_crossings


def test_rank_drops_at_the_threshold_and_not_below() -> None:
    before = {"a": 1, "b": 2, "c": 3, "d": 4}
    after = {"a": 4, "b": 1, "c": 2, "d": 3, "e": 9}
    assert rank_drops(before, after, 3) == [("a", 1, 4)]
    assert rank_drops(before, after, 4) == []
    assert rank_drops({}, after, 1) == []  # a first evaluation alarms on nothing


def test_status_crossings() -> None:
    before = {("a", "x"): "green", ("a", "y"): "green", ("a", "z"): "amber", ("b", "x"): "red", ("b", "y"): None}
    after = {("a", "x"): "amber", ("a", "y"): "red", ("a", "z"): "red", ("b", "x"): "red", ("b", "y"): "red",
             ("c", "x"): "red"}
    assert status_crossings(before, after) == [
        ("a", "x", "below_target", "green", "amber"), ("a", "y", "below_band", "green", "red"),
        ("a", "z", "below_band", "amber", "red")]


def test_missing_and_share_crossings() -> None:
    values = {"a": [1.0, None, float("nan"), 2.0], "b": [1.0, 2.0, 3.0, None], "c": []}
    assert missing_units(values, 0.5) == [("a", 2, 4)]
    assert missing_units(values, 0.25) == [("a", 2, 4), ("b", 1, 4)]
    # c has no earlier share: no change to alert on (a first evaluation, or a unit the baseline does not know)
    assert share_crossings({"a": 0.1, "b": 0.3}, {"a": 0.25, "b": 0.4, "c": 0.2}, 0.2) == [("a", 0.25)]
    assert share_crossings({}, {"a": 0.9}, 0.2) == [] and share_crossings({"a": 0.0}, {"a": 0.9}, 0.2) == [("a", 0.9)]


def test_missing_counts_leave_out_indicators_no_unit_has() -> None:
    """The national demo has 17 of 66 indicators for no county at all: a gap of the source, not of each county."""
    values = {"a": [1.0, None, None, 2.0], "b": [None, None, 3.0, 4.0], "c": [5.0, None, None, None]}
    assert missing_counts(values) == {"a": (1, 3), "b": (1, 3), "c": (2, 3)}
    assert missing_counts({}) == {}


def test_period_words() -> None:
    assert period_words("2026Q3") == ("2026年第三季度", "2026 Q3")
    assert period_words("2026") == ("2026年", "2026")
    assert period_words("2026-08") == ("2026年8月", "Aug 2026")
