"""Demo data for the benchmarks: `govindex demo --scale N` folders, made once and cached.

The cache folder is $GOVINDEX_BENCH_DATA (default /tmp/govindex-bench); a folder is reused when its
_demo_report.json exists (the generator writes it last), so an interrupted generation is redone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench import ROOT

BIN = Path(sys.executable).parent / "govindex"


def cache_dir() -> Path:
    return Path(os.environ.get("GOVINDEX_BENCH_DATA", "/tmp/govindex-bench"))


def demo(scale: float, months: int = 24) -> Path:
    """The raw files of `govindex demo --scale scale --months months` (generated on first use)."""
    return _cached_demo(f"demo-{scale:g}-{months}", ["--scale", f"{scale:g}", "--months", str(months)])


def national(scale: float, months: int = 3, provinces: int | None = None, counties: int | None = None) -> Path:
    """The raw files of `govindex demo --national` (2,844 counties, or a cut-down one), generated on first use."""
    cut = [*(["--provinces", str(provinces)] if provinces else []), *(["--counties", str(counties)] if counties else [])]
    return _cached_demo(f"national-{scale:g}-{months}-{provinces or 31}-{counties or 'all'}",
                        ["--national", "--scale", f"{scale:g}", "--months", str(months), "--end-month", "2026-09", *cut])


def _cached_demo(name: str, args: list[str]) -> Path:
    """`govindex demo --out <cache>/name args`, run once: a folder with its report is kept, a half-written one redone."""
    folder = cache_dir() / name
    if (folder / "_demo_report.json").is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN), "demo", "--out", str(folder), *args, "--quiet"], check=True, capture_output=True,
                   cwd=ROOT)  # fmt: skip
    return folder


def ingested(scale: float, months: int = 24) -> tuple[Path, int]:
    """The demo at `scale` ingested into a DuckDB warehouse (made once, cached beside the demo's files, so a second
    run of a bench times its stage, not the ingest again), and the number of rows read in."""
    source = demo(scale, months)
    db = cache_dir() / f"{source.name}.duckdb"
    marker = db.with_name(db.name + ".rows")
    if db.is_file() and marker.is_file():
        return db, int(marker.read_text())
    from etl.ingest.files import ingest_folder  # local: the heavy imports only when a warehouse is made

    building = db.with_name(db.name + ".building")
    building.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    report = ingest_folder(source, building)
    building.rename(db)
    marker.write_text(str(report.rows_in))
    return db, report.rows_in
