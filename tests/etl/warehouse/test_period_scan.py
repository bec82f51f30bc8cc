"""An incremental refresh reads a formula's table from its first period on only where DuckDB's plan shows the period
filter reaches that table's one scan (etl.warehouse.period_scan): the rows computed are those of the formula as
written, and a formula whose periods need other periods' rows (a window, the table read twice) is left as written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse, derived, incremental, indicator_values as iv, period_scan
from tests.conftest import Warehouses


@pytest.fixture(scope="module")
def con(warehouses: Warehouses, tmp_path_factory: pytest.TempPathFactory) -> Iterator[warehouse.Connection]:
    db = warehouses.demo(tmp_path_factory.mktemp("period-scan"), months=4, scale=0.05)
    c = warehouse.connect(db, read_only=True)
    first, last = iv.data_span(c)
    for name, rel in iv.grid_relations(iv.units_frame(c), first, last, "month").items():
        c.register(name, rel.to_arrow())
    derived.create_views(c)
    yield c
    c.close()


def _last_months(con: warehouse.Connection) -> list[str]:
    return sorted(r[0] for r in con.sql("SELECT period FROM periods").fetchall())[-2:]


def _narrow(con: warehouse.Connection, formula: str) -> str:
    labels = _last_months(con)
    return period_scan.narrowed(con, formula, lambda c: iv.period_sql(c, "month"), labels,
                                min(iv.period_start(p) for p in labels))


def _rows(con: warehouse.Connection, formula: str) -> list[tuple[object, ...]]:
    return sorted(con.sql(iv._only_periods(formula, frozenset(_last_months(con)))).fetchall(), key=repr)


@pytest.mark.parametrize("indicator,column", [
    ("processing_time_ratio", "promised_due_at"),  # cases by due date, a median per period
    # cases and tickets by their own dates, joined on the period: the cases' side (the ticket side, right of a LEFT
    # JOIN, DuckDB does not filter; it is then read whole)
    ("hotline_service_complaint_rate", "submitted_at"),
    ("subdim_usability", "rated_at"),  # ratings joined to their cases: the rating's date makes the period
])  # fmt: skip
def test_a_query_form_read_from_its_first_period_on_gives_the_same_rows(
    con: warehouse.Connection, indicator: str, column: str
) -> None:
    d = load_catalog().indicator(indicator)
    formula = iv.formula_sql(d, "month", iv.data_span(con)[1])
    narrow = _narrow(con, formula)
    start = min(iv.period_start(p) for p in _last_months(con))
    assert f"{warehouse.quote(column)} >= TIMESTAMP '{start:%Y-%m-%d}'" in narrow, narrow
    got, want = _rows(con, narrow), _rows(con, formula)
    assert got == want and got


def test_a_formula_whose_periods_read_other_periods_rows_is_left_as_written(con: warehouse.Connection) -> None:
    # a running count over every earlier ticket: the period filter cannot pass the window, nothing may be cut
    window = ("SELECT district_code AS unit_code, {p} AS period, count(*) OVER (PARTITION BY district_code "
              "ORDER BY created_at) AS numerator, 1 AS denominator FROM hotline_ticket")
    # the table read twice (a share of all tickets ever): which reference is the filtered scan is not known
    twice = ("SELECT district_code AS unit_code, {p} AS period, count(*) AS numerator, "
             "(SELECT count(*) FROM hotline_ticket) AS denominator FROM hotline_ticket GROUP BY 1, 2")
    for text in (window, twice):
        formula = text.format(p=iv.period_sql("created_at", "month"))
        assert _narrow(con, formula) == formula


def _rows_read(con: warehouse.Connection, sql: str, table: str) -> int:
    """Rows the scans of `table` passed on when `sql` ran (DuckDB's profile: a row group skipped passes none)."""
    profile = json.loads(con.sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).fetchall()[0][1])

    def walk(nodes: list[dict[str, Any]]) -> Iterator[int]:
        for n in nodes:
            if n.get("type") == "TABLE_SCAN" and period_scan._table_of(n) == table:
                yield int(n.get("intermediate_rows") or 0)
            yield from walk(n.get("children") or [])

    return sum(walk(profile["operator"]))


def test_a_query_over_periods_computing_recent_periods_reads_cases_from_their_start_on(
    con: warehouse.Connection,
) -> None:
    """Every formula that counts cases by the period of their submission and joins them to `periods` (a volume
    weight per item): computed for the last month only (an incremental refresh registers `periods` with only the
    periods it computes), it reads the cases submitted from that month on, not all of them, and gives the same
    rows as the formula over every period cut to that month. Before, the join to `periods` kept DuckDB from
    pushing the period filter into the aggregate, and every case was read."""
    every = con.sql("SELECT * FROM periods").pl()
    last = every.filter(every["period"] == every["period"].max())
    start = last["period_start"][0]
    since = int(warehouse.scalar(con, f"SELECT count(*) FROM \"case\" WHERE submitted_at >= DATE '{start}'"))
    total = int(warehouse.scalar(con, "SELECT count(*) FROM \"case\""))
    assert 0 < since < total
    ids = [d.id for d in load_catalog() if d.sql.is_query and "periods" in (d.sql.query or "")
           and "case" in incremental.reads(d)]
    assert {"max_one_visit_rate", "time_limit_compression"} <= set(ids)
    for i in ids:
        formula = iv.formula_sql(load_catalog().indicator(i), "month", iv.data_span(con)[1])
        want = _rows(con, formula)
        con.register("periods", last.to_arrow())
        try:
            got = sorted(con.sql(formula).fetchall(), key=repr)
            read = _rows_read(con, formula, "case")
        finally:
            con.register("periods", every.to_arrow())
        assert got == [r for r in want if r[1] == last["period"][0]] and got, i
        assert read <= since, f"{i}: {read} case rows read, {since} submitted from {start} on"
