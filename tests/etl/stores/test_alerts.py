"""Alert records: stored once per dedupe key, seen by whoever sees the district, read state per user."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.stores import alerts
from etl.stores.alerts import AlertDraft
from etl.stores.loop import Actor, LoopStore, NotFound

OFFICIAL = Actor("zhang", "district_official", "310104")
OTHER = Actor("wang", "district_official", "310115")
LEADER = Actor("li", "leader")
LEADER2 = Actor("sun", "leader")


@pytest.fixture()
def store(tmp_path: Path, units_db: Path) -> LoopStore:
    return LoopStore(tmp_path / "loop.sqlite", warehouse=units_db)


def _drafts() -> list[AlertDraft]:
    return [AlertDraft("rank_drop", "rank_drop:310104:r7", "310104", params={"drop": 4, "before": 3, "after": 7,
                                                                             "period": "2026年第三季度"}),
            AlertDraft("missing", "missing:310115:2026Q3", "310115",
                       params={"missing": 9, "total": 28, "period": "2026年第三季度"})]


def test_alerts_are_stored_once_and_seen_by_whom_they_concern(store: LoopStore) -> None:
    new = alerts.record(store, _drafts(), refresh="r7")
    assert [a.rule for a in new] == ["rank_drop", "missing"]
    assert alerts.record(store, _drafts(), refresh="r7") == []  # idempotent
    assert [a.unit_code for a in alerts.list_alerts(store, LEADER)] == ["310115", "310104"]
    assert [a.unit_code for a in alerts.list_alerts(store, OFFICIAL)] == ["310104"]
    a = alerts.list_alerts(store, OFFICIAL)[0]
    assert a.text("zh") == "徐汇区综合排名下降 4 位：由第 3 名降至第 7 名（2026年第三季度）。"
    assert "Xuhui" in a.text("en") and "dropped 4 places" in a.text("en")


def test_read_state_is_per_user(store: LoopStore) -> None:
    alerts.record(store, _drafts())
    assert alerts.unread_count(store, LEADER) == 2 and alerts.unread_count(store, OFFICIAL) == 1
    first = alerts.list_alerts(store, OFFICIAL)[0].alert_id
    assert alerts.mark_read(store, OFFICIAL, [first]) == 1
    assert alerts.mark_read(store, OFFICIAL, [first]) == 0
    assert alerts.unread_count(store, OFFICIAL) == 0 and alerts.unread_count(store, LEADER) == 2
    assert [a.read for a in alerts.list_alerts(store, LEADER)] == [False, False]
    assert alerts.mark_read(store, LEADER) == 2 and alerts.unread_count(store, LEADER) == 0
    assert alerts.unread_count(store, LEADER2) == 2
    other_districts = alerts.list_alerts(store, LEADER)[0].alert_id  # 310115's alert
    with pytest.raises(NotFound):
        alerts.mark_read(store, OFFICIAL, [other_districts])


def test_the_baseline_is_replaced_and_emails_are_stamped_once(store: LoopStore) -> None:
    assert alerts.load_baseline(store, "ranks") is None
    alerts.save_baseline(store, "ranks", {"310104": 3}, refresh="r1")
    alerts.save_baseline(store, "ranks", {"310104": 7}, refresh="r2")
    assert alerts.load_baseline(store, "ranks") == {"310104": 7}
    alerts.record(store, _drafts())
    ids = [a.alert_id for a in alerts.unemailed(store)]
    alerts.mark_emailed(store, ids)
    assert alerts.unemailed(store) == []
