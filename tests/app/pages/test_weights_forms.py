"""The weights page's save form and the history page's audit grid, through the server's callbacks (issue 14:
a Chinese title when saving, the code derived or explained in Chinese; the "变化" column names only what moved)."""

from __future__ import annotations

import json
from pathlib import Path

from etl.stores.profiles import load_profile
from tests.app.web.test_roles import _call, _client, role_app  # noqa: F401 - role_app is a fixture

SAVE_OUT = [("weights-save-msg", "children"), ("profiles-version", "data")]


def _save(client, weights: dict, *, title: str | None, name: str | None):
    return _call(
        client, SAVE_OUT, [("weights-save", "n_clicks", 1)],
        [("weights-name", "value", name), ("weights-author", "value", "评估机构"),
         ("weights-rationale", "value", "需求侧更重"), ("weights-current", "data", weights),
         ("weights-derived", "data", []), ("profile-select", "value", "user-centred"),
         ("profiles-version", "data", 0), ("weights-lang", "data", "zh"), ("weights-title", "value", title),
         ("weights-title-en", "value", None)],
    )


def _weights(blend: float) -> dict:
    from app.state import get_context  # the app under test sets the context when it is created

    ctx = get_context()
    w = dict(ctx.current_profiles()["user-centred"].resolved_weights(ctx.framework))
    w["supply"], w["demand"] = 1 - blend, blend
    return w


def test_saving_takes_a_chinese_title_and_derives_the_code(role_app, weights_dir: Path) -> None:
    client = _client(role_app, "assessor")
    r = _save(client, _weights(0.7), title="需求优先方案", name=None)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "status-ok" in body, body
    saved = load_profile("profile-1", weights_dir)  # an all-Chinese title: the first free 'profile-N'
    assert saved.title_zh == "需求优先方案"
    assert "需求优先方案" in json.loads(body)["response"]["weights-save-msg"]["children"]["props"]["children"]
    # the same title again is a new profile, never a silent new version of the first
    assert _save(client, _weights(0.6), title="需求优先方案", name=None).status_code == 200
    assert load_profile("profile-2", weights_dir).title_zh == "需求优先方案"
    assert load_profile("profile-1", weights_dir).version == 1
    # Latin words in the title make the code
    assert _save(client, _weights(0.6), title="Demand first 2026", name=None).status_code == 200
    assert load_profile("demand-first-2026", weights_dir).title_zh == "Demand first 2026"


def test_a_bad_code_is_explained_in_chinese_not_as_a_regex(role_app) -> None:
    client = _client(role_app, "assessor")
    body = _save(client, _weights(0.7), title="需求优先方案", name="User Centred").get_data(as_text=True)
    msg = json.loads(body)["response"]["weights-save-msg"]["children"]["props"]["children"]
    assert "小写英文字母" in msg and "User Centred" in msg
    assert "^[a-z0-9]" not in msg
    body = _save(client, _weights(0.7), title=None, name="ok-name").get_data(as_text=True)
    assert "请填写中文名称" in body  # the title is required


def test_the_audit_grid_shows_what_moved_in_chinese(role_app) -> None:
    client = _client(role_app, "assessor")
    assert _save(client, _weights(0.7), title="需求优先方案", name="demand-first").status_code == 200
    r = _call(client, [("hist-versions", "children"), ("hist-trail", "children"), ("hist-pub-version", "options"),
                       ("hist-pub-version", "value"), ("hist-export", "href")],
              [("hist-profile", "value", "demand-first"), ("hist-refreshed", "data", 0)],
              [("hist-lang", "data", "zh")])
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    trail = json.loads(r.get_data(as_text=True))["response"]["hist-trail"]["children"]
    grid = trail["props"]["children"][1]["props"]
    (row,) = grid["rowData"]
    assert row["event"] == "保存" and row["role"] == "评估人员"
    assert row["changes"].startswith("首个版本（与 ")  # compared against the profile it was made from
    assert "供给侧" in row["changes"] and "需求侧" in row["changes"]
    assert "weights." not in row["changes"] and row["changes"].count("→") == 2  # the blend only, not 63 keys
