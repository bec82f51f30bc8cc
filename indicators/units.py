"""The units as data: a hierarchy of any depth (city → district → street; province → city → county), read from a frame.

Pure: a polars frame in (one row per unit: code, name_zh, name_en, level, parent_code, peer_group, population,
pop_60plus; the warehouse's `district` table with `district_code` as `code`), plain answers out. Who sees what
(an official of a unit sees that unit and everything under it), names for pages, peer groups and levels all come
from here, so no module keeps a list of districts of its own.

A unit whose parent is not among the units is a top unit (a city's districts whose city row was never loaded);
`problems()` names it, and a cycle, so the loader can report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import polars as pl

COLUMNS = ("code", "name_zh", "name_en", "level", "parent_code", "peer_group", "population", "pop_60plus")
SCHEMA: dict[str, type[pl.DataType]] = {
    "code": pl.String, "name_zh": pl.String, "name_en": pl.String, "level": pl.String, "parent_code": pl.String,
    "peer_group": pl.String, "population": pl.Int64, "pop_60plus": pl.Int64,
}


class UnitsError(ValueError):
    """The unit table is not a hierarchy (a cycle, a duplicate code); the message names the unit."""


@dataclass(frozen=True)
class Unit:
    """One unit of the table."""

    code: str
    name_zh: str
    name_en: str
    level: str | None = None
    parent_code: str | None = None
    peer_group: str | None = None
    population: int | None = None
    pop_60plus: int | None = None

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


@dataclass(frozen=True)
class Units:
    """The unit table as a hierarchy, in the table's order."""

    units: tuple[Unit, ...]
    _by_code: dict[str, Unit] = field(init=False, repr=False, compare=False)
    _children: dict[str | None, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Unit] = {}
        for u in self.units:
            if u.code in by_code:
                raise UnitsError(f"unit code {u.code!r} appears twice in the unit table")
            by_code[u.code] = u
        children: dict[str | None, list[str]] = {}
        for u in self.units:
            parent = u.parent_code if u.parent_code in by_code else None
            children.setdefault(parent, []).append(u.code)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        for u in self.units:  # a cycle would make subtree() loop: refuse it here, naming a unit on it
            seen = {u.code}
            p = self.parent(u.code)
            while p is not None:
                if p in seen:
                    raise UnitsError(f"unit {u.code!r}: its parents form a cycle through {p!r}")
                seen.add(p)
                p = self.parent(p)

    # -- building -----------------------------------------------------------------------------------------------
    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> Units:
        """From a frame with `code` (or `district_code`) and any of the other COLUMNS (missing ones are empty)."""
        if "code" not in frame.columns and "district_code" in frame.columns:
            frame = frame.rename({"district_code": "code"})
        rows = []
        for r in frame.iter_rows(named=True):
            code = str(r["code"])
            rows.append(Unit(
                code=code,
                name_zh=_text(r.get("name_zh")) or code,
                name_en=_text(r.get("name_en")) or _text(r.get("name_zh")) or code,
                level=_text(r.get("level")),
                parent_code=_text(r.get("parent_code")),
                peer_group=_text(r.get("peer_group")),
                population=_int(r.get("population")),
                pop_60plus=_int(r.get("pop_60plus")),
            ))
        return cls(tuple(rows))

    def frame(self) -> pl.DataFrame:
        """The units as a frame of COLUMNS, plus `depth` (0 at the top)."""
        data = {c: [getattr(u, c) for u in self.units] for c in COLUMNS}
        return pl.DataFrame(data, schema=SCHEMA).with_columns(
            pl.Series("depth", [self.depth(u.code) for u in self.units], dtype=pl.Int64))

    # -- lookups ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._by_code

    def get(self, code: str) -> Unit | None:
        return self._by_code.get(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(u.code for u in self.units)

    def names(self, lang: str) -> dict[str, str]:
        """code → name in `lang` (zh or en)."""
        return {u.code: u.name(lang) for u in self.units}

    def name_pairs(self) -> dict[str, tuple[str, str]]:
        """code → (Chinese name, English name)."""
        return {u.code: (u.name_zh, u.name_en) for u in self.units}

    # -- the hierarchy ------------------------------------------------------------------------------------------
    def parent(self, code: str) -> str | None:
        """The parent's code, None at the top (or when the parent is not in the table)."""
        u = self._by_code.get(code)
        return u.parent_code if u is not None and u.parent_code in self._by_code else None

    def children(self, code: str | None) -> tuple[str, ...]:
        """The units directly under `code` (None: the top units), in table order."""
        return self._children.get(code, ())

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Parent, grandparent, … up to the top."""
        out = []
        p = self.parent(code)
        while p is not None:
            out.append(p)
            p = self.parent(p)
        return tuple(out)

    def depth(self, code: str) -> int:
        return len(self.ancestors(code))

    def subtree(self, code: str) -> tuple[str, ...]:
        """`code` and every unit under it, parents before children (empty when `code` is unknown)."""
        if code not in self._by_code:
            return ()
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(reversed(self.children(c)))
        return tuple(out)

    def within(self, code: str, unit: str) -> bool:
        """Whether `unit` is `code` or lies under it: an official of `code` sees `unit`."""
        return unit in self._by_code and (unit == code or code in self.ancestors(unit))

    def leaves(self) -> tuple[str, ...]:
        """Units with no children: the level the raw records are attached to."""
        return tuple(u.code for u in self.units if not self.children(u.code))

    def at_depth(self, depth: int) -> tuple[str, ...]:
        return tuple(u.code for u in self.units if self.depth(u.code) == depth)

    def levels(self) -> tuple[str, ...]:
        """The levels named in the table, top first (by depth), without repeats."""
        seen: dict[str, int] = {}
        for u in self.units:
            if u.level is not None:
                seen.setdefault(u.level, self.depth(u.code))
        return tuple(sorted(seen, key=lambda k: seen[k]))

    def at_level(self, level: str) -> tuple[str, ...]:
        return tuple(u.code for u in self.units if u.level == level)

    def peer_groups(self) -> dict[str, tuple[str, ...]]:
        """peer group → its units, in table order (units without a group are left out)."""
        out: dict[str, list[str]] = {}
        for u in self.units:
            if u.peer_group is not None:
                out.setdefault(u.peer_group, []).append(u.code)
        return {k: tuple(v) for k, v in out.items()}

    def group_of(self, code: str, by: str) -> str | None:
        """The group `code` is ranked within: by 'peer_group' its peer group, by 'parent' its parent's code, by
        'all' one group for everyone ('*')."""
        if by == "all":
            return "*"
        u = self._by_code.get(code)
        if u is None:
            return None
        if by == "peer_group":
            return u.peer_group
        if by == "parent":
            return self.parent(code)
        raise UnitsError(f"unknown grouping {by!r}; use one of: {', '.join(GROUPINGS)}")

    def problems(self) -> list[str]:
        """What a reader of the table should know: units whose parent is not in the table (taken as top units)."""
        return [f"unit {u.code}: parent {u.parent_code} is not in the unit table (taken as a top unit)"
                for u in self.units if u.parent_code is not None and u.parent_code not in self._by_code]

    def restrict(self, codes: Iterable[str]) -> Units:
        """The units among `codes`, in table order (parents outside are dropped: their children become top units)."""
        keep = set(codes)
        return Units(tuple(u for u in self.units if u.code in keep))


GROUPINGS = ("all", "peer_group", "parent")


def _text(v: object) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _int(v: object) -> int | None:
    if v is None:
        return None
    try:
        return int(v)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def from_rows(rows: Iterable[Mapping[str, object]]) -> Units:
    """Units from dicts with the COLUMNS' keys (`code` or `district_code`)."""
    return Units.from_frame(pl.DataFrame(list(rows)))
