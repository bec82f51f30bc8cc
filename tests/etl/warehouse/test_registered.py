"""A polars frame shown to DuckDB (`registered`, the ingest's stage) keeps every value and is not copied."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa

from etl.warehouse import connection as warehouse


def test_a_registered_frame_reads_back_whole_and_shares_polars_text() -> None:
    frame = pl.DataFrame({
        "s": ["短", "a value longer than twelve bytes 中文", "", None],
        "i": [1, None, 3, 4],
        "t": [dt.datetime(2025, 1, 2, 3, 4, 5), None, None, dt.datetime(2026, 12, 31)],
        "b": [True, False, None, True],
    })  # fmt: skip
    # polars keeps text as string views: handing DuckDB the same layout copies nothing (large_string copied it all)
    assert pa.types.is_string_view(warehouse.arrow_view(frame).schema.field("s").type)
    con = warehouse.connect(":memory:")
    try:
        with warehouse.registered(con, "_t", frame) as view:
            back = warehouse.query(con, f"SELECT * FROM {view}")
            assert warehouse.query(con, f"SELECT typeof(s) AS ty FROM {view} LIMIT 1")["ty"][0] == "VARCHAR"
    finally:
        con.close()
    assert back.rows() == frame.rows()
