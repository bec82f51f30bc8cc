"""The first layout's header is drawn for the address it was asked for (issue 14, finding 10: the view in the URL):
the navigation, the language switch and the brand carry the language, profile and period before any callback or
script has run, so the first paint's links (and what is copied from them) already name the view."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app.server import create_app
from app.ui import ids
from app.web.auth import AuthSettings
from tests.app.conftest import app_config
from tests.app.web.test_initial_page import _find, _layout


def _links(node) -> list[dict]:
    """Every dcc.Link's props under `node`."""
    out = []
    if isinstance(node, dict):
        if node.get("type") == "Link":
            out.append(node["props"])
        for v in (node.get("props", {}) if "props" in node else node).values():
            out += _links(v)
    elif isinstance(node, list):
        for v in node:
            out += _links(v)
    return out


def _query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_the_first_header_carries_the_addresss_view(fixture_db: Path, weights_dir: Path) -> None:
    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))
    client = app.server.test_client()
    other = sorted(p.stem for p in weights_dir.glob("*.toml"))[-1]
    layout = _layout(client, f"http://localhost/weights?lang=en&profile={other}&period=2024Q3")
    nav = _links(_find(layout, ids.NAV))
    assert [n["children"] for n in nav][:2] == ["Overview", "District profile"]
    for link in nav:
        assert _query(link["href"]) == {"lang": "en", "profile": other, "period": "2024Q3"}, link["href"]
    assert [n["className"] for n in nav if n["href"].startswith("/weights?")] == ["nav-link active"]
    switch = _find(layout, ids.LANG_LINK)["props"]
    assert urlsplit(switch["href"]).path == "/weights"
    assert _query(switch["href"]) == {"profile": other, "period": "2024Q3"}  # to Chinese: no lang=
    assert switch["children"] == "中文"
    assert _find(layout, ids.PROFILE_LABEL)["props"]["children"] == "Weight profile"
