"""`govindex refresh`: load new files, recompute indicators, scores and uncertainty in a new snapshot, swap it in."""

from __future__ import annotations

import json
import logging
import signal
import sys
from types import FrameType

import click

from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_writing


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGINT end the refresh through its error path, so the run is recorded as interrupted and its temp
    # files are removed (DuckDB may turn the exception into "Query interrupted"; the flag keeps the status right).
    from etl.jobs.refresh import STOP_REQUESTED

    STOP_REQUESTED.set()
    raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)


@click.command()
@click.option(
    "--source",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of raw files to load. Default: the inbox (loaded files are then moved to the archive).",
)
@config_options
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to wait for a refresh already running on this warehouse (default from configuration: 0 = refuse).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON instead of text.")
def refresh(
    source: str | None, db_path: str | None, config_file: str | None, wait: float | None, as_json: bool
) -> None:
    """Refresh the warehouse now: ingest → indicator values → scores for every profile → uncertainty summary.

    Everything is built into a new snapshot file that replaces the live one only when complete; the app keeps
    serving the previous snapshot until then. Exits non-zero when the refresh fails (the previous snapshot stays).
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.jobs.refresh import RefreshError, refresh as run_refresh

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load(config_file, db=db_path)
    warehouse_for_writing(config.paths.db)  # builds the warehouse if need be, but never its folder
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        record = run_refresh(config, "cli", source, wait_seconds=wait)
    except RefreshError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(record.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(record.summary())
    if record.status != "succeeded":
        click.echo(f"Error: refresh {record.status}: {record.error}", err=True)
        sys.exit(1)
