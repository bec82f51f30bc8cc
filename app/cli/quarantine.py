"""`govindex quarantine`: list the rows the ingest quarantined, with their reasons."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from etl.errors import EtlError

from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_reading


@click.command()
@click.option("--table", "table_name", default=None, help="Only rows of this raw table (e.g. rating).")
@click.option("--file", "source_file", default=None, help="Only rows from this source file (name as ingested).")
@click.option("--district", default=None,
              help="Only rows concerning this district (code, e.g. 310104; ratings are traced through their case).")
@click.option("--csv", "csv_out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write all matching rows to this CSV file (UTF-8 with BOM, opens in Excel) instead of listing.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(0),
              help="Rows to list on screen (0 = all); --csv always writes all.")
@config_options
def quarantine(table_name: str | None, source_file: str | None, district: str | None, csv_out: Path | None,
               limit: int, config_file: str | None, db_path: str | None) -> None:
    """List quarantined rows: file, row, column, check, value, reason and the original row (Chinese readable)."""
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.ingest.quarantine import count_quarantine, list_quarantine
    from etl.warehouse.connection import WarehouseError

    db = warehouse_for_reading(load(config_file, db=db_path).paths.db)
    try:
        total = count_quarantine(db, table=table_name, source_file=source_file, district=district)
        rows = list_quarantine(db, table=table_name, source_file=source_file, district=district,
                               limit=None if (csv_out or limit == 0) else limit)
    except (EtlError, WarehouseError) as e:
        raise click.ClickException(str(e)) from e
    console = Console(width=200)
    if csv_out is not None:
        from etl.safe_export import csv_text  # values come from uploaded files: no live formulas in Excel

        try:
            csv_out.write_bytes(b"\xef\xbb\xbf" + csv_text(rows).encode("utf-8"))
        except OSError as e:
            raise click.ClickException(f"cannot write {csv_out}: {e.strerror or e}") from None
        console.print(f"{rows.height:,} quarantine record(s) written to {csv_out}")
        return
    table = Table(title=f"quarantine in {db}: {total:,} record(s)" + (f", showing {rows.height:,}" if rows.height < total else ""))
    for name in ("file", "row", "district", "column", "check", "value", "reason", "original row"):
        table.add_column(name, overflow="fold")
    for r in rows.iter_rows(named=True):
        table.add_row(r["source_file"], str(r["row_number"]), r["district_code"] or "", r["column_name"] or "",
                      r["check_name"],
                      "" if r["value"] is None else str(r["value"]), r["reason"], r["original_row"])
    console.print(table)
