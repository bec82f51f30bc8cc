"""Fixtures for the app tests: app contexts over the shared warehouses (tests/conftest.py) and a real demo server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.config import Config, load_config
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
