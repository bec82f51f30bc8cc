"""AG Grid's script loaded by the pages that draw a grid, not by every page (issue 14: first paint; issue 16 goal 4).

Dash writes a `<script>` tag for every component library the app imports, so every page, the overview and the
not-found page included, downloaded and compiled `dash_ag_grid.min.js` (1.3 MB) before the first paint, whether it
drew a grid or not. The server takes that tag out of the page and names the script's (fingerprinted, long-cached)
address in `<meta name="govindex-aggrid">`; app/assets/aggrid-lazy.js stands in for the library's `AgGrid`
component and loads the script the first time a grid is on screen, then draws the real grid with the same props.

The pages that open with a grid (EARLY_PAGES: in their first layout, or filled by their first callbacks) start
loading it with the page instead (`data-early` on the meta tag), in parallel with everything else rather than after
the page's layout has arrived and mounted the grid.

If Dash ever writes the tag differently, nothing is taken out and the library loads eagerly as before (the stand-in
then draws the real grid at once); tests/app/web/test_grid_loader.py fails so the change is noticed.
"""

from __future__ import annotations

import re
from typing import Any

import flask

META = "govindex-aggrid"
#: pages (path prefixes) that open with a grid: the grid script starts loading with the page
EARLY_PAGES = ("/weights/history",)  # the data-quality page's tables are static HTML unless long (its callbacks)
#: Dash's tag for dash-ag-grid's main script when it serves it itself (serve_locally), fingerprint in the name
_TAG = re.compile(r'<script src="(?P<src>[^"]*/_dash-component-suites/dash_ag_grid/dash_ag_grid[^"/]*\.js)"></script>'
                  r'\s*')


def defer_grid_script(scripts: str) -> tuple[str, str | None]:
    """(the page's script tags without dash-ag-grid's main script, that script's address or None if absent)."""
    found = _TAG.search(scripts)
    if not found:
        return scripts, None
    return scripts[:found.start()] + scripts[found.end():], found.group("src")


def opens_with_grid(pathname: str) -> bool:
    return any(pathname == p or pathname.startswith(p + "/") for p in EARLY_PAGES)


def install_grid_loader(app: Any) -> None:
    """Every page Dash serves: the grid library's tag out of its scripts, its address in a meta tag."""
    interpolate = app.interpolate_index

    def without_grid(**kwargs: Any) -> str:
        scripts, src = defer_grid_script(str(kwargs.get("scripts", "")))
        if src is not None:
            kwargs["scripts"] = scripts
            early = ' data-early="1"' if flask.has_request_context() and opens_with_grid(flask.request.path) else ""
            kwargs["metas"] = kwargs.get("metas", "") + f'<meta name="{META}" content="{src}"{early}>'
        return str(interpolate(**kwargs))

    app.interpolate_index = without_grid
