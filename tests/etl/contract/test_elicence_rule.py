"""case.materials_via_elicence_n: optional (older exports lack it), never more than the materials obtained by sharing."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.contract import schemas, tables
from etl.ingest.readers import ROW
from etl.warehouse.connection import polars_schema


def _cases(elicence: list[int | None], sharing: list[int]) -> pl.DataFrame:
    n = len(elicence)
    t = dt.datetime(2025, 3, 1, 9)
    row = {"item_code": "IT1", "district_code": "310101", "centre_id": None, "channel": "pc",
           "applicant_type": "person", "age_band": "30-44", "started_at": t, "submitted_at": t, "accepted_at": t,
           "closed_at": t, "promised_due_at": t, "status": "closed", "visits_actual": 0, "materials_submitted_n": 1,
           "assisted": False, "via_bundle": False}  # fmt: skip
    rows = [{**row, "case_id": f"c{i}", "materials_via_sharing_n": sharing[i], "materials_via_elicence_n": elicence[i]}
            for i in range(n)]
    frame = pl.DataFrame(rows, schema=polars_schema(tables.CASE), orient="row")
    return frame.with_columns(pl.Series(ROW, range(2, n + 2), dtype=pl.Int64))


def test_elicence_count_is_optional_and_bounded_by_the_shared_materials() -> None:
    ok = _cases([1, None, 0], [1, 2, 0])
    assert schemas.validate(ok, schemas.SCHEMAS["case"]).height == 0
    bad = _cases([2, -1], [1, 1])
    got = schemas.validate(bad, schemas.SCHEMAS["case"]).sort(ROW, "check")
    assert got.select(ROW, "check").rows() == [(2, "elicence_le_sharing"), (3, "min")]
    assert "materials_via_elicence_n=2" in got["value"][0] and "materials_via_sharing_n=1" in got["value"][0]
    assert tables.CASE.column("materials_via_elicence_n").nullable
    assert tables.SURVEY_RESPONSE.column("internet_access").nullable
