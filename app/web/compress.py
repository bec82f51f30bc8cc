"""gzip for the app's scripts, styles and JSON (issue 14: first paint; issue 16 goal 4).

A page's first visit downloads about 4 MB of JavaScript (React, Dash's renderer and components, plotly.js); gzip
makes that about a quarter, which is what decides the first paint on an office network or a VPN rather than on the
loopback. The standard library's gzip, in an after_request hook of the Flask server: no dependency.

- What: JavaScript, CSS, JSON (Dash's layout, dependencies and callback answers) and SVG of at least MIN_SIZE bytes,
  when the request accepts gzip. Not HTML: the app's pages carry the session's CSRF token beside text taken from the
  address, which is what a BREACH-style attack needs; they are small anyway.
- Long-cached files (Dash's fingerprinted component scripts, the versioned plotly.js bundles, the assets): compressed
  once per process and kept (CACHE_ENTRIES of them, least recently used out); `prefill(app)` does that
  for the scripts and styles a page loads before the server listens, so the first visitor does not wait for it.
- Everything else (callback answers): compressed per response. Level 6 throughout.
- Streamed responses, partial (206) and not-modified (304) answers, and responses already encoded pass unchanged;
  `Vary: Accept-Encoding` goes on every response that could have been compressed. A strong ETag becomes weak on a
  compressed body (the bytes differ from the file's; a weak validator still lets the browser revalidate).
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, request

log = logging.getLogger("govindex.app")

MIMETYPES = frozenset({"application/javascript", "text/javascript", "application/x-javascript", "text/css",
                       "application/json", "image/svg+xml"})
MIN_SIZE = 1024
CACHE_ENTRIES = 64
LEVEL = 6  # level 9 takes half as long again for bodies 0.3% smaller


def accepts_gzip(header: str | None) -> bool:
    """`Accept-Encoding` names gzip (or `*`) without q=0."""
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = re.search(r"q\s*=\s*([0-9.]+)", params)
            try:
                return q is None or float(q.group(1)) > 0
            except ValueError:
                return False
    return False


def _long_cached(resp: Response) -> bool:
    cc = resp.headers.get("Cache-Control", "")
    m = re.search(r"max-age=(\d+)", cc)
    return "no-store" not in cc and (("immutable" in cc) or (m is not None and int(m.group(1)) >= 86400))


class _Cache:
    """Compressed bodies of long-cached files, keyed by address, length and validator; least recently used out."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.data: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, int, str], body: bytes) -> bytes:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
                return hit
        packed = gzip.compress(body, LEVEL, mtime=0)
        with self.lock:
            self.data[key] = packed
            while len(self.data) > self.entries:
                self.data.popitem(last=False)
        return packed


def install_compression(app: Any) -> _Cache:
    """gzip the responses of the app's Flask server (a Dash app or a bare Flask app); returns the file cache."""
    server: Flask = app.server if hasattr(app, "server") else app
    cache = _Cache(CACHE_ENTRIES)

    @server.before_request
    def _weak_validators() -> None:
        """If-None-Match compares weakly (RFC 9110 13.1.2), but Dash's component route compares the header with its
        strong tag as a string: with the `W/` taken off, a browser revalidating a gzipped script gets 304, not the
        whole body again."""
        inm = request.environ.get("HTTP_IF_NONE_MATCH")
        if inm and "W/" in inm:
            request.environ["HTTP_IF_NONE_MATCH"] = inm.replace("W/", "")

    @server.after_request
    def _compress(resp: Response) -> Response:
        if resp.mimetype not in MIMETYPES:
            return resp
        resp.vary.add("Accept-Encoding")
        streamed = resp.is_streamed and not resp.direct_passthrough  # a generator (a file from send_file is fine)
        if (resp.status_code != 200 or "Content-Encoding" in resp.headers or streamed
                or not accepts_gzip(request.headers.get("Accept-Encoding"))):
            return resp
        resp.direct_passthrough = False  # a file sent by send_file: read it here
        body = resp.get_data()
        if len(body) < MIN_SIZE:
            return resp
        if request.method in ("GET", "HEAD") and _long_cached(resp):
            validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified") or ""
            packed = cache.get((request.full_path, len(body), validator), body)
        else:
            packed = gzip.compress(body, LEVEL, mtime=0)
        resp.set_data(packed)
        resp.headers["Content-Encoding"] = "gzip"
        etag, weak = resp.get_etag()
        if etag and not weak:
            resp.set_etag(etag, weak=True)
        return resp

    return cache


_SRC = re.compile(r'(?:src|href|content|data-full)="(/[^"]+\.(?:js|css)(?:\?[^"]*)?)"')


def prefill(app: Any, page: str = "/no-such-page") -> int:
    """Compress, before the server listens, the scripts and styles a page names (its tags and the meta tags that
    name the plotly.js and AG Grid scripts it loads later): they are fetched through the app's own Flask test
    client from the loopback address, as a browser would. Returns how many were compressed. When the page cannot
    be had without signing in, nothing is (the files are then compressed at their first request)."""
    server: Flask = app.server if hasattr(app, "server") else app
    client = server.test_client()
    env = {"REMOTE_ADDR": "127.0.0.1"}
    gz = {"Accept-Encoding": "gzip"}
    index = client.get(page, headers=gz, environ_base=env)
    if index.status_code not in (200, 404) or index.mimetype != "text/html":
        return 0
    done = 0
    for url in dict.fromkeys(_SRC.findall(index.get_data(as_text=True))):
        resp = client.get(url, headers=gz, environ_base=env)
        done += resp.headers.get("Content-Encoding") == "gzip"
        resp.close()
    return done
