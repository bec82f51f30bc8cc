"""Which plotly.js a page loads: the cartesian bundle (1.5 MB) where the charts are bars, scatters and heatmaps, the
full one (4.8 MB) where a page draws WebGL points (issue 14: first paint; issue 16 goal 4).

Most of a chart page's first paint is the browser parsing and compiling plotly.js. The server writes the choice
into each page as `<meta name="govindex-plotly" content="URL">`; app/assets/plotly-preload.js starts loading that
URL with the page, and loads the full bundle on demand when a chart needs a trace type the cartesian one lacks (a
page reached by in-app navigation from a cartesian page). The full bundle is chosen up front for a warehouse with
many units, whose quadrant is WebGL (app/ui/many_units.py). No page needs it on every visit any more: the
methodology page's framework tree was a sunburst and is HTML now (app/pages/methodology.py).

The bundles are served at versioned addresses with a one-year immutable cache, so a returning browser reads them
from its cache without asking.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
import plotly

from app.ui.i18n import t

STATIC = Path(__file__).resolve().parent / "static"
CARTESIAN_FILE = STATIC / "plotly-cartesian.min.js"
FULL_FILE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
#: the trace types of the cartesian bundle (its README); the figures of a cartesian page use only these
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                              "image", "pie", "scatter", "scatterternary", "violin"})
#: pages (path prefixes) that draw a trace type outside the cartesian bundle on every visit
FULL_PAGES: tuple[str, ...] = ()
ROUTE = "/_govindex/plotly/<version>/<name>"
CACHE = "public, max-age=31536000, immutable"


@functools.cache
def bundle_version(path: Path) -> str:
    """The plotly.js version in a bundle's licence header (`plotly.js (cartesian - minified) v4.1.1` → 4.1.1)."""
    with open(path, encoding="utf-8") as f:
        head = f.read(400)
    m = re.search(r"plotly\.js[^\n]*?v(\d+\.\d+\.\d+)", head)
    if not m:
        raise ValueError(f"{path}: no plotly.js version in the first lines")
    return m.group(1)


def bundle_url(full: bool, prefix: str = "/") -> str:
    name = "plotly.min.js" if full else "plotly-cartesian.min.js"
    return f"{prefix.rstrip('/')}/_govindex/plotly/{bundle_version(FULL_FILE)}/{name}"


def wants_full(pathname: str, n_units: int, many: int) -> bool:
    """The full bundle for the pages that always need it and, with more than `many` units, everywhere (WebGL)."""
    return n_units > many or any(pathname == p or pathname.startswith(p + "/") for p in FULL_PAGES)


def _serve(version: str, name: str) -> flask.Response:
    files = {"plotly.min.js": FULL_FILE, "plotly-cartesian.min.js": CARTESIAN_FILE}
    if name not in files or version != bundle_version(FULL_FILE):
        flask.abort(404)
    resp = flask.send_file(files[name], mimetype="application/javascript", conditional=True, max_age=31536000)
    resp.headers["Cache-Control"] = CACHE
    return resp


def install_plotly_bundles(app: Any, n_units: Callable[[], int], many: int) -> None:
    """Serve both bundles and name the page's in a meta tag of every page Dash serves."""
    app.server.add_url_rule(ROUTE, "govindex_plotly_bundle", _serve)
    interpolate = app.interpolate_index
    prefix = app.config.requests_pathname_prefix or "/"

    def with_bundle(**kwargs: Any) -> str:
        path = flask.request.path if flask.has_request_context() else "/"
        try:
            units = n_units()
        except Exception:  # no data yet: the pages say so; the cartesian bundle draws their empty charts
            units = 0
        full = wants_full(path, units, many)
        meta = (f'<meta name="govindex-plotly" content="{bundle_url(full, prefix)}" '
                f'data-full="{bundle_url(True, prefix)}">')
        # the label of a chart's placeholder until it is drawn (app/assets/graph-lazy.js picks the page's language)
        meta += (f'<meta name="govindex-chart-loading" content="{html.escape(t("chart.loading", "zh"))}" '
                 f'data-en="{html.escape(t("chart.loading", "en"))}">')
        kwargs["metas"] = kwargs.get("metas", "") + meta
        return str(interpolate(**kwargs))

    app.interpolate_index = with_bundle
