"""`govindex serve`: run the web app (and, by default, the refresh scheduler in the same process)."""

from __future__ import annotations

import click

from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_writing


@click.command()
@click.option("--host", default=None, help="Address to bind (default from configuration: server.host).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from configuration: server.port).")
@click.option("--debug/--no-debug", default=False, help="Dash debug mode (development only).")
@click.option("--weights-dir", default=None, type=click.Path(file_okay=False),
              help="Writable folder where profiles saved in the app, their history and audit trail go; the shipped "
                   "profiles are listed too (default from configuration: paths.weights_dir).")
@config_options
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the refresh scheduler in this process (one per warehouse; see docs/configuration.md).",
)
def serve(host: str | None, port: int | None, debug: bool, weights_dir: str | None, config_file: str | None,
          db_path: str | None, scheduler: bool) -> None:
    """Serve the web app over the warehouse (default http://127.0.0.1:8050).

    Host, port, warehouse, run history, weights folder and sign-in come from the configuration file and GOVINDEX_*
    variables (docs/configuration.md); the options here override them. The app, its "refresh now" and the scheduler
    all use this one configuration.

    Sign-in: with a users file (`govindex user add`) people sign in; with GOVINDEX_AUTH=proxy a trusted single-sign-on
    proxy identifies them; with neither, only 127.0.0.1 is served, as a demo where the role can be switched.
    """
    # local: the web stack (dash, flask) loads only when serving, not on every govindex command
    from app.server import run
    from app.web.auth_config import AuthConfigError, is_loopback, resolve_auth

    config = load(config_file, db=db_path, host=host, port=port, weights_dir=weights_dir)
    try:  # before the scheduler starts: a refusal must leave nothing running
        if debug and not is_loopback(config.server.host):
            raise AuthConfigError(f"refusing --debug on {config.server.host}: the development server has no place "
                                  "outside this computer; serve without --debug (调试模式仅限本机地址 127.0.0.1)")
        warehouse_for_writing(config.paths.db)  # may not exist yet (a note below), but its folder must
        auth = resolve_auth(config)
    except AuthConfigError as e:
        raise click.ClickException(str(e)) from None

    if scheduler:  # guarded against the debug reloader's watcher process and against a second worker (lock)
        # local: slow to import (scipy, pandera or duckdb); only this command needs it
        from etl.jobs.scheduler import start_in_process

        # The scheduled refreshes score the same profiles the app shows and saves.
        start_in_process(config, reloader=debug)

    db = config.paths.db
    if not db.exists():
        click.echo(f"note: {db} does not exist yet; run `govindex refresh --source DIR --db {db}` to build it.",
                   err=True)
    run(config, debug=debug, auth=auth)
