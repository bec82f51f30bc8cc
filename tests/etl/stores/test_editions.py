"""Assessment editions: what an edition freezes, that new data never move a published one, and every refusal."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl.contract.catalog import load_catalog
from etl.stores import editions as store
from etl.stores.audit_trail import read_trail
from etl.stores.profiles import SHIPPED_DIR, load_profile
from etl.warehouse import connection as warehouse
from etl.warehouse.snapshot import data_snapshot_id
from indicators.spec import MethodSpec

ROOT = Path(__file__).resolve().parents[3]
FW = load_catalog().framework()
PROFILE = load_profile("equal", SHIPPED_DIR)
SAMPLES = 64  # rank intervals: enough to exist, cheap


def _set_span(db: Path, first: str, last: str) -> None:
    with warehouse.connection(db) as con:
        con.sql("DROP TABLE IF EXISTS data_coverage")
        con.sql("CREATE TABLE data_coverage (first_day DATE NOT NULL, last_day DATE NOT NULL)")
        con.execute("INSERT INTO data_coverage VALUES (?, ?)", [dt.date.fromisoformat(first), dt.date.fromisoformat(last)])


@pytest.fixture()
def env(warehouses, tmp_path: Path) -> dict[str, Path]:
    """A private warehouse with quarters 2024Q1..2025Q4 whose data span covers both years, a store and weights."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouses.synthetic(quarters=8), db)
    _set_span(db, "2024-01-01", "2025-12-31")
    weights = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    return {"db": db, "store": tmp_path / "editions.sqlite", "weights": weights}


def _create(env: dict[str, Path], cycle: str = "2025", **kw) -> store.Edition:
    kw.setdefault("mc_samples", SAMPLES)
    return store.create_edition(env["db"], env["store"], FW, kw.pop("profile", PROFILE), cycle, who="tester",
                                **kw).edition


def _add_2026q1(db: Path) -> None:
    """New data arrive: 2026Q1 values (with 2025's shape), a new ingested file and a span into 2026."""
    with warehouse.connection(db) as con:
        con.sql("INSERT INTO indicator_values SELECT unit_code, '2026Q1', grain, indicator_id, value * 1.37 + 3, "
                "numerator, denominator FROM indicator_values WHERE period = '2025Q4'")
        con.sql("INSERT INTO ingest_files SELECT * REPLACE (file_id + 10 AS file_id, repeat('c', 64) AS sha256) "
                "FROM ingest_files LIMIT 1")
    _set_span(db, "2024-01-01", "2026-03-31")


def test_an_edition_freezes_what_its_result_depends_on(env) -> None:
    ed = _create(env, "2024")
    with warehouse.connection(env["db"], read_only=True) as con:
        assert ed.data_snapshot_id == data_snapshot_id(con)
    assert (ed.status, ed.cycle, ed.profile_name, ed.profile_version) == ("draft", "2024", "equal", PROFILE.version)
    assert ed.profile_hash == PROFILE.content_hash() and ed.framework_hash == FW.fingerprint()
    assert json.loads(ed.spec_json) == json.loads(PROFILE.model_spec(FW).to_json())
    assert ed.source_grain == "quarter-mean" and ed.periods == ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
    assert ed.bands["cuts"] and ed.bands["labels_zh"]
    # every indicator's bounds, in raw units: the shipped profiles fit nothing, so they are the catalog's goalposts
    assert set(ed.bounds) == set(FW.indicators)
    res = store.results(env["store"], ed.edition_id)
    catalog = load_catalog()
    for code in FW.indicators:
        gp = catalog.indicator(code).goalposts
        assert (ed.bounds[code]["low"], ed.bounds[code]["high"]) == pytest.approx((min(gp.low, gp.high),
                                                                                  max(gp.low, gp.high)))
    # a profile that fits min-max freezes the min / max of the cycle's (quarter-mean) values it was fitted on
    minmax = PROFILE.model_copy(update={"name": "equal-minmax", "methods": PROFILE.methods.model_copy(
        update={"normalisation": MethodSpec(name="minmax", params={"l": 0.0, "u": 100.0})})})
    fitted = _create(env, "2024", profile=minmax)
    fres = store.results(env["store"], fitted.edition_id)
    for code in FW.indicators[:5]:
        raw = fres.filter((pl.col("node") == code))["raw_value"]
        assert fitted.bounds[code]["low"] == pytest.approx(raw.min())
        assert fitted.bounds[code]["high"] == pytest.approx(raw.max())
    root = res.filter(pl.col("node") == FW.root)
    assert root.height == 16 and sorted(root["rank"].to_list()) == list(range(1, 17))
    assert root["rank_low"].null_count() == 0 and (root["rank_low"] <= root["rank"]).all()
    assert (root["rank"] <= root["rank_high"]).all()
    ind = res.filter(pl.col("is_indicator"))
    assert ind.height == 16 * len(FW.indicators) and ind["contribution"].null_count() == 0
    assert res["gap_to_best"].null_count() == 0
    assert not res["partial"].any()
    assert store.results_bytes(env["store"], ed.edition_id) and len(ed.results_sha256) == 64


def test_new_data_never_move_a_published_edition(env) -> None:
    ed = _create(env)
    store.publish_edition(env["store"], ed.edition_id, who="李四", reason="2025 年度考核", role="assessor",
                          weights_dir=env["weights"])
    before = store.results_bytes(env["store"], ed.edition_id)
    _add_2026q1(env["db"])
    assert store.results_bytes(env["store"], ed.edition_id) == before  # byte for byte
    # and the same cycle scored again on the new snapshot gives the same numbers: fitted on 2025 only
    again = _create(env)
    d = store.diff_editions(env["store"], ed.edition_id, again.edition_id)
    assert d.data_changed and d.method == () and d.bounds == ()
    assert d.moved.height == 0
    assert store.get_edition(env["store"], ed.edition_id).status == "published"


def test_a_cycle_with_missing_months_is_refused_naming_them(env) -> None:
    _set_span(env["db"], "2024-01-01", "2025-10-31")
    with pytest.raises(store.PartialCycle, match="2025-11, 2025-12") as e:
        _create(env)
    assert e.value.params["months"] == "2025-11, 2025-12"
    assert store.list_editions(env["store"]) == []
    ed = _create(env, allow_partial=True)
    assert ed.partial and ed.missing_months == ("2025-11", "2025-12")
    assert store.results(env["store"], ed.edition_id)["partial"].all()  # every figure flagged


@pytest.mark.parametrize("cycle", ["2031", "25", "2025Q1", ""])
def test_unknown_cycles_are_refused(env, cycle: str) -> None:
    with pytest.raises(store.UnknownCycle):
        _create(env, cycle)
    assert store.list_editions(env["store"]) == []


def test_publishing_twice_is_refused_and_changes_nothing(env) -> None:
    ed = _create(env)
    store.publish_edition(env["store"], ed.edition_id, who="a", reason="first", weights_dir=env["weights"])
    size = env["store"].stat().st_size
    trail = read_trail(env["weights"])
    with pytest.raises(store.AlreadyPublished):
        store.publish_edition(env["store"], ed.edition_id, who="b", reason="second", weights_dir=env["weights"])
    assert read_trail(env["weights"]) == trail
    assert [r["event"] for r in trail] == ["edition_publish"] and ed.edition_id in trail[0]["rationale"]
    got = store.get_edition(env["store"], ed.edition_id)
    assert (got.published_by, got.published_reason) == ("a", "first")
    assert env["store"].stat().st_size == size
    with pytest.raises(store.ReasonRequired):
        store.publish_edition(env["store"], _create(env).edition_id, who="a", reason="  ")
    # a second edition of the same cycle and profile stands only as a correction of the first
    with pytest.raises(store.CycleTaken, match=ed.edition_id):
        store.publish_edition(env["store"], _create(env).edition_id, who="a", reason="another")
    assert [e.status for e in store.list_editions(env["store"])] == ["published", "draft", "draft"]


def test_publishing_a_draft_whose_data_snapshot_is_gone_is_refused(env) -> None:
    ed = _create(env)
    _add_2026q1(env["db"])
    with warehouse.connection(env["db"], read_only=True) as con:
        live = data_snapshot_id(con)
    with pytest.raises(store.SnapshotGone, match=ed.data_snapshot_id):
        store.publish_edition(env["store"], ed.edition_id, who="a", reason="r", live_snapshot=live,
                              weights_dir=env["weights"])
    assert store.get_edition(env["store"], ed.edition_id).status == "draft"
    assert read_trail(env["weights"]) == []


def test_unknown_editions_are_refused(env) -> None:
    with pytest.raises(store.UnknownEdition):
        store.publish_edition(env["store"], "2025-equal-9", who="a", reason="r")
    with pytest.raises(store.UnknownEdition):
        _create(env, reference="nope")


def test_the_store_is_append_only(env) -> None:
    ed = _create(env)
    con = sqlite3.connect(env["store"])
    try:
        for sql in ("UPDATE edition_results SET score = 0", "DELETE FROM edition_results",
                    "UPDATE editions SET cycle = '1999'", "DELETE FROM editions"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()
    assert store.get_edition(env["store"], ed.edition_id).cycle == "2025"


def test_a_correction_supersedes_and_both_stay_visible(env) -> None:
    old = _create(env)
    store.publish_edition(env["store"], old.edition_id, who="a", reason="r")
    with pytest.raises(store.ReasonRequired):
        _create(env, supersedes=old.edition_id)
    with pytest.raises(store.EditionError, match="same cycle"):
        _create(env, "2024", supersedes=old.edition_id, reason="x")
    new = _create(env, supersedes=old.edition_id, reason="区代码更正")
    assert store.get_edition(env["store"], old.edition_id).status == "published"  # until the correction is published
    store.publish_edition(env["store"], new.edition_id, who="a", reason="correction")
    eds = {e.edition_id: e for e in store.list_editions(env["store"])}
    assert eds[old.edition_id].status == "superseded" and eds[old.edition_id].superseded_by == (new.edition_id,)
    assert eds[new.edition_id].status == "published" and eds[new.edition_id].reason == "区代码更正"
    assert [e.edition_id for e in store.published_by_cycle(env["store"], "equal")] == [new.edition_id]


def test_a_reference_edition_freezes_the_scale_for_the_next_year(env) -> None:
    ref = _create(env, "2024")
    ed = _create(env, "2025", reference=ref.edition_id)
    spec = json.loads(ed.spec_json)
    assert spec["normalisation"]["name"] == "goalposts"
    gp = spec["normalisation"]["params"]["goalposts"]
    assert {c: tuple(v) for c, v in gp.items()} == {c: (b["low"], b["high"]) for c, b in ref.bounds.items()}
    # 2024 scored on its own frozen bounds reproduces the 2024 edition (same map inside the bounds)
    same = _create(env, "2024", reference=ref.edition_id)
    a, b = store.results(env["store"], ref.edition_id), store.results(env["store"], same.edition_id)
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), atol=1e-9)
    d = store.diff_editions(env["store"], ref.edition_id, ed.edition_id)
    assert any(m.startswith("spec.normalisation") for m in d.method)  # a method change, said as such


def test_year_on_year_and_method_changes(env) -> None:
    e24 = _create(env, "2024")
    e25 = _create(env, "2025", profile=load_profile("supply-led", SHIPPED_DIR))
    store.publish_edition(env["store"], e24.edition_id, who="a", reason="r")
    table, method = store.trend(env["store"], FW, "equal")
    assert table["cycle"].unique().to_list() == ["2024"] and method == {"2024": []}
    e25b = _create(env, "2025", profile=load_profile("equal", SHIPPED_DIR).model_copy(
        update={"weights": {"supply_value": 3.0}}))
    store.publish_edition(env["store"], e25b.edition_id, who="a", reason="r")
    table, method = store.trend(env["store"], FW, "equal")
    assert table["cycle"].unique().sort().to_list() == ["2024", "2025"]
    assert {"composite", "supply", "demand", "rank"} <= set(table.columns) and table.height == 32
    assert any("weights" in m for m in method["2025"])  # the weights changed: method, not only data
    assert e25.profile_name == "supply-led"


def test_the_year_grain_is_used_when_the_warehouse_has_it(env) -> None:
    with warehouse.connection(env["db"]) as con:
        con.sql("INSERT INTO indicator_values SELECT unit_code, '2025', 'year', indicator_id, avg(value), "
                "sum(numerator), sum(denominator) FROM indicator_values WHERE period LIKE '2025Q%' "
                "GROUP BY unit_code, indicator_id")
    ed = _create(env)
    assert ed.source_grain == "year" and ed.periods == ("2025",)
    quarter = _create(env, "2024")
    assert quarter.source_grain == "quarter-mean"


# -- a retired indicator: editions that name it still load, and serve as a reference --------------------------------
def _framework_without(indicator_id: str):
    """The shipped catalog with one indicator retired (its block removed, a [[retired]] entry added)."""
    import tomllib

    from etl.contract.catalog import default_catalog_dir
    from indicators.catalog import Catalog

    d = default_catalog_dir()
    fw, ind = (tomllib.loads((d / f).read_text(encoding="utf-8")) for f in ("framework.toml", "indicators.toml"))
    ind["indicator"] = [e for e in ind["indicator"] if e["id"] != indicator_id]
    retired = {"retired": [{"id": indicator_id, "retired_in": "test", "reason_zh": "饱和", "reason_en": "saturated"}]}
    return Catalog.from_dicts(fw, ind, retired=retired).framework()


def test_an_edition_naming_a_retired_indicator_still_loads_and_can_be_the_reference(env) -> None:
    old = _create(env, "2024")
    assert "high_freq_bundle_rate" in old.bounds
    fw2 = _framework_without("high_freq_bundle_rate")
    # the stored edition is read as stored: its results and bounds still hold the retired indicator
    again = store.get_edition(env["store"], old.edition_id)
    assert "high_freq_bundle_rate" in again.bounds
    assert "high_freq_bundle_rate" in set(store.results(env["store"], old.edition_id)["node"])
    # a new edition on the catalog without it, frozen on the old edition's scale, is created with a warning
    new = store.create_edition(env["db"], env["store"], fw2, PROFILE, "2025", who="tester", mc_samples=SAMPLES,
                               reference=old.edition_id).edition
    assert "high_freq_bundle_rate" not in new.bounds
    assert any("high_freq_bundle_rate" in w and "retired" in w for w in new.warnings)
    table, method = store.trend(env["store"], fw2, "equal")
    assert table.height == 0 or set(table["cycle"]) <= {"2024", "2025"}
    d = store.diff_editions(env["store"], old.edition_id, new.edition_id)
    assert "framework" in d.method
