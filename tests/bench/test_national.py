"""The national benchmark's reference: Shanghai's demo over exactly the national demo's months."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.demo.report import GenerationReport


def test_shanghais_reference_covers_the_national_demos_months(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """With the plain demo's end month (2026-10) the reference had no complete quarter: its Monte Carlo failed every
    method sample at once, so it did a fraction of the national refresh's work and the ratio flattered the units."""
    from bench import data as bench_data
    from bench.national import shanghai

    monkeypatch.setenv("GOVINDEX_BENCH_DATA", str(tmp_path))
    national = GenerationReport.read(bench_data.national(0.02, 3, 1, 2))
    reference = GenerationReport.read(shanghai(0.02, 3))
    assert (reference.end_month, reference.months) == (national.end_month, national.months)
