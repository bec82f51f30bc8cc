"""Plain-text table columns for the CLI, measured in terminal cells: a Chinese character takes two, so padding by
`len` (what an f-string's `:<20` does) pushes every later column right on a row with Chinese names or authors."""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"


def cell_width(text: str) -> int:
    """Terminal cells `text` takes: two for wide and full-width characters (CJK, full-width punctuation), none for
    combining marks, one for the rest."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` cells, ending in "…" when something was cut."""
    if cell_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, align: str = "<") -> str:
    """`text` padded with spaces to `width` cells (align "<" left, ">" right); longer text is left whole (`clip`
    it first where the column must keep its width)."""
    fill = " " * max(width - cell_width(text), 0)
    return text + fill if align == "<" else fill + text
