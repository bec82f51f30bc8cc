"""The data-quality page's coverage heatmap and per-indicator summary (latest period, default profile), built once
per snapshot, methods and language, and at start-up for a first visitor (app.server.warm: issue 16 goal 4)."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from app.ui import figures
from app.ui.i18n import fmt_period, t
from app.views import frames as views
from app.views.scoring import Prepared

if TYPE_CHECKING:
    from app.state import AppContext
    from indicators.profile import WeightProfile

log = logging.getLogger("govindex.app")


def parts(ctx: AppContext, profile: WeightProfile, prep: Prepared, lang: str) -> tuple[str, dict, list[dict]]:
    """(card title, coverage heatmap as a figure dict, per-indicator summary rows): they depend only on the
    snapshot, the methods and the language, so they are built once and shared."""
    return ctx.memo(("dq-coverage", ctx.snapshot().key, profile.methods.fingerprint(), lang),
                    lambda: _build(ctx, prep, lang))


def warm(ctx: AppContext, langs: Sequence[str] = ("zh",)) -> None:
    """Build them for the default profile at start-up; a warehouse without data is shown on the page, not fatal."""
    for lang in langs:
        try:
            profile = ctx.profile(None)
            parts(ctx, profile, ctx.prepared(profile), lang)
        except Exception as e:
            log.warning("could not warm the data-quality coverage: %s", e)


def _build(ctx: AppContext, prep: Prepared, lang: str) -> tuple[str, dict, list[dict]]:
    """(card title, coverage heatmap as a figure dict, per-indicator summary rows) for the latest period."""
    p = prep.period_index(None)
    names = ctx.snapshot().district_names(lang)
    recs, summary = [], []
    for j, ind in enumerate(prep.indicators):
        label = views.node_label(ctx, ind, lang)
        vals, dens = prep.result.raw[p, :, j], prep.denominators[p, :, j]
        for u, unit in enumerate(prep.units):
            v, d = vals[u], dens[u]
            recs.append({"name": names.get(unit, unit), "label": label, "value": None if v != v else float(v),
                         "denominator": None if d != d else float(d)})
        present = [d for d, v in zip(dens, vals, strict=True) if v == v and d == d]
        summary.append({"indicator": label, "covered": int(sum(1 for v in vals if v == v)), "units": len(prep.units),
                        "missing": int(sum(1 for v in vals if v != v)),
                        "min_sample": min(present) if present else None,
                        "median_sample": statistics.median(present) if present else None})
    fig = figures.coverage_figure(pl.DataFrame(recs), lang).to_plotly_json()
    return f"{t('dq.coverage', lang)} · {fmt_period(prep.periods[p], lang)}", fig, summary
