"""China's working-day calendar as a plain relation `workdays(day, is_workday, workday_no, official)` for the indicator
SQL (registered beside `periods` by etl.warehouse.indicator_values).

Working days follow the State Council General Office's yearly notices on public holidays (国务院办公厅关于××年部分节假日
安排的通知): statutory holidays are off even on a weekday, and adjusted workdays (调休, a Saturday or Sunday made a
working day) are on. The notices come from the `chinesecalendar` package (MIT, LKI/chinese-calendar; 1.11.0 covers
2004–2026), which transcribes each notice. A year the package does not cover yet (the notice for it was not out
when the package was released, e.g. 2027 with 1.11.0) falls back to Monday–Friday and is marked `official = false`,
so a reader can tell; a newer package release covers it with no change here.

`workday_no` is the running count of working days up to and including `day` (a day off carries the count of the
working day before it), so "within N working days after day d" is `workday_no(x) - workday_no(d) <= N` and "the
N-th working day after d" is the first working day whose number is workday_no(d) + N: plain joins and
comparisons, which run the same on DuckDB and Spark.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import polars as pl

SCHEMA = {"day": pl.Date(), "is_workday": pl.Boolean(), "workday_no": pl.Int64(), "official": pl.Boolean()}
# Days before the data's first day and after its last one that the calendar covers: deadlines counted in working
# days from a rating near the end of the data (15 working days, holidays included, fit in 40 calendar days) and
# callbacks after it.
MARGIN_BEFORE_DAYS = 7
MARGIN_AFTER_DAYS = 60


def is_workday(day: date) -> tuple[bool, bool]:
    """(is a working day, by an official notice): Monday–Friday, not official, for a year no notice covers yet."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:  # the package has no notice for this year yet
        return day.weekday() < 5, False


def workdays_frame(first: date | None, last: date | None) -> pl.DataFrame:
    """Every day from MARGIN_BEFORE_DAYS before `first` to MARGIN_AFTER_DAYS after `last` (empty when either is None)."""
    if first is None or last is None:
        return pl.DataFrame(schema=SCHEMA)
    start, end = first - timedelta(days=MARGIN_BEFORE_DAYS), last + timedelta(days=MARGIN_AFTER_DAYS)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    flags = [is_workday(d) for d in days]
    work = pl.Series("is_workday", [f[0] for f in flags], pl.Boolean)
    return pl.DataFrame(
        {
            "day": pl.Series("day", days, pl.Date),
            "is_workday": work,
            "workday_no": work.cast(pl.Int64).cum_sum(),
            "official": pl.Series("official", [f[1] for f in flags], pl.Boolean),
        },
        schema=SCHEMA,
    )
