"""bench.etl's pandas baseline reads each table's own files: `case*.parquet` also matches the case_event files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench import etl as bench_etl


def test_the_baseline_reads_a_tables_files_not_those_of_a_table_named_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_etl, "pd", pd, raising=False)  # run_baseline imports pandas into the module
    pd.DataFrame({"case_id": ["C1"], "item_code": ["I1"]}).to_parquet(tmp_path / "case_2025-01.parquet")
    pd.DataFrame({"case_id": ["C1"], "seq": [1]}).to_parquet(tmp_path / "case_event_2025-01.parquet")
    frame = bench_etl._frames(tmp_path, "case", ["case_id", "item_code"])
    assert frame.to_dict("list") == {"case_id": ["C1"], "item_code": ["I1"]}
    assert len(bench_etl._frames(tmp_path, "case_event", ["case_id", "seq"])) == 1
