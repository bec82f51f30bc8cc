"""The README's screenshots (docs/screenshot-*.png), taken again from a running demo.

    make serve                                   # the demo on http://127.0.0.1:8050, in another terminal
    .venv/bin/python docs/screenshots.py [URL]   # URL defaults to http://127.0.0.1:8050

Playwright with Debian's chromium (/usr/bin/chromium), 1440×900, Chinese, the demo's default role and profile.
Each picture replaces docs/screenshot-NAME.png; the one it replaces is kept as tests/artifacts/readme-before-NAME.png
and the new one copied to tests/artifacts/readme-after-NAME.png, so a change can be reviewed side by side.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]

# name → (address, element to picture or None for the window)
SHOTS = {
    "overview": ("/", None),
    "district": ("/district/310115", None),
    "compare": ("/compare?units=310101,310104,310115", None),
    "map": ("/", "#overview-map"),
}


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('._dash-loading')", timeout=60_000)
    # every chart drawn (until then its card shows the loading spinner), those below the first screen too (drawn
    # when they come near, app/assets/graph-lazy.js: drawn now, as for a print)
    page.evaluate("() => window.govindexCharts && window.govindexCharts.drawAll()")
    page.wait_for_function("() => !document.querySelector('.govindex-graph-pending') && "
                           "[...document.querySelectorAll('.dash-graph.graph')].every(g => "
                           "g.querySelector('.main-svg'))", timeout=60_000)
    time.sleep(1.0)


def main(url: str = "http://127.0.0.1:8050") -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for name, (path, element) in SHOTS.items():
            target = DOCS / f"screenshot-{name}.png"
            if target.exists():
                shutil.copy(target, ARTIFACTS / f"readme-before-{name}.png")
            page.goto(url.rstrip("/") + path)
            settle(page)
            if element:
                page.locator(element).scroll_into_view_if_needed()
                time.sleep(0.5)
                page.locator(element).screenshot(path=str(target))
            else:
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(target))
            shutil.copy(target, ARTIFACTS / f"readme-after-{name}.png")
            print(target.relative_to(ROOT))
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:2])
