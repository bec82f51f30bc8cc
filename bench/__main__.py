"""`python -m bench all [--quick] [--out DIR]`: run every benchmark and write one table (markdown and JSON).
`python -m bench NAME ...`: run benchmarks by name with their own detailed printout (default: scoring, sensitivity).

    scoring      full pipeline and re-aggregation vs budgets (seconds)
    sensitivity  vectorised Monte Carlo vs the per-sample pipeline re-run (about a minute)
    montecarlo   2,844 units vs the numpy floor; discrete choices and the data factor at 16 units (rows())
    app          the reweighting callback, server side and in a browser (needs chromium)
    load         50 simulated users for 60 s against a local server
    etl          files → warehouse → indicator values vs a pandas baseline: `python -m bench.etl --source DIR`
    ingest       the ingest vs DuckDB loading the same files as plain tables (the loader's floor)
    refresh      a refresh with nothing new, and with one new month, vs a full rebuild
    pages        every page's first visit in a browser, and the overview's cold first paint (needs chromium)
    national     the national demo (2,844 units) refreshed vs Shanghai's at equal volume; scores at two levels

The convention (plug a new bench module in by adding its name to ALL below):
- the module `bench/<name>.py` defines `rows(quick: bool) -> list[bench.BenchRow]`: one row per measure with the
  floor or baseline it measured in the same call, the budget and whether it is met (bench.floor_row,
  bench.baseline_row, bench.budget_row build the usual ones). `quick=True` must finish in well under a minute
  (small data, few repeats); it may return fewer rows. Data it needs it makes itself (e.g. `bench.data.demo(scale)`
  caches `govindex demo --scale N` folders under $GOVINDEX_BENCH_DATA, default /tmp/govindex-bench).
- `all` runs each module's rows() in its own child process (`python -m bench --rows NAME [--quick]`, which prints
  the rows as one JSON line), so one bench's memory or threads never skew another's, and a failing bench is a
  row saying so rather than a lost table.
- it writes `<out>/bench-<UTC time>.md` and `.json` (default out: bench/results/) with every row (bench, measure,
  now, floor or baseline, ratio, budget, ok), the load average before and after each bench, and the machine facts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import ROOT, BenchRow, load_average, machine

QUICK = ("scoring", "sensitivity")
ALL = ("scoring", "sensitivity", "montecarlo", "ingest", "refresh", "etl", "app", "load", "pages", "national",
       "engines")
RESULTS = ROOT / "bench" / "results"


def _child_rows(name: str, quick: bool, timeout: float) -> tuple[list[dict[str, Any]], str | None]:
    cmd = [sys.executable, "-m", "bench", "--rows", name] + (["--quick"] if quick else [])
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"), "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env, check=False)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s"
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("[")]
    if done.returncode != 0 or not lines:
        return [], f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-600:]}"
    return json.loads(lines[-1]), None


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g} {unit}".strip() if abs(v) < 100 else f"{v:,.0f} {unit}".strip()
    return str(v)


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# govindex benchmarks, {meta['started']} ({'quick' if meta['quick'] else 'full'})",
        "",
        "machine: " + ", ".join(f"{k} {v}" for k, v in meta["machine"].items()),
        "",
        "| bench | measure | now | floor or baseline | ratio | budget | ok | load avg before → after | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ref = "—" if r.get("reference") is None else f"{r['kind']} {_fmt(r['reference'], r['unit'])}"
        ratio = "—" if r.get("ratio") is None else f"{r['ratio']:.2f}x"
        ok = {True: "yes", False: "**NO**", None: "—"}[r.get("ok")]
        lines.append(
            f"| {r['bench']} | {r['measure']} | {_fmt(r['now'], r['unit'])} | {ref} | {ratio} | {r.get('budget') or '—'}"
            f" | {ok} | {r.get('load', '')} | {r.get('note', '')} |"
        )
    lines += ["", f"total {meta['seconds']:.0f} s; load average at the end {meta['load_end']} (1, 5, 15 min; "
              f"{meta['machine']['cpus']} cores, shared: ratios are measured within one run, absolute times vary)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def run_all(names: list[str], quick: bool, out: Path, timeout: float) -> tuple[Path, Path]:
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for name in names:
        before = load_average()
        print(f"=== bench.{name} ({'quick' if quick else 'full'}), load average {before} ===", flush=True)
        got, error = _child_rows(name, quick, timeout)
        after = load_average()
        if error is not None:
            got = [BenchRow(name, "(failed)", float("nan"), note=error.replace("\n", " ").replace("|", "/")).to_dict()]
        for r in got:
            r["load"] = f"{before} → {after}"
            print(f"  {r['measure']}: {_fmt(r['now'], r['unit'])}"
                  + (f" vs {r['kind']} {_fmt(r['reference'], r['unit'])} = {r['ratio']:.2f}x" if r.get("ratio") else "")
                  + (f" [{r['budget']}: {'ok' if r['ok'] else 'NO'}]" if r.get("budget") else ""), flush=True)  # fmt: skip
        rows += got
    meta = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"), "quick": quick, "names": names,
        "seconds": time.perf_counter() - t0, "load_end": load_average(), "machine": machine(),
    }  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if quick else ''}"
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    md.write_text(markdown(rows, meta), encoding="utf-8")
    js.write_text(json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return md, js


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--rows":  # child mode of `all`: one module's rows as one JSON line
        quick = "--quick" in argv[2:]
        rows = importlib.import_module(f"bench.{argv[1]}").rows(quick)
        print(json.dumps([r.to_dict() for r in rows], default=str))
        return 0
    if argv and argv[0] == "all":
        ap = argparse.ArgumentParser(prog="python -m bench all", description="run every benchmark, write one table")
        ap.add_argument("--quick", action="store_true", help="small data, few repeats: about a minute")
        ap.add_argument("--out", type=Path, default=RESULTS, help="folder for the markdown and JSON table")
        ap.add_argument("--only", nargs="*", choices=ALL, help="run only these benches")
        ap.add_argument("--timeout", type=float, default=3600, help="seconds per bench before it counts as failed")
        args = ap.parse_args(argv[1:])
        md, js = run_all(list(args.only or ALL), args.quick, args.out, args.timeout)
        print(md.read_text(encoding="utf-8"))
        print(f"written: {md} and {js}")
        return 0
    names = argv or list(QUICK)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from all, {', '.join(ALL)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
