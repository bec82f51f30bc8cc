"""The overview's charts, built once per (snapshot, profile, period, language) and shared between requests.

Building them costs ~0.3 s of plotly validation per render (more on a fresh process, which pays plotly's first-use
imports too): `parts` memoises them through the app context's `memo`, and `warm` builds the default overview's at
server start-up (app/server.py) so the first visitor does not wait for it. Only what depends on the snapshot, the
profile, the period and the language is kept here; what can change between two visits without a new snapshot
(published editions, targets met) is built on every render by the page.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from app.state import AppContext
from app.ui import figures
from app.ui import map as district_map
from app.ui import uncertainty_parts
from app.views import frames as views

log = logging.getLogger("govindex.app")


@dataclass(frozen=True)
class OverviewFigures:
    """Shared between requests: read-only."""

    ranking: go.Figure
    quadrant: go.Figure
    movers: go.Figure
    uncertainty: Any  # the rank-interval parts card (html.Section with its figure)


def memo_key(ctx: AppContext, ov: views.Overview, lang: str) -> Hashable:
    """What the overview's table is a function of (app.views.frames.overview): the snapshot, the profile's content
    (an edited profile under the same name is another key), the framework, the stored run shown, the period; and the
    language of the words in the charts."""
    return ("overview-figures", ctx.snapshot().key, ov.profile.content_hash(), ctx.framework.fingerprint(),
            ov.source, ov.period, lang)


def parts(ctx: AppContext, ov: views.Overview, lang: str) -> OverviewFigures:
    def build() -> OverviewFigures:
        stored_run = ov.intervals.stored_run if ov.intervals else None
        return OverviewFigures(
            ranking=figures.ranking_figure(ov.table, lang),
            quadrant=figures.quadrant_figure(ov.table, lang),
            movers=figures.movers_figure(ov.movers, lang),
            uncertainty=uncertainty_parts.card(ctx.snapshot(), ov.table, stored_run, lang),
        )

    return ctx.memo(memo_key(ctx, ov, lang), build)


def warm(ctx: AppContext, langs: Sequence[str] = ("zh",), map_id: str = "overview-map") -> None:
    """Build the default overview's charts (default profile, latest period) and its map once, at start-up.

    Chinese only by default: it is what a first visitor opens. A warehouse without data is not an error here: the
    page says so when visited."""
    for lang in langs:
        try:
            ov = views.overview(ctx, None, lang)
            parts(ctx, ov, lang)
            district_map.map_card(ctx.config, ov.table, lang, map_id)  # memoised in app.ui.map by content
        except Exception as e:  # an empty or broken warehouse is shown on the pages, not fatal at start-up
            log.warning("could not warm the overview's figures: %s", e)
