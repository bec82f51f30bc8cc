"""Configuration, cron parsing, locks and the scheduler (real `govindex schedule` subprocesses)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from etl.config import ENV_VARS, ConfigError, load_config
from etl.jobs.locks import FileLock, LockHeld
from etl.stores.runs import list_runs
from etl.cron import CronError, parse_cron
from etl.jobs.scheduler import SchedulerLocked, start, start_in_process
from tests.conftest import Warehouses

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent / "govindex"
SH = ZoneInfo("Asia/Shanghai")


# --- configuration ----------------------------------------------------------------------------------------------------
def test_defaults_without_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(env={})
    assert cfg.paths.db == Path("data/warehouse.duckdb")
    assert cfg.paths.runs_path == Path("data/runs.sqlite")
    assert (cfg.schedule.cron, cfg.schedule.tz) == ("0 2 * * *", "Asia/Shanghai")
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 8050)
    assert cfg.source == "defaults"


def test_file_then_environment_then_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "g.toml").write_text(
        '[paths]\ndb = "w/x.duckdb"\n[schedule]\ncron = "*/5 * * * *"\ntz = "UTC"\n[server]\nport = 9000\n',
        encoding="utf-8",
    )
    env = {"GOVINDEX_CONFIG": "conf/g.toml", "GOVINDEX_PORT": "9100", "GOVINDEX_INBOX_MINUTES": "0.5"}
    cfg = load_config(env=env, overrides={"cron": "0 3 * * *", "db": None})
    assert cfg.paths.db == Path("conf/w/x.duckdb")  # relative to the file's folder
    assert cfg.schedule.cron == "0 3 * * *"  # option beats file
    assert cfg.schedule.tz == "UTC"  # file beats default
    assert cfg.server.port == 9100  # environment beats file
    assert cfg.schedule.inbox_minutes == 0.5


def test_govindex_toml_in_the_working_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "govindex.toml").write_text('[server]\nhost = "0.0.0.0"\n', encoding="utf-8")
    assert load_config(env={}).server.host == "0.0.0.0"


def test_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[paths]\ninbx = "x"\n[schedule]\ntz = "Asia/Shangai"\ncron = "0 25 * * *"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(bad, env={})
    msg = str(e.value)
    assert f"{bad}: paths.inbx: unknown key (allowed: db, runs_db, editions_db, loop_db, evidence_dir, inbox, archive, weights_dir)" in msg
    assert f"{bad}: schedule.tz: unknown time zone 'Asia/Shangai'" in msg
    assert "schedule.cron" in msg and "'25'" in msg
    with pytest.raises(ConfigError, match=r"environment GOVINDEX_PORT: .*'abc'"):
        load_config(env={"GOVINDEX_PORT": "abc"})
    with pytest.raises(ConfigError, match=r"unknown section \[server2\]"):
        (tmp_path / "s.toml").write_text("[server2]\nport = 1\n", encoding="utf-8")
        load_config(tmp_path / "s.toml", env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(env={"GOVINDEX_CONFIG": str(tmp_path / "missing.toml")})


def test_example_file_holds_the_defaults_and_docs_list_every_variable() -> None:
    example = load_config(ROOT / "govindex.example.toml", env={})
    base = load_config(env={}, overrides={"db": str(ROOT / "data/warehouse.duckdb")})
    assert example.paths.db.resolve() == (ROOT / "data/warehouse.duckdb").resolve()
    assert example.schedule == base.schedule
    assert example.server == base.server
    assert example.refresh == base.refresh
    assert (example.app, example.auth, example.users) == (base.app, base.auth, base.users)
    assert (example.logging, example.warehouse) == (base.logging, base.warehouse)
    assert (example.ledger, example.alerts) == (base.ledger, base.alerts)
    assert (example.engine, example.spark) == (base.engine, base.spark)
    assert example.paths.weights_dir.resolve() == (ROOT / base.paths.weights_dir).resolve()
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example_text = (ROOT / "govindex.example.toml").read_text(encoding="utf-8")
    for var, (section, key) in ENV_VARS.items():
        assert f"`{var}`" in docs, f"docs/configuration.md does not mention {var}"
        assert f"`{section}.{key}`" in docs
        assert var in example_text


# --- cron -------------------------------------------------------------------------------------------------------------
def _next(expr: str, after: datetime) -> datetime:
    fire = parse_cron(expr, "Asia/Shanghai").get_next_fire_time(None, after)
    assert fire is not None
    return fire


def test_default_cron_is_two_in_the_morning_shanghai_time() -> None:
    after = datetime(2026, 1, 1, 3, 0, tzinfo=SH)
    assert _next("0 2 * * *", after) == datetime(2026, 1, 2, 2, 0, tzinfo=SH)


def test_weekdays_follow_crontab_numbering_not_apschedulers() -> None:
    thursday = datetime(2026, 1, 1, 12, 0, tzinfo=SH)
    assert _next("0 9 * * 0", thursday).strftime("%a %d") == "Sun 04"
    assert _next("0 9 * * 7", thursday).strftime("%a %d") == "Sun 04"
    assert _next("0 9 * * 1", thursday).strftime("%a %d") == "Mon 05"
    assert _next("0 9 * * 1-5", thursday).strftime("%a %d") == "Fri 02"
    assert _next("0 9 * * 5-7", datetime(2026, 1, 3, 12, 0, tzinfo=SH)).strftime("%a") == "Sun"
    assert _next("0 9 * * */2", thursday).strftime("%a") == "Sat"  # 0,2,4,6 = sun,tue,thu,sat


def test_six_fields_put_seconds_first_and_aliases_work() -> None:
    after = datetime(2026, 1, 1, 3, 0, 1, tzinfo=SH)
    assert _next("*/10 * * * * *", after) == datetime(2026, 1, 1, 3, 0, 10, tzinfo=SH)
    assert _next("@hourly", after) == datetime(2026, 1, 1, 4, 0, tzinfo=SH)


@pytest.mark.parametrize(
    "expr,fragment",
    [("* * *", "expected 5 fields"), ("61 * * * *", "61"), ("0 0 * * 8", "day-of-week value '8'"),
     ("0 0 * * 5-1", "runs backwards")],
)  # fmt: skip
def test_bad_cron_names_the_field(expr: str, fragment: str) -> None:
    with pytest.raises(CronError, match=re.escape(fragment)):
        parse_cron(expr, "UTC")


# --- locks ------------------------------------------------------------------------------------------------------------
def test_a_second_holder_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    first = FileLock(tmp_path / "x.lock", "scheduler").acquire()
    try:
        with pytest.raises(LockHeld, match=rf"another scheduler is running \(pid {os.getpid()}\b"):
            FileLock(tmp_path / "x.lock", "scheduler").acquire()
        t0 = time.monotonic()
        with pytest.raises(LockHeld):
            FileLock(tmp_path / "x.lock", "scheduler").acquire(wait_seconds=0.3)
        assert time.monotonic() - t0 >= 0.3
    finally:
        first.release()
    FileLock(tmp_path / "x.lock", "scheduler").acquire().release()


def test_in_process_scheduler_is_guarded_against_the_reloader_and_a_second_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(env={}, overrides={"db": str(tmp_path / "w.duckdb"), "cron": "0 0 1 1 *"})
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert start_in_process(cfg, reloader=True) is None  # the reloader's watcher process never schedules
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    first = start_in_process(cfg, reloader=True)
    assert first is not None
    try:
        assert start_in_process(cfg) is None  # a second worker: the lock says no
        with pytest.raises(SchedulerLocked, match=f"pid {os.getpid()}"):
            start(cfg)
        off = load_config(env={"GOVINDEX_SCHEDULER": "false"}, overrides={"db": str(tmp_path / "v.duckdb")})
        assert start_in_process(off) is None
    finally:
        first.shutdown(wait=False)
    again = start(cfg)
    again.shutdown(wait=False)


# --- real `govindex schedule` processes -------------------------------------------------------------------------------
def _schedule(tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GOVINDEX_CONFIG": "", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [str(BIN), "schedule", "--db", str(tmp / "w.duckdb"), *args],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> str:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not printed; output:\n{''.join(seen)}")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(10)


@pytest.mark.slow
def test_two_schedulers_cannot_run_and_a_killed_ones_lock_is_recovered(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    first = _schedule(tmp_path, "--cron", "0 0 1 1 *")
    procs.append(first)
    _wait_for_line(first, "scheduler running")
    second = subprocess.run(
        [str(BIN), "schedule", "--db", str(tmp_path / "w.duckdb"), "--cron", "0 0 1 1 *"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env={**os.environ, "GOVINDEX_CONFIG": ""},
    )  # fmt: skip
    assert second.returncode != 0
    assert f"another scheduler is running (pid {first.pid}" in second.stderr

    first.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel must free the flock
    first.wait(10)
    third = _schedule(tmp_path, "--cron", "0 0 1 1 *")
    procs.append(third)
    _wait_for_line(third, "scheduler running")
    third.send_signal(signal.SIGINT)
    _wait_for_line(third, "scheduler stopped")
    assert third.wait(20) == 0


@pytest.fixture(scope="module")
def demo_files(warehouses: Warehouses) -> Path:
    """A tiny demo (3 months, 5% volume) to drop into inboxes (read only: the inboxes get copies)."""
    return warehouses.demo_sources(months=3, scale=0.05)


def _drop(demo: Path, inbox: Path) -> list[str]:
    """Copy every demo table file into the inbox: upload under a temporary name, then rename (the watch skips .part)."""
    names = []
    for f in sorted(demo.iterdir()):
        if f.suffix in (".csv", ".parquet", ".xlsx"):
            part = inbox / f"{f.name}.part"
            shutil.copy2(f, part)
            part.rename(inbox / f.name)
            names.append(f.name)
    return names


def _env(tmp: Path) -> dict[str, str]:
    return {
        "GOVINDEX_INBOX": str(tmp / "inbox"),
        "GOVINDEX_ARCHIVE": str(tmp / "archive"),
        "GOVINDEX_INBOX_SETTLE_SECONDS": "0",
        "GOVINDEX_UNCERTAINTY_SAMPLES": "200",
    }


def _wait_for_run(db: Path, trigger: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list_runs(db)
        done = runs.filter((runs["trigger"] == trigger) & (runs["status"] != "running"))
        if done.height:
            return done.row(-1, named=True)  # the first finished one
        time.sleep(0.3)
    raise AssertionError(f"no {trigger} run finished within {timeout} s: {list_runs(db)}")


@pytest.mark.slow
def test_the_cron_fires_and_loads_the_inbox(
    tmp_path: Path, demo_files: Path, procs: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inbox").mkdir()
    names = _drop(demo_files, tmp_path / "inbox")
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    sched = _schedule(tmp_path, "--cron", "*/2 * * * * *")  # a 6-field cron: every two seconds
    procs.append(sched)
    _wait_for_line(sched, "scheduler running")
    run = _wait_for_run(tmp_path / "w.duckdb", "cron")
    assert run["status"] == "succeeded", run["error"]
    assert run["files"] == len(names) and run["rows_loaded"] > 0
    assert list((tmp_path / "inbox").iterdir()) == []
    archived = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "archive").rglob("*") if p.is_file())
    assert archived == names
    from etl.warehouse import connection as warehouse

    assert warehouse.query(tmp_path / "w.duckdb", 'SELECT count(*) AS n FROM "district"')["n"][0] == 16

    sched.send_signal(signal.SIGINT)  # Ctrl-C: stop firing, let a running refresh finish, exit 0
    _wait_for_line(sched, "scheduler stopped", timeout=90)
    assert sched.wait(30) == 0
    assert set(list_runs(tmp_path / "w.duckdb")["status"]) == {"succeeded"}  # nothing left half-done


@pytest.mark.slow
def test_the_inbox_watch_refreshes_only_when_files_arrive(
    tmp_path: Path, demo_files: Path, procs: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inbox").mkdir()
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    sched = _schedule(tmp_path, "--cron", "0 0 1 1 *", "--inbox", str(tmp_path / "inbox"), "--every", "0.02")
    procs.append(sched)
    _wait_for_line(sched, "watch")
    time.sleep(2.5)  # two polls of an empty inbox
    assert list_runs(tmp_path / "w.duckdb").height == 0
    names = _drop(demo_files, tmp_path / "inbox")
    run = _wait_for_run(tmp_path / "w.duckdb", "inbox")
    assert run["status"] == "succeeded", run["error"]
    assert run["files"] == len(names)
    sched.send_signal(signal.SIGTERM)
    _wait_for_line(sched, "scheduler stopped", timeout=90)
    assert sched.wait(30) == 0
