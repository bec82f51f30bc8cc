"""Refresh benchmark: what a refresh costs when nothing is new, and when one month is new, against a full rebuild
measured in the same run (`govindex refresh` semantics: build beside the live snapshot, swap).

1. full rebuild: a refresh into an empty warehouse from the demo minus its last month (the reference);
2. one new month: the last month's files (case, hotline, kiosk) added, refreshed (goal: under a tenth of 1.);
3. nothing new: the same folder refreshed again (goal: under 1 s; the live snapshot is kept).

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.refresh [--scale 25]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ROOT, BenchRow, budget_row, load_average
from bench import data as bench_data

NOTHING_NEW_S = 1.0
NEW_MONTH_SHARE = 0.1


def _config(db: Path) -> Any:
    from etl.config import load_config

    return load_config(env={}, overrides={
        "db": str(db), "inbox": str(db.parent / "inbox"), "archive": str(db.parent / "archive"),
        "weights_dir": str(db.parent / "weights"), "inbox_settle_seconds": 0})  # fmt: skip


def _cli_refresh(db: Path, source: Path) -> tuple[float, str]:
    """`govindex refresh --source` as a person runs it (a new process: its imports count), with the settings of
    `_config`; its wall time and its last output line."""
    env = {**os.environ, "GOVINDEX_CONFIG": "", "GOVINDEX_DB": str(db), "GOVINDEX_INBOX": str(db.parent / "inbox"),
           "GOVINDEX_ARCHIVE": str(db.parent / "archive"), "GOVINDEX_WEIGHTS_DIR": str(db.parent / "weights"),
           "GOVINDEX_INBOX_SETTLE_SECONDS": "0", "PYTHONPATH": str(ROOT)}  # fmt: skip
    t0 = time.perf_counter()
    out = subprocess.run([str(bench_data.BIN), "refresh", "--source", str(source)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=900)  # fmt: skip
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"govindex refresh failed: {out.stderr[-2000:]}")
    return seconds, out.stdout.strip().splitlines()[-1]


CPU: dict[str, float] = {}  # CPU seconds of the process (all threads) per refresh kind: less swayed by other load


def _timed_refresh(cfg: Any, source: Path, kind: str = "") -> tuple[float, Any]:
    from etl.jobs.refresh import refresh

    t0, c0 = time.perf_counter(), time.process_time()
    rec = refresh(cfg, "cli", source)
    if rec.status != "succeeded":
        raise RuntimeError(f"refresh failed: {rec.error}")
    CPU[kind] = time.process_time() - c0
    return time.perf_counter() - t0, rec


def measure(raw: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="govindex-bench-refresh-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        months = sorted({p.stem.rsplit("_", 1)[-1] for p in raw.glob("case_*.parquet")})
        last = months[-1]
        held = [p for p in raw.iterdir() if p.stem.endswith(f"_{last}")]
        for p in raw.iterdir():
            if p.suffix in (".csv", ".parquet", ".xlsx") and p not in held:
                (src / p.name).symlink_to(p)
        w = Path(tmp) / "w"
        w.mkdir()
        (w / "weights").mkdir()
        cfg = _config(w / "warehouse.duckdb")
        full, _ = _timed_refresh(cfg, src, "full")
        for p in held:
            (src / p.name).symlink_to(p)
        month, rec_month = _timed_refresh(cfg, src, "month")
        nothing, rec_nothing = _timed_refresh(cfg, src, "nothing")
        cli, cli_said = _cli_refresh(w / "warehouse.duckdb", src)
        if "nothing new" not in cli_said:
            raise RuntimeError(f"the command line's refresh was not a nothing-new one: {cli_said}")
        return {"full": full, "month": month, "nothing": nothing, "held": len(held), "cli": cli,
                # outside the steps: the copy of the live snapshot, its fsync and swap, the manifest, the alerts
                "month_steps": "; ".join([*(f"{s['name']} {s['seconds']:.1f}s" for s in rec_month.steps),
                                          f"outside the steps {month - sum(s['seconds'] for s in rec_month.steps):.1f}s"]),
                "month_note": next((str(s.get("note")) for s in rec_month.steps if s["name"] == "indicator_values"), ""),
                **{f"cpu_{k}": v for k, v in CPU.items()},
                "nothing_steps": "; ".join(s["name"] for s in rec_nothing.steps)}  # fmt: skip


def rows(quick: bool) -> list[BenchRow]:
    scale = 0.2 if quick else 25.0
    m = measure(bench_data.demo(scale))
    return [
        budget_row("refresh", f"refresh with nothing new (--scale {scale:g})", m["nothing"], NOTHING_NEW_S,
                   reference=m["full"], kind="baseline", note=f"steps: {m['nothing_steps']}"),
        budget_row("refresh", f"`govindex refresh` with nothing new, a new process (--scale {scale:g})", m["cli"],
                   NOTHING_NEW_S, reference=m["nothing"], kind="baseline",
                   note="reference = the same check inside a running process (the rest is the command's start)"),
        BenchRow("refresh", f"refresh with one new month ({m['held']} files, --scale {scale:g})", m["month"], "s",
                 m["full"], "reference", f"<= {NEW_MONTH_SHARE:g} of a full rebuild",
                 m["month"] <= NEW_MONTH_SHARE * m["full"],
                 f"reference = full rebuild (all months but the last); ratio = share of it; {m['month_steps']}"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=25.0)
    args = ap.parse_args(argv)
    before = load_average()
    m = measure(bench_data.demo(args.scale))
    print(f"load average before {before}, after {load_average()}")
    print(f"  full rebuild       {m['full']:8.2f} s")
    print(f"  one new month      {m['month']:8.2f} s  = {m['month'] / m['full']:.2f} of a full rebuild "
          f"(goal <= {NEW_MONTH_SHARE}); {m['month_steps']}")
    print(f"  nothing new        {m['nothing']:8.3f} s  (goal < {NOTHING_NEW_S} s); steps: {m['nothing_steps']}")
    print(f"  nothing new, CLI   {m['cli']:8.3f} s  (`govindex refresh` in a new process, goal < {NOTHING_NEW_S} s)")
    print(f"  CPU seconds (all threads): full {m['cpu_full']:.1f}, one new month {m['cpu_month']:.1f} "
          f"= {m['cpu_month'] / m['cpu_full']:.2f}, nothing new {m['cpu_nothing']:.2f}")
    print(f"  indicator values of the new month: {m['month_note'][-300:]}")


if __name__ == "__main__":
    main()
