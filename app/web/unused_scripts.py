"""Scripts Dash writes into every page that the app does not use (issue 14: the overview's cold first paint).

Dash writes a `<script>` tag for each of its bundled component libraries and for its dependencies, whatever the
app draws. Two of them do nothing here, and the browser downloads, parses and runs both before the first paint:

- dash_table's bundle: no page draws a DataTable (the grids are AG Grid, loaded where drawn: app/web/grid_loader.py);
- `@babel/polyfill` (core-js and the regenerator runtime, 99 kB): the browsers Dash's React 18 runs in have every
  feature core-js fills in. The one thing Dash's own bundles take from it is the global `regeneratorRuntime` (their
  async functions are compiled to generators that call it): that module alone is served in the polyfill's place,
  at the same point of the page (before the renderer), cut out of the polyfill file Dash ships (so it is always
  the same version, under its licence), at a versioned address cached for a year.

Running the polyfill cost about as much main-thread time as the renderer and the core components together (a
Chromium trace of a cold overview). If Dash ever writes the tags differently or the polyfill file changes shape,
nothing is taken out and the page loads both as before; tests/app/web/test_unused_scripts.py fails so it is seen.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import dash
import flask

POLYFILL = Path(dash.__file__).resolve().parent / "deps" / "polyfill@7.12.1.min.js"
ROUTE = "/_govindex/regenerator/<version>/runtime.js"
CACHE = "public, max-age=31536000, immutable"
_TABLE = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/dash_table/bundle[^"/]*\.js"></script>\s*')
_POLYFILL = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/deps/polyfill@[^"/]*\.js"></script>')
_MODULE = "[function(t,n,r){"
_END = "},{}]"


@functools.cache
def regenerator_runtime(path: Path = POLYFILL) -> str | None:
    """The regenerator-runtime module of the polyfill bundle (browserify: `id:[function(t,n,r){…},{}]`) as a script
    that sets the global `regeneratorRuntime`; None when the file does not hold it in that shape."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    at = text.find("try{regeneratorRuntime=e}")
    if at < 0 or text.count("regeneratorRuntime=e") != 1:
        return None
    start, end = text.rfind(_MODULE, 0, at), text.find(_END, at)
    if start < 0 or end < 0 or "Generator is already running" not in text[start:end]:
        return None
    body = text[start + len(_MODULE):end]
    return f"/* regenerator-runtime, from {path.name} (MIT) */\n(function(t,n,r){{{body}}})(null,{{exports:{{}}}},{{}});\n"


def trim_scripts(scripts: str, runtime_src: str | None) -> str:
    """The page's script tags without dash_table's bundle, and with the polyfill's tag replaced by the runtime's
    (left as it is when there is no runtime to serve)."""
    scripts = _TABLE.sub("", scripts)
    if runtime_src is not None:
        scripts = _POLYFILL.sub(lambda _m: f'<script src="{runtime_src}"></script>', scripts, count=1)
    return scripts


def _serve(version: str) -> flask.Response:
    js = regenerator_runtime()
    if js is None or version != dash.__version__:
        flask.abort(404)
    resp = flask.Response(js, mimetype="application/javascript")
    resp.headers["Cache-Control"] = CACHE
    return resp


def install_unused_scripts(app: Any) -> None:
    """Every page Dash serves: dash_table's tag out, the polyfill's replaced by the regenerator runtime alone."""
    app.server.add_url_rule(ROUTE, "govindex_regenerator", _serve)
    prefix = (app.config.requests_pathname_prefix or "/").rstrip("/")
    src = f"{prefix}/_govindex/regenerator/{dash.__version__}/runtime.js" if regenerator_runtime() else None
    interpolate = app.interpolate_index

    def trimmed(**kwargs: Any) -> str:
        kwargs["scripts"] = trim_scripts(str(kwargs.get("scripts", "")), src)
        return str(interpolate(**kwargs))

    app.interpolate_index = trimmed
