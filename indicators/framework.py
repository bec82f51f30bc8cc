"""The framework: a tree of any depth over indicators (COINr's iMeta is the model), validated on construction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl


class FrameworkError(ValueError):
    """The framework tree is malformed; the message names the culprit."""


@dataclass(frozen=True)
class Node:
    """One node: an indicator (leaf, level 1) or an aggregate. Weight is relative within the parent."""

    code: str
    parent: str | None
    weight: float = 1.0
    direction: int = 1
    name_zh: str = ""
    name_en: str = ""
    is_indicator: bool = False
    aggregation: str | None = None  # per-node aggregation method name; None = the run's default
    unit: str = ""
    target: float | None = None
    goalposts: tuple[float, float] | None = None  # (low, high) in raw units, for goalpost normalisation
    #: "scored" (aggregated, weighted, ranked) or "context": an indicator computed, stored and shown beside the
    #: others with a note, but never weighted: its weight is 0 whatever a profile says, so it takes no part in the
    #: aggregation, the weights pages, the Monte Carlo or the ranking (ROLES)
    role: str = "scored"


#: an indicator's role in the framework (indicators/catalog/README.md, "Roles and retired indicators")
ROLES = ("scored", "context")


@dataclass(frozen=True)
class Framework:
    """A validated tree. Indicators are the leaves; aggregates are ordered bottom-up (children before parents)."""

    nodes: tuple[Node, ...]
    #: indicators taken out of the framework, code -> why (English; the catalog's retired.toml): a profile or an
    #: edition that still names one loads, its weight dropped with a note, instead of failing as an unknown code
    retired: Mapping[str, str] = field(default_factory=dict, compare=False)
    _by_code: dict[str, Node] = field(init=False, repr=False, compare=False)
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Node] = {}
        for n in self.nodes:
            if not n.code or not str(n.code).strip():
                raise FrameworkError("a node has an empty code")
            if n.code in by_code:
                raise FrameworkError(f"duplicate code {n.code!r}")
            by_code[n.code] = n
        children: dict[str, list[str]] = {c: [] for c in by_code}
        for n in self.nodes:
            if n.direction not in (1, -1):
                raise FrameworkError(f"node {n.code!r}: direction must be 1 or -1, got {n.direction!r}")
            if n.role not in ROLES:
                raise FrameworkError(f"node {n.code!r}: role must be one of {', '.join(ROLES)}, got {n.role!r}")
            if n.role == "context" and not n.is_indicator:
                raise FrameworkError(f"node {n.code!r}: only an indicator can have role 'context', not an aggregate")
            if n.role == "context" and n.weight != 0:
                raise FrameworkError(f"node {n.code!r}: a context indicator takes no weight (weight must be 0, "
                                     f"got {n.weight!r})")
            if not np.isfinite(n.weight) or n.weight < 0:
                raise FrameworkError(f"node {n.code!r}: weight must be a non-negative number, got {n.weight!r}")
            if n.parent is not None:
                if n.parent not in by_code:
                    raise FrameworkError(f"node {n.code!r}: parent {n.parent!r} is not in the framework")
                if by_code[n.parent].is_indicator:
                    raise FrameworkError(f"node {n.code!r}: parent {n.parent!r} is an indicator, not an aggregate")
                children[n.parent].append(n.code)
        roots = [n.code for n in self.nodes if n.parent is None]
        orphans = [n.code for n in self.nodes if n.parent is None and n.is_indicator]
        if orphans:
            raise FrameworkError(f"indicator(s) without a parent aggregate: {', '.join(orphans)}")
        if len(roots) != 1:
            raise FrameworkError(
                f"the framework needs exactly one root (a node without parent), found {len(roots)}: {', '.join(roots)}"
            )
        for code in by_code:  # cycle check: walking up from any node must reach the root
            seen = {code}
            cur = by_code[code].parent
            while cur is not None:
                if cur in seen:
                    raise FrameworkError(f"cycle in the framework through {cur!r}")
                seen.add(cur)
                cur = by_code[cur].parent
        empty = [c for c, kids in children.items() if not by_code[c].is_indicator and not kids]
        if empty:
            raise FrameworkError(f"aggregate node(s) without children: {', '.join(empty)}")
        if not any(n.is_indicator for n in self.nodes):
            raise FrameworkError("the framework has no indicators")
        for c, kids in children.items():
            if kids and sum(by_code[k].weight for k in kids) <= 0:
                raise FrameworkError(f"node {c!r}: the weights of its children are all zero")
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_children", {c: tuple(k) for c, k in children.items()})

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_nodes(cls, nodes: Iterable[Node], retired: Mapping[str, str] | None = None) -> Framework:
        nodes = tuple(nodes)
        clash = sorted(set(retired or {}) & {n.code for n in nodes})
        if clash:
            raise FrameworkError(f"retired indicator(s) still in the framework: {', '.join(clash)}")
        return cls(nodes, dict(retired or {}))

    @classmethod
    def from_imeta(cls, imeta: pl.DataFrame) -> Framework:
        """From a COINr iMeta table (Level, iCode, Parent, Direction, Weight, Type); Group/Denominator rows ignored."""
        required = {"iCode", "Parent", "Type"}
        missing = required - set(imeta.columns)
        if missing:
            raise FrameworkError(f"iMeta lacks column(s): {', '.join(sorted(missing))}")
        nodes: list[Node] = []
        for i, row in enumerate(imeta.iter_rows(named=True), start=2):
            kind = str(row.get("Type") or "").strip()
            if kind not in ("Indicator", "Aggregate"):
                if kind in ("Group", "Denominator", "Other", ""):
                    continue
                raise FrameworkError(f"iMeta row {i} ({row.get('iCode')!r}): unknown Type {kind!r}")
            code = str(row["iCode"]).strip() if row["iCode"] is not None else ""
            parent = row.get("Parent")
            parent = str(parent).strip() if parent not in (None, "") else None
            try:
                raw_direction: Any = row.get("Direction")
                raw_weight: Any = row.get("Weight")
                direction = int(raw_direction if raw_direction is not None else 1)
                weight = float(raw_weight if raw_weight is not None else 1.0)
            except (TypeError, ValueError) as e:
                raise FrameworkError(f"iMeta row {i} ({code!r}): bad Direction or Weight ({e})") from None
            target = row.get("Target")
            nodes.append(
                Node(
                    code=code,
                    parent=parent,
                    weight=weight,
                    direction=direction,
                    name_en=str(row.get("iName") or code),
                    name_zh=str(row.get("iName") or code),
                    is_indicator=kind == "Indicator",
                    unit=str(row.get("Unit") or ""),
                    target=float(target) if target not in (None, "") else None,
                )
            )
        return cls.from_nodes(nodes)

    # -- queries -------------------------------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """A stable hash of the tree (codes, parents, weights, directions, methods, targets, goalposts)."""
        rows = [
            [n.code, n.parent, n.weight, n.direction, n.is_indicator, n.aggregation, n.target,
             list(n.goalposts) if n.goalposts else None]
            + ([n.role] if n.role != "scored" else [])  # the default adds nothing: older hashes stay valid
            for n in self.nodes
        ]
        return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]

    def node(self, code: str) -> Node:
        try:
            return self._by_code[code]
        except KeyError:
            raise FrameworkError(f"unknown node {code!r}") from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(n.code for n in self.nodes)

    @property
    def root(self) -> str:
        return next(n.code for n in self.nodes if n.parent is None)

    @property
    def indicators(self) -> tuple[str, ...]:
        """Indicator codes in declaration order: the column order of every units × indicators matrix."""
        return tuple(n.code for n in self.nodes if n.is_indicator)

    @property
    def context_indicators(self) -> tuple[str, ...]:
        """Indicators with role 'context': shown with a note, never weighted, aggregated or ranked."""
        return tuple(n.code for n in self.nodes if n.is_indicator and n.role == "context")

    @property
    def scored_indicators(self) -> tuple[str, ...]:
        """Indicators with role 'scored', in declaration order."""
        return tuple(n.code for n in self.nodes if n.is_indicator and n.role != "context")

    def is_context(self, code: str) -> bool:
        return self.node(code).role == "context"

    def children(self, code: str) -> tuple[str, ...]:
        return self._children[self.node(code).code]

    def weighted_children(self, code: str) -> tuple[str, ...]:
        """The children a weight can be given to: all of them but the context indicators."""
        return tuple(k for k in self.children(code) if self._by_code[k].role != "context")

    def depth(self, code: str) -> int:
        """Distance from the root (root = 0)."""
        d, cur = 0, self.node(code).parent
        while cur is not None:
            d, cur = d + 1, self._by_code[cur].parent
        return d

    def level(self, code: str) -> int:
        """COINr-style level: indicators are 1, an aggregate is one more than its highest child."""
        n = self.node(code)
        if n.is_indicator:
            return 1
        return 1 + max(self.level(c) for c in self._children[code])

    @cached_property
    def aggregates(self) -> tuple[str, ...]:
        """Aggregate codes, children before parents (sorted by level, then declaration order). Computed once: the
        tree is frozen, and every scoring call asks (1,251 times in a 2,844-unit refresh's uncertainty step, the
        recursive levels 1.8 s of it)."""
        aggs = [n.code for n in self.nodes if not n.is_indicator]
        order = {c: i for i, c in enumerate(aggs)}
        return tuple(sorted(aggs, key=lambda c: (self.level(c), order[c])))

    def ancestors(self, code: str) -> tuple[str, ...]:
        out, cur = [], self.node(code).parent
        while cur is not None:
            out.append(cur)
            cur = self._by_code[cur].parent
        return tuple(out)

    def descendant_indicators(self, code: str) -> tuple[str, ...]:
        if self.node(code).is_indicator:
            return (code,)
        return tuple(i for c in self._children[code] for i in self.descendant_indicators(c))

    def directions(self) -> np.ndarray:
        return np.array([self._by_code[c].direction for c in self.indicators], dtype=float)

    def weights(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Relative weight of every non-root node, with overrides applied (unknown codes are an error)."""
        w = {n.code: float(n.weight) for n in self.nodes if n.parent is not None}
        for code, value in (overrides or {}).items():
            if code not in self._by_code:
                raise FrameworkError(f"weight given for unknown node {code!r}")
            if self._by_code[code].parent is None or self._by_code[code].role == "context":
                continue  # a context indicator stays at 0 whatever is asked (profiles report it, see profile.notes)
            if not np.isfinite(value) or value < 0:
                raise FrameworkError(f"node {code!r}: weight must be a non-negative number, got {value!r}")
            w[code] = float(value)
        for parent, kids in self._children.items():
            if kids and sum(w[k] for k in kids) <= 0:
                raise FrameworkError(f"node {parent!r}: the weights of its children are all zero")
        return w

    def effective_weights(self, overrides: Mapping[str, float] | None = None) -> np.ndarray:
        """Each indicator's nominal share of the root: the product of its normalised weights along the path."""
        w = self.weights(overrides)
        out = np.ones(len(self.indicators))
        for j, code in enumerate(self.indicators):
            cur = code
            while self._by_code[cur].parent is not None:
                parent = self._by_code[cur].parent
                assert parent is not None
                total = sum(w[k] for k in self._children[parent])
                out[j] *= w[cur] / total
                cur = parent
        return out
