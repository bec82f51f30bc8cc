"""The rectification ledger (整改台账) as an XLSX workbook in the form a 督查 office files: a cover (title, unit,
export time in Beijing time, counts by status) and the ledger sheet (序号, 问题, 整改措施, 责任人, 时限, 进展, 状态,
佐证材料, with the district, the indicator and the value when opened and now), overdue items first. Per district or
city-wide. Every text cell is written as text with formula-looking text quote-prefixed (etl/safe_export.py rules):
items, comments and evidence names are free text typed by people.

API:
- `ledger_xlsx(items, lang="zh", *, unit_code=None, values=None, catalog=None, now=None) -> bytes`: `items` as
  `etl.stores.ledger.list_items(..., full=True)` returns them (what the person may see); `unit_code` None = 全市.
- `ledger_xlsx_for(store, actor, lang="zh", *, unit_code=None, values=None, now=None) -> bytes`: the same for what
  `actor` may see (the permission check is the store's), for a download callback or the CLI.
- `filename(unit_code, lang, now=None) -> str`: e.g. "整改台账_徐汇区_20260302.xlsx".
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl
import xlsxwriter

from app.ui.i18n import fmt_datetime, to_shanghai
from etl.contract.catalog import load_catalog
from etl.safe_export import is_formula_text
from etl.stores import ledger
from etl.stores.loop import MESSAGES, Actor, LoopStore, check_see, now_utc, today
from etl.stores.roles import Permission
from indicators.catalog import Catalog

_WORDS: dict[str, tuple[str, str]] = {
    "title": ("一网通办绩效整改台账", "One-stop service performance: rectification ledger"),
    "city": ("全市（16 个区）", "City-wide (16 districts)"),
    "unit": ("填报单位", "Unit"),
    "exported": ("导出时间", "Exported"),
    "total": ("整改事项", "Items"),
    "cover": ("封面", "Cover"),
    "sheet": ("整改台账", "Ledger"),
    "seq": ("序号", "No."),
    "district": ("区", "District"),
    "indicator": ("指标", "Indicator"),
    "evidence": ("佐证材料", "Evidence"),
    "opened": ("开立时数值", "Value when opened"),
    "current": ("现值", "Value now"),
    "comments": ("评论", "Comments"),
    "updated": ("最近更新", "Last updated"),
    "none": ("无", "none"),
    "note": ("状态“逾期”按北京时间当日判定：时限已过且未完成。",
             "'Overdue' is judged on today's date in Beijing time: past the due date and not done."),
}


def _w(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return en if lang == "en" else zh


def _m(key: str, lang: str) -> str:
    zh, en = MESSAGES[key]
    return en if lang == "en" else zh


def _unit_name(unit_code: str | None, lang: str, names: Mapping[str, tuple[str, str]] | None = None) -> str:
    if unit_code is None:
        return _w("city", lang)
    zh, en = (names or {}).get(unit_code, (unit_code, unit_code))
    return en if lang == "en" else zh


def filename(unit_code: str | None, lang: str = "zh", now: datetime | None = None,
             names: Mapping[str, tuple[str, str]] | None = None) -> str:
    d = to_shanghai(now_utc(now)).date()
    stamp = f"{d.year:04d}{d.month:02d}{d.day:02d}"  # a file name, not a time shown to people
    name = _unit_name(unit_code, lang, names) if unit_code else ("全市" if lang != "en" else "city")
    base = "整改台账" if lang != "en" else "rectification-ledger"
    return f"{base}_{name.replace(' ', '-')}_{stamp}.xlsx"


def _text(ws: Any, r: int, c: int, value: Any, fmt: Any, quoted: Any) -> None:
    """A cell written as text, never as a formula (formula-looking text also quote-prefixed)."""
    text = "" if value is None else str(value)
    ws.write_string(r, c, text, quoted if is_formula_text(text) else fmt)


def ledger_xlsx(items: Sequence[ledger.Item], lang: str = "zh", *, unit_code: str | None = None,
                values: pl.DataFrame | None = None, catalog: Catalog | None = None,
                now: datetime | None = None, names: Mapping[str, tuple[str, str]] | None = None) -> bytes:
    """The workbook (see the module docstring); `names`: code → (Chinese, English) of the units (the unit table)."""
    cat = catalog if catalog is not None else load_catalog()
    when = now_utc(now)
    on = today(when)
    items = sorted((ledger.with_status(i, on) for i in items), key=ledger.sort_key)
    current = {} if values is None else {(u, i): v for u, i, v in
                                         values.select("unit_code", "indicator_id", "value").iter_rows()}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    title_f = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "vcenter",
                          "align": "center"})
    cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    quoted = wb.add_format({"border": 1, "text_wrap": True, "valign": "top", "quote_prefix": True})
    nums: dict[int, Any] = {}

    def num(decimals: int) -> Any:
        if decimals not in nums:
            nums[decimals] = wb.add_format({"border": 1, "valign": "top",
                                            "num_format": "0." + "0" * decimals if decimals else "0"})
        return nums[decimals]

    seq = wb.add_format({"border": 1, "valign": "top", "align": "center"})
    late = wb.add_format({"border": 1, "valign": "top", "font_color": "#C00000", "bold": True})
    unit_text = _unit_name(unit_code, lang, names)
    title = f"{unit_text if unit_code else ''}{_w('title', lang)}" if lang != "en" else \
        f"{_w('title', lang)} — {unit_text}"

    cover = wb.add_worksheet(_w("cover", lang))
    cover.set_column(0, 0, 18)
    cover.set_column(1, 1, 50)
    cover.merge_range(0, 0, 0, 1, title, title_f)
    cover.set_row(0, 36)
    counts = {s: sum(1 for i in items if i.effective_status == s) for s in ledger.STATUSES}
    rows: list[tuple[str, str]] = [
        (_w("unit", lang), unit_text),
        (_w("exported", lang), fmt_datetime(when, lang)),
        (_w("total", lang), str(len(items))),
        *((_m(f"loop.status.{s}", lang), str(counts[s])) for s in ("overdue", "open", "in_progress", "done")),
    ]
    for r, (k, v) in enumerate(rows, start=2):
        cover.write_string(r, 0, k, bold)
        _text(cover, r, 1, v, None, None)
    cover.write_string(len(rows) + 3, 0, _w("note", lang))

    ws = wb.add_worksheet(_w("sheet", lang))
    cols = [_w("seq", lang), *([_w("district", lang)] if unit_code is None else []), _w("indicator", lang),
            _m("loop.field.problem", lang), _m("loop.field.action", lang), _m("loop.field.owner", lang),
            _m("loop.field.due_date", lang), _m("loop.field.progress", lang), _m("loop.field.status", lang),
            _w("evidence", lang), _w("opened", lang), _w("current", lang), _w("comments", lang),
            _w("updated", lang)]
    widths = {_w("seq", lang): 6, _w("district", lang): 10, _w("indicator", lang): 22,
              _m("loop.field.problem", lang): 30, _m("loop.field.action", lang): 34,
              _m("loop.field.owner", lang): 10, _m("loop.field.due_date", lang): 12,
              _m("loop.field.progress", lang): 30, _m("loop.field.status", lang): 8, _w("evidence", lang): 24,
              _w("opened", lang): 10, _w("current", lang): 10, _w("comments", lang): 36, _w("updated", lang): 22}
    for c, name in enumerate(cols):
        ws.set_column(c, c, widths.get(name, 14))
    ws.merge_range(0, 0, 0, len(cols) - 1, title, title_f)
    ws.set_row(0, 32)
    ws.merge_range(1, 0, 1, len(cols) - 1,
                   f"{_w('unit', lang)}：{unit_text}    {_w('exported', lang)}：{fmt_datetime(when, lang)}"
                   if lang != "en" else f"{_w('unit', lang)}: {unit_text}    {_w('exported', lang)}: "
                   f"{fmt_datetime(when, lang)}", None)
    for c, name in enumerate(cols):
        ws.write_string(2, c, name, head)
    ws.freeze_panes(3, 0)
    for n, item in enumerate(items, start=1):
        r = 2 + n
        ind = cat.indicator(item.indicator_id) if item.indicator_id in cat else None
        ind_name = (ind.name_en if lang == "en" else ind.name_zh) if ind is not None else item.indicator_id
        decimals = ind.decimals if ind is not None else 1
        evidence = "\n".join(f"{e.name}（SHA-256 {e.sha256[:12]}）" if lang != "en" else
                             f"{e.name} (SHA-256 {e.sha256[:12]})" for e in item.evidence) or _w("none", lang)
        comments = "\n".join(f"{fmt_datetime(c.at_utc, lang)} {c.who}: {c.text}" for c in item.comments)
        now_value = current.get((item.unit_code, item.indicator_id))
        row: list[tuple[Any, str]] = [(n, "num"), *([(_unit_name(item.unit_code, lang, names), "text")]
                                                     if unit_code is None else []),
                                      (ind_name, "text"), (item.problem, "text"), (item.action, "text"),
                                      (item.owner, "text"), (fmt_datetime(item.due_date, lang), "text"),
                                      (item.progress, "text"),
                                      (_m(f"loop.status.{item.effective_status}", lang), "status"),
                                      (evidence, "text"), (item.opened_value, "value"), (now_value, "value"),
                                      (comments, "text"), (f"{fmt_datetime(item.updated_at, lang)} {item.updated_by}",
                                                           "text")]
        for c, (v, kind) in enumerate(row):
            if kind == "num":
                ws.write_number(r, c, v, seq)
            elif kind == "value":
                if v is None:
                    ws.write_blank(r, c, None, cell)
                else:
                    ws.write_number(r, c, float(v), num(decimals))
            elif kind == "status":
                ws.write_string(r, c, str(v), late if item.effective_status == "overdue" else cell)
            else:
                _text(ws, r, c, v, cell, quoted)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2)
    wb.close()
    return buf.getvalue()


def ledger_xlsx_for(store: LoopStore, actor: Actor, lang: str = "zh", *, unit_code: str | None = None,
                    values: pl.DataFrame | None = None, now: datetime | None = None) -> bytes:
    """The ledger `actor` may see (one district, or every district the actor sees) as the workbook; a district
    official's city-wide request is their own district's ledger."""
    if unit_code is None and not actor.may(Permission.ALL_DISTRICTS):
        unit_code = actor.district_code
    if unit_code is not None:
        check_see(actor, unit_code, store.units())
    now = store.clock(now)  # the simulated date (ledger.today) when one is set
    items = ledger.list_items(store, actor, unit_code=unit_code, now=now, full=True)
    return ledger_xlsx(items, lang, unit_code=unit_code, values=values, now=now, names=store.unit_names())
