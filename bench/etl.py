"""ETL benchmark: raw files → validated warehouse → indicator values, against a pandas read + groupby baseline.

Each side runs in its own child process (so peak RSS is measured per side, DuckDB included) on the same files in
the same run. The baseline is what a straightforward analyst script does for three of the same indicators (online
case rate, unprompted satisfaction, on-time completion) by district × month: pandas read_parquet/read_csv, merge,
groupby. It validates nothing and loads nothing, so the ratio is conservative for govindex.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.etl --source /tmp/demo25
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATIO = 3.0
TARGET_PEAK_GB = 4.0


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def run_ours(source: Path, db: Path) -> dict[str, Any]:
    """govindex: ingest every file (read, cast, validate, dedupe, load) then compute all indicator values."""
    from etl.ingest import ingest_folder

    t0 = time.perf_counter()
    report = ingest_folder(source, db)
    t_ingest = time.perf_counter() - t0
    out: dict[str, Any] = {
        "rows_in": report.rows_in,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "rows_duplicate": report.rows_duplicate,
        "files": len(report.files),
        "ingest_s": t_ingest,
        "indicator_values": None,
    }
    try:
        from etl.catalog import load_catalog
        from etl.indicator_values import write_indicator_values
    except ImportError as e:  # H3's module not in this build: bench the ingest only
        out["indicator_values"] = f"skipped: {e}"
        out["indicators_s"] = 0.0
    else:
        t1 = time.perf_counter()
        frame = write_indicator_values(db, load_catalog())
        out["indicators_s"] = time.perf_counter() - t1
        out["indicator_values"] = frame.height
    out["total_s"] = time.perf_counter() - t0
    out["peak_gb"] = _peak_gb()
    return out


def run_baseline(source: Path) -> dict[str, Any]:
    """pandas: read the case and rating files, three indicators by district × month with groupby."""
    import pandas as pd

    t0 = time.perf_counter()
    case_files = sorted(source.glob("case*.parquet")) + sorted(source.glob("case*.csv"))
    parts = []
    for f in case_files:
        parts.append(pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f, encoding_errors="replace"))
    cases = pd.concat(parts, ignore_index=True)
    for col in ("submitted_at", "closed_at", "promised_due_at"):
        cases[col] = pd.to_datetime(cases[col], errors="coerce")
    ratings = pd.concat(
        [pd.read_csv(f, encoding_errors="replace") for f in sorted(source.glob("rating*.csv"))], ignore_index=True
    )
    ratings["rated_at"] = pd.to_datetime(ratings["rated_at"], errors="coerce")
    ratings["level"] = pd.to_numeric(ratings["level"], errors="coerce")
    t_read = time.perf_counter() - t0

    sub = cases[cases["submitted_at"].notna()]
    online = (
        sub.assign(online=sub["channel"].isin(["pc", "app"]), period=sub["submitted_at"].dt.to_period("M"))
        .groupby(["district_code", "period"])["online"]
        .mean()
    )
    closed = cases[(cases["status"] == "closed") & cases["closed_at"].notna() & cases["promised_due_at"].notna()]
    ontime = (
        closed.assign(ok=closed["closed_at"] <= closed["promised_due_at"], period=closed["closed_at"].dt.to_period("M"))
        .groupby(["district_code", "period"])["ok"]
        .mean()
    )
    prompted = ratings["prompted"].astype(str).str.lower().isin(["true", "1"])
    unp = ratings[~prompted].merge(cases[["case_id", "district_code"]], on="case_id", how="inner")
    unprompted = (
        unp.assign(good=unp["level"] >= 4, period=unp["rated_at"].dt.to_period("M"))
        .groupby(["district_code", "period"])["good"]
        .mean()
    )
    return {
        "rows_read": len(cases) + len(ratings),
        "read_s": t_read,
        "total_s": time.perf_counter() - t0,
        "cells": len(online) + len(ontime) + len(unprompted),
        "peak_gb": _peak_gb(),
    }


def _child(phase: str, source: Path, db: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.etl", "--phase", phase, "--source", str(source), "--db", str(db)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/demo25"), help="folder of raw demo files")
    ap.add_argument("--db", type=Path, default=None, help="warehouse file to build (default: a temporary file)")
    ap.add_argument("--phase", choices=("ours", "baseline"), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--skip-baseline", action="store_true", help="run govindex only")
    args = ap.parse_args(argv)
    if args.phase == "ours":
        print(json.dumps(run_ours(args.source, args.db)))
        return
    if args.phase == "baseline":
        print(json.dumps(run_baseline(args.source)))
        return
    if not args.source.is_dir():
        raise SystemExit(f"no such folder: {args.source} (make it with `govindex demo --scale 25 --out DIR`)")
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        if db.exists():
            db.unlink()
        ours = _child("ours", args.source, db)
        base = None if args.skip_baseline else _child("baseline", args.source, db)
    rows = int(ours["rows_in"])
    print(f"govindex ETL on {args.source}: {ours['files']} files, {rows:,} rows in "
          f"({ours['rows_loaded']:,} loaded, {ours['rows_quarantined']:,} quarantined, {ours['rows_duplicate']:,} duplicate)")  # fmt: skip
    print(f"  ingest            {ours['ingest_s']:8.1f} s   {rows / float(ours['ingest_s']):>12,.0f} rows/s")
    iv = ours["indicator_values"]
    print(f"  indicator values  {ours['indicators_s']:8.1f} s   ({iv if isinstance(iv, str) else f'{iv:,} values'})")
    print(f"  total             {ours['total_s']:8.1f} s   peak RSS {ours['peak_gb']:.2f} GB "
          f"(budget {TARGET_PEAK_GB:.0f} GB: {'ok' if float(ours['peak_gb']) < TARGET_PEAK_GB else 'OVER'})")  # fmt: skip
    if base is not None:
        ratio = float(base["total_s"]) / float(ours["total_s"])
        print(f"pandas baseline (read case+rating files, 3 indicators by district × month, no validation, no load): "
              f"{base['total_s']:.1f} s (read {base['read_s']:.1f} s), {base['rows_read']:,} rows, "
              f"peak RSS {base['peak_gb']:.2f} GB")  # fmt: skip
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(f"ratio baseline/govindex = {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target); "
              f"per row: govindex {float(ours['total_s']) / rows * 1e6:.2f} us, "
              f"pandas {float(base['total_s']) / int(base['rows_read']) * 1e6:.2f} us")  # fmt: skip


if __name__ == "__main__":
    main()
