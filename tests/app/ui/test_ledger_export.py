"""The ledger as a 督查 office files it: cover with unit and Beijing time, the columns in order, overdue first,
per district and city-wide, formulas neutralised."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from app.ui.ledger_export import filename, ledger_xlsx_for
from etl.contract.catalog import load_catalog
from etl.stores import evidence, ledger
from etl.stores.loop import Actor, Forbidden, LoopStore

CAT = load_catalog()
XUHUI = Actor("zhang", "district_official", "310104")
PUDONG = Actor("wang", "district_official", "310115")
LEADER = Actor("li", "leader")
OPENED = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
EXPORTED = datetime(2026, 4, 2, 1, 30, tzinfo=timezone.utc)  # 09:30 Beijing time


@pytest.fixture()
def store(tmp_path: Path, units_db: Path) -> LoopStore:
    s = LoopStore(tmp_path / "loop.sqlite", warehouse=units_db)
    a = ledger.open_item(s, XUHUI, "310104", "high_freq_full_online_rate", problem="全程网办率偏低",
                         action="=HYPERLINK(\"http://evil\",\"点我\")", owner="张三", due_date="2026-06-30",
                         opened_value=62.1, catalog=CAT, now=OPENED)
    ledger.update_item(s, XUHUI, a.item_id, 1, {"status": "整改中", "progress": "+已梳理 30 项"}, now=OPENED)
    ledger.add_comment(s, LEADER, a.item_id, "@请加快进度", now=OPENED)
    evidence.attach(s, XUHUI, a.item_id, "方案.pdf", b"%PDF-1.4 x", now=OPENED)
    ledger.open_item(s, XUHUI, "310104", "high_freq_full_online_rate", problem="材料未精简", action="清理材料",
                     owner="李四", due_date="2026-03-31", catalog=CAT, now=OPENED)  # overdue on EXPORTED
    ledger.open_item(s, PUDONG, "310115", "high_freq_full_online_rate", problem="浦东问题", action="措施",
                     owner="王五", due_date="2026-05-31", catalog=CAT, now=OPENED)
    return s


def _sheets(data: bytes) -> tuple[list[list[object]], list[list[object]], openpyxl.Workbook]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cover, sheet = wb.worksheets
    return ([list(r) for r in cover.iter_rows(values_only=True)], [list(r) for r in sheet.iter_rows(values_only=True)],
            wb)


def test_a_districts_ledger_in_the_ducha_form(store: LoopStore) -> None:
    values = pl.DataFrame({"unit_code": ["310104"], "indicator_id": ["high_freq_full_online_rate"], "value": [71.4]})
    data = ledger_xlsx_for(store, XUHUI, "zh", values=values, now=EXPORTED)
    cover, rows, wb = _sheets(data)
    assert cover[0][0] == "徐汇区一网通办绩效整改台账"
    flat = {r[0]: r[1] for r in cover if r and r[0]}
    assert flat["填报单位"] == "徐汇区" and flat["导出时间"] == "2026年04月02日 09:30（北京时间）"
    assert (flat["整改事项"], flat["逾期"], flat["整改中"]) == ("2", "1", "1")
    header = rows[2]
    assert header[:9] == ["序号", "指标", "问题", "整改措施", "责任人", "时限", "进展", "状态", "佐证材料"]
    body = rows[3:]
    assert [r[2] for r in body] == ["材料未精简", "全程网办率偏低"]  # overdue first
    assert [r[7] for r in body] == ["逾期", "整改中"] and [r[0] for r in body] == [1, 2]
    assert "浦东问题" not in str(rows)
    second = body[1]
    assert second[3] == "=HYPERLINK(\"http://evil\",\"点我\")" and second[6] == "+已梳理 30 项"  # text, not formulas
    ws = wb.worksheets[1]
    assert ws.cell(5, 4).data_type == "s" and ws.cell(5, 4).quotePrefix
    assert "方案.pdf" in second[8] and second[9] == 62.1 and second[10] == 71.4 and "@请加快进度" in second[11]


def test_the_city_wide_ledger_has_a_district_column_and_english(store: LoopStore) -> None:
    cover, rows, _ = _sheets(ledger_xlsx_for(store, LEADER, "en", now=EXPORTED))
    assert "City-wide" in cover[0][0]
    assert rows[2][:3] == ["No.", "District", "Indicator"]
    assert sorted(r[1] for r in rows[3:]) == ["Pudong", "Xuhui", "Xuhui"]
    assert rows[3][8] == "Overdue"


def test_an_official_cannot_export_another_district(store: LoopStore) -> None:
    with pytest.raises(Forbidden):
        ledger_xlsx_for(store, XUHUI, unit_code="310115", now=EXPORTED)
    _c, rows, _ = _sheets(ledger_xlsx_for(store, XUHUI, now=EXPORTED))  # city-wide request: own district only
    assert {r[2] for r in rows[3:]} == {"材料未精简", "全程网办率偏低"}


def test_filename() -> None:
    names = {"310104": ("徐汇区", "Xuhui")}  # the unit table's names (LoopStore.unit_names)
    assert filename("310104", "zh", EXPORTED, names) == "整改台账_徐汇区_20260402.xlsx"
    assert filename("310104", "zh", EXPORTED) == "整改台账_310104_20260402.xlsx"  # no unit table: the code
    assert filename(None, "en", EXPORTED) == "rectification-ledger_city_20260402.xlsx"
