"""Exports a leader can forward unchanged: the district scorecard and the overview as XLSX workbooks.

Each workbook opens on a cover sheet (title, period, weight profile, edition or snapshot, export time in Beijing time,
data coverage, and the direction of every indicator), then one sheet per table. Every table is written from its view
model's frame through one column specification (`Col`: field → header key, kind): a field a view model gains is
exported with a header as soon as it has a row in the spec, and the kind decides the number format (scores to one
decimal with 分, ranks as integers, sample sizes as integers with 万 for large ones, percentages as %), and the
colour: green means better, red worse, whatever the sign (a negative 距目标 is good, so it is green).

Text is always written as text (never a formula), as etl.safe_export explains: names and quarantined values are free
text from uploaded files. The quarantine CSV is built on its page.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import polars as pl
import xlsxwriter

from app.state import AppContext
from app.ui.figures import sparkline_text
from app.ui.i18n import (bilingual_part, check_label, fmt_datetime, fmt_int, fmt_period, interval_method_label,
                         missing_reason_label, pick, t, table_label, unit_label)
from app.views import frames as views
from app.ui.readings import fmt_k_of_n
from app.views.methodology import coverage_from_snapshot
from etl.safe_export import is_formula_text
from etl.warehouse.snapshot import DataUnavailable
from indicators.spec import BandSpec

GREEN = "#1E8449"
RED = "#C0392B"
AMBER = "#B9770E"
HEADER_FILL = "#DCE6F1"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- the column specification ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """One exported column: the view model's `field`, its header (an i18n key) and its kind (format and colour).

    Kinds: text, code, side, direction, flag (是/否), band, period, score (0.0 分), points (+0.00 分), rank, count
    (integers, 万 when large), raw (the indicator's own decimals; % units as percentages), gap_target (negative =
    better than target: green), gap_best (0 = the best district), change (rank places: up is green), spark (a trend
    as a unicode sparkline), interval (a 'lo–hi' text from rank_lo and rank_hi), interval_method and missing_reason
    (their labels). `drop_if_constant`: leave the
    column out when every row has the same value (a column that says nothing)."""

    field: str
    header: str
    kind: str = "text"
    drop_if_constant: bool = False


#: the district's indicator sheet, in the order people read it
INDICATOR_COLS: tuple[Col, ...] = (
    Col("label", "col.indicator"), Col("indicator", "col.code", "code"), Col("side", "col.side", "side"),
    Col("dimension", "col.dimension"), Col("direction", "col.direction", "direction"),
    Col("value", "col.value", "raw"), Col("unit", "col.unit"), Col("target", "col.target", "raw"),
    Col("gap_target", "col.gap_target", "gap_target"), Col("gap_best", "col.gap_best", "gap_best"),
    Col("score", "col.ind_score", "score"), Col("rank", "col.ind_rank", "rank"),
    Col("rank_lo", "export.col.rank_lo", "rank"), Col("rank_hi", "export.col.rank_hi", "rank"),
    Col("priority", "export.col.priority", "points"),
    Col("trend", "col.trend", "spark"), Col("sample", "col.sample", "count"), Col("n", "col.n", "count"),
    # the value's 95% interval on its own scale, how it was computed, and why a value is missing
    Col("ci_low", "col.ci_low", "raw"), Col("ci_high", "col.ci_high", "raw"),
    Col("interval_method", "col.interval_method", "interval_method"),
    Col("missing_reason", "col.missing_reason", "missing_reason"),
    Col("imputed", "export.col.imputed_flag", "flag"),
    # only with a profile that shrinks (the view model has these fields then): which values were shrunk toward the
    # city level and the value scored
    Col("shrunk", "export.col.shrunk_flag", "flag"), Col("shrunk_value", "export.col.shrunk_value", "raw"),
)
DIMENSION_COLS: tuple[Col, ...] = (
    Col("label", "col.dimension"), Col("this", "district.this", "score"), Col("median", "district.median", "score"),
    Col("best", "district.best", "score"), Col("best_name", "export.col.best_name"),
)
PRIORITY_COLS: tuple[Col, ...] = (
    Col("label", "col.indicator"), Col("composite_gain", "col.gain", "points"),
    Col("rank_gain", "export.col.rank_gain", "change", drop_if_constant=True),
    Col("new_rank", "export.col.new_rank", "rank", drop_if_constant=True),
    Col("value", "export.col.value_now", "raw"), Col("new_value", "export.col.value_then", "raw"),
)
QUARANTINE_COLS: tuple[Col, ...] = (
    Col("table_name", "col.table", "table"), Col("source_file", "col.file"),
    Col("row_number", "col.row_number", "rank"), Col("column_name", "col.column"),
    Col("check_name", "col.check_kind", "check"), Col("value", "export.col.bad_value"),
    Col("reason", "col.reason", "reason"), Col("district_code", "col.code", "code", drop_if_constant=True),
    Col("loaded_at", "col.loaded_at", "time"),
)
#: the overview's ranking sheet
RANKING_COLS: tuple[Col, ...] = (
    Col("rank", "col.rank", "rank"), Col("name", "col.district"), Col("unit_code", "col.code", "code"),
    Col("score", "col.score", "score"), Col("band", "col.band", "band"),
    Col("rank_interval", "col.rank_interval", "interval"), Col("rank_median", "export.col.rank_median", "rank"),
    Col("change", "col.change", "change"),
    Col("supply", "col.supply", "score"), Col("supply_rank", "export.col.supply_rank", "rank"),
    Col("demand", "col.demand", "score"), Col("demand_rank", "export.col.demand_rank", "rank"),
    Col("gap", "col.gap", "points"), Col("task_oriented", "quadrant.task", "flag"),
    Col("n", "export.col.n", "count"), Col("imputed", "export.col.imputed", "count"),
)


# -- the cover ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportMeta:
    """What the cover sheet says about where the figures come from."""

    period: str
    profile_title: str
    edition_line: str | None = None  # which edition (or which unpublished refresh) the figures are from
    source_line: str | None = None  # which stored run, or computed and not stored
    coverage_line: str | None = None
    exported_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    directions: pl.DataFrame | None = None  # label, side, direction (+1/−1), unit


def export_meta(ctx: AppContext, profile_name: str | None, period: str, source: views.ScoreSource, lang: str,
                edition_line: str | None = None) -> ExportMeta:
    """The cover's facts for a profile and period, read from the app's context."""
    profile = ctx.profile(profile_name)
    return ExportMeta(period=period, profile_title=pick(profile.title_zh, profile.title_en, lang),
                      edition_line=edition_line, source_line=views.source_text(source, lang),
                      coverage_line=coverage_line(ctx, lang), directions=directions_frame(ctx, lang))


def coverage_line(ctx: AppContext, lang: str) -> str | None:
    """'数据覆盖：2024年1月至2026年9月（33 个完整月），16 个区；问题数据 12 行已隔离' (None without a snapshot)."""
    try:
        cov = coverage_from_snapshot(ctx.snapshot())
    except DataUnavailable:
        return None
    if not cov.months:
        return t("export.coverage.none", lang, units=cov.n_units, q=fmt_int(cov.quarantine_total, lang))
    return t("export.coverage", lang, first=fmt_period(cov.months[0], lang), last=fmt_period(cov.months[-1], lang),
             months=len(cov.months), units=cov.n_units, q=fmt_int(cov.quarantine_total, lang))


def directions_frame(ctx: AppContext, lang: str) -> pl.DataFrame:
    """Every indicator of the framework with its side, direction and unit, in framework order."""
    rows = []
    for code in ctx.framework.indicators:
        d = ctx.catalog.indicator(code) if code in ctx.catalog else None
        node = ctx.framework.node(code)
        rows.append({"label": pick(d.name_zh, d.name_en, lang) if d else code, "indicator": code,
                     "side": views.side_of(ctx, code), "direction": node.direction,
                     "unit": unit_label(d.unit if d else node.unit, lang),
                     # a context indicator is exported with its note: shown, never scored
                     "role": (t("role.context_note", lang, why=pick(d.context_note_zh, d.context_note_en, lang))
                              if d is not None and d.role == "context" else t("role.scored", lang))})
    return pl.DataFrame(rows, schema={"label": pl.String, "indicator": pl.String, "side": pl.String,
                                      "direction": pl.Int64, "unit": pl.String, "role": pl.String})


DIRECTION_COLS: tuple[Col, ...] = (
    Col("label", "col.indicator"), Col("indicator", "col.code", "code"), Col("side", "col.side", "side"),
    Col("direction", "col.direction", "direction"), Col("unit", "col.unit"), Col("role", "col.role"),
)


# -- the workbook ------------------------------------------------------------------------------------------------
class _Book:
    """An xlsxwriter workbook with a cache of cell formats (xlsxwriter wants one object per distinct format)."""

    def __init__(self, lang: str) -> None:
        self.buf = io.BytesIO()
        # belt and braces: even a stray write() of "=..." or "http://..." stays text
        self.wb = xlsxwriter.Workbook(self.buf, {"in_memory": True, "strings_to_formulas": False,
                                                 "strings_to_urls": False})
        self.lang = lang
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format({"font_name": "Microsoft YaHei", "font_size": 10, **props})
        return self._formats[key]

    def text(self, ws: Any, i: int, j: int, value: str, **props: Any) -> None:
        """Text as text: a value a spreadsheet would run as a formula also gets the quote prefix."""
        ws.write_string(i, j, value, self.fmt(**props, quote_prefix=True) if is_formula_text(value) else
                        self.fmt(**props))

    def close(self) -> bytes:
        self.wb.close()
        return self.buf.getvalue()


def _width(value: object) -> int:
    """Display width of a cell's text: CJK characters count twice."""
    s = str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _constant(frame: pl.DataFrame, col: str) -> bool:
    return frame.height > 1 and frame[col].n_unique() == 1


def present_columns(frame: pl.DataFrame, spec: Sequence[Col]) -> list[Col]:
    """The spec's columns this frame has (in spec order), less those that say nothing (`drop_if_constant`)."""
    out = []
    for c in spec:
        if c.kind == "interval":
            if {"rank_lo", "rank_hi"} <= set(frame.columns) and frame["rank_lo"].null_count() < frame.height:
                out.append(c)
            continue
        if c.field not in frame.columns or (c.drop_if_constant and _constant(frame, c.field)):
            continue
        out.append(c)
    return out


def _score_format(lang: str, decimals: int = 1, signed: bool = False) -> str:
    d = "0." + "0" * decimals if decimals else "0"
    suffix = '"分"' if lang == "zh" else ""
    return f"+{d}{suffix};-{d}{suffix};{d}{suffix}" if signed else f"{d}{suffix}"


def _count_format(lang: str) -> str:
    # Chinese readers count in 万: 33,811,200 shows as 3381.1万 (the value stays the exact number)
    return '[>=100000]0!.0,"万";#,##0' if lang == "zh" else "#,##0"


def _raw_format(decimals: int, percent: bool, signed: bool = False) -> str:
    d = "#,##0" + ("." + "0" * decimals if decimals else "")
    if percent:
        d = "0" + ("." + "0" * decimals if decimals else "") + "%"
    return f"+{d};-{d};{d}" if signed else d


def _is_percent(unit: object) -> bool:
    return str(unit or "").strip() == "%"


def _write_table(book: _Book, ws: Any, top: int, frame: pl.DataFrame, spec: Sequence[Col],
                 widths: list[int] | None = None) -> int:
    """The frame's spec columns at row `top`: a header row, then one row per record. Returns the next free row."""
    lang = book.lang
    cols = present_columns(frame, spec)
    widths = widths if widths is not None else [0] * len(cols)
    while len(widths) < len(cols):
        widths.append(0)
    header = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    for j, c in enumerate(cols):
        label = t(c.header, lang)
        ws.write_string(top, j, label, header)
        widths[j] = max(widths[j], min(_width(label), 16))
    for i, rec in enumerate(frame.iter_rows(named=True), start=top + 1):
        for j, c in enumerate(cols):
            shown = _write_value(book, ws, i, j, c, rec)
            widths[j] = max(widths[j], _width(shown))
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(48, max(6, w + 2)))
    return top + 1 + frame.height


def _num(v: object) -> float | None:
    """The value as a finite float, or None (missing, NaN, not a number)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)):
        return float(v)
    return None


def _write_value(book: _Book, ws: Any, i: int, j: int, c: Col, rec: Mapping[str, Any]) -> str:
    """One cell of kind `c.kind`; returns roughly what it shows (for the column width)."""
    lang = book.lang
    v = rec.get(c.field)
    kind = c.kind
    if kind == "interval":
        lo, hi = _num(rec.get("rank_lo")), _num(rec.get("rank_hi"))
        text = f"{int(lo)}–{int(hi)}" if lo is not None and hi is not None else t("na", lang)
        book.text(ws, i, j, text, align="center")
        return text
    if kind in ("score", "points", "rank", "count", "raw", "gap_target", "gap_best", "change"):
        num = _num(v)
        if num is None:
            ws.write_blank(i, j, None, book.fmt())
            return ""
        x = num
        props: dict[str, Any] = {}
        decimals = int(rec.get("decimals") or 0) if "decimals" in rec else 1
        percent = _is_percent(rec.get("unit"))
        if kind == "score":
            props["num_format"] = _score_format(lang)
        elif kind == "points":
            props["num_format"] = _score_format(lang, 2, signed=True)
        elif kind == "rank":
            props["num_format"] = "0"
        elif kind == "count":
            props["num_format"] = _count_format(lang)
            x = round(x)
        elif kind == "change":
            props["num_format"] = '"↑"0;"↓"0;"–"'  # places moved up (positive) or down
            props["font_color"] = GREEN if x > 0 else RED if x < 0 else "#5D6D7E"
        else:  # raw values and gaps in the indicator's own unit
            signed = kind == "gap_target"
            props["num_format"] = _raw_format(decimals, percent, signed)
            if percent:  # a % unit's values are percentages (74.7): Excel's % format wants the share
                x = x / 100.0
            if kind == "gap_target":  # (target − value) × direction: positive = still short, negative = better
                props["font_color"] = RED if num > 0 else GREEN
            elif kind == "gap_best" and num == 0:
                props["font_color"] = GREEN  # this district is the best
        ws.write_number(i, j, x, book.fmt(**props))
        return f"{num:,.{max(decimals, 1)}f}" + ("%" if percent else "")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        ws.write_blank(i, j, None, book.fmt())
        return ""
    if kind == "side":
        text = t(f"side.{v}", lang) if v in views.SIDES else str(v)
    elif kind == "direction":
        text = t("export.direction.up" if v > 0 else "export.direction.down", lang)
    elif kind == "flag":
        text = t("export.yes" if v else "export.no", lang)
    elif kind == "period":
        text = fmt_period(v, lang)
    elif kind == "table":
        text = table_label(v, lang)
    elif kind == "check":
        text = check_label(v, lang)
    elif kind == "reason":
        text = bilingual_part(v, lang)
    elif kind == "time":
        text = fmt_datetime(v, lang)
    elif kind == "interval_method":
        text = interval_method_label(v, lang)
    elif kind == "missing_reason":
        text = missing_reason_label(v, lang)
    elif kind == "spark":
        text = sparkline_text(list(v)) if isinstance(v, Iterable) and not isinstance(v, str) else str(v)
    else:
        text = str(v)
    props = {"font_color": AMBER, "bold": True} if kind == "flag" and v else {}
    book.text(ws, i, j, text, **props)
    return text


def _sheet(book: _Book, name: str, landscape: bool = True) -> Any:
    ws = book.wb.add_worksheet(name[:31])
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    ws.repeat_rows(0)
    ws.hide_gridlines(0)
    return ws


def _table_sheet(book: _Book, name: str, frame: pl.DataFrame, spec: Sequence[Col], empty_note: str | None = None
                 ) -> None:
    ws = _sheet(book, name)
    if frame.height == 0 and empty_note:
        book.text(ws, 0, 0, empty_note)
        ws.set_column(0, 0, 60)
        return
    _write_table(book, ws, 0, frame, spec)
    ws.freeze_panes(1, 1)


def _cover(book: _Book, name: str, title: str, facts: Sequence[tuple[str, str]], meta: ExportMeta) -> None:
    """Title, then one fact per row (label | text), then the direction of every indicator."""
    lang = book.lang
    ws = _sheet(book, name, landscape=False)
    ws.repeat_rows(0, 0)
    ws.set_row(0, 28)
    book.text(ws, 0, 0, title, bold=True, font_size=16)
    rows: list[tuple[str, str]] = [*facts,
                                   (t("col.period", lang), fmt_period(meta.period, lang)),
                                   (t("export.profile", lang), meta.profile_title)]
    if meta.edition_line:
        rows.append((t("editions.export.line", lang), meta.edition_line))
    if meta.source_line:
        rows.append((t("export.run", lang), meta.source_line))
    if meta.coverage_line:
        rows.append((t("export.coverage_label", lang), meta.coverage_line))
    rows.append((t("export.exported_at", lang), fmt_datetime(meta.exported_at, lang)))
    rows.append((t("export.colours_label", lang), t("export.colours", lang)))
    r = 2
    for label, text in rows:
        book.text(ws, r, 0, label, bold=True, valign="top")
        book.text(ws, r, 1, text, text_wrap=True, valign="top")
        r += 1
    widths = [max(_width(label) for label, _ in rows) + 2]
    if meta.directions is not None and meta.directions.height:
        r += 1
        book.text(ws, r, 0, t("export.directions", lang), bold=True, font_size=12)
        _write_table(book, ws, r + 1, meta.directions, DIRECTION_COLS, widths=widths)
    ws.set_column(0, 0, max(14, widths[0]))
    ws.set_column(1, 1, 60)


# -- the two workbooks ---------------------------------------------------------------------------------------------
def scorecard_xlsx(dp: views.DistrictProfile, lang: str, edition_line: str | None = None,
                   meta: ExportMeta | None = None) -> bytes:
    """The district's scorecard: a cover (district, composite, rank, sides, period, profile, edition, date, coverage,
    directions), then dimensions, indicators, improvement priorities and the district's quarantined rows."""
    meta = meta or ExportMeta(period=dp.period, profile_title="", edition_line=edition_line)
    if edition_line and not meta.edition_line:
        meta = ExportMeta(**{**meta.__dict__, "edition_line": edition_line})
    if meta.directions is None and {"label", "direction"} <= set(dp.indicators.columns):
        meta = ExportMeta(**{**meta.__dict__, "directions": dp.indicators.select(
            [c for c in ("label", "indicator", "side", "direction", "unit") if c in dp.indicators.columns])})
    book = _Book(lang)
    s = dp.summary
    n = s.get("n")
    facts = [
        (t("col.district", lang), f"{dp.name}（{dp.code}）" if lang == "zh" else f"{dp.name} ({dp.code})"),
        (t("col.score", lang), _score_text(s.get("score"), lang)),
        (t("col.rank", lang), _rank_text(s.get("rank"), n, lang)),
        (t("col.supply", lang), f"{_score_text(s.get('supply'), lang)} · {_rank_text(s.get('supply_rank'), n, lang)}"),
        (t("col.demand", lang), f"{_score_text(s.get('demand'), lang)} · {_rank_text(s.get('demand_rank'), n, lang)}"),
        (t("col.k_of_n", lang), fmt_k_of_n(s.get("n_observed"), s.get("n_indicators"), lang)),
    ]
    title = f"{t('app.title', lang)} · {t('district.scorecard', lang)} · {dp.name}"
    _cover(book, t("district.scorecard", lang), title, facts, meta)
    _table_sheet(book, t("col.dimension", lang), dp.dimensions, DIMENSION_COLS)
    _table_sheet(book, t("district.indicators", lang), dp.indicators, INDICATOR_COLS)
    pri = dp.priorities
    if pri.height and "indicator" in pri.columns:  # the indicator's unit and decimals, to show its values as such
        extra = [c for c in ("unit", "decimals") if c in dp.indicators.columns and c not in pri.columns]
        if extra:
            pri = pri.join(dp.indicators.select("indicator", *extra), on="indicator", how="left")
    _table_sheet(book, t("district.priorities", lang), pri, PRIORITY_COLS, t("none", lang))
    _table_sheet(book, t("dq.quarantine", lang), dp.quarantine, QUARANTINE_COLS,
                 t("export.quarantine_none", lang))
    return book.close()


def overview_frame(ov: views.Overview, bands: BandSpec | None, lang: str) -> pl.DataFrame:
    """The overview's ranking table with the band of each composite and the rank change since the last period."""
    tbl = ov.table
    if bands is not None and "score" in tbl.columns and "band" not in tbl.columns:
        tbl = tbl.with_columns(pl.Series("band", band_labels(tbl["score"].to_numpy(), bands, lang), dtype=pl.String))
    if ov.movers.height and "change" not in tbl.columns:
        tbl = tbl.join(ov.movers.select("unit_code", "change"), on="unit_code", how="left")
    return tbl


def band_labels(scores: np.ndarray, bands: BandSpec, lang: str) -> list[str | None]:
    """Each score's band label (as indicators.outputs.band_index: at or above the first cut the first label, …)."""
    v = np.asarray(scores, dtype=float)
    cuts = np.asarray(bands.cuts, dtype=float)
    if bands.method == "quantile":
        known = v[np.isfinite(v)]
        cuts = np.quantile(known, cuts) if known.size else np.full_like(cuts, np.nan)
    labels = bands.labels_en if lang == "en" else bands.labels_zh
    return [None if not np.isfinite(x) else labels[int((x < cuts).sum())] for x in v]


def overview_xlsx(ov: views.Overview, lang: str, meta: ExportMeta) -> bytes:
    """The overview: a cover (leader, period, profile, edition, date, coverage, how intervals and bands are read,
    directions), then the ranking with bands, 5–95% rank intervals, sides and the change since the last period."""
    book = _Book(lang)
    tbl = overview_frame(ov, ov.profile.methods.bands, lang)
    facts: list[tuple[str, str]] = []
    if tbl.height:
        lead = tbl.row(0, named=True)
        facts.append((t("overview.kpi.leader", lang), f"{lead['name']} · {_score_text(lead['score'], lang)}"))
        facts.append((t("overview.kpi.units", lang), str(tbl.height)))
    task = tbl.filter(pl.col("task_oriented")) if "task_oriented" in tbl.columns else tbl.head(0)
    sep = "、" if lang == "zh" else ", "
    facts.append((t("overview.kpi.task", lang), sep.join(task["name"].to_list()) or t("none", lang)))
    mc = views.intervals_text(ov.intervals, lang)
    if mc:
        facts.append((t("col.rank_interval", lang), mc))
    title = f"{t('app.title', lang)} · {t('export.overview_title', lang)}"
    _cover(book, t("export.cover", lang), title, facts, meta)
    _table_sheet(book, t("export.ranking_sheet", lang), tbl, RANKING_COLS)
    return book.close()


def _score_text(v: object, lang: str) -> str:
    x = _num(v)
    if x is None:
        return t("na", lang)
    return f"{x:.1f} 分" if lang == "zh" else f"{x:.1f}"


def _rank_text(rank: object, n: object, lang: str) -> str:
    r = _num(rank)
    if r is None:
        return t("na", lang)
    return t("export.rank_of", lang, rank=int(r), n=n)

