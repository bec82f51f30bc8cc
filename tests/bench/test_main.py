"""`python -m bench all`: one table (markdown + JSON) of every bench's rows, with the load average and machine."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import BenchRow, baseline_row, floor_row
from bench.__main__ import ALL, markdown

ROOT = Path(__file__).resolve().parents[2]


def test_ratios_read_the_natural_way_and_budgets_are_judged() -> None:
    f = floor_row("ingest", "x", now=3.0, floor=2.0, max_ratio=1.5)
    assert f.ratio == pytest.approx(1.5) and f.ok is True and f.budget == "<= 1.5x floor"
    assert floor_row("ingest", "x", now=3.1, floor=2.0, max_ratio=1.5).ok is False
    b = baseline_row("etl", "y", now=10.0, baseline=40.0, min_speedup=5.0)
    assert b.ratio == pytest.approx(4.0) and b.ok is False
    assert BenchRow("x", "no reference", 1.0).ratio is None


def test_every_bench_module_follows_the_convention() -> None:
    for name in ALL:
        assert callable(importlib.import_module(f"bench.{name}").rows), name


@pytest.mark.slow
def test_bench_all_writes_one_markdown_and_json_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--quick", "--only", "scoring", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (md,) = tmp_path.glob("*.md")
    (js,) = tmp_path.glob("*.json")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["meta"]["machine"]["cpus"] and data["meta"]["load_end"]
    assert len(data["rows"]) == 3 and all(r["ratio"] and r["ok"] is not None and "→" in r["load"] for r in data["rows"])
    text = md.read_text(encoding="utf-8")
    assert "| scoring | re-aggregate 16 units × 24 months |" in text and "load average" in text


def test_a_failing_bench_is_a_row_not_a_lost_table() -> None:
    rows = [BenchRow("ingest", "(failed)", float("nan"), note="exit 1: boom").to_dict() | {"load": "1 → 2"}]
    meta = {"started": "2026-12-02 18:00 UTC", "quick": True, "seconds": 1.0, "load_end": "0.1 0.2 0.3",
            "machine": {"cpus": 2}}  # fmt: skip
    assert "| ingest | (failed) |" in markdown(rows, meta)
