"""`govindex schedule`: refresh on a cron and watch the inbox, until Ctrl-C (one scheduler per warehouse)."""

from __future__ import annotations


import click

from app.cli.options import config_options, load

DEFAULT_EVERY_MINUTES = 5.0


@click.command()
@click.option(
    "--cron",
    help='Crontab in the configured time zone: 5 fields, or 6 with seconds first (e.g. "*/10 * * * * *"). '
    'Default from configuration: schedule.cron.',
)
@click.option("--tz", help="IANA time zone the cron is read in (default from configuration: schedule.tz).")
@click.option(
    "--inbox",
    "inbox_dir",
    type=click.Path(file_okay=False),
    help=f"Inbox folder to watch (default from configuration: paths.inbox). Turns the watch on, every "
    f"{DEFAULT_EVERY_MINUTES:g} min unless --every says otherwise.",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0),
    help="Poll the inbox every N minutes (fractions allowed; 0 = no inbox watch).",
)
@config_options
def schedule(
    cron: str | None,
    tz: str | None,
    inbox_dir: str | None,
    every: float | None,
    db_path: str | None,
    config_file: str | None,
) -> None:
    """Run scheduled refreshes in the foreground until Ctrl-C.

    Refuses to start when another scheduler already runs for the same warehouse (the message names its pid); a
    lock left by a killed scheduler is freed by the kernel, so a restart just works. Missed runs coalesce into one.
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.jobs.scheduler import SchedulerLocked, run_forever

    if inbox_dir is not None and every is None:
        every = DEFAULT_EVERY_MINUTES
    config = load(config_file, db=db_path, cron=cron, tz=tz, inbox=inbox_dir, inbox_minutes=every)
    try:
        run_forever(config)
    except SchedulerLocked as e:
        raise click.ClickException(f"not starting: {e}") from None
