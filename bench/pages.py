"""Benchmark every page's first visit in a browser (issue 16 goal 4, issue 14: the overview's cold first paint).

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.pages [--db WAREHOUSE] [--repeat 3] [--json OUT]
[--against OTHER_CHECKOUT] [--only 'methodology,data quality']`. Without --db a demo warehouse (24 months, as `make serve`) is built with the CLI in a
temporary folder. With --against (e.g. /work/main) that checkout's server is measured in the same command, rounds
alternating, and each row gains its time and the ratio now/against: on a loaded machine only such a ratio means much.

What is timed, from `page.goto` in a fresh browser context (empty cache, as a new user), at 1440×900, two measures:
- first paint ("first visit", "cold"): the page's own content present, no Dash callback pending, and every chart
  on the first screen (its box meets the 1440×900 viewport) drawn by plotly (`.main-svg`). Charts below it are drawn
  when they come near (app/assets/graph-lazy.js) and do not count here;
- all drawn ("… all charts"): after the first paint the page is scrolled down half a screen per step to its bottom
  (as fast as the browser takes it), until every chart of the page is drawn and no callback is pending. The time is
  still from `page.goto`.
A checkout before the lazy charts (--against) is timed the same way: it draws every chart at once, whether on the
first screen or not, so its first paint waits for what its charts on screen wait for.
- "overview, cold": the first request a freshly started server answers (nothing cached in the process);
- "<page>, first visit": each page's first visit on that server, in a new browser context, until its own content
  (the selector in PAGES: what its layout or first callbacks fill, not the title) is there and no callback request
  is in flight.
Baseline, measured in the same command: the app's own "page not found" page in a fresh context (the Dash shell:
the same scripts, fonts and layout, no data), so the ratio says what the page's data and charts add to the shell.
Each measure is the median of --repeat servers started afresh (the cold overview needs a new process each time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from bench import ROOT, BenchRow, budget_row

BIN = Path(sys.executable).parent / "govindex"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

#: page → (path, a selector that shows its own content: what its first callbacks or its layout fill, not the title)
PAGES: dict[str, tuple[str, str]] = {
    "overview": ("/", "#overview-ranking-list li"),
    "district": ("/district/310115", "#district-summary"),
    "district index": ("/district/all", "#district-body > *"),
    "compare": ("/compare", "#compare-body > *"),
    "weights": ("/weights", "#weights-ranking-list li"),
    "weights history": ("/weights/history", "#hist-versions > *"),
    "sensitivity": ("/sensitivity", "main h1"),
    # its own content on the first screen (its coverage chart is further down: drawn when scrolled to)
    "data quality": ("/data-quality", "#dq-body > *"),
    # its framework tree: HTML now (no chart); a plotly sunburst before (kept so --against an older checkout works)
    "methodology": ("/methodology", "#method-tree .fw-row, #method-sunburst .main-svg"),
    "editions": ("/editions", "#editions-list > *"),
    "ledger": ("/ledger", "#ledger-list > *"),
    "targets": ("/targets", "#targets-list > *"),
    "alerts": ("/alerts", "#alerts-list > *"),
}
SHELL = ("/no-such-page", "main h1")
BUDGET_S = 1.5  # every page's first visit
BUDGET_COLD_S = 2.0  # the overview's cold first paint

#: counts the Dash callback requests in flight (READY waits for none), installed before the page's scripts run
INFLIGHT = """(() => {
    window.__govindexInflight = 0;
    const f = window.fetch;
    window.fetch = function (url) {
        const cb = String(url && url.url || url).indexOf('_dash-update-component') >= 0;
        if (!cb) return f.apply(this, arguments);
        window.__govindexInflight += 1;
        return f.apply(this, arguments).finally(() => { window.__govindexInflight -= 1; });
    };
})();"""

#: the page painted: its content, no callback pending, every chart on the first screen drawn (a placeholder of a
#: chart not drawn yet, app/assets/graph-lazy.js, on the first screen counts as a chart not drawn)
READY = """(sel) => {
    if (!document.querySelector(sel)) return false;
    if (window.__govindexInflight) return false;  // a callback still on its way: its answer may change the page
    if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
    if (document.querySelector('.govindex-grid-pending')) return false;  // a grid whose script is still loading
    const onScreen = (el) => { const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth; };
    for (const g of document.querySelectorAll('.dash-graph, .govindex-graph-pending')) {
        if (g.offsetParent !== null && onScreen(g) && !g.querySelector('.main-svg')) return false;  // not drawn
    }
    return true;
}"""

#: every chart of the page drawn, scrolling down half a screen each time it is asked until the bottom is reached
ALL_DRAWN = """() => {
    const bottom = scrollY + innerHeight >= document.documentElement.scrollHeight - 2;
    if (!bottom) { scrollBy(0, Math.round(innerHeight / 2)); return false; }
    if (window.__govindexInflight) return false;
    if (document.querySelector('._dash-loading, [data-dash-is-loading="true"]')) return false;
    if (document.querySelector('.govindex-graph-pending')) return false;
    for (const g of document.querySelectorAll('.dash-graph')) {
        if (g.offsetParent !== null && !g.querySelector('.main-svg')) return false;
    }
    return true;
}"""


def build_demo(folder: Path, months: int = 24) -> Path:
    for args in (["demo", "--out", str(folder / "raw"), "--months", str(months), "--seed", "7", "--quiet"],
                 ["refresh", "--source", str(folder / "raw"), "--db", str(folder / "warehouse.duckdb")]):
        subprocess.run([str(BIN), *args], check=True, capture_output=True, cwd=folder)
    return folder / "warehouse.duckdb"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """`govindex serve` of the code under `root` (this checkout by default): the package comes from `root` through
    PYTHONPATH, not from wherever the environment's editable install points, so two checkouts can be compared."""

    def __init__(self, db: Path, weights: Path, root: Path = ROOT) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve", "--port",
                                      str(port), "--db", str(db), "--weights-dir", str(weights), "--no-scheduler"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root, env=env)
        deadline = time.monotonic() + 240  # a loaded machine takes minutes to import and open the warehouse
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:  # /healthz answers once the server listens; it does not warm the page caches
                urllib.request.urlopen(self.url + "/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def visit(browser, url: str, selector: str, timeout_ms: float = 60_000) -> tuple[float, float]:
    """Seconds from navigation to the first paint and to every chart drawn after scrolling to the bottom, in a
    fresh browser context (empty cache)."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.add_init_script(INFLIGHT)
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(READY, arg=selector, timeout=timeout_ms, polling=25)
        first = time.perf_counter() - t0
        page.wait_for_function(ALL_DRAWN, timeout=timeout_ms, polling=25)
        return first, time.perf_counter() - t0
    finally:
        ctx.close()


def _add(samples: dict[str, list[float]], name: str, times: tuple[float, float]) -> None:
    samples[name].append(times[0])
    samples[f"{name}, all charts"].append(times[1])


def _one_round(browser, db: Path, weights: Path, root: Path, samples: dict[str, list[float]],
               only: Sequence[str] | None = None) -> None:
    """One server started afresh for the cold overview and the shell, another for every page's first visit (or the
    pages named in `only`)."""
    server = _Server(db, weights, root)
    try:
        _add(samples, "overview, cold", visit(browser, server.url + PAGES["overview"][0], PAGES["overview"][1]))
        samples["shell"].append(visit(browser, server.url + SHELL[0], SHELL[1])[0])
    finally:
        server.stop()
    server = _Server(db, weights, root)  # each page's first visit on a new server, shell first
    try:
        visit(browser, server.url + SHELL[0], SHELL[1])
        for name, (path, sel) in PAGES.items():
            if only is not None and name not in only:
                continue
            _add(samples, f"{name}, first visit", visit(browser, server.url + path, sel))
    finally:
        server.stop()


def _samples(only: Sequence[str] | None = None) -> dict[str, list[float]]:
    names = ["overview, cold", *(f"{name}, first visit" for name in PAGES if only is None or name in only)]
    return {"shell": [], **{k: [] for name in names for k in (name, f"{name}, all charts")}}


def measure(db: Path, weights: Path, repeat: int, against: Path | None = None,
            only: Sequence[str] | None = None) -> list[dict]:
    """Median of `repeat` rounds per measure. With `against` (another checkout of govindex, e.g. main), that code's
    server is measured in the same command, rounds alternating (A B, B A, …) so both meet the same load; each row
    then carries its time and the ratio this/against."""
    from playwright.sync_api import sync_playwright

    mine, theirs = _samples(only), _samples(only)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            for i in range(repeat):
                order = [(ROOT, mine)] if against is None else \
                    [(ROOT, mine), (against, theirs)][:: 1 if i % 2 == 0 else -1]
                for root, samples in order:
                    _one_round(browser, db, weights, root, samples, only)
        finally:
            browser.close()
    base = statistics.median(mine.pop("shell"))
    their_base = statistics.median(theirs.pop("shell")) if against is not None else None
    rows = []
    for measure_name, values in mine.items():
        now = statistics.median(values)
        row = {"measure": f"page {measure_name} (browser, s)", "now_s": round(now, 3),
               "baseline_s": round(base, 3), "ratio": round(now / base, 2),
               "budget": None if measure_name.endswith("all charts") else
               BUDGET_COLD_S if measure_name == "overview, cold" else BUDGET_S,
               "baseline": "the app's not-found page (Dash shell), first visit",
               "samples_s": [round(v, 3) for v in values]}
        if against is not None:
            then = statistics.median(theirs[measure_name])
            row.update({"against_s": round(then, 3), "against_shell_s": their_base, "vs_against": round(now / then, 2),
                        "against_samples_s": [round(v, 3) for v in theirs[measure_name]]})
        rows.append(row)
    return rows


def rows(quick: bool = False) -> list[BenchRow]:
    """`python -m bench all` rows (bench/__main__.py's convention): each page's first visit and the overview's cold
    paint against their budgets, with the shell's first visit measured in the same run as the reference. Quick: a
    6-month demo and one server per measure; full: the 24-month demo (what `make serve` shows) and three."""
    if not Path("/usr/bin/chromium").exists():
        return [BenchRow("pages", "(skipped: no /usr/bin/chromium)", float("nan"))]
    with tempfile.TemporaryDirectory(prefix="govindex-bench-pages-") as tmp:
        folder = Path(tmp)
        db = build_demo(folder, months=6 if quick else 24)
        weights = folder / "weights"
        shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
        measured = measure(db, weights, 1 if quick else 3)
    return [budget_row("pages", r["measure"], r["now_s"], r["budget"], reference=r["baseline_s"], kind="reference",
                       note=r["baseline"]) for r in measured if r["budget"] is not None]


def print_rows(rows: list[dict]) -> None:
    ab = any("against_s" in r for r in rows)
    print(f"{'measure':<58} {'now':>8} {'baseline':>9} {'ratio':>7} {'budget':>7}  ok"
          + (f" {'against':>9} {'now/against':>11}" if ab else ""))
    for r in rows:
        ok = "" if r["budget"] is None else "OK" if r["now_s"] <= r["budget"] else "OVER"
        budget = "—" if r["budget"] is None else f"{r['budget']:.1f}s"
        print(f"{r['measure']:<58} {r['now_s']:>7.2f}s {r['baseline_s']:>8.2f}s {r['ratio']:>6.2f}x "
              f"{budget:>7}  {ok:<4}"
              + (f" {r['against_s']:>8.2f}s {r['vs_against']:>10.2f}x" if ab else ""))
    try:
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end: {load:.2f}")
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="warehouse to use (default: build the 24-month demo)")
    ap.add_argument("--repeat", type=int, default=3, help="servers started afresh per measure (median)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--against", type=Path, help="another checkout (e.g. /work/main) measured in the same command, "
                    "rounds alternating; rows gain its time and the ratio now/against")
    ap.add_argument("--only", help="comma-separated page names of PAGES to visit (default: all), e.g. "
                    "'methodology,data quality'")
    args = ap.parse_args()
    only = [p.strip() for p in args.only.split(",")] if args.only else None
    if only and (unknown := sorted(set(only) - set(PAGES))):
        ap.error(f"unknown pages {unknown}; known: {', '.join(PAGES)}")
    if not Path("/usr/bin/chromium").exists():
        print("bench.pages needs Debian's chromium (/usr/bin/chromium)", file=sys.stderr)
        raise SystemExit(2)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="govindex-bench-pages-") as tmp:
        folder = Path(tmp)
        db = args.db or build_demo(folder)
        weights = folder / "weights"
        shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
        rows = measure(db, weights, args.repeat, args.against.resolve() if args.against else None, only)
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
