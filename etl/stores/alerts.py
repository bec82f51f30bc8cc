"""Alerts in the loop store, with per-user read state.

An alert concerns one district (or none: the whole city) and is seen by whoever sees that district: the district's
officials, and every role with ALL_DISTRICTS (leaders, assessors, administrators). Alerts are raised by
etl/jobs/alerts.py after each refresh; each carries a `dedupe_key`, so evaluating the same refresh twice, or an
overdue item on every refresh, stores it once. Alerts are never deleted; reading one adds a (alert, user) row.

API:
- `AlertDraft(rule, dedupe_key, unit_code=None, indicator_id=None, item_id=None, severity="warning", params={})`.
- `record(store, drafts, *, refresh=None, now=None) -> list[Alert]`: stores the new ones, returns only those.
- `list_alerts(store, actor, *, unread=False, limit=200) -> list[Alert]`: newest first, `read` for this actor.
- `unread_count(store, actor) -> int`; `mark_read(store, actor, alert_ids=None, *, now=None) -> int` (None: all
  the actor sees); `get_alert(store, actor, alert_id)`.
- `text(alert, lang) -> str`, `rule_label(rule, lang)`: the words (etl/stores/loop.py MESSAGES "loop.alert.*").
- `load_baseline(store, name) / save_baseline(store, name, payload, refresh, now)`: what the last evaluation saw
  (ranks and statuses), so the next refresh can tell what changed.
- `unemailed(store) / mark_emailed(store, ids, now)`: the e-mail step's bookkeeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from etl.stores.loop import (
    MESSAGES, Actor, LoopStore, NotFound, iso, may_see, message, record_event,
)
from etl.stores.roles import Permission
from indicators.units import Units

RULES: tuple[str, ...] = ("rank_drop", "below_target", "below_band", "overdue", "missing", "quarantined")
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertDraft:
    rule: str
    dedupe_key: str
    unit_code: str | None = None
    indicator_id: str | None = None
    item_id: int | None = None
    severity: str = "warning"
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    alert_id: int
    rule: str
    unit_code: str | None
    indicator_id: str | None
    item_id: int | None
    severity: str
    params: dict[str, Any]
    refresh: str | None
    created_at: str
    emailed_at: str | None
    read: bool = False

    def text(self, lang: str = "zh") -> str:
        return text(self, lang)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {"alert_id": self.alert_id, "rule": self.rule, "unit_code": self.unit_code,
                "indicator_id": self.indicator_id, "item_id": self.item_id, "severity": self.severity,
                "refresh": self.refresh, "created_at": self.created_at, "read": self.read,
                "text_zh": self.text("zh"), "text_en": self.text("en"), "params": self.params}


def _params(a: Alert | AlertDraft) -> dict[str, Any]:
    # The unit's names are stored with the alert when it is recorded (`record`, from the unit table); an alert
    # about the whole city has none.
    zh, en = ("全市", "the city") if not a.unit_code else (a.unit_code, a.unit_code)
    return {"unit_zh": zh, "unit_en": en, **dict(a.params)}


def text(alert: Alert | AlertDraft, lang: str = "zh") -> str:
    return message(f"loop.alert.{alert.rule}", lang, **_params(alert))


def rule_label(rule: str, lang: str = "zh") -> str:
    zh, en = MESSAGES.get(f"loop.rule.{rule}", (rule, rule))
    return en if lang == "en" else zh


def _alert(r: Any, read: bool = False) -> Alert:
    return Alert(int(r["alert_id"]), r["rule"], r["unit_code"], r["indicator_id"], r["item_id"], r["severity"],
                 json.loads(r["params"]), r["refresh"], r["created_at"], r["emailed_at"], read)


def record(store: LoopStore, drafts: Iterable[AlertDraft], *, refresh: str | None = None,
           now: datetime | None = None) -> list[Alert]:
    """Store the drafts not stored before (by dedupe_key); return the new alerts."""
    at = iso(store.clock(now))
    new: list[int] = []
    system = Actor.system()
    names = store.unit_names()
    with store.transaction() as con:
        for d in drafts:
            if d.rule not in RULES:
                raise ValueError(f"unknown alert rule {d.rule!r}")
            if d.unit_code in names and "unit_zh" not in d.params:  # the unit's names as they were then
                zh, en = names[d.unit_code]
                d = replace(d, params={"unit_zh": zh, "unit_en": en, **dict(d.params)})
            cur = con.execute(
                "INSERT OR IGNORE INTO alerts (dedupe_key, rule, unit_code, indicator_id, item_id, severity, params,"
                " refresh, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.dedupe_key, d.rule, d.unit_code, d.indicator_id, d.item_id, d.severity,
                 json.dumps(dict(d.params), ensure_ascii=False, default=str), refresh, at))
            if cur.rowcount:
                aid = int(cur.lastrowid or 0)
                new.append(aid)
                record_event(con, system, "alert", f"alert:{aid}", {"rule": d.rule, "unit_code": d.unit_code,
                                                                   "dedupe_key": d.dedupe_key}, at)
        rows = con.execute(f"SELECT * FROM alerts WHERE alert_id IN ({','.join('?' * len(new))})", new).fetchall() \
            if new else []
    return [_alert(r) for r in rows]


def _visible(actor: Actor, unit: str | None, units: Units | None = None) -> bool:
    return may_see(actor, unit, units) if unit is not None else actor.may(Permission.ALL_DISTRICTS)


def list_alerts(store: LoopStore, actor: Actor, *, unread: bool = False, limit: int = 200) -> list[Alert]:
    """The alerts `actor` sees, newest first, each with `read` for this actor."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT a.*, (SELECT 1 FROM alert_reads r WHERE r.alert_id = a.alert_id AND r.user = ?) AS is_read "
            "FROM alerts a ORDER BY a.alert_id DESC", (actor.name,)).fetchall()
    units = store.units()
    out = [_alert(r, bool(r["is_read"])) for r in rows if _visible(actor, r["unit_code"], units)]
    if unread:
        out = [a for a in out if not a.read]
    return out[: max(0, int(limit))]


def unread_count(store: LoopStore, actor: Actor) -> int:
    return len(list_alerts(store, actor, unread=True, limit=1_000_000))


def get_alert(store: LoopStore, actor: Actor, alert_id: int) -> Alert:
    for a in list_alerts(store, actor, limit=1_000_000):
        if a.alert_id == int(alert_id):
            return a
    raise NotFound("loop.err.unknown_alert", alert=alert_id)


def mark_read(store: LoopStore, actor: Actor, alert_ids: Iterable[int] | None = None, *,
              now: datetime | None = None) -> int:
    """Mark alerts read for `actor` (None: every alert the actor sees); returns how many were newly marked. An id
    the actor does not see is NotFound (nothing marked)."""
    seen = {a.alert_id: a for a in list_alerts(store, actor, limit=1_000_000)}
    ids = list(seen) if alert_ids is None else [int(i) for i in alert_ids]
    for i in ids:
        if i not in seen:
            raise NotFound("loop.err.unknown_alert", alert=i)
    at = iso(store.clock(now))
    n = 0
    with store.transaction() as con:
        for i in ids:
            cur = con.execute("INSERT OR IGNORE INTO alert_reads (alert_id, user, read_at) VALUES (?, ?, ?)",
                              (i, actor.name, at))
            n += cur.rowcount
    return n


def load_baseline(store: LoopStore, name: str) -> dict[str, Any] | None:
    with store.connect() as con:
        r = con.execute("SELECT payload FROM alert_baseline WHERE name = ?", (name,)).fetchone()
    return None if r is None else json.loads(r[0])


def save_baseline(store: LoopStore, name: str, payload: Mapping[str, Any], refresh: str | None = None,
                  now: datetime | None = None) -> None:
    with store.transaction() as con:
        con.execute("INSERT INTO alert_baseline (name, payload, refresh, at_utc) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET payload = excluded.payload, refresh = excluded.refresh, "
                    "at_utc = excluded.at_utc",
                    (name, json.dumps(dict(payload), ensure_ascii=False, default=str), refresh, iso(store.clock(now))))


def unemailed(store: LoopStore) -> list[Alert]:
    with store.connect() as con:
        return [_alert(r) for r in con.execute("SELECT * FROM alerts WHERE emailed_at IS NULL ORDER BY alert_id")]


def mark_emailed(store: LoopStore, ids: Iterable[int], now: datetime | None = None) -> None:
    at = iso(store.clock(now))
    with store.transaction() as con:
        for i in ids:
            con.execute("UPDATE alerts SET emailed_at = ? WHERE alert_id = ? AND emailed_at IS NULL", (at, int(i)))
