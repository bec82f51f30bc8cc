"""Period labels ('YYYY-MM' months, 'YYYYQn' quarters) and which periods the data cover completely."""

from __future__ import annotations

from collections.abc import Iterable


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """The three 'YYYY-MM' months of a 'YYYYQn' quarter."""
    year, q = quarter[:4], int(quarter[-1])
    return tuple(f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1))  # type: ignore[return-value]


def complete_periods(periods: Iterable[str], months: Iterable[str]) -> tuple[str, ...]:
    """The periods whose every month is in `months` (months themselves are complete by definition).

    A quarter at the edge of the data span (say only October of Q4 has been loaded) is a partial quarter: it is
    shown when asked for, but never chosen as the default period to rank districts on, because its seasonal mix and
    its survey coverage differ from a full quarter's.
    """
    have = set(months)
    out = []
    for p in periods:
        if "Q" in p:
            if all(m in have for m in quarter_months(p)):
                out.append(p)
        else:
            out.append(p)
    return tuple(out)


def default_period(periods: Iterable[str], months: Iterable[str]) -> str | None:
    """The latest complete period, else the latest period, else None."""
    ordered = sorted(periods)
    complete = complete_periods(ordered, months)
    if complete:
        return complete[-1]
    return ordered[-1] if ordered else None
