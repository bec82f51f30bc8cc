"""The alerts page at many units (issue 20; the national demo's first refresh stored an alert per county): past
many_units.MANY alerts the list is a virtualised grid with every alert (not the newest 200 as table rows with a
button each), filtered by parent unit, peer group or a search, and its ticked rows are marked read together.
Server-side, as the browser POSTs the callbacks, on a small synthetic many-unit warehouse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.web.auth_config import AuthSettings
from etl.stores import alerts as alert_store
from etl.stores.loop import Actor, LoopStore
from etl.stores.users import add_user
from tests.app.conftest import app_config
from tests.app.many_units_warehouse import build, unit_table
from tests.app.pages.test_loop_callbacks import PASSWORD, _login
from tests.app.web.test_roles import ORIGIN, _call

N_UNITS = 120
LEADER = Actor("lin", "leader")


@pytest.fixture()
def many_app(tmp_path: Path, weights_dir: Path):
    from app.server import create_app

    base = tmp_path
    db = build(base / "warehouse.duckdb", n_units=N_UNITS, quarters=("2025Q1",))
    users = base / "users.toml"
    add_user(users, "lin", "leader", PASSWORD, None)
    config = app_config(db, weights_dir, rank_samples=0, loop_db=str(base / "loop.sqlite"))
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    store = LoopStore.for_config(config)
    codes = unit_table(N_UNITS)["district_code"].to_list()
    alert_store.record(store, [alert_store.AlertDraft("missing", f"m:{u}", u, params={"missing": 20, "total": 49,
                                                                                       "period_zh": "2025年第一季度",
                                                                                       "period_en": "2025 Q1"})
                               for u in codes[:-1]] + [alert_store.AlertDraft("overdue", "o:1", None, params={
                                   "item": 1, "problem": "x", "due": "2025-03-31", "owner": "张三"})])
    return app, store, _login(app, "lin")


def _show(client, query: str = "", parent: str = "", peer: str = "", unread: bool = False) -> dict:
    r = _call(client, [("alerts-list", "children"), ("alerts-filters", "style"), ("alerts-parent", "options"),
                       ("alerts-peer", "options")],
              [("alerts-refreshed", "data", 0), ("alerts-unread-only", "value", ["unread"] if unread else []),
               ("alerts-search", "value", query), ("alerts-parent", "value", parent), ("alerts-peer", "value", peer)],
              [("alerts-lang", "data", "zh")])
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_json()["response"]


def _grid_rows(resp: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "alerts-grid":
                found.extend(node["props"]["rowData"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(resp["alerts-list"]["children"])
    return found


def test_many_alerts_are_a_filterable_grid_of_every_alert_not_a_button_per_row(many_app) -> None:
    app, store, client = many_app
    resp = _show(client)
    rows = _grid_rows(resp)
    assert len(rows) == N_UNITS  # every alert, also past the old 200-row page
    assert "alerts-mark" not in json.dumps(resp["alerts-list"]).replace("alerts-mark-selected", "")
    assert resp["alerts-filters"]["style"] is None  # the filters are shown
    units = unit_table(N_UNITS)
    parents = [o["value"] for o in resp["alerts-parent"]["options"] if o["value"]]
    assert len(parents) > 1 and {r["parent"] for r in rows} - {""} == set(parents)
    one = parents[0]
    shown = _grid_rows(_show(client, parent=one))
    assert shown and all(r["parent"] == one for r in shown) and len(shown) < len(rows)
    code = units["district_code"][5]
    assert [r["alert_id"] for r in _grid_rows(_show(client, query=code))] == [
        a.alert_id for a in alert_store.list_alerts(store, LEADER, limit=10_000) if a.unit_code == code]
    peer = next(o["value"] for o in resp["alerts-peer"]["options"] if o["value"])
    assert all(r["peer_group"] == peer for r in _grid_rows(_show(client, peer=peer)))


def test_ticked_alerts_are_marked_read_together(many_app) -> None:
    app, store, client = many_app
    before = alert_store.unread_count(store, LEADER)
    picked = _grid_rows(_show(client, unread=True))[:3]
    deps = client.get("/_dash-dependencies").get_json()  # the mark-selected callback (its outputs are shared)
    out = next(d["output"] for d in deps if any(i["id"] == "alerts-mark-selected" for i in d["inputs"]))
    ids = [p.split(".")[0] for p in out.strip(".").split("...")]
    r = client.post("/_dash-update-component", headers=ORIGIN, json={
        "output": out, "outputs": [{"id": i, "property": p.split(".")[1].split("@")[0]} for i, p in
                                   zip(ids, out.strip(".").split("..."), strict=True)],
        "inputs": [{"id": "alerts-mark-selected", "property": "n_clicks", "value": 1}],
        "state": [{"id": "alerts-grid", "property": "selectedRows", "value": picked},
                  {"id": "alerts-refreshed", "property": "data", "value": 0},
                  {"id": "alerts-lang", "property": "data", "value": "zh"}],
        "changedPropIds": ["alerts-mark-selected.n_clicks"]})
    assert r.status_code == 200 and "已标为已读 3 条" in r.get_data(as_text=True), r.get_data(as_text=True)[:500]
    assert alert_store.unread_count(store, LEADER) == before - 3
    assert len(_grid_rows(_show(client, unread=True))) == before - 3


def test_a_few_alerts_stay_a_table_with_a_button_each(tmp_path: Path, fixture_db: Path, weights_dir: Path) -> None:
    from app.server import create_app

    users = tmp_path / "users.toml"
    add_user(users, "lin", "leader", PASSWORD, None)
    config = app_config(fixture_db, weights_dir, rank_samples=0, loop_db=str(tmp_path / "loop.sqlite"))
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    alert_store.record(LoopStore.for_config(config), [alert_store.AlertDraft("missing", "m1", "310104", params={
        "missing": 3, "total": 49, "period_zh": "2025年第一季度", "period_en": "2025 Q1"})])
    resp = _show(_login(app, "lin"))
    text = json.dumps(resp["alerts-list"])
    assert "alerts-table" in text and re.search(r'"type": "alerts-mark"', text) and not _grid_rows(resp)
    assert resp["alerts-filters"]["style"] == {"display": "none"}
