"""Role rules enforced on the server: each role calls the Dash callback endpoints and download routes directly."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from app.web.auth_config import AuthSettings
from etl.stores.users import add_user
from tests.app.conftest import app_config

ORIGIN = {"Origin": "http://localhost"}
PASSWORD = "role-test-password"
ROLE_USERS = {"leader": ("lin", None), "assessor": ("ana", None), "district_official": ("dou", "310115"),
              "admin": ("adm", None)}
EDITORS = {"assessor", "admin"}


@pytest.fixture()
def role_app(tmp_path: Path, fixture_db: Path, weights_dir: Path):
    from app.server import create_app

    users = tmp_path / "users.toml"
    for role, (name, district) in ROLE_USERS.items():
        add_user(users, name, role, PASSWORD, district)
    return create_app(app_config(fixture_db, weights_dir, rank_samples=0),
                      auth=AuthSettings(mode="users", users_file=users))


def _client(app, role: str):
    client = app.server.test_client()
    page = client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": ROLE_USERS[role][0], "password": PASSWORD, "csrf_token": token},
                    headers=ORIGIN)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def _call(client, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]],
          state: list[tuple[str, str, object]] = (), changed: str | None = None):
    """POST /_dash-update-component exactly as the browser does for a callback (output ids as registered)."""
    wanted = outputs[0][0] + "." + outputs[0][1] if len(outputs) == 1 else \
        ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
    deps = client.get("/_dash-dependencies").get_json() or []
    out_str = next((d["output"] for d in deps if re.sub(r"@[0-9a-f]+", "", d["output"]) == wanted), wanted)
    parts = out_str.strip(".").split("...") if len(outputs) > 1 else [out_str]
    props = [p.split(".", 1)[1] for p in parts]
    payload = {
        "output": out_str,
        "outputs": ({"id": outputs[0][0], "property": props[0]} if len(outputs) == 1
                    else [{"id": i, "property": p} for (i, _), p in zip(outputs, props, strict=True)]),
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [changed or f"{inputs[0][0]}.{inputs[0][1]}"],
    }
    return client.post("/_dash-update-component", json=payload, headers=ORIGIN)


def _save(client, ctx_weights: dict, name: str):
    return _call(
        client, [("weights-save-msg", "children"), ("profiles-version", "data")],
        [("weights-save", "n_clicks", 1)],
        [("weights-name", "value", name), ("weights-author", "value", "tester"),
         ("weights-rationale", "value", "角色测试 role test"), ("weights-current", "data", ctx_weights),
         ("weights-derived", "data", []), ("profile-select", "value", "user-centred"),
         ("profiles-version", "data", 0), ("weights-lang", "data", "zh"), ("weights-title", "value", "角色测试方案"),
         ("weights-title-en", "value", None)],
    )


def _publish(client, name: str, version: int):
    return _call(
        client, [("hist-pub-msg", "children"), ("hist-refreshed", "data"), ("profiles-version", "data")],
        [("hist-publish", "n_clicks", 1)],
        [("hist-profile", "value", name), ("hist-pub-version", "value", version),
         ("hist-pub-rationale", "value", "经评审 reviewed"), ("hist-refreshed", "data", 0),
         ("profiles-version", "data", 0), ("hist-lang", "data", "zh")],
    )


def _sens_start(client):
    return _call(client, [("sens-job", "data"), ("sens-poll", "disabled")], [("sens-run", "n_clicks", 1)],
                 [("sens-factors", "value", ["weights"]), ("sens-n", "value", 100),
                  ("profile-select", "value", "user-centred")])


def _sens_cancel(client):
    return _call(client, [("sens-status", "children")], [("sens-cancel", "n_clicks", 1)],
                 [("sens-job", "data", "no-such-job"), ("sens-lang", "data", "zh")])


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_state_changing_callbacks_are_refused_for_viewers(role_app, role: str, weights_dir: Path) -> None:
    from app.state import get_context

    client = _client(role_app, role)
    client.get("/_dash-dependencies")
    ctx = get_context()
    weights = ctx.current_profiles()["user-centred"].resolved_weights(ctx.framework)
    name = f"by-{role.replace('_', '-')}"
    allowed = role in EDITORS
    r = _save(client, weights, name)
    assert r.status_code == (200 if allowed else 403), r.get_data(as_text=True)[:300]
    assert (weights_dir / f"{name}.toml").is_file() == allowed
    r = _publish(client, "user-centred", 1)
    assert r.status_code == (200 if allowed else 403)
    assert (weights_dir / "history" / "user-centred" / "published.json").is_file() == allowed
    r = _sens_start(client)
    assert r.status_code == (200 if allowed else 403)
    if allowed:
        ctx.jobs.cancel(r.get_json()["response"]["sens-job"]["data"])
    r = _sens_cancel(client)
    assert r.status_code in ((200, 204) if allowed else (403,))  # an unknown job id is simply no update
    if not allowed:
        assert "may not" in r.get_data(as_text=True)


def test_saves_and_publications_are_audited_with_the_signed_in_user(role_app, weights_dir: Path) -> None:
    from app.state import get_context
    from etl.stores.audit_trail import read_trail, verify_trail

    client = _client(role_app, "assessor")
    client.get("/_dash-dependencies")
    ctx = get_context()
    weights = dict(ctx.current_profiles()["user-centred"].resolved_weights(ctx.framework))
    weights["supply"], weights["demand"] = 0.3, 0.7
    assert _save(client, weights, "audited").status_code == 200
    assert _publish(client, "audited", 1).status_code == 200
    trail = read_trail(weights_dir, "audited")
    assert [(r["event"], r["version"], r["who"], r["role"]) for r in trail] == [
        ("save", 1, "ana", "assessor"), ("publish", 1, "ana", "assessor")]
    assert trail[0]["rationale"] == "角色测试 role test" and trail[1]["rationale"] == "经评审 reviewed"
    assert verify_trail(weights_dir) == 2
    r = client.get("/download/audit.csv?profile=audited")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["event"] for row in rows] == ["save", "publish"]
    assert client.get("/download/audit.csv?profile=../../etc").status_code == 400


def test_leaders_see_the_published_version_editors_the_current(role_app, weights_dir: Path) -> None:
    from app.state import get_context
    from etl.stores.profiles import load_profile, publish_profile, save_profile

    base = load_profile("user-centred", weights_dir)
    publish_profile("user-centred", base.version, "chief", "the reviewed weights", weights_dir)
    newer = save_profile(base.with_weights({"supply": 0.9, "demand": 0.1}), weights_dir, who="ana")
    assert newer.version == base.version + 1
    seen = {}
    for role in ("leader", "district_official", "assessor"):
        client = _client(role_app, role)
        with role_app.server.test_request_context():
            from flask import g

            from app.web.security import Identity

            g.govindex_identity = Identity(name="x", role=role, district_code="310115"
                                           if role == "district_official" else None)
            seen[role] = get_context().profile("user-centred").version
        assert client.get("/_dash-layout").status_code == 200
    assert seen == {"leader": base.version, "district_official": base.version, "assessor": newer.version}


def _all_props(tree: object) -> list[dict]:
    """The props of every component in a Dash layout or callback response (JSON)."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("props"), dict) and "type" in node:
                out.append(node["props"])
            stack.extend(node.values())
    return out


def _props(tree: object, component_id: object) -> dict | None:
    """The props of the component with id `component_id` in a Dash layout or callback response (JSON), or None."""
    return next((p for p in _all_props(tree) if p.get("id") == component_id), None)


def test_the_weights_pages_first_layout_is_what_its_callbacks_give_each_role(role_app, weights_dir: Path) -> None:
    """Issue 16 goal 4: the weights page's controls and ranking are drawn into its first layout, so they must follow
    the role rules exactly as the callbacks that redraw them: a leader (and a district official) the published
    version of a profile, an assessor the current one, and the save button only for those who may edit weights."""
    from etl.stores.profiles import load_profile, publish_profile, save_profile

    base = load_profile("user-centred", weights_dir)
    publish_profile("user-centred", base.version, "chief", "the reviewed weights", weights_dir)
    save_profile(base.with_weights({"supply": 0.9, "demand": 0.1}), weights_dir, who="ana")
    blends = {}
    for role in ("leader", "district_official", "assessor"):
        client = _client(role_app, role)
        r = client.get("/_dash-layout", headers={"Referer": "http://localhost/weights?lang=en"})
        assert r.status_code == 200
        layout = r.get_json()
        blend, current = _props(layout, "weights-blend"), _props(layout, "weights-current")
        assert blend is not None and current is not None, "the layout carries the controls and the ranking"
        assert _props(layout, "weights-save")["disabled"] == (role not in EDITORS), role
        drawn_units = [li["props"]["data-unit"] for li in _props(layout, "weights-ranking-list")["children"]]
        # the controls as the reset button redraws them for this role, then the ranking `live` computes for them
        r = _call(client, [("weights-controls", "children"), ("weights-pending", "data"), ("weights-drawn", "data")],
                  [("weights-wanted", "data", None), ("weights-reset", "n_clicks", 1)],
                  [("profile-select", "value", "user-centred"), ("weights-lang", "data", "en")],
                  changed="weights-reset.n_clicks")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        controls = r.get_json()["response"]["weights-controls"]["children"]
        assert _props(controls, "weights-blend")["value"] == blend["value"], role
        sliders = [p for p in _all_props(controls) if isinstance(p.get("id"), dict) and p["id"]["type"] == "wslider"]
        assert sliders and all(_props(layout, p["id"])["value"] == p["value"] for p in sliders), role
        out = next(d["output"] for d in client.get("/_dash-dependencies").get_json()
                   if d["output"].startswith("..weights-ranking-list.children"))
        names = ["weights-ranking-list.children", "weights-ranking-fig.figure", "weights-effective-fig.figure", None,
                 "weights-timing.children", "weights-current.data", "weights-invalid.children",
                 "weights-invalid.hidden"]
        outputs = [{"id": n.split(".")[0], "property": n.split(".")[1]} if n else
                   [{"id": {"type": "wshare", "node": p["id"]["node"]}, "property": "children"} for p in sliders]
                   for n in names]
        r = client.post("/_dash-update-component", headers=ORIGIN, json={
            "output": out, "outputs": outputs,
            "inputs": [{"id": "weights-blend", "property": "value", "value": blend["value"]},
                       [{"id": p["id"], "property": "value", "value": p["value"]} for p in sliders],
                       {"id": "weights-pending", "property": "data", "value": {}}],
            "state": [[{"id": p["id"], "property": "id", "value": p["id"]} for p in sliders],
                      {"id": "profile-select", "property": "value", "value": "user-centred"},
                      {"id": "weights-lang", "property": "data", "value": "en"}],
            "changedPropIds": ["weights-pending.data"]})
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        response = r.get_json()["response"]
        assert response["weights-current"]["data"] == current["data"], role
        assert [li["props"]["data-unit"] for li in response["weights-ranking-list"]["children"]] == drawn_units, role
        blends[role] = blend["value"]
    assert blends["district_official"] == blends["leader"] != 0.1 and blends["assessor"] == 0.1, blends


def test_district_officials_get_only_their_quarantined_rows(role_app, tmp_path: Path) -> None:
    for role, expect in (("district_official", 2), ("leader", 2)):
        client = _client(role_app, role)
        r = client.get("/download/quarantine.csv")
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
        assert len(rows) == expect and {row["district_code"] for row in rows} == {"310115"}
    # an official of another district sees none, through the route and through the grid callback
    users = tmp_path / "users.toml"
    add_user(users, "xu", "district_official", PASSWORD, "310104")
    ROLE_USERS["_other"] = ("xu", "310104")
    try:
        client = _client(role_app, "_other")
    finally:
        del ROLE_USERS["_other"]
    r = client.get("/download/quarantine.csv")
    assert list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")))) == []
    client.get("/_dash-dependencies")
    r = _call(client, [("dq-quarantine", "children"), ("dq-quarantine-count", "children")],
              [("dq-filter-table", "value", None), ("dq-filter-district", "value", ["310115"]),
               ("dq-filter-reason", "value", None)], [("dq-lang", "data", "zh")])
    assert r.status_code == 200, r.text[:300]
    shown = r.get_json()["response"]["dq-quarantine"]["children"]  # no rows: a static table, its body empty
    assert shown["type"] == "StaticHtml" and "<tbody></tbody>" in shown["props"]["children"]
    r = _call(client, [("dq-csv-download", "data")], [("dq-csv", "n_clicks", 1)],
              [("dq-filter-table", "value", None), ("dq-filter-district", "value", ["310115"]),
               ("dq-filter-reason", "value", None)])
    content = r.get_json()["response"]["dq-csv-download"]["data"]["content"]
    assert "310115" not in content


def test_every_download_and_callback_needs_a_signed_in_user(role_app) -> None:
    client = role_app.server.test_client()
    assert client.get("/download/quarantine.csv").status_code == 401
    assert client.get("/download/audit.csv").status_code == 401
    assert _save(client, {}, "anon").status_code == 401


def test_district_page_shows_quarantined_rows_only_to_those_who_may_see_them(role_app, tmp_path: Path) -> None:
    """The district profile and its XLSX export list the district's quarantined rows: an official of another
    district opening /district/310115 must not get them (issue 8: officials see only their own district's rows)."""
    users = tmp_path / "users.toml"
    add_user(users, "xu", "district_official", PASSWORD, "310104")
    ROLE_USERS["_other"] = ("xu", "310104")
    try:
        seen = {}
        for role in ("_other", "district_official", "leader"):
            client = _client(role_app, role)
            client.get("/_dash-dependencies")
            r = _call(client, [("district-body", "children"), ("district-drawn", "data")],
                      [("district-wanted", "data", {"profile": "user-centred", "period": None})],
                      [("district-code", "data", "310115"), ("district-lang", "data", "en"),
                       ("district-parent", "data", None)])
            assert r.status_code == 200
            body = r.get_data(as_text=True)
            # the body drawn into the first layout (app/web/initial_page.py) obeys the same rule as the callback
            r = client.get("/_dash-layout", headers={"Referer": "http://localhost/district/310115?lang=en"})
            assert r.status_code == 200
            layout = r.get_data(as_text=True)
            assert "district-summary" in layout, "the layout carries the district's body"
            assert ("case_310115.csv" in layout, "may see only your own district" in layout) == \
                ("case_310115.csv" in body, "may see only your own district" in body), role
            r = _call(client, [("district-download", "data")], [("district-export", "n_clicks", 1)],
                      [("profile-select", "value", "user-centred"), ("district-code", "data", "310115"),
                       ("district-lang", "data", "en"), ("district-period", "value", None)])
            assert r.status_code == 200
            import base64
            import zipfile

            xlsx = base64.b64decode(r.get_json()["response"]["district-download"]["data"]["content"])
            with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
                strings = z.read("xl/sharedStrings.xml").decode()
            # the page says why there are none to show, rather than "no quarantined rows" (issue 14.5)
            seen[role] = ("case_310115.csv" in body, "case_310115.csv" in strings,
                          "may see only your own district" in body, "No quarantined rows" in body)
    finally:
        ROLE_USERS.pop("_other", None)
    assert seen == {"_other": (False, False, True, False), "district_official": (True, True, False, False),
                    "leader": (True, True, False, False)}


def test_compare_ranks_the_current_weights_with_the_selected_profiles_methods(role_app, weights_dir: Path) -> None:
    """The "current" column of the comparison must be the ranking shown beside it (the selected profile's methods),
    not a re-aggregation of the default profile's normalised tensor."""
    from app.views import frames as views
    from app.state import get_context

    text = (weights_dir / "user-centred.toml").read_text(encoding="utf-8")
    text = text.replace('name = "user-centred"', 'name = "ranked"').replace(
        'name = "goalposts"', 'name = "prank"')
    assert 'name = "prank"' in text
    (weights_dir / "ranked.toml").write_text(text, encoding="utf-8")
    ctx = get_context()
    prof = ctx.current_profiles()["ranked"]
    w = prof.resolved_weights(ctx.framework)
    expect = views.live_ranking(ctx, ctx.prepared(prof), w, None, "en")
    default = views.live_ranking(ctx, ctx.prepared(ctx.profile(None)), w, None, "en")
    assert expect["unit_code"].to_list() != default["unit_code"].to_list(), "the methods must change the ranking"
    client = _client(role_app, "assessor")
    client.get("/_dash-dependencies")
    r = _call(client, [("weights-compare-fig", "figure"), ("weights-compare-table", "children")],
              [("weights-current", "data", w), ("weights-compare", "value", ["equal"])],
              [("weights-lang", "data", "en"), ("profile-select", "value", "ranked")])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    rows = r.get_json()["response"]["weights-compare-table"]["children"]["props"]["rowData"]
    assert {row["name"]: row["r0"] for row in rows} == dict(zip(expect["name"], expect["rank"], strict=True))


def test_the_app_asks_the_store_for_the_published_view(role_app, monkeypatch: pytest.MonkeyPatch) -> None:
    """The published-profile view is the store's (etl.stores.profiles.viewer_profiles), not re-implemented here."""
    import app.state
    from app.state import get_context
    from app.web.security import Identity
    from flask import g

    calls: list[str] = []

    def spy(current, directory, **kw):
        calls.append(str(directory))
        return dict(current)

    monkeypatch.setattr(app.state, "viewer_profiles", spy)
    ctx = get_context()
    ctx._published_key = None
    with role_app.server.test_request_context():
        g.govindex_identity = Identity(name="x", role="leader")
        ctx.profiles()
    assert calls == [str(ctx.weights_dir)]
