"""Issue 18's inclusion and e-licence indicators on the hand-computed fixture, with the new columns recorded.

The fixture of test_indicator_values is an older export (no internet_access, no e-licence count): there these
indicators are NULL with 'not_recorded'. Here the same rows carry the new columns, and every expected number is
worked out by hand in the comments.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import polars as pl
import pytest

from etl.contract import tables
from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse
from etl.warehouse.indicator_values import Z95, compute_indicator_values
from indicators.catalog import Catalog
from tests.etl.warehouse import test_indicator_values as base

A, B, J, F, Q = base.A, base.B, base.J, base.F, base.Q
IDS = ("access_60plus", "digital_skill_60plus", "trust_60plus", "elderly_satisfaction", "elderly_success_rate",
       "elicence_use_rate", "access_under60", "digital_skill_under60", "trust_under60")

# respondent → has a smartphone or internet at home
ACCESS = {"s1": True, "s2": True, "s3": None, "s4": False, "s5": True}
# case → materials provided by e-licence (≤ via sharing); b3 does not record it
ELICENCE = {"a1": 1, "a2": 1, "a3": 0, "a4": 0, "a5": 0, "a6": 0, "a7": 0, "a8": 2, "b1": 0, "b2": 1, "b3": None,
            "b4": 0, "b5": 0}


@pytest.fixture(scope="module")
def values() -> Iterator[pl.DataFrame]:
    frames = base._frames()
    for r in frames["survey_response"]:
        r["internet_access"] = ACCESS[r["response_id"]]
    for c in frames["case"]:
        c["materials_via_elicence_n"] = ELICENCE[c["case_id"]]
    con = warehouse.connect(":memory:")
    try:
        for name, rows in frames.items():
            schema = warehouse.polars_schema(tables.TABLES[name])
            warehouse.insert_frame(con, name, pl.DataFrame(rows, schema=schema, orient="row"))
        cat = base._loose(load_catalog())
        yield compute_indicator_values(con, Catalog(cat.nodes, tuple(cat.indicator(i) for i in IDS), cat.source))
    finally:
        con.close()


EXPECTED: dict[str, dict[tuple[str, str], float]] = {
    # respondents 60+: A Jan s2 (w 2, access) → 100; Feb s4 (w 0.5, none) → 0; Q1 (2·100 + 0.5·0)/2.5 = 80.
    "access_60plus": {(A, J): 100.0, (A, F): 0.0, (A, Q): 80.0},
    # unchanged by the new columns (see test_indicator_values)
    "digital_skill_60plus": {(A, J): 0.0, (A, F): 0.0, (A, Q): 0.0},
    "trust_60plus": {(A, J): 0.0, (A, Q): 0.0},
    "elderly_satisfaction": {(A, J): 50.0, (A, F): 0.0, (A, Q): 40.0},
    "elderly_success_rate": {(A, J): 100.0, (A, Q): 100.0},
    # submitted cases recording y: A Jan a1 1/2, a2 1/2, a3 0/2, a4 0/5 → 2/11; Feb a6 0/2, a7 0/1, a8 2/2 → 2/5;
    # Q1 4/16. B Jan b1 0/3, b2 1/3 → 1/6; Feb b3 does not record it → NULL (not_recorded); Q1 1/6.
    "elicence_use_rate": {(A, J): 200 / 11, (A, F): 40.0, (A, Q): 25.0, (B, J): 100 / 6, (B, Q): 100 / 6},
    # by age group, under 60: s1 (A Jan, access) → 100; s3 (A Feb) did not answer → NULL; Q1 s1 only → 100;
    # s5 (B Feb, access) → 100.
    "access_under60": {(A, J): 100.0, (A, Q): 100.0, (B, F): 100.0, (B, Q): 100.0},
    "digital_skill_under60": {(A, J): 0.0, (A, F): 0.0, (A, Q): 0.0, (B, F): 0.0, (B, Q): 0.0},
    "trust_under60": {(A, J): 100.0, (A, F): 0.0, (A, Q): 40.0, (B, F): 100.0, (B, Q): 100.0},
}


@pytest.mark.parametrize("indicator", IDS)
def test_matches_hand_computation(values: pl.DataFrame, indicator: str) -> None:
    got = values.filter((pl.col("indicator_id") == indicator) & pl.col("unit_code").is_in([A, B])
                        & pl.col("grain").is_in(["month", "quarter"]))
    for row in got.iter_rows(named=True):
        want = EXPECTED[indicator].get((row["unit_code"], row["period"]))
        if want is None:
            assert row["value"] is None, (indicator, row)
        else:
            assert row["value"] == pytest.approx(want, abs=1e-9), (indicator, row)


def test_a_case_that_does_not_record_the_e_licence_count_is_left_out_not_zero(values: pl.DataFrame) -> None:
    row = base._cell(values, "elicence_use_rate", B, F)
    assert row["value"] is None and row["missing_reason"] == "not_recorded"


def test_intervals_by_hand(values: pl.DataFrame) -> None:
    # delta, A Jan: R = 2/11; residuals y − Rx = 7/11, 7/11, −4/11, −10/11; Σ² = 214/121; n = 4
    row = base._cell(values, "elicence_use_rate", A, J)
    se = math.sqrt(4 / 3 * 214 / 121) / 11 * 100
    assert row["se"] == pytest.approx(se) and row["n"] == 4
    assert row["ci_low"] == pytest.approx(max(0.0, 200 / 11 - Z95 * se))  # a share is cut to 0–100
    assert row["ci_high"] == pytest.approx(200 / 11 + Z95 * se)
    # design, access A Q1: x = 100 (w 2), 0 (w 0.5); m = 80; Σw²(x − m)² = 4·400 + 0.25·6400 = 3200; k = 2
    row = base._cell(values, "access_60plus", A, Q)
    assert row["se"] == pytest.approx(math.sqrt(2 * 3200) / 2.5)
    assert row["n"] == pytest.approx(2.5 ** 2 / 4.25)  # Kish effective n
    assert row["numerator"] == 1 and row["denominator"] == 2
