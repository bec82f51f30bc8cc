"""`govindex edition create/publish/list/show/diff`: the annual workflow, its refusals (one line, English then
Chinese, nothing changed), who may publish, and a published edition that a refresh with new data never rewrites."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from etl.stores import editions as store
from etl.stores.audit_trail import read_trail
from etl.stores.users import add_user
from etl.warehouse import connection as warehouse
from tests.conftest import run_govindex

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def env(warehouses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouses.synthetic(quarters=8), db)
    with warehouse.connection(db) as con:
        con.sql("CREATE TABLE data_coverage (first_day DATE NOT NULL, last_day DATE NOT NULL)")
        con.execute("INSERT INTO data_coverage VALUES (?, ?)", [dt.date(2024, 1, 1), dt.date(2025, 12, 31)])
    weights = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    for var in ("GOVINDEX_CONFIG", "GOVINDEX_EDITIONS_DB", "GOVINDEX_USERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GOVINDEX_CONFIG", "")
    monkeypatch.setenv("GOVINDEX_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("GOVINDEX_RANK_SAMPLES", "32")
    return {"db": db, "weights": weights, "store": tmp_path / "editions.sqlite", "users": tmp_path / "users.toml"}


def cli(env: dict[str, Path], *args: str, ok: bool = True) -> str:
    r = CliRunner().invoke(main, ["edition", *args, "--db", str(env["db"])])
    assert (r.exit_code == 0) == ok, r.output
    return r.output


def test_the_annual_workflow(env) -> None:
    out = cli(env, "create", "--cycle", "2025", "--profile", "user-centred", "--by", "ana")
    assert "created draft edition 2025-user-centred-1" in out and "quarter-mean" in out
    assert "draft" in cli(env, "list")
    cli(env, "publish", "2025-user-centred-1", "--by", "chief", "--reason", "2025 年度考核结果")
    shown = cli(env, "show", "2025-user-centred-1")
    assert "[published]" in shown and "published by chief" in shown and "2025 年度考核结果" in shown
    assert [r["event"] for r in read_trail(env["weights"])] == ["edition_publish"]
    cli(env, "create", "--cycle", "2025", "--profile", "equal")
    diff = cli(env, "diff", "2025-user-centred-1", "2025-equal-1")
    assert "data:   same snapshot and cycle" in diff and "method: moved" in diff
    cli(env, "create", "--cycle", "2025", "--profile", "user-centred", "--supersedes", "2025-user-centred-1",
        "--reason", "更正")
    cli(env, "publish", "2025-user-centred-2", "--by", "chief", "--reason", "correction")
    listing = cli(env, "list")
    assert "superseded" in listing and "2025-user-centred-1: 更正" in listing


@pytest.mark.parametrize(("args", "english", "chinese"), [
    (("create", "--cycle", "2031"), "no data for cycle 2031", "未知的评估周期 2031"),
    (("create", "--cycle", "2025", "--profile", "nope"), "no profile 'nope'", "未知的权重方案"),
    (("publish", "2025-x-9", "--by", "a", "--reason", "r"), "no edition '2025-x-9'", "没有评估版本 2025-x-9"),
    (("show", "2025-x-9"), "no edition", "没有评估版本"),
])
def test_bad_input_is_one_line_and_changes_nothing(env, args: tuple[str, ...], english: str, chinese: str) -> None:
    out = cli(env, *args, ok=False)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and english in lines[0] and chinese in lines[0]
    assert not env["store"].exists() or store.list_editions(env["store"]) == []


def test_missing_months_are_named_unless_allow_partial(env) -> None:
    with warehouse.connection(env["db"]) as con:
        con.sql("UPDATE data_coverage SET last_day = DATE '2025-09-30'")
    out = cli(env, "create", "--cycle", "2025", ok=False)
    assert "2025-10, 2025-11, 2025-12" in out and "缺少月份" in out
    assert not env["store"].exists() or store.list_editions(env["store"]) == []
    out = cli(env, "create", "--cycle", "2025", "--allow-partial")
    assert "PARTIAL" in out and "不完整期" in out


def test_publishing_twice_is_one_line(env) -> None:
    cli(env, "create", "--cycle", "2025")
    cli(env, "publish", "2025-user-centred-1", "--by", "a", "--reason", "r")
    before = hashlib.sha256(env["store"].read_bytes()).hexdigest()
    out = cli(env, "publish", "2025-user-centred-1", "--by", "b", "--reason", "again", ok=False)
    assert len(out.strip().splitlines()) == 1 and "already published" in out and "不能再次发布" in out
    assert hashlib.sha256(env["store"].read_bytes()).hexdigest() == before


def test_only_roles_allowed_to_publish_may(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVINDEX_USERS", str(env["users"]))
    add_user(env["users"], "zhao", "district_official", "pw-123456789", district_code="310101")
    add_user(env["users"], "qian", "assessor", "pw-123456789")
    cli(env, "create", "--cycle", "2025")
    out = cli(env, "publish", "2025-user-centred-1", "--by", "zhao", "--reason", "r", ok=False)
    assert "may not publish editions" in out and "无权发布评估版本" in out
    out = cli(env, "publish", "2025-user-centred-1", "--by", "nobody", "--reason", "r", ok=False)
    assert "not a user" in out
    assert store.get_edition(env["store"], "2025-user-centred-1").status == "draft"
    cli(env, "publish", "2025-user-centred-1", "--by", "qian", "--reason", "r")
    assert store.get_edition(env["store"], "2025-user-centred-1").published_role == "assessor"


@pytest.mark.slow
def test_a_published_edition_survives_a_refresh_with_new_data_byte_for_byte(tmp_path: Path) -> None:
    """Demo data to December 2025 → refresh → edition 2025 → publish; January 2026 arrives → refresh: the stored
    results are the same bytes, a draft of the old data can no longer be published, and the diff of a new 2025
    edition says what (if anything) the new data moved, with the method unchanged."""
    full, early = tmp_path / "full", tmp_path / "early"
    run_govindex("demo", "--out", str(full), "--months", "14", "--end-month", "2026-01", "--scale", "0.05",
                 "--quiet")
    early.mkdir()
    for f in full.iterdir():
        if "2026-01" not in f.name:
            shutil.copy2(f, early / f.name)
    db, weights = tmp_path / "w" / "warehouse.duckdb", tmp_path / "weights"
    db.parent.mkdir()
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    env = {"GOVINDEX_WEIGHTS_DIR": str(weights), "GOVINDEX_RANK_SAMPLES": "64"}

    def gov(*args: str) -> str:
        r = subprocess.run([str(Path(sys.executable).parent / "govindex"), *args, "--db", str(db)],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path,
                           env={**os.environ, "GOVINDEX_CONFIG": "", **env})
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        return r.stdout

    gov("refresh", "--source", str(early))
    def edition(*args: str, ok: bool = True) -> str:  # in-process: the refresh above is the real subprocess
        r = CliRunner().invoke(main, ["edition", *args, "--db", str(db)], env={"GOVINDEX_CONFIG": "", **env})
        assert (r.exit_code == 0) == ok, r.output
        return r.output

    edition("create", "--cycle", "2025", "--profile", "user-centred")
    edition("create", "--cycle", "2025", "--profile", "equal")  # a draft left unpublished
    edition("publish", "2025-user-centred-1", "--by", "chief", "--reason", "2025 年度考核")
    editions = db.with_name("editions.sqlite")
    before = store.results_bytes(editions, "2025-user-centred-1")
    gov("refresh", "--source", str(full))
    after = store.results_bytes(editions, "2025-user-centred-1")
    assert after == before
    assert hashlib.sha256(after).hexdigest() == store.get_edition(editions, "2025-user-centred-1").results_sha256
    out = edition("publish", "2025-equal-1", "--by", "chief", "--reason", "r", ok=False)
    assert "no longer exists" in out and "已不存在" in out
    assert store.get_edition(editions, "2025-equal-1").status == "draft"
    edition("create", "--cycle", "2025", "--profile", "user-centred")
    diff = edition("diff", "2025-user-centred-1", "2025-user-centred-2")
    assert "method: same" in diff and "data:   moved" in diff
