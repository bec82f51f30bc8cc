"""`govindex refresh`: load new files, recompute indicators, scores and uncertainty in a new snapshot, swap it in."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click

from app.cli.jsonout import EXIT_FAILED, Busy, emit, json_errors
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
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object on stdout: the run record (status, counts, steps, error).")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default=None,
    help="Engine of the indicator stage (default from configuration [engine] indicators: duckdb). spark runs the "
         "catalog's SQL on Apache Spark ([spark] master; needs govindex[spark] and Java 17).",
)
def refresh(
    source: str | None, db_path: str | None, config_file: str | None, wait: float | None, as_json: bool,
    engine: str | None,
) -> None:
    """Refresh the warehouse now: ingest → indicator values → scores for every profile → uncertainty summary.

    Everything is built into a new snapshot file that replaces the live one only when complete; the app keeps
    serving the previous snapshot until then. Exit codes: 0 succeeded; 1 failed (the previous snapshot stays),
    including a refresh that produced no indicator values or found no weight profile to score; 75 another refresh
    is running (try later).
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.jobs.refresh import RefreshBusy, RefreshError, refresh as run_refresh

    with json_errors(as_json):
        config = load(config_file, db=db_path, **{"engine.indicators": engine})
        warehouse_for_writing(config.paths.db)  # builds the warehouse if need be, but never its folder
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        try:
            record = run_refresh(config, "cli", source, wait_seconds=wait)
        except RefreshBusy as e:
            raise Busy(str(e)) from None
        except RefreshError as e:
            raise click.ClickException(str(e)) from None
    if as_json:
        emit(record.to_dict())
    else:
        click.echo(record.summary())
    if record.status != "succeeded":
        if not as_json:
            click.echo(f"Error: refresh {record.status}: {record.error}", err=True)
        sys.exit(EXIT_FAILED)
