"""Load benchmark: simulated users on a local server, opening pages and moving the weights, for a fixed time.

Run: `OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.load [--users 50 --seconds 60] [--db WAREHOUSE]`.
Starts `govindex serve` as a subprocess on a free loopback port (demo mode: each simulated user gets its own
session cookie) over a small demo warehouse (built with the CLI when --db is not given). Each user is a thread with
its own keep-alive connection that, until the time is up (or --max-requests per user), picks an action:
  page     GET an app page (the HTML index, what a browser loads first)
  content  POST the pages callback that renders a page's content (what the browser asks for next)
  reweight POST the weights page's live callback (blend slider + every weight slider), the payload the browser sends
then waits a think time. Reports p50/p95/max latency and error counts per kind. Budget (DESIGN.md, 16 units):
p95 < 300 ms and zero errors. Loopback only; bounded in time and requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench import BenchRow, budget_row

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "govindex"
PAGES = ("/", "/weights", "/district/310104", "/sensitivity", "/data-quality", "/methodology")
MIX = (("page", 0.25), ("content", 0.25), ("reweight", 0.5))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(db: Path, weights: Path, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db), "--weights-dir",
         str(weights), "--no-scheduler"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=ROOT,  # noqa: SIM115 - closed with the process
        env={**__import__("os").environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited:\n" + log.read_text()[-3000:])
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start within 120 s")


#: values of the live callback's plain (non-pattern) inputs and states, as a first visit to the weights page holds
#: them; a dependency not named here is sent as None, what an empty store holds (e.g. weights-pending)
PAGE_VALUES: dict[tuple[str, str], object] = {
    ("weights-blend", "value"): 0.5,
    ("profile-select", "value"): "user-centred",
    ("weights-lang", "data"): "zh",
}


def _dependency(dep: dict, codes: list[str], sliders: dict[str, float]) -> object:
    """One input or state entry of a Dash request from the callback map's {"id", "property"} (a pattern id is its
    JSON text): a pattern (ALL over the sliders' nodes) as one entry per slider, a plain one with its page value."""
    cid, prop = dep["id"], dep["property"]
    if cid.startswith("{"):
        pattern = json.loads(cid)
        ids = [{**{k: v for k, v in pattern.items() if k != "node"}, "node": c} for c in codes]
        return [{"id": i, "property": prop, "value": i if prop == "id" else sliders[i["node"]]} for i in ids]
    return {"id": cid, "property": prop, "value": PAGE_VALUES.get((cid, prop))}


def reweight_payload(db: Path, weights: Path, rng: random.Random) -> tuple[dict, list[str]]:
    """The live callback's request body as the weights page sends it when the blend slider moves.

    Its outputs, inputs and states are read from the callback the app registers (not written out here), so a change
    to the page's callback cannot leave the benchmark posting a stale request that fails every time (an input added
    to the callback once made every reweight request of the load bench an error)."""
    import dash

    from app.server import create_app
    from app.views import reweight
    from app.state import AppContext
    from etl.config import load_config

    config = load_config(overrides={"db": str(db), "weights_dir": str(weights), "rank_samples": 0})
    create_app(config)
    ctx = AppContext.create(config)
    dims, groups = reweight.slider_nodes(ctx)
    codes = list(dims) + [i for d in dims for i in groups[d]]
    base = ctx.profile("user-centred").resolved_weights(ctx.framework)
    sliders = {c: round(base[c], 4) for c in codes}
    key = next(k for k in dash._callback.GLOBAL_CALLBACK_MAP if k.startswith("..weights-ranking-list.children..."))
    callback = dash._callback.GLOBAL_CALLBACK_MAP[key]
    outputs: list = []
    for out in callback["output"]:
        if isinstance(out.component_id, dict):  # a pattern output: one entry per matching slider share
            outputs.append([{"id": {"node": c, "type": out.component_id["type"]}, "property": out.component_property}
                            for c in codes])
        else:
            outputs.append({"id": out.component_id, "property": out.component_property})
    body = {
        "output": key,
        "outputs": outputs,
        "inputs": [_dependency(d, codes, sliders) for d in callback["inputs"]],
        "state": [_dependency(d, codes, sliders) for d in callback["state"]],
        "changedPropIds": ["weights-blend.value"],
    }
    return body, codes


def blend_input(body: dict) -> dict:
    """The request's weights-blend input (the value each simulated press changes)."""
    return next(i for i in body["inputs"] if isinstance(i, dict) and i["id"] == "weights-blend")


def content_payload(path: str) -> dict:
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                   {"id": "_pages_location", "property": "search", "value": ""}],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }


class User(threading.Thread):
    """One simulated person: own connection, own session cookie, own random stream."""

    def __init__(self, k: int, port: int, until: float, max_requests: int, think: float, body: dict,
                 results: dict, lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.k, self.port, self.until, self.max_requests, self.think = k, port, until, max_requests, think
        self.body, self.results, self.lock = body, results, lock
        self.rng = random.Random(1000 + k)
        self.cookie = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # connects on the first request
        self.finished = False

    def _request(self, conn: http.client.HTTPConnection, method: str, path: str, payload: dict | None) -> int:
        headers = {"Accept": "text/html" if payload is None else "application/json",
                   "Origin": f"http://127.0.0.1:{self.port}"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        resp.read()
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie and set_cookie.startswith("govindex_session="):
            self.cookie = set_cookie.split(";", 1)[0]
        return resp.status

    def _timed(self, kind: str, method: str, path: str, payload: dict | None) -> None:
        """One request, timed and recorded; a refusal, a connection error or a timeout counts as an error."""
        t0 = time.perf_counter()
        try:
            ok = self._request(self.conn, method, path, payload) == 200
        except (OSError, http.client.HTTPException):  # socket.timeout is an OSError
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            ok = False
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.results[kind].append(ms)
            if not ok:
                self.results[kind + ":errors"].append(ms)

    def run(self) -> None:
        self._timed("page", "GET", "/", None)  # first visit: the session cookie (counted like any other request)
        n = 1
        while time.monotonic() < self.until and n < self.max_requests:
            r, acc = self.rng.random(), 0.0
            kind = MIX[-1][0]
            for name, share in MIX:
                acc += share
                if r < acc:
                    kind = name
                    break
            if kind == "page":
                method, path, payload = "GET", self.rng.choice(PAGES), None
            elif kind == "content":
                method, path, payload = "POST", "/_dash-update-component", content_payload(self.rng.choice(PAGES))
            else:
                payload = json.loads(json.dumps(self.body))
                blend_input(payload)["value"] = round(self.rng.uniform(0, 1) / 0.05) * 0.05
                method, path = "POST", "/_dash-update-component"
            self._timed(kind, method, path, payload)
            n += 1
            time.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        self.conn.close()
        self.finished = True


def main(argv: list[str] | None = None, summary: dict[str, float] | None = None) -> int:
    """Run the load test and print its table; `summary`, when given, receives the headline numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50, help="concurrent simulated users")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the users keep going")
    ap.add_argument("--max-requests", type=int, default=2000, help="upper bound of requests per user")
    ap.add_argument("--think", type=float, default=0.5, help="mean think time between a user's actions, seconds")
    ap.add_argument("--db", type=Path, default=None, help="warehouse to serve (default: build a small demo one)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="govindex-load-"))
    try:
        if args.db is None:
            from bench.app import _build_demo

            print("building a demo warehouse (demo → refresh) …", flush=True)
            db = _build_demo(tmp)
        else:
            db = args.db
        weights = tmp / "weights"
        shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
        body, codes = reweight_payload(db, weights, random.Random(0))
        port = _free_port()
        proc = _start_server(db, weights, port, tmp / "server.log")
        try:
            probe = User(-1, port, time.monotonic(), 1, 0.0, body, defaultdict(list), threading.Lock())
            probe._request(probe.conn, "GET", "/", None)  # its session cookie
            status = probe._request(probe.conn, "POST", "/_dash-update-component", body)
            if status != 200:  # a stale request would make every reweight an error, not a latency
                raise RuntimeError(f"the weights page's live callback answered HTTP {status} to the bench's request")
            results: dict[str, list[float]] = defaultdict(list)
            lock = threading.Lock()
            until = time.monotonic() + args.seconds
            users = [User(k, port, until, args.max_requests, args.think, body, results, lock)
                     for k in range(args.users)]
            t0 = time.monotonic()
            for u in users:
                u.start()
            deadline = time.monotonic() + args.seconds + 60
            for u in users:
                u.join(timeout=max(0.0, deadline - time.monotonic()))
            wall = time.monotonic() - t0
            stuck = sum(not u.finished for u in users)  # a user still waiting (or crashed) is a failed request
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        total = sum(len(v) for k, v in results.items() if ":" not in k)
        print(f"{args.users} users × {args.seconds:.0f} s, think ≈ {args.think:.2f} s; {len(codes)} sliders; "
              f"{total} requests in {wall:.1f} s ({total / wall:.1f}/s)")
        print(f"{'kind':<10} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'errors':>7}")
        worst = 0.0
        errors = 0
        for kind, _ in MIX:
            a = np.array(results.get(kind, [float("nan")]))
            e = len(results.get(kind + ":errors", []))
            errors += e
            p95 = float(np.nanpercentile(a, 95))
            worst = max(worst, p95)
            print(f"{kind:<10} {a.size:>6} {np.nanpercentile(a, 50):>9.1f} {p95:>9.1f} {np.nanmax(a):>9.1f} {e:>7}")
        if stuck:
            print(f"{stuck} user(s) did not finish (a request hung or the thread failed): counted as errors")
            errors += stuck
        if summary is not None:
            summary.update(worst_p95_ms=worst, errors=errors, requests=total, wall_s=wall, users=args.users)
        verdict = "within" if worst < 300 and errors == 0 else "OVER"
        print(f"budget: p95 < 300 ms and zero errors → worst p95 {worst:.1f} ms, {errors} errors: {verdict} budget")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: the worst p95 latency of the load test (none in --quick mode)."""
    if quick:
        return []
    summary: dict[str, float] = {}
    main([], summary)
    note = f"{int(summary['users'])} users, {int(summary['requests'])} requests in {summary['wall_s']:.0f} s, {int(summary['errors'])} errors"
    row = budget_row("load", "worst p95 latency of page/content/reweight requests", summary["worst_p95_ms"], 300, "ms",
                     note=note)  # fmt: skip
    row.ok = bool(row.ok) and summary["errors"] == 0
    return [row]


if __name__ == "__main__":
    raise SystemExit(main())
