"""The overview's card on what its rank intervals contain (issue 13.2): by default data and method uncertainty
together, said in words; a switch shows each part (both, method only, data only) as stored by the refresh.

`card(snapshot, table, stored_run, lang)` is the one call a page makes; its switch is served by the callback below.
"""

from __future__ import annotations

import polars as pl
from dash import Input, Output, State, callback, dcc, html

from app.ui import components as c
from app.ui import figures
from app.ui.i18n import t
from app.views.uncertainty_parts import part_intervals
from etl.warehouse.snapshot import Snapshot

PREFIX = "iv-parts"
SWITCH, STORE, GRAPH, NOTE = f"{PREFIX}-switch", f"{PREFIX}-store", f"{PREFIX}-graph", f"{PREFIX}-note"


def card(snapshot: Snapshot, table: pl.DataFrame, stored_run: str | None, lang: str) -> html.Section:
    """table: the overview's ranking (unit_code, name, rank); stored_run: the uncertainty run its intervals came
    from (None when computed live)."""
    parts = part_intervals(snapshot, stored_run)
    if set(parts) != {"both", "method", "data"}:
        return c.card(t("ivparts.title", lang), html.P(t("ivparts.method_only", lang), id=NOTE, className="note"),
                      className="span-2")
    base = table.select("unit_code", "name", "rank")
    frames = {p: base.join(f, on="unit_code", how="left").to_dicts() for p, f in parts.items()}
    return c.card(
        t("ivparts.title", lang),
        html.P(t("ivparts.default", lang), id=NOTE, className="note"),
        dcc.RadioItems(id=SWITCH, options=[{"label": t(f"ivparts.{p}", lang), "value": p} for p in
                                           ("both", "method", "data")], value="both", inline=True),
        dcc.Store(id=STORE, data={"parts": frames, "lang": lang}),
        c.graph(GRAPH, _figure(frames, "both", lang)),
        className="span-2",
    )


def _figure(frames: dict, part: str, lang: str):
    return figures.rank_interval_figure(pl.DataFrame(frames[part]), lang)


@callback(Output(GRAPH, "figure"), Input(SWITCH, "value"), State(STORE, "data"), prevent_initial_call=True)
def switch(part: str, data: dict):
    return _figure(data["parts"], part if part in data["parts"] else "both", data["lang"])
