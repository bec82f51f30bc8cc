"""AG Grid's script only where a grid is drawn (issue 14 first paint, issue 16 goal 4): pages no longer carry
dash-ag-grid's 1.3 MB script tag; they name its address, and app/assets/aggrid-lazy.js loads it with the first grid.

Before the change every page, the overview and the not-found page included, had the tag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.web import grid_loader
from tests.app.conftest import app_config
from tests.app.pages.browser_steps import settle

TAG = re.compile(r'<script src="[^"]*/dash_ag_grid/[^"]*"')
META = re.compile(r'<meta name="govindex-aggrid" content="([^"]+)"( data-early="1")?>')


def test_the_grid_tag_is_taken_out_and_its_address_kept() -> None:
    scripts = ('<script src="/_dash-component-suites/dash/deps/react@18.v4_4_1m1.3.1.min.js"></script>\n'
               '<script src="/_dash-component-suites/dash_ag_grid/dash_ag_grid.v35_3_0m17.min.js"></script>\n'
               '<script src="/assets/print.js?m=1"></script>')
    rest, src = grid_loader.defer_grid_script(scripts)
    assert src == "/_dash-component-suites/dash_ag_grid/dash_ag_grid.v35_3_0m17.min.js"
    assert "dash_ag_grid" not in rest and "react@18" in rest and "print.js" in rest
    assert grid_loader.defer_grid_script("<script src=/x.js></script>") == ("<script src=/x.js></script>", None)


def test_pages_name_the_grid_script_instead_of_loading_it(fixture_db: Path, weights_dir: Path) -> None:
    from app.server import create_app
    from app.web.auth_config import AuthSettings

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo")) \
        .server.test_client()
    for path in ("/", "/no-such-page", "/weights/history"):
        page = client.get(path).get_data(as_text=True)
        assert not TAG.search(page), f"{path} still loads dash-ag-grid's script up front"
        meta = META.search(page)
        assert meta, path
        assert page.index('/assets/aggrid-lazy.js') < page.index("dash_renderer"), "the stand-in precedes the renderer"
        assert bool(meta.group(2)) == (path == "/weights/history"), f"{path}: starts loading the grid with the page?"
    resp = client.get(meta.group(1))  # the address Dash registered: it serves the script
    assert resp.status_code == 200 and resp.mimetype in ("application/javascript", "text/javascript")
    assert b"window.dash_ag_grid=" in resp.get_data()


def test_every_page_whose_first_layout_has_a_grid_loads_it_early(fixture_db: Path, weights_dir: Path) -> None:
    """A page added with a grid in its layout and not in EARLY_PAGES would wait for its layout before loading it."""
    import dash

    from app.server import create_app
    from app.web.auth_config import AuthSettings

    client = create_app(app_config(fixture_db, weights_dir, rank_samples=0), auth=AuthSettings(mode="demo")) \
        .server.test_client()
    client.get("/")
    with_grid = []
    for page in dash.page_registry.values():
        path = page["path"] if "<" not in page["path"] else page["path"].split("<")[0] + "310115"
        layout = client.get("/_dash-layout", headers={"Referer": "http://localhost" + path}).get_data(as_text=True)
        if '"AgGrid"' in layout:
            with_grid.append(path)
    # the data-quality page's tables are short in the fixture: static HTML, no grid script to load early
    assert "/data-quality" not in with_grid and not grid_loader.opens_with_grid("/data-quality")
    assert [p for p in with_grid if not grid_loader.opens_with_grid(p)] == []


@pytest.mark.browser
def test_a_page_without_a_grid_never_asks_for_the_grid_script(page, server_url: str) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "dash_ag_grid" in r.url else None)
    page.goto(server_url + "/")
    settle(page)
    assert page.locator("#overview-ranking-list li").count() > 0
    assert asked == []
    assert page.errors == [], page.errors


@pytest.mark.browser
def test_a_grid_page_draws_its_grid_at_first_visit_and_after_in_app_navigation(page, server_url: str) -> None:
    page.goto(server_url + "/weights/history")  # its versions and audit trail are grids
    page.wait_for_selector(".ag-root-wrapper .ag-row", timeout=30_000)
    assert page.locator(".govindex-grid-pending").count() == 0
    assert page.evaluate("typeof window.dash_ag_grid.getApi") == "function"  # the library's exports are there

    page.goto(server_url + "/")  # from a page without a grid, by the navigation's link: loaded on demand
    settle(page)
    assert page.evaluate("typeof window.dash_ag_grid.getApi") == "undefined"
    page.click("a[href^='/weights']")
    page.click("a[href^='/weights/history']")
    page.wait_for_selector(".ag-root-wrapper .ag-row", timeout=30_000)
    assert page.locator(".ag-root-wrapper").count() >= 1
    assert page.evaluate("typeof window.dash_ag_grid.getApi") == "function"
    assert page.errors == [], page.errors
