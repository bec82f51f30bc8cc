"""Scores have one home: the pages show the stored runs; the weights page's live what-if equals them to 1e-9."""

from __future__ import annotations

import shutil
from pathlib import Path

import dash
import numpy as np
import polars as pl
import pytest

from app.state import AppContext
from app.views import frames as views
from app.views.scoring import SAME_SCORE, stored_scores
from etl.contract.catalog import load_catalog
from etl.jobs.uncertainty_summary import write_uncertainty_summary
from etl.stores.profiles import list_profiles, load_profile, save_profile
from etl.stores.scores import score_and_store
from etl.warehouse import connection as warehouse
from etl.warehouse.snapshot import load_snapshot
from indicators.profile import WeightProfile
from indicators.ranking import rank_desc
from tests.app.conftest import app_config

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def stored_db(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture warehouse after what `govindex refresh` stores: a score run and an uncertainty summary per
    shipped profile."""
    db = tmp_path_factory.mktemp("stored") / "stored.duckdb"
    shutil.copy(fixture_db, db)
    fw = load_catalog().framework()
    names = list_profiles(ROOT / "weights")
    for name in names:
        score_and_store(db, fw, load_profile(name, ROOT / "weights"))
    write_uncertainty_summary(db, names, ROOT / "weights", samples=64, seed=5)
    return db


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.duckdb"
    shutil.copy(db, out)
    return out


def _ctx(db: Path, weights_dir: Path) -> AppContext:
    return AppContext.create(app_config(db, weights_dir, rank_samples=64))


def _run_id(db: Path, profile: str) -> str:
    return str(warehouse.query(db, "SELECT run_id FROM score_runs WHERE profile_name = ? ORDER BY created_at DESC "
                                   "LIMIT 1", [profile])["run_id"][0])


def test_live_what_if_with_a_stored_profiles_settings_equals_the_stored_run(stored_db: Path,
                                                                           weights_dir: Path) -> None:
    """Every unit, period and node: scores to 1e-9 and identical ranks, for every shipped profile."""
    ctx = _ctx(stored_db, weights_dir)
    for name in list_profiles(weights_dir):
        prof = ctx.profile(name)
        live = ctx.prepared(prof).reweight(prof.resolved_weights(ctx.framework))  # the weights page's path
        stored = warehouse.query(stored_db, "SELECT unit_code, period, node, score, rank FROM scores WHERE run_id = ?",
                                 [_run_id(stored_db, name)])
        units, periods = live.prepared.units, live.prepared.periods
        assert stored.height == len(units) * len(periods) * len(live.prepared.order)
        got = np.array([live.values[periods.index(p), units.index(u), live.prepared.col[n]]
                        for u, p, n in stored.select("unit_code", "period", "node").iter_rows()])
        want = stored["score"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        assert np.array_equal(np.isnan(got), np.isnan(want))
        assert np.nanmax(np.abs(got - want)) <= SAME_SCORE, name
        got_rank = np.array([live.ranks(n, periods.index(p))[units.index(u)]
                             for u, p, n in stored.select("unit_code", "period", "node").iter_rows()])
        want_rank = stored["rank"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        assert np.array_equal(got_rank, want_rank, equal_nan=True), name


def test_overview_and_district_show_the_stored_scores(stored_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    """Tamper with stored numbers in a copy: the view models show the tampered values, not a re-computation."""
    db = _copy(stored_db, tmp_path)
    run = _run_id(db, "user-centred")
    ctx = _ctx(db, weights_dir)
    period = views.overview(ctx, "user-centred", "zh").period
    last = views.overview(ctx, "user-centred", "zh").table["unit_code"][-1]
    with warehouse.connection(db) as con:
        con.execute("UPDATE scores SET score = 99.125, rank = 1 WHERE run_id = ? AND unit_code = ? AND period = ? "
                    "AND node = 'index'", [run, last, period])
        con.execute("UPDATE scores SET score = 12.5 WHERE run_id = ? AND unit_code = ? AND period = ? "
                    "AND node = 'supply'", [run, last, period])
    ctx = _ctx(db, weights_dir)
    ov = views.overview(ctx, "user-centred", "zh")
    assert ov.source.stored and ov.source.run_id == run
    row = ov.table.filter(pl.col("unit_code") == last).row(0, named=True)
    assert (row["score"], row["rank"], row["supply"]) == (99.125, 1, 12.5)  # the stored rank, shown as stored
    assert last in ov.table["unit_code"].head(2).to_list()  # ranked first (tied with the true leader)
    dp = views.district_profile(ctx, last, "user-centred", "zh")
    assert dp.source.run_id == run and dp.summary["score"] == 99.125 and dp.summary["rank"] == 1
    assert dp.dimensions.filter(pl.col("code") == "supply")["this"][0] == 12.5
    assert "已存储" in views.source_text(ov.source, "zh") and run in views.source_text(ov.source, "en")


def test_overview_intervals_come_from_the_stored_uncertainty_run(stored_db: Path, weights_dir: Path) -> None:
    ctx = _ctx(stored_db, weights_dir)
    ov = views.overview(ctx, "user-centred", "zh")
    want = warehouse.query(
        stored_db, "SELECT u.run_id, u.unit_code, u.rank_low, u.rank_high FROM uncertainty_ranks u JOIN uncertainty_runs "
        "r USING (run_id) WHERE r.profile_name = 'user-centred' AND r.period = ?", [ov.period])
    assert ov.intervals is not None and ov.intervals.stored_run == want["run_id"][0]
    got = ov.table.select("unit_code", "rank_lo", "rank_hi").sort("unit_code")
    assert got["rank_lo"].to_list() == want.sort("unit_code")["rank_low"].to_list()
    assert got["rank_hi"].to_list() == want.sort("unit_code")["rank_high"].to_list()
    assert "已存储的不确定性分析" in views.intervals_text(ov.intervals, "zh")


def test_an_uncertainty_run_of_other_data_is_not_shown(stored_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    """Its nominal scores no longer match the stored run: the intervals are computed now and say so."""
    db = _copy(stored_db, tmp_path)
    with warehouse.connection(db) as con:
        con.execute("UPDATE uncertainty_ranks SET nominal_score = nominal_score + 0.5")
    ov = views.overview(_ctx(db, weights_dir), "user-centred", "zh")
    assert ov.source.stored and ov.intervals is not None and ov.intervals.stored_run is None
    assert "未存储" in views.intervals_text(ov.intervals, "zh")


def test_runs_over_older_data_are_not_read(stored_db: Path, weights_dir: Path, tmp_path: Path) -> None:
    """New data (another ingested file) changes the data snapshot id: the old runs are no longer the truth."""
    db = _copy(stored_db, tmp_path)
    assert load_snapshot(db).score_runs.height == len(list_profiles(weights_dir))
    with warehouse.connection(db) as con:
        con.execute("INSERT INTO ingest_files SELECT * REPLACE ('c' || repeat('0', 63) AS sha256) FROM ingest_files "
                    "LIMIT 1")
    snap = load_snapshot(db)
    assert snap.score_runs.height == 0 and snap.scores.height == 0
    assert not views.overview(_ctx(db, weights_dir), "user-centred", "zh").source.stored


def test_a_profile_without_a_stored_run_is_computed_and_labelled(stored_db: Path, weights_dir: Path) -> None:
    """Saved after the last refresh: no stored run, so the pages compute it and say it is not stored."""
    ctx = _ctx(stored_db, weights_dir)
    base = ctx.profile("user-centred")
    w = base.resolved_weights(ctx.framework)
    changed = base.with_weights({"supply": w["supply"], "demand": w["demand"] * 0.5})
    save_profile(WeightProfile.from_dict({**changed.to_dict(), "name": "late"}), weights_dir)
    assert stored_scores(ctx.snapshot(), ctx.framework, ctx.profile("late")) is None
    ov = views.overview(ctx, "late", "zh")
    assert not ov.source.stored and ov.source.run_id is None
    assert views.source_text(ov.source, "zh").startswith("尚未存储的计算结果")
    assert views.source_text(ov.source, "en").startswith("Computed, not stored")
    assert ov.intervals is None or ov.intervals.stored_run is None
    live = ctx.prepared(ctx.profile("late")).reweight(ctx.profile("late").resolved_weights(ctx.framework))
    p = live.prepared.periods.index(ov.period)
    expect = dict(zip(live.prepared.units, live.composite(p), strict=True))
    assert all(abs(expect[u] - s) <= SAME_SCORE for u, s in ov.table.select("unit_code", "score").iter_rows())


def test_the_app_leaves_a_unit_without_a_score_unranked() -> None:
    """The app used to rank a unit without a score last (k + 1); the stored runs leave it unranked (NULL)."""
    assert views._ranks("rank", rank_desc(np.array([0.5, np.nan, 0.7]))).to_list() == [2, None, 1]


def test_the_weights_page_labels_its_live_ranking_a_what_if(fixture_db: Path, weights_dir: Path) -> None:
    from app.server import create_app
    from app.ui.i18n import t

    app = create_app(app_config(fixture_db, weights_dir, rank_samples=0))
    # the page as create_app registered it (importing app.pages.weights again would register it twice)
    layout = next(p["layout"] for p in dash.page_registry.values() if p["path"] == "/weights")

    with app.server.test_request_context("/weights"):
        for lang in ("zh", "en"):
            assert t("weights.whatif", lang) in str(layout(lang=lang))
    assert t("weights.whatif", "zh").startswith("假设情景")


def test_k_of_n_indicators_from_the_stored_run_equals_the_live_one(fixture_db: Path, tmp_path: Path,
                                                                   weights_dir: Path) -> None:
    """Missing values are visible: a district with two indicators removed reads "n-2 of n" from the stored run (its
    indicator rows) and from the live what-if alike, and the composite's `imputed` flag is stored for a worst-observed
    profile."""
    db = _copy(fixture_db, tmp_path)
    with warehouse.connection(db) as con:
        unit = con.sql("SELECT min(unit_code) FROM indicator_values").fetchall()[0][0]
        con.execute("UPDATE indicator_values SET value = NULL WHERE unit_code = ? AND indicator_id IN "
                    "('bad_rating_closure_rate', 'hotline_resolution_rate')", [unit])
    fw = load_catalog().framework()
    prof = load_profile("user-centred", weights_dir)
    worst = WeightProfile.from_dict({**prof.to_dict(), "name": "worst-case",
                                     "methods": {**prof.to_dict()["methods"], "imputation": {"name": "worst"}}})
    save_profile(worst, weights_dir)
    for p in (prof, worst):
        score_and_store(db, fw, p)
    ctx = _ctx(db, weights_dir)
    stored = views.stored_for(ctx, prof)
    assert stored is not None
    k, n = stored.coverage(fw.root, stored.period_index(None))
    i = stored.units.index(unit)
    live = views.scored_for(ctx, prof)[1]
    live_k, live_n = live.coverage(fw.root, live.period_index(stored.default_period))
    assert (int(k[i]), n) == (n - 2, n) and (int(live_k[i]), live_n) == (n - 2, n)
    assert n == sum(1 for w in fw.effective_weights(prof.resolved_weights(fw)) if w > 0)
    tbl = views.overview(ctx, "user-centred", "zh").table
    row = tbl.filter(pl.col("unit_code") == unit).row(0, named=True)
    assert (row["n_observed"], row["n_indicators"]) == (n - 2, n)
    # the worst-observed run stores its imputed flags up the tree; imputed cells do not count as observed
    rows = warehouse.query(db, "SELECT node, imputed FROM scores WHERE run_id = ? AND unit_code = ? AND period = ?",
                           [_run_id(db, "worst-case"), unit, stored.default_period])
    flagged = set(rows.filter(pl.col("imputed"))["node"].to_list())
    assert {"bad_rating_closure_rate", "hotline_resolution_rate", "demand_institution", "demand", fw.root} <= flagged
    wk, _ = views.stored_for(ctx, worst).coverage(fw.root, stored.period_index(None))
    assert int(wk[i]) == n - 2
