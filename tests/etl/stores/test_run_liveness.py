"""A 'running' row is marked interrupted only when its process is gone, whatever the wall clock does meanwhile."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from etl.stores.runs import RunStore

ROOT = Path(__file__).resolve().parents[3]


def _status(store: RunStore, run_id: int) -> str:
    return store.get(run_id).status


@pytest.mark.parametrize("step_seconds", [1.0, -1.0, 3600.0])
def test_a_live_run_survives_a_step_of_the_boot_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step_seconds: float
) -> None:
    """/proc/stat's btime is wall clock minus uptime: NTP or a VM restored from a snapshot moves it. A live refresh
    was once marked 'interrupted' by a listing in another process (the scheduler test)."""
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.start("cron", tmp_path / "w.duckdb")
    btime, started = psutil.boot_time(), psutil.Process(os.getpid()).create_time()
    monkeypatch.setattr(psutil._psplatform, "boot_time", lambda: btime + step_seconds)
    assert psutil.Process(os.getpid()).create_time() - started == pytest.approx(step_seconds, abs=1e-6)
    assert store.reconcile() == 0
    assert _status(store, run.id) == "running"


def test_a_run_whose_process_exited_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    code = ("import sys; from etl.stores.runs import RunStore; "
            "print(RunStore(sys.argv[1]).start('cli', sys.argv[2]).id)")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "w.duckdb")], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True)
    run_id = int(out.stdout.strip())
    store = RunStore(path)
    assert store.reconcile() == 1
    record = store.get(run_id)
    assert record.status == "interrupted" and "died" in (record.error or "")


def test_a_reused_pid_is_not_taken_for_the_process_that_wrote_the_row(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    con = sqlite3.connect(path)
    me = psutil.Process(os.getpid())
    since_boot = me.create_time() - psutil.boot_time()
    con.execute(  # this process's pid, written by a process that started a minute earlier
        "INSERT INTO runs (trigger, status, started_at, pid, pid_started, pid_boot_start, host, db_path) VALUES "
        "('cron', 'running', '2026-12-01T02:00:00+00:00', ?, ?, ?, ?, '/srv/w.duckdb')",
        (os.getpid(), me.create_time() - 60, since_boot - 60, socket.gethostname()))
    con.commit()
    con.close()
    assert store.reconcile() == 1


def test_a_row_of_the_previous_release_is_still_judged_by_its_wall_clock_start(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    con = sqlite3.connect(path)
    me = psutil.Process(os.getpid())
    for pid_started in (me.create_time(), me.create_time() - 60):  # this process, then a reused pid
        con.execute(
            "INSERT INTO runs (trigger, status, started_at, pid, pid_started, host, db_path) VALUES "
            "('cron', 'running', '2026-12-01T02:00:00+00:00', ?, ?, ?, '/srv/w.duckdb')",
            (os.getpid(), pid_started, socket.gethostname()))
    con.commit()
    con.close()
    assert store.reconcile() == 1
    assert [_status(store, i) for i in (1, 2)] == ["running", "interrupted"]
