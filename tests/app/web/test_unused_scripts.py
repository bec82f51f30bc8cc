"""Scripts Dash writes into every page that nothing uses (app/web/unused_scripts.py; issue 14: the overview's cold
first paint): before, every page downloaded and ran dash_table's bundle and the whole @babel/polyfill."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.web import unused_scripts as us
from tests.app.conftest import app_config


@pytest.fixture()
def client(fixture_db: Path, weights_dir: Path):
    from app.server import create_app
    from app.web.auth_config import AuthSettings

    return create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo")).server \
        .test_client()


@pytest.mark.parametrize("path", ["/", "/no-such-page"])
def test_a_page_loads_neither_dash_table_nor_the_polyfill_but_the_runtime_first(client, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert not [s for s in scripts if "dash_table" in s or "polyfill" in s], scripts
    runtime = [i for i, s in enumerate(scripts) if "/_govindex/regenerator/" in s]
    renderer = [i for i, s in enumerate(scripts) if "dash_renderer" in s]
    assert len(runtime) == 1 and renderer and runtime[0] < renderer[0], scripts  # before Dash's bundles run
    resp = client.get(scripts[runtime[0]])
    assert resp.status_code == 200 and resp.mimetype == "application/javascript"
    assert resp.headers["Cache-Control"] == us.CACHE
    assert "regeneratorRuntime=e" in resp.get_data(as_text=True)
    assert client.get("/_govindex/regenerator/0.0.0/runtime.js").status_code == 404


def test_the_runtime_is_the_polyfills_module_and_nothing_else() -> None:
    js = us.regenerator_runtime()
    assert js is not None and len(js) < 10_000  # the polyfill is 99 kB
    assert "Generator is already running" in js and "_babelPolyfill" not in js and "core-js" not in js


def test_without_a_runtime_the_polyfill_stays() -> None:
    tags = ('<script src="/_dash-component-suites/dash/deps/polyfill@7.v3_4_1m1.12.1.min.js"></script>\n'
            '<script src="/_dash-component-suites/dash/dash_table/bundle.v7_4_1m1.js"></script>\n')
    assert us.trim_scripts(tags, None) == tags.splitlines(keepends=True)[0]
    assert us.trim_scripts(tags, "/r.js") == '<script src="/r.js"></script>\n'


def test_a_changed_polyfill_file_gives_no_runtime(tmp_path: Path) -> None:
    other = tmp_path / "polyfill.js"
    other.write_text("window.x = 1;", encoding="utf-8")
    assert us.regenerator_runtime(other) is None


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
def test_the_runtime_sets_the_global_dash_bundles_call() -> None:
    js = us.regenerator_runtime() + "\nconsole.log(typeof regeneratorRuntime.mark, typeof regeneratorRuntime.wrap);"
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["function", "function"]
