"""An incremental refresh reads a formula's table from its first period on only where DuckDB's plan shows the period
filter reaches that table's one scan (etl.warehouse.period_scan): the rows computed are those of the formula as
written, and a formula whose periods need other periods' rows (a window, the table read twice) is left as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse, derived, indicator_values as iv, period_scan
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
