"""Editions as the pages show them: the editions list, a diff, the year-on-year trend and the "which edition" line.

No Dash here: the overview, district page, exports and the /editions page call these, and tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from app.state import AppContext
from app.ui.i18n import fmt_datetime, fmt_num, fmt_period, t
from app.views.scoring import ScoreSource
from etl.stores import editions as store
from etl.warehouse.snapshot import DataUnavailable


def message(e: store.EditionError, lang: str) -> str:
    """One line in the reader's language for a refused edition operation."""
    return t(e.key, lang, **e.params)


def store_path(ctx: AppContext) -> str:
    return str(ctx.config.paths.editions_path)


def all_editions(ctx: AppContext) -> list[store.Edition]:
    return store.list_editions(store_path(ctx))


def status_label(ed: store.Edition, lang: str) -> str:
    label = t(f"editions.status.{ed.status}", lang)
    return label + (f" · {t('editions.trend.partial', lang)}" if ed.partial else "")


def editions_table(ctx: AppContext, lang: str) -> pl.DataFrame:
    """One row per edition, newest first, for the /editions page (every column a person reads)."""
    rows = []
    for e in reversed(all_editions(ctx)):
        rows.append({
            "edition_id": e.edition_id, "cycle": fmt_period(e.cycle, lang),
            "profile": f"{e.profile_name} v{e.profile_version}",
            "status": status_label(e, lang), "status_key": e.status,
            "created": f"{e.created_by} · {fmt_datetime(e.created_at, lang)}",
            "published": (f"{e.published_by} · {fmt_datetime(e.published_at, lang)} · {e.published_reason}"
                          if e.published_by else "—"),
            "supersedes": f"{e.supersedes}: {e.reason}" if e.supersedes else "—",
            "snapshot": e.data_snapshot_id, "spec": e.spec_hash,
            "source": f"{e.source_grain} ({', '.join(fmt_period(p, lang) for p in e.periods)})",
            "partial": ", ".join(e.missing_months) if e.partial else "—",
        })
    cols = ["edition_id", "cycle", "profile", "status", "status_key", "created", "published", "supersedes",
            "snapshot", "spec", "source", "partial"]
    return pl.DataFrame(rows, schema={c: pl.String for c in cols}) if rows else pl.DataFrame(
        schema={c: pl.String for c in cols})


@dataclass(frozen=True)
class DiffView:
    data_line: str
    method_line: str
    rows: pl.DataFrame  # unit, node, score_a, score_b, delta, rank_a, rank_b


def diff_view(ctx: AppContext, a: str, b: str, lang: str) -> DiffView:
    fw = ctx.framework
    d = store.diff_editions(store_path(ctx), a, b, (fw.root, *fw.children(fw.root)))
    names = _names(ctx, lang)
    labels = {n: fw.node(n).name_zh if lang == "zh" else (fw.node(n).name_en or n) for n in (fw.root,
                                                                                           *fw.children(fw.root))}
    rows = d.moved.with_columns(
        pl.col("unit_code").replace_strict(names, default=pl.col("unit_code")).alias("unit"),
        pl.col("node").replace_strict(labels, default=pl.col("node")).alias("node"),
    ).select("unit", "node", "score_a", "score_b", "delta", "rank_a", "rank_b")
    data_line = t("editions.diff.data", lang) if d.data_changed else t("editions.diff.same_data", lang)
    if d.bounds and not d.method:
        data_line += "；" if lang == "zh" else "; "
        data_line += t("editions.diff.bounds", lang, codes=", ".join(d.bounds))
    return DiffView(
        data_line,
        t("editions.diff.method", lang, what="; ".join(d.method)) if d.method else t("editions.diff.same_method", lang),
        rows,
    )


def _names(ctx: AppContext, lang: str) -> dict[str, str]:
    try:
        return dict(ctx.snapshot().district_names(lang))
    except DataUnavailable:
        return {}


def showing_line(ctx: AppContext, profile_name: str, source: ScoreSource, lang: str) -> str:
    """What the overview, district page and scorecard show: the current (unpublished) refresh, and which edition is
    the latest published one for this profile."""
    try:
        snapshot = ctx.snapshot().data_id or "—"
    except DataUnavailable:
        snapshot = "—"
    eds = store.published_by_cycle(store_path(ctx), profile_name)
    if eds:
        e = eds[-1]
        published = t("editions.showing.latest", lang, edition=e.edition_id, cycle=fmt_period(e.cycle, lang),
                      when=fmt_datetime(e.published_at, lang) if e.published_at else "—", who=e.published_by or "—")
    else:
        published = t("editions.showing.none", lang)
    return t("editions.showing.refresh", lang, snapshot=snapshot, published=published)


@dataclass(frozen=True)
class TrendView:
    table: pl.DataFrame  # cycle, edition_id, unit_code, name, composite, supply, demand, rank, partial
    method_notes: tuple[str, ...]  # one line per cycle whose method differs from the previous edition's
    cycles: tuple[str, ...]


def trend_view(ctx: AppContext, profile_name: str, lang: str, unit: str | None = None) -> TrendView:
    """Composite, supply, demand and rank across the published editions (one per cycle) of this profile."""
    table, method = store.trend(store_path(ctx), ctx.framework, profile_name)
    if unit is not None and table.height:
        table = table.filter(pl.col("unit_code") == unit)
    names = _names(ctx, lang)
    if table.height:
        table = table.with_columns(pl.col("unit_code").replace_strict(names, default=pl.col("unit_code"))
                                   .alias("name"))
    notes = tuple(t("editions.trend.method", lang, cycle=fmt_period(c, lang), what="; ".join(m)) for c, m in method.items() if m)
    cycles = tuple(sorted(table["cycle"].unique().to_list())) if table.height else ()
    return TrendView(table, notes, cycles)


def overview_trend_frame(view: TrendView, lang: str) -> pl.DataFrame:
    """Overview: one row per district, one column per cycle holding 'score (#rank)', best of the latest cycle first."""
    if not view.table.height:
        return pl.DataFrame()
    partial = t("editions.trend.partial", lang)
    tbl = view.table.with_columns(
        pl.struct("composite", "rank", "partial").map_elements(
            lambda r: f"{fmt_num(r['composite'], lang)} (#{r['rank']})" + (f" ({partial})" if r["partial"] else ""),
            return_dtype=pl.String).alias("cell"))
    wide = tbl.pivot(on="cycle", index=["unit_code", "name"], values="cell")
    last = view.cycles[-1]
    order = view.table.filter(pl.col("cycle") == last).select("unit_code", "rank")
    return wide.join(order, on="unit_code", how="left").sort("rank", nulls_last=True).drop("rank", "unit_code")
