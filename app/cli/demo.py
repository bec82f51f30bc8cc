"""`govindex demo`: write the seeded demo raw data set."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


@click.command()
@click.option("--out", "out_dir", default="data/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the raw table files into (earlier table files there are replaced).")
@click.option("--months", default=None, type=click.IntRange(1, 240),
              help="Number of calendar months to generate, ending with --end-month [default: 24; 3 with --national].")
@click.option("--seed", default=7, show_default=True, type=click.IntRange(0),
              help="Random seed; the same seed gives byte-identical files.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Volume multiplier: 1.0 is about 400,000 cases over 24 months; 25 is about 10 million.")
@click.option("--end-month", default=None,
              help="Last month generated (YYYY-MM); fixed by default so the output does not depend on today "
                   "[default: 2026-10; 2026-09 with --national, a whole quarter].")
@click.option("--supply-demand-corr", "supply_demand_corr", default=0.3, show_default=True,
              type=click.FloatRange(-1.0, 1.0),
              help="Correlation of the districts' latent supply and demand strengths (the three named districts "
                   "keep their roles); bench/demo_recovery.py measures how well the pillars recover them.")
@click.option("--national", is_flag=True,
              help="The national demo: 2,844 county-level units under 31 provinces (GB/T 2260-shaped codes, "
                   "synthetic counties), few records per unit, instead of Shanghai's 16 districts.")
@click.option("--provinces", default=None, type=click.IntRange(1, 31),
              help="With --national: only the first N provinces (a smaller national demo, for tests).")
@click.option("--counties", default=None, type=click.IntRange(1, 200),
              help="With --national: at most N county-level units per province.")
@click.option("--quiet", is_flag=True, help="Print only the summary table, not per-month progress.")
def demo(out_dir: str, months: int | None, seed: int, scale: float, end_month: str | None,
         supply_demand_corr: float, national: bool, provinces: int | None, counties: int | None,
         quiet: bool) -> None:
    """Generate the demo raw tables (16 Shanghai districts, or --national) with realistic quirks and known defects.

    Writes CSV (UTF-8, UTF-8 with BOM, GB18030), one XLSX and monthly Parquet files named so that each maps to its
    table (see data/README.md), plus _demo_report.json listing every file, row count and injected defect.
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.demo import DemoConfigError, generate

    console = Console()
    t0 = time.perf_counter()
    say = None if quiet else (lambda msg: console.print(f"[dim]{msg}[/dim]"))
    if (provinces or counties) and not national:
        raise click.UsageError("--provinces and --counties go with --national")
    try:
        if national:
            from etl.demo.national import generate_national  # local: only --national needs it

            report = generate_national(Path(out_dir), months=months or 3, seed=seed, scale=scale,
                                       end_month=end_month or "2026-09", provinces=provinces, counties=counties,
                                       progress=say)
        else:
            report = generate(Path(out_dir), months=months or 24, seed=seed, scale=scale,
                              end_month=end_month or "2026-10", progress=say, supply_demand_corr=supply_demand_corr)
    except DemoConfigError as e:
        raise click.ClickException(str(e)) from e
    elapsed = time.perf_counter() - t0

    table = Table(title=f"demo data in {out_dir}")
    for name, justify in (("table", "left"), ("files", "right"), ("rows", "right"), ("duplicates", "right"),
                          ("invalid", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t, rows in report.rows.items():
        n_files = sum(1 for f in report.files if f.table == t)
        table.add_row(t, str(n_files), f"{rows:,}", str(report.exact_duplicates(t)), str(report.invalid_rows(t)))
    console.print(table)
    kinds = ", ".join(f"{k} {v}" for k, v in report.kinds().items())
    console.print(f"defects injected: {kinds}")
    console.print(f"{len(report.files)} files, {sum(report.rows.values()):,} rows in {elapsed:.1f} s")
