"""The refresh job under failure: real processes that raise midway, get SIGKILLed, or read while a swap happens."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from etl.contract import tables
from etl.contract.catalog import load_catalog
from etl.warehouse import connection as warehouse, ddl
from etl.config import Config, load_config
from etl.jobs.inbox import plan_inbox
from etl.jobs.refresh import DEFAULT_STEPS, IndicatorValuesResult, RefreshBusy, RefreshContext, RefreshError, ScoresResult, StepSkipped, UncertaintyResult, refresh, refresh_in_background, stale_build_files
from etl.jobs.refresh_steps import step_indicator_values, step_scores
from etl.stores import profiles as profiles_store
from etl.stores.profiles import SHIPPED_DIR, load_profile, load_published, publish_profile, save_profile
from etl.stores.runs import RunStore, last_run, list_runs
from tests.conftest import Warehouses

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable
BIN = Path(sys.executable).parent / "govindex"
# The files source A lacks and source B adds: tables nothing else references, so A is consistent on its own.
EXTRA = ("hotline_ticket_2026-10.csv", "kiosk_event_2026-10.parquet")
COUNTED = (*tables.TABLES, "indicator_values", "quarantine", "ingest_files", "score_runs", "uncertainty_runs")

# Runs one refresh in its own process. argv: db, source ("" = inbox), mode (ok | raise | sleep).
DRIVER = r"""
import json, sys, time
from etl.config import load_config
from etl.jobs.refresh import DEFAULT_STEPS, refresh

db, source, mode = sys.argv[1], sys.argv[2] or None, sys.argv[3]
cfg = load_config(env={}, overrides={"db": db, "inbox": db + ".inbox", "archive": db + ".archive",
                                      "uncertainty_samples": 200})

def step_raise(ctx):
    raise RuntimeError("injected failure midway")

def step_sleep(ctx):
    print("SLEEPING", flush=True)
    time.sleep(120)

steps = list(DEFAULT_STEPS)
if mode == "raise":
    steps.insert(1, step_raise)  # after the ingest wrote into the new snapshot
elif mode == "sleep":
    steps.insert(1, step_sleep)
record = refresh(cfg, "cli", source, steps=steps)
print(json.dumps(record.to_dict(), default=str), flush=True)
sys.exit(0 if record.status == "succeeded" else 1)
"""

# Polls the live path like the app does (open read-only, read, close) and prints what it saw, one JSON per line.
# Stops once it has seen the snapshot id written into the stop file (or 30 s after that file appears).
READER = r"""
import json, os, sys, time
import duckdb
db, stop, tables = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
counts = ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
seen, stop_seen = set(), None
while True:
    if os.path.exists(stop):
        stop_seen = stop_seen or time.monotonic()
        target = open(stop).read().strip()
        if (target and target in seen) or time.monotonic() - stop_seen > 30:
            break
    try:
        con = duckdb.connect(db, read_only=True)
        try:
            row = con.sql(
                'SELECT (SELECT snapshot_id FROM snapshot_info ORDER BY started_at DESC LIMIT 1), '
                '(SELECT count(*) FROM snapshot_info WHERE finished_at IS NULL), ' + counts
            ).fetchall()[0]
        finally:
            con.close()
        seen.add(row[0])
        print(json.dumps({"snapshot": row[0], "unfinished": row[1], "counts": list(row[2:])}), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    time.sleep(0.02)
"""


def state(db: Path) -> dict[str, Any]:
    """What a reader sees: the snapshot id and the row count of every table (opened read-only, like the app)."""
    with warehouse.connection(db, read_only=True) as con:
        snap = warehouse.scalar(con, "SELECT snapshot_id FROM snapshot_info ORDER BY started_at DESC LIMIT 1")
        unfinished = warehouse.scalar(con, "SELECT count(*) FROM snapshot_info WHERE finished_at IS NULL")
        counts = [warehouse.row_count(con, t) for t in COUNTED]
    return {"snapshot": snap, "unfinished": unfinished, "counts": counts}


def config_for(db: Path, **overrides: Any) -> Config:
    return load_config(
        env={},
        overrides={
            "db": str(db),
            "inbox": str(db.parent / "inbox"),
            "archive": str(db.parent / "archive"),
            "uncertainty_samples": 200,
            "inbox_settle_seconds": 0,
            **overrides,
        },
    )


def driver(db: Path, source: Path | None, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-c", DRIVER, str(db), str(source or ""), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GOVINDEX_CONFIG": ""},
    )


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory, warehouses: Warehouses) -> dict[str, Any]:
    """Demo sources A (all but EXTRA) and B (all), and a warehouse built from A by a real `govindex refresh`."""
    base = tmp_path_factory.mktemp("golden")
    full = warehouses.demo_sources(months=3, scale=0.05)
    a, b = base / "A", base / "B"
    a.mkdir(), b.mkdir()
    for f in sorted(full.iterdir()):
        if f.suffix in (".csv", ".parquet", ".xlsx"):
            shutil.copy2(f, b / f.name)
            if f.name not in EXTRA:
                shutil.copy2(f, a / f.name)
    assert all((b / n).exists() for n in EXTRA), "the demo's file names changed; update EXTRA"
    db = base / "w" / "warehouse.duckdb"
    db.parent.mkdir()  # `--db` never creates its folder (a typo would grow a new tree)
    out = subprocess.run(
        [str(BIN), "refresh", "--source", str(a), "--db", str(db), "--json"],
        capture_output=True, text=True, timeout=180, cwd=base, env={**os.environ, "GOVINDEX_CONFIG": ""},
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    record = json.loads(out.stdout)
    assert record["status"] == "succeeded" and record["snapshot_path"] == str(db)
    return {"A": a, "B": b, "db": db, "state": state(db), "record": record}


def fresh_copy(golden: dict[str, Any], tmp_path: Path) -> Path:
    """A private copy of the golden warehouse (and its run history) to break."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(golden["db"], db)
    shutil.copy2(golden["db"].with_name("runs.sqlite"), tmp_path / "runs.sqlite")
    return db


@pytest.mark.slow
def test_cli_refresh_builds_a_complete_snapshot_and_records_the_run(golden: dict[str, Any]) -> None:
    rec, st = golden["record"], golden["state"]
    assert rec["trigger"] == "cli" and rec["files"] == len(list(golden["A"].iterdir()))
    assert rec["rows_loaded"] > 0 and rec["rows_quarantined"] > 0  # the demo injects defects
    steps = {s["name"]: s["status"] for s in rec["steps"]}
    assert steps == {"ingest": "ok", "indicator_values": "ok", "scores": "ok", "uncertainty": "ok"}
    assert st["snapshot"] == rec["snapshot_id"] and st["unfinished"] == 0
    counts = dict(zip(COUNTED, st["counts"]))
    assert counts["district"] == 16 and counts["indicator_values"] > 0
    # every saved profile (weights/*.toml), scored quarterly (monitoring) and yearly (the assessment cycle)
    # and one uncertainty summary per profile in three parts: data + method, method only, data only (issue 13.2)
    assert 3 * counts["score_runs"] == 2 * counts["uncertainty_runs"] and counts["score_runs"] >= 6
    assert counts["hotline_ticket"] > 0  # A holds two of the three hotline months
    assert stale_build_files(golden["db"]) == []
    runs = list_runs(golden["db"])
    assert runs.height == 1 and runs["status"][0] == "succeeded" and runs["rows_loaded"][0] == rec["rows_loaded"]


def test_every_table_of_a_refreshed_snapshot_is_in_the_ddl_registry(golden: dict[str, Any]) -> None:
    with warehouse.connection(golden["db"], read_only=True) as con:
        names = set(warehouse.table_names(con))
    assert {"snapshot_info", "scores", "uncertainty_ranks", "data_coverage"} <= names
    outside = {n for n in names - set(ddl.REGISTRY) if not n.startswith(tuple(ddl.DERIVED_PREFIXES))}
    assert outside == set(), "tables created outside etl.warehouse.ddl (neither declared nor of a derived prefix)"


def test_a_refresh_opens_one_connection_and_steps_hand_on_typed_results(
    golden: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = fresh_copy(golden, tmp_path)
    opened: list[str] = []
    real_connect = warehouse.duckdb.connect

    def counting_connect(path: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real_connect(path, *args, **kwargs)

    monkeypatch.setattr(warehouse.duckdb, "connect", counting_connect)
    seen: dict[str, Any] = {}

    def inspect(ctx: RefreshContext) -> None:
        seen["values"] = ctx.result(IndicatorValuesResult)
        seen["scores"] = ctx.result(ScoresResult)
        seen["uncertainty"] = ctx.result(UncertaintyResult)
        seen["stored"] = sorted(
            warehouse.query(ctx.connection, "SELECT DISTINCT profile_name FROM score_runs")["profile_name"].to_list()
        )

    rec = refresh(config_for(db), "cli", golden["B"], steps=[*DEFAULT_STEPS, inspect])
    assert rec.status == "succeeded", rec.error
    building = [p for p in opened if ".building-" in p]
    assert len(building) == 1, f"the snapshot being built was opened {len(building)} times: {building}"
    values, scores, unc = seen["values"], seen["scores"], seen["uncertainty"]
    assert isinstance(values, IndicatorValuesResult) and values.rows > 0 and not values.unchanged  # B adds files
    assert isinstance(scores, ScoresResult) and sorted(scores.profiles) == seen["stored"]
    assert isinstance(unc, UncertaintyResult) and {r.profile_name for r in unc.runs} == set(scores.profiles)
    notes = {s["name"]: s.get("note") for s in rec.steps}
    assert notes["scores"] == scores.note() and notes["indicator_values"] == values.note()


@pytest.mark.slow
def test_a_refresh_that_raises_midway_leaves_the_previous_snapshot_and_the_next_succeeds(
    golden: dict[str, Any], tmp_path: Path
) -> None:
    db = fresh_copy(golden, tmp_path)
    proc = driver(db, golden["B"], "raise")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, out + err
    failed = json.loads(out.strip().splitlines()[-1])
    assert failed["status"] == "failed" and "injected failure midway" in failed["error"]
    assert failed["error"].startswith("raise:")  # names the step
    assert failed["rows_loaded"] > 0  # the ingest had written into the new snapshot before the failure
    assert state(db) == golden["state"]  # ... which never went live
    assert stale_build_files(db) == []

    ok = refresh(config_for(db), "cli", golden["B"])
    assert ok.status == "succeeded", ok.error
    after = state(db)
    assert after["snapshot"] == ok.snapshot_id != golden["state"]["snapshot"]
    before_counts, after_counts = dict(zip(COUNTED, golden["state"]["counts"])), dict(zip(COUNTED, after["counts"]))
    assert after_counts["hotline_ticket"] > before_counts["hotline_ticket"]
    assert after_counts["kiosk_event"] > before_counts["kiosk_event"]
    assert after_counts["district"] == 16
    statuses = list_runs(db)["status"].to_list()
    assert statuses == ["succeeded", "failed", "succeeded"]


@pytest.mark.slow
def test_a_sigkilled_refresh_leaves_the_previous_snapshot_and_the_next_one_cleans_up(
    golden: dict[str, Any], tmp_path: Path
) -> None:
    db = fresh_copy(golden, tmp_path)
    proc = driver(db, golden["B"], "sleep")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "SLEEPING", line + (proc.stderr.read() if proc.poll() is not None else "")
        building = stale_build_files(db)
        assert building, "the refresh should be building its snapshot beside the live one"

        # While it runs, a second refresh refuses and names the holder.
        busy = subprocess.run(
            [str(BIN), "refresh", "--db", str(db), "--source", str(golden["B"])],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "GOVINDEX_CONFIG": ""},
        )  # fmt: skip
        assert busy.returncode != 0
        assert f"another refresh is running (pid {proc.pid}" in busy.stderr
        with pytest.raises(RefreshBusy, match=f"pid {proc.pid}"):
            refresh(config_for(db), "manual", golden["B"])

        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert state(db) == golden["state"]  # the live snapshot is untouched and opens read-only
    assert stale_build_files(db), "a SIGKILLed refresh cannot clean up after itself"
    killed = list_runs(db).row(0, named=True)  # reading the history notices the dead pid
    assert killed["status"] == "interrupted" and killed["pid"] == proc.pid and "died" in killed["error"]

    ok = refresh(config_for(db), "cli", golden["B"])  # the lock died with the process: no waiting, no manual fix
    assert ok.status == "succeeded", ok.error
    assert stale_build_files(db) == []
    assert state(db)["snapshot"] == ok.snapshot_id
    assert [r for r in list_runs(db)["status"]] == ["succeeded", "interrupted", "succeeded"]


@pytest.mark.slow
def test_readers_never_see_a_half_built_snapshot(golden: dict[str, Any], tmp_path: Path) -> None:
    db = fresh_copy(golden, tmp_path)
    stop, target = tmp_path / "stop", ""
    reader = subprocess.Popen(
        [PY, "-c", READER, str(db), str(stop), ",".join(COUNTED)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert reader.stdout is not None
        first = json.loads(reader.stdout.readline())
        assert "error" not in first, first

        def pause(ctx: RefreshContext) -> str:
            time.sleep(0.5)  # widen the window in which a half-built snapshot would be visible
            return "paused"

        steps = [DEFAULT_STEPS[0], pause, *DEFAULT_STEPS[1:], pause]
        rec = refresh(config_for(db), "cli", golden["B"], steps=steps)
        assert rec.status == "succeeded", rec.error
        target = rec.snapshot_id or ""
    finally:
        stop.write_text(target, encoding="utf-8")
        out, _ = reader.communicate(timeout=60)
    seen = [first] + [json.loads(line) for line in out.splitlines() if line.strip()]
    old, new = golden["state"], state(db)
    assert old != new
    errors = [s for s in seen if "error" in s]
    assert not errors, errors[:3]
    strangers = [s for s in seen if s not in (old, new)]
    assert not strangers, f"a reader saw a state that is neither snapshot: {strangers[:2]}"
    labels = ["old" if s == old else "new" for s in seen]
    assert labels[0] == "old" and labels[-1] == "new"
    assert labels == sorted(labels, key=lambda x: x == "new"), "a reader went back to the old snapshot"
    assert len(seen) >= 10


@pytest.mark.slow
def test_the_inbox_is_loaded_archived_skipped_and_rejected(golden: dict[str, Any], tmp_path: Path) -> None:
    db = fresh_copy(golden, tmp_path)
    cfg = config_for(db)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    for name in EXTRA:
        shutil.copy2(golden["B"] / name, inbox / name)
    shutil.copy2(golden["A"] / "district.csv", inbox / "district.csv")  # already loaded via --source: unchanged
    (inbox / "notes.txt").write_text("not data\n", encoding="utf-8")
    (inbox / "case_2026-11.csv.part").write_text("still uploading", encoding="utf-8")

    rec = refresh(cfg, "manual")
    assert rec.status == "succeeded", rec.error
    assert (rec.files, rec.files_skipped, rec.files_rejected) == (2, 1, 1)
    assert sorted(p.name for p in inbox.iterdir()) == ["case_2026-11.csv.part"]  # uploads in progress stay
    day_dirs = [d for d in archive.iterdir() if d.name != "rejected"]
    assert len(day_dirs) == 1
    archived = sorted(p.name.split("-", 1)[1] for p in day_dirs[0].iterdir())
    assert archived == sorted([*EXTRA, "district.csv"])
    assert all(len(p.name.split("-", 1)[0]) == 12 for p in day_dirs[0].iterdir())
    rejected = sorted(p.name for p in (archive / "rejected").iterdir())
    assert len(rejected) == 2 and rejected[0].endswith("-notes.txt")
    assert "matches no table" in (archive / "rejected" / rejected[1]).read_text(encoding="utf-8")
    counts = dict(zip(COUNTED, state(db)["counts"]))
    assert counts["hotline_ticket"] > dict(zip(COUNTED, golden["state"]["counts"]))["hotline_ticket"]
    outcomes = RunStore(cfg.paths.runs_path).inbox_files(rec.id)
    assert sorted(outcomes["outcome"].to_list()) == ["loaded", "loaded", "rejected", "skipped"]

    # The same content again, under a new name: skipped by checksum without being read, and archived.
    shutil.copy2(golden["B"] / EXTRA[0], inbox / "hotline_ticket_resent.csv")
    plan = plan_inbox(inbox, RunStore(cfg.paths.runs_path).loaded_checksums())
    assert [f.name for f, _ in plan.skip] == ["hotline_ticket_resent.csv"] and not plan.load
    runs_before = dict(zip(COUNTED, state(db)["counts"]))
    again = refresh(cfg, "manual")
    assert again.status == "succeeded" and (again.files, again.files_skipped) == (0, 1)
    notes = {s["name"]: (s["status"], s.get("note") or "") for s in again.steps}
    assert notes["ingest"][0] == "skipped" and notes["indicator_values"][1].endswith("unchanged")
    assert "unchanged" in notes["scores"][1] and "unchanged" in notes["uncertainty"][1]
    runs_after = dict(zip(COUNTED, state(db)["counts"]))  # same data, same profiles: nothing stored twice
    assert (runs_after["score_runs"], runs_after["uncertainty_runs"]) == (
        runs_before["score_runs"], runs_before["uncertainty_runs"])
    assert not (inbox / "hotline_ticket_resent.csv").exists()


@pytest.mark.slow
def test_a_failed_inbox_refresh_leaves_the_files_in_the_inbox(golden: dict[str, Any], tmp_path: Path) -> None:
    db = fresh_copy(golden, tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy2(golden["B"] / EXTRA[0], inbox / EXTRA[0])

    def boom(ctx: RefreshContext) -> None:
        raise ValueError("disk on fire")

    rec = refresh(config_for(db), "inbox", steps=[DEFAULT_STEPS[0], boom])
    assert rec.status == "failed" and rec.error == "boom: ValueError: disk on fire"
    assert (inbox / EXTRA[0]).exists() and not (tmp_path / "archive").exists()
    assert state(db) == golden["state"]
    assert last_run(db) is not None and last_run(db).status == "failed"  # type: ignore[union-attr]


def test_skipped_steps_are_recorded_and_unknown_sources_refused(tmp_path: Path) -> None:
    db = tmp_path / "empty" / "w.duckdb"

    def nothing(ctx: RefreshContext) -> None:
        raise StepSkipped("nothing to do here")

    rec = refresh(config_for(db), "manual", steps=[nothing])
    assert rec.status == "succeeded" and rec.steps[0]["status"] == "skipped"
    assert rec.steps[0]["note"] == "nothing to do here"
    with warehouse.connection(db, read_only=True) as con:  # a snapshot is created even from nothing
        assert warehouse.scalar(con, "SELECT snapshot_id FROM snapshot_info") == rec.snapshot_id
        assert warehouse.row_count(con, "district") == 0
    with pytest.raises(RefreshError, match="does not exist"):
        refresh(config_for(db), "cli", tmp_path / "nowhere")


def test_refresh_now_in_the_background_starts_one_refresh_per_click(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"

    def slow(ctx: RefreshContext) -> str:
        time.sleep(0.5)
        return "slow"

    first = refresh_in_background(config_for(db), steps=[slow])
    assert refresh_in_background(config_for(db), steps=[slow]) is first  # a double click
    rec = first.result(timeout=60)
    assert rec.status == "succeeded" and rec.trigger == "manual"
    assert list_runs(db).height == 1


@pytest.mark.slow
def test_a_refresh_also_stores_the_published_version_leaders_see(golden: dict[str, Any], tmp_path: Path) -> None:
    """Leaders and district officials see a profile's published version; the pages show stored runs, so the refresh
    scores the published version too when it differs from the current one (and only then)."""
    db = fresh_copy(golden, tmp_path)
    weights = tmp_path / "weights"
    shipped = load_profile("equal", SHIPPED_DIR)
    agreed = save_profile(shipped.with_weights({"supply": 0.6, "demand": 0.4}), weights, who="t", rationale="agreed")
    publish_profile("equal", agreed.version, "t", "the version leaders see", weights)
    save_profile(shipped.with_weights({"supply": 0.3, "demand": 0.7}), weights, who="t", rationale="still a draft")
    published = load_published("equal", weights)
    assert published is not None and published.content_hash() != load_profile("equal", weights).content_hash()

    rec = refresh(config_for(db, weights_dir=str(weights)), "cli", None)
    assert rec.status == "succeeded", rec.error
    stored = set(warehouse.query(db, "SELECT profile_hash FROM score_runs")["profile_hash"].to_list())
    assert {published.content_hash(), load_profile("equal", weights).content_hash()} <= stored
    note = next(s["note"] for s in rec.steps if s["name"] == "scores")
    assert f"equal@v{agreed.version}" in note


def test_the_scores_step_reads_the_values_once_per_grain_and_scores_as_a_run_of_its_own(
    golden: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: the scores step read the whole indicator_values grain again for every profile (3 profiles x 2 grains
    = 6 reads) and pivoted it again (a third of a run at 2,844 units). It reads and pivots each grain once and
    shares it; the numbers stored are those of a run that reads its own values (score_and_store alone)."""
    from etl.stores import scores as scores_store
    from indicators import model

    db = fresh_copy(golden, tmp_path)
    with warehouse.connection(db) as con:  # nothing stored yet: every profile is scored at every grain
        con.execute("DROP TABLE IF EXISTS scores")
        con.execute("DROP TABLE IF EXISTS score_runs")
    reads: list[str] = []
    real_read = scores_store.read_values

    def counted(con: Any, grain: str) -> Any:
        reads.append(grain)
        return real_read(con, grain)

    monkeypatch.setattr(scores_store, "read_values", counted)
    pivots: list[int] = []  # the long values pivoted into a panel, by the step or by score() itself
    for module in (scores_store, model):
        real = module.panel_from_long
        monkeypatch.setattr(module, "panel_from_long",
                            lambda *a, _real=real, **k: pivots.append(1) or _real(*a, **k))  # type: ignore[func-returns-value]
    cfg = config_for(db, weights_dir=str(tmp_path / "weights"))
    rec = refresh(cfg, "cli", None, steps=[step_scores])
    assert rec.status == "succeeded", rec.error
    runs = warehouse.query(db, "SELECT run_id, profile_name, grain, data_snapshot_id FROM score_runs ORDER BY 1")
    assert runs.height >= 2 * 2 and set(runs["grain"]) == {"quarter", "year"}  # several profiles, both grains
    assert sorted(reads) == ["quarter", "year"], reads
    assert len(pivots) == 2  # and pivoted once per grain

    monkeypatch.undo()
    fw = load_catalog().framework()
    for run in runs.iter_rows(named=True):
        alone = scores_store.score_and_store(db, fw, load_profile(run["profile_name"]), run["grain"])
        stored = [warehouse.query(db, "SELECT * EXCLUDE (run_id) FROM scores WHERE run_id = ? "
                                      "ORDER BY period, unit_code, node", [rid]) for rid in (run["run_id"], alone.run_id)]
        assert stored[0].height > 0
        assert_frame_equal(stored[0], stored[1])
        again = warehouse.query(db, "SELECT data_snapshot_id FROM score_runs WHERE run_id = ?", [alone.run_id])
        assert again.item() == run["data_snapshot_id"]


# --- issue 17: a refresh that skipped a step it needed, or produced nothing, is not a success ---------------------
def test_a_refresh_with_no_profile_to_score_fails(
    tmp_path: Path, warehouses: Warehouses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: no profile found (an installed package that lost its weights/) skipped scoring and 'succeeded'."""
    monkeypatch.setattr(profiles_store, "SHIPPED_DIR", tmp_path / "no-shipped-profiles")
    db = tmp_path / "w" / "warehouse.duckdb"
    db.parent.mkdir()
    shutil.copy2(warehouses.synthetic(), db)
    rec = refresh(config_for(db, weights_dir=str(tmp_path / "saved")), "cli", steps=[step_scores])
    assert rec.status == "failed" and "no weight profiles" in (rec.error or ""), rec
    assert rec.steps[0]["status"] == "failed"


def test_a_refresh_that_computes_no_indicator_values_fails(tmp_path: Path) -> None:
    """Before: an empty warehouse and an empty inbox 'succeeded' with 0 indicator values."""
    db = tmp_path / "empty" / "w.duckdb"
    db.parent.mkdir()
    rec = refresh(config_for(db), "cli", steps=[step_indicator_values])
    assert rec.status == "failed" and "no indicator values" in (rec.error or ""), rec
    assert not db.exists()  # nothing was swapped in
