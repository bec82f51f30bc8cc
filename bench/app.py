"""Benchmark the weights page: the reweighting callback's own server time, and a browser-measured round trip.

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.app [--db WAREHOUSE] [--changes 200] [--presses 15]`.
Without --db a small demo warehouse is built with the CLI (demo → refresh) in a temporary folder.
Baseline measured in the same run: a full engine run (impute → treat → normalise → aggregate from the indicator
values) per change, which is what an app without the cached normalised tensor would do.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl

from bench import BenchRow, budget_row

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "govindex"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _build_demo(folder: Path) -> Path:
    for args in (["demo", "--out", str(folder / "raw"), "--months", "6", "--scale", "0.1", "--quiet"],
                 ["refresh", "--source", str(folder / "raw"), "--db", str(folder / "warehouse.duckdb")]):
        subprocess.run([str(BIN), *args], check=True, capture_output=True, cwd=ROOT)
    return folder / "warehouse.duckdb"


def _ms(samples: list[float]) -> str:
    a = np.array(samples)
    return f"median {np.median(a):7.2f} ms   p95 {np.percentile(a, 95):7.2f} ms   (n={a.size})"


def server_side(db: Path, weights: Path, changes: int) -> tuple[float, float]:
    """Median ms of reweight.recompute (the callback's body) and of a full-pipeline baseline."""
    from app.views import reweight, frames as views
    from app.state import AppContext
    from etl.config import load_config
    from indicators.model import score

    ctx = AppContext.create(load_config(overrides={"db": str(db), "weights_dir": str(weights), "rank_samples": 0}))
    prof = ctx.profile("user-centred")
    dims, groups = reweight.slider_nodes(ctx)
    codes = dims + [i for d in dims for i in groups[d]]
    base = prof.resolved_weights(ctx.framework)
    rng = np.random.default_rng(0)
    reweight.recompute(ctx, prof.name, 0.6, codes, [base[c] for c in codes], None, "zh")  # warm the cache
    prep = ctx.prepared(prof)
    total: list[float] = []
    model: list[float] = []
    for _ in range(changes):
        values = [float(v) for v in rng.uniform(0.05, 1.0, len(codes))]
        blend = float(rng.uniform(0, 1))
        t0 = time.perf_counter()
        reweight.recompute(ctx, prof.name, blend, codes, values, None, "zh")
        total.append((time.perf_counter() - t0) * 1000)
        w = reweight.weights_from_controls(blend, codes, values, base)
        t0 = time.perf_counter()
        views.live_ranking(ctx, prep, w, None, "zh")
        model.append((time.perf_counter() - t0) * 1000)
    long = ctx.snapshot().values.filter(pl.col("grain") == prep.grain)
    baseline: list[float] = []
    for _ in range(max(10, changes // 10)):
        t0 = time.perf_counter()
        res = score(ctx.framework, long, prof.methods)  # the whole pipeline from the indicator values
        res.cache.reaggregate(dict(base, supply=0.3, demand=0.7))
        views.ranking_table(ctx, prep.reweight(dict(base, supply=0.3, demand=0.7)), -1, "zh")
        baseline.append((time.perf_counter() - t0) * 1000)
    print(f"server side, {len(prep.units)} units x {len(prep.indicators)} indicators x {len(prep.periods)} periods")
    print(f"  callback body (reweight.recompute: model + ranking + 2 figures): {_ms(total)}")
    print(f"  model part (re-aggregate cached tensor + rank):                  {_ms(model)}")
    print(f"  baseline model part (full engine run per change + rank):         {_ms(baseline)}")
    ratio = statistics.median(baseline) / statistics.median(model)
    print(f"  ratio baseline/ours (model part): {ratio:.1f}x;  budget < 100 ms server time per change: "
          f"{'OK' if np.median(total) < 100 else 'OVER'}")
    return statistics.median(total), statistics.median(baseline)


def browser_round_trip(db: Path, weights: Path, presses: int) -> float | None:
    """Median ms from a key press on the blend slider to the ranking (and the server timing) re-rendered."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser round trip: playwright not installed, skipped")
        return None
    if not Path("/usr/bin/chromium").exists():
        print("browser round trip: /usr/bin/chromium not found, skipped")
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), "--db", str(db), "--weights-dir", str(weights),
                             "--no-scheduler"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
            page = b.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url + "/weights")
            page.wait_for_selector("#weights-ranking-list li")
            page.wait_for_load_state("networkidle")
            slider = page.locator("#weights-blend [role=slider]")
            slider.focus()
            times = []
            for i in range(presses):
                key = "ArrowLeft" if (i // 6) % 2 == 0 else "ArrowRight"  # stay inside [0, 1]
                ms = page.evaluate(
                    """(key) => new Promise(resolve => {
                        const el = document.querySelector('#weights-timing');
                        const before = el.innerText;
                        const t0 = performance.now();
                        const obs = new MutationObserver(() => {
                            if (el.innerText !== before) { obs.disconnect(); resolve(performance.now() - t0); }
                        });
                        obs.observe(el, {childList: true, subtree: true, characterData: true});
                        const s = document.querySelector('#weights-blend [role=slider]');
                        s.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
                        setTimeout(() => { obs.disconnect(); resolve(null); }, 10000);
                    })""", key)
                if ms is not None:
                    times.append(ms)
                page.wait_for_load_state("networkidle")
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if not times:
        print("browser round trip: no update observed")
        return None
    print("browser round trip (key press on the blend slider → ranking re-rendered, performance.now())")
    print(f"  {_ms(times)}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="warehouse to use (default: build a small demo one)")
    ap.add_argument("--changes", type=int, default=200, help="weight changes to time server side")
    ap.add_argument("--presses", type=int, default=15, help="slider key presses to time in the browser")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="govindex-bench-app-") as tmp:
        folder = Path(tmp)
        db = args.db or _build_demo(folder)
        weights = folder / "weights"
        shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
        server_side(db, weights, args.changes)
        browser_round_trip(db, weights, args.presses)


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: the reweight callback's server time against a full engine run per
    change, and (full mode) the browser round trip."""
    with tempfile.TemporaryDirectory(prefix="govindex-bench-app-") as tmp:
        folder = Path(tmp)
        db = _build_demo(folder)
        weights = folder / "weights"
        shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
        ours, base = server_side(db, weights, 20 if quick else 200)
        out = [budget_row("app", "weights page: reweight callback, server side", ours, 100, "ms",
                          note=f"median of the callback body (model, ranking, 2 figures); a full engine run per "
                               f"change (model part only) takes {base:.1f} ms")]  # fmt: skip
        if not quick:
            browser = browser_round_trip(db, weights, 15)
            if browser is not None:
                out.append(BenchRow("app", "weights page: key press → ranking re-rendered, in chromium", browser, "ms",
                                    note="median of 15 presses"))  # fmt: skip
    return out


if __name__ == "__main__":
    main()
