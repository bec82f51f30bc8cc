"""Issue 14/16 first paint: the overview's charts are built once per (snapshot, profile, period, language) and the
default overview's are built before the server listens (app.server.warm), so the first visitor does not wait."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from app.ui import figures, uncertainty_parts
from app.ui import overview_figures as parts
from tests.app.pages.test_overview_readings import _render
from tests.app.web.test_roles import _client, role_app  # noqa: F401 - role_app is a fixture

BUILDERS = ("ranking_figure", "quadrant_figure", "movers_figure")


@pytest.fixture()
def builds(monkeypatch) -> Counter:
    """How many times each chart of the overview is built."""
    calls: Counter = Counter()

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    for name in BUILDERS:
        monkeypatch.setattr(figures, name, counted(name, getattr(figures, name)))
    monkeypatch.setattr(uncertainty_parts, "card", counted("uncertainty", uncertainty_parts.card))
    return calls


def test_a_second_render_of_the_same_overview_does_not_rebuild_its_charts(role_app, builds: Counter) -> None:
    client = _client(role_app, "assessor")
    first = _render(client, "zh")
    assert dict(builds) == {"ranking_figure": 1, "quadrant_figure": 1, "movers_figure": 1, "uncertainty": 1}
    again = _render(client, "zh")
    assert dict(builds) == {"ranking_figure": 1, "quadrant_figure": 1, "movers_figure": 1, "uncertainty": 1}
    assert again == first  # the same page, from the memo
    _render(client, "en")  # another language is another set of charts (their words differ)
    assert builds["ranking_figure"] == 2 and builds["quadrant_figure"] == 2


def test_an_edited_profile_under_the_same_name_gets_new_charts(role_app) -> None:
    from app.state import get_context  # the app under test sets the context when it is created
    from app.views import frames as views

    ctx = get_context()
    ov = views.overview(ctx, "user-centred", "zh")
    edited = dataclasses.replace(ov, profile=ov.profile.model_copy(update={"title_zh": ov.profile.title_zh + "（修订）"}))
    assert edited.profile.name == ov.profile.name
    assert parts.memo_key(ctx, edited, "zh") != parts.memo_key(ctx, ov, "zh")
    assert parts.memo_key(ctx, dataclasses.replace(ov, period="1999Q1"), "zh") != parts.memo_key(ctx, ov, "zh")


def test_start_up_warming_fills_the_overview_memo(role_app, builds: Counter) -> None:
    from app.server import warm
    from app.state import get_context
    from app.views import frames as views

    ctx = get_context()
    warm(ctx)
    assert builds["ranking_figure"] == 1  # built once, at start-up
    ov = views.overview(ctx, None, "zh")
    rebuilt = []
    ctx.memo(parts.memo_key(ctx, ov, "zh"), lambda: rebuilt.append(1))
    assert rebuilt == []  # the default overview's charts are in the memo
    _render(_client(role_app, "assessor"), "zh")  # the first visitor (default profile, latest period)
    assert dict(builds) == {"ranking_figure": 1, "quadrant_figure": 1, "movers_figure": 1, "uncertainty": 1}
