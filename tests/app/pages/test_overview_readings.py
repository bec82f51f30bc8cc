"""The overview's plain-language readings and its "k of n indicators" marks, through the server's callback."""

from __future__ import annotations

import re

from tests.app.web.test_roles import _call, _client, role_app  # noqa: F401 - role_app is a fixture

OUT = [("overview-body", "children"), ("overview-drawn", "data")]


def _render(client, lang: str) -> str:
    r = _call(client, OUT, [("overview-wanted", "data", {"profile": "user-centred", "period": None})],
              [("overview-lang", "data", lang)])
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_data(as_text=True)


def test_overview_shows_readings_generated_from_its_numbers(role_app) -> None:
    from app.state import get_context  # the app under test sets the context when it is created
    from app.views import frames as views

    client = _client(role_app, "assessor")
    body = _render(client, "zh")
    assert "overview-readings" in body and "结论要点" in body
    ov = views.overview(get_context(), "user-centred", "zh")
    # the band sentence counts exactly the districts in each absolute band of the shown scores
    scores = [s for s in ov.table["score"].to_list() if s is not None]
    n_poor = sum(1 for s in scores if s < 60)
    assert f"较差 {n_poor} 个区" in body
    en = _render(client, "en")
    assert "What the numbers say" in en and re.search(r"\d+ poor", en)
