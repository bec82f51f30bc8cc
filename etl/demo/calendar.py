"""The demo's time window: months, days, day-of-week and Spring Festival seasonality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.demo.errors import DemoConfigError

# Lunar New Year's Day (春节); the holiday week and the slow weeks around it depress service volumes.
SPRING_FESTIVAL: dict[int, str] = {
    2018: "2018-02-16", 2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01",
    2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
    2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23", 2032: "2032-02-11",
    2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
}

DAY_S = 86_400


@dataclass(frozen=True)
class Month:
    """One calendar month of the window."""

    index: int  # 0 = first month of the window
    label: str  # "2025-01"
    first_day: np.datetime64  # datetime64[D]
    days: np.ndarray  # datetime64[D] of every day in the month


@dataclass(frozen=True)
class Window:
    """The months generated, ending with end_month inclusive."""

    months: tuple[Month, ...]

    @property
    def start(self) -> np.datetime64:
        return self.months[0].first_day

    @property
    def end_exclusive(self) -> np.datetime64:
        last = self.months[-1]
        return last.days[-1] + np.timedelta64(1, "D")

    @property
    def end_s(self) -> int:
        """Last second of the window, as seconds since 1970 (naive local time)."""
        return int(self.end_exclusive.astype("datetime64[s]").astype(np.int64)) - 1

    def position(self, month: Month) -> float:
        """0 at the first month, 1 at the last: drives the per-district trends."""
        n = len(self.months)
        return month.index / (n - 1) if n > 1 else 1.0


def make_window(end_month: str, months: int) -> Window:
    """The `months` calendar months ending with `end_month` ("YYYY-MM")."""
    if months < 1:
        raise DemoConfigError(f"months must be at least 1, got {months}")
    try:
        end = np.datetime64(end_month, "M")
    except ValueError as e:
        raise DemoConfigError(f"end month {end_month!r} is not YYYY-MM") from e
    out = []
    for i in range(months):
        m = end - np.timedelta64(months - 1 - i, "M")
        first = m.astype("datetime64[D]")
        nxt = (m + np.timedelta64(1, "M")).astype("datetime64[D]")
        out.append(Month(i, str(m), first, np.arange(first, nxt, dtype="datetime64[D]")))
    return Window(tuple(out))


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday … 6 = Sunday."""
    return ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def spring_festival_offset(days: np.ndarray) -> np.ndarray:
    """Days from the nearest Spring Festival (negative before it)."""
    d = days.astype("datetime64[D]").astype(np.int64)
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    lo, hi = (int(years.min()) - 1, int(years.max()) + 1) if d.size else (2000, 2000)
    sf = np.array(
        [np.datetime64(SPRING_FESTIVAL.get(y, f"{y}-02-01"), "D") for y in range(lo, hi + 1)]
    ).astype(np.int64)
    best = np.full(d.shape, 10_000, dtype=np.int64)
    for dy in (-1, 0, 1):
        cand = d - sf[years + dy - lo]
        best = np.where(np.abs(cand) < np.abs(best), cand, best)
    return best


def day_weights(days: np.ndarray) -> np.ndarray:
    """Relative service volume of each day: weekends and the Spring Festival are quiet."""
    wd = weekday(days)
    w = np.where(wd < 5, 1.0, np.where(wd == 5, 0.3, 0.15))
    off = spring_festival_offset(days)
    w = np.where((off >= -1) & (off <= 6), 0.12, w)  # the public holiday week
    w = np.where((off >= -12) & (off <= -2), w * 0.8, w)  # pre-holiday lull: migrants go home early
    w = np.where((off >= 7) & (off <= 15), w * 0.85, w)
    return w


def centre_open(days: np.ndarray, main: bool) -> np.ndarray:
    """Whether a service centre is open: weekdays outside the holiday week; main centres also on Saturdays."""
    wd = weekday(days)
    off = spring_festival_offset(days)
    open_ = (wd < 5) | ((wd == 5) & main)
    return open_ & ~((off >= -1) & (off <= 6))


def to_seconds(days: np.ndarray) -> np.ndarray:
    """Midnight of each day as seconds since 1970."""
    return days.astype("datetime64[D]").astype(np.int64) * DAY_S
