"""Type hints are checked (mypy) on the pure core, the ETL and the app, as STYLE.md asks."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_is_clean_on_indicators_etl_and_app() -> None:
    out, err, status = mypy_api.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", "/tmp/govindex-mypy-cache",
         str(ROOT / "indicators"), str(ROOT / "etl"), str(ROOT / "app")]
    )
    assert status == 0, out + err
