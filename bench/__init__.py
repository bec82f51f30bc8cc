"""Benchmarks: each prints ratios against its budget and a baseline measured in the same run.

The convention `python -m bench all` relies on (see bench/__main__.py): a bench module exposes
`rows(quick: bool) -> list[BenchRow]`, one row per measure, each with the reference (a floor or a baseline) it
measured in the same call.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]

Kind = Literal["floor", "baseline", "reference", "none"]


@dataclass
class BenchRow:
    """One measure of one benchmark, comparable across runs.

    now        what govindex takes (in `unit`, usually seconds)
    reference  the floor or baseline measured in the same run (same unit), None when there is none
    kind       "floor" (the least any implementation could take: now/reference is >= 1, lower is better),
               "baseline" (what a naive implementation takes: reference/now is the speed-up), "reference" (another
               measure of ours, e.g. a full rebuild: now/reference is the share of it), or "none"
    ratio      now / reference for a floor or reference, reference / now for a baseline (reads the natural way)
    budget     the goal as text ("<= 1.5x floor", "< 1 s", ">= 5x baseline") and `ok` whether it is met
    """

    bench: str
    measure: str
    now: float
    unit: str = "s"
    reference: float | None = None
    kind: Kind = "none"
    budget: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or not self.now or not self.reference:
            return None
        return self.reference / self.now if self.kind == "baseline" else self.now / self.reference

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio}


def floor_row(bench: str, measure: str, now: float, floor: float, max_ratio: float, note: str = "") -> BenchRow:
    """A row whose goal is `now` within `max_ratio` x the floor."""
    ok = now <= max_ratio * floor
    return BenchRow(bench, measure, now, "s", floor, "floor", f"<= {max_ratio:g}x floor", ok, note)


def baseline_row(bench: str, measure: str, now: float, baseline: float, min_speedup: float | None,
                 note: str = "") -> BenchRow:  # fmt: skip
    """A row whose goal is a speed-up of at least `min_speedup` over the baseline (None: no goal, shown only)."""
    ok = None if min_speedup is None else baseline >= min_speedup * now
    budget = "" if min_speedup is None else f">= {min_speedup:g}x baseline"
    return BenchRow(bench, measure, now, "s", baseline, "baseline", budget, ok, note)


def budget_row(bench: str, measure: str, now: float, budget: float, unit: str = "s", reference: float | None = None,
               kind: Kind = "none", note: str = "") -> BenchRow:  # fmt: skip
    """A row whose goal is an absolute budget (`now` < budget, in `unit`)."""
    return BenchRow(bench, measure, now, unit, reference, kind, f"< {budget:g} {unit}", now < budget, note)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine() -> dict[str, Any]:
    """Facts a reviewer needs to compare two runs."""
    mem = "n/a"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GB"
    except OSError:
        pass
    model = platform.processor() or "n/a"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                                check=False).stdout.strip() or "n/a"  # fmt: skip
    except OSError:
        commit = "n/a"
    return {
        "cpus": os.cpu_count(), "cpu": model, "memory": mem, "python": sys.version.split()[0],
        "platform": platform.platform(), "commit": commit,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }  # fmt: skip
