"""`govindex ingest`: load a folder of raw files into the warehouse, with per-file accounting."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from etl.errors import EtlError

from app.cli.jsonout import EXIT_FAILED, Busy, emit, json_errors
from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_writing
from app.ui.i18n import t


@click.command()
@click.option("--source", "source", required=True, type=click.Path(path_type=Path),
              help="Folder of raw files (CSV UTF-8/GB18030, XLSX, Parquet) named <table>[_<suffix>].<ext>.")
@config_options
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object on stdout: status, batch, per-file accounting and totals.")
def ingest(source: Path, config_file: str | None, db_path: str | None, as_json: bool) -> None:
    """Validate and load raw files; bad rows go to the quarantine with reasons (see `govindex quarantine`).

    Every input row is counted once: in = loaded + quarantined + duplicate + blank (blank rows are skipped).
    Exits 0 when the batch was processed (quarantined rows included), non-zero when nothing could be processed
    (missing or empty folder, every file rejected: 1; a refresh is running: 75). The warehouse is created when
    missing.
    """
    with json_errors(as_json):
        _ingest(source, config_file, db_path, as_json)


def _ingest(source: Path, config_file: str | None, db_path: str | None, as_json: bool) -> None:
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.ingest.files import ingest_folder
    from etl.jobs.locks import LockHeld
    from etl.jobs.refresh import refresh_lock
    from etl.warehouse.connection import WarehouseError

    db = load(config_file, db=db_path).paths.db
    console = Console(width=200)
    t0 = time.perf_counter()
    db = warehouse_for_writing(db)
    try:  # the live warehouse: a refresh swapping its snapshot in meanwhile would discard this load
        with refresh_lock(Path(os.path.abspath(db))).acquire(0.0, command="ingest"):
            report = ingest_folder(source, db)
    except LockHeld as e:
        raise Busy(f"not loading now: {e} · 正在刷新，请稍后再导入") from None
    except (EtlError, WarehouseError) as e:
        raise click.ClickException(str(e)) from e
    elapsed = time.perf_counter() - t0
    if as_json:
        emit({"status": "ok" if report.processed else "failed", "batch_id": report.batch_id, "db": str(db),
              "source": str(source), "seconds": round(elapsed, 3),
              "files": [asdict(f) for f in report.files],
              "totals": {k: report.total(k) for k in ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate",
                                                       "rows_blank")},
              "ignored": report.ignored})
        if not report.processed:
            sys.exit(EXIT_FAILED)
        return

    table = Table(title=f"ingest {source} → {db} (batch {report.batch_id})")
    for key, justify in (("col.file", "left"), ("col.table", "left"), ("col.rows_in", "right"),
                         ("col.rows_loaded", "right"), ("col.rows_quarantined", "right"), ("col.rows_duplicate", "right"),
                         ("col.rows_blank", "right"), ("col.status", "left"), ("col.message", "left")):
        table.add_column(f"{t(key, 'zh')} / {t(key, 'en')}", justify=justify, overflow="fold")  # type: ignore[arg-type]
    colour = {"loaded": "green", "partial": "yellow", "rejected": "red", "unchanged": "dim"}
    for f in report.files:
        table.add_row(f.name, f.table or "?", f"{f.rows_in:,}", f"{f.rows_loaded:,}", f"{f.rows_quarantined:,}",
                      f"{f.rows_duplicate:,}", f"{f.rows_blank:,}", f"[{colour[f.status]}]{f.status}[/]", f.message)
    table.add_row(f"[bold]{t('cli.total', 'zh')} / {t('cli.total', 'en')}[/]", "", f"{report.rows_in:,}",
                  f"{report.rows_loaded:,}", f"{report.rows_quarantined:,}", f"{report.rows_duplicate:,}",
                  f"{report.rows_blank:,}", "", "")
    console.print(table)
    counts = {s: len(report.by_status(s)) for s in ("loaded", "partial", "unchanged", "rejected")}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" in {elapsed:.1f} s")
    if report.ignored:
        console.print(f"ignored (not CSV/XLSX/Parquet): {', '.join(report.ignored)}")
    if not report.processed:
        raise click.ClickException(f"nothing could be processed: all {len(report.files)} file(s) were rejected")
