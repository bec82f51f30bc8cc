"""The rule for what counts as a 12345 government-service request is the city centre's, stated once and used by
every hotline indicator: category 政务服务 or a linked service item — never the district's own flag."""

from __future__ import annotations

from pathlib import Path

from etl.contract.catalog import load_catalog

RULE = "(category = '政务服务' OR item_code IS NOT NULL)"
README = Path(__file__).resolve().parents[2] / "indicators" / "catalog" / "README.md"


def test_every_hotline_indicator_uses_the_centre_rule_and_not_the_district_flag() -> None:
    hotline = [d for d in load_catalog() if "hotline_ticket" in d.tables]
    assert len(hotline) >= 6
    for d in hotline:
        sql = "\n".join(d.sql.texts())
        assert RULE in sql, d.id
        assert "gov_service_related" not in sql, d.id
        assert "市热线中心" in d.description_zh and "city centre" in d.description_en, d.id


def test_the_rule_is_stated_in_the_catalog_readme() -> None:
    text = README.read_text(encoding="utf-8")
    assert RULE in text and "gov_service_related" in text
