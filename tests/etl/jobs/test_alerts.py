"""Alerts after a refresh: each rule fires on the change that defines it (and not on a first evaluation, nor twice
for one refresh), the refresh's one call never fails the refresh, and e-mail goes through a local SMTP server."""

from __future__ import annotations

import base64
import email as email_lib
import shutil
import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from etl.config import Config, ConfigError, load_config
from etl.contract.catalog import load_catalog
from etl.ingest.quarantine import count_by_district
from etl.jobs import alerts as job
from etl.jobs.refresh import refresh
from etl.jobs.refresh_steps import RefreshContext
from etl.stores import alerts as alert_store, ledger, targets
from etl.stores.loop import Actor, LoopStore
from etl.stores.profiles import SHIPPED_DIR, load_profile
from etl.stores.scores import score_and_store
from etl.warehouse import connection as warehouse

CAT = load_catalog()
FW = CAT.framework()
PROFILE = load_profile("user-centred", SHIPPED_DIR)
LEADER = Actor("li", "leader")
OFFICIAL = Actor("zhang", "district_official", "310104")


@pytest.fixture()
def cfg(warehouses, tmp_path: Path) -> Config:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy2(warehouses.synthetic(quarters=4), db)
    config = load_config(env={}, overrides={"db": str(db)})
    _score(config, datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc))
    return config


def _score(config: Config, when: datetime) -> None:
    score_and_store(config.paths.db, FW, PROFILE, "quarter", now=when)


def _latest_period(config: Config) -> str:
    with warehouse.connection(config.paths.db, read_only=True) as con:
        return warehouse.scalar(con, "SELECT MAX(period) FROM indicator_values")


def _sink(config: Config, unit: str, factor: float = 0.0) -> None:
    """A refresh that makes `unit` collapse in the latest period: every indicator at its bad goalpost."""
    period = _latest_period(config)
    with warehouse.connection(config.paths.db) as con:
        for d in CAT:
            bad = d.goalposts.low if d.direction == 1 else d.goalposts.high
            warehouse.execute(con, "UPDATE indicator_values SET value = ? WHERE unit_code = ? AND period = ? "
                                   "AND indicator_id = ?", [bad + factor, unit, period, d.id])


def test_a_first_evaluation_sets_the_baseline_without_alarming_on_changes(cfg: Config) -> None:
    period = _latest_period(cfg)
    with warehouse.connection(cfg.paths.db) as con:  # a district missing all its data, one all quarantined (fixture)
        warehouse.execute(con, "UPDATE indicator_values SET value = NULL WHERE unit_code = '310101' AND period = ?",
                          [period])
    new = job.evaluate(cfg, refresh="r1")
    assert new == []  # no earlier state to compare with: nothing changed, nothing to alert (states are recorded)
    base = alert_store.load_baseline(LoopStore.for_config(cfg), job.BASELINE)
    assert base is not None and len(base["ranks"]) == 16 and base["period"] == period
    assert base["missing"]["310101"] == 1.0 and len(base["units"]) == 16
    assert job.evaluate(cfg, refresh="r2") == []  # the same states again: still no change


def test_a_refresh_that_makes_a_district_drop_raises_rank_and_band_alerts_once(cfg: Config) -> None:
    job.evaluate(cfg, refresh="r1")
    before = alert_store.load_baseline(LoopStore.for_config(cfg), job.BASELINE)["ranks"]
    unit = min(before, key=lambda u: before[u])  # the best district
    _sink(cfg, unit)
    _score(cfg, datetime(2025, 3, 2, 2, 0, tzinfo=timezone.utc))
    new = job.evaluate(cfg, refresh="r2")
    drops = [a for a in new if a.rule == "rank_drop"]
    assert [a.unit_code for a in drops] == [unit]
    assert drops[0].params["before"] == 1 and drops[0].params["after"] == 16
    assert "综合排名下降 15 位" in drops[0].text("zh") and "dropped 15 places" in drops[0].text("en")
    assert "季度" in drops[0].text("zh")
    reds = [a for a in new if a.rule == "below_band"]
    assert reds and {a.unit_code for a in reds} == {unit}
    assert job.evaluate(cfg, refresh="r2") == []  # idempotent per refresh
    # the district's official sees them; another district's official does not
    store = LoopStore.for_config(cfg)
    other = Actor("wang", "district_official", next(u for u in before if u != unit))
    assert {a.unit_code for a in alert_store.list_alerts(store, Actor("x", "district_official", unit))} == {unit}
    assert all(a.unit_code != unit for a in alert_store.list_alerts(store, other))


def test_a_target_crossing_raises_below_target(cfg: Config) -> None:
    store = LoopStore.for_config(cfg)
    period = _latest_period(cfg)
    ind = CAT.indicator("high_freq_full_online_rate")
    with warehouse.connection(cfg.paths.db, read_only=True) as con:
        value = warehouse.scalar(con, "SELECT value FROM indicator_values WHERE unit_code = '310104' AND period = ? "
                                      "AND indicator_id = ?", [period, ind.id])
    targets.set_target(store, LEADER, "310104", ind.id, period[:4], value, "met exactly", catalog=CAT)
    job.evaluate(cfg, refresh="r1")
    span = ind.goalposts.high - ind.goalposts.low
    with warehouse.connection(cfg.paths.db) as con:  # slips by half the amber band: amber
        warehouse.execute(con, "UPDATE indicator_values SET value = ? WHERE unit_code = '310104' AND period = ? "
                               "AND indicator_id = ?", [value - 0.5 * cfg.ledger.amber_band * span, period, ind.id])
    new = job.evaluate(cfg, refresh="r2")
    hits = [a for a in new if a.indicator_id == ind.id]
    assert [(a.rule, a.unit_code) for a in hits] == [("below_target", "310104")]
    assert "低于目标值" in hits[0].text("zh") and ind.name_zh in hits[0].text("zh")


def test_overdue_items_alert_once_on_a_simulated_date(cfg: Config) -> None:
    store = LoopStore.for_config(cfg)
    opened = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    item = ledger.open_item(store, OFFICIAL, "310104", "high_freq_full_online_rate", problem="网办率低",
                            action="梳理事项", owner="张三", due_date="2026-03-31", catalog=CAT, now=opened)
    assert [a for a in job.evaluate(cfg, refresh="r1", now=opened) if a.rule == "overdue"] == []
    later = datetime(2026, 4, 2, 2, 0, tzinfo=timezone.utc)
    over = [a for a in job.evaluate(cfg, refresh="r2", now=later) if a.rule == "overdue"]
    assert [(a.item_id, a.unit_code) for a in over] == [(item.item_id, "310104")]
    assert "已逾期" in over[0].text("zh") and "2026-03-31" in over[0].text("zh")
    assert [a for a in job.evaluate(cfg, refresh="r3", now=later) if a.rule == "overdue"] == []


def test_missing_and_quarantined_districts_are_alerted_when_they_cross_the_share(cfg: Config) -> None:
    period = _latest_period(cfg)
    cfg2 = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"quarantine_share": 0.5})})
    with warehouse.connection(cfg.paths.db) as con:  # the earlier state: 310115's rows not quarantined yet
        quarantined = warehouse.query(con, "SELECT * FROM quarantine")
        warehouse.execute(con, "DELETE FROM quarantine")
    assert job.evaluate(cfg2, refresh="r1") == []
    with warehouse.connection(cfg.paths.db) as con:
        warehouse.execute(con, "UPDATE indicator_values SET value = NULL WHERE unit_code = '310101' AND period = ?",
                          [period])
        warehouse.insert_frame(con, "quarantine", quarantined)
    new = job.evaluate(cfg2, refresh="r2")
    missing = [a for a in new if a.rule == "missing"]
    assert [a.unit_code for a in missing] == ["310101"] and missing[0].params["missing"] == len(CAT)
    # the fixture's two quarantined case rows are all the rows 310115 has: 100%
    quarantined = [a for a in new if a.rule == "quarantined"]
    assert [(a.unit_code, a.params["share"]) for a in quarantined] == [("310115", "100%")]
    assert "被隔离" in quarantined[0].text("zh")


def test_disabled_rules_raise_nothing(cfg: Config) -> None:
    off = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"enabled": False})})
    assert job.evaluate(off, refresh="r1") == []
    assert not cfg.paths.loop_path.exists()


def test_after_refresh_never_raises_and_skips_failed_runs(cfg: Config, caplog: pytest.LogCaptureFixture) -> None:
    class Record:
        status, id, snapshot_id = "failed", 7, "s7"

    job.after_refresh(cfg, Record())
    assert not cfg.paths.loop_path.exists()
    Record.status = "succeeded"
    broken = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"loop_db": cfg.paths.db})})  # not SQLite
    job.after_refresh(broken, Record())
    assert "could not be evaluated" in caplog.text


# -- e-mail through a local SMTP server -----------------------------------------------------------------------------
class _SMTPHandler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server = self.server
        self._reply("220 test ESMTP")
        rcpt: list[str] = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            cmd = raw.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply("250-test")
                self._reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                server.auth.append(base64.b64decode(cmd.split()[-1]).decode())  # type: ignore[attr-defined]
                self._reply("235 ok")
            elif verb == "MAIL":
                rcpt = []
                self._reply("250 ok")
            elif verb == "RCPT":
                rcpt.append(cmd.split(":", 1)[1].strip(" <>"))
                self._reply("250 ok")
            elif verb == "DATA":
                self._reply("354 go")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line)
                server.mails.append((rcpt, b"".join(lines)))  # type: ignore[attr-defined]
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


@pytest.fixture()
def smtp() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.mails, server.auth = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_alerts_are_emailed_to_the_office_and_the_district(cfg: Config, smtp) -> None:
    port = smtp.server_address[1]
    email = {"host": "127.0.0.1", "port": port, "from": "govindex@example.gov.cn", "starttls": False,
             "to": ["ducha@example.gov.cn"], "district_to": {"310104": ["xuhui@example.gov.cn"]}}
    config = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={
        "email": type(cfg.alerts.email).model_validate(email)})})
    store = LoopStore.for_config(config)
    alert_store.record(store, [
        alert_store.AlertDraft("missing", "m1", "310104", params={"missing": 3, "total": 28, "period_zh": "2025年第四季度",
                                                                  "period_en": "2025 Q4"}),
        alert_store.AlertDraft("missing", "m2", "310115", params={"missing": 5, "total": 28, "period_zh": "2025年第四季度",
                                                                  "period_en": "2025 Q4"})])
    sent = job.send_email(config, env={"GOVINDEX_SMTP_USER": "robot", "GOVINDEX_SMTP_PASSWORD": "s3cret"})
    assert sent == 2
    by_rcpt = {tuple(r): body for r, body in smtp.mails}
    assert set(by_rcpt) == {("ducha@example.gov.cn",), ("xuhui@example.gov.cn",)}
    office = email_lib.message_from_bytes(by_rcpt[("ducha@example.gov.cn",)])
    text = office.get_payload(decode=True).decode("utf-8")
    assert "徐汇区在 2025年第四季度 缺少 3/28 项指标的数据" in text and "Pudong" in text
    xuhui = email_lib.message_from_bytes(by_rcpt[("xuhui@example.gov.cn",)]).get_payload(decode=True).decode()
    assert "徐汇区" in xuhui and "浦东新区" not in xuhui
    assert smtp.auth == ["\x00robot\x00s3cret"]
    assert alert_store.unemailed(store) == [] and job.send_email(config, env={}) == 0
    assert len(smtp.mails) == 2


def test_quarantine_is_counted_per_district_in_rows_not_records(cfg: Config) -> None:
    with warehouse.connection(cfg.paths.db) as con:  # a second failing column of the same row is the same row
        warehouse.execute(con, "INSERT INTO quarantine SELECT file_id, batch_id, table_name, source_file, row_number, "
                               "'district_code', check_name, value, reason, original_row, NULL FROM quarantine "
                               "WHERE row_number = 7")
    assert count_by_district(cfg.paths.db) == {"310115": 2}


def test_a_real_refresh_that_makes_a_district_drop_raises_the_alert_through_its_one_call(cfg: Config,
                                                                                        tmp_path: Path) -> None:
    """refresh() → alerts.after_refresh: the first refresh sets the baseline, the next one (the best district's data
    collapse) stores a rank-drop alert tagged with the refresh's snapshot, seen by the district's official."""
    config = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={
        "inbox": tmp_path / "inbox", "archive": tmp_path / "archive"})})
    sink: dict[str, str] = {}

    def rescore(ctx: RefreshContext) -> str:
        if sink:
            period = warehouse.scalar(ctx.connection, "SELECT MAX(period) FROM indicator_values")
            for d in CAT:
                bad = d.goalposts.low if d.direction == 1 else d.goalposts.high
                warehouse.execute(ctx.connection, "UPDATE indicator_values SET value = ? WHERE unit_code = ? "
                                                  "AND period = ? AND indicator_id = ?", [bad, sink["unit"], period, d.id])
        score_and_store(ctx.connection, FW, PROFILE, "quarter")
        return "rescored"

    first = refresh(config, "manual", steps=[rescore])
    assert first.status == "succeeded"
    store = LoopStore.for_config(config)
    base = alert_store.load_baseline(store, job.BASELINE)
    assert base is not None
    sink["unit"] = min(base["ranks"], key=lambda u: base["ranks"][u])
    second = refresh(config, "manual", steps=[rescore])
    drops = [a for a in alert_store.list_alerts(store, Actor("x", "district_official", sink["unit"]))
             if a.rule == "rank_drop"]
    assert [(a.unit_code, a.refresh) for a in drops] == [(sink["unit"], second.snapshot_id)]


def test_an_unreachable_mail_server_neither_fails_the_refresh_nor_loses_the_alerts(cfg: Config) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: connections are refused
    email = type(cfg.alerts.email).model_validate({"host": "127.0.0.1", "port": port, "starttls": False,
                                                   "to": ["ducha@example.gov.cn"], "timeout_seconds": 2})
    config = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"email": email})})
    job.evaluate(config, refresh="s0")  # the earlier state
    _sink(config, "310101")  # so the next evaluation has something to say
    with warehouse.connection(config.paths.db) as con:
        warehouse.execute(con, "UPDATE indicator_values SET value = NULL WHERE unit_code = '310101'")

    class Record:
        status, id, snapshot_id = "succeeded", 1, "s1"

    job.after_refresh(config, Record())
    pending = alert_store.unemailed(LoopStore.for_config(config))
    assert pending and {a.rule for a in pending} >= {"missing"}  # kept for the next try


def test_district_addresses_need_known_district_codes() -> None:
    with pytest.raises(ConfigError, match="unknown district code"):
        load_config(env={}, overrides={"alerts.email": {"district_to": {"999999": ["x@example.gov.cn"]}}})
