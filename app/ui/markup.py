"""A tree of html.* components as ONE static component (issue 16 goal 4: pages' first visit under 1.5 s).

The Dash renderer's cost grows with the number of components (a React wrapper and a store subscription each): the
district page's indicator table alone was some 1,700 of them. A read-only tree (no id a callback reads or writes
inside it, no dcc.* component) is better sent as markup: `static_tree` writes it as HTML, every text and attribute
escaped, and hands it to `components.static_html` (one StaticHtml, app/ui/static_html.py). The builders keep
returning html.* trees, so what they build stays testable as components; only the page decides to send it as markup.
`table` writes a short table under AG Grid column definitions as such markup directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from dash import html
from dash.development.base_component import Component

from app.ui import components as c
from app.ui.static_html import StaticHtml

#: Dash prop → HTML attribute where the names differ
_ATTR = {"className": "class", "htmlFor": "for", "colSpan": "colspan", "rowSpan": "rowspan", "tabIndex": "tabindex"}
#: html.* props that are Dash's own, not HTML attributes
_DASH_ONLY = {"children", "n_clicks", "n_clicks_timestamp", "disable_n_clicks", "key", "loading_state", "setProps"}
#: elements without a closing tag
_VOID = {"br", "hr", "img", "input", "col", "wbr"}


def _css(style: dict[str, Any]) -> str:
    """{'minWidth': '70px'} → 'min-width:70px'."""
    return ";".join("".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in k) + f":{v}" for k, v in style.items())


def to_html(node: object) -> str:
    """The markup of an html.* component tree (strings and numbers as escaped text, None as nothing). Raises
    TypeError for anything else and for controls (a dcc.* component, a button, a pattern-matching id need the
    renderer: such a tree cannot be static). A plain string id is kept: the caller makes sure no callback uses it."""
    if node is None:
        return ""
    if isinstance(node, (str, int, float)):
        return escape(str(node), quote=False)
    if isinstance(node, (list, tuple)):
        return "".join(to_html(n) for n in node)
    if not isinstance(node, Component) or node._namespace != html.Div._namespace:
        raise TypeError(f"not an html.* component: {type(node).__name__}")
    if isinstance(node, html.Button) or isinstance(getattr(node, "id", None), dict):
        raise TypeError(f"a control (callbacks read it): {type(node).__name__} {getattr(node, 'id', None)!r}")
    tag = type(node).__name__.lower()
    attrs = []
    for prop, value in node.to_plotly_json()["props"].items():
        if prop in _DASH_ONLY or value is None or value is False:
            continue
        name = _ATTR.get(prop, prop)
        if prop == "style":
            value = _css(value)
        attrs.append(f" {name}" if value is True else f' {name}="{escape(str(value), quote=True)}"')
    if tag in _VOID:  # written <br/>: the Markdown component's HTML reader drops a whole block with a bare <br>
        return f"<{tag}{''.join(attrs)}/>"
    return f"<{tag}{''.join(attrs)}>{to_html(getattr(node, 'children', None))}</{tag}>"


def static_tree(node: Component, **kw: Any) -> StaticHtml:
    """`node` (an html.* tree) as one component: the same elements, ids and classes in the page, one React node."""
    return c.static_html(to_html(node), **kw)


def static_unless_controls(node: Component, **kw: Any) -> Component:
    """`node` as static markup when it holds no control (a button, a dcc.* component, a pattern-matching id), else
    the component tree itself (e.g. the targets table with its 立项整改 buttons)."""
    try:
        return static_tree(node, **kw)
    except TypeError:
        return node


#: the decimals of a components.num_col column, read from its d3 format (',.0f')
_D3_DECIMALS = re.compile(r"',\.(\d+)f'")


def _cell_text(value: object, column: Mapping[str, Any]) -> str:
    """A cell as the grid showed it: a numeric column's value with thousands separators and its decimals (the
    exact count, never 万: accounting rows must add up on screen), a missing value as '—'."""
    if value is None or value != value:  # None or NaN
        return "—"
    formatter = column.get("valueFormatter")
    found = _D3_DECIMALS.search(formatter.get("function", "")) if isinstance(formatter, Mapping) else None
    if found and isinstance(value, (int, float)):
        return f"{value:,.{int(found.group(1))}f}"
    return str(value)


def _attrs(**attrs: object) -> str:
    """' class="num" data-field="x"' from class_="num", data_field="x"; None leaves the attribute out."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(str(v), quote=True)}"'
                   for k, v in attrs.items() if v is not None)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]], *, table_id: str | None = None,
          class_name: str = "data-table") -> str:
    """Rows under AG Grid column definitions (components.col / num_col: field, headerName, rightAligned) as the
    markup of a plain <table class="data-table">: a short read-only table needs neither the grid's 1.3 MB script nor
    its rendering. Written as text, every value escaped as to_html would, without building an html.* tree of a
    thousand cells first (the data-quality layout). Each header names its field (data-field); long
    texts wrap (style.css .table-scroll) rather than being cut short, so no cell carries its text twice. A column's
    cellClass (AG Grid's own key, e.g. raw-data for the clerk's data as sent) is its cells' class here too."""
    numeric = [col.get("type") == "rightAligned" for col in columns]
    head = "".join(f"<th{_attrs(class_='num' if n else None, data_field=col['field'])}>"
                   f"{escape(str(col.get('headerName', col['field'])), quote=False)}</th>"
                   for col, n in zip(columns, numeric, strict=True))
    classes = [" ".join(x for x in ("num" if n else "", col.get("cellClass") or "") if x) or None
               for col, n in zip(columns, numeric, strict=True)]
    cells = [(f"<td{_attrs(class_=k)}>", col["field"], col) for col, k in zip(columns, classes, strict=True)]
    body = "".join("<tr>" + "".join(f"{td}{escape(_cell_text(r.get(field), col), quote=False)}</td>"
                                    for td, field, col in cells) + "</tr>" for r in rows)
    return (f"<table{_attrs(id=table_id, class_=class_name)}><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")
