"""The plotly.js a page loads (issue 14 first paint, issue 16 goal 4): the cartesian bundle where a page draws only
cartesian traces, the full one where it needs more, both at versioned addresses with a long cache."""

from __future__ import annotations

import re
from pathlib import Path

from app.web import plotly_bundle as pb
from tests.app.conftest import app_config

PRELOAD = Path(pb.__file__).resolve().parents[1] / "assets" / "plotly-preload.js"


def test_the_cartesian_bundle_is_the_same_plotly_js_as_the_full_one() -> None:
    """After a plotly upgrade this fails until app/web/static/ is refreshed (its README says how)."""
    assert pb.bundle_version(pb.CARTESIAN_FILE) == pb.bundle_version(pb.FULL_FILE)
    head = pb.CARTESIAN_FILE.read_text(encoding="utf-8")[:200]
    assert "cartesian" in head and "MIT" in head
    assert pb.CARTESIAN_FILE.stat().st_size < pb.FULL_FILE.stat().st_size / 2


def test_the_preload_script_knows_the_same_cartesian_trace_types() -> None:
    js = PRELOAD.read_text(encoding="utf-8")
    block = re.search(r"var CARTESIAN = \{(.*?)\};", js, re.S)
    assert block, "the preload script lists the cartesian bundle's trace types"
    assert set(re.findall(r"(\w+): 1", block.group(1))) == set(pb.CARTESIAN_TRACES)
    bundle = pb.CARTESIAN_FILE.read_text(encoding="utf-8")
    for trace in pb.CARTESIAN_TRACES:  # each registered in the bundle
        assert f'name:"{trace}"' in bundle or f"name:'{trace}'" in bundle or f'"{trace}"' in bundle, trace


def test_which_pages_get_the_full_bundle() -> None:
    assert not pb.wants_full("/", 16, 40)
    assert not pb.wants_full("/district/310115", 16, 40)
    assert not pb.wants_full("/methodology", 16, 40)  # its framework tree is HTML, no longer a sunburst
    assert pb.wants_full("/", 2844, 40)  # WebGL quadrant at many units


def test_pages_name_their_bundle_and_the_bundles_are_served_with_a_long_cache(fixture_db: Path,
                                                                                weights_dir: Path) -> None:
    from app.server import create_app
    from app.web.auth_config import AuthSettings

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo")) \
        .server.test_client()
    meta = re.compile(r'<meta name="govindex-plotly" content="([^"]+)" data-full="([^"]+)">')
    home = meta.search(client.get("/").get_data(as_text=True))
    method = meta.search(client.get("/methodology").get_data(as_text=True))
    assert home and method
    assert home.group(1).endswith("/plotly-cartesian.min.js") and home.group(2).endswith("/plotly.min.js")
    assert method.group(1).endswith("/plotly-cartesian.min.js")
    for url in (home.group(1), home.group(2)):
        resp = client.get(url)
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == pb.CACHE
        assert resp.mimetype == "application/javascript"
        assert b"plotly.js" in resp.get_data()[:200]
    assert client.get(home.group(1).replace(pb.bundle_version(pb.FULL_FILE), "0.0.1")).status_code == 404
    assert client.get(home.group(1).replace("plotly-cartesian.min.js", "server.py")).status_code == 404
