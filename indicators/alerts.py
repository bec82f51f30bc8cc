"""Alert rules as pure functions: what changed between what the last evaluation saw and what this refresh shows.
No I/O; etl/jobs/alerts.py feeds them from the warehouse and the loop store and stores what they return.

API (each returns plain tuples, sorted, so results are deterministic):
- `rank_drops(before, after, places) -> [(unit, rank_before, rank_after)]`: units whose rank number grew by
  `places` or more (rank 1 is best).
- `status_crossings(before, after) -> [(unit, indicator, rule, status_before, status_after)]`: rule
  `below_target` when a value that met its target (green) now misses it within the band (amber), `below_band`
  when a value that was green or amber is now red. Nothing for keys without a previous status (a first evaluation
  sets the baseline; it does not alarm).
- `missing_units(values, share) -> [(unit, missing, total)]`: units lacking `share` or more of their indicator
  values (value null or NaN) — `values` maps unit → list of values.
- `missing_counts(values) -> {unit: (missing, total)}`: per unit, its missing values among the indicators that
  some unit has (an indicator no unit has is a gap of the whole source, not of any one unit's data).
- `share_crossings(before, after, share) -> [(unit, share_after)]`: units whose share (e.g. of quarantined rows,
  or of missing values) reached `share` while it was below it before. A unit without a previous share is skipped:
  with no earlier state there is no change to alert on (a first evaluation sets the baseline; the caller passes 0
  for a unit known to have had none).
- `period_words(period) -> (zh, en)`: '2026Q3' → ('2026年第三季度', '2026 Q3'); '2026' → ('2026年', '2026').
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

_ZH_DIGITS = "〇一二三四五六七八九十"


def rank_drops(before: Mapping[str, int], after: Mapping[str, int], places: int) -> list[tuple[str, int, int]]:
    out = [(u, int(before[u]), int(r)) for u, r in after.items()
           if u in before and before[u] is not None and r is not None and int(r) - int(before[u]) >= places]
    return sorted(out, key=lambda x: (x[1] - x[2], x[0]))


_SEVERITY = {"green": 0, "amber": 1, "red": 2}


def status_crossings(before: Mapping[tuple[str, str], str | None],
                     after: Mapping[tuple[str, str], str | None]) -> list[tuple[str, str, str, str, str]]:
    out = []
    for key, now in after.items():
        prev = before.get(key)
        if prev not in _SEVERITY or now not in _SEVERITY:
            continue
        if now == "red" and prev in ("green", "amber"):
            out.append((key[0], key[1], "below_band", prev, now))
        elif now == "amber" and prev == "green":
            out.append((key[0], key[1], "below_target", prev, now))
    return sorted(out)


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def missing_units(values: Mapping[str, Sequence[float | None]], share: float) -> list[tuple[str, int, int]]:
    out = []
    for unit, vals in values.items():
        total = len(vals)
        missing = sum(1 for v in vals if _missing(v))
        if total and missing / total >= share - 1e-12:
            out.append((unit, missing, total))
    return sorted(out)


def missing_counts(values: Mapping[str, Sequence[float | None]]) -> dict[str, tuple[int, int]]:
    lists = list(values.values())
    width = max((len(v) for v in lists), default=0)
    held = [any(j < len(v) and not _missing(v[j]) for v in lists) for j in range(width)]
    return {unit: (sum(1 for j, v in enumerate(vals) if held[j] and _missing(v)), sum(held[: len(vals)]))
            for unit, vals in values.items()}


def share_crossings(before: Mapping[str, float], after: Mapping[str, float], share: float) -> list[tuple[str, float]]:
    out = []
    for unit, now in after.items():
        prev = before.get(unit)
        if prev is not None and now >= share - 1e-12 and prev < share - 1e-12:
            out.append((unit, float(now)))
    return sorted(out)


def period_words(period: str) -> tuple[str, str]:
    """How a period reads: '2026Q3' → ('2026年第三季度', '2026 Q3'), '2026-08' → ('2026年8月', 'Aug 2026')."""
    p = str(period)
    if len(p) == 6 and p[4] == "Q" and p[5] in "1234":
        return f"{p[:4]}年第{_ZH_DIGITS[int(p[5])]}季度", f"{p[:4]} Q{p[5]}"
    if len(p) == 4 and p.isdigit():
        return f"{p}年", p
    if len(p) == 7 and p[4] == "-" and p[5:].isdigit():
        months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
        m = int(p[5:])
        if 1 <= m <= 12:
            return f"{p[:4]}年{m}月", f"{months[m - 1]} {p[:4]}"
    return p, p
