"""A year's cache for the app's own assets at their versioned addresses (issue 14: first paint; issue 16 goal 4).

Dash names every file of app/assets/ in the page with its modification time (`/assets/style.css?m=1796305855.4`),
so a changed file gets a new address, but serves it with `Cache-Control: no-cache`: a returning browser asked again
for each of them on every page load, one round trip each before the page could run. An asset requested with its
`m=` gets the same one-year immutable cache as Dash's fingerprinted component scripts and the plotly.js bundles; one
requested without it (the sign-in page's stylesheet) keeps Dash's revalidation.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

CACHE = "public, max-age=31536000, immutable"


def install_static_cache(app: Any) -> None:
    server: Flask = app.server if hasattr(app, "server") else app
    prefix = (getattr(getattr(app, "config", None), "requests_pathname_prefix", None) or "/").rstrip("/")

    @server.after_request
    def _cache(resp: Response) -> Response:
        if (request.method in ("GET", "HEAD") and resp.status_code in (200, 304)
                and request.path.startswith(prefix + "/assets/") and request.args.get("m")):
            resp.headers["Cache-Control"] = CACHE
        return resp
