"""The UI's permission checks follow the unit table as the stores do (issue 20): an official of a province comments on
its counties' ledger items and sees their quarantined rows; a county's official only their own; an official of
another province none of them."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from flask import Flask, g

from app.ui import ledger_model
from app.web import security
from etl.demo.districts import unit_table
from etl.demo.national import national_rows
from etl.stores.roles import Role
from etl.warehouse import connection as warehouse
from indicators.units import Units
from tests.app.conftest import ROOT, app_config

ROWS = national_rows(np.random.default_rng(1), provinces=2, counties=3)
PROVINCE, OTHER_PROVINCE = "110000", "120000"
COUNTIES = tuple(str(r["district_code"]) for r in ROWS if r["parent_code"] == PROVINCE)
OTHER_COUNTY = next(str(r["district_code"]) for r in ROWS if r["parent_code"] == OTHER_PROVINCE)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """What ledger_model reads of the app context (its configuration) over a warehouse holding two provinces' units."""
    base = tmp_path_factory.mktemp("hierarchy")
    with warehouse.connection(base / "warehouse.duckdb") as con:
        warehouse.insert_frame(con, "district", unit_table(ROWS))
    weights = base / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    return SimpleNamespace(config=app_config(base / "warehouse.duckdb", weights))


def _as(role: str, unit: str | None, check):
    with Flask(__name__).test_request_context():
        g.govindex_identity = security.Identity(name="x", role=role, district_code=unit)
        return check()


def test_a_province_official_comments_on_its_counties_items_a_county_official_on_its_own(ctx) -> None:
    county = COUNTIES[0]
    official = str(Role.DISTRICT_OFFICIAL)
    assert len(COUNTIES) == 3
    assert _as(official, PROVINCE, lambda: [ledger_model.may_comment(ctx, u) for u in (PROVINCE, *COUNTIES)]) \
        == [True] * 4
    assert not _as(official, PROVINCE, lambda: ledger_model.may_comment(ctx, OTHER_COUNTY))
    assert _as(official, county, lambda: ledger_model.may_comment(ctx, county))
    assert not _as(official, county, lambda: ledger_model.may_comment(ctx, PROVINCE))
    assert not _as(official, county, lambda: ledger_model.may_comment(ctx, COUNTIES[1]))
    # opening and changing items stays with the unit's own official
    assert not _as(official, PROVINCE, lambda: ledger_model.may_open(county))
    # the ledger's unit filter: the province and its counties; a county alone
    assert _as(official, PROVINCE, lambda: ledger_model.own_units(ctx)) == (PROVINCE, *COUNTIES)
    assert _as(official, county, lambda: ledger_model.own_units(ctx)) == (county,)
    assert _as(str(Role.LEADER), None, lambda: ledger_model.own_units(ctx)) == ()


def test_a_province_official_sees_its_counties_quarantined_rows() -> None:
    units = Units.from_frame(unit_table(ROWS))
    q = pl.DataFrame({"district_code": [PROVINCE, *COUNTIES, OTHER_COUNTY, None]})
    official = str(Role.DISTRICT_OFFICIAL)
    seen = _as(official, PROVINCE, lambda: security.visible_quarantine(q, units))["district_code"].to_list()
    assert seen == [PROVINCE, *COUNTIES]
    assert _as(official, COUNTIES[0], lambda: security.visible_quarantine(q, units)).height == 1
    assert _as(official, PROVINCE, lambda: security.visible_quarantine(q, None)).height == 1  # no table: own only
    assert _as(official, PROVINCE, lambda: [security.sees_unit(u, units) for u in (*COUNTIES, OTHER_COUNTY)]) \
        == [True, True, True, False]
    assert not _as(official, COUNTIES[0], lambda: security.sees_unit(PROVINCE, units))
    assert _as(str(Role.LEADER), None, lambda: security.visible_quarantine(q, units)).height == q.height

