"""Adding a raw table is one Table in etl/contract/tables.py: load order, DDL, schema, event-time span, file names,
quarantine district tracing and the data dictionary all follow from it (no other edit)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.contract import datadict, schemas, tables
from etl.contract.tables import Column, Table
from etl.ingest.quarantine import _district_expr
from etl.ingest.readers import ROW
from etl.warehouse import connection as warehouse

PARCEL = Table(
    "parcel", "寄递材料", "Documents posted back to applicants (a table that exists only in this test).",
    (
        Column("parcel_id", "str", "parcel"),
        Column("case_id", "str", "the case the documents belong to", references="case.case_id"),
        Column("posted_at", "datetime", "when it was posted"),
        Column("weight", "float", "weight", unit="kg", min=0),
    ),
    ("parcel_id",),
    event_time="posted_at",
)


@pytest.fixture()
def with_parcel(monkeypatch: pytest.MonkeyPatch) -> None:
    # first in the dict on purpose: the load order must come from the references, not from where it was written
    monkeypatch.setattr(tables, "TABLES", {"parcel": PARCEL, **tables.TABLES})


@pytest.mark.usefixtures("with_parcel")
def test_a_new_table_flows_to_load_order_ddl_schema_and_dictionary() -> None:
    order = tables.load_order()
    assert order.index("parcel") > order.index("case") and set(order) == set(tables.TABLES)
    assert ("parcel", "posted_at") in tables.span_columns()
    assert tables.table_for_file("parcel_2025-01.csv") == "parcel"
    con = warehouse.connect(":memory:")
    try:
        assert "parcel" in warehouse.table_names(con)
        got = warehouse.query(con, "SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'parcel' ORDER BY ordinal_position")
        assert got["column_name"].to_list() == list(PARCEL.column_names)
        assert got["data_type"].to_list() == ["VARCHAR", "VARCHAR", "TIMESTAMP", "DOUBLE"]
    finally:
        con.close()
    ts = schemas.build_schema(PARCEL)
    frame = pl.DataFrame({ROW: [1, 2], "parcel_id": ["p1", "p2"], "case_id": ["C1", "C2"],
                          "posted_at": [dt.datetime(2025, 1, 2)] * 2, "weight": [0.2, -1.0]})
    fails = schemas.validate(frame, ts)
    assert fails.select(ROW, "column", "check").rows() == [(2, "weight", "min")]
    text = datadict.render()
    assert "### `parcel` — 寄递材料" in text and "| `weight` | number | kg |" in text
    assert "the demo does not write this table" in text and "`case` → " in text and "`parcel`" in text
    assert tables.district_route("parcel") == (("parcel", "case_id", "case", "case_id"),)
    assert "WHEN 'parcel' THEN" in _district_expr({"case", "quarantine"})


def test_load_order_refuses_unknown_references_and_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    a = Table("a", "甲", "a", (Column("id", "str", "id", references="b.id"),), ("id",))
    monkeypatch.setattr(tables, "TABLES", {"a": a})
    with pytest.raises(ValueError, match="unknown table 'b'"):
        tables.load_order()
    b = Table("b", "乙", "b", (Column("id", "str", "id", references="a.id"),), ("id",))
    monkeypatch.setattr(tables, "TABLES", {"a": a, "b": b})
    with pytest.raises(ValueError, match="cycle"):
        tables.load_order()
    with pytest.raises(ValueError, match="not a date"):
        Table("c", "丙", "c", (Column("id", "str", "id"),), ("id",), event_time="id")
