"""The version history of one weight profile as a view model: shared by `govindex weights history` and the page.

Every version (archived or current) with its date, author and content hash, which one is current and which one is
published, and the audit trail. The CLI prints it; the history page turns it into two grids. `trail_changes` says what each saved version changed
against the version before it (or, for a first version, against the profile it was made from), node by node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.stores.audit_trail import read_trail, trail_problem, trail_rows
from etl.stores.profiles import list_profiles, load_profile, load_profile_version, profile_versions, published_info
from indicators.framework import Framework
from indicators.profile import ProfileError, WeightProfile

METHOD_STEPS = ("imputation", "treatment", "normalisation", "aggregation")


@dataclass(frozen=True)
class VersionRow:
    """One version of the profile; `error` says why it could not be read (then date, author and hash are None)."""

    version: int
    published: bool
    current: bool
    date: str | None = None
    author: str | None = None
    hash: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ProfileHistory:
    """Versions oldest first, the current and published version numbers, and the audit records oldest first."""

    name: str
    versions: tuple[VersionRow, ...]
    current: int | None
    published: int | None
    records: tuple[dict[str, Any], ...]
    problem: str | None = None  # why the audit trail fails its chain/head check; its records may be forged or cut off

    @property
    def numbers(self) -> list[int]:
        return [v.version for v in self.versions]

    def trail_rows(self) -> list[dict[str, Any]]:
        """The audit records as flat rows (changes joined), oldest first."""
        return trail_rows(list(self.records))


def profile_history(name: str, folder: Path | str) -> ProfileHistory:
    """The history of profile `name` in `folder`.

    Raises ProfileError when there is no such profile (current or archived), or its publication record is broken;
    AuditError when the audit trail cannot be read. An unreadable archived version is a row with `error`.
    """
    folder = Path(folder)
    names = list_profiles(folder)
    archived = profile_versions(name, folder)
    if name not in names and not archived:
        raise ProfileError(f"no profile {name!r} in {folder}; available: {', '.join(names)}")
    current = load_profile(name, folder).version if name in names else None
    pub = published_info(name, folder)
    published = int(pub["version"]) if pub else None
    numbers = sorted({*archived, *([current] if current is not None else [])})
    rows = []
    for v in numbers:
        try:
            p = load_profile_version(name, v, folder)
        except ProfileError as e:
            rows.append(VersionRow(v, v == published, v == current, error=str(e)))
            continue
        rows.append(VersionRow(v, v == published, v == current, p.date.isoformat(), p.author, p.content_hash()[:12]))
    return ProfileHistory(name, tuple(rows), current, published, tuple(read_trail(folder, name)),
                          trail_problem(folder))


@dataclass(frozen=True)
class Change:
    """One thing a version changed: a node's relative weight (kind 'weight', code = node) or a method choice
    (kind 'method', code = the step; old/new = (name, params))."""

    kind: str
    code: str
    old: Any
    new: Any


def version_changes(old: WeightProfile, new: WeightProfile, framework: Framework) -> list[Change]:
    """What decides the numbers and differs: the weights that were moved (framework order; old/new as shares of
    their siblings) and the method of each step.

    Shares compare what each node weighs in effect, so a profile that lists every node and one that lists only its
    departures from the framework show only real moves. Moving one sibling shifts every sibling's share; the
    siblings that were not moved keep their ratios to one another, so only the nodes off the group's common ratio
    count as changed (both, in a group of two)."""
    wo, wn = old.resolved_weights(framework), new.resolved_weights(framework)
    moved: set[str] = set()
    for parent in framework.aggregates:
        kids = [k for k in framework.children(parent) if k in wo or k in wn]
        diff = [k for k in kids if abs(float(wo.get(k) or 0.0) - float(wn.get(k) or 0.0)) > 1e-9]
        if not diff:
            continue
        ratios = {k: round(float(wn.get(k) or 0.0) / float(wo[k]), 6) if wo.get(k) else None for k in kids}
        counts = Counter(r for r in ratios.values() if r is not None)
        common, n = counts.most_common(1)[0] if counts else (None, 0)
        moved |= {k for k in diff if ratios[k] != common} if n >= 2 else set(diff)
    out = [Change("weight", k, wo.get(k), wn.get(k)) for k in framework.codes if k in moved]
    for step in METHOD_STEPS:
        a, b = getattr(old.methods, step), getattr(new.methods, step)
        if a != b:
            out.append(Change("method", step, (a.name, dict(a.params)), (b.name, dict(b.params))))
    return out


def trail_changes(history: ProfileHistory, folder: Path | str, framework: Framework,
                  baseline: WeightProfile | None = None) -> dict[int, tuple[list[Change], str | None]]:
    """For each audit record (by seq): the changes of a save against the previous version, or of a first version
    against `baseline` (the profile it was most likely made from; its name is returned beside the changes). A publish
    changes no weights: []. A version that cannot be read is left out (the versions grid says why)."""
    out: dict[int, tuple[list[Change], str | None]] = {}
    cache: dict[int, WeightProfile | None] = {}

    def version(v: int) -> WeightProfile | None:
        if v not in cache:
            try:
                cache[v] = load_profile_version(history.name, v, folder)
            except ProfileError:
                cache[v] = None
        return cache[v]

    for rec in history.records:
        seq = int(rec.get("seq") or 0)
        if rec.get("event") != "save":
            out[seq] = ([], None)
            continue
        new = version(int(rec["version"]))
        prev_no = rec.get("previous_version")
        old = version(int(prev_no)) if prev_no is not None else baseline
        against = baseline.name if prev_no is None and baseline is not None else None
        if new is None or old is None or (prev_no is None and baseline is not None and baseline.name == history.name):
            continue
        out[seq] = (version_changes(old, new, framework), against)
    return out
