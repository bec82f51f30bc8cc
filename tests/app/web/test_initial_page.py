"""The first layout response carries the requested page (app/web/initial_page.py; issue 14 first paint, issue 16
goal 4): before, `/_dash-layout` answered an empty page container and the page came one sequential round trip later
from Dash's router callback, on every first visit."""

from __future__ import annotations

import json
from pathlib import Path

from app.server import create_app
from app.web.auth import AuthSettings
from tests.app.conftest import app_config


def _layout(client, referrer: str | None) -> dict:
    headers = {"Referer": referrer} if referrer else {}
    r = client.get("/_dash-layout", headers=headers)
    assert r.status_code == 200
    return r.get_json()


def _find(node, wanted_id: str):
    """The component with id `wanted_id` in a layout's JSON, or None."""
    if isinstance(node, dict):
        if node.get("props", {}).get("id") == wanted_id:
            return node
        for v in (node.get("props", {}) if "props" in node else node).values():
            found = _find(v, wanted_id)
            if found is not None:
                return found
    elif isinstance(node, list):
        for v in node:
            found = _find(v, wanted_id)
            if found is not None:
                return found
    return None


def test_the_first_layout_holds_the_page_its_address_names(fixture_db: Path, weights_dir: Path) -> None:
    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))
    client = app.server.test_client()
    host = "http://localhost"
    names = [n for n in weights_dir.glob("*.toml")]
    other = sorted(p.stem for p in names)[-1]

    layout = _layout(client, f"{host}/methodology?lang=en&profile={other}")
    content = _find(layout, "_pages_content")
    assert content is not None and _find(content, "method-body") is not None, "the methodology page is not in it"
    assert _find(content, "method-lang")["props"]["data"] == "en"  # the query reaches the page's layout
    # both Locations are on the address already, so neither reports it on mount (no router call, no second shell
    # call); the picker is on the link's profile, so the page's callbacks need not wait for it
    for loc in ("_pages_location", "url"):
        props = _find(layout, loc)["props"]
        assert (props.get("pathname"), props.get("search")) == ("/methodology", f"?lang=en&profile={other}"), loc
    assert _find(layout, "profile-select")["props"]["value"] == other
    assert _find(layout, "_pages_store")["props"]["data"]["title"].startswith("方法说明")

    # a path no page claims: the app's own not-found page, naming the path
    missing = _find(_layout(client, f"{host}/no-such-page"), "_pages_content")
    assert _find(missing, "not-found") is not None and "/no-such-page" in json.dumps(missing, ensure_ascii=False)
    # a path template with its variable
    district = _find(_layout(client, f"{host}/district/310115"), "_pages_content")
    assert district is not None and district["props"]["children"], "the district page is not in it"


def test_without_a_same_origin_referrer_the_router_fills_the_page_as_before(fixture_db: Path,
                                                                           weights_dir: Path) -> None:
    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))
    client = app.server.test_client()
    for referrer in (None, "http://elsewhere.example/methodology"):
        layout = _layout(client, referrer)
        content = _find(layout, "_pages_content")
        assert content is not None and not content["props"].get("children"), referrer
        assert "pathname" not in _find(layout, "_pages_location")["props"]


def test_the_overviews_first_layout_carries_its_ranking_and_charts(fixture_db: Path, weights_dir: Path) -> None:
    """Issue 14 (the cold first paint): the overview's body — the ranking, its charts — came from a callback sent
    only once every script had run, one more round trip (and the figures' serialisation) after the scripts. Now it
    is in the first layout response, drawn on the profile the header's picker opens on and the period the period
    picker opens on, and the store that says what it shows holds the same."""
    from app.state import get_context

    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))
    client = app.server.test_client()
    other = next(p for p in get_context().profile_names() if p != get_context().default_profile_name())
    for query, profile in (("", get_context().default_profile_name()), (f"?profile={other}", other)):
        layout = _layout(client, f"http://localhost/{query}")
        body = _find(layout, "overview-body")
        assert body is not None and _find(body, "overview-ranking-list") is not None, query
        assert _find(body, "overview-ranking")["props"]["figure"]["data"], query  # the chart with its data
        period = _find(layout, "overview-period")["props"]["value"]
        assert period is not None
        assert _find(layout, "overview-drawn")["props"]["data"] == {"profile": profile, "period": period}
        assert _find(layout, "profile-select")["props"]["value"] == profile  # the header's picker says the same
