"""The weights page's first paint (issue 16 goal 4): on arrival only the blend and the dimension sliders are drawn;
a dimension's indicator sliders are drawn when its group is first opened, at the weights in force, and weights an
AHP or budget derivation set for sliders not drawn yet still count in the live ranking."""

from __future__ import annotations

import sys
from typing import Any

from tests.app.web.test_roles import role_app  # noqa: F401 - a fixture


def component_ids(tree: Any) -> list[Any]:
    """The ids of every component in a Dash component tree (string or dict; components without one left out)."""
    out: list[Any] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        cid = getattr(node, "id", None)
        if cid is not None:
            out.append(cid)
        kids = getattr(node, "children", None)
        if kids is not None:
            stack.append(kids)
    return out


def _ids(tree: Any, kind: str) -> list[dict]:
    """The dict ids of `kind` in a Dash component tree."""
    return [i for i in component_ids(tree) if isinstance(i, dict) and i.get("type") == kind]


def test_indicator_sliders_wait_for_their_group_and_pending_weights_count(role_app) -> None:  # noqa: F811
    page = sys.modules["pages.weights"]  # as create_app registered it (importing it again registers its path twice)
    from app.state import get_context
    from app.views import reweight

    ctx = get_context()
    dims, groups = reweight.slider_nodes(ctx)
    parts, pending = page.controls(None, 0, "zh")
    assert pending == {}  # nothing pending after a (re)render
    drawn = [i["node"] for i in _ids(parts, page.SLIDER)]
    assert sorted(drawn) == sorted(dims)  # no indicator slider on arrival
    assert sorted(i["node"] for i in _ids(parts, page.GROUP)) == sorted(dims)

    dim = next(d for d in dims if len(groups[d]) >= 2)
    opened = page.open_group(1, None, {"type": page.GROUP, "node": dim}, None, None, "zh")
    assert sorted(i["node"] for i in _ids(opened, page.SLIDER)) == sorted(groups[dim])
    assert page.open_group(2, opened, {"type": page.GROUP, "node": dim}, None, None, "zh") is page.dash.no_update

    w = ctx.profile(None).resolved_weights(ctx.framework)
    values = [w[d] for d in dims]
    ids = [{"type": page.SLIDER, "node": d} for d in dims]
    base = page.live(None, values, {}, ids, None, "zh")
    # all of one dimension's weight on its first indicator, set by AHP while the group is closed
    pending = {k: (1.0 if k == groups[dim][0] else 0.0) for k in groups[dim]}
    moved = page.live(None, values, pending, ids, None, "zh")
    assert len(moved[3]) == len(dims)  # shares for the sliders drawn only
    assert moved[5][groups[dim][0]] == 1.0 and moved[5][groups[dim][1]] == 0.0  # the weights in force
    assert moved[5] != base[5]
    # the group opened afterwards shows the weights in force, not the profile's
    reopened = page.open_group(1, None, {"type": page.GROUP, "node": dim}, moved[5], None, "zh")
    values_drawn = [s.value for s in _slider_components(reopened)]
    assert values_drawn[0] == 1.0 and set(values_drawn[1:]) == {0.0}


def _slider_components(tree: Any) -> list[Any]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop(0)
        if isinstance(node, (list, tuple)):
            stack = list(node) + stack
            continue
        if type(node).__name__ == "Slider":
            out.append(node)
        kids = getattr(node, "children", None)
        if kids is not None:
            stack = ([kids] if not isinstance(kids, (list, tuple)) else list(kids)) + stack
    return out
