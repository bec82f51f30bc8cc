"""gzip for scripts, styles and JSON (issue 14 first paint, issue 16 goal 4): before the change no response was
compressed, so a first visit moved about 4 MB of JavaScript as it is."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from app.web import compress
from tests.app.conftest import app_config


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert compress.accepts_gzip("gzip, deflate, br")
    assert compress.accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert compress.accepts_gzip("*")
    assert not compress.accepts_gzip("gzip;q=0")
    assert not compress.accepts_gzip("br, deflate")
    assert not compress.accepts_gzip(None)


@pytest.fixture()
def app(fixture_db: Path, weights_dir: Path):
    from app.server import create_app
    from app.web.auth_config import AuthSettings

    return create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo"))


GZ = {"Accept-Encoding": "gzip, deflate, br"}


def _scripts(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<meta name="govindex-[a-z]+" content="([^"]+)"',
                                                                   html)


def test_scripts_and_json_are_gzipped_when_asked_and_only_then(app) -> None:
    client = app.server.test_client()
    page = client.get("/", headers=GZ)
    assert page.status_code == 200 and "Content-Encoding" not in page.headers  # HTML: never (CSRF token inside)
    urls = _scripts(page.get_data(as_text=True))
    assert any("dash_renderer" in u for u in urls) and any("/_govindex/plotly/" in u for u in urls)
    for url in urls:
        plain = client.get(url)
        packed = client.get(url, headers=GZ)
        assert plain.status_code == packed.status_code == 200, url
        assert "Content-Encoding" not in plain.headers, url
        assert "Accept-Encoding" in plain.headers.get("Vary", ""), url
        raw = plain.get_data()
        if len(raw) < compress.MIN_SIZE:
            continue
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in packed.headers.get("Vary", ""), url
        body = packed.get_data()
        assert gzip.decompress(body) == raw, url
        assert len(body) < len(raw) / 2, url  # minified JavaScript still shrinks to well under half
        assert int(packed.headers["Content-Length"]) == len(body), url
    layout = client.get("/_dash-layout", headers=GZ)
    assert layout.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(layout.get_data()).startswith(b"{")


def test_a_file_sent_with_a_strong_etag_gets_a_weak_one_and_still_revalidates(app) -> None:
    from app.web import plotly_bundle as pb

    client = app.server.test_client()
    client.get("/")  # the demo session
    url = pb.bundle_url(False)
    first = client.get(url, headers=GZ)
    assert first.headers["Content-Encoding"] == "gzip"
    etag = first.headers.get("ETag", "")
    assert etag.startswith('W/"'), etag
    again = client.get(url, headers={**GZ, "If-None-Match": etag})
    assert again.status_code == 304
    assert gzip.decompress(first.get_data()) == pb.CARTESIAN_FILE.read_bytes()


def test_prefill_compresses_the_pages_scripts_before_any_visitor(app) -> None:
    done = compress.prefill(app)
    assert done >= 8  # React, Dash's renderer and components, the assets, plotly.js, AG Grid


def test_assets_at_their_versioned_address_are_cached_for_a_year(app) -> None:
    """Before: `no-cache` on every asset, so a returning browser asked again for each on every page load."""
    from app.web.static_cache import CACHE

    client = app.server.test_client()
    page = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+\?m=[^"]+)"', page)
    assert any(a.endswith(".css") or ".css?" in a for a in assets) and any(".js?" in a for a in assets)
    for url in assets:
        assert client.get(url).headers["Cache-Control"] == CACHE, url
    assert client.get("/assets/style.css").headers.get("Cache-Control") != CACHE  # no version: revalidated


def test_a_gzipped_component_script_revalidates_to_304(app) -> None:
    """Dash's unversioned chunks (dcc's async-graph.js) carry a strong ETag that Dash compares as a string; the gzipped
    body's weak one must still revalidate."""
    client = app.server.test_client()
    url = "/_dash-component-suites/dash/dcc/async-graph.js"
    first = client.get(url, headers=GZ)
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    assert client.get(url, headers={**GZ, "If-None-Match": etag}).status_code == 304
