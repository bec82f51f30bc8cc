"""Options shared by several commands, defined once so their names and help read the same everywhere."""

from __future__ import annotations

import click

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Configuration file (default: $GOVINDEX_CONFIG, else ./govindex.toml when present).",
)

refresh_db_option = click.option(
    "--db", "db_path", help="Warehouse to refresh (default from configuration: data/warehouse.duckdb)."
)
