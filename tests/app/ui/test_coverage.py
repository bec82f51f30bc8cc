"""Issue 16 goal 4: the data-quality page's coverage heatmap and summary are built at start-up (app.server.warm) and
once per snapshot, methods and language, so its first visitor does not wait for them."""

from __future__ import annotations

from collections import Counter

from app.ui import coverage, figures
from app.ui.i18n import t
from tests.app.web.test_roles import role_app  # noqa: F401 - role_app is a fixture


def test_start_up_builds_the_coverage_heatmap_once(role_app, monkeypatch) -> None:
    from app.server import warm
    from app.state import get_context

    built: Counter = Counter()
    own = figures.coverage_figure

    def counted(*args, **kwargs):
        built[args[1] if len(args) > 1 else kwargs.get("lang")] += 1
        return own(*args, **kwargs)

    monkeypatch.setattr(figures, "coverage_figure", counted)
    ctx = get_context()
    warm(ctx)
    assert built == Counter({"zh": 1})  # at start-up, in Chinese: what a first visitor opens
    profile = ctx.profile(None)
    title, fig, summary = coverage.parts(ctx, profile, ctx.prepared(profile), "zh")
    assert built == Counter({"zh": 1}) and fig["data"] and len(summary) == len(ctx.prepared(profile).indicators)
    assert title.startswith(t("dq.coverage", "zh"))  # and the period it covers
    coverage.parts(ctx, profile, ctx.prepared(profile), "en")  # another language: its own words, built then
    assert built == Counter({"zh": 1, "en": 1})
