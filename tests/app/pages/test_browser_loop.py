"""Closing the loop in a real browser, as each role (demo mode: the banner's role switcher):

1. the assessor sets a district's target on /targets, so one indicator is clearly short of it;
2. that district's official opens a rectification item from the gap row on the district page, then updates it on
   /ledger (status, comment, evidence);
3. on a server whose clock says a month later (GOVINDEX_TODAY), the leader sees the item overdue, first in the list;
4. a refresh on data that make a district drop raises an alert: the leader's bell counts it, /alerts lists it, and
   marking it read lowers the count.

Screenshots: tests/artifacts/loop-ledger.png (the ledger with the item), loop-ledger-overdue.png, loop-alerts.png.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from etl.contract.tables import table_for_file
from etl.jobs import alerts as alerts_job
from etl.stores import alerts as alert_store
from etl.stores import ledger as ledger_store
from etl.stores.loop import Actor, LoopStore
from tests.app.pages.browser_steps import settle as _settle, switch_role
from tests.app.conftest import ARTIFACTS, ROOT
from tests.conftest import GOVINDEX, run_govindex, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DISTRICT = "310115"  # 浦东新区
INDICATOR = "actual_online_case_rate"  # 实际办件网办率 (%), a count of every case (never left out as imprecise):
# a target of 99.5 is out of every district's reach
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture()
def loop_env(warehouses, tmp_path: Path) -> dict[str, Path]:
    """A private demo warehouse (its loop store beside it is this test's alone) and profiles."""
    db = warehouses.demo(tmp_path / "env")
    weights = tmp_path / "env" / "weights"
    shutil.copytree(ROOT / "weights", weights, ignore=shutil.ignore_patterns("history"))
    return {"db": db, "weights": weights, "base": tmp_path, "raw": warehouses.demo_sources()}


def _serve(env: dict[str, Path], name: str, today: date | None = None):
    args = ["--db", str(env["db"]), "--weights-dir", str(env["weights"]), "--no-scheduler"]
    extra = {"GOVINDEX_TODAY": today.isoformat()} if today else {}
    environ = {k: v for k, v in os.environ.items() if k != "GOVINDEX_TODAY"}
    return serving(args, env["base"] / f"{name}.log", cwd=ROOT,
                   env={**environ, "OPENBLAS_NUM_THREADS": "1", "GOVINDEX_CONFIG": "", **extra})



def _role(page, url: str, role: str) -> None:
    switch_role(page, url, role, DISTRICT)


def _pick(page, dropdown: str, text: str) -> None:
    """Choose the option of a dcc.Dropdown whose label contains `text`, as a person does: open it, click it."""
    page.click(f"#{dropdown}")
    page.locator("[role=option]:visible").filter(has_text=text).first.click()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_loop_as_each_role(page, loop_env) -> None:
    due = date.today() + timedelta(days=7)
    with _serve(loop_env, "server") as url:
        # 1. the assessor sets 浦东新区's target for 实际办件网办率 out of reach
        _role(page, url, "assessor")
        page.goto(url + "/targets")
        _settle(page)
        _pick(page, "targets-district", "浦东")
        _pick(page, "targets-indicator", INDICATOR)
        page.fill("#targets-value", "99.5")
        page.fill("#targets-reason", "市级年度考核要求：实际办件网办率达到 99.5%")
        page.click("#targets-save")
        page.wait_for_selector("#targets-msg .status-ok", timeout=15_000)
        page.wait_for_selector(f'#targets-table tr[data-unit="{DISTRICT}"][data-indicator="{INDICATOR}"]')
        page.goto(url + "/")  # the overview counts the district's targets met
        _settle(page)
        met = page.wait_for_selector(f'#overview-targets-met li[data-unit="{DISTRICT}"]', timeout=30_000)
        assert "项达标" in met.inner_text(), met.inner_text()

        # 2. the district's official opens an item from the gap row on the district page
        _role(page, url, "district_official")
        page.goto(url + f"/district/{DISTRICT}")
        _settle(page)
        row = f'#district-targets tr[data-indicator="{INDICATOR}"]'
        page.wait_for_selector(row, timeout=30_000)
        assert page.get_attribute(row, "data-rag") in ("red", "amber")
        page.click(f"{row} button.ledger-open")
        page.wait_for_selector("#ledger-new-dialog:not(.hidden)")
        page.fill("#ledger-new-problem", "非引导好评率低于区级目标值，窗口评价邀请过多")
        page.fill("#ledger-new-action", "停止窗口人员主动邀评，开展服务规范培训")
        page.fill("#ledger-new-owner", "区政务服务中心 王科长")
        page.fill("#ledger-new-due", due.isoformat())
        _shot(page, "loop-district-open-item")
        page.click("#ledger-new-submit")
        page.wait_for_selector("#ledger-new-done", timeout=15_000)
        page.click("#ledger-new-done")

        # … and updates it on the ledger page: status, a comment, an evidence file
        page.wait_for_selector(".ledger-item[data-item]", timeout=30_000)
        page.click(".ledger-item[data-item]")
        page.wait_for_selector("#ledger-value-change")
        assert "立项时" in page.inner_text("#ledger-value-change")
        _pick(page, "ledger-new-status", "整改中")
        page.click("#ledger-status-set")
        page.wait_for_selector("#ledger-msg .status-ok", timeout=15_000)
        page.fill("#ledger-comment", "已完成第一轮培训，覆盖 42 名窗口人员")
        page.click("#ledger-comment-add")
        page.wait_for_selector("#ledger-comments li", timeout=15_000)
        (loop_env["base"] / "培训签到表.png").write_bytes(PNG)
        page.set_input_files("#ledger-upload input[type=file]", str(loop_env["base"] / "培训签到表.png"))
        page.wait_for_selector("#ledger-evidence li", timeout=15_000)
        history = page.inner_text("#ledger-history")
        assert "整改中" in history and "培训签到表.png" in history, history
        _shot(page, "loop-ledger")

    store = LoopStore(loop_env["db"].with_name("loop.sqlite"))
    (item,) = ledger_store.list_items(store, Actor.system())
    assert (item.unit_code, item.status, item.opened_by) == (DISTRICT, "in_progress", "demo")

    # 3. a month later the leader sees it overdue, first in the list
    with _serve(loop_env, "server-later", today=due + timedelta(days=23)) as url:
        _role(page, url, "leader")
        page.goto(url + "/ledger")
        _settle(page)
        first = page.wait_for_selector(".ledger-item[data-item]", timeout=30_000)
        assert first.get_attribute("data-status") == "overdue"
        assert "逾期" in first.inner_text()
        _shot(page, "loop-ledger-overdue")

        # 4. a refresh on data that make a mid-table district collapse raises an alert the leader sees
        run_govindex("alerts", "--evaluate", "--db", str(loop_env["db"]))  # the baseline: ranks as they are
        ranks = alert_store.load_baseline(store, alerts_job.BASELINE)["ranks"]
        middle = sorted(ranks, key=lambda u: ranks[u])[len(ranks) // 2]  # room to fall, close neighbours
        raw = _sink(loop_env, middle)
        # the threshold is configuration (alerts.rank_drop): outlier treatment (winsorising) caps how far one
        # district's extreme values move its score, so how many places it falls depends on its neighbours
        refresh = subprocess.run([str(GOVINDEX), "refresh", "--source", str(raw), "--db", str(loop_env["db"])],
                                 capture_output=True, text=True, timeout=600, cwd=loop_env["base"],
                                 env={**os.environ, "GOVINDEX_CONFIG": "", "GOVINDEX_ALERT_RANK_DROP": "1"})
        assert refresh.returncode == 0, refresh.stdout[-2000:] + refresh.stderr[-2000:]
        drops = [a for a in alert_store.list_alerts(store, Actor.system()) if a.rule == "rank_drop"]
        assert [a.unit_code for a in drops] == [middle], [a.to_dict() for a in drops]
        page.goto(url + "/alerts")
        _settle(page)
        page.wait_for_function("() => Number(document.querySelector('#alerts-bell-count').innerText) >= 1",
                               timeout=30_000)
        row = page.wait_for_selector(f'#alerts-table tr.unread[data-alert="{drops[0].alert_id}"]', timeout=30_000)
        assert "下降" in row.inner_text(), row.inner_text()
        _shot(page, "loop-alerts")
        before = int(page.inner_text("#alerts-bell-count"))
        row.query_selector("button").click()
        page.wait_for_selector(f'#alerts-table tr.alert-row:not(.unread)[data-alert="{drops[0].alert_id}"]',
                               timeout=15_000)
        page.goto(url + "/alerts")  # the bell re-reads the count on the next page
        _settle(page)
        page.wait_for_function(f"() => Number(document.querySelector('#alerts-bell-count').innerText) === {before - 1}",
                               timeout=30_000)


def _sink(env: dict[str, Path], unit: str) -> Path:
    """A copy of the demo's raw files that makes `unit` collapse on the demand side: every rating of its cases is
    非常不满意 (1) and unprompted, and each of its 12345 tickets comes six more times (new ticket ids)."""
    raw = env["base"] / "raw-sunk"
    shutil.copytree(env["raw"], raw)
    cases = pl.concat([pl.read_parquet(f, columns=["case_id", "district_code"]) for f in sorted(raw.glob("case_*"))
                       if table_for_file(f.name) == "case"])  # not case_event_*: the contract maps names to tables
    own = cases.filter(pl.col("district_code") == unit)["case_id"].to_list()
    ratings = pl.read_csv(raw / "rating.csv", infer_schema=False)
    hit = pl.col("case_id").is_in(own)
    ratings.with_columns(pl.when(hit).then(pl.lit("1")).otherwise(pl.col("level")).alias("level"),
                         pl.when(hit).then(pl.lit("false")).otherwise(pl.col("prompted")).alias("prompted"),
                         pl.when(hit).then(pl.lit("none")).otherwise(pl.col("prompt_source")).alias("prompt_source"),
                         ).write_csv(raw / "rating.csv")
    for f in sorted(raw.glob("hotline_ticket_*.csv")):  # GB18030, CRLF (data/README.md)
        head, *body = list(csv.reader(io.StringIO(f.read_bytes().decode("gb18030"))))
        where, key = head.index("district_code"), head.index("ticket_id")
        extra = [[f"{r[key]}-X{k}" if j == key else v for j, v in enumerate(r)]
                 for r in body if len(r) == len(head) and r[where] == unit for k in range(6)]
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([head, *body, *extra])
        f.write_bytes(out.getvalue().encode("gb18030"))
    return raw
