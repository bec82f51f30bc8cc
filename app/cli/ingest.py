"""`govindex ingest`: load a folder of raw files into the warehouse, with per-file accounting."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command()
@click.option("--source", "source", required=True, type=click.Path(path_type=Path),
              help="Folder of raw files (CSV UTF-8/GB18030, XLSX, Parquet) named <table>[_<suffix>].<ext>.")
@click.option("--db", "db_path", default="data/warehouse.duckdb", show_default=True, type=click.Path(path_type=Path),
              help="Warehouse file (created when missing).")
def ingest(source: Path, db_path: Path) -> None:
    """Validate and load raw files; bad rows go to the quarantine with reasons (see `govindex quarantine`).

    Every input row is counted once: in = loaded + quarantined + duplicate + blank (blank rows are skipped).
    Exits 0 when the batch was processed (quarantined rows included), non-zero when nothing could be processed
    (missing or empty folder, every file rejected).
    """
    from rich.console import Console
    from rich.table import Table

    from app.ui.i18n import t
    from etl.errors import EtlError
    from etl.ingest.files import ingest_folder
    from etl.warehouse.connection import WarehouseError

    console = Console(width=200)
    t0 = time.perf_counter()
    try:
        report = ingest_folder(source, db_path)
    except (EtlError, WarehouseError) as e:
        raise click.ClickException(str(e)) from e
    elapsed = time.perf_counter() - t0

    table = Table(title=f"ingest {source} → {db_path} (batch {report.batch_id})")
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
