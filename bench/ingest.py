"""Ingest benchmark: govindex's ingest (read, decode, cast, validate, dedupe, quarantine, load, account) against the
loader's floor measured in the same run: DuckDB loading the same files as plain tables (`CREATE TABLE AS SELECT *`,
CSV read as text; a GB18030 CSV transcoded to UTF-8 first, since DuckDB's CSV reader has no GB18030; the XLSX read
with fastexcel), one table per file, into a new database file, checkpointed. Both sides run in their own child
process (wall time and peak RSS per side).

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.ingest [--scale 5] [--repeat 1] [--threads 1]` (the demo is
generated and cached on first use, see bench.data). Goal (issue 16): within 1.5x the floor, peak RSS under 4 GB.

`--threads 1` runs both sides on one thread (DuckDB, polars, pyarrow): on a machine shared with busy neighbours the
CPU seconds of idle worker threads spinning for a core grow with the load and swamp the work, so the CPU ratio of
two one-thread runs is the comparison that still means something there (the wall ratio does not).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import BenchRow, budget_row, floor_row, load_average
from bench import data as bench_data

MAX_RATIO = 1.5
PEAK_GB = 4.0


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _cpu_s() -> float:
    """CPU seconds (user + system, every thread) this process has used: on a shared, loaded machine the wall
    ratio moves with the neighbours' load, the CPU ratio much less, so both are printed."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _limit_threads(threads: int) -> None:
    """Every library of the run on `threads` threads (0: their defaults). polars reads POLARS_MAX_THREADS when it is
    first imported, so _child sets that in the child's environment."""
    if threads <= 0:
        return
    import pyarrow as pa

    from etl.warehouse import connection as wh
    from etl.config import WarehouseConfig

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    wh.configure(WarehouseConfig.model_fields["memory_limit"].default, threads)


def _threads_used() -> int:
    import polars as pl

    return pl.thread_pool_size()


def run_floor(source: Path, db: Path, threads: int = 0) -> dict[str, Any]:
    import duckdb
    import fastexcel

    from etl.ingest.files import discover

    _limit_threads(threads)
    t0, c0 = time.perf_counter(), _cpu_s()
    con = duckdb.connect(str(db))
    if threads > 0:
        con.execute(f"SET threads = {int(threads)}")
    duck_threads = int(con.sql("SELECT current_setting('threads')").fetchall()[0][0])
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (path, _) in enumerate(discover(source)[0]):
            t = f"t{i}"
            suffix = path.suffix.lower()
            if suffix == ".parquet":
                con.sql(f"CREATE TABLE {t} AS SELECT * FROM read_parquet('{path}')")
            elif suffix == ".xlsx":
                frame = fastexcel.read_excel(path).load_sheet(0).to_arrow()
                con.register("_x", frame)
                con.sql(f"CREATE TABLE {t} AS SELECT * FROM _x")
                con.unregister("_x")
            else:
                opts = "all_varchar = true, header = true, delim = ',', quote = '\"', escape = '\"', strict_mode = false"
                sql = f"CREATE TABLE {t} AS SELECT * FROM read_csv('{{}}', {opts}, null_padding = true)"
                try:
                    con.sql(sql.format(path))
                except duckdb.Error:  # not UTF-8: GB18030, the other encoding the demo writes; transcode first
                    utf8 = Path(tmp) / f"{i}.csv"
                    utf8.write_text(path.read_bytes().decode("gb18030"), encoding="utf-8")
                    con.sql(sql.format(utf8))
            rows += con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
    con.sql("CHECKPOINT")
    con.close()
    return {"seconds": time.perf_counter() - t0, "rows": rows, "peak_gb": _peak_gb(), "cpu": _cpu_s() - c0,
            "threads": duck_threads, "polars_threads": _threads_used()}  # fmt: skip


def run_ours(source: Path, db: Path, threads: int = 0) -> dict[str, Any]:
    from etl.ingest.files import ingest_folder
    from etl.warehouse import connection as wh

    _limit_threads(threads)
    t0, c0 = time.perf_counter(), _cpu_s()
    report = ingest_folder(source, db)
    with wh.connection(db) as con:
        duck_threads = int(wh.scalar(con, "SELECT current_setting('threads')"))
    return {"seconds": time.perf_counter() - t0, "rows": report.rows_in, "peak_gb": _peak_gb(),
            "loaded": report.rows_loaded, "files": len(report.files), "cpu": _cpu_s() - c0,
            "threads": duck_threads, "polars_threads": _threads_used()}  # fmt: skip


def _child(phase: str, source: Path, db: Path, threads: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.ingest", "--phase", phase, "--source", str(source), "--db", str(db),
           "--threads", str(threads)]  # fmt: skip
    env = {**os.environ, **({"POLARS_MAX_THREADS": str(threads)} if threads > 0 else {})}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(source: Path, repeat: int = 1, threads: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(floor runs, govindex runs), interleaved floor/ours so both see the same load; `threads` > 0 pins both."""
    floors, ours = [], []
    with tempfile.TemporaryDirectory(prefix="govindex-bench-ingest-") as tmp:
        for k in range(repeat):
            floors.append(_child("floor", source, Path(tmp) / f"floor{k}.duckdb", threads))
            ours.append(_child("ours", source, Path(tmp) / f"ours{k}.duckdb", threads))
            for f in Path(tmp).iterdir():
                f.unlink()
    return floors, ours


def rows(quick: bool) -> list[BenchRow]:
    out: list[BenchRow] = []
    for scale in ((0.2,) if quick else (5.0, 25.0)):
        source = bench_data.demo(scale)
        floors, ours = measure(source, repeat=1)
        f = statistics.median(r["seconds"] for r in floors)
        o = statistics.median(r["seconds"] for r in ours)
        n = int(ours[0]["rows"])
        runs = f"median of {len(ours)}" if len(ours) > 1 else "one run"
        out.append(floor_row("ingest", f"ingest demo --scale {scale:g} ({n:,} rows, {ours[0]['files']} files)", o, f,
                             MAX_RATIO, f"{runs}; floor = DuckDB CREATE TABLE AS from the same files"))  # fmt: skip
        fc, oc = statistics.median(r["cpu"] for r in floors), statistics.median(r["cpu"] for r in ours)
        out.append(BenchRow("ingest", f"ingest --scale {scale:g} CPU seconds (user + system)", oc, "s", fc, "floor",
                            note="shown beside the wall ratio: on a loaded machine the CPU ratio moves less"))  # fmt: skip
        peak = max(r["peak_gb"] for r in ours)
        out.append(budget_row("ingest", f"ingest --scale {scale:g} peak RSS", peak, PEAK_GB, "GB",
                              max(r["peak_gb"] for r in floors), "floor"))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=5.0)
    ap.add_argument("--source", type=Path, help="folder of raw files (default: the cached demo of --scale)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="pin both sides to N threads (0: library defaults)")
    ap.add_argument("--phase", choices=("floor", "ours"), help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps((run_floor if args.phase == "floor" else run_ours)(args.source, args.db, args.threads)))
        return
    source = args.source or bench_data.demo(args.scale)
    before = load_average()
    floors, ours = measure(source, args.repeat, args.threads)
    print(f"load average before {before}, after {load_average()}; threads per side: "
          f"{ours[0].get('threads')} (DuckDB), {ours[0].get('polars_threads')} (polars)")
    for label, runs in (("floor (DuckDB CTAS)", floors), ("govindex ingest", ours)):
        secs = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        cpu = ", ".join(f"{r['cpu']:.1f}" for r in runs)
        print(f"  {label:<20} {secs} s (CPU {cpu} s)   peak RSS {max(r['peak_gb'] for r in runs):.2f} GB   {runs[0]['rows']:,} rows")
    ratio = statistics.median(r["seconds"] for r in ours) / statistics.median(r["seconds"] for r in floors)
    cpu_ratio = statistics.median(r["cpu"] for r in ours) / statistics.median(r["cpu"] for r in floors)
    print(f"ratio govindex/floor = {ratio:.2f}x (goal <= {MAX_RATIO}x); CPU-time ratio {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
