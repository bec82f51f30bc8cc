"""The comparison page (app/pages/compare.py) through the server's callback: each indicator value's hover carries
its 95% interval and n, and its red/amber/green status against the target (the district page's rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.web.auth_config import AuthSettings
from etl.stores import targets as target_store
from etl.stores.loop import Actor, LoopStore
from etl.stores.users import add_user
from tests.app.conftest import app_config, with_intervals
from tests.app.web.test_roles import PASSWORD, ROLE_USERS, _call, _client

UNITS = ["310115", "310104"]
INDICATOR = "hotline_ontime_rate"


@pytest.fixture()
def compare_app(tmp_path: Path, fixture_db: Path, weights_dir: Path):
    from app.server import create_app

    users = tmp_path / "users.toml"
    for role, (name, district) in ROLE_USERS.items():
        add_user(users, name, role, PASSWORD, district)
    config = app_config(with_intervals(fixture_db, tmp_path / "w.duckdb"), weights_dir, rank_samples=0,
                        loop_db=str(tmp_path / "loop.sqlite"), evidence_dir=str(tmp_path / "evidence"))
    app = create_app(config, auth=AuthSettings(mode="users", users_file=users))
    return app, LoopStore.for_config(config)


def _cells(node: object, out: list[dict]) -> list[dict]:
    """Every Td of a Dash JSON tree with its props, in document order."""
    if isinstance(node, list):
        for n in node:
            _cells(n, out)
    elif isinstance(node, dict):
        props = node.get("props", {})
        if node.get("type") == "Td":
            out.append(props)
        _cells(props.get("children"), out)
    return out


def _indicator_rows(body: list) -> dict[str, list[dict]]:
    """indicator → the props of its row's cells, from the comparison's indicator table."""
    rows: dict[str, list[dict]] = {}

    def walk(node: object) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            props = node.get("props", {})
            if node.get("type") == "Tr" and "data-indicator" in props:
                rows[props["data-indicator"]] = _cells(props.get("children"), [])
            else:
                walk(props.get("children"))
    walk(body)
    return rows


def test_indicator_values_carry_their_interval_and_target_status(compare_app) -> None:
    from app.state import get_context  # the app under test sets the context when it is created
    from app.ui import ledger_model
    from app.views import frames as views

    app, store = compare_app
    ctx = get_context()
    year = ctx.prepared(ctx.profile(None)).default_period[:4]  # a year's target holds for its quarters
    assessor = Actor("ana", "assessor")
    target_store.set_target(store, assessor, UNITS[0], INDICATOR, year, 0, "达标对照 met on purpose")
    target_store.set_target(store, assessor, UNITS[1], INDICATOR, year, 100, "未达标对照 missed on purpose")
    r = _call(_client(app, "assessor"), [("compare-body", "children")],
              [("profile-select", "value", "user-centred"), ("compare-units", "value", UNITS),
               ("compare-period", "value", None)], [("compare-lang", "data", "zh")])
    assert r.status_code == 200, r.get_data(as_text=True)
    body = json.loads(r.get_data(as_text=True))["response"]["compare-body"]["children"]
    rows = _indicator_rows(body)
    for i, unit in enumerate(UNITS):
        dp = views.district_profile(ctx, unit, "user-centred", "zh")
        texts = dict(zip(dp.indicators["indicator"], dp.indicators["interval_text"], strict=True))
        statuses = ledger_model.rag_statuses(ctx, unit, dp.period)
        for ind, cells in rows.items():
            cell = cells[4 + i]  # label, dimension, direction, unit, then one cell per district
            assert cell.get("title") == texts[ind], (unit, ind)
            want = statuses[ind].status if ind in statuses else "none"
            assert cell.get("data-rag", "none") == want, (unit, ind)
        assert "95% 区间" in texts[INDICATOR] and "样本量" in texts[INDICATOR]
    assert rows[INDICATOR][4]["data-rag"] == "green" and rows[INDICATOR][5]["data-rag"] == "red"
    text = json.dumps(rows[INDICATOR], ensure_ascii=False)
    assert "已达标" in text and "未达标" in text
    gone = rows["unprompted_satisfaction"][4]
    assert gone["title"].startswith("不显示：样本太少")
