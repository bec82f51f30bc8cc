"""The rectification ledger (整改台账) in the loop store: one item per problem a district works on, with indicator,
problem, action, owner, due date, status, progress, comments, evidence and the indicator's value when opened.

Every change is attributed and kept: an item's fields live in `ledger_versions` (version 1 when opened, one more per
change, append-only), comments and evidence are appended, the change record (etl/stores/loop.py) chains them all.
Nothing is overwritten, nothing is deleted.

Statuses stored: open (待整改), in_progress (整改中), done (已完成). Overdue (逾期) is derived, never stored: not done
and the due date before today in Asia/Shanghai (`today` injectable through `now`).

Concurrent edits: `update_item` names the version the change was based on. If others changed the item since, their
changes and this one are merged field by field (neither is lost); only when both changed the SAME field to
different values is the change refused (Conflict, naming the fields and who changed them) — nothing is changed.

API:
- `open_item(store, actor, unit_code, indicator_id, *, problem, action, owner, due_date, progress="",
  opened_value=None, opened_period=None, catalog=None, now=None) -> Item`
- `update_item(store, actor, item_id, base_version, changes, *, now=None) -> Item`; `changes` maps any of
  FIELDS (problem, action, owner, due_date, status, progress) to new values; status takes the codes or 待整改/整改中/已完成.
- `add_comment(store, actor, item_id, text, *, now=None) -> Comment` (assessors, leaders, the district's officials).
- `get_item(store, actor, item_id, *, now=None) -> Item` (with comments and evidence); `item_history(...)`.
- `list_items(store, actor, *, unit_code=None, status=None, now=None) -> list[Item]`: what the actor may see,
  overdue first, then by due date.
- `items_frame(items, values=None) -> pl.DataFrame`: one row per item; with `values` (unit_code, indicator_id,
  value) adds `current_value` and `change` ("opened at 62.1, now 71.4").
- `overdue(store, now=None) -> list[Item]`: every overdue item (for alerts; no actor: the refresh job).
Permissions (enforced here): only officials of the item's district open and change it; comments from roles with
COMMENT_LEDGER that see the district; the district's officials and roles with ALL_DISTRICTS read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import polars as pl

from etl.contract.catalog import load_catalog
from etl.stores.loop import (
    MESSAGES, Actor, BadInput, Conflict, LoopStore, NotFound, check_edit, check_see, check_unit, clean_text, iso, may_comment,
    may_see, record_event, refuse, today,
)
from indicators.catalog import Catalog

FIELDS: tuple[str, ...] = ("problem", "action", "owner", "due_date", "status", "progress")
STORED_STATUSES: tuple[str, ...] = ("open", "in_progress", "done")
STATUSES: tuple[str, ...] = (*STORED_STATUSES, "overdue")
_STATUS_WORDS = {"待整改": "open", "整改中": "in_progress", "已完成": "done"}
_LIMITS = {"problem": 2000, "action": 2000, "owner": 100, "progress": 4000}


@dataclass(frozen=True)
class Comment:
    comment_id: int
    item_id: int
    text: str
    who: str
    role: str
    at_utc: str


@dataclass(frozen=True)
class EvidenceRef:
    evidence_id: int
    item_id: int
    sha256: str
    name: str
    kind: str
    size_bytes: int
    who: str
    role: str
    at_utc: str


@dataclass(frozen=True)
class Item:
    """An item as of its latest version (or the version asked for), with its derived status."""

    item_id: int
    unit_code: str
    indicator_id: str
    opened_value: float | None
    opened_period: str | None
    opened_by: str
    opened_at: str
    version: int
    problem: str
    action: str
    owner: str
    due_date: date
    status: str  # stored: open | in_progress | done
    progress: str
    updated_by: str
    updated_role: str
    updated_at: str
    changed: tuple[str, ...]  # the fields this version changed (all of them for version 1)
    effective_status: str = "open"  # status, or overdue
    comments: tuple[Comment, ...] = field(default_factory=tuple)
    evidence: tuple[EvidenceRef, ...] = field(default_factory=tuple)

    @property
    def overdue(self) -> bool:
        return self.effective_status == "overdue"

    def fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


def effective_status(status: str, due: date, on: date) -> str:
    """The status a person reads: overdue when not done and the due date is before `on`."""
    return "overdue" if status != "done" and due < on else status


# -- validation ----------------------------------------------------------------------------------------------------
def _due(value: Any, on: date, *, allow_past: bool = False) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise BadInput("loop.err.due_format", due=str(value)) from None
    if value < on and not allow_past:
        raise BadInput("loop.err.due_past", due=value.isoformat(), today=on.isoformat())
    return value


def _status(value: Any) -> str:
    s = str(value).strip()
    s = _STATUS_WORDS.get(s, s)
    if s not in STORED_STATUSES:
        raise BadInput("loop.err.status", status=str(value))
    return s


def _clean(name: str, value: Any, on: date, current: Any = None) -> Any:
    if name == "due_date":
        d = _due(value, on, allow_past=True)
        if d != current:  # an unchanged past due date (an overdue item being updated) is fine; a new one is not
            _due(d, on)
        return d
    if name == "status":
        return _status(value)
    return clean_text(value, name, required=name in ("problem", "action", "owner"), limit=_LIMITS[name])


# -- reading -------------------------------------------------------------------------------------------------------
def _version_values(r: Any) -> dict[str, Any]:
    return {"problem": r["problem"], "action": r["action"], "owner": r["owner"],
            "due_date": date.fromisoformat(r["due_date"]), "status": r["status"], "progress": r["progress"]}


def _item(head: Any, ver: Any, on: date, comments: tuple[Comment, ...] = (),
          evidence: tuple[EvidenceRef, ...] = ()) -> Item:
    values = _version_values(ver)
    return Item(
        item_id=int(head["item_id"]), unit_code=head["unit_code"], indicator_id=head["indicator_id"],
        opened_value=head["opened_value"], opened_period=head["opened_period"], opened_by=head["opened_by"],
        opened_at=head["opened_at"], version=int(ver["version"]), **values, updated_by=ver["who"],
        updated_role=ver["role"], updated_at=ver["at_utc"], changed=tuple(json.loads(ver["changed"])),
        effective_status=effective_status(values["status"], values["due_date"], on), comments=comments,
        evidence=evidence,
    )


_LATEST = ("SELECT v.* FROM ledger_versions v JOIN (SELECT item_id, MAX(version) AS mv FROM ledger_versions "
           "GROUP BY item_id) m ON v.item_id = m.item_id AND v.version = m.mv")


def _load(con: Any, item_id: int, on: date, *, full: bool = True) -> Item:
    head = con.execute("SELECT * FROM ledger_items WHERE item_id = ?", (item_id,)).fetchone()
    if head is None:
        raise NotFound("loop.err.unknown_item", item=item_id)
    ver = con.execute("SELECT * FROM ledger_versions WHERE item_id = ? ORDER BY version DESC LIMIT 1",
                      (item_id,)).fetchone()
    comments: tuple[Comment, ...] = ()
    evidence: tuple[EvidenceRef, ...] = ()
    if full:
        comments = tuple(Comment(r["comment_id"], r["item_id"], r["text"], r["who"], r["role"], r["at_utc"])
                         for r in con.execute("SELECT * FROM ledger_comments WHERE item_id = ? ORDER BY comment_id",
                                              (item_id,)))
        evidence = tuple(EvidenceRef(r["evidence_id"], r["item_id"], r["sha256"], r["name"], r["kind"],
                                     r["size_bytes"], r["who"], r["role"], r["at_utc"])
                         for r in con.execute("SELECT * FROM evidence WHERE item_id = ? ORDER BY evidence_id",
                                              (item_id,)))
    return _item(head, ver, on, comments, evidence)


def item_unit(store: LoopStore, item_id: int) -> str:
    """The district an item belongs to (NotFound for an unknown item)."""
    with store.connect() as con:
        row = con.execute("SELECT unit_code FROM ledger_items WHERE item_id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound("loop.err.unknown_item", item=item_id)
    return str(row[0])


def get_item(store: LoopStore, actor: Actor, item_id: int, *, now: datetime | None = None) -> Item:
    check_see(actor, item_unit(store, item_id), store.units())
    with store.connect() as con:
        return _load(con, item_id, today(store.clock(now)))


def item_history(store: LoopStore, actor: Actor, item_id: int, *, now: datetime | None = None) -> list[Item]:
    """Every version of the item, oldest first (who changed which fields when)."""
    check_see(actor, item_unit(store, item_id), store.units())
    on = today(store.clock(now))
    with store.connect() as con:
        head = con.execute("SELECT * FROM ledger_items WHERE item_id = ?", (item_id,)).fetchone()
        return [_item(head, v, on) for v in
                con.execute("SELECT * FROM ledger_versions WHERE item_id = ? ORDER BY version", (item_id,))]


def sort_key(item: Item) -> tuple[int, date, int]:
    """Overdue first, then open, in progress, done; within each by due date."""
    rank = {"overdue": 0, "open": 1, "in_progress": 2, "done": 3}[item.effective_status]
    return (rank, item.due_date, item.item_id)


def list_items(store: LoopStore, actor: Actor, *, unit_code: str | None = None, status: str | None = None,
               now: datetime | None = None, full: bool = False) -> list[Item]:
    """The items `actor` may see (optionally of one district / with one effective status), overdue first."""
    on = today(store.clock(now))
    with store.connect() as con:
        heads = {r["item_id"]: r for r in con.execute("SELECT * FROM ledger_items")}
        vers = con.execute(_LATEST).fetchall()
        items = [(_load(con, int(v["item_id"]), on) if full else _item(heads[v["item_id"]], v, on)) for v in vers]
    units = store.units()
    items = [i for i in items if may_see(actor, i.unit_code, units) and (unit_code is None or i.unit_code == unit_code)
             and (status is None or i.effective_status == status)]
    return sorted(items, key=sort_key)


def overdue(store: LoopStore, now: datetime | None = None) -> list[Item]:
    """Every overdue item (the refresh job's alert rule)."""
    return list_items(store, Actor.system(), status="overdue", now=now)


ITEM_SCHEMA: dict[str, Any] = {
    "item_id": pl.Int64, "unit_code": pl.String, "indicator_id": pl.String, "problem": pl.String,
    "action": pl.String, "owner": pl.String, "due_date": pl.Date, "status": pl.String,
    "effective_status": pl.String, "progress": pl.String, "opened_value": pl.Float64, "opened_period": pl.String,
    "opened_by": pl.String, "opened_at": pl.String, "version": pl.Int64, "updated_by": pl.String,
    "updated_at": pl.String, "comments": pl.Int64, "evidence": pl.String,
}


def items_frame(items: list[Item], values: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per item (ITEM_SCHEMA); with `values` (unit_code, indicator_id, value) also current_value and
    change_zh / change_en: "开立时 62.1，现为 71.4" / "opened at 62.1, now 71.4"."""
    rows = [{**{k: getattr(i, k) for k in ITEM_SCHEMA if k not in ("comments", "evidence")},
             "comments": len(i.comments), "evidence": "; ".join(e.name for e in i.evidence)} for i in items]
    frame = pl.DataFrame(rows, schema=ITEM_SCHEMA, orient="row") if rows else pl.DataFrame(schema=ITEM_SCHEMA)
    if values is None:
        return frame
    cur = values.select("unit_code", "indicator_id", pl.col("value").cast(pl.Float64).alias("current_value"))
    frame = frame.join(cur, on=["unit_code", "indicator_id"], how="left")

    def fmt(col: str) -> pl.Expr:
        return pl.col(col).round(1).cast(pl.String).fill_null("—")

    return frame.with_columns(
        pl.concat_str([pl.lit("开立时 "), fmt("opened_value"), pl.lit("，现为 "), fmt("current_value")]).alias("change_zh"),
        pl.concat_str([pl.lit("opened at "), fmt("opened_value"), pl.lit(", now "), fmt("current_value")])
        .alias("change_en"),
    )


# -- writing -------------------------------------------------------------------------------------------------------
def _insert_version(con: Any, item_id: int, version: int, values: Mapping[str, Any], changed: list[str],
                    actor: Actor, at: str) -> None:
    con.execute(
        "INSERT INTO ledger_versions (item_id, version, problem, action, owner, due_date, status, progress, changed,"
        " who, role, at_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item_id, version, values["problem"], values["action"], values["owner"], values["due_date"].isoformat(),
         values["status"], values["progress"], json.dumps(changed), actor.name, actor.role, at))


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def open_item(store: LoopStore, actor: Actor, unit_code: str, indicator_id: str, *, problem: str, action: str,
              owner: str, due_date: Any, progress: str = "", opened_value: float | None = None,
              opened_period: str | None = None, catalog: Catalog | None = None,
              now: datetime | None = None) -> Item:
    """Open an item (version 1, status open) for `actor`'s own district; refused, changing nothing, otherwise."""
    units = store.units()
    check_unit(unit_code, units)
    check_edit(actor, unit_code, units)
    cat = catalog if catalog is not None else load_catalog()
    if indicator_id not in cat:
        raise BadInput("loop.err.unknown_indicator", indicator=indicator_id)
    on = today(store.clock(now))
    values = {"problem": _clean("problem", problem, on), "action": _clean("action", action, on),
              "owner": _clean("owner", owner, on), "due_date": _due(due_date, on), "status": "open",
              "progress": _clean("progress", progress, on)}
    at = iso(store.clock(now))
    with store.transaction() as con:
        cur = con.execute("INSERT INTO ledger_items (unit_code, indicator_id, opened_value, opened_period, opened_by,"
                          " opened_role, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (unit_code, indicator_id, opened_value, opened_period, actor.name, actor.role, at))
        item_id = int(cur.lastrowid or 0)
        _insert_version(con, item_id, 1, values, list(FIELDS), actor, at)
        record_event(con, actor, "item_open", f"item:{item_id}",
                     {"unit_code": unit_code, "indicator_id": indicator_id, "opened_value": opened_value,
                      "opened_period": opened_period, **_jsonable(values)}, at)
        return _load(con, item_id, on)


def update_item(store: LoopStore, actor: Actor, item_id: int, base_version: int, changes: Mapping[str, Any], *,
                now: datetime | None = None) -> Item:
    """Change fields of an item, based on the version the person saw; merges with concurrent changes field by field
    (see the module docstring). Returns the item as now stored (unchanged when nothing differs)."""
    unknown = [k for k in changes if k not in FIELDS]
    if unknown:
        raise BadInput("loop.err.unknown_field", field=", ".join(unknown))
    check_edit(actor, item_unit(store, item_id))
    on = today(store.clock(now))
    at = iso(store.clock(now))
    with store.transaction() as con:
        current = _load(con, item_id, on, full=False)
        base_row = con.execute("SELECT * FROM ledger_versions WHERE item_id = ? AND version = ?",
                               (item_id, int(base_version))).fetchone()
        if base_row is None:
            raise NotFound("loop.err.unknown_item", item=f"{item_id} v{base_version}")
        base = _version_values(base_row)
        mine = {k: _clean(k, v, on, base[k]) for k, v in changes.items()}
        mine = {k: v for k, v in mine.items() if v != base[k]}  # what this person actually changed
        now_values = current.fields()
        theirs = {k for k in FIELDS if now_values[k] != base[k]}  # what others changed since the base version
        clash = sorted(k for k in mine if k in theirs and mine[k] != now_values[k])
        if clash:
            raise Conflict("loop.err.conflict", item=item_id, who=current.updated_by, current=current.version,
                           fields_zh="、".join(MESSAGES[f"loop.field.{k}"][0] for k in clash),
                           fields_en=", ".join(MESSAGES[f"loop.field.{k}"][1] for k in clash), fields=clash)
        new_values = {**now_values, **mine}
        changed = [k for k in FIELDS if new_values[k] != now_values[k]]
        if not changed:
            return _load(con, item_id, on)
        version = current.version + 1
        _insert_version(con, item_id, version, new_values, changed, actor, at)
        record_event(con, actor, "item_update", f"item:{item_id}",
                     {"version": version, "base_version": int(base_version),
                      "changes": _jsonable({k: new_values[k] for k in changed})}, at)
        return _load(con, item_id, on)


def add_comment(store: LoopStore, actor: Actor, item_id: int, text: str, *, now: datetime | None = None) -> Comment:
    """Append a comment (kept as text — HTML and formula-looking text are never interpreted)."""
    unit = item_unit(store, item_id)
    units = store.units()
    if not may_comment(actor, unit, units):
        if not may_see(actor, unit, units):
            check_see(actor, unit, units)
        raise refuse(actor, "comment")
    body = clean_text(text, "comment", limit=4000)
    at = iso(store.clock(now))
    with store.transaction() as con:
        cur = con.execute("INSERT INTO ledger_comments (item_id, text, who, role, at_utc) VALUES (?, ?, ?, ?, ?)",
                          (item_id, body, actor.name, actor.role, at))
        cid = int(cur.lastrowid or 0)
        record_event(con, actor, "item_comment", f"item:{item_id}", {"comment_id": cid, "text": body}, at)
    return Comment(cid, item_id, body, actor.name, actor.role, at)


def with_status(item: Item, on: date) -> Item:
    """The item with its effective status recomputed for the date `on` (a simulated today)."""
    return replace(item, effective_status=effective_status(item.status, item.due_date, on))
