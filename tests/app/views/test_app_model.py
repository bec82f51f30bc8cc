"""Queries, model cache, view models, reweighting, saving and exports — against a small synthetic warehouse."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from app.views import reweight, frames as views
from app.web.jobs import JobRegistry
from etl.warehouse.snapshot import SnapshotCache, load_snapshot
from etl.warehouse import connection as warehouse
from etl.stores.profiles import list_profiles, load_profile
from indicators.model import score
from indicators.profile import ProfileError
from tests.conftest import TASK_ORIENTED, build_synthetic_warehouse


def test_snapshot_is_read_into_memory_and_the_file_left_unlocked(fixture_db: Path, tmp_path: Path) -> None:
    snap = load_snapshot(fixture_db)
    assert snap.available and snap.values.height > 0 and snap.districts.height == 16
    assert snap.quarantine_total == 2 and set(snap.quarantine["district_code"]) == {"310115"}
    con = warehouse.connect(fixture_db)  # a writer can open the file: the app holds no connection
    con.close()


def test_snapshot_cache_reloads_after_an_atomic_swap(fixture_db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live.duckdb"
    shutil.copy(fixture_db, live)
    cache = SnapshotCache(live)
    first = cache.get()
    assert cache.get() is first  # unchanged file: no reload
    new = build_synthetic_warehouse(tmp_path / "next.duckdb", quarters=5, seed=3)
    os.replace(new, live)  # what the refresh job does
    second = cache.get()
    assert second is not first and len(second.periods) == 5 and cache.reloads == 2


def test_missing_warehouse_is_an_empty_snapshot(tmp_path: Path) -> None:
    snap = load_snapshot(tmp_path / "nope.duckdb")
    assert not snap.available and snap.key is None


def _engine_scores(ctx, weights: dict[str, float]) -> np.ndarray:
    """The composite straight from the engine (full pipeline, no app cache) for the last period."""
    long = ctx.snapshot().values.filter(pl.col("grain") == "quarter")
    prof = ctx.profile(None)
    res = score(ctx.framework, long, prof.methods)
    vals = res.cache.reaggregate(weights)
    return vals[-1, :, res.order.index(ctx.framework.root)], res.units


def test_overview_matches_the_engine_and_flags_task_oriented_districts(ctx) -> None:
    ov = views.overview(ctx, "user-centred", "zh")
    comp, units = _engine_scores(ctx, ctx.profile("user-centred").resolved_weights(ctx.framework))
    expected = [units[i] for i in np.argsort(-comp, kind="stable")]
    assert ov.table["unit_code"].to_list() == expected
    assert set(TASK_ORIENTED) <= set(ov.table.filter(pl.col("task_oriented"))["unit_code"])
    assert ov.intervals is not None and (ov.table["rank_lo"] <= ov.table["rank"]).all()
    assert ov.previous is not None and ov.movers.height == 16


def test_supply_led_profile_lifts_task_oriented_districts(ctx) -> None:
    """The product's argument, as a test: supply-only evaluation rewards task-oriented districts."""
    def mean_rank(profile: str) -> float:
        tbl = views.overview(ctx, profile, "zh").table
        return float(tbl.filter(pl.col("unit_code").is_in(TASK_ORIENTED))["rank"].mean())

    assert mean_rank("supply-led") < mean_rank("user-centred")


def test_reweight_equals_a_full_engine_run(ctx) -> None:
    dims, groups = reweight.slider_nodes(ctx)
    codes = dims + [i for d in dims for i in groups[d]]
    base = ctx.profile("user-centred").resolved_weights(ctx.framework)
    values = [base[c] for c in codes]
    values[0] = 0.9  # one dimension up
    r = reweight.recompute(ctx, "user-centred", 0.2, codes, values, None, "en")
    w = dict(base, **{codes[0]: 0.9, "supply": 0.8, "demand": 0.2})
    comp, units = _engine_scores(ctx, w)
    got = dict(zip(r.table["unit_code"], r.table["score"], strict=True))
    assert np.allclose([got[u] for u in units], comp, atol=1e-9)
    assert r.shares[0] != "25%" and r.ms > 0


def test_zero_weights_under_a_node_are_refused_with_its_name(ctx) -> None:
    dims, _ = reweight.slider_nodes(ctx)
    supply_dims = [d for d in dims if ctx.framework.node(d).parent == "supply"]
    with pytest.raises(reweight.WeightsInvalid, match="supply"):
        reweight.recompute(ctx, None, 0.5, supply_dims, [0.0] * len(supply_dims), None, "zh")


def test_ahp_and_budget_helpers() -> None:
    codes = ["a", "b", "c"]
    ok = reweight.ahp_from_cells(codes, [(0, 1, 3), (0, 2, 5), (1, 2, 2)])
    assert ok["consistent"] and ok["weights"]["a"] > ok["weights"]["b"] > ok["weights"]["c"]
    bad = reweight.ahp_from_cells(codes, [(0, 1, 9), (0, 2, 1 / 9), (1, 2, 9)])
    assert not bad["consistent"] and bad["cr"] > 0.1
    b = reweight.budget_from_points(codes, [50, 30, 20])
    assert b["weights"] == pytest.approx({"a": 0.5, "b": 0.3, "c": 0.2})
    assert reweight.saaty_label(1 / 3) == "1/3" and reweight.saaty_label(7) == "7"


def test_saving_a_profile_writes_a_new_version_and_it_loads(ctx, weights_dir: Path) -> None:
    from etl.stores.profiles import save_profile

    base = ctx.profile("user-centred")
    w = dict(base.resolved_weights(ctx.framework), supply=0.3, demand=0.7)
    prof = reweight.profile_from_controls(base, w, "my-test", "审核员", "更重视需求侧", "zh")
    saved = save_profile(prof, weights_dir)
    assert "my-test" in list_profiles(weights_dir) and saved.version == 1
    again = load_profile("my-test", weights_dir)
    assert again.resolved_weights(ctx.framework)["demand"] == pytest.approx(0.7)
    assert again.rationale.zh == "更重视需求侧" and again.author == "审核员"
    assert "my-test" in ctx.profile_names()  # the context re-reads the folder


def test_saving_folds_the_blend_as_the_profile_itself_does(ctx) -> None:
    """Saving from the sliders uses WeightProfile.with_weights: same blend and weights, and a zero blend is refused
    (the app's own copy of the rule silently dropped the blend)."""
    base = ctx.profile("user-centred")
    assert base.blend is not None
    w = dict(base.resolved_weights(ctx.framework), supply=0.3, demand=0.7)
    prof = reweight.profile_from_controls(base, w, "fold", "审核员", "更重视需求侧", "zh")
    ref = base.with_weights(w)
    assert prof.blend == ref.blend and prof.weights == ref.weights and prof.methods == base.methods
    with pytest.raises(ProfileError, match="both zero"):
        reweight.profile_from_controls(base, dict(w, supply=0.0, demand=0.0), "fold", "审核员", "零", "zh")


def test_district_profile_and_xlsx_export(ctx) -> None:
    from app.ui.exports import scorecard_xlsx

    dp = views.district_profile(ctx, "310115", None, "zh")
    assert dp.indicators.height == len(ctx.framework.indicators)
    assert dp.summary["supply_rank"] < dp.summary["demand_rank"]  # task-oriented by construction
    assert dp.quarantine.height == 2 and dp.priorities["composite_gain"].min() > 0
    data = scorecard_xlsx(dp, "en")
    sheets = pl.read_excel(io.BytesIO(data), sheet_id=0)
    assert "Indicators" in sheets and sheets["Indicators"].height == dp.indicators.height
    # "k of n indicators" beside the composite: every counted indicator of the fixture is measured
    n = sum(1 for w in ctx.framework.effective_weights(ctx.profile(None).resolved_weights(ctx.framework)) if w > 0)
    assert dp.summary["n_observed"] == dp.summary["n_indicators"] == n
    cover = openpyxl.load_workbook(io.BytesIO(data))["Scorecard"]
    facts = {r[0]: r[1] for r in cover.iter_rows(min_col=1, max_col=2, values_only=True) if r[0]}
    assert facts["Indicators measured"] == f"{n} of {n} indicators"


def test_job_registry_progress_cancel_and_cache() -> None:
    reg = JobRegistry(max_workers=1)
    started = threading.Event()

    def slow(jc):
        started.set()
        for i in range(200):
            time.sleep(0.01)
            jc.progress(i / 200)
        return "never"

    job = reg.submit("slow", slow)
    started.wait(5)
    reg.cancel(job.id)
    for _ in range(200):
        if not job.active:
            break
        time.sleep(0.01)
    assert job.status == "cancelled"
    quick = reg.submit("quick", lambda jc: 42)
    for _ in range(200):
        if not quick.active:
            break
        time.sleep(0.01)
    assert quick.result == 42 and not quick.from_cache
    again = reg.submit("quick", lambda jc: 43)
    assert again.from_cache and again.result == 42
    failing = reg.submit("boom", lambda jc: 1 / 0)
    for _ in range(200):
        if not failing.active:
            break
        time.sleep(0.01)
    assert failing.status == "error" and "ZeroDivisionError" in failing.error
    reg.shutdown()


def test_sensitivity_run_and_its_frames(ctx) -> None:
    from app.views import sensitivity_run as sr

    prof = ctx.profile(None)
    spec = sr.build_spec(["weights", "blend"], 256, 1, prof)
    res = sr.run(ctx, prof, spec)
    assert res.n_ok == 256 and (res.low <= res.high).all()
    sob = sr.sobol_frame(res)
    assert set(sob["label"]) == {"weights:dimensions", "blend"}
    tor, base = sr.tornado_frame(res, "310115")
    assert tor.height == 2 and 1 <= base <= 16
    assert sr.spec_key(ctx, prof, spec) == sr.spec_key(ctx, prof, spec)
    with pytest.raises(ValueError, match="unknown factor"):
        sr.build_spec(["nope"], 256, 1, prof)


def test_memo_computes_once_per_key(ctx) -> None:
    calls: list[str] = []

    def build(tag: str):
        calls.append(tag)
        return {"tag": tag}

    a = ctx.memo(("test-memo", ctx.snapshot().key, "zh"), lambda: build("zh"))
    assert ctx.memo(("test-memo", ctx.snapshot().key, "zh"), lambda: build("again")) is a
    assert ctx.memo(("test-memo", ctx.snapshot().key, "en"), lambda: build("en"))["tag"] == "en"
    assert calls == ["zh", "en"]


def test_a_derivation_is_saved_only_while_the_weights_still_follow_it(ctx) -> None:
    from indicators.profile import Derivation

    base = ctx.profile("user-centred")
    kids = list(ctx.framework.children("demand"))
    derived = {k: (i + 1) / sum(range(1, len(kids) + 1)) for i, k in enumerate(kids)}
    d = Derivation(method="budget", node="demand", codes=kids, weights=derived, inputs={"points": [1, 2, 3, 4]})
    w = dict(base.resolved_weights(ctx.framework), **{k: v * 5 for k, v in derived.items()})  # same shares, rescaled
    kept = reweight.profile_from_controls(base, w, "ahp-kept", "审核员", "预算分配", "zh", [d])
    assert [x.method for x in kept.derived_from] == ["budget"]
    moved = dict(w, **{kids[0]: w[kids[0]] * 2})  # a slider moved after the allocation
    dropped = reweight.profile_from_controls(base, moved, "ahp-dropped", "审核员", "预算分配", "zh", [d])
    assert dropped.derived_from == []


def test_district_indicators_carry_n_interval_and_missing_reason_into_the_export(
    fixture_db: Path, weights_dir: Path, tmp_path: Path
) -> None:
    """Issue 13 item 1: every indicator value shows its n and 95% interval (or why it is missing) in the district
    view model and the XLSX scorecard. The synthetic values get interval columns: n = denominator, interval value
    ± 2, and one value made imprecise."""
    from app.state import AppContext
    from app.ui.exports import scorecard_xlsx
    from tests.app.conftest import app_config

    db = tmp_path / "w.duckdb"
    shutil.copy(fixture_db, db)
    with warehouse.connection(db) as con:
        for col, typ in (("n", "DOUBLE"), ("ci_low", "DOUBLE"), ("ci_high", "DOUBLE"), ("se", "DOUBLE"),
                         ("interval_method", "VARCHAR"), ("missing_reason", "VARCHAR")):
            con.sql(f"ALTER TABLE indicator_values ADD COLUMN {col} {typ}")
        con.sql("UPDATE indicator_values SET n = denominator, ci_low = value - 2, ci_high = value + 2, se = 2 / 1.96,"
                " interval_method = 'wilson'")
        con.sql("UPDATE indicator_values SET value = NULL, missing_reason = 'imprecise' "
                "WHERE unit_code = '310115' AND indicator_id = 'unprompted_satisfaction'")
    ctx = AppContext.create(app_config(db, weights_dir, rank_samples=50))
    dp = views.district_profile(ctx, "310115", None, "zh")
    row = dp.indicators.filter(pl.col("indicator") == "hotline_ontime_rate").row(0, named=True)
    assert row["ci_low"] == pytest.approx(row["value"] - 2) and row["n"] == row["sample"]
    assert row["interval_text"].startswith(f"{row['value']:.1f}（95% 区间 ") and "样本量" in row["interval_text"]
    gone = dp.indicators.filter(pl.col("indicator") == "unprompted_satisfaction").row(0, named=True)
    assert gone["missing_reason"] == "imprecise" and gone["interval_text"].startswith("不显示：样本太少")
    sheet = pl.read_excel(io.BytesIO(scorecard_xlsx(dp, "en")), sheet_name="Indicators")
    for col in ("Observations (effective n)", "95% interval, low", "95% interval, high", "Interval method",
                "Why it is missing"):
        assert col in sheet.columns, col
    assert "too few observations" in " ".join(str(x) for x in sheet["Why it is missing"].to_list())
