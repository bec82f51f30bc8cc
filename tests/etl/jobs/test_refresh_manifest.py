"""A refresh with nothing new keeps the live snapshot (no rebuild) and says so in the run history; anything new —
a file, a changed file, a weight profile, a rollback — makes it rebuild."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from etl.config import Config
from etl.ingest import files as ingest_files_mod
from etl.ingest import readers
from etl.jobs import refresh_manifest, snapshots
from etl.jobs.refresh import refresh
from etl.stores.profiles import list_profiles, load_profile, save_profile
from etl.warehouse import connection as warehouse
from tests.conftest import Warehouses
from tests.etl.jobs.test_refresh import config_for as refresh_config


def config_for(db: Path) -> Config:
    """test_refresh's settings, with a weights folder of its own beside the warehouse."""
    return refresh_config(db, weights_dir=str(db.parent / "weights"), uncertainty_samples=100)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, warehouses: Warehouses) -> dict[str, Any]:
    """A warehouse refreshed once from a copy of a small demo, with its manifest."""
    base = tmp_path_factory.mktemp("manifest")
    src = base / "src"
    shutil.copytree(warehouses.demo_sources(months=3, scale=0.05), src)
    (base / "w").mkdir()
    db = base / "w" / "warehouse.duckdb"
    (db.parent / "weights").mkdir()
    first = refresh(config_for(db), "cli", src)
    assert first.status == "succeeded", first.error
    return {"src": src, "db": db, "first": first}


def copy_of(built: dict[str, Any], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the warehouse, its run history, weights and manifest, and of the source folder."""
    w = tmp_path / "w"
    shutil.copytree(built["db"].parent, w, ignore=shutil.ignore_patterns("*.lock"))
    src = tmp_path / "src"
    shutil.copytree(built["src"], src)
    db = w / built["db"].name
    # The cached checksums name the original paths: re-key them to the copies (the cache is keyed by path).
    m = refresh_manifest.Manifest.read(db)
    m.files = {str(src / Path(k).name): v for k, v in m.files.items()}
    m.write(db)
    return db, src


def live_id(db: Path) -> str:
    with warehouse.connection(db, read_only=True) as con:
        return str(warehouse.scalar(con, "SELECT snapshot_id FROM snapshot_info ORDER BY started_at DESC LIMIT 1"))


def test_a_refresh_with_nothing_new_keeps_the_live_snapshot_and_records_why(built: dict[str, Any]) -> None:
    db = built["db"]
    before = os.stat(db)
    rec = refresh(config_for(db), "cli", built["src"])
    assert rec.status == "succeeded", rec.error
    assert [s["name"] for s in rec.steps] == ["unchanged"] and rec.steps[0]["status"] == "skipped"
    assert "nothing new" in rec.steps[0]["note"] and built["first"].snapshot_id in rec.steps[0]["note"]
    assert rec.snapshot_id == built["first"].snapshot_id == live_id(db)
    assert rec.files_skipped == len([p for p in built["src"].iterdir() if p.suffix in readers.FORMATS])
    after = os.stat(db)  # the very same file, not rewritten: no copy, no rebuild, no swap
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert snapshots.list_snapshots(db) == [] or all(s.id != rec.snapshot_id for s in snapshots.list_snapshots(db))


def test_nothing_new_reads_no_file_whose_timestamps_are_unchanged(
    built: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, src = copy_of(built, tmp_path)
    read: list[str] = []
    real = readers.checksum
    monkeypatch.setattr(readers, "checksum", lambda p: (read.append(p.name), real(p))[1])
    rec = refresh(config_for(db), "cli", src)  # copies have new ctimes: read once, same content, nothing new
    assert [s["name"] for s in rec.steps] == ["unchanged"] and len(read) == rec.files_skipped
    read.clear()
    touched = sorted(p for p in src.iterdir() if p.suffix in readers.FORMATS)[0]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    rec = refresh(config_for(db), "cli", src)
    assert [s["name"] for s in rec.steps] == ["unchanged"]
    assert read == [touched.name]  # only the touched file is read again (same content: still nothing new)
    read.clear()
    rec = refresh(config_for(db), "cli", src)
    assert [s["name"] for s in rec.steps] == ["unchanged"] and read == []


@pytest.mark.parametrize("change", ["new_file", "changed_file", "profile", "rollback", "no_manifest", "direct_ingest"])
def test_anything_new_makes_the_refresh_rebuild(built: dict[str, Any], tmp_path: Path, change: str) -> None:
    db, src = copy_of(built, tmp_path)
    cfg = config_for(db)
    hotline = sorted(src.glob("hotline_ticket*.csv"))[-1]
    header = hotline.read_bytes().split(b"\n")[0] + b"\n"
    if change == "new_file":  # a header-only file: new to the warehouse although it adds no row
        (src / "hotline_ticket_2099-01.csv").write_bytes(header)
    elif change == "changed_file":
        hotline.write_bytes(b"\n".join(hotline.read_bytes().rstrip(b"\n").split(b"\n")[:-1]) + b"\n")  # a row fewer
    elif change == "profile":
        name = list_profiles(cfg.paths.weights_path)[0]
        profile = load_profile(name, cfg.paths.weights_path)
        save_profile(profile.model_copy(update={"title_en": profile.title_en + " (edited)"}), cfg.paths.weights_path)
    elif change == "rollback":  # the live snapshot is no longer the one the manifest describes
        extra = src / "hotline_ticket_2099-01.csv"
        extra.write_bytes(header)
        assert [s["name"] for s in refresh(cfg, "cli", src).steps][0] == "ingest"
        extra.unlink()
        snapshots.rollback(cfg)
    elif change == "direct_ingest":  # `govindex ingest` straight into the live file: its values are stale now
        extra = tmp_path / "hotline_ticket_2099-02.csv"
        extra.write_bytes(header)
        ingest_files_mod.ingest_files([extra], db)
    elif change == "no_manifest":
        refresh_manifest.manifest_path(db).unlink()
    rec = refresh(cfg, "cli", src)
    assert rec.status == "succeeded", rec.error
    names = [s["name"] for s in rec.steps]
    assert names == ["ingest", "indicator_values", "scores", "uncertainty"], (change, rec.steps)
    assert rec.snapshot_id != built["first"].snapshot_id and live_id(db) == rec.snapshot_id
    again = refresh(cfg, "cli", src)  # and after the rebuild, nothing is new again
    assert [s["name"] for s in again.steps] == ["unchanged"] and again.snapshot_id == rec.snapshot_id


def test_the_ingest_uses_checksums_it_is_given(built: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    shutil.copytree(built["src"], src)
    known = {str(p.resolve()): readers.checksum(p) for p in src.iterdir() if p.suffix in readers.FORMATS}
    monkeypatch.setattr(readers, "checksum", lambda p: pytest.fail(f"{p.name} read again for its checksum"))
    report = ingest_files_mod.ingest_folder(src, tmp_path / "w.duckdb", checksums=known)
    assert report.rows_loaded > 0
    with warehouse.connection(tmp_path / "w.duckdb", read_only=True) as con:
        logged = set(warehouse.query(con, "SELECT sha256 FROM ingest_files")["sha256"].to_list())
    assert logged == {sha for sha, _ in known.values()}
