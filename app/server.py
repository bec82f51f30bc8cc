"""The Dash app: `create_app` wires the shell (header, page container, footer) and `run` serves it."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from dash import MATCH, Input, Output, State, dcc, html
from waitress import serve

from app.ui import components, ids
from app.web.auth import AuthSettings, install_auth, resolve_auth
from app.web.downloads import install_downloads
from app.ui.i18n import norm_lang, t
from app.state import AppContext, get_context, set_context

HERE = Path(__file__).resolve().parent
DEFAULT_WEIGHTS_DIR = HERE.parent / "weights"
log = logging.getLogger("govindex.app")


def create_app(
    db_path: str | Path,
    weights_dir: str | Path = DEFAULT_WEIGHTS_DIR,
    *,
    runs_path: str | Path | None = None,
    default_profile: str = "user-centred",
    mc_samples: int = 1000,
    seed: int = 20240601,
    auth: AuthSettings | None = None,
) -> dash.Dash:
    """Build the app over the warehouse at `db_path` (read-only) and the weight profiles in `weights_dir`.

    `auth` decides how people are identified (app/web/auth.py); None is the loopback demo mode.
    """
    ctx = AppContext.create(
        db_path=db_path, weights_dir=weights_dir, runs_path=runs_path, default_profile=default_profile,
        mc_samples=mc_samples, seed=seed,
    )
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
    install_auth(app, auth)
    install_downloads(app)
    return app


def _shell() -> html.Div:
    """The page frame; evaluated per request so the profile list reflects saved profiles."""
    ctx = get_context()
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.PROFILES_VERSION, data=0),
            components.header(ctx),
            html.Main(dash.page_container, className="page"),
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
        Input(ids.URL, "pathname"),
        Input(ids.URL, "search"),
        Input(ids.PROFILES_VERSION, "data"),
    )
    def _shell_text(pathname: str | None, search: str | None, _version: int):
        lang = components.lang_from_search(search)
        ctx = get_context()
        other = "zh" if lang == "en" else "en"
        return (
            components.nav_links(pathname or "/", lang),
            t("lang.switch", lang),
            components.with_query(pathname or "/", search, lang=other),
            t("app.title", lang),
            t("profile.label", lang),
            components.footer_content(ctx, lang),
            components.profile_options(ctx, lang),
        )

    @app.callback(
        Output(ids.PROFILE_SELECT, "value"),
        Input(ids.URL, "search"),
        State(ids.PROFILE_SELECT, "value"),
    )
    def _profile_from_url(search: str | None, current: str | None):
        """`?profile=name` in a shared link selects that profile."""
        wanted = components.query_param(search, "profile")
        names = get_context().profile_names()
        if wanted and wanted in names and wanted != current:
            return wanted
        if current not in names:
            return get_context().default_profile_name()
        return dash.no_update

    # Printing is a browser job: a clientside callback keeps it instant and server-free.
    app.clientside_callback(
        "function(n){ if(n){ window.print(); } return window.dash_clientside.no_update; }",
        Output(ids.print_button(MATCH), "title"),
        Input(ids.print_button(MATCH), "n_clicks"),
        prevent_initial_call=True,
    )


def run(host: str = "127.0.0.1", port: int = 8050, db_path: str | Path = "data/warehouse.duckdb",
        debug: bool = False, weights_dir: str | Path = DEFAULT_WEIGHTS_DIR, threads: int = 8,
        auth: AuthSettings | None = None) -> None:
    """Serve the app: waitress (threads) normally, the Dash dev server only with `debug`.

    Without `auth` the mode is resolved for `host` (app.web.auth.resolve_auth), which raises AuthConfigError rather than
    serve a non-loopback address without authentication.
    """
    if auth is None:
        auth = resolve_auth(host, db_path)
    app = create_app(db_path, weights_dir=weights_dir, auth=auth)
    get_context().warm()
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("govindex serving %s on http://%s:%s (sign-in: %s mode)", db_path, host, port, auth.mode)
    serve(app.server, host=host, port=port, threads=threads, ident="govindex")


def lang_of(search: str | None) -> str:
    return norm_lang(components.query_param(search, "lang"))
