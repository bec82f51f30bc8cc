"""The first layout and the callback graph asked for with the page, not after its scripts (issue 14: first paint;
issue 16 goal 4).

Dash's renderer fetches `/_dash-layout` and `/_dash-dependencies` only once every script of the page has been
downloaded and run, so the server started on the page's layout (app/web/initial_page.py renders the requested page
into it) only then, and the browser waited for it. `<link rel="preload" as="fetch">` in the page's head asks for
both while the scripts load; the renderer's own `fetch` of the same address (same-origin credentials, which
`crossorigin="anonymous"` matches) then takes the answer that is already there. The request carries the page's
address in its Referer as the renderer's does, so the layout is the same.
"""

from __future__ import annotations

from typing import Any

ENDPOINTS = ("_dash-layout", "_dash-dependencies")


def preload_links(prefix: str) -> str:
    base = prefix if prefix.endswith("/") else prefix + "/"
    return "".join(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{base}{e}">' for e in ENDPOINTS)


def install_early_fetch(app: Any) -> None:
    interpolate = app.interpolate_index
    links = preload_links(app.config.requests_pathname_prefix or "/")

    def with_preloads(**kwargs: Any) -> str:
        kwargs["metas"] = kwargs.get("metas", "") + links
        return str(interpolate(**kwargs))

    app.interpolate_index = with_preloads
