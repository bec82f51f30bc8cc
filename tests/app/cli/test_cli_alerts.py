"""`govindex alerts`, `govindex target` and `govindex ledger`: what a script sees, as which user, and refusals as
messages (exit 1), never tracebacks."""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from app.cli import main
from etl.config import load_config
from etl.stores import alerts, ledger
from etl.stores.loop import Actor, LoopStore
from etl.stores.users import add_user

WHEN = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture()
def env(tmp_path: Path, units_db: Path) -> dict[str, str]:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(units_db, db)  # the unit table names the districts (etl.warehouse.units)
    config = load_config(env={}, overrides={"db": str(db)})
    add_user(config.users_path, "zhang", "district_official", "a long password 123", district_code="310104")
    add_user(config.users_path, "li", "leader", "a long password 123")
    store = LoopStore.for_config(config)
    official = Actor("zhang", "district_official", "310104")
    ledger.open_item(store, official, "310104", "high_freq_full_online_rate", problem="网办率低", action="梳理",
                     owner="张三", due_date="2026-03-31", now=WHEN)
    alerts.record(store, [
        alerts.AlertDraft("missing", "a", "310104", params={"missing": 3, "total": 28, "period_zh": "2026年第一季度",
                                                            "period_en": "2026 Q1"}),
        alerts.AlertDraft("missing", "b", "310115", params={"missing": 5, "total": 28, "period_zh": "2026年第一季度",
                                                            "period_en": "2026 Q1"})], now=WHEN)
    return {"GOVINDEX_DB": str(db), "GOVINDEX_CONFIG": ""}


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return res.exit_code, res.output


def test_alerts_for_a_user_read_state_and_json(env: dict[str, str]) -> None:
    code, out = _run(env, "alerts", "--user", "zhang", "--json")
    data = json.loads(out)
    assert code == 0 and data["unread"] == 1 and [a["unit_code"] for a in data["alerts"]] == ["310104"]
    assert "徐汇区在 2026年第一季度 缺少 3/28 项指标的数据" in data["alerts"][0]["text_zh"]
    code, out = _run(env, "alerts", "--user", "zhang", "--read", str(data["alerts"][0]["alert_id"]))
    assert code == 0 and "marked_read: 1" in out
    assert json.loads(_run(env, "alerts", "--user", "zhang", "--unread", "--json")[1])["alerts"] == []
    code, out = _run(env, "alerts", "--user", "li", "--unread")
    assert code == 0 and out.count("●") == 2 and "（北京时间）" in out
    code, out = _run(env, "alerts", "--user", "zhang", "--read", "2")  # 310115's alert: not this user's
    assert code == 1 and "没有编号为 2 的预警" in out
    code, out = _run(env, "alerts", "--user", "nobody")
    assert code == 1 and "no user 'nobody'" in out


def test_targets_are_set_by_permitted_users_only(env: dict[str, str]) -> None:
    code, out = _run(env, "target", "set", "310104", "high_freq_full_online_rate", "2026", "90", "--reason", "区情",
                     "--user", "li")
    assert code == 0 and "version 1" in out
    code, out = _run(env, "target", "set", "310104", "high_freq_full_online_rate", "2026", "120", "--reason", "x",
                     "--user", "li")
    assert code == 1 and "可能范围" in out and "Traceback" not in out
    code, out = _run(env, "target", "set", "310104", "high_freq_full_online_rate", "2026", "80", "--reason", "x",
                     "--user", "zhang")
    assert code == 1 and "无权设置目标值" in out
    rows = json.loads(_run(env, "target", "list", "--period", "2026Q2", "--set-only", "--json")[1])["targets"]
    assert [(r["unit_code"], r["target"], r["who"]) for r in rows] == [("310104", 90.0, "li")]


def test_ledger_list_and_export_with_a_simulated_date(env: dict[str, str], tmp_path: Path) -> None:
    items = json.loads(_run(env, "ledger", "list", "--json", "--today", "2026-04-02")[1])["items"]
    assert [i["effective_status"] for i in items] == ["overdue"]
    code, out = _run(env, "ledger", "list", "--status", "overdue", "--today", "2026-03-15")
    assert code == 0 and "no items" in out
    assert json.loads(_run(env, "ledger", "list", "--json", "--user", "li")[1])["items"][0]["problem"] == "网办率低"
    out_file = tmp_path / "台账.xlsx"
    code, _ = _run(env, "ledger", "export", "--out", str(out_file), "--district", "310104", "--today", "2026-04-02")
    assert code == 0
    wb = openpyxl.load_workbook(io.BytesIO(out_file.read_bytes()))
    assert wb.worksheets[1].cell(4, 8).value == "逾期"
    code, out = _run(env, "ledger", "export", "--out", str(out_file), "--district", "310115", "--user", "zhang")
    assert code == 1 and "无权查看" in out


def test_target_history_and_the_change_record_check(env: dict[str, str]) -> None:
    for value, why in (("90", "区情"), ("92", "领导要求")):
        assert _run(env, "target", "set", "310104", "high_freq_full_online_rate", "2026", value, "--reason", why,
                    "--user", "li")[0] == 0
    code, out = _run(env, "target", "history", "310104", "high_freq_full_online_rate", "2026")
    assert code == 0 and "v1 90" in out and "v2 92" in out and "领导要求" in out and "（北京时间）" in out
    code, out = _run(env, "ledger", "verify")
    assert code == 0 and "5 entries" in out  # the fixture's item and two alerts, and the two targets
