"""Every state-changing callback of the loop (targets, rectification ledger, alerts) called on the server as each
role, exactly as the browser POSTs it: what a role may not do is refused (HTTP 403, or the store's message) and
changes nothing; what it may do is stored, attributed to the person."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.web.auth_config import AuthSettings
from etl.stores import alerts as alert_store
from etl.stores import ledger as ledger_store
from etl.stores import targets as target_store
from etl.stores.loop import Actor, LoopStore
from etl.stores.users import add_user
from tests.app.conftest import app_config
from tests.app.web.test_roles import ORIGIN, _call

PASSWORD = "loop-test-password"
OWN, OTHER = "310115", "310104"  # the official's district (浦东新区) and another one (徐汇区)
USERS = {"lin": ("leader", None), "ana": ("assessor", None), "dou": ("district_official", OWN),
         "xu": ("district_official", OTHER), "adm": ("admin", None)}
INDICATOR = "unprompted_satisfaction"


@pytest.fixture()
def loop_app(tmp_path: Path, fixture_db: Path, weights_dir: Path):
    from app.server import create_app

    users = tmp_path / "users.toml"
    for name, (role, district) in USERS.items():
        add_user(users, name, role, PASSWORD, district)
    config = app_config(fixture_db, weights_dir, rank_samples=0, loop_db=str(tmp_path / "loop.sqlite"),
                        evidence_dir=str(tmp_path / "evidence"))
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    return app, LoopStore.for_config(config)


def _login(app, name: str):
    client = app.server.test_client()
    page = client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token}, headers=ORIGIN)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _due(days: int = 30) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


# -- targets ---------------------------------------------------------------------------------------------------
def _save_target(client, value: object = "90", unit: str = OWN, reason: str = "年度考核目标 annual target"):
    return _call(client, [("targets-msg", "children"), ("targets-refreshed", "data")],
                 [("targets-save", "n_clicks", 1)],
                 [("targets-district", "value", unit), ("targets-indicator", "value", INDICATOR),
                  ("targets-cycle", "value", "2026"), ("targets-value", "value", value),
                  ("targets-reason", "value", reason), ("targets-refreshed", "data", 0),
                  ("targets-lang", "data", "zh")])


@pytest.mark.parametrize("name", ["lin", "ana", "adm"])
def test_assessors_leaders_and_admins_set_targets(loop_app, name: str) -> None:
    app, store = loop_app
    r = _save_target(_login(app, name))
    assert r.status_code == 200, _text(r)
    assert "已保存" in _text(r)
    (saved,) = target_store.current_targets(store).values()
    assert (saved.value, saved.who, saved.version) == (90.0, name, 1)


def test_a_changed_target_keeps_every_version_with_who_and_why(loop_app) -> None:
    app, store = loop_app
    client = _login(app, "ana")
    assert "第 1 版" in _text(_save_target(client, "90", reason="首次设定 first"))
    assert "第 2 版" in _text(_save_target(client, "92", reason="上调目标 raised"))
    r = _call(client, [("targets-list", "children")], [("targets-refreshed", "data", 2)],
              [("targets-lang", "data", "zh")])
    text = _text(r)
    assert r.status_code == 200 and "首次设定 first" in text and "上调目标 raised" in text, text
    assert [x.value for x in target_store.target_history(store, OWN, INDICATOR, "2026")] == [90.0, 92.0]


@pytest.mark.parametrize("name", ["dou", "xu"])
def test_officials_cannot_set_targets(loop_app, name: str) -> None:
    app, store = loop_app
    r = _save_target(_login(app, name))
    assert r.status_code == 403, _text(r)
    assert target_store.current_targets(store) == {}


@pytest.mark.parametrize(("value", "words"), [("250", "超出"), ("abc", "不是数字"), ("-5", "超出")])
def test_a_target_outside_the_possible_range_is_refused_in_words(loop_app, value: str, words: str) -> None:
    app, store = loop_app
    r = _save_target(_login(app, "ana"), value=value)
    assert r.status_code == 200 and words in _text(r), _text(r)
    assert target_store.current_targets(store) == {}


# -- the ledger ------------------------------------------------------------------------------------------------
def _open(client, unit: str = OWN, due: str | None = None, problem: str = "满意度低于目标 below target"):
    return _call(client, [("ledger-new-msg", "children"), ("ledger-new-dialog", "className")],
                 [("ledger-new-submit", "n_clicks", 1)],
                 [("ledger-new-code", "data", unit), ("ledger-new-indicator", "data", INDICATOR),
                  ("ledger-new-problem", "value", problem), ("ledger-new-action", "value", "增加窗口 more desks"),
                  ("ledger-new-owner", "value", "王科长"), ("ledger-new-due", "value", due or _due()),
                  ("ledger-new-lang", "data", "zh")])


def _items(store: LoopStore) -> list[ledger_store.Item]:
    return ledger_store.list_items(store, Actor.system(), full=True)


def test_an_official_opens_an_item_for_their_own_district_with_the_value_when_opened(loop_app) -> None:
    app, store = loop_app
    r = _open(_login(app, "dou"))
    assert r.status_code == 200 and "已立项" in _text(r), _text(r)
    (item,) = _items(store)
    assert (item.unit_code, item.indicator_id, item.opened_by, item.status) == (OWN, INDICATOR, "dou", "open")
    assert item.opened_value is not None and item.opened_period


@pytest.mark.parametrize("name", ["lin", "ana"])
def test_leaders_and_assessors_cannot_open_items(loop_app, name: str) -> None:
    app, store = loop_app
    assert _open(_login(app, name)).status_code == 403
    assert _items(store) == []


def test_an_item_for_another_district_is_refused_and_nothing_is_stored(loop_app) -> None:
    app, store = loop_app
    r = _open(_login(app, "dou"), unit=OTHER)  # a forged request: the dialog only ever carries the page's district
    assert r.status_code == 200 and "徐汇区" in _text(r) and "未作任何更改" in _text(r), _text(r)
    assert _items(store) == []


def test_a_due_date_in_the_past_is_refused_in_words(loop_app) -> None:
    app, store = loop_app
    r = _open(_login(app, "dou"), due=_due(-3))
    assert r.status_code == 200 and "早于今天" in _text(r), _text(r)
    assert _items(store) == []


def _opened(store: LoopStore, unit: str = OWN, name: str = "dou") -> ledger_store.Item:
    return ledger_store.open_item(store, Actor(name, "district_official", unit), unit, INDICATOR, problem="问题",
                                  action="措施", owner="王科长", due_date=_due(), opened_value=61.0,
                                  opened_period="2024Q4")


def _set_status(client, item_id: int, status: str, version: int | None):
    return _call(client, [("ledger-msg", "children"), ("ledger-refreshed", "data")],
                 [("ledger-status-set", "n_clicks", 1)],
                 [("ledger-selected", "data", str(item_id)), ("ledger-new-status", "value", status),
                  ("ledger-version", "data", version), ("ledger-refreshed", "data", 0), ("ledger-lang", "data", "zh")])


def test_an_official_updates_their_item_and_the_change_is_kept_as_a_new_version(loop_app) -> None:
    app, store = loop_app
    item = _opened(store)
    r = _set_status(_login(app, "dou"), item.item_id, "in_progress", item.version)
    assert r.status_code == 200 and "整改中" in _text(r), _text(r)
    history = ledger_store.item_history(store, Actor.system(), item.item_id)
    assert [(v.version, v.status, v.updated_by) for v in history] == [(1, "open", "dou"), (2, "in_progress", "dou")]


def test_concurrent_status_changes_lose_neither_change(loop_app, tmp_path: Path) -> None:
    """Two officials of the district change the same item from the same version: the second is told in words whose
    change it conflicts with, and nothing of the first is lost."""
    app, store = loop_app
    add_user(tmp_path / "users.toml", "dai", "district_official", PASSWORD, OWN)
    item = _opened(store)
    first = _set_status(_login(app, "dou"), item.item_id, "in_progress", item.version)
    second = _set_status(_login(app, "dai"), item.item_id, "done", item.version)  # saw version 1 too
    assert first.status_code == 200 and "整改中" in _text(first), _text(first)
    assert second.status_code == 200 and "冲突" in _text(second) and "dou" in _text(second), _text(second)
    history = ledger_store.item_history(store, Actor.system(), item.item_id)
    assert [(v.status, v.updated_by) for v in history] == [("open", "dou"), ("in_progress", "dou")]


@pytest.mark.parametrize(("name", "status"), [("lin", 403), ("ana", 403), ("xu", 200)])
def test_nobody_else_changes_an_items_status(loop_app, name: str, status: int) -> None:
    app, store = loop_app
    item = _opened(store)
    r = _set_status(_login(app, name), item.item_id, "done", item.version)
    assert r.status_code == status, _text(r)
    assert [v.version for v in ledger_store.item_history(store, Actor.system(), item.item_id)] == [1]


def _comment(client, item_id: int, text: str):
    return _call(client, [("ledger-msg", "children"), ("ledger-refreshed", "data"), ("ledger-comment", "value")],
                 [("ledger-comment-add", "n_clicks", 1)],
                 [("ledger-selected", "data", str(item_id)), ("ledger-comment", "value", text),
                  ("ledger-refreshed", "data", 0), ("ledger-lang", "data", "zh")])


@pytest.mark.parametrize("name", ["ana", "lin", "dou"])
def test_assessors_leaders_and_the_districts_officials_comment(loop_app, name: str) -> None:
    app, store = loop_app
    item = _opened(store)
    text = '<script>alert(1)</script> =HYPERLINK("http://x") 已核实'
    r = _comment(_login(app, name), item.item_id, text)
    assert r.status_code == 200 and "已添加意见" in _text(r), _text(r)
    (stored,) = ledger_store.get_item(store, Actor.system(), item.item_id).comments
    assert (stored.text, stored.who) == (text, name)  # kept as text, never interpreted


def test_another_districts_official_cannot_comment(loop_app) -> None:
    app, store = loop_app
    item = _opened(store)
    r = _comment(_login(app, "xu"), item.item_id, "不是我区的事项")
    assert r.status_code == 200 and "无权" in _text(r), _text(r)
    assert ledger_store.get_item(store, Actor.system(), item.item_id).comments == ()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(client, item_id: int, name: str, data: bytes):
    contents = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    return _call(client, [("ledger-msg", "children"), ("ledger-refreshed", "data"), ("ledger-pending", "data")],
                 [("ledger-pending", "data", {"name": name, "contents": contents})],
                 [("ledger-selected", "data", str(item_id)), ("ledger-refreshed", "data", 0),
                  ("ledger-lang", "data", "zh")])


def test_the_official_uploads_evidence_and_it_can_be_downloaded_by_those_who_see_the_item(loop_app) -> None:
    app, store = loop_app
    item = _opened(store)
    official = _login(app, "dou")
    r = _upload(official, item.item_id, "现场照片.png", PNG)
    assert r.status_code == 200 and "已上传" in _text(r), _text(r)
    (ev,) = ledger_store.get_item(store, Actor.system(), item.item_id).evidence
    got = _login(app, "lin").get(f"/download/evidence/{ev.evidence_id}")
    assert got.status_code == 200 and got.data == PNG
    assert "attachment" in got.headers["Content-Disposition"]
    assert _login(app, "xu").get(f"/download/evidence/{ev.evidence_id}").status_code == 403


@pytest.mark.parametrize(("name", "data", "words"), [
    ("run.exe", b"MZ" + b"\x00" * 100, "不被接受"),
    ("note.pdf", b"<html><script>x</script></html>", "不被接受"),
    ("photo.pdf", PNG, "不符"),
])
def test_forbidden_evidence_is_refused_in_words(loop_app, name: str, data: bytes, words: str) -> None:
    app, store = loop_app
    item = _opened(store)
    r = _upload(_login(app, "dou"), item.item_id, name, data)
    assert r.status_code == 200 and words in _text(r), _text(r)
    assert ledger_store.get_item(store, Actor.system(), item.item_id).evidence == ()


def test_evidence_over_the_size_limit_is_refused_on_the_server_too(tmp_path: Path, fixture_db: Path,
                                                                   weights_dir: Path) -> None:
    from app.server import create_app

    users = tmp_path / "users.toml"
    add_user(users, "dou", "district_official", PASSWORD, OWN)
    config = app_config(fixture_db, weights_dir, rank_samples=0, loop_db=str(tmp_path / "loop.sqlite"),
                        evidence_dir=str(tmp_path / "evidence"), evidence_max_mb=0.001)
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    store = LoopStore.for_config(config)
    item = _opened(store)
    r = _upload(_login(app, "dou"), item.item_id, "big.png", PNG + b"\x00" * 4000)
    assert r.status_code == 200 and "超过上限" in _text(r), _text(r)
    assert ledger_store.get_item(store, Actor.system(), item.item_id).evidence == ()


@pytest.mark.parametrize("name", ["lin", "ana", "xu"])
def test_nobody_but_the_districts_officials_uploads_evidence(loop_app, name: str) -> None:
    app, store = loop_app
    item = _opened(store)
    r = _upload(_login(app, name), item.item_id, "x.png", PNG)
    assert r.status_code in (200, 403), _text(r)
    assert ledger_store.get_item(store, Actor.system(), item.item_id).evidence == ()


# -- downloads -------------------------------------------------------------------------------------------------
def test_an_official_downloads_only_their_own_districts_ledger(loop_app) -> None:
    app, store = loop_app
    _opened(store)
    _opened(store, OTHER, "xu")
    official = _login(app, "dou")
    own = official.get(f"/download/ledger.xlsx?district={OWN}")
    assert own.status_code == 200 and own.data[:2] == b"PK"
    assert official.get(f"/download/ledger.xlsx?district={OTHER}").status_code == 403
    city = _login(app, "lin").get("/download/ledger.xlsx")
    assert city.status_code == 200 and city.data[:2] == b"PK"


# -- alerts ----------------------------------------------------------------------------------------------------
def _alerts(store: LoopStore) -> None:
    alert_store.record(store, [
        alert_store.AlertDraft("rank_drop", "t-own", unit_code=OWN, params={"places": 4, "old": 3, "new": 7}),
        alert_store.AlertDraft("rank_drop", "t-other", unit_code=OTHER, params={"places": 5, "old": 2, "new": 7}),
    ])


def _mark(client, alert_id: int | None):
    """Press one alert's 标为已读 button (`alert_id`), or 全部标为已读 (None)."""
    buttons = [] if alert_id is None else [
        {"id": {"type": "alerts-mark", "alert": str(alert_id)}, "property": "n_clicks", "value": 1}]
    changed = ("alerts-mark-all.n_clicks" if alert_id is None
               else f'{{"alert":"{alert_id}","type":"alerts-mark"}}.n_clicks')
    deps = client.get("/_dash-dependencies").get_json()
    out = next(d["output"] for d in deps if "alerts-msg.children" in d["output"])
    payload = {"output": out, "outputs": [{"id": "alerts-msg", "property": "children"},
                                          {"id": "alerts-refreshed", "property": "data"}],
               "inputs": [{"id": "alerts-mark-all", "property": "n_clicks", "value": 1 if alert_id is None else 0},
                          buttons],
               "state": [{"id": "alerts-refreshed", "property": "data", "value": 0},
                         {"id": "alerts-lang", "property": "data", "value": "zh"}],
               "changedPropIds": [changed]}
    return client.post("/_dash-update-component", json=payload, headers=ORIGIN)


def test_marking_read_changes_only_the_persons_own_read_state(loop_app) -> None:
    app, store = loop_app
    _alerts(store)
    own = next(a for a in alert_store.list_alerts(store, Actor.system()) if a.unit_code == OWN)
    r = _mark(_login(app, "dou"), own.alert_id)
    assert r.status_code == 200 and "已标为已读 1 条" in _text(r), _text(r)
    assert alert_store.unread_count(store, Actor("dou", "district_official", OWN)) == 0
    assert alert_store.unread_count(store, Actor("lin", "leader")) == 2  # the leader's own state is untouched


def test_an_official_cannot_mark_another_districts_alert(loop_app) -> None:
    app, store = loop_app
    _alerts(store)
    other = next(a for a in alert_store.list_alerts(store, Actor.system()) if a.unit_code == OTHER)
    r = _mark(_login(app, "dou"), other.alert_id)
    assert r.status_code == 200 and "没有编号" in _text(r), _text(r)
    assert alert_store.unread_count(store, Actor("xu", "district_official", OTHER)) == 1


def test_mark_all_marks_what_the_person_sees(loop_app) -> None:
    app, store = loop_app
    _alerts(store)
    r = _mark(_login(app, "lin"), None)
    assert r.status_code == 200 and "已标为已读 2 条" in _text(r), _text(r)
    assert alert_store.unread_count(store, Actor("dou", "district_official", OWN)) == 1


def test_the_bell_shows_the_persons_unread_count(loop_app) -> None:
    app, store = loop_app
    _alerts(store)
    for name, n in (("dou", "1"), ("lin", "2")):
        r = _call(_login(app, name), [("alerts-bell", "children"), ("alerts-bell", "href"), ("alerts-bell", "title")],
                  [("url", "pathname", "/"), ("url", "search", ""), ("alerts-bell-tick", "n_intervals", 0)])
        assert r.status_code == 200, _text(r)
        assert f'"children":"{n}"' in _text(r).replace(" ", ""), _text(r)


@pytest.mark.parametrize(("lang", "words"), [("zh", "立项时 61.0，当前 "), ("en", "opened at 61.0, now ")])
def test_an_item_shows_its_value_when_opened_and_now(loop_app, lang: str, words: str) -> None:
    """"opened at 62.1, now 71.4": the value stored when the item was opened beside the live snapshot's value."""
    app, store = loop_app
    item = _opened(store)
    r = _call(_login(app, "lin"),
              [("ledger-detail", "children"), ("ledger-actions", "style"), ("ledger-version", "data"),
               ("ledger-new-status", "value"), ("ledger-comment-add", "disabled"), ("ledger-status-set", "disabled"),
               ("ledger-upload", "disabled")],
              [("ledger-selected", "data", str(item.item_id)), ("ledger-refreshed", "data", 0)],
              [("ledger-lang", "data", lang)])
    assert r.status_code == 200, _text(r)
    body = r.get_json()["response"]
    assert words in _text(r), _text(r)
    # a leader comments but does not change the item: status and upload stay disabled
    assert body["ledger-comment-add"]["disabled"] is False
    assert body["ledger-status-set"]["disabled"] is True and body["ledger-upload"]["disabled"] is True
