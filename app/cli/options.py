"""The options every command shares (--config, --db), defined once, and the one place a command builds its Config
(which also sets the process's logging and DuckDB resources from it).

A command takes `@config_options`, then calls `load(config_file, db=db_path, ...)` once at its start and passes
the Config down; defaults live in etl/config.py only, so the help here names where they come from, not their value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from etl.config import Config, ConfigError, load_config
from etl.logs import configure_logging

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Configuration file (default: $GOVINDEX_CONFIG, else ./govindex.toml when present).",
)

db_option = click.option(
    "--db",
    "db_path",
    default=None,
    help="Warehouse file (default from configuration: paths.db, $GOVINDEX_DB).",
)


def config_options(f: F) -> F:
    """--config and --db, in that order in the help; the command receives `config_file` and `db_path`."""
    return config_option(db_option(f))


def load(config_file: str | None, **overrides: Any) -> Config:
    """The command's Config: file ← GOVINDEX_* ← the options given (None: not given); bad values exit with a message."""
    try:
        config = load_config(config_file, overrides=overrides)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    apply_process_settings(config)
    return config


def apply_process_settings(config: Config) -> None:
    """What the Config sets for the whole process: logging ([logging]) and DuckDB's resources ([warehouse])."""
    # local: duckdb is slow to import and `--help` or the file-mode commands never open a warehouse
    from etl.warehouse import connection as warehouse

    configure_logging(config.logging)
    warehouse.configure(config.warehouse.memory_limit, config.warehouse.threads)


def configure_early_logging() -> None:
    """Logging from $GOVINDEX_CONFIG (or ./govindex.toml) and GOVINDEX_* before a command imports its heavy modules,
    so what those imports warn (a library's FutureWarning, say) is already a line in the configured format; the
    command's own `load` sets it again with its --config. A bad configuration is left for that `load` to report."""
    try:
        config = load_config()
    except ConfigError:
        return
    configure_logging(config.logging)


def period_text(period: object) -> str:
    """A period as operators read it: '2026年第三季度 (2026 Q3)' for the warehouse's '2026Q3' (the pages' formatter)."""
    from app.ui.i18n import fmt_period  # local: the CLI's start-up does not load the UI's catalogue

    zh, en = fmt_period(period, "zh"), fmt_period(period, "en")
    return zh if zh == en else f"{zh} ({en})"
