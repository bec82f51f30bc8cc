"""Fixtures for the app tests: app contexts over the shared warehouses (tests/conftest.py) and a real demo server."""

from __future__ import annotations

import os
import shutil
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
