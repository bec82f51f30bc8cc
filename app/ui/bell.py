"""The alerts bell in the header: a link to /alerts with the signed-in person's unread count (a badge).

Only the component lives here (no app state): the shell callback in app/server.py fills it on every page change and
once a minute, from app/ui/ledger_model.unread_count.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from app.ui.i18n import t

BELL = "alerts-bell"
BELL_COUNT = "alerts-bell-count"
BELL_TICK = "alerts-bell-tick"
TICK_MS = 60_000  # the count is re-read once a minute even when nobody moves


def bell(lang: str = "zh", count: int = 0) -> html.Span:
    """The bell placeholder the header carries; `bell_parts` fills it."""
    return html.Span([dcc.Interval(id=BELL_TICK, interval=TICK_MS),
                      dcc.Link(bell_parts(count, lang), id=BELL, href="/alerts", className="bell",
                               title=t("alerts.bell", lang, n=count))])


def bell_parts(count: int, lang: str) -> list:
    """The bell's children: its word (预警 / Alerts; fonts on government PCs often lack an emoji bell), the full
    phrase for screen readers, and the unread count."""
    shown = "99+" if count > 99 else str(count)
    hidden: dict[str, Any] = {"aria-hidden": "true"}
    return [html.Span(t("nav.alerts", lang), **hidden),
            html.Span(t("alerts.bell", lang, n=count), className="sr-only"),
            html.Span(shown, id=BELL_COUNT, className="bell-count" + ("" if count else " zero"))]
