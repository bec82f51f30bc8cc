"""The first layout and the callback graph asked for with the page, not after its scripts (issue 14: first paint;
issue 16 goal 4).

Dash's renderer fetches `/_dash-layout` and `/_dash-dependencies` only once every script of the page has been
downloaded and run, so the server started on the page's layout (app/web/initial_page.py renders the requested page
into it) only then, and the browser waited for it. `<link rel="preload" as="fetch">` in the page's head asks for
both while the scripts load; the renderer's own `fetch` of the same address (same-origin credentials, which
`crossorigin="anonymous"` matches) then takes the answer that is already there. The request carries the page's
address in its Referer as the renderer's does, so the layout is the same.

The code-split parts of Dash's core components that draw the page's first screen are preloaded the same way
(`as="script"`, as webpack inserts them: no crossorigin): the drop-down's (the header's profile picker, on every
page), on the pages that open with charts, the graph's, and on the weights page the slider's (its controls are drawn
in its first layout, issue 16 goal 4). Webpack asks for them only once React renders the first
Dropdown or Graph, after every script has run and the layout has arrived, one more round trip in front of the
first paint.
"""

from __future__ import annotations

import re
from typing import Any

import flask

ENDPOINTS = ("_dash-layout", "_dash-dependencies")
#: webpack chunks of dash's core components (their unfingerprinted names, as webpack asks for them)
CHUNKS = "_dash-component-suites/dash/dcc/"
DROPDOWN, GRAPH, SLIDER = "async-dropdown.js", "async-graph.js", "async-slider.js"
#: the pages with a chart on their first screen (as app/assets/plotly-preload.js, which starts plotly.js on the same
#: ones; tests/app/web/test_early_fetch.py holds the two patterns equal). Not the district index (/district/all: no
#: chart) nor the data-quality page (its heatmap is far below the first screen and drawn when scrolled to, by
#: app/assets/graph-lazy.js): loading plotly.js there would only compete with the first paint.
CHART_PAGES = re.compile(r"^/(district/(?!all/?$)[^/]+|weights|compare)?/?$")
#: the pages with sliders on their first screen: the weights page (not its history page)
SLIDER_PAGES = re.compile(r"^/weights/?$")


def preload_links(prefix: str) -> str:
    base = prefix if prefix.endswith("/") else prefix + "/"
    return "".join(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{base}{e}">' for e in ENDPOINTS)


def chunk_links(prefix: str, pathname: str) -> str:
    """Preloads of the core components' chunks the page at `pathname` draws on its first screen."""
    base = (prefix if prefix.endswith("/") else prefix + "/") + CHUNKS
    chunks = (DROPDOWN, *((GRAPH,) if CHART_PAGES.match(pathname) else ()),
              *((SLIDER,) if SLIDER_PAGES.match(pathname) else ()))
    return "".join(f'<link rel="preload" as="script" href="{base}{c}">' for c in chunks)


def install_early_fetch(app: Any) -> None:
    interpolate = app.interpolate_index
    prefix = app.config.requests_pathname_prefix or "/"
    links = preload_links(prefix)

    def with_preloads(**kwargs: Any) -> str:
        path = flask.request.path if flask.has_request_context() else "/"
        kwargs["metas"] = kwargs.get("metas", "") + links + chunk_links(prefix, path)
        return str(interpolate(**kwargs))

    app.interpolate_index = with_preloads
