"""Security headers on every response, including a Content-Security-Policy that Dash 4 works with.

Why each CSP source is there:
- script-src 'self' + the sha256 of each inline script Dash writes (the renderer bootstrap and clientside
  callbacks, from `app.csp_hashes()`): no other inline script can run, which is what stops injected markup.
- script-src 'unsafe-eval': dash-ag-grid compiles the `{"function": "..."}` value formatters of our grids with
  `new Function`; without it the grids' number formatting fails. (Moving those formatters into
  `window.dashAgGridFunctions` in an asset file would let this go.)
- style-src 'unsafe-inline': Plotly, AG Grid and React set inline styles and inject <style> elements.
- img-src data: blob: — Plotly's mode-bar icons and image export; worker-src blob: — Plotly's WebGL traces.
- frame-ancestors 'none' (and X-Frame-Options DENY): the app cannot be framed (clickjacking).

Strict-Transport-Security (one year) goes on every response when cookies are forced Secure (the site is HTTPS) or
the request itself arrived over HTTPS, so a browser never again tries the site over plain HTTP.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def csp(script_hashes: list[str]) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{k} {' '.join(v)}" for k, v in directives.items())


def install_headers(app: Any, hsts: bool = False) -> None:
    """Add the headers in an after_request hook of the app's Flask server (a Dash app or a bare Flask app).

    `hsts`: the site is served over HTTPS (Secure cookies), so Strict-Transport-Security goes on every response."""
    server: Flask = app.server if hasattr(app, "server") else app
    cache: dict[str, str] = {}

    def policy() -> str:
        # computed at the first response, once every page and callback (and its inline script) is registered;
        # recomputed if Dash gained inline scripts later (the count changes)
        scripts = getattr(app, "_inline_scripts", None)
        key = str(len(scripts)) if scripts is not None else "-"
        if cache.get("key") != key or "csp" not in cache:
            hashes = list(app.csp_hashes()) if hasattr(app, "csp_hashes") else []
            cache["csp"] = csp(hashes)
            cache["key"] = str(len(getattr(app, "_inline_scripts", []) or []))
        return cache["csp"]

    @server.after_request
    def _headers(resp: Response) -> Response:
        for k, v in STATIC_HEADERS.items():
            resp.headers.setdefault(k, v)
        resp.headers.setdefault("Content-Security-Policy", policy())
        if hsts or request.is_secure:
            resp.headers.setdefault("Strict-Transport-Security", HSTS)
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
