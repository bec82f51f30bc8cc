"""The overview's rank intervals combine data and method uncertainty by default; each part can be read (13.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.stores.profiles import load_profile
from etl.warehouse.snapshot import load_snapshot
from app.views.uncertainty_parts import part_intervals


@pytest.mark.slow
def test_the_stored_parts_sit_beside_the_default_run_and_the_combined_is_widest(demo_env: dict[str, Path]) -> None:
    snap = load_snapshot(demo_env["db"])
    h = load_profile("user-centred", demo_env["weights"]).content_hash()
    both = snap.uncertainty_runs.filter(snap.uncertainty_runs["profile_hash"] == h)
    assert both.height >= 1
    parts = part_intervals(snap, both["run_id"][0])
    assert set(parts) == {"both", "method", "data"}
    width = {p: float((f["rank_hi"] - f["rank_lo"]).mean()) for p, f in parts.items()}
    assert width["data"] > 0 and width["method"] > 0
    assert width["both"] >= max(width["method"], width["data"]) - 0.25  # combining adds, up to sampling noise
    assert part_intervals(snap, None) == {}  # intervals computed live: no stored parts to show
