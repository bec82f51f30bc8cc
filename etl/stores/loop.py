"""The loop store: targets (目标值), the rectification ledger (整改台账), evidence and alerts, in one SQLite file (WAL)
beside the warehouse. A refresh rebuilds and swaps the warehouse file; this file is never touched by it.

API (shared by etl/stores/targets.py, ledger.py, evidence.py, alerts.py — one module per noun):

- `LoopStore(path, evidence_dir=None, ledger=LedgerConfig())`, or `LoopStore.for_config(config)`: opens (creating
  and migrating) the file. `store.connect()` is a context manager yielding a connection; `store.transaction()` one
  inside `BEGIN IMMEDIATE` (writers queue, never interleave).
- `Actor(name, role, district_code=None)`: who does something; every state-changing call takes one and checks it
  against the role table (etl/stores/roles.py) HERE, so neither a UI callback nor the CLI can bypass it.
  `Actor.system()` is the refresh job. `may_see(actor, unit)`, `may_edit(actor, unit)`, `may_comment(actor, unit)`,
  `may_set_targets(actor)`.
- `LoopError` (and `Forbidden`, `NotFound`, `BadInput`, `Conflict`): a refusal. `.key` and `.params` name a message
  of `MESSAGES` (zh, en); `.message(lang)` renders it; str() is "中文 · English". A refused call changes nothing.
- `MESSAGES`: every message of the loop, key → (zh, en) (app/ui/i18n.py takes them into its table).
- `verify_events(store)`: the hash chain over every change (who, role, when, what) is intact; returns its length.
- `today(now=None)`: the date in Asia/Shanghai (tests inject `now`).
- The clock: every function takes `now` (a datetime; tests inject it); when it is None the store's `clock()` gives
  the time — the real one, or, with `ledger.today` / GOVINDEX_TODAY set (a simulated date for demos and browser
  tests), that date at the current Beijing time of day. `store.clock(now)` is the one place this is decided.

Schema version: SQLite's `PRAGMA user_version`; `MIGRATIONS` (version → script), each applied in one transaction
with its version; a file of a later release is refused. Versioned tables are append-only (triggers refuse UPDATE and
DELETE): a change is a new version row, never an overwrite, never a hard delete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from etl.config import Config, LedgerConfig
from etl.contract.tables import LOCAL_TZ, UNIT_CODE_PATTERN
from etl.errors import EtlError
from etl.stores import sqlite as sqlite_store
from etl.stores.roles import Permission, Role, can, label
from etl.warehouse.units import units_at
from indicators.units import Units

SYSTEM = "govindex"  # the name changes made by the refresh job are attributed to

# -- messages ------------------------------------------------------------------------------------------------------
MESSAGES: dict[str, tuple[str, str]] = {
    "loop.err.forbidden": ("您的角色（{role}）无权{what}。未作任何更改。",
                           "Your role ({role}) may not {what}. Nothing was changed."),
    "loop.err.other_district": ("{unit}的整改事项只能由{unit}的区级人员办理；您属于{own}。未作任何更改。",
                                "Only officials of {unit} may change {unit}'s items; you belong to {own}. "
                                "Nothing was changed."),
    "loop.err.unseen_district": ("您无权查看{unit}的事项。", "You may not see {unit}'s items."),
    "loop.err.unknown_unit": ("未知的区代码 {unit}。未作任何更改。", "Unknown district code {unit}. Nothing was changed."),
    "loop.err.unknown_indicator": ("未知的指标 {indicator}。未作任何更改。",
                                   "Unknown indicator {indicator}. Nothing was changed."),
    "loop.err.bad_cycle": ("评估周期 {cycle} 的格式不对，应为年份（如 2026）或季度（如 2026Q3）。未作任何更改。",
                           "The cycle {cycle} is not a year (2026) or a quarter (2026Q3). Nothing was changed."),
    "loop.err.target_range": ("目标值 {value} 超出指标“{name}”的可能范围（{low}–{high} {unit}）。未作任何更改。",
                              "The target {value} is outside the possible range of '{name}' ({low}–{high} {unit}). "
                              "Nothing was changed."),
    "loop.err.target_number": ("目标值“{value}”不是数字。未作任何更改。",
                               "The target '{value}' is not a number. Nothing was changed."),
    "loop.err.reason": ("请填写理由。未作任何更改。", "A reason is required. Nothing was changed."),
    "loop.err.required": ("请填写“{field}”。未作任何更改。", "'{field}' is required. Nothing was changed."),
    "loop.err.too_long": ("“{field}”过长（最多 {limit} 字）。未作任何更改。",
                          "'{field}' is too long (at most {limit} characters). Nothing was changed."),
    "loop.err.control_chars": ("“{field}”含有不可见的控制字符。未作任何更改。",
                               "'{field}' contains invisible control characters. Nothing was changed."),
    "loop.err.due_past": ("整改时限 {due} 早于今天（{today}，北京时间）。请选择今天或以后的日期。未作任何更改。",
                          "The due date {due} is before today ({today}, Beijing time). Choose today or a later date. "
                          "Nothing was changed."),
    "loop.err.due_format": ("整改时限“{due}”不是日期（应为 YYYY-MM-DD）。未作任何更改。",
                            "The due date '{due}' is not a date (YYYY-MM-DD). Nothing was changed."),
    "loop.err.status": ("未知的状态 {status}；可选：待整改、整改中、已完成。未作任何更改。",
                        "Unknown status {status}; use open, in progress or done. Nothing was changed."),
    "loop.err.unknown_item": ("没有编号为 {item} 的整改事项。", "There is no rectification item {item}."),
    "loop.err.unknown_field": ("整改事项没有字段 {field}。未作任何更改。",
                               "A rectification item has no field {field}. Nothing was changed."),
    "loop.err.conflict": ("整改事项 {item} 已被 {who} 修改（第 {current} 版），与您的修改冲突的字段：{fields}。"
                          "请刷新后重新填写。未作任何更改。",
                          "Item {item} was changed by {who} meanwhile (version {current}); your change conflicts on: "
                          "{fields}. Reload it and make your change again. Nothing was changed."),
    "loop.err.evidence_size": ("佐证材料“{name}”大小为 {size_mb} MB，超过上限 {limit_mb} MB。未作任何更改。",
                               "The evidence file '{name}' is {size_mb} MB, over the limit of {limit_mb} MB. "
                               "Nothing was changed."),
    "loop.err.evidence_empty": ("佐证材料“{name}”是空文件。未作任何更改。",
                                "The evidence file '{name}' is empty. Nothing was changed."),
    "loop.err.evidence_type": ("佐证材料“{name}”的文件类型不被接受（按内容识别为：{found}）；可上传：{allowed}。未作任何更改。",
                               "The evidence file '{name}' is not an accepted type (its content reads as: {found}); "
                               "accepted: {allowed}. Nothing was changed."),
    "loop.err.evidence_mismatch": ("佐证材料“{name}”的扩展名与内容不符（内容为 {found}）。未作任何更改。",
                                   "The evidence file '{name}' has an extension that does not match its content "
                                   "({found}). Nothing was changed."),
    "loop.err.evidence_missing": ("佐证材料 {sha} 的文件已不在存储目录中。", "The evidence file {sha} is missing from the store."),
    "loop.err.unknown_alert": ("没有编号为 {alert} 的预警。", "There is no alert {alert}."),
    "loop.err.newer": ("整改台账文件 {path} 的结构版本为 {found}，高于本程序支持的 {supported}：请升级 govindex。",
                       "The loop store {path} has schema version {found}, newer than the {supported} this govindex "
                       "knows: upgrade govindex."),
    "loop.err.broken": ("整改台账文件 {path} 无法使用：{detail}", "The loop store {path} cannot be used: {detail}"),
    "loop.err.tampered": ("整改台账的变更记录在第 {seq} 条处被改动过。", "The loop store's change record was altered at entry {seq}."),
    # alerts (etl/stores/alerts.py; raised after each refresh by etl/jobs/alerts.py)
    "loop.alert.rank_drop": ("{unit}综合排名下降 {drop} 位：由第 {before} 名降至第 {after} 名（{period}）。",
                             "{unit} dropped {drop} places in the composite ranking: from {before} to {after} "
                             "({period})."),
    "loop.alert.below_target": ("{unit}“{name}”为 {value}，低于目标值 {target}（此前 {previous}，{period}）。",
                                "{unit}: '{name}' is {value}, below its target {target} (was {previous}, "
                                "{period})."),
    "loop.alert.below_band": ("{unit}“{name}”为 {value}，已跌出目标值 {target} 的黄色区间，转为红色（此前 {previous}，{period}）。",
                              "{unit}: '{name}' is {value}, beyond the amber band of its target {target}: now red "
                              "(was {previous}, {period})."),
    "loop.alert.overdue": ("{unit}整改事项 #{item}（{problem}）已逾期：时限 {due}，责任人 {owner}。",
                           "{unit}: rectification item #{item} ({problem}) is overdue: due {due}, owner {owner}."),
    "loop.alert.missing": ("{unit}在 {period} 缺少 {missing}/{total} 项指标的数据。",
                           "{unit} lacks data for {missing} of {total} indicators in {period}."),
    "loop.alert.quarantined": ("{unit}本次刷新有 {share} 的数据行被隔离（{quarantined}/{rows} 行），请核对来源文件。",
                               "{share} of {unit}'s rows in this refresh were quarantined ({quarantined} of {rows}); "
                               "check the source files."),
    "loop.rule.rank_drop": ("排名下降", "Rank drop"),
    "loop.rule.below_target": ("低于目标", "Below target"),
    "loop.rule.below_band": ("跌出黄色区间", "Below the amber band"),
    "loop.rule.overdue": ("整改逾期", "Overdue item"),
    "loop.rule.missing": ("数据缺失", "Missing data"),
    "loop.rule.quarantined": ("数据大量隔离", "Data largely quarantined"),
    # what a refusal names (the {what}/{what} of loop.err.forbidden)
    "loop.what.targets": ("设置目标值", "set targets"),
    "loop.what.edit": ("登记或修改整改事项", "open or change rectification items"),
    "loop.what.comment": ("评论整改事项", "comment on rectification items"),
    # ledger field names (messages and the export's columns)
    "loop.field.problem": ("问题", "Problem"),
    "loop.field.action": ("整改措施", "Action"),
    "loop.field.owner": ("责任人", "Owner"),
    "loop.field.due_date": ("时限", "Due date"),
    "loop.field.status": ("状态", "Status"),
    "loop.field.progress": ("进展", "Progress"),
    "loop.field.comment": ("评论", "Comment"),
    "loop.field.reason": ("理由", "Reason"),
    # red/amber/green against the target (indicators/targets.py)
    "loop.rag.green": ("达标", "Met"),
    "loop.rag.amber": ("接近目标", "Near target"),
    "loop.rag.red": ("未达标", "Missed"),
    "loop.share_met": ("目标达成率", "Share of targets met"),
    "loop.target.catalog": ("目录目标值", "catalog target"),
    "loop.target.set": ("本区目标值", "district target"),
    # statuses (逾期 is derived from the due date, never stored)
    "loop.status.open": ("待整改", "Open"),
    "loop.status.in_progress": ("整改中", "In progress"),
    "loop.status.done": ("已完成", "Done"),
    "loop.status.overdue": ("逾期", "Overdue"),
}


def message(key: str, lang: str = "zh", **params: Any) -> str:
    """A message of the catalogue in `lang`, its {placeholders} filled (missing ones stay as written). A parameter
    given in both languages as `x_zh` and `x_en` fills `{x}` in the language asked for (district and indicator names,
    field names), so both templates name the same placeholders."""
    zh, en = MESSAGES[key]
    text = en if lang == "en" else zh
    suffix = "_en" if lang == "en" else "_zh"
    fmt = {**params, **{k[:-3]: v for k, v in params.items() if k.endswith(suffix)}}
    try:
        return text.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return text


class LoopError(EtlError):
    """A refused loop operation: nothing was changed. `key`/`params` name the message; `message(lang)` renders it."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(f"{message(key, 'zh', **params)} · {message(key, 'en', **params)}")

    def message(self, lang: str = "zh") -> str:
        return message(self.key, lang, **self.params)


class Forbidden(LoopError):
    """The actor's role or district does not allow it."""


class NotFound(LoopError):
    """No such item, alert or file."""


class BadInput(LoopError):
    """A value is not acceptable (past due date, target out of range, evidence too large, …)."""


class Conflict(LoopError):
    """Someone else changed the same fields of the item since the version the change was based on."""


# -- who -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """Who does something: a user name, a role of the role table and, for district officials, their district."""

    name: str
    role: str
    district_code: str | None = None

    @classmethod
    def system(cls) -> Actor:
        """The refresh job (alerts): sees everything, edits nothing."""
        return cls(SYSTEM, str(Role.ADMIN), None)

    def may(self, permission: Permission | str) -> bool:
        return can(self.role, permission)


def _unit_names(unit: str | None, units: Units | None = None) -> dict[str, str]:
    u = units.get(unit) if units is not None and unit else None
    if u is None:
        return {"zh": unit or "—", "en": unit or "—"}
    return {"zh": u.name_zh, "en": u.name_en}


def may_see(actor: Actor, unit: str, units: Units | None = None) -> bool:
    """Whether `actor` sees `unit`'s targets, items and alerts: every unit with ALL_DISTRICTS, else their own unit
    and, given the unit table (`units`), every unit under it (a city's official sees its districts)."""
    if not actor.may(Permission.VIEW):
        return False
    if actor.may(Permission.ALL_DISTRICTS) or actor.district_code == unit:
        return True
    return units is not None and actor.district_code is not None and units.within(actor.district_code, unit)


def may_edit(actor: Actor, unit: str) -> bool:
    """Whether `actor` may open or change `unit`'s items: EDIT_LEDGER AND the actor's own district — nobody edits
    another district's items (a role without a district edits none)."""
    return actor.may(Permission.EDIT_LEDGER) and actor.district_code is not None and actor.district_code == unit


def may_comment(actor: Actor, unit: str, units: Units | None = None) -> bool:
    """Whether `actor` may comment on `unit`'s items: COMMENT_LEDGER and sight of the district."""
    return actor.may(Permission.COMMENT_LEDGER) and may_see(actor, unit, units)


def may_set_targets(actor: Actor) -> bool:
    return actor.may(Permission.SET_TARGETS)


def refuse(actor: Actor, what: str) -> Forbidden:
    """The Forbidden error for `actor` lacking the power `what` (targets | edit | comment)."""
    zh, en = MESSAGES[f"loop.what.{what}"]
    return Forbidden("loop.err.forbidden", role_zh=label(actor.role, "zh"), role_en=label(actor.role, "en"),
                     what_zh=zh, what_en=en)


def check_edit(actor: Actor, unit: str, units: Units | None = None) -> None:
    """Raise Forbidden unless `actor` may open or change `unit`'s items."""
    if not actor.may(Permission.EDIT_LEDGER):
        raise refuse(actor, "edit")
    if not may_edit(actor, unit):
        u, own = _unit_names(unit, units), _unit_names(actor.district_code, units)
        raise Forbidden("loop.err.other_district", unit=unit, unit_zh=u["zh"], unit_en=u["en"],
                        own_zh=own["zh"], own_en=own["en"])


def check_see(actor: Actor, unit: str, units: Units | None = None) -> None:
    if not may_see(actor, unit, units):
        u = _unit_names(unit, units)
        raise Forbidden("loop.err.unseen_district", unit=unit, unit_zh=u["zh"], unit_en=u["en"])


def check_unit(unit: str, units: Units | None = None) -> str:
    """`unit` when it is a unit of the unit table (`units`; without one, when it has a unit code's shape)."""
    known = unit in units if units is not None else bool(re.fullmatch(UNIT_CODE_PATTERN, str(unit)))
    if not known:
        raise BadInput("loop.err.unknown_unit", unit=unit)
    return unit


# -- time ----------------------------------------------------------------------------------------------------------
def now_utc(now: datetime | None = None) -> datetime:
    """`now` (aware; naive is taken as UTC) or the current time, in UTC."""
    when = now or datetime.now(timezone.utc)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (the date that decides 逾期)."""
    return now_utc(now).astimezone(ZoneInfo(LOCAL_TZ)).date()


def iso(when: datetime) -> str:
    return now_utc(when).isoformat(timespec="microseconds")


# -- schema --------------------------------------------------------------------------------------------------------
_APPEND_ONLY = ("targets", "ledger_items", "ledger_versions", "ledger_comments", "evidence", "alerts",
                "alert_reads", "events")
_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS targets (
    unit_code TEXT NOT NULL, indicator_id TEXT NOT NULL, cycle TEXT NOT NULL, version INTEGER NOT NULL,
    value REAL, reason TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL, at_utc TEXT NOT NULL,
    PRIMARY KEY (unit_code, indicator_id, cycle, version)
);
CREATE TABLE IF NOT EXISTS ledger_items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT, unit_code TEXT NOT NULL, indicator_id TEXT NOT NULL,
    opened_value REAL, opened_period TEXT, opened_by TEXT NOT NULL, opened_role TEXT NOT NULL,
    opened_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_items_unit ON ledger_items (unit_code);
CREATE TABLE IF NOT EXISTS ledger_versions (
    item_id INTEGER NOT NULL REFERENCES ledger_items (item_id), version INTEGER NOT NULL,
    problem TEXT NOT NULL, action TEXT NOT NULL, owner TEXT NOT NULL, due_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done')), progress TEXT NOT NULL DEFAULT '',
    changed TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL, at_utc TEXT NOT NULL,
    PRIMARY KEY (item_id, version)
);
CREATE TABLE IF NOT EXISTS ledger_comments (
    comment_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL REFERENCES ledger_items (item_id),
    text TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL, at_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evidence (
    evidence_id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL REFERENCES ledger_items (item_id),
    sha256 TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    who TEXT NOT NULL, role TEXT NOT NULL, at_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL,
    unit_code TEXT, indicator_id TEXT, item_id INTEGER, severity TEXT NOT NULL, params TEXT NOT NULL,
    refresh TEXT, created_at TEXT NOT NULL, emailed_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_unit ON alerts (unit_code);
CREATE TABLE IF NOT EXISTS alert_reads (
    alert_id INTEGER NOT NULL REFERENCES alerts (alert_id), user TEXT NOT NULL, read_at TEXT NOT NULL,
    PRIMARY KEY (alert_id, user)
);
CREATE TABLE IF NOT EXISTS alert_baseline (
    name TEXT PRIMARY KEY, payload TEXT NOT NULL, refresh TEXT, at_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at_utc TEXT NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL,
    kind TEXT NOT NULL, ref TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
""" + "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} rows are never changed or deleted (append-only)'); END;\n"
    for t in _APPEND_ONLY if t != "alerts" for op in ("UPDATE", "DELETE")
) + (
    # alerts: only the e-mail stamp may be set, once
    "CREATE TRIGGER IF NOT EXISTS alerts_no_delete BEFORE DELETE ON alerts "
    "BEGIN SELECT RAISE(ABORT, 'alerts are never deleted'); END;\n"
    "CREATE TRIGGER IF NOT EXISTS alerts_only_emailed BEFORE UPDATE ON alerts WHEN "
    "OLD.emailed_at IS NOT NULL OR NEW.alert_id IS NOT OLD.alert_id OR NEW.dedupe_key IS NOT OLD.dedupe_key "
    "OR NEW.rule IS NOT OLD.rule OR NEW.params IS NOT OLD.params OR NEW.unit_code IS NOT OLD.unit_code "
    "OR NEW.created_at IS NOT OLD.created_at "
    "BEGIN SELECT RAISE(ABORT, 'an alert only gets its e-mail time, once'); END;\n"
)

#: version → the script that brings a loop store to it from the version before (0: a new file).
MIGRATIONS: dict[int, str] = {1: _SCHEMA_1}
SCHEMA_VERSION = max(MIGRATIONS)


schema_version = sqlite_store.schema_version


def migrate(con: sqlite3.Connection, path: str | os.PathLike[str] = "loop store") -> list[int]:
    """Apply the pending MIGRATIONS, each in one transaction with its `user_version`; return the versions applied."""
    return sqlite_store.migrate(
        con, MIGRATIONS,
        newer=lambda found, supported: LoopError("loop.err.newer", path=str(path), found=found, supported=supported),
        failed=lambda version, e: LoopError("loop.err.broken", path=str(path),
                                            detail=f"migration to version {version}: {e}"))


class LoopStore:
    """The loop store file and the evidence folder beside it, with the ledger limits of the configuration."""

    def __init__(self, path: str | os.PathLike[str], evidence_dir: str | os.PathLike[str] | None = None,
                 ledger: LedgerConfig | None = None, warehouse: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path)
        # the warehouse whose unit table names the units (etl.warehouse.units); default: the one beside this file
        self.warehouse = Path(warehouse) if warehouse is not None else None
        self.evidence_dir = Path(evidence_dir) if evidence_dir is not None else self.path.with_name("evidence")
        self.ledger = ledger if ledger is not None else LedgerConfig.model_validate({})
        self.simulated_today: date | None = self.ledger.today
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            self.migrated = migrate(con, self.path)

    def clock(self, now: datetime | None = None) -> datetime:
        """`now` when given; else the current time (UTC) — on the simulated date `ledger.today` when one is set."""
        if now is not None:
            return now_utc(now)
        real = now_utc(None)
        if self.simulated_today is None:
            return real
        local = real.astimezone(ZoneInfo(LOCAL_TZ))
        return datetime.combine(self.simulated_today, local.timetz()).astimezone(timezone.utc)

    @classmethod
    def for_config(cls, config: Config) -> LoopStore:
        return cls(config.paths.loop_path, config.paths.evidence_path, config.ledger, config.paths.db)

    def units(self) -> Units | None:
        """The unit table of the warehouse (None before its first refresh, or when the store has no warehouse)."""
        return units_at(self.warehouse) if self.warehouse is not None else None

    def unit_names(self) -> dict[str, tuple[str, str]]:
        """code → (Chinese, English) of every unit ({} without a unit table)."""
        units = self.units()
        return units.name_pairs() if units is not None else {}

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with sqlite_store.open_wal(self.path, lambda e: LoopError("loop.err.broken", path=str(self.path),
                                                                  detail=str(e))) as con:
            yield con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside BEGIN IMMEDIATE: committed when the block ends, rolled back when it raises."""
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")


# -- the change record ---------------------------------------------------------------------------------------------
def _hash(prev: str, at: str, who: str, role: str, kind: str, ref: str, payload: str) -> str:
    return hashlib.sha256("\x1f".join((prev, at, who, role, kind, ref, payload)).encode("utf-8")).hexdigest()


def record_event(con: sqlite3.Connection, actor: Actor, kind: str, ref: str, payload: Mapping[str, Any],
                 at: str) -> None:
    """Append one change to the hash-chained events table (inside the caller's transaction)."""
    row = con.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    prev = row[0] if row else ""
    body = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True, default=str)
    con.execute("INSERT INTO events (at_utc, who, role, kind, ref, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                (at, actor.name, actor.role, kind, ref, body, prev, _hash(prev, at, actor.name, actor.role, kind, ref,
                                                                          body)))


def verify_events(store: LoopStore) -> int:
    """Check the chain of every change; return its length, or raise LoopError naming the first altered entry."""
    prev = ""
    n = 0
    with store.connect() as con:
        for r in con.execute("SELECT * FROM events ORDER BY seq"):
            if r["prev_hash"] != prev or r["hash"] != _hash(prev, r["at_utc"], r["who"], r["role"], r["kind"],
                                                            r["ref"], r["payload"]):
                raise LoopError("loop.err.tampered", seq=r["seq"])
            prev = r["hash"]
            n += 1
    return n


def events(store: LoopStore, ref: str | None = None) -> list[dict[str, Any]]:
    """The change record (optionally of one ref, e.g. 'item:3', 'target:310104/x/2026'), oldest first."""
    q = "SELECT seq, at_utc, who, role, kind, ref, payload FROM events" + (" WHERE ref = ?" if ref else "") + \
        " ORDER BY seq"
    with store.connect() as con:
        rows = con.execute(q, (ref,) if ref else ()).fetchall()
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


# -- text fields ---------------------------------------------------------------------------------------------------
_CONTROL = {c for c in range(32) if c not in (9, 10, 13)} | {127}


def clean_text(value: Any, field: str, *, required: bool = True, limit: int = 2000) -> str:
    """A free-text field as stored: stripped; refused when empty (if required), too long or holding control
    characters. HTML and formula-looking text are kept AS TEXT (never rendered; exports neutralise formulas)."""
    text = "" if value is None else str(value).strip()
    zh, en = MESSAGES.get(f"loop.field.{field}", (field, field))
    if required and not text:
        raise BadInput("loop.err.required", field_zh=zh, field_en=en)
    if len(text) > limit:
        raise BadInput("loop.err.too_long", field_zh=zh, field_en=en, limit=limit)
    if any(ord(c) in _CONTROL for c in text):
        raise BadInput("loop.err.control_chars", field_zh=zh, field_en=en)
    return text
