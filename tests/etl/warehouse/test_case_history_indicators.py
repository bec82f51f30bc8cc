"""Bad input for the case-history and hall-queue indicators: an older export without case_event or queue_ticket
loads, and their indicators are then missing with reason 'no_source' (never zero, never an SQL error); a returned
case counts against first-time completion; an older warehouse gets the new tables from its migration."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.contract.catalog import load_catalog
from etl.ingest import files as ingest
from etl.warehouse import connection as warehouse, migrations
from etl.warehouse.indicator_values import compute_indicator_values
from indicators.catalog import Catalog
from tests.etl.ingest.test_ingest_sequences import NOW, _base
from tests.etl.warehouse.test_indicator_values import A, F, J, _cell, _fixture_plus, _loose
from tests.etl.warehouse.test_migrations import old_db  # noqa: F401  (fixture)

NEW = ("first_time_completion_rate", "correction_rounds_rate", "net_processing_days", "hall_wait_median",
       "hall_wait_p90")  # fmt: skip
QUEUE = ("hall_wait_median", "hall_wait_p90")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return _loose(load_catalog())


def _values_after(sql: str, catalog: Catalog) -> pl.DataFrame:
    """The monthly indicator values of the fixture warehouse after `sql` (the connection closed afterwards)."""
    con = _fixture_plus(sql)
    try:
        return compute_indicator_values(con, catalog, grains=("month",))
    finally:
        con.close()


def _reasons(values: pl.DataFrame, ids: tuple[str, ...]) -> set[tuple[object, object]]:
    return set(values.filter(pl.col("indicator_id").is_in(ids)).select("value", "missing_reason").unique().rows())


def test_without_the_new_files_their_indicators_are_missing_with_a_reason(catalog: Catalog) -> None:
    full = _values_after("SELECT 1", catalog)
    old = _values_after("DELETE FROM case_event; DELETE FROM queue_ticket", catalog)
    assert _reasons(old, NEW) == {(None, "no_source")}
    assert old.height == full.height  # the grid stays complete
    others = [d.id for d in catalog if d.id not in NEW]
    cols = ["indicator_id", "unit_code", "period", "value", "missing_reason"]
    assert old.filter(pl.col("indicator_id").is_in(others)).select(cols).equals(
        full.filter(pl.col("indicator_id").is_in(others)).select(cols))


def test_one_missing_table_leaves_the_other_tables_indicators_alone(catalog: Catalog) -> None:
    v = _values_after("DELETE FROM queue_ticket", catalog)
    assert _reasons(v, QUEUE) == {(None, "no_source")}
    assert _cell(v, "first_time_completion_rate", A, J)["value"] == pytest.approx(200 / 3)


def test_a_warehouse_without_the_tables_at_all_is_no_source_not_an_error(catalog: Catalog) -> None:
    v = _values_after("DROP TABLE case_event; DROP TABLE queue_ticket", catalog)
    assert _reasons(v, NEW) == {(None, "no_source")}


def test_a_returned_case_is_not_done_first_time(catalog: Catalog) -> None:
    """A case returned (退件) after a 补正 nobody answered: an outcome, not done first time, one correction round."""
    v = _values_after(
        """INSERT INTO "case" SELECT * REPLACE ('a9' AS case_id, 'rejected' AS status, NULL AS accepted_at,
               NULL AS closed_at, NULL AS promised_due_at) FROM "case" WHERE case_id = 'a6';
           INSERT INTO case_event VALUES
               ('a9', 1, 'received', TIMESTAMP '2025-02-12 10:05:00', 'app', NULL, NULL, NULL),
               ('a9', 2, 'correction_requested', TIMESTAMP '2025-02-12 11:00:00', 'internal', NULL, NULL, '材料不齐全'),
               ('a9', 3, 'returned', TIMESTAMP '2025-02-20 11:00:00', 'internal', NULL, NULL, '补正逾期未提交')""",
        catalog,
    )
    ftc = _cell(v, "first_time_completion_rate", A, F)
    assert (ftc["numerator"], ftc["denominator"]) == (1, 3)  # a6 of {a4, a6, a9}
    rounds = _cell(v, "correction_rounds_rate", A, F)
    assert (rounds["numerator"], rounds["denominator"]) == (3, 3)  # a4's two, a9's one
    net = _cell(v, "net_processing_days", A, F)
    assert net["denominator"] == 2  # a returned case has no decision: not in the processing time


def test_an_older_export_without_case_events_or_queue_tickets_loads(tmp_path: Path) -> None:
    src, db = tmp_path / "src", tmp_path / "w.duckdb"
    _base(src)  # district, service_item, case only: an export from before case_event and queue_ticket
    report = ingest.ingest_folder(src, db, now=NOW)
    assert all(f.status == "loaded" for f in report.files) and report.rows_quarantined == 0
    v = compute_indicator_values(db, load_catalog(), grains=("month",))
    assert _reasons(v, NEW) == {(None, "no_source")}
    assert v.filter(pl.col("indicator_id") == "ontime_completion_rate")["missing_reason"].to_list() != ["no_source"]


def test_the_previous_release_warehouse_gets_the_new_tables(old_db: Path) -> None:  # noqa: F811
    con = duckdb.connect(str(old_db), read_only=True)
    try:
        before = set(warehouse.table_names(con))
    finally:
        con.close()
    assert not {"case_event", "queue_ticket"} & before
    with warehouse.connection(old_db) as c:
        assert {"case_event", "queue_ticket"} <= set(warehouse.table_names(c))
        assert 5 in [v for v, _at, _about in migrations.history(c)]
