"""Plain-language readings generated from the numbers: what a leader should conclude, not only charts.

Pure functions from view-model numbers (ranks, 5–95% rank intervals, bands, k of n indicators) to sentences in
Chinese or English through the i18n templates (app.ui.i18n, keys `read.*`). The formatting helpers (`join_names`,
`fmt_rank_interval`, `fmt_k_of_n`) are general so the district and sensitivity pages can use them too.

How a rank interval is read (the overview's intervals are the 5th and 95th percentiles of each unit's rank over the
Monte Carlo samples): a unit whose 95th percentile is at most k was in the top k in at least 95% of the samples
("在 95% 以上的模拟中位列前 k 名"); one whose 5th percentile is at least n − k + 1 was in the bottom k as often.
Two units whose intervals overlap cannot be told apart at that confidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.ui.i18n import t

#: the size of the leading and trailing groups a reading names ("前三" / "后三")
GROUP = 3
#: a median interval spanning at least this many places says "read bands and intervals, not single places"
WIDE = 3
#: at most this many names in one reading, and this many tie readings: at 2,844 units a sentence names a few and
#: counts the rest (the grid below lists them all)
NAMES = 6
TIES = 3


def _ok(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def join_names(names: Sequence[str], lang: str) -> str:
    """'黄浦、松江和闵行' / 'Huangpu, Songjiang and Minhang' (one name as is, none as an empty string)."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return names[0] if names else ""
    return t("read.sep", lang).join(names[:-1]) + t("read.and", lang) + names[-1]


def join_few(names: Sequence[str], lang: str, limit: int = NAMES) -> str:
    """`join_names` of at most `limit` names; more are counted: '甲、乙等 2,840 个单位' / 'A, B and 2,840 more'."""
    names = [n for n in names if n]
    if len(names) <= limit:
        return join_names(names, lang)
    return t("read.more", lang, names=t("read.sep", lang).join(names[:limit]), n=f"{len(names) - limit:,}")


def fmt_rank_interval(lo: object, hi: object, lang: str) -> str:
    """'第 1–3 名' / 'ranks 1–3'; one place when both ends agree; the missing-value dash when either is missing."""
    if not (_ok(lo) and _ok(hi)):
        return t("na", lang)
    a, b = int(round(float(lo))), int(round(float(hi)))  # type: ignore[arg-type]
    return t("read.rank_one", lang, lo=a) if a == b else t("read.rank_iv", lang, lo=a, hi=b)


def fmt_k_of_n(k: object, n: object, lang: str) -> str:
    """'7/9 项指标' / '7 of 9 indicators'; the dash when either count is missing."""
    if not (_ok(k) and _ok(n)):
        return t("na", lang)
    return t("read.k_of_n", lang, k=int(k), n=int(n))  # type: ignore[call-overload]


def incomplete(k: object, n: object) -> bool:
    """A score that does not rest on every indicator it counts (the cells to mark with fmt_k_of_n)."""
    return _ok(k) and _ok(n) and int(k) < int(n)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Row:
    """One unit as a reading sees it (from the overview table's columns)."""

    name: str
    rank: int | None
    score: float | None = None
    lo: float | None = None  # 5th percentile of the rank over the samples
    hi: float | None = None  # 95th percentile
    band: str | None = None
    k: int | None = None  # indicators observed
    n: int | None = None  # indicators counted


def rows_from_table(records: Sequence[Mapping[str, object]]) -> list[Row]:
    """Rows from the overview table's records (columns name, rank, score, rank_lo, rank_hi, band, n_observed,
    n_indicators; any of them may be missing)."""
    out = []
    for r in records:
        def num(key: str) -> float | None:
            v = r.get(key)
            return float(v) if _ok(v) else None  # type: ignore[arg-type]

        rank, k, n = num("rank"), num("n_observed"), num("n_indicators")
        out.append(Row(str(r.get("name") or r.get("unit_code") or ""), int(rank) if rank is not None else None,
                       num("score"), num("rank_lo"), num("rank_hi"), r.get("band") or None,  # type: ignore[arg-type]
                       int(k) if k is not None else None, int(n) if n is not None else None))
    return out


def _overlap(a: Row, b: Row) -> bool:
    return a.lo is not None and a.hi is not None and b.lo is not None and b.hi is not None \
        and a.lo <= b.hi and b.lo <= a.hi


def ranking_readings(rows: Sequence[Row], lang: str, *, group: int = GROUP,
                     band_order: Sequence[str] = (), shrunk: bool = False) -> list[str]:
    """The overview's readings, most important first: who leads and how surely, the leading and trailing groups,
    ties, how wide the intervals are, the band counts, scores resting on fewer than all indicators.

    `rows` in any order (they are sorted by rank; unranked last). `band_order` lists the band labels best first (for
    the band sentence); `shrunk` adds the shrinkage note.
    """
    ranked = sorted((r for r in rows if r.rank is not None), key=lambda r: r.rank)  # type: ignore[arg-type,return-value]
    unranked = [r.name for r in rows if r.rank is None]
    out: list[str] = []
    no_composite = "read.no_composite" if len(unranked) > 1 else "read.no_composite_one"
    if not ranked:
        return [t(no_composite, lang, names=join_few(unranked, lang))] if unranked else out
    n_units = len(ranked)
    g = max(1, min(group, n_units - 1)) if n_units > 1 else 1
    has_iv = all(r.lo is not None and r.hi is not None for r in ranked)

    # ties first: a shared place is a fact, not an uncertainty
    by_rank: dict[int, list[Row]] = {}
    for r in ranked:
        by_rank.setdefault(r.rank, []).append(r)  # type: ignore[arg-type]
    ties = [(rank, rs) for rank, rs in by_rank.items() if len(rs) > 1]

    if not has_iv:
        out.append(t("read.no_intervals", lang))
    else:
        leader = ranked[0]
        if leader.hi is not None and leader.hi <= 1 and len(by_rank[leader.rank]) == 1:  # type: ignore[index]
            out.append(t("read.leader_clear", lang, name=leader.name))
        else:
            top = [r for r in ranked if r.hi is not None and r.hi <= g]
            if len(top) >= 2:
                out.append(t("read.top_group", lang, names=join_few([r.name for r in top], lang), k=g))
            elif len(top) == 1:
                out.append(t("read.top_one_of_group", lang, name=top[0].name, k=g))
            rivals = [r for r in ranked[1:] if _overlap(leader, r) and r.lo is not None and r.lo <= 1]
            if rivals and len(top) < 2:
                out.append(t("read.leader_uncertain", lang, name=leader.name,
                             iv=fmt_rank_interval(leader.lo, leader.hi, lang),
                             others=join_few([r.name for r in rivals[:3]], lang)))
        bottom = [r for r in ranked if r.lo is not None and r.lo >= n_units - g + 1]
        if bottom and n_units > 2 * g:
            key = "read.bottom_group" if len(bottom) > 1 else "read.bottom_one"
            out.append(t(key, lang, names=join_few([r.name for r in bottom], lang), k=g))
        # places an interval spans (第 1–3 名: three); has_iv: every row has both ends
        widths = sorted(int(r.hi or 0) - int(r.lo or 0) + 1 for r in ranked)
        w = widths[len(widths) // 2] if len(widths) % 2 else (widths[len(widths) // 2 - 1] + widths[len(widths) // 2]) / 2
        key = "read.width" if w >= WIDE else "read.width_narrow"
        out.append(t(key, lang, w=f"{w:g}"))
    for rank, rs in ties[:TIES]:
        out.append(t("read.tie", lang, names=join_few([r.name for r in rs], lang), rank=rank))
    if len(ties) > TIES:
        out.append(t("read.ties_more", lang, n=len(ties) - TIES, units=sum(len(rs) for _, rs in ties[TIES:])))

    if band_order:
        counts = {b: sum(1 for r in ranked if r.band == b) for b in band_order}
        items = t("read.sep", lang).join(t("read.band_item", lang, label=b, n=c) for b, c in counts.items())
        out.append(t("read.bands", lang, items=items))
    thin = [r for r in ranked if incomplete(r.k, r.n)]
    if thin:
        items = join_few([t("read.missing_item", lang, name=r.name, kn=fmt_k_of_n(r.k, r.n, lang))
                            for r in thin], lang)
        out.append(t("read.missing", lang, items=items))
    if unranked:
        out.append(t(no_composite, lang, names=join_few(unranked, lang)))
    if shrunk:
        out.append(t("read.shrunk", lang))
    return out


def absolute_band(score: object, cuts: Sequence[float], labels: Sequence[str]) -> str | None:
    """The absolute band of a score (spec.BandSpec with method 'absolute': at or above the first cut the first label,
    …, below the last cut the last); None when the score is missing."""
    if not _ok(score):
        return None
    for cut, label in zip(cuts, labels):
        if float(score) >= cut:  # type: ignore[arg-type]
            return label
    return labels[len(cuts)] if len(labels) > len(cuts) else None
