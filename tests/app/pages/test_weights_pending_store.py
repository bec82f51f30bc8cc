"""The weights page's pending-weights store (the fix of 54c38df), deterministically: a district official's browser
walk met a callback writing PENDING before the controls had drawn it (the store used to be one of the controls'
children). Now the store is in the page's first render for every role and language, every store or box a weights
callback writes is there from the first render, and the controls' render empties it, also over HTTP as the browser
calls it."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from flask import g

from app.web.security import Identity
from tests.app.pages.test_weights_lazy_groups import component_ids
from tests.app.web.test_roles import ROLE_USERS, _call, _client, role_app  # noqa: F401 - role_app is a fixture


def _ids(tree: Any) -> set[str]:
    """The ids of every component in a Dash component tree: string ids as they are, pattern-matching ids by type."""
    return {i["type"] if isinstance(i, dict) else i for i in component_ids(tree)}


def _first_render(app, role: str, lang: str) -> set[str]:
    """The ids of the shell and the weights page as a signed-in `role` first receives them (no callback run)."""
    page = sys.modules["pages.weights"]
    name, district = ROLE_USERS[role]
    with app.server.test_request_context("/weights"):
        g.govindex_identity = Identity(name, role, district)
        shell = app.layout() if callable(app.layout) else app.layout
        return _ids(shell) | _ids(page.layout(lang))


def _key(dep_id: str) -> str:
    """A dependency id as `_ids` names it (a pattern-matching id arrives as JSON)."""
    return json.loads(dep_id)["type"] if dep_id.startswith("{") else dep_id


def _weights_callbacks(app) -> list[tuple[set[str], set[str]]]:
    """(string ids written, ids whose change fires it) of every weights page callback, from Dash's dependency list
    as the browser receives it. Pattern-matching outputs are left out: Dash writes those to whichever are drawn,
    while a string-id output not drawn is an error in the browser."""
    out = []
    for d in _client(app, "leader").get("/_dash-dependencies").get_json():
        parts = d["output"].strip(".").split("...")
        written = {i for i in (re.sub(r"@[0-9a-f]+$", "", p).rsplit(".", 1)[0] for p in parts) if not i.startswith("{")}
        if any(w.startswith("weights-") for w in written):
            out.append((written, {_key(i["id"]) for i in d["inputs"]}))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_weights_callback_writes_what_is_drawn_after_its_trigger(role_app, lang: str) -> None:  # noqa: F811
    """Every id a weights callback writes is in the first render, or drawn by the same callback render that draws
    the inputs which fire it (the AHP result box with the AHP controls), never by a render of its own that can come
    later (the pending store used to be drawn with the sliders, while the AHP button that writes it is elsewhere)."""
    page = sys.modules["pages.weights"]
    callbacks = _weights_callbacks(role_app)
    assert any(page.PENDING in w and page.AHP_APPLY in i for w, i in callbacks)  # the list was read
    with role_app.server.test_request_context("/weights"):
        renders = {page.CONTROLS: _ids(page.controls(None, 0, lang)[0]), page.AHP_BOX: _ids(page.ahp_editor("demand", lang))}
    for role in ROLE_USERS:
        drawn = _first_render(role_app, role, lang)
        assert page.PENDING in drawn, (role, lang)
        for written, inputs in callbacks:
            for w in written - drawn:
                box = next((b for b, kids in renders.items() if w in kids), None)
                assert box is not None and inputs <= renders[box], \
                    f"{role}/{lang}: {w} is written by a callback fired by {sorted(inputs)} but drawn later by {box}"


def test_the_controls_render_empties_the_pending_store(role_app) -> None:  # noqa: F811
    page = sys.modules["pages.weights"]
    # the controls callback is the one that writes PENDING without allow_duplicate (the first writer)
    assert any(page.CONTROLS in w and page.PENDING in w for w, _ in _weights_callbacks(role_app))
    for profile in (None, "no-such-profile"):  # a profile that loads and one that does not: both empty it
        parts, pending = page.controls(profile, 0, "zh")
        assert pending == {}
        assert page.PENDING not in _ids(parts)  # the store is the page's, not one of the controls

    # as the browser calls it when the reset button is pressed
    client = _client(role_app, "district_official")
    r = _call(client, [(page.CONTROLS, "children"), (page.PENDING, "data"), (page.DRAWN, "data")],
              [(page.WANTED, "data", None), (page.RESET, "n_clicks", 1)],
              [("profile-select", "value", None), (page.LANG, "data", "zh")], changed=f"{page.RESET}.n_clicks")
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    body = r.get_json()["response"]
    assert body[page.PENDING]["data"] == {}
    assert body[page.CONTROLS]["children"]


def test_drawing_the_ahp_buttons_applies_nothing(role_app) -> None:  # noqa: F811
    """Dash fires the apply callback when the AHP box draws its buttons (n_clicks 0, both changed): no click, so no
    weights written over the profile's, no derivation recorded and no second ranking run on the first visit (seen in
    the browser: the first visit's ranking request followed an AHP 'apply' of the all-ones matrix). A real click
    still applies."""
    page = sys.modules["pages.weights"]
    client = _client(role_app, "assessor")
    kids = ["demand_value", "demand_institution", "demand_technology", "demand_environment"]
    ahp_ids = [{"type": "ahp", "i": i, "j": j} for i in range(4) for j in range(i + 1, 4)]
    sliders = [{"type": page.SLIDER, "node": k} for k in kids]
    budget_ids = [{"type": "budget", "node": k} for k in kids]

    deps = client.get("/_dash-dependencies").get_json()
    out = next(d["output"] for d in deps if page.DERIVED in d["output"] and "wslider" in d["output"])

    def many(ids: list[dict], prop: str, values: list) -> list[dict]:
        return [{"id": i, "property": prop, "value": v} for i, v in zip(ids, values, strict=True)]

    def apply(n_ahp: int, changed: list[str], n_budget: int = 0, budget: list | None = None):
        payload = {"output": out, "outputs": [many(sliders, "value", [None] * 4), {"id": page.DERIVED, "property": "data"},
                                              {"id": page.PENDING, "property": "data"}],
                   "inputs": [{"id": page.AHP_APPLY, "property": "n_clicks", "value": n_ahp},
                              {"id": page.BUDGET_APPLY, "property": "n_clicks", "value": n_budget}],
                   "state": [many(ahp_ids, "value", [3] * len(ahp_ids)), many(ahp_ids, "id", ahp_ids),
                             many(budget_ids, "value", budget or [0] * 4), many(budget_ids, "id", budget_ids),
                             many(sliders, "value", [0.1, 0.2, 0.3, 0.4]), many(sliders, "id", sliders),
                             {"id": page.SCOPE, "property": "value", "value": "demand"},
                             {"id": page.DERIVED, "property": "data", "value": []},
                             {"id": page.PENDING, "property": "data", "value": {}}],
                   "changedPropIds": changed}
        return client.post("/_dash-update-component", json=payload, headers={"Origin": "http://localhost"})

    drawn = apply(0, [f"{page.AHP_APPLY}.n_clicks", f"{page.BUDGET_APPLY}.n_clicks"])
    assert drawn.status_code == 204, drawn.get_data(as_text=True)[:300]  # nothing to update
    clicked = apply(1, [f"{page.AHP_APPLY}.n_clicks"])
    assert clicked.status_code == 200, clicked.get_data(as_text=True)[:300]
    assert clicked.get_json()["response"][page.DERIVED]["data"][0]["method"] == "ahp"
    # the budget button with no points allocated: nothing to apply (it was an HTTP 500: no_update for the sliders)
    empty = apply(0, [f"{page.BUDGET_APPLY}.n_clicks"], n_budget=1, budget=[0, 0, 0, 0])
    assert empty.status_code == 204, empty.get_data(as_text=True)[:300]
