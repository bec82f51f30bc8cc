"""Fixtures for the app tests: app contexts over the shared warehouses (tests/conftest.py) and a real demo server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config import Config, load_config
from etl.warehouse import connection as warehouse
from tests.conftest import serving

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture()
def weights_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped profiles, so saving in a test never touches weights/."""
    d = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", d, ignore=shutil.ignore_patterns("history"))
    return d


def app_config(db: Path, weights_dir: Path, **overrides: object) -> Config:
    """The one Config of an app under test: no file, no GOVINDEX_* variables, these paths and options."""
    return load_config(env={}, overrides={"db": str(db), "weights_dir": str(weights_dir), **overrides})


@pytest.fixture()
def ctx(fixture_db: Path, weights_dir: Path):
    from app.state import AppContext

    return AppContext.create(app_config(fixture_db, weights_dir, rank_samples=200))


@pytest.fixture(scope="session")
def server_url(demo_env: dict[str, Path]) -> Iterator[str]:
    """`govindex serve` as a subprocess on a free port over the demo warehouse."""
    args = ["--db", str(demo_env["db"]), "--weights-dir", str(demo_env["weights"]), "--no-scheduler"]
    with serving(args, demo_env["base"] / "server.log", cwd=ROOT,
                 env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    pw_mod = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with pw_mod.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    """A fresh page at 1366×768 that records console errors and page errors in `page.errors`."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def with_intervals(src: Path, dst: Path, *, se: float = 2 / 1.96,
                   missing: tuple[str, str, str] | None = ("310115", "unprompted_satisfaction", "imprecise")) -> Path:
    """A copy of the warehouse `src` at `dst` whose indicator values carry issue 13's interval columns: n =
    denominator, the 95% interval value ± 1.96·se (Wilson), and one value (unit, indicator) made missing for a
    stated reason. The synthetic warehouse predates these columns."""
    shutil.copy(src, dst)
    with warehouse.connection(dst) as con:
        have = {r[0] for r in con.sql("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'indicator_values'").fetchall()}
        for col, typ in (("n", "DOUBLE"), ("ci_low", "DOUBLE"), ("ci_high", "DOUBLE"), ("se", "DOUBLE"),
                         ("interval_method", "VARCHAR"), ("missing_reason", "VARCHAR")):
            if col not in have:
                con.sql(f"ALTER TABLE indicator_values ADD COLUMN {col} {typ}")
        con.sql(f"UPDATE indicator_values SET n = denominator, ci_low = value - 1.96 * {se}, "
                f"ci_high = value + 1.96 * {se}, se = {se}, interval_method = 'wilson'")
        if missing is not None:
            unit, indicator, reason = missing
            con.execute("UPDATE indicator_values SET value = NULL, missing_reason = ? WHERE unit_code = ? AND "
                        "indicator_id = ?", [reason, unit, indicator])
    return dst


def shrinking_profile(weights_dir: Path, name: str = "user-centred") -> None:
    """Switch the profile `name` in a test's copy of the profiles to empirical-Bayes shrinkage."""
    path = weights_dir / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    assert 'shrinkage = "none"' in text, path
    path.write_text(text.replace('shrinkage = "none"', 'shrinkage = "empirical_bayes"', 1), encoding="utf-8")


# The real national demo (issue 20): `govindex demo --national` (2,844 county-level units under the 31 provinces)
# at the smallest volume that still gives every county indicator values, refreshed once per session by the CLI.
NATIONAL_SCALE = "0.2"
NATIONAL_MONTHS = "3"  # one whole quarter, the demo's default


@pytest.fixture(scope="session")
def national_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """demo --national → refresh, as subprocesses, into one folder per session: db, weights, timings (seconds)."""
    base = tmp_path_factory.mktemp("national")
    env = {**os.environ, "GOVINDEX_CONFIG": "", "OPENBLAS_NUM_THREADS": "1",
           # fewer Monte Carlo samples of the stored summary than the default 2,000: its width is not tested here
           "GOVINDEX_UNCERTAINTY_SAMPLES": "200"}
    govindex = str(Path(sys.executable).parent / "govindex")
    timings: dict[str, float] = {}
    for step, args in (("demo", ["demo", "--national", "--out", str(base / "raw"), "--months", NATIONAL_MONTHS,
                                 "--scale", NATIONAL_SCALE, "--quiet"]),
                       ("refresh", ["refresh", "--source", str(base / "raw"), "--db", str(base / "warehouse.duckdb")])):
        t0 = time.perf_counter()
        out = subprocess.run([govindex, *args], capture_output=True, text=True, cwd=base, env=env, timeout=900)
        timings[step] = time.perf_counter() - t0
        assert out.returncode == 0, f"govindex {step} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    weights = base / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "national-fixture.txt").write_text(
        "".join(f"{k} {v:.1f} s\n" for k, v in timings.items()) + f"load average {os.getloadavg()}\n")
    return {"db": base / "warehouse.duckdb", "weights": weights, "base": base, "timings": timings}


@pytest.fixture(scope="session")
def national_url(national_env: dict[str, object]) -> Iterator[str]:
    """`govindex serve` over the national demo's warehouse, shared by the session's national browser tests."""
    base = Path(str(national_env["base"]))
    args = ["--db", str(national_env["db"]), "--weights-dir", str(national_env["weights"]), "--no-scheduler"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "GOVINDEX_RANK_SAMPLES": "100"}
    with serving(args, base / "server.log", cwd=ROOT, env=env, start_seconds=240) as url:
        yield url
