"""Alerts after each refresh: evaluate the rules (indicators/alerts.py) between what the last evaluation saw and
what the new live snapshot shows, store the alerts for the people they concern (etl/stores/alerts.py), and e-mail
them when an SMTP server is configured.

What is compared: the stored score run of the default profile (`app.default_profile`; quarterly grain) — its
ranking in the latest complete period, and each district × indicator's red/amber/green status against the targets
that hold for that period — with the baseline the previous evaluation saved in the loop store. The loop store
outlives snapshots, so the comparison does not depend on old snapshot files being kept. Every per-unit rule alerts
on a change against that stored state: ranks, statuses, the share of missing indicator values (among the indicators
some unit has) and of quarantined rows. A first evaluation, or a unit the baseline does not know, only records the
baseline (with no earlier state there is no change to alert on: the national demo's first refresh alerted every one
of its 2,844 counties for missing data); overdue items are alerted at once.

Idempotent per refresh: every alert carries a dedupe key (rank and status changes: the refresh's snapshot id;
overdue: item and due date; missing data: district and period; quarantine: district and refresh), so evaluating
the same refresh twice stores nothing new, and an item stays one overdue alert however many refreshes follow.

API:
- `evaluate(config, *, refresh=None, now=None, catalog=None) -> list[Alert]`: the new alerts.
- `after_refresh(config, record) -> None`: the refresh's one call (never raises: a failed evaluation is logged and
  the refresh stays succeeded).
- `send_email(config, alerts=None, *, env=None, now=None) -> int`: e-mails the alerts not e-mailed yet (or the
  given ones); returns messages sent. SMTP user and password only from GOVINDEX_SMTP_USER / GOVINDEX_SMTP_PASSWORD.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import polars as pl

from etl.config import SMTP_PASSWORD_ENV, SMTP_USER_ENV, Config
from etl.contract import tables
from etl.contract.catalog import load_catalog
from etl.ingest.quarantine import count_by_district
from etl.jobs.refresh_steps import SCORE_GRAIN
from etl.stores import alerts as alert_store, ledger, targets
from etl.stores.alerts import Alert, AlertDraft
from etl.stores.loop import LoopStore
from etl.stores.scores import ScoreStoreError, read_ranking
from etl.warehouse import connection as warehouse
from etl.warehouse.units import scored_units
from indicators.alerts import missing_counts, period_words, rank_drops, share_crossings, status_crossings
from indicators.catalog import Catalog

log = logging.getLogger(__name__)
BASELINE = "default"


@dataclass(frozen=True)
class Observation:
    """What the live snapshot shows: the period, ranks, indicator values and quarantine share per district."""

    run_id: str
    period: str
    ranks: dict[str, int]
    values: pl.DataFrame  # unit_code, indicator_id, value (the period's)
    quarantine: dict[str, tuple[float, int, int]]  # unit_code -> (share, rows quarantined, rows in all)
    units: tuple[str, ...] = ()  # the scored units of the unit table (etl.warehouse.units.scored_units)


def _quarantine_shares(con: warehouse.Connection, units: frozenset[str]) -> dict[str, tuple[float, int, int]]:
    quarantined = count_by_district(con)
    if not quarantined:
        return {}
    present = set(warehouse.table_names(con))
    loaded: dict[str, int] = {}
    for name, table in tables.TABLES.items():
        if name in present and name != "district" and any(c.name == "district_code" for c in table.columns):
            for code, n in warehouse.query(con, f'SELECT "district_code", COUNT(*) FROM {warehouse.quote(name)} '
                                                'GROUP BY 1').iter_rows():
                loaded[code] = loaded.get(code, 0) + int(n)
    return {u: (n / (n + loaded.get(u, 0)), int(n), int(n + loaded.get(u, 0))) for u, n in quarantined.items()
            if u in units}


def observe(config: Config, profile: str | None = None) -> Observation | None:
    """The live snapshot's state for the alert rules, or None when it has no stored scores yet."""
    db = Path(config.paths.db)
    if not db.is_file():
        return None
    name = profile or config.app.default_profile
    fw = load_catalog().framework()
    with warehouse.connection(db, read_only=True) as con:
        present = set(warehouse.table_names(con))
        if "score_runs" not in present:
            return None
        runs = warehouse.query(con, "SELECT run_id, grain FROM score_runs WHERE profile_name = ? "
                                    "ORDER BY grain = ? DESC, created_at DESC LIMIT 1", [name, SCORE_GRAIN])
        if runs.height == 0:
            return None
        run_id, grain = runs.row(0)
        scored = tuple(scored_units(con)["unit_code"].to_list())  # the units of the unit table that are scored
        shares = _quarantine_shares(con, frozenset(scored))
    try:
        period, ranking = read_ranking(db, run_id, fw)
    except ScoreStoreError:
        return None
    with warehouse.connection(db, read_only=True) as con:
        values = warehouse.query(con, "SELECT unit_code, indicator_id, value FROM indicator_values "
                                      "WHERE grain = ? AND period = ?", [grain, period])
    ranks = {u: int(r) for u, r in ranking.select("unit_code", "rank").iter_rows() if r is not None}
    return Observation(run_id, period, ranks, values, shares, scored)


def _fmt(x: Any, decimals: int = 1) -> str:
    return "—" if x is None else f"{float(x):.{decimals}f}"


def _status_key(unit: str, ind: str) -> str:
    return f"{unit}|{ind}"


def evaluate(config: Config, *, refresh: str | None = None, now: datetime | None = None,
             catalog: Catalog | None = None) -> list[Alert]:
    """Evaluate every enabled rule and store the new alerts (see the module docstring)."""
    rules = config.alerts
    if not rules.enabled:
        return []
    cat = catalog if catalog is not None else load_catalog()
    store = LoopStore.for_config(config)
    obs = observe(config)
    drafts: list[AlertDraft] = []
    tag = refresh or "manual"
    if obs is not None:
        pzh, pen = period_words(obs.period)
        base = alert_store.load_baseline(store, BASELINE) or {}
        for unit, before, after in rank_drops(base.get("ranks", {}), obs.ranks, rules.rank_drop):
            drafts.append(AlertDraft("rank_drop", f"rank_drop:{tag}:{unit}", unit, severity="critical",
                                     params={"drop": after - before, "before": before, "after": after,
                                             "period_zh": pzh, "period_en": pen}))
        status = targets.status_frame(store, obs.values, obs.period, config.ledger.amber_band, cat)
        now_status = {_status_key(u, i): s for u, i, s in status.select("unit_code", "indicator_id", "status")
                      .iter_rows()}
        if rules.below_target:
            before_status = {tuple(k.split("|", 1)): v for k, v in base.get("status", {}).items()}
            after_status = {tuple(k.split("|", 1)): v for k, v in now_status.items()}
            lookup = {(r["unit_code"], r["indicator_id"]): r for r in status.iter_rows(named=True)}
            old_values = base.get("values", {})
            for unit, ind, rule, _prev, _now in status_crossings(before_status, after_status):  # type: ignore[arg-type]
                row, d = lookup[(unit, ind)], cat.indicator(ind)
                drafts.append(AlertDraft(
                    rule, f"{rule}:{tag}:{unit}:{ind}", unit, ind,
                    severity="critical" if rule == "below_band" else "warning",
                    params={"name_zh": d.name_zh, "name_en": d.name_en, "value": _fmt(row["value"], d.decimals),
                            "target": _fmt(row["target"], d.decimals),
                            "previous": _fmt(old_values.get(_status_key(unit, ind)), d.decimals),
                            "period_zh": pzh, "period_en": pen}))
        got = {(u, i): v for u, i, v in obs.values.iter_rows()}
        counts = missing_counts({unit: [got.get((unit, ind.id)) for ind in cat] for unit in obs.units})
        missing_now = {u: m / n for u, (m, n) in counts.items() if n}
        known = set(base.get("units", ()))  # the units the last evaluation saw: their earlier state is stored
        before_missing = {u: v for u, v in base.get("missing", {}).items() if u in known}
        for unit, _share in share_crossings(before_missing, missing_now, rules.missing_share):
            missing, total = counts[unit]
            drafts.append(AlertDraft("missing", f"missing:{obs.period}:{unit}", unit, severity="warning",
                                     params={"missing": missing, "total": total, "period_zh": pzh,
                                             "period_en": pen}))
        shares = {u: s for u, (s, _q, _n) in obs.quarantine.items()}
        before_quarantine = {u: float(base.get("quarantine", {}).get(u, 0.0)) for u in known}
        for unit, share in share_crossings(before_quarantine, shares, rules.quarantine_share):
            _s, n_q, n_all = obs.quarantine[unit]
            drafts.append(AlertDraft("quarantined", f"quarantined:{tag}:{unit}", unit, severity="warning",
                                     params={"share": f"{share:.0%}", "quarantined": n_q, "rows": n_all}))
        values = {_status_key(u, i): v for u, i, v in obs.values.iter_rows()}
        baseline = {"run_id": obs.run_id, "period": obs.period, "ranks": obs.ranks, "status": now_status,
                    "values": values, "quarantine": shares, "missing": missing_now, "units": list(obs.units)}
    else:
        baseline = None
    if rules.overdue:
        for item in ledger.overdue(store, now=now):
            drafts.append(AlertDraft("overdue", f"overdue:{item.item_id}:{item.due_date.isoformat()}", item.unit_code,
                                     item.indicator_id, item.item_id, severity="warning",
                                     params={"item": item.item_id, "problem": item.problem[:60],
                                             "due": item.due_date.isoformat(), "owner": item.owner}))
    new = alert_store.record(store, drafts, refresh=refresh, now=now)
    if baseline is not None:
        alert_store.save_baseline(store, BASELINE, baseline, refresh=refresh, now=now)
    return new


def after_refresh(config: Config, record: Any) -> None:
    """The refresh's one call: evaluate (for a succeeded refresh) and e-mail; never raises."""
    if getattr(record, "status", None) != "succeeded" or not config.alerts.enabled:
        return
    try:
        new = evaluate(config, refresh=getattr(record, "snapshot_id", None))
        if new:
            log.info("refresh run #%s raised %d alert(s)", getattr(record, "id", "?"), len(new))
        if config.alerts.email.host:
            send_email(config)
    except Exception:  # noqa: BLE001 — alerts must never fail a refresh whose snapshot is already live
        log.exception("alerts after refresh run #%s could not be evaluated", getattr(record, "id", "?"))


# -- e-mail --------------------------------------------------------------------------------------------------------
def recipients(config: Config, alert: Alert) -> tuple[str, ...]:
    """Who receives an alert by e-mail: `alerts.email.to`, and the district's `district_to` addresses."""
    email = config.alerts.email
    return tuple(dict.fromkeys([*email.to, *email.district_to.get(alert.unit_code or "", ())]))


def _message(config: Config, address: str, batch: Sequence[Alert]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"一网通办绩效指数：{len(batch)} 条新预警 · govindex: {len(batch)} new alert(s)"
    msg["From"] = config.alerts.email.sender
    msg["To"] = address
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="govindex")
    lines = []
    for a in batch:
        lines += [f"【{alert_store.rule_label(a.rule, 'zh')}】{a.text('zh')}",
                  f"[{alert_store.rule_label(a.rule, 'en')}] {a.text('en')}", ""]
    msg.set_content("\n".join(lines), charset="utf-8")
    return msg


def send_email(config: Config, alerts: Sequence[Alert] | None = None, *, env: Mapping[str, str] | None = None,
               now: datetime | None = None) -> int:
    """E-mail alerts (default: every alert not e-mailed yet) through the configured SMTP server, one message per
    address; stamp them e-mailed. Returns the number of messages sent (0 when no host is configured)."""
    email = config.alerts.email
    if not email.host:
        return 0
    env = os.environ if env is None else env
    store = LoopStore.for_config(config)
    batch = list(alerts) if alerts is not None else alert_store.unemailed(store)
    by_address: dict[str, list[Alert]] = {}
    for a in batch:
        for address in recipients(config, a):
            by_address.setdefault(address, []).append(a)
    sent = 0
    if by_address:
        with smtplib.SMTP(email.host, email.port, timeout=email.timeout_seconds) as smtp:
            smtp.ehlo()
            if email.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            user, password = env.get(SMTP_USER_ENV, ""), env.get(SMTP_PASSWORD_ENV, "")
            if user:
                smtp.login(user, password)
            for address, mine in sorted(by_address.items()):
                smtp.send_message(_message(config, address, mine))
                sent += 1
    alert_store.mark_emailed(store, [a.alert_id for a in batch], now=now)
    return sent
