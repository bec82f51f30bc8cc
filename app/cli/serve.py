"""`govindex serve`: run the web app."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8050, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", "db_path", default="data/warehouse.duckdb", show_default=True, help="Warehouse to read.")
@click.option("--debug/--no-debug", default=False, help="Dash debug mode (development only).")
@click.option("--weights-dir", default="weights", show_default=True, type=click.Path(file_okay=False),
              help="Folder of weight profiles (*.toml); profiles saved in the app are written here.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the refresh scheduler in this process (one per warehouse; see docs/configuration.md).",
)
def serve(host: str, port: int, db_path: str, debug: bool, weights_dir: str, scheduler: bool) -> None:
    """Serve the web app over the warehouse (default http://127.0.0.1:8050).

    Sign-in: with a users file (`govindex user add`) people sign in; with GOVINDEX_AUTH=proxy a trusted single-sign-on
    proxy identifies them; with neither, only 127.0.0.1 is served, as a demo where the role can be switched.
    """
    from app.auth import AuthConfigError, resolve_auth
    from app.server import run

    try:  # before the scheduler starts: a refusal must leave nothing running
        auth = resolve_auth(host, db_path)
    except AuthConfigError as e:
        raise click.ClickException(str(e)) from None

    if scheduler:  # guarded against the debug reloader's watcher process and against a second worker (lock)
        from etl.config import ConfigError, load_config
        from etl.scheduler import start_in_process

        try:
            # The scheduled refreshes score the same profiles the app shows and saves.
            start_in_process(load_config(overrides={"db": db_path, "weights_dir": weights_dir}), reloader=debug)
        except ConfigError as e:
            raise click.ClickException(str(e)) from None

    run(host=host, port=port, db_path=db_path, debug=debug, weights_dir=weights_dir, auth=auth)
