"""`python -m bench [NAME ...]`: run benchmarks by name (default: the quick ones, scoring and sensitivity).

    scoring      full pipeline and re-aggregation vs budgets (seconds)
    sensitivity  vectorised Monte Carlo vs the per-sample pipeline re-run (about a minute)
    montecarlo   2,844 units vs the numpy floor; discrete choices and the data factor at 16 units (rows())
    app          the reweighting callback, server side and in a browser (needs chromium)
    load         50 simulated users for 60 s against a local server
    etl          files → warehouse → indicator values vs a pandas baseline: `python -m bench.etl --source DIR`
    pages        every page's first visit in a browser, and the overview's cold first paint (needs chromium)
"""

from __future__ import annotations

import runpy
import sys

QUICK = ("scoring", "sensitivity")
ALL = ("scoring", "sensitivity", "montecarlo", "app", "load", "etl", "pages")


def main(argv: list[str]) -> int:
    names = argv or list(QUICK)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
