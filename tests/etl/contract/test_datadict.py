"""data/README.md is the rendered data dictionary, and it covers every table and column of the contract."""

from __future__ import annotations

from etl.contract.datadict import README, render
from etl.contract.tables import TABLES


def test_readme_is_up_to_date() -> None:
    assert README.exists(), "data/README.md missing: run `python -m etl.contract.datadict`"
    assert README.read_text(encoding="utf-8") == render(), "data/README.md is stale: run `python -m etl.contract.datadict`"


def test_dictionary_documents_every_table_column_and_format() -> None:
    text = render()
    for t in TABLES.values():
        assert f"### `{t.name}` — {t.title_zh}" in text
        for c in t.columns:
            assert f"| `{c.name}` |" in text, (t.name, c.name)
    for fmt in ("UTF-8", "byte-order mark", "GB18030", "GBK", "XLSX", "Parquet", "case_YYYY-MM.parquet"):
        assert fmt in text
