"""One Dash component that is a block of static HTML, drawn by the browser's own parser (issue 16 goal 4).

Read-only tables and text go to the browser as markup (app/ui/markup.py, components.static_html), not as thousands of
html.* components. They were carried by dcc.Markdown with raw HTML allowed: that loads a 325 kB script on first use
and then parses the markup in JavaScript into one React element per HTML element — on the district page some 150 kB
of tables, a long task of 0.7–0.9 s on these machines. `StaticHtml` is a component of this app's own
(app/assets/static-html.js, found by the Dash renderer as window.govindex.StaticHtml): a <div> whose content is the
markup itself (React's dangerouslySetInnerHTML), parsed by the browser in a few milliseconds and re-set only when it
changes. The markup must be built with every interpolated value escaped (markup.to_html does; callers of
components.static_html escape their own).
"""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component

NAMESPACE = "govindex"


class StaticHtml(Component):
    """A <div> holding `children`, a string of HTML, as markup (not text). Keyword arguments: children (the markup),
    id, className, style."""

    _children_props: list[str] = []
    _base_nodes = ["children"]
    _namespace = NAMESPACE
    _type = "StaticHtml"

    def __init__(self, children: str = "", id: str | None = None, className: str | None = None,  # noqa: A002
                 style: dict[str, Any] | None = None) -> None:
        self._prop_names = ["children", "id", "className", "style"]
        self._valid_wildcard_attributes: list[str] = []
        self.available_properties = ["children", "id", "className", "style"]
        self.available_wildcard_properties: list[str] = []
        given = {k: v for k, v in (("id", id), ("className", className), ("style", style)) if v is not None}
        super().__init__(children=children, **given)
