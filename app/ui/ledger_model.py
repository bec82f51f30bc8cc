"""What the loop pages show, read from the loop store (h19a's etl/stores/{targets,ledger,evidence,alerts}.py): the one
place the app talks to those stores, so the pages, the header bell and the download route never do.

- `Actor` of the request (`actor()`), the injectable "today" (`today()`).
- targets: `target_rows`, `set_target`, `rag_statuses` (red/amber/green per indicator of a district), `share_met`
  (per district, for the overview).
- ledger: `items` (filtered, overdue first, opened value and current value), `item`, `open_item`, `set_status`,
  `comment`, `add_evidence`, `ledger_xlsx`.
- alerts: `alerts`, `unread_count`, `mark_read`.

Every state change goes through the store with the actor, which refuses what the actor may not do; these functions
turn its refusals into `LoopError` with a message in zh and en.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from dash import html

from app.state import AppContext
from app.ui import ledger_export
from app.ui.i18n import fmt_datetime, fmt_num, pick, t, unit_label
from app.web import security
from etl.stores import alerts as alert_store
from etl.stores import evidence as evidence_store
from etl.stores import ledger as ledger_store
from etl.stores import loop
from etl.stores import targets as target_store
from etl.stores.loop import LoopError, LoopStore
from etl.stores.roles import Permission
from etl.warehouse.snapshot import DataUnavailable
from indicators.targets import possible_range, share_met as _share_met

STATUSES = ("overdue", "open", "in_progress", "done")
RAG = ("red", "amber", "green", "none")
log = logging.getLogger("govindex.app")


# -- the store and who acts ----------------------------------------------------------------------------------------
_STORES: dict[Path, LoopStore] = {}
_STORES_LOCK = threading.Lock()


def store(ctx: AppContext) -> LoopStore:
    """The loop store of the app's configuration (opened, and migrated, once per process)."""
    path = ctx.config.paths.loop_path
    with _STORES_LOCK:
        if path not in _STORES:
            _STORES[path] = LoopStore.for_config(ctx.config)
        return _STORES[path]


def actor() -> loop.Actor:
    """The signed-in person as the store's Actor (a request without one was already refused by the auth layer)."""
    ident = security.current_identity()
    if ident is None:
        raise loop.Forbidden("loop.err.forbidden", role="—", what_zh="操作", what_en="do this")
    return loop.Actor(ident.name, ident.role, ident.district_code)


def error_text(e: LoopError, lang: str) -> str:
    return e.message(lang)


def may_open(unit: str) -> bool:
    """Whether this request's person may open and change `unit`'s items (their own district only)."""
    ident = security.current_identity()
    return ident is not None and loop.may_edit(loop.Actor(ident.name, ident.role, ident.district_code), unit)


def may_comment(ctx: AppContext, unit: str) -> bool:
    """Whether this request's person may comment on `unit`'s items: their own unit's and, by the unit table, those
    of every unit under it (a province's official comments on its counties' items), as the store decides."""
    ident = security.current_identity()
    return ident is not None and loop.may_comment(loop.Actor(ident.name, ident.role, ident.district_code), unit,
                                                  store(ctx).units())


def own_units(ctx: AppContext) -> tuple[str, ...]:
    """The units whose items this request's official sees: their own and, by the unit table, every unit under it
    (a province's official: the province and its counties); () for nobody or a role without a unit."""
    ident = security.current_identity()
    own = ident.district_code if ident is not None else None
    if not own:
        return ()
    units = store(ctx).units()
    return (units.subtree(own) if units is not None else ()) or (own,)


def district_names(ctx: AppContext, lang: str) -> dict[str, str]:
    try:
        return ctx.snapshot().district_names(lang)
    except DataUnavailable:
        return {code: (en if lang == "en" else zh) for code, (zh, en) in store(ctx).unit_names().items()}


def indicator_label(ctx: AppContext, indicator: str, lang: str) -> str:
    if indicator in ctx.catalog:
        d = ctx.catalog.indicator(indicator)
        return pick(d.name_zh, d.name_en, lang)
    return indicator


def decimals(ctx: AppContext, indicator: str) -> int:
    return ctx.catalog.indicator(indicator).decimals if indicator in ctx.catalog else 1


# -- values of the live snapshot -----------------------------------------------------------------------------------
def values(ctx: AppContext, period: str | None = None) -> tuple[str | None, pl.DataFrame]:
    """(period, frame of unit_code, indicator_id, value) of the live snapshot at `period` (default: the latest
    complete period), from the engine's cached raw values."""
    empty = pl.DataFrame(schema={"unit_code": pl.String, "indicator_id": pl.String, "value": pl.Float64})
    try:
        prep = ctx.prepared(ctx.profile(None))
    except (DataUnavailable, LookupError):
        return None, empty
    if not prep.periods:
        return None, empty
    name = period if period in prep.periods else prep.default_period
    raw = prep.result.raw[prep.periods.index(name)]
    units, inds = prep.units, prep.indicators
    frame = pl.DataFrame({
        "unit_code": [u for u in units for _ in inds],
        "indicator_id": [i for _ in units for i in inds],
        "value": [float(x) if np.isfinite(x) else None for x in np.asarray(raw, dtype=float).ravel()],
    }, schema=empty.schema)
    return name, frame


def current_value(ctx: AppContext, unit: str, indicator: str) -> tuple[str | None, float | None]:
    period, frame = values(ctx)
    hit = frame.filter((pl.col("unit_code") == unit) & (pl.col("indicator_id") == indicator))
    return period, (hit["value"][0] if hit.height else None)


# -- targets -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RagStatus:
    status: str  # red | amber | green | none
    target: float | None
    gap: float | None = None  # value − target in the good direction (negative: short of it)


@dataclass(frozen=True)
class TargetRow:
    unit: str
    unit_name: str
    indicator: str
    indicator_label: str
    cycle: str
    value: float | None
    catalog: float | None
    reason: str
    by: str
    at: datetime
    version: int
    decimals: int
    status: str


def status_frame(ctx: AppContext, period: str | None = None) -> tuple[str | None, pl.DataFrame]:
    """(period, values with target, direction and red/amber/green status) of the live snapshot."""
    name, frame = values(ctx, period)
    if name is None:
        return None, frame.with_columns(pl.lit(None, pl.Float64).alias("target"),
                                        pl.lit(None, pl.String).alias("status"))
    out = target_store.status_frame(store(ctx), frame, name, ctx.config.ledger.amber_band, ctx.catalog)
    return name, out


def rag_statuses(ctx: AppContext, unit: str, period: str | None, _indicators: object = None) -> dict[str, RagStatus]:
    """Each indicator's status against its target for `unit` at `period`."""
    _, frame = status_frame(ctx, period)
    out = {}
    for r in frame.filter(pl.col("unit_code") == unit).iter_rows(named=True):
        gap = None
        if r["value"] is not None and r["target"] is not None:
            gap = (r["value"] - r["target"]) * (1 if (r["direction"] or 1) >= 0 else -1)
        out[r["indicator_id"]] = RagStatus(r["status"] or "none", r["target"], gap)
    return out


def share_met(ctx: AppContext, period: str | None = None) -> pl.DataFrame:
    """Per district: targets met, targets with a status, and the share (for the overview)."""
    _, frame = status_frame(ctx, period)
    if frame.height == 0:
        return pl.DataFrame(schema={"unit_code": pl.String, "met": pl.Int64, "with_target": pl.Int64,
                                    "share": pl.Float64})
    return _share_met(frame)


def attrs(mapping: dict[str, Any]) -> dict[str, Any]:
    """data-*/aria-* attributes for a Dash component (`**attrs({...})`: typed for the components' keyword hints)."""
    return mapping


def rag_chip(status: str | None, lang: str) -> html.Span:
    s = status if status in RAG else "none"
    return html.Span(t(f"rag.{s}", lang), className=f"rag {s}", **attrs({"data-rag": s}))


def cycle_choices(ctx: AppContext) -> list[str]:
    """Cycles a target can be set for, newest first: the years of the data and the next one, then the quarters of
    the latest year."""
    years: set[str] = {str(today(ctx).year)}
    quarters: list[str] = []
    try:
        periods = ctx.prepared(ctx.profile(None)).periods
    except (DataUnavailable, LookupError):
        periods = ()
    for p in periods:
        years.add(p[:4])
    latest = max(years)
    years.add(str(int(latest) + 1))
    quarters = [f"{latest}Q{q}" for q in (4, 3, 2, 1)]
    return sorted(years, reverse=True) + quarters


def target_hint(ctx: AppContext, indicator: str, lang: str) -> str:
    if indicator not in ctx.catalog:
        return ""
    d = ctx.catalog.indicator(indicator)
    low, high = possible_range(d.unit)
    rng = f"{low:g}–{'∞' if math.isinf(high) else f'{high:g}'}"
    better = "越高越好" if d.direction > 0 else "越低越好"
    if lang == "en":
        better = "higher is better" if d.direction > 0 else "lower is better"
        return (f"Unit: {unit_label(d.unit, lang)}; {better}; possible range {rng}; catalogue target "
                f"{fmt_num(d.target, lang, d.decimals) if d.target is not None else '—'}.")
    return (f"单位：{unit_label(d.unit, lang)}；{better}；可能范围 {rng}；目录目标值 "
            f"{fmt_num(d.target, lang, d.decimals) if d.target is not None else '—'}。")


def _at(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else datetime.min


def target_rows(ctx: AppContext, lang: str) -> list[TargetRow]:
    """The targets set (latest version of each), newest first, with their status at the latest period."""
    current = target_store.current_targets(store(ctx))
    if not current:
        return []
    names = district_names(ctx, lang)
    _, frame = status_frame(ctx)
    status = {(r["unit_code"], r["indicator_id"]): r["status"] for r in frame.iter_rows(named=True)}
    rows = []
    for (unit, ind, cycle), x in current.items():
        cat = ctx.catalog.indicator(ind).target if ind in ctx.catalog else None
        rows.append(TargetRow(unit, names.get(unit, unit), ind, indicator_label(ctx, ind, lang), cycle, x.value, cat,
                              x.reason, x.who, _at(x.at_utc), x.version, decimals(ctx, ind),
                              status.get((unit, ind)) or "none"))
    return sorted(rows, key=lambda r: r.at, reverse=True)


def target_versions(ctx: AppContext, lang: str) -> list[TargetRow]:
    """Every version of every target set (the audit of who changed what, when and why), newest first."""
    names = district_names(ctx, lang)
    rows = []
    for unit, ind, cycle in target_store.current_targets(store(ctx)):
        cat = ctx.catalog.indicator(ind).target if ind in ctx.catalog else None
        rows += [TargetRow(unit, names.get(unit, unit), ind, indicator_label(ctx, ind, lang), cycle, x.value, cat,
                           x.reason, x.who, _at(x.at_utc), x.version, decimals(ctx, ind), "none")
                 for x in target_store.target_history(store(ctx), unit, ind, cycle)]
    return sorted(rows, key=lambda r: (r.at, r.version), reverse=True)


def set_target(ctx: AppContext, unit: str, indicator: str, cycle: str, value: object, reason: str,
               lang: str = "zh") -> TargetRow:
    """A new version of the target (the store refuses a role without SET_TARGETS, an out-of-range value, …)."""
    x = target_store.set_target(store(ctx), actor(), unit, indicator, cycle, value, reason, catalog=ctx.catalog)
    cat = ctx.catalog.indicator(indicator).target if indicator in ctx.catalog else None
    return TargetRow(unit, district_names(ctx, lang).get(unit, unit), indicator, indicator_label(ctx, indicator, lang),
                     cycle, x.value, cat, x.reason, x.who, _at(x.at_utc), x.version, decimals(ctx, indicator), "none")


# -- the clock -----------------------------------------------------------------------------------------------------
def now(ctx: AppContext) -> datetime:
    """The time the loop's date rules use: the store's clock (the real time, or on the simulated date of
    `ledger.today` / GOVINDEX_TODAY, decided in etl/stores/loop.py and nowhere else)."""
    return store(ctx).clock()


def today(ctx: AppContext) -> date:
    """Today in Asia/Shanghai (or the simulated date)."""
    return loop.today(now(ctx))


# -- the ledger ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comment:
    who: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Evidence:
    evidence_id: int
    name: str
    size: int
    sha256: str
    who: str
    at: datetime


@dataclass(frozen=True)
class Change:
    who: str
    at: datetime
    what: str  # in the page's language


@dataclass(frozen=True)
class ItemView:
    """An item as the ledger page shows it, in the page's language."""

    item_id: int
    unit: str
    unit_name: str
    indicator: str
    indicator_label: str
    problem: str
    action: str
    owner: str
    due: date
    status: str  # the effective status: open | in_progress | done | overdue
    stored_status: str  # open | in_progress | done
    opened_value: float | None
    current_value: float | None
    decimals: int
    opened_by: str
    opened_at: datetime
    version: int
    days_overdue: int = 0
    comments: tuple[Comment, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    history: tuple[Change, ...] = ()


def status_text(status: str, lang: str) -> str:
    return t(f"ledger.status.{status}", lang)


def _item_id(item_id: object) -> int:
    try:
        return int(str(item_id))
    except ValueError:
        raise loop.NotFound("loop.err.unknown_item", item=str(item_id)[:40]) from None


def _view(ctx: AppContext, i: ledger_store.Item, lang: str, current: dict[tuple[str, str], float | None],
          on: date, history: tuple[Change, ...] = ()) -> ItemView:
    names = district_names(ctx, lang)
    return ItemView(
        item_id=i.item_id, unit=i.unit_code, unit_name=names.get(i.unit_code, i.unit_code),
        indicator=i.indicator_id, indicator_label=indicator_label(ctx, i.indicator_id, lang), problem=i.problem,
        action=i.action, owner=i.owner, due=i.due_date, status=i.effective_status, stored_status=i.status,
        opened_value=i.opened_value, current_value=current.get((i.unit_code, i.indicator_id)),
        decimals=decimals(ctx, i.indicator_id), opened_by=i.opened_by, opened_at=_at(i.opened_at), version=i.version,
        days_overdue=(on - i.due_date).days if i.effective_status == "overdue" else 0,
        comments=tuple(Comment(c.who, _at(c.at_utc), c.text) for c in i.comments),
        evidence=tuple(Evidence(e.evidence_id, e.name, e.size_bytes, e.sha256, e.who, _at(e.at_utc))
                       for e in i.evidence),
        history=history,
    )


def _current(ctx: AppContext) -> dict[tuple[str, str], float | None]:
    _, frame = values(ctx)
    return {(r["unit_code"], r["indicator_id"]): r["value"] for r in frame.iter_rows(named=True)}


def items(ctx: AppContext, lang: str, *, district: str | None = None, status: str | None = None) -> list[ItemView]:
    """The items this person may see (of `district`, with `status`), overdue first, with the indicator's value now."""
    when = now(ctx)
    found = ledger_store.list_items(store(ctx), actor(), unit_code=district, status=status, now=when)
    current = _current(ctx)
    on = loop.today(when)
    return [_view(ctx, i, lang, current, on) for i in found]


def _field_text(ctx: AppContext, name: str, value: object, lang: str) -> str:
    if name == "status":
        return status_text(str(value), lang)
    if isinstance(value, date):
        return fmt_datetime(value, lang)
    return str(value)


def _history(ctx: AppContext, item: ledger_store.Item, versions: list[ledger_store.Item], lang: str
             ) -> tuple[Change, ...]:
    out: list[Change] = []
    prev: ledger_store.Item | None = None
    for v in versions:
        if prev is None:
            what = t("ledger.h.opened", lang, status=status_text(v.status, lang))
        else:
            parts = [t("ledger.h.field", lang, field=loop.message(f"loop.field.{k}", lang),
                       old=_field_text(ctx, k, getattr(prev, k), lang), new=_field_text(ctx, k, getattr(v, k), lang))
                     for k in v.changed]
            what = "；".join(parts) if lang == "zh" else "; ".join(parts)
        out.append(Change(v.updated_by, _at(v.updated_at), what))
        prev = v
    out += [Change(c.who, _at(c.at_utc), t("ledger.h.comment", lang)) for c in item.comments]
    out += [Change(e.who, _at(e.at_utc), t("ledger.h.evidence", lang, name=e.name)) for e in item.evidence]
    return tuple(sorted(out, key=lambda c: c.at))


def item(ctx: AppContext, item_id: object, lang: str) -> ItemView:
    """One item with comments, evidence and the history of its changes (refused for another district's official)."""
    when = now(ctx)
    who = actor()
    iid = _item_id(item_id)
    found = ledger_store.get_item(store(ctx), who, iid, now=when)
    versions = ledger_store.item_history(store(ctx), who, iid, now=when)
    return _view(ctx, found, lang, _current(ctx), loop.today(when), _history(ctx, found, versions, lang))


def open_item(ctx: AppContext, unit: str, indicator: str, *, problem: str, action: str, owner: str, due: str,
              lang: str = "zh") -> ItemView:
    """Open an item for `unit`'s `indicator`; its value when opened is read here, from the live snapshot."""
    period, value = current_value(ctx, unit, indicator)
    when = now(ctx)
    found = ledger_store.open_item(store(ctx), actor(), unit, indicator, problem=problem, action=action, owner=owner,
                                   due_date=due, opened_value=value, opened_period=period, catalog=ctx.catalog,
                                   now=when)
    return _view(ctx, found, lang, _current(ctx), loop.today(when))


def set_status(ctx: AppContext, item_id: object, status: str, base_version: int | None) -> ItemView:
    """A new version with `status`, based on the version the person saw (merged with concurrent changes)."""
    when = now(ctx)
    who = actor()
    iid = _item_id(item_id)
    if base_version is None:
        base_version = ledger_store.get_item(store(ctx), who, iid, now=when).version
    found = ledger_store.update_item(store(ctx), who, iid, int(base_version), {"status": status}, now=when)
    return _view(ctx, found, "zh", _current(ctx), loop.today(when))


def comment(ctx: AppContext, item_id: object, text: str) -> None:
    ledger_store.add_comment(store(ctx), actor(), _item_id(item_id), text, now=now(ctx))


# -- evidence ------------------------------------------------------------------------------------------------------
def evidence_max_mb(ctx: AppContext) -> str:
    return f"{ctx.config.ledger.evidence_max_mb:g}"


def evidence_types_text(ctx: AppContext) -> str:
    return "、".join(evidence_store.LABELS.get(k, k) for k in ctx.config.ledger.evidence_types)


def decode_upload(contents: str) -> bytes:
    """The bytes of a dcc.Upload value ("data:<type>;base64,<data>"); BadInput for anything else."""
    head, _, body = str(contents).partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise loop.BadInput("loop.err.evidence_type", name="?", found="unknown", allowed="—")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise loop.BadInput("loop.err.evidence_type", name="?", found="unknown", allowed="—") from None


def add_evidence(ctx: AppContext, item_id: object, name: str, data: bytes) -> Evidence:
    """Attach a file (the store checks the district, the size and the type by content)."""
    ref = evidence_store.attach(store(ctx), actor(), _item_id(item_id), name, data, now=now(ctx))
    return Evidence(ref.evidence_id, ref.name, ref.size_bytes, ref.sha256, ref.who, _at(ref.at_utc))


def read_evidence(ctx: AppContext, evidence_id: object) -> tuple[str, str, bytes]:
    """(name, kind, bytes) of an evidence file this person may see."""
    ref, data = evidence_store.read(store(ctx), actor(), _item_id(evidence_id))
    return ref.name, ref.kind, data


def evidence_accept(ctx: AppContext) -> str:
    """The file chooser's accept list (a courtesy; the store decides by content)."""
    return ",".join(x for k in ctx.config.ledger.evidence_types for x in evidence_store.EXTENSIONS.get(k, ()))


# -- alerts --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertView:
    alert_id: int
    at: datetime
    kind: str
    unit: str | None
    message: str
    read: bool
    severity: str


def alerts(ctx: AppContext, lang: str, *, unread: bool = False, limit: int = 200) -> list[AlertView]:
    """The alerts that concern this person (their district's, or every district's), newest first (`limit` of them)."""
    found = alert_store.list_alerts(store(ctx), actor(), unread=unread, limit=limit)
    return [AlertView(a.alert_id, _at(a.created_at), alert_store.rule_label(a.rule, lang), a.unit_code,
                      alert_store.text(a, lang), a.read, a.severity) for a in found]


def unread_count(ctx: AppContext) -> int:
    """This person's unread alerts (0 when nobody is signed in or the store cannot be read: the bell is no reason
    for a page to fail)."""
    if security.current_identity() is None:
        return 0
    try:
        return alert_store.unread_count(store(ctx), actor())
    except LoopError as e:
        log.warning("alerts bell: %s", e)
        return 0


def mark_read(ctx: AppContext, alert_ids: list[str] | None) -> int:
    """Mark this person's alerts read (None: all they see); only their own read state changes."""
    ids = None if alert_ids is None else [_item_id(a) for a in alert_ids]
    return alert_store.mark_read(store(ctx), actor(), ids)


# -- the XLSX ledger -----------------------------------------------------------------------------------------------
def ledger_xlsx(ctx: AppContext, district: str | None, lang: str) -> tuple[bytes, str]:
    """(workbook, file name) of `district`'s ledger, or of every district this person sees (an official: their
    own); the store refuses another district's."""
    who = actor()
    unit = district or (None if who.may(Permission.ALL_DISTRICTS) else who.district_code)
    if unit is not None:
        loop.check_unit(unit, store(ctx).units())
    _, vals = values(ctx)
    when = now(ctx)
    data = ledger_export.ledger_xlsx_for(store(ctx), who, lang, unit_code=unit, values=vals, now=when)
    return data, ledger_export.filename(unit, lang, when, store(ctx).unit_names())
