"""`govindex quarantine`: list the rows the ingest quarantined, with their reasons, or write a file's resubmit sheet."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from app.ui.i18n import t
from etl.errors import EtlError
from etl.ingest import messages

from app.cli.options import config_options, load
from app.cli.paths import warehouse_for_reading


@click.command()
@click.option("--table", "table_name", default=None, help="Only rows of this raw table (e.g. rating).")
@click.option("--file", "source_file", default=None, help="Only rows from this source file (name as ingested).")
@click.option("--district", default=None,
              help="Only rows concerning this district (code, e.g. 310104; ratings are traced through their case).")
@click.option("--csv", "csv_out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write all matching rows to this CSV file (UTF-8 with BOM, opens in Excel) instead of listing.")
@click.option("--resubmit", "resubmit_file", default=None,
              help="Write the 'fix and resubmit' sheet of this source file (one row per rejected row, in the file's "
                   "columns, with the reasons) to --out.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Where --resubmit writes (default: <table>_fix_<file>.csv in the current folder).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(0),
              help="Rows to list on screen (0 = all); --csv always writes all.")
@config_options
def quarantine(table_name: str | None, source_file: str | None, district: str | None, csv_out: Path | None,
               resubmit_file: str | None, out: Path | None, limit: int, config_file: str | None,
               db_path: str | None) -> None:
    """List quarantined rows (whole-file rejections as row 0): file, row, district, column, problem, value, reason,
    original row; or write a file's "fix and resubmit" sheet."""
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.ingest.quarantine import count_quarantine, list_quarantine
    from etl.ingest.resubmit import NothingToResubmitError, suggested_name, write_resubmit
    from etl.warehouse.connection import WarehouseError

    db = warehouse_for_reading(load(config_file, db=db_path).paths.db)

    def both(key: str, **fmt: object) -> str:
        return f"{t(key, 'zh', **fmt)} / {t(key, 'en', **fmt)}"

    console = Console(width=200)
    if resubmit_file is not None:
        try:
            name = suggested_name(db, resubmit_file)
            target = out if out is not None else Path(name)
            n = write_resubmit(db, resubmit_file, target)
        except NothingToResubmitError as e:
            raise click.ClickException(both("cli.nothing_to_resubmit", file=resubmit_file)) from e
        except (EtlError, WarehouseError) as e:
            raise click.ClickException(str(e)) from e
        console.print(both("cli.resubmit_written", n=n, out=target, name=name))
        return
    try:
        total = count_quarantine(db, table=table_name, source_file=source_file, district=district)
        rows = list_quarantine(db, table=table_name, source_file=source_file, district=district,
                               limit=None if (csv_out or limit == 0) else limit)
    except (EtlError, WarehouseError) as e:
        raise click.ClickException(str(e)) from e
    if csv_out is not None:
        from etl.safe_export import csv_text  # values come from uploaded files: no live formulas in Excel

        try:
            csv_out.write_bytes(b"\xef\xbb\xbf" + csv_text(rows).encode("utf-8"))
        except OSError as e:
            raise click.ClickException(f"cannot write {csv_out}: {e.strerror or e}") from None
        console.print(f"{rows.height:,} quarantine record(s) written to {csv_out}")
        return
    shown = f", showing {rows.height:,}" if rows.height < total else ""
    table = Table(title=f"quarantine in {db}: {total:,} record(s){shown}")
    for key in ("col.file", "col.row_number", "col.district", "col.column", "col.check_kind", "col.value",
                "col.reason", "col.original"):
        table.add_column(both(key), overflow="fold")
    for r in rows.iter_rows(named=True):
        table.add_row(r["source_file"], str(r["row_number"]), r["district_code"] or "", r["column_name"] or "",
                      messages.label(r["check_name"]),
                      "" if r["value"] is None else str(r["value"]), r["reason"], r["original_row"])
    console.print(table)
