"""An older export without issue 18's columns still loads, and the indicators built on those columns are missing
with the reason 'not_recorded' — never zero — while every other indicator keeps its value.

The source files are the hand-computed fixture of test_indicator_values, written as CSV without
service_item.catalogue_code, case.applicant_district_code, hotline_ticket.first_response_at and .reopened.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from etl.contract import tables
from etl.ingest.files import ingest_folder
from etl.warehouse import connection as warehouse
from etl.warehouse.indicator_values import compute_indicator_values
from tests.etl.warehouse.test_indicator_values import A, B, EXPECTED, J, Q, _cell, _frames, _loose
from indicators.catalog import Catalog
from etl.contract.catalog import load_catalog

# The columns an export made before issue 18 does not have, and the indicators that need them.
NEW_COLUMNS = {
    "service_item": ("catalogue_code",),
    "case": ("applicant_district_code",),
    "hotline_ticket": ("first_response_at", "reopened"),
}
NEEDS_THEM = ("item_standardisation_rate", "cross_district_case_share", "hotline_reopened_rate",
              "hotline_first_response_hours")


@pytest.fixture(scope="module")
def old_values(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    src = tmp_path_factory.mktemp("old_export")
    for name, rows in _frames().items():
        frame = pl.DataFrame(rows, schema=warehouse.polars_schema(tables.TABLES[name]), orient="row")
        frame.drop(NEW_COLUMNS.get(name, ())).write_csv(src / f"{name}.csv")
    db = tmp_path_factory.mktemp("wh") / "w.duckdb"
    report = ingest_folder(src, db)
    assert sum(f.rows_quarantined for f in report.files) == 0
    with warehouse.connection(db) as con:
        return compute_indicator_values(con, _loose(load_catalog()))


def test_the_old_files_load_every_row(old_values: pl.DataFrame) -> None:
    assert old_values.height > 0


@pytest.mark.parametrize("indicator", NEEDS_THEM)
def test_indicators_on_the_new_columns_are_missing_with_a_reason(old_values: pl.DataFrame, indicator: str) -> None:
    for unit in (A, B):
        for period in (J, Q):
            cell = _cell(old_values, indicator, unit, period)
            if (unit, period) in EXPECTED[indicator] or indicator == "item_standardisation_rate":
                assert cell["value"] is None, (indicator, unit, period)
                assert cell["missing_reason"] == "not_recorded", (indicator, unit, period)


def test_the_other_indicators_keep_their_values(old_values: pl.DataFrame) -> None:
    catalog: Catalog = load_catalog()
    for ind in catalog.ids:
        if ind in NEEDS_THEM:
            continue
        for (unit, period), want in EXPECTED[ind].items():
            got = _cell(old_values, ind, unit, period)["value"]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (ind, unit, period)
