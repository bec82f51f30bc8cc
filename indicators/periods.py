"""Period labels ('YYYY-MM' months, 'YYYYQn' quarters, 'YYYY' years) and which periods the data cover completely."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """The three 'YYYY-MM' months of a 'YYYYQn' quarter."""
    year, q = quarter[:4], int(quarter[-1])
    return tuple(f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1))  # type: ignore[return-value]


def period_months(period: str) -> tuple[str, ...]:
    """The 'YYYY-MM' months of a period label: a month itself, a quarter's three, a year's twelve."""
    if len(period) == 4 and period.isdigit():
        return tuple(f"{period}-{m:02d}" for m in range(1, 13))
    if "Q" in period:
        return quarter_months(period)
    return (period,)


def period_grain(period: str) -> str:
    """'year', 'quarter' or 'month' from a period label's form."""
    if len(period) == 4 and period.isdigit():
        return "year"
    return "quarter" if "Q" in period else "month"


def complete_months(first_day: date | None, last_day: date | None) -> tuple[str, ...]:
    """The 'YYYY-MM' months the data span [first_day, last_day] (inclusive days) covers from their first to their
    last day, oldest first. Empty when either bound is None or the span is shorter than any whole month.

    Data from 1 July to 2 September cover July and August completely; September (two days) is not complete.
    """
    if first_day is None or last_day is None or last_day < first_day:
        return ()
    # First whole month: the month of first_day when the span starts on its 1st, else the next one.
    y, m = first_day.year, first_day.month
    if first_day.day != 1:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    out: list[str] = []
    while True:
        nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        if nxt - timedelta(days=1) > last_day:  # the month's last day is beyond the data
            break
        out.append(f"{y}-{m:02d}")
        y, m = nxt.year, nxt.month
    return tuple(out)


def complete_periods(periods: Iterable[str], months: Iterable[str]) -> tuple[str, ...]:
    """The periods the data cover completely: a month when it is in `months`, a quarter (a year) when all three
    (twelve) of its months are.

    `months` are the months the data cover completely — `complete_months(first_day, last_day)` of the warehouse's
    data span. (Old warehouses without a recorded span pass the month labels that have any data instead; a month at
    the edge then counts as complete, which is why the span is recorded.)

    A period at the edge of the data span (say only October of Q4 has been loaded, or only two days of September)
    is partial: it is shown when asked for, but never chosen as the default period to rank districts on, because
    its seasonal mix, its survey coverage and its sample sizes differ from a full period's.
    """
    have = set(months)
    return tuple(p for p in periods if all(m in have for m in period_months(p)))


def completeness(periods: Iterable[str], months: Iterable[str]) -> tuple[str, ...] | None:
    """What to pass the scoring engine as `complete=`: complete_periods, or None (every period counts as complete)
    when no month at all is known to be complete — a warehouse that records no data span and no months (a hand-built
    quarterly panel), where completeness is unknown rather than absent."""
    known = tuple(months)
    return complete_periods(periods, known) if known else None


def partial_periods(periods: Iterable[str], months: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each period the data do not cover completely → the months of it they do cover (possibly none), in order.

    What a period picker shows beside a partial period ("不完整期：2026-10"): `months` as in complete_periods. No month
    known at all means completeness is unknown (see completeness): nothing is marked.
    """
    have = set(months)
    if not have:
        return {}
    return {p: tuple(m for m in period_months(p) if m in have) for p in periods
            if not all(m in have for m in period_months(p))}


def in_window(period: str, window: tuple[str, str]) -> bool:
    """Whether a period lies wholly inside a reference window (first, last) of period labels, inclusive.

    Compared by months, so a window declared in quarters ('2025Q1', '2025Q4') holds the year '2025' and its
    months too.
    """
    lo, hi = period_months(window[0])[0], period_months(window[1])[-1]
    months = period_months(period)
    return months[0] >= lo and months[-1] <= hi


def window_months(window: tuple[str, str]) -> tuple[str, ...]:
    """Every month of a reference window (first, last), inclusive."""
    lo, hi = period_months(window[0])[0], period_months(window[1])[-1]
    out, y, m = [], int(lo[:4]), int(lo[5:])
    while f"{y}-{m:02d}" <= hi:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def default_period(periods: Iterable[str], months: Iterable[str]) -> str | None:
    """The latest complete period (see complete_periods), else the latest period, else None."""
    ordered = sorted(periods)
    complete = complete_periods(ordered, months)
    if complete:
        return complete[-1]
    return ordered[-1] if ordered else None
