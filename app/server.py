"""The Dash app: `create_app(config)` wires the shell (header, page container, footer) and `run(config)` serves it."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from pathlib import Path
from typing import Any

import dash
import flask
from dash import MATCH, Input, Output, State, dcc, html
from waitress import serve
from werkzeug.wrappers import Response as WResponse

from app.ui import bell, components, coverage, ids, ledger_model, many_units, overview_figures
from app.web.auth import install_auth
from app.web.auth_config import AuthConfigError, AuthSettings, demo_settings, is_loopback, resolve_auth
from app.web import initial_page
from app.web.downloads import install_downloads
from app.web.plotly_bundle import install_plotly_bundles
from app.web.grid_loader import install_grid_loader
from app.web.unused_scripts import install_unused_scripts
from app.web import compress
from app.web.static_cache import install_static_cache
from app.web.early_fetch import install_early_fetch
from app.web.health import install_access_log, install_health
from app.ui.i18n import norm_lang, t
from app.views.methodology import snapshot_audit
from app.state import AppContext, get_context, set_context
from etl.config import Config, ServerConfig

HERE = Path(__file__).resolve().parent
log = logging.getLogger("govindex.app")

#: Modules plotly's JSON encoder looks up in sys.modules on every callback response (plotly.io._json,
#: _plotly_utils.utils: get_module(..., should_load=False)). One first imported by a background job while the
#: server runs ("refresh now" imports pandas through pandera) is seen half-initialised by a request thread that
#: encodes at that moment: "module 'pandas' has no attribute 'NaT'", an HTTP 500. Imported whole before the server
#: listens, they can never be seen half-done.
PROBED_BY_THE_ENCODER = ("numpy", "pandas")


def create_app(config: Config, *, auth: AuthSettings | None = None) -> dash.Dash:
    """Build the app from the process's one configuration: the warehouse (read-only), run history, weights folder,
    default profile, rank-interval samples and seed all come from `config`, which "refresh now" reuses as it is.

    `auth` decides how people are identified (app.web.auth_config.resolve_auth(config)); None is the loopback demo mode.
    """
    ctx = AppContext.create(config)
    set_context(ctx)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title=t("app.title", "zh"),
        update_title=None,  # type: ignore[arg-type]  # None (documented) keeps the tab title while loading
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = _shell
    _register_shell_callbacks(app)
    # the navigation's 区画像 and any old link to /district land on the index of all districts, query kept
    app.server.add_url_rule("/district", "govindex_district_index", _district_index)
    app.server.add_url_rule("/district/", "govindex_district_index_slash", _district_index)
    auth = auth if auth is not None else demo_settings()
    if auth.warehouse is None:  # the units officials belong to: this app's warehouse's unit table
        auth = dataclasses.replace(auth, warehouse=config.paths.db, code_pattern=config.units.code_pattern)
    install_auth(app, auth)
    install_downloads(app)
    install_plotly_bundles(app, lambda: many_units.unit_count(get_context().snapshot()), many_units.MANY)
    install_grid_loader(app)  # AG Grid's script only where a grid is drawn
    install_unused_scripts(app)  # no dash_table bundle, and of @babel/polyfill only the regenerator runtime
    compress.install_compression(app)  # gzip for scripts, styles and JSON
    install_static_cache(app)  # the assets at their versioned addresses: cached for a year
    install_early_fetch(app)  # the first layout requested with the page, not after its scripts
    install_health(app.server, get_context)
    if config.logging.access_log:
        install_access_log(app.server)
    return app


def _shell() -> html.Div:
    """The page frame; evaluated per request so the profile list reflects saved profiles."""
    ctx = get_context()
    # the requested page rendered in (app/web/initial_page.py), and both Locations preset to its address, so
    # neither reports it again on mount
    container, pathname, search = initial_page.page_container(dash.get_app())
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav", pathname=pathname, search=search),
            dcc.Store(id=ids.PROFILES_VERSION, data=0),
            dcc.Store(id=ids.URL_STATE),
            dcc.Store(id=ids.SNAPSHOT_VERSION, data=0),
            components.header(ctx, search, pathname),
            html.Main(container, className="page"),
            html.Footer(id=ids.FOOTER, className="footer no-print"),
        ],
        className="shell",
    )


def _register_shell_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.NAV, "children"),
        Output(ids.LANG_LINK, "children"),
        Output(ids.LANG_LINK, "href"),
        Output(ids.APP_TITLE, "children"),
        Output(ids.PROFILE_LABEL, "children"),
        Output(ids.FOOTER, "children"),
        Output(ids.PROFILE_SELECT, "options"),
        Output(ids.PROFILE_SELECT, "labels"),
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        Input(ids.PROFILES_VERSION, "data"),
        Input(ids.URL_STATE, "data"),
        Input(ids.SNAPSHOT_VERSION, "data"),
    )
    def _shell_text(pathname: str | None, search: str | None, _version: int, state: str | None, _snapshot: int):
        if dash.ctx.triggered_id == ids.URL_STATE and state is not None:
            search = state  # a profile or period chosen on the page: the links carry it from now on
        lang = components.lang_from_search(search)
        ctx = get_context()
        other = "zh" if lang == "en" else "en"
        return (
            components.nav_links(pathname or "/", lang, search),
            t("lang.switch", lang),
            components.with_query(pathname or "/", search, lang=other),
            t("app.title", lang),
            t("profile.label", lang),
            components.footer_content(ctx, lang),
            components.profile_options(ctx, lang),
            components.dropdown_labels(lang),
        )

    @app.callback(
        Output(ids.PROFILE_SELECT, "value"),
        Input(ids.URL, "search"),
        State(ids.PROFILE_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _profile_from_url(search: str | None, current: str | None):
        """`?profile=name` in a shared link selects that profile. Not at load: the header is drawn on it already
        (components.header), and an initial call here would hold back every page callback that reads the picker
        until it answered — and, answering no_update, keep them from firing at all."""
        wanted = components.query_param(search, "profile")
        names = get_context().profile_names()
        if wanted and wanted in names and wanted != current:
            return wanted
        if current not in names:
            return get_context().default_profile_name()
        return dash.no_update

    @app.callback(Output(bell.BELL, "children"), Output(bell.BELL, "href"), Output(bell.BELL, "title"),
                  Input(ids.URL, "pathname"), Input(ids.URL, "search"), Input(bell.BELL_TICK, "n_intervals"))
    def _bell(_pathname: str | None, search: str | None, _tick: int | None):
        """The alerts bell: this person's unread count, on every page change and once a minute."""
        lang = components.lang_from_search(search)
        n = ledger_model.unread_count(get_context())
        return bell.bell_parts(n, lang), components.href("/alerts", lang), t("alerts.bell", lang, n=n)

    # The chosen profile and period go into the address bar (replaceState: no page reload), so the view can be
    # shared as a link; the store tells the shell to carry them in its links.
    sync = """function(value){{
        const C = window.dash_clientside; if(!value){{ return C.no_update; }}
        const u = new URL(window.location.href);
        if(u.searchParams.get('{key}') === String(value)){{ return C.no_update; }}
        u.searchParams.set('{key}', value);
        window.history.replaceState(window.history.state, '', u.pathname + u.search + u.hash);
        return u.search;
    }}"""
    app.clientside_callback(sync.format(key="profile"), Output(ids.URL_STATE, "data"),
                            Input(ids.PROFILE_SELECT, "value"), prevent_initial_call=True)
    app.clientside_callback(sync.format(key="period"), Output(ids.URL_STATE, "data", allow_duplicate=True),
                            Input(PERIOD_PICKER, "value"), prevent_initial_call=True)

    # Printing is a browser job: a clientside callback keeps it instant and server-free.
    app.clientside_callback(
        # the charts not drawn yet (below the first screen, app/assets/graph-lazy.js) are drawn before the print
        "function(n){ if(n){ const c = window.govindexCharts; (c ? c.drawAll() : Promise.resolve())"
        ".then(() => window.print()); } return window.dash_clientside.no_update; }",
        Output(ids.print_button(MATCH), "title"),
        Input(ids.print_button(MATCH), "n_clicks"),
        prevent_initial_call=True,
    )


PERIOD_PICKER = "overview-period"  # the overview's period picker (app/pages/overview.py PERIOD)


def _district_index() -> WResponse:
    """/district → /district/all with the same query (language, profile, period)."""
    query = flask.request.query_string.decode("utf-8", "replace")
    return flask.redirect("/district/all" + (f"?{query}" if query else ""), code=302)


def warm(ctx: AppContext) -> None:
    """Fill what a first visitor would otherwise wait for, before the server listens: the default profile's model
    and rank intervals (AppContext.warm), the default overview's charts (app.ui.overview_figures.warm) and the
    data-quality page's coverage heatmap (app.ui.coverage.warm)."""
    ctx.warm()
    overview_figures.warm(ctx)
    coverage.warm(ctx)  # the data-quality page's heatmap
    try:  # the methodology page's data audit (reliability by grain, redundant pairs) for the default profile
        snapshot_audit(ctx, ctx.profile(None).methods.reliability_threshold)
    except Exception as e:  # an empty or broken warehouse is shown on the pages, not fatal at start-up
        log.warning("could not warm the data audit: %s", e)


def import_probed_modules() -> None:
    """Import PROBED_BY_THE_ENCODER before serving (one not installed is left out: plotly then finds none)."""
    for name in PROBED_BY_THE_ENCODER:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def run(config: Config, *, debug: bool = False, threads: int = 8, auth: AuthSettings | None = None) -> None:
    """Serve the app on `config.server`: waitress (threads) normally, the Dash dev server only with `debug`
    (loopback only).

    Without `auth` the mode is resolved from the configuration (app.web.auth_config.resolve_auth), which raises
    AuthConfigError rather than serve a non-loopback address without authentication.
    """
    host, port = config.server.host, config.server.port
    if debug and not is_loopback(host):
        raise AuthConfigError(f"refusing --debug on {host}: the development server is for this computer only "
                              "(调试模式仅限本机地址 127.0.0.1)")
    if auth is None:
        auth = resolve_auth(config)
    app = create_app(config, auth=auth)
    warm(get_context())
    import_probed_modules()
    try:  # the first visitor's scripts gzipped before the server listens
        compress.prefill(app)
    except Exception as e:  # never fatal: they are then compressed at their first request
        log.warning("could not compress the page scripts ahead: %s", e)
    if debug:
        # Dash's dev tools and reloader, but never Werkzeug's interactive console: it sits in front of sign-in
        app.run(host=host, port=port, debug=True, use_debugger=False)
        return
    log.info("govindex serving %s on http://%s:%s (sign-in: %s mode)", config.paths.db, host, port, auth.mode)
    serve(app.server, host=host, port=port, ident="govindex", **waitress_options(config.server, threads))


def waitress_options(server: ServerConfig, threads: int = 8) -> dict[str, Any]:
    """waitress settings from the configuration: its defaults (100 connections, 120 s idle, select()) let about a
    hundred idle half-open sockets stop the server for everyone. poll() has no 1024-descriptor ceiling; idle
    connections are swept every few seconds rather than every 30."""
    return {
        "threads": threads,
        "connection_limit": server.connection_limit,
        "channel_timeout": server.channel_timeout,
        "cleanup_interval": max(1, min(10, server.channel_timeout // 2)),
        "asyncore_use_poll": True,
        "backlog": 1024,
    }


def lang_of(search: str | None) -> str:
    return norm_lang(components.query_param(search, "lang"))
