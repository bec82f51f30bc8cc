"""National benchmark: the national demo (2,844 county-level units under 31 provinces) refreshed end to end, against
Shanghai's demo (16 districts) with the same months and the same total volume refreshed in the same run, and the
scores at the county and the province level (`govindex rank`) against a budget.

The ratio national / Shanghai is what 178 times as many units cost at an equal number of records: the per-unit
overhead of the indicator SQL's unit × period grid, the scoring panel and the per-unit tables (items, centres).
Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.national [--scale 5]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import BenchRow, budget_row, load_average
from bench import data as bench_data
from bench.refresh import _config, _timed_refresh

RANK_BUDGET_S = 5.0  # scores of every county and of every province from the stored values, for `govindex rank`
# `govindex demo --national` ends with this month; Shanghai's reference must cover the same months. With the plain
# demo's default (2026-10) it had no complete quarter, so its Monte Carlo summaries failed every method sample at
# once (no complete period to fit the alternative normalisations on) and the reference did a fraction of the work.
NATIONAL_END_MONTH = "2026-09"


def shanghai(scale: float, months: int = 3) -> Path:
    """Shanghai's demo over the national demo's months (same end month), generated on first use."""
    from etl.demo.generate import generate
    from etl.demo.report import REPORT_FILE

    folder = bench_data.cache_dir() / f"demo-{scale:g}-{months}-to-{NATIONAL_END_MONTH}"
    if not (folder / REPORT_FILE).is_file():
        generate(folder, months=months, scale=scale, end_month=NATIONAL_END_MONTH)
    return folder


def measure(scale: float, provinces: int | None, counties: int | None) -> dict[str, float]:
    from etl.contract.catalog import load_catalog
    from etl.stores.levels import score_level
    from etl.stores.profiles import load_profile

    national = bench_data.national(scale, 3, provinces, counties)
    reference = shanghai(scale, 3)  # the same months and total case volume (the scale sets the total)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="govindex-bench-national-") as tmp:
        for name, src in (("shanghai", reference), ("national", national)):
            w = Path(tmp) / name
            w.mkdir()
            (w / "weights").mkdir()
            cfg = _config(w / "warehouse.duckdb")
            out[name], _rec = _timed_refresh(cfg, src)
            out[f"{name}_mb"] = sum(p.stat().st_size for p in src.iterdir()) / 1e6
        fw, prof = load_catalog().framework(), load_profile("equal")
        db = Path(tmp) / "national" / "warehouse.duckdb"
        t0 = time.perf_counter()
        _counties, units = score_level(db, fw, prof, "quarter", "county", "peer_group")
        score_level(db, fw, prof, "quarter", "province", "all")
        out["rank"] = time.perf_counter() - t0
        out["units"] = float(len(units.leaves()))
    return out


def rows(quick: bool, scale: float | None = None) -> list[BenchRow]:
    scale = scale if scale is not None else (1.0 if quick else 5.0)
    m = measure(scale, 3 if quick else None, 6 if quick else None)
    n = int(m["units"])
    return [
        BenchRow("national", f"refresh of the national demo ({n:,} units, 3 months, --scale {scale:g}, "
                 f"{m['national_mb']:.0f} MB)", m["national"], "s", m["shanghai"], "reference", "", None,
                 f"reference = Shanghai's 16 districts, same months and case volume ({m['shanghai_mb']:.0f} MB); "
                 "ratio = what the units cost beyond the records"),
        budget_row("national", f"scores at county and province level ({n:,} units, govindex rank)", m["rank"],
                   RANK_BUDGET_S),
    ]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=None, help="volume (default 5, or 1 with --quick)")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    print(f"load average before: {load_average()}")
    for r in rows(a.quick, a.scale):
        print(r)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
