"""The rectification ledger: items open, change and stay (every version kept, attributed), overdue on a simulated
date, permissions enforced in the store, concurrent edits lose neither change, and every bad input is refused."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from etl.config import load_config
from etl.contract.catalog import load_catalog
from etl.stores import ledger, loop
from etl.stores.loop import Actor, BadInput, Conflict, Forbidden, LoopStore

CAT = load_catalog()
IND = "high_freq_full_online_rate"
OFFICIAL = Actor("zhang", "district_official", "310104")
COLLEAGUE = Actor("chen", "district_official", "310104")
OTHER = Actor("wang", "district_official", "310115")
LEADER = Actor("li", "leader")
ASSESSOR = Actor("zhao", "assessor")
ADMIN = Actor("root", "admin")
# 2026-03-01 00:30 Beijing time is still 2026-02-28 in UTC: "today" is Shanghai's date
NOW = datetime(2026, 2, 28, 16, 30, tzinfo=timezone.utc)


@pytest.fixture()
def store(tmp_path: Path, units_db: Path) -> LoopStore:
    return LoopStore(tmp_path / "loop.sqlite", warehouse=units_db)


def _open(store: LoopStore, actor: Actor = OFFICIAL, **kw: object) -> ledger.Item:
    args = {"problem": "全程网办率低于目标", "action": "梳理高频事项清单", "owner": "张三", "due_date": "2026-03-31",
            "opened_value": 62.1, "opened_period": "2025Q4"} | kw
    return ledger.open_item(store, actor, "310104", IND, catalog=CAT, now=NOW, **args)  # type: ignore[arg-type]


def _count(store: LoopStore) -> int:
    with store.connect() as con:
        return sum(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                   for t in ("ledger_items", "ledger_versions", "ledger_comments", "evidence", "events"))


def test_an_item_opens_changes_and_keeps_every_version(store: LoopStore) -> None:
    item = _open(store)
    assert (item.version, item.status, item.effective_status, item.opened_value) == (1, "open", "open", 62.1)
    item = ledger.update_item(store, OFFICIAL, item.item_id, 1, {"status": "整改中", "progress": "已梳理 30 项"}, now=NOW)
    item = ledger.update_item(store, COLLEAGUE, item.item_id, 2, {"owner": "陈四"}, now=NOW)
    hist = ledger.item_history(store, LEADER, item.item_id, now=NOW)
    assert [(v.version, v.updated_by, v.changed) for v in hist] == [
        (1, "zhang", ledger.FIELDS), (2, "zhang", ("status", "progress")), (3, "chen", ("owner",))]
    assert (hist[0].owner, hist[-1].owner, hist[-1].status) == ("张三", "陈四", "in_progress")
    same = ledger.update_item(store, OFFICIAL, item.item_id, 3, {"owner": "陈四"}, now=NOW)
    assert same.version == 3  # nothing differs: no new version
    assert loop.verify_events(store) == 3


def test_overdue_is_derived_from_a_simulated_shanghai_today_and_sorted_first(store: LoopStore) -> None:
    late = _open(store, due_date="2026-03-01")  # due today (Beijing): not overdue yet
    later = _open(store, due_date="2026-06-30")
    done = _open(store, due_date="2026-03-02")
    ledger.update_item(store, OFFICIAL, done.item_id, 1, {"status": "done"}, now=NOW)
    assert ledger.get_item(store, LEADER, late.item_id, now=NOW).effective_status == "open"
    on_4th = datetime(2026, 3, 4, 1, 0, tzinfo=timezone.utc)
    items = ledger.list_items(store, LEADER, now=on_4th)
    assert [(i.item_id, i.effective_status) for i in items] == [
        (late.item_id, "overdue"), (later.item_id, "open"), (done.item_id, "done")]
    assert [i.item_id for i in ledger.overdue(store, now=on_4th)] == [late.item_id]
    # an overdue item can still be updated without moving its (past) due date
    ledger.update_item(store, OFFICIAL, late.item_id, 1, {"progress": "推进中"}, now=on_4th)


def test_officials_see_and_edit_only_their_district(store: LoopStore) -> None:
    item = _open(store)
    assert ledger.list_items(store, OTHER, now=NOW) == []
    assert [i.item_id for i in ledger.list_items(store, LEADER, now=NOW)] == [item.item_id]
    before = _count(store)
    for actor in (OTHER, LEADER, ASSESSOR, ADMIN):
        with pytest.raises(Forbidden):
            ledger.update_item(store, actor, item.item_id, 1, {"status": "done"}, now=NOW)
        with pytest.raises(Forbidden):
            ledger.open_item(store, actor, "310104", IND, problem="p", action="a", owner="o", due_date="2026-05-01",
                             catalog=CAT, now=NOW)
    with pytest.raises(Forbidden) as e:
        ledger.get_item(store, OTHER, item.item_id, now=NOW)
    assert "无权查看" in e.value.message("zh")
    with pytest.raises(Forbidden):
        ledger.add_comment(store, OTHER, item.item_id, "我来评论", now=NOW)
    assert _count(store) == before
    for actor in (ASSESSOR, LEADER, OFFICIAL):
        ledger.add_comment(store, actor, item.item_id, f"{actor.name} 的意见", now=NOW)
    assert [c.who for c in ledger.get_item(store, LEADER, item.item_id, now=NOW).comments] == ["zhao", "li", "zhang"]


def test_an_item_for_another_district_is_refused_with_the_districts_named(store: LoopStore) -> None:
    with pytest.raises(Forbidden) as e:
        ledger.open_item(store, OFFICIAL, "310115", IND, problem="p", action="a", owner="o", due_date="2026-05-01",
                         catalog=CAT, now=NOW)
    assert "浦东新区" in e.value.message("zh") and "徐汇区" in e.value.message("zh")
    assert "Pudong" in e.value.message("en")
    assert _count(store) == 0


@pytest.mark.parametrize("change,words", [
    ({"due_date": "2026-02-28"}, "早于今天（2026-03-01"),
    ({"due_date": "下个月"}, "不是日期"),
    ({"problem": "  "}, "请填写“问题”"),
    ({"owner": "x" * 101}, "过长"),
    ({"action": "a\x00b"}, "控制字符"),
    ({"indicator_id": "nope"}, "未知的指标"),
])
def test_bad_input_on_opening_is_refused_and_changes_nothing(store: LoopStore, change: dict, words: str) -> None:
    args = {"problem": "p", "action": "a", "owner": "o", "due_date": "2026-04-01"} | change
    ind = args.pop("indicator_id", IND)
    with pytest.raises(BadInput) as e:
        ledger.open_item(store, OFFICIAL, "310104", ind, catalog=CAT, now=NOW, **args)
    assert words in e.value.message("zh") and "Nothing was changed" in e.value.message("en")
    assert _count(store) == 0


@pytest.mark.parametrize("change,words", [
    ({"due_date": "2026-01-01"}, "早于今天"), ({"status": "overdue"}, "未知的状态"), ({"status": "逾期"}, "未知的状态"),
    ({"colour": "red"}, "没有字段"),
])
def test_bad_input_on_update_is_refused_and_changes_nothing(store: LoopStore, change: dict, words: str) -> None:
    item = _open(store)
    before = _count(store)
    with pytest.raises(BadInput) as e:
        ledger.update_item(store, OFFICIAL, item.item_id, 1, change, now=NOW)
    assert words in e.value.message("zh")
    assert _count(store) == before


def test_html_and_formula_text_is_kept_as_text(store: LoopStore) -> None:
    item = _open(store, problem="<script>alert(1)</script>", action="=HYPERLINK(\"http://x\")")
    c = ledger.add_comment(store, ASSESSOR, item.item_id, "+cmd|' /C calc'!A0", now=NOW)
    got = ledger.get_item(store, LEADER, item.item_id, now=NOW)
    assert (got.problem, got.action, c.text) == ("<script>alert(1)</script>", "=HYPERLINK(\"http://x\")",
                                                "+cmd|' /C calc'!A0")


def test_concurrent_edits_of_different_fields_are_merged(store: LoopStore) -> None:
    item = _open(store)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def edit(actor: Actor, change: dict) -> None:
        barrier.wait()
        try:
            ledger.update_item(store, actor, item.item_id, 1, change, now=NOW)  # both based on version 1
        except BaseException as e:  # noqa: BLE001 — collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=edit, args=(OFFICIAL, {"status": "in_progress", "progress": "已开展"})),
               threading.Thread(target=edit, args=(COLLEAGUE, {"owner": "陈四", "due_date": "2026-04-30"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = ledger.get_item(store, LEADER, item.item_id, now=NOW)
    assert (got.version, got.status, got.progress, got.owner, got.due_date) == (
        3, "in_progress", "已开展", "陈四", date(2026, 4, 30))


def test_concurrent_edits_of_the_same_field_refuse_the_second_and_name_the_clash(store: LoopStore) -> None:
    item = _open(store)
    ledger.update_item(store, OFFICIAL, item.item_id, 1, {"owner": "张三丰"}, now=NOW)
    with pytest.raises(Conflict) as e:
        ledger.update_item(store, COLLEAGUE, item.item_id, 1, {"owner": "陈四", "progress": "x"}, now=NOW)
    assert "责任人" in e.value.message("zh") and "zhang" in e.value.message("zh")
    got = ledger.get_item(store, LEADER, item.item_id, now=NOW)
    assert (got.version, got.owner, got.progress) == (2, "张三丰", "")
    # the same value as the other person chose is no clash
    ledger.update_item(store, COLLEAGUE, item.item_id, 1, {"owner": "张三丰", "progress": "x"}, now=NOW)


def test_the_frame_shows_the_change_since_opening(store: LoopStore) -> None:
    _open(store)
    items = ledger.list_items(store, LEADER, now=NOW)
    values = pl.DataFrame({"unit_code": ["310104"], "indicator_id": [IND], "value": [71.43]})
    frame = ledger.items_frame(items, values)
    assert frame["change_zh"][0] == "开立时 62.1，现为 71.4" and frame["change_en"][0] == "opened at 62.1, now 71.4"
    assert ledger.items_frame([]).height == 0


def test_a_simulated_today_from_config_decides_overdue(tmp_path: Path) -> None:
    cfg = load_config(env={"GOVINDEX_TODAY": "2026-04-02"}, overrides={"db": str(tmp_path / "w.duckdb")})
    store = LoopStore.for_config(cfg)
    assert loop.today(store.clock()) == date(2026, 4, 2)
    with pytest.raises(BadInput, match="2026-04-01"):  # "today" is the simulated date for due dates too
        ledger.open_item(store, OFFICIAL, "310104", IND, problem="p", action="a", owner="o", due_date="2026-04-01",
                         catalog=CAT)
    item = ledger.open_item(store, OFFICIAL, "310104", IND, problem="p", action="a", owner="o",
                            due_date="2026-04-05", catalog=CAT)
    assert item.opened_at.startswith("2026-04-0")
    later = LoopStore(store.path, ledger=cfg.ledger.model_copy(update={"today": date(2026, 4, 6)}))
    assert ledger.get_item(later, LEADER, item.item_id).effective_status == "overdue"
    assert [i.item_id for i in ledger.overdue(later)] == [item.item_id]


def _edit_in_process(path: str, actor: Actor, item_id: int, change: dict, go: object) -> None:
    go.wait()  # type: ignore[attr-defined]
    ledger.update_item(LoopStore(path), actor, item_id, 1, change, now=NOW)


def test_concurrent_edits_from_two_processes_are_merged(store: LoopStore) -> None:
    item = _open(store)
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_edit_in_process, args=(str(store.path), OFFICIAL, item.item_id,
                                                         {"status": "in_progress"}, go)),
             ctx.Process(target=_edit_in_process, args=(str(store.path), COLLEAGUE, item.item_id,
                                                         {"progress": "已召开专题会"}, go))]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    got = ledger.get_item(store, LEADER, item.item_id, now=NOW)
    assert (got.version, got.status, got.progress) == (3, "in_progress", "已召开专题会")
    assert loop.verify_events(store) == 3
