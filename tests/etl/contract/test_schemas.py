"""Schemas are built from the contract: every column described, every rule implemented, failures per row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.contract import schemas, tables
from etl.ingest.readers import ROW


def test_every_contract_rule_is_implemented_and_every_column_described() -> None:
    for name, table in tables.TABLES.items():
        ts = schemas.build_schema(table)
        assert [r.code for r in ts.rules] == [schemas.RULES[name][t].code for t in table.rules]
        assert set(schemas.RULES.get(name, {})) == set(table.rules)  # no stale rule either
        for col in table.columns:
            assert ts.schema.columns[col.name].description.startswith(col.description)


def _district(**over: list[object]) -> pl.DataFrame:
    data: dict[str, list[object]] = {"district_code": ["310101", "310104"], "name_zh": ["黄浦区", "徐汇区"],
                                     "name_en": ["Huangpu", "Xuhui"], "population": [100, 100], "pop_60plus": [10, 10],
                                     ROW: [2, 3]}  # fmt: skip
    data.update(over)
    return pl.DataFrame(data, schema_overrides={"population": pl.Int64, "pop_60plus": pl.Int64, ROW: pl.Int64})


def test_valid_frame_has_no_failures() -> None:
    assert schemas.validate(_district(), schemas.SCHEMAS["district"]).height == 0


def test_failures_per_row_column_check() -> None:
    frame = _district(district_code=["310101", "X1"], pop_60plus=[200, -1])
    got = schemas.validate(frame, schemas.SCHEMAS["district"]).sort(ROW, "check")
    assert got.select(ROW, "column", "check", "value").rows() == [
        (2, "pop_60plus, population", "pop60_le_population", "pop_60plus=200, population=100"),
        (3, "pop_60plus", "min", "-1"),
        (3, "district_code", "pattern", "X1"),
    ]


def test_unique_key_only_when_asked() -> None:
    frame = _district(district_code=["310101", "310101"])
    assert set(schemas.validate(frame, schemas.SCHEMAS["district"])["check"]) == {"unique_key"}
    loose = schemas.build_schema(tables.DISTRICT, unique_key=False)
    assert schemas.validate(frame, loose).height == 0


def test_load_time_check_skips_deadlines() -> None:
    ts = schemas.build_schema(tables.BAD_RATING_FOLLOWUP, load_time=dt.datetime(2025, 6, 1))
    frame = pl.DataFrame({"rating_id": ["R1"], "callback_at": [dt.datetime(2025, 7, 1)], "due_at": [dt.datetime(2025, 8, 1)],
                          "rectified_at": [None], "outcome": ["unresolved"], "appeal_upheld": [None], ROW: [2]},
                         schema_overrides={"rectified_at": pl.Datetime("us"), "appeal_upheld": pl.Boolean,
                                           "callback_at": pl.Datetime("us"), "due_at": pl.Datetime("us")})  # fmt: skip
    got = schemas.validate(frame, ts)
    assert got.select("column", "check").rows() == [("callback_at", "not_after_load_time")]


def test_reference_failures_use_the_lookup() -> None:
    frame = pl.DataFrame({"rating_id": ["R1", "R2"], "case_id": ["C1", "C404"], ROW: [2, 3]})
    got = schemas.reference_failures(frame, tables.RATING, lambda t, c, v: v.filter(v != "C1"))
    assert got.select(ROW, "column", "check", "value").rows() == [(3, "case_id", "reference", "C404")]


def test_new_issue_18_columns_are_checked() -> None:
    """A catalogue code off the pattern and a sign-for time outside the ticket's life are caught, one failure per
    broken rule (created_at <= closed_at stays its own rule); empty values (older exports) pass."""
    t = dt.datetime
    frame = pl.DataFrame(
        {"ticket_id": ["T1", "T2", "T3", "T4"],
         "created_at": [t(2025, 1, 2, 9), t(2025, 1, 2, 9), t(2025, 1, 2, 9), t(2025, 1, 2, 9)],
         "district_code": ["310101"] * 4, "category": ["政务服务"] * 4, "gov_service_related": [True] * 4,
         "item_code": [None] * 4, "deadline_days": [5] * 4,
         "closed_at": [t(2025, 1, 3, 9), t(2025, 1, 3, 9), t(2025, 1, 3, 9), None],
         "resolved": [True] * 4, "callback_result": [None] * 4,
         "first_response_at": [t(2025, 1, 2, 10), t(2025, 1, 2, 8), t(2025, 1, 4, 9), None],
         "reopened": [False, None, True, None], ROW: [2, 3, 4, 5]},
        schema_overrides={"item_code": pl.String, "callback_result": pl.String, "deadline_days": pl.Int64,
                          "closed_at": pl.Datetime("us"), "first_response_at": pl.Datetime("us"),
                          "reopened": pl.Boolean, ROW: pl.Int64},
    )  # fmt: skip
    got = schemas.validate(frame, schemas.SCHEMAS["hotline_ticket"]).sort(ROW)
    assert got.select(ROW, "check").rows() == [(3, "first_response_in_order"), (4, "first_response_in_order")]
    items = pl.DataFrame({"catalogue_code": ["SHC-0100", "shc 1", None]})
    pattern = tables.SERVICE_ITEM.column("catalogue_code").pattern
    assert pattern is not None
    assert items["catalogue_code"].str.contains(pattern).to_list() == [True, False, None]


def _edge_frame(table: tables.Table, n: int, seed: int) -> pl.DataFrame:
    """`n` rows of edge values for every column of a table: nulls, allowed and unknown values, bounds ±1, pattern
    matches and misses, times either side of the load time; drawn at random so rules fail and pass."""
    import random

    rnd = random.Random(seed)
    at = dt.datetime(2025, 6, 1, 12)
    data: dict[str, list[object]] = {}
    for col in table.columns:
        pool: list[object] = [None]
        if col.dtype == "str":
            pool += list(col.allowed or ()) + ["x", "", "31", "310101", "3101010", "abandoned", "none", "closed", "乱码"]
        elif col.dtype == "int":
            pool += [0, 1, -1, 7, 10**6] + [int(v) for v in (col.min, col.max) if v is not None for v in (v - 1, v, v + 1)]
            pool += [v for v in (col.allowed or ()) if isinstance(v, int)]
        elif col.dtype == "float":
            pool += [0.0, 0.5, -0.5, 1e9] + [float(v) + d for v in (col.min, col.max) if v is not None for d in (-0.5, 0, 0.5)]
        elif col.dtype == "bool":
            pool += [True, False]
        elif col.dtype == "date":
            pool += [at.date(), at.date() + dt.timedelta(days=1), dt.date(2024, 1, 1)]
        else:
            pool += [at, at + dt.timedelta(seconds=1), dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 2, 9, 30)]
        data[col.name] = [rnd.choice(pool) for _ in range(n)]
    from etl.warehouse.connection import POLARS_TYPES

    schema = {c.name: POLARS_TYPES[c.dtype] for c in table.columns}
    return pl.DataFrame(data, schema=schema).with_columns(pl.int_range(2, n + 2, dtype=pl.Int64).alias(ROW))


def test_the_one_pass_validation_agrees_with_pandera_on_every_table() -> None:
    """The ingest's one-pass checks (validate_fast) give exactly pandera's failures: same rows, columns, checks,
    values and details, for every table of the contract (so a column or rule added to it is covered)."""
    at = dt.datetime(2025, 6, 1, 12)
    key = [ROW, "column", "check", "value", "detail"]
    for seed, table in enumerate(tables.TABLES.values()):
        ts = schemas.build_schema(table, load_time=at, unique_key=False)
        frame = _edge_frame(table, 300, seed)
        fast = schemas.validate_fast(frame, ts).sort(key, nulls_last=True)
        slow = schemas.validate_pandera(frame, ts).sort(key, nulls_last=True)
        assert slow.height > 0, table.name  # the edge values do fail checks
        assert fast.rows() == slow.rows(), table.name


def test_the_ingest_validation_does_not_run_pandera(monkeypatch: pytest.MonkeyPatch) -> None:
    """pandera collects once per check and column (about 140 collects per chunk): the ingest's schema
    (unique_key=False) is checked in one pass instead."""
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("pandera ran")

    ts = schemas.build_schema(tables.DISTRICT, unique_key=False)
    monkeypatch.setattr(ts.schema, "validate", boom)
    frame = _district(district_code=["310101", "X1"], pop_60plus=[200, -1])
    assert schemas.validate(frame, ts).height == 3
