"""Targets per district × indicator × cycle: versioned, audited, catalog by default, and every refusal."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.contract.catalog import load_catalog
from etl.stores import loop, targets
from etl.stores.loop import Actor, BadInput, Forbidden, LoopStore

CAT = load_catalog()
IND = "high_freq_full_online_rate"  # unit %, direction +1, catalog target 95
ASSESSOR = Actor("zhao", "assessor")
LEADER = Actor("li", "leader")
OFFICIAL = Actor("zhang", "district_official", "310104")


@pytest.fixture()
def store(tmp_path: Path, units_db: Path) -> LoopStore:
    return LoopStore(tmp_path / "loop.sqlite", warehouse=units_db)


def _all_rows(store: LoopStore) -> int:
    with store.connect() as con:
        return con.execute("SELECT COUNT(*) FROM targets").fetchone()[0] + \
            con.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_a_target_is_versioned_and_the_catalog_is_the_default(store: LoopStore) -> None:
    base = targets.effective_targets(store, "2026Q3", CAT)
    assert base.height == 16 * len(CAT) and set(base["source"]) == {"catalog"}
    targets.set_target(store, ASSESSOR, "310104", IND, "2026", 90, "区情：老城区事项多", catalog=CAT)
    targets.set_target(store, LEADER, "310104", IND, "2026", 92.5, "领导要求提高", catalog=CAT)
    hist = targets.target_history(store, "310104", IND, "2026")
    assert [(t.version, t.value, t.who) for t in hist] == [(1, 90.0, "zhao"), (2, 92.5, "li")]
    eff = targets.effective_targets(store, "2026Q3", CAT)  # a year's target holds for its quarters
    row = eff.filter((pl.col("unit_code") == "310104") & (pl.col("indicator_id") == IND)).row(0, named=True)
    assert (row["target"], row["source"], row["version"]) == (92.5, "set", 2)
    other = eff.filter((pl.col("unit_code") == "310115") & (pl.col("indicator_id") == IND)).row(0, named=True)
    assert (other["target"], other["source"]) == (CAT.indicator(IND).target, "catalog")
    targets.set_target(store, ASSESSOR, "310104", IND, "2026Q3", 80, "第三季度单独目标", catalog=CAT)
    assert targets.effective_targets(store, "2026Q3", CAT).filter(
        (pl.col("unit_code") == "310104") & (pl.col("indicator_id") == IND))["target"][0] == 80
    targets.set_target(store, ASSESSOR, "310104", IND, "2026", None, "恢复目录目标", catalog=CAT)
    assert targets.effective_targets(store, "2026Q2", CAT).filter(
        (pl.col("unit_code") == "310104") & (pl.col("indicator_id") == IND))["source"][0] == "catalog"
    kinds = [e["kind"] for e in loop.events(store, f"target:310104/{IND}/2026")]
    assert kinds == ["target_set"] * 3 and loop.verify_events(store) == 4


@pytest.mark.parametrize("actor,unit,ind,cycle,value,reason,error,words", [
    (OFFICIAL, "310104", IND, "2026", 90, "r", Forbidden, "无权设置目标值"),
    (ASSESSOR, "310104", IND, "2026", 101, "r", BadInput, "可能范围（0–100 %）"),
    (ASSESSOR, "310104", IND, "2026", -1, "r", BadInput, "可能范围"),
    (ASSESSOR, "310104", "average_wait_ratio_x", "2026", 1, "r", BadInput, "未知的指标"),
    (ASSESSOR, "999999", IND, "2026", 90, "r", BadInput, "未知的区代码"),
    (ASSESSOR, "310104", IND, "26Q3", 90, "r", BadInput, "评估周期"),
    (ASSESSOR, "310104", IND, "2026", "九十", "r", BadInput, "不是数字"),
    (ASSESSOR, "310104", IND, "2026", float("nan"), "r", BadInput, "不是数字"),
    (ASSESSOR, "310104", IND, "2026", 90, "  ", BadInput, "请填写“理由”"),
])
def test_refusals_say_why_and_change_nothing(store: LoopStore, actor: Actor, unit: str, ind: str, cycle: str,
                                             value: object, reason: str, error: type, words: str) -> None:
    before = _all_rows(store)
    with pytest.raises(error) as e:
        targets.set_target(store, actor, unit, ind, cycle, value, reason, catalog=CAT)
    assert words in e.value.message("zh") and "Nothing was changed" in e.value.message("en")
    assert _all_rows(store) == before


def test_a_lower_is_better_indicator_has_no_upper_bound_but_not_negative(store: LoopStore) -> None:
    ratio = next(i for i in CAT if i.unit not in ("%", "0-100"))
    targets.set_target(store, ASSESSOR, "310104", ratio.id, "2026", 1e6, "no upper bound", catalog=CAT)
    with pytest.raises(BadInput):
        targets.set_target(store, ASSESSOR, "310104", ratio.id, "2026", -0.1, "negative", catalog=CAT)


def test_status_frame_is_direction_aware(store: LoopStore) -> None:
    low_better = next(i for i in CAT if i.direction == -1)
    values = pl.DataFrame({"unit_code": ["310104", "310104"], "indicator_id": [IND, low_better.id],
                           "value": [96.0, (low_better.target or 0) + 1000]})
    out = targets.status_frame(store, values, "2026Q3", 0.05, CAT)
    got = dict(zip(out["indicator_id"], out["status"]))
    assert got == {IND: "green", low_better.id: "red"}
