"""Plain-language readings of a sensitivity run (issue 13.8 and 13.9 for the sensitivity page), from its numbers.

`verdict` says whether the run may be shown as a result at all: more than MAX_FAILED_SHARE of failed samples, or a
first-order Sobol index above its total effect beyond both intervals (an estimate that cannot be right), make the page
say so in words instead of drawing. `reading` turns a good run into the sentences a leader should take away: which
districts hold their place, which are hard to tell apart, which move most, and which factor drives the movement.
Every sentence comes from i18n (Chinese first, English beside it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from app.ui.i18n import fmt_int, fmt_pct, t

MAX_FAILED_SHARE = 0.05  # more failed samples than this and the run is not shown as a result
TOP = 3


@dataclass(frozen=True)
class Verdict:
    """Whether to draw the run; if not, why (i18n keys with their parameters)."""

    ok: bool
    problems: tuple[tuple[str, dict[str, str]], ...] = ()

    def messages(self, lang: str) -> list[str]:
        return [t(key, lang, **params) for key, params in self.problems]


def verdict(counts: Sequence[tuple[int, int]], sobol: pl.DataFrame, factor_label: Mapping[str, str],
            lang: str) -> Verdict:
    """`counts`: (samples, failed) of each analysis (Monte Carlo, Sobol design); `sobol` the long table (factor,
    output, S, S_low, S_high, ST, ST_low, ST_high). Too many failures in any analysis, or S1 > ST with S_low above
    ST_high for some factor and output, fail the run."""
    problems: list[tuple[str, dict[str, str]]] = []
    n, failed = max(counts, key=lambda c: c[1] / c[0] if c[0] else 0.0, default=(0, 0))
    if n and failed / n > MAX_FAILED_SHARE:
        problems.append(("sens.bad.failed", {"failed": fmt_int(failed, lang), "n": fmt_int(n, lang),
                                             "share": fmt_pct(failed / n, lang),
                                             "limit": fmt_pct(MAX_FAILED_SHARE, lang, 0)}))
    if sobol.height:
        bad = sobol.filter(pl.col("S_low") > pl.col("ST_high"))
        if bad.height:
            factors = sorted({factor_label.get(f, f) for f in bad["factor"].to_list()})
            problems.append(("sens.bad.s1_st", {"factors": _join(factors, lang), "count": fmt_int(bad.height, lang)}))
    return Verdict(not problems, tuple(problems))


def reading(units: Sequence[str], names: Mapping[str, str], nominal_rank: np.ndarray, low: np.ndarray,
            high: np.ndarray, sobol: pl.DataFrame, shift_output: str, factor_label: Mapping[str, str],
            lang: str) -> list[str]:
    """The sentences a leader should take away from the rank intervals and the Sobol indices of the rank shift."""
    out: list[str] = []
    name = [names.get(u, u) for u in units]
    order = np.argsort(nominal_rank, kind="stable")
    top = [name[i] for i in order if high[i] <= TOP]
    if top:
        out.append(t("sens.read.top", lang, names=_join(top, lang), k=str(TOP)))
    contested = [name[i] for i in order[:TOP] if high[i] > TOP]
    if contested:
        out.append(t("sens.read.contested", lang, names=_join(contested, lang), k=str(TOP)))
    width = high - low
    fixed = [name[i] for i in order if width[i] == 0]
    if fixed and len(fixed) < len(units):
        out.append(t("sens.read.fixed", lang, names=_join(fixed, lang)))
    elif fixed:
        out.append(t("sens.read.all_fixed", lang))
    if width.max() > 0:
        widest = [i for i in order if width[i] == width.max()][:3]
        out.append(t("sens.read.widest", lang, names=_join([name[i] for i in widest], lang),
                     low=fmt_int(float(low[widest[0]]), lang), high=fmt_int(float(high[widest[0]]), lang)))
    shift = sobol.filter(pl.col("output") == shift_output).drop_nulls("ST").filter(pl.col("ST").is_not_nan())
    if shift.height:
        best = shift.sort("ST", descending=True).row(0, named=True)
        key = "sens.read.driver_alone" if best["S"] >= 0.5 * best["ST"] else "sens.read.driver_joint"
        out.append(t(key, lang, factor=factor_label.get(best["factor"], best["factor"]),
                     st=fmt_pct(best["ST"], lang, 0)))
        weak = [factor_label.get(f, f) for f, st in zip(shift["factor"], shift["ST"], strict=True) if st < 0.05]
        if weak:
            out.append(t("sens.read.weak", lang, factors=_join(sorted(weak), lang)))
    return out


def _join(items: Sequence[str], lang: str) -> str:
    return ("、" if lang != "en" else ", ").join(items)
