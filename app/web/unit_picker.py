"""The demo banner's unit picker at any scale (issue 20): Shanghai's 16 districts stay one plain list; at national
scale (2,875 units) the list holds the parent units (31 provinces) and the units under the current one's parent
(two steps: pick a province, switch, then its counties), and a search field takes a name or a code — one match
switches at once, several give a page of them grouped by parent, each one button. Plain HTML forms: no script.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from indicators.units import Units

SIMPLE = 40  # up to this many units: one plain list
MAX_MATCHES = 60  # a search page lists at most this many units (say more precisely)


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _option(code: str, names: Mapping[str, tuple[str, str]], selected: str | None) -> str:
    zh, en = names.get(code, (code, code))
    return f'<option value="{_e(code)}"{" selected" if code == selected else ""}>{_e(zh)} · {_e(en)}</option>'


def _top(units: Units, code: str) -> str:
    up = units.ancestors(code)
    return up[-1] if up else code


def is_large(names: Mapping[str, tuple[str, str]], units: Units | None) -> bool:
    return units is not None and len(names) > SIMPLE and any(units.children(u) for u in units.children(None))


def options(selected: str | None, names: Mapping[str, tuple[str, str]], units: Units | None) -> str:
    """The <option>s of the unit list: every unit when few; else the parent units, then the units under the
    selected unit's top parent, each group an <optgroup>."""
    if not is_large(names, units):
        codes = list(names) or ([selected] if selected else [])
        return "".join(_option(c, names, selected) for c in codes)
    assert units is not None
    tops = [u for u in units.children(None) if units.children(u)]
    out = ['<optgroup label="上级单位 · Parent units">', *(_option(c, names, selected) for c in tops), "</optgroup>"]
    if selected and selected in units:
        top = _top(units, selected)
        zh, en = names.get(top, (top, top))
        under = [c for c in units.subtree(top) if c != top]
        out += [f'<optgroup label="{_e(zh)}下辖 · under {_e(en)}">',
                *(_option(c, names, selected) for c in under), "</optgroup>"]
    return "".join(out)


def search_field(names: Mapping[str, tuple[str, str]], units: Units | None) -> str:
    """The search field beside the list (at national scale only)."""
    if not is_large(names, units):
        return ""
    return ('<label for="demo-unit-search">查找 Find</label><input id="demo-unit-search" name="unit_q" '
            'type="search" maxlength="40" placeholder="名称或代码 · name or code">')


def find(query: str, names: Mapping[str, tuple[str, str]]) -> list[str]:
    """Units whose code is `query`, else whose name is it (zh, or en ignoring case), else whose code or names
    contain it."""
    q = query.strip()
    if not q:
        return []
    if q in names:
        return [q]
    low = q.lower()
    exact = [c for c, (zh, en) in names.items() if q == zh or low == en.lower()]
    if exact:
        return exact
    return [c for c, (zh, en) in names.items() if q in c or q in zh or low in en.lower()]


def matches_body(query: str, found: list[str], role: str, token: str, names: Mapping[str, tuple[str, str]],
                 units: Units | None, back: str = "/") -> str:
    """The page body listing the search's matches grouped by parent, each a button that switches to it."""
    if not found:
        return (f'<p class="auth-msg">没有名称或代码含“{_e(query)}”的单位。</p>'
                f'<p class="auth-msg en">No unit\'s name or code contains "{_e(query)}".</p>'
                '<p><a href="/">返回 · Back</a></p>')
    groups: dict[str, list[str]] = {}
    for code in found[:MAX_MATCHES]:
        parent = (units.parent(code) if units is not None else None) or ""
        groups.setdefault(parent, []).append(code)
    parts = [f'<p class="auth-msg">“{_e(query)}”匹配 {len(found):,} 个单位，请选择：</p>'
             f'<p class="auth-msg en">{len(found):,} units match "{_e(query)}"; pick one:</p>']
    if len(found) > MAX_MATCHES:
        parts.append(f'<p class="auth-msg">仅列出前 {MAX_MATCHES} 个，请输入更完整的名称或代码。 · '
                     f'The first {MAX_MATCHES} only: type more of the name or code.</p>')
    for parent, codes in groups.items():
        pzh, pen = names.get(parent, (parent, parent)) if parent else ("", "")
        parts.append(f'<h2 class="unit-group">{_e(pzh)} <span class="en">{_e(pen)}</span></h2><ul class="unit-pick">'
                     if parent else '<ul class="unit-pick">')
        for code in codes:
            zh, en = names.get(code, (code, code))
            parts.append(
                f'<li><form method="post" action="/auth/demo-role" class="auth-inline">'
                f'<input type="hidden" name="csrf_token" value="{_e(token)}">'
                f'<input type="hidden" name="role" value="{_e(role)}">'
                f'<input type="hidden" name="next" value="{_e(back)}">'
                f'<input type="hidden" name="district" value="{_e(code)}">'
                f'<button type="submit" data-unit="{_e(code)}">{_e(zh)} · {_e(en)} ({_e(code)})</button></form></li>')
        parts.append("</ul>")
    return "".join(parts)
