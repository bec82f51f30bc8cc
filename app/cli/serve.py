"""`govindex serve`: run the web app (and, by default, the refresh scheduler in the same process)."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.options import config_option
from etl.config import ConfigError, load_config


@click.command()
@click.option("--host", default=None, help="Address to bind (default from configuration: 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from configuration: 8050).")
@click.option("--db", "db_path", default=None,
              help="Warehouse to read (default from configuration: data/warehouse.duckdb).")
@click.option("--debug/--no-debug", default=False, help="Dash debug mode (development only).")
@click.option("--weights-dir", default=None, type=click.Path(file_okay=False),
              help="Folder of weight profiles (*.toml); profiles saved in the app are written here "
                   "(default from configuration: the project's weights/).")
@config_option
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Run the refresh scheduler in this process (one per warehouse; see docs/configuration.md).",
)
def serve(host: str | None, port: int | None, db_path: str | None, debug: bool, weights_dir: str | None,
          config_file: str | None, scheduler: bool) -> None:
    """Serve the web app over the warehouse (default http://127.0.0.1:8050).

    Host, port, warehouse and weights folder come from the configuration file and GOVINDEX_* variables
    (docs/configuration.md); the options here override them.

    Sign-in: with a users file (`govindex user add`) people sign in; with GOVINDEX_AUTH=proxy a trusted single-sign-on
    proxy identifies them; with neither, only 127.0.0.1 is served, as a demo where the role can be switched.
    """
    # local: the web stack (dash, flask) loads only when serving, not on every govindex command
    from app.server import run
    from app.web.auth import AuthConfigError, resolve_auth  # local: the web stack, as above
    overrides = {k: v for k, v in (("host", host), ("port", port), ("db", db_path), ("weights_dir", weights_dir))
                 if v is not None}
    try:
        config = load_config(config_file, overrides=overrides)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    host, port = config.server.host, config.server.port
    db = str(config.paths.db)
    weights = str(config.paths.weights_path)

    try:  # before the scheduler starts: a refusal must leave nothing running
        auth = resolve_auth(host, db)
    except AuthConfigError as e:
        raise click.ClickException(str(e)) from None

    if scheduler:  # guarded against the debug reloader's watcher process and against a second worker (lock)
        # local: slow to import (scipy, pandera or duckdb); only this command needs it
        from etl.jobs.scheduler import start_in_process

        # The scheduled refreshes score the same profiles the app shows and saves.
        start_in_process(config, reloader=debug)

    if not Path(db).exists():
        click.echo(f"note: {db} does not exist yet; run `govindex refresh --source DIR --db {db}` to build it.",
                   err=True)
    run(host=host, port=port, db_path=db, debug=debug, weights_dir=weights, auth=auth)
