"""Period labels ('YYYY-MM' months, 'YYYYQn' quarters) and which periods the data cover completely."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """The three 'YYYY-MM' months of a 'YYYYQn' quarter."""
    year, q = quarter[:4], int(quarter[-1])
    return tuple(f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1))  # type: ignore[return-value]


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
    """The periods the data cover completely: a month when it is in `months`, a quarter when all three are.

    `months` are the months the data cover completely — `complete_months(first_day, last_day)` of the warehouse's
    data span. (Old warehouses without a recorded span pass the month labels that have any data instead; a month at
    the edge then counts as complete, which is why the span is recorded.)

    A period at the edge of the data span (say only October of Q4 has been loaded, or only two days of September)
    is partial: it is shown when asked for, but never chosen as the default period to rank districts on, because
    its seasonal mix, its survey coverage and its sample sizes differ from a full period's.
    """
    have = set(months)
    out = []
    for p in periods:
        if "Q" in p:
            if all(m in have for m in quarter_months(p)):
                out.append(p)
        elif p in have:
            out.append(p)
    return tuple(out)


def default_period(periods: Iterable[str], months: Iterable[str]) -> str | None:
    """The latest complete period (see complete_periods), else the latest period, else None."""
    ordered = sorted(periods)
    complete = complete_periods(ordered, months)
    if complete:
        return complete[-1]
    return ordered[-1] if ordered else None
