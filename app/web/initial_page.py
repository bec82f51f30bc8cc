"""The requested page inside the first layout response (issue 14: first paint; issue 16 goal 4).

With Dash pages, `/_dash-layout` answers the shell with an empty page container; the page itself arrives one round
trip later, when the container's `dcc.Location` mounts, reads the address bar and fires Dash's router callback —
whose answer then fires the page's own callbacks. Every first visit paid that extra sequential round trip (and the
shell's callbacks fired twice: once at load, once more when the shell's own Location set its pathname on mount).

The browser's `fetch` of `/_dash-layout` names the page in its Referer (the app sends `Referrer-Policy: same-origin`,
so a same-origin request carries the full address). `page_container()` resolves that address exactly as Dash's
router does and returns the container with the page's layout already in it and the Locations' `pathname` and
`search` preset: dcc.Location only reports the address when its props differ from the window's, so the router does
not fire and the page's own callbacks start at once. In-app navigation is unchanged (the router answers it). Without
a usable Referer (another origin, a stripped header, a direct request) the container is Dash's own, empty one, and
the router fills it as before.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import dash
import flask
from dash import _pages, dcc, html  # _pages: Dash's own path → page resolution (dash pinned in constraints.txt)

log = logging.getLogger("govindex.app")

# the ids of dash.page_container's parts (dash/dash.py _ID_*)
LOCATION, CONTENT, STORE, DUMMY = "_pages_location", "_pages_content", "_pages_store", "_pages_dummy"
#: flask.g attribute naming the path being rendered (the not-found page says which address it did not find)
REQUESTED_PATH = "govindex_requested_path"


def requested_address() -> tuple[str, str] | None:
    """(pathname, search) of the page that asked for the layout, from the request's Referer; None when there is no
    same-origin Referer."""
    if not flask.has_request_context():
        return None
    referrer = flask.request.referrer
    if not referrer:
        return None
    u = urlsplit(referrer)
    if u.netloc != flask.request.host:
        return None
    return u.path or "/", f"?{u.query}" if u.query else ""


def _page_layout(app: dash.Dash, pathname: str, search: str) -> tuple[Any, str]:
    """(layout, title) of the page at `pathname` with the query `search`, as Dash's router (dash.py router_sync)
    computes them, the app's not-found page for a path no page claims."""
    page, variables = _pages._path_to_page(app.strip_relative_path(pathname))
    if not page:
        page = next((p for m, p in _pages.PAGE_REGISTRY.items() if m.split(".")[-1] == "not_found_404"), {})
    layout, title = page.get("layout", ""), page.get("title", app.title)
    if callable(layout):
        setattr(flask.g, REQUESTED_PATH, pathname)
        layout = layout(**{**(variables or {}), **_pages._parse_query_string(search)})
    if callable(title):
        title = title(**(variables or {}))
    return layout, title


def page_container(app: dash.Dash) -> tuple[html.Div, str | None, str | None]:
    """(the page container, pathname, search): with the requested page rendered in it when the request names it,
    else Dash's empty container and (None, None)."""
    where = requested_address()
    if where is None:
        return dash.page_container, None, None
    pathname, search = where
    try:
        layout, title = _page_layout(app, pathname, search)
    except Exception:  # the router renders it (and reports the error) as it did before
        log.exception("could not render %s%s into the first layout", pathname, search)
        return dash.page_container, None, None
    container = html.Div([
        dcc.Location(id=LOCATION, refresh="callback-nav", pathname=pathname, search=search),
        html.Div(layout, id=CONTENT, disable_n_clicks=True),
        dcc.Store(id=STORE, data={"title": title}),
        html.Div(id=DUMMY, disable_n_clicks=True),
    ])
    return container, pathname, search
