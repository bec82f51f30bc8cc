"""Cron expressions: crontab text (5 or 6 fields, or an alias) to an APScheduler CronTrigger.

A leaf module (nothing from the project), so the configuration can validate its cron field and the scheduler can
run it without importing each other.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) = Sunday
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(ValueError):
    """A cron expression cannot be parsed; the message names the field."""


def _dow_value(token: str, expr: str) -> int:
    t = token.strip().lower()
    if t in _DOW_NAMES:
        return _DOW_NAMES.index(t)
    if t.isdigit() and 0 <= int(t) <= 7:
        return int(t) % 7
    raise CronError(f"cron {expr!r}: day-of-week value {token!r} is not 0-7 or sun..sat")


def _crontab_dow(field: str, expr: str) -> str:
    """Translate a crontab day-of-week field (0/7 = Sunday) into APScheduler 3's names (where 0 = Monday)."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        rng, _, step_s = part.partition("/")
        step = 1
        if step_s:
            if not step_s.isdigit() or int(step_s) == 0:
                raise CronError(f"cron {expr!r}: bad step {part!r} in the day-of-week field")
            step = int(step_s)
        if rng in ("*", "?"):
            lo, hi = 0, 6
        elif "-" in rng:
            a, b = rng.split("-", 1)
            lo, hi = _dow_value(a, expr), _dow_value(b, expr)
            if hi == 0 and lo > 0:
                hi = 7  # "5-7", "fri-sun": Sunday closes the week
            if hi < lo:
                raise CronError(f"cron {expr!r}: day-of-week range {rng!r} runs backwards")
        else:
            lo = _dow_value(rng, expr)
            hi = 6 if step_s else lo
        days.update(d % 7 for d in range(lo, hi + 1, step))
    if len(days) == 7:
        return "*"
    order = (1, 2, 3, 4, 5, 6, 0)
    return ",".join(_DOW_NAMES[d] for d in order if d in days)


def parse_cron(expr: str, timezone: str | ZoneInfo) -> CronTrigger:
    """A CronTrigger from a crontab: 5 fields (minute hour day month weekday), 6 with a leading seconds field, or
    an alias (@hourly, @daily, @weekly, @monthly, @yearly). Weekdays use crontab numbering (0 or 7 = Sunday).
    """
    text = _ALIASES.get(expr.strip().lower(), expr.strip())
    fields = text.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise CronError(
            f"cron {expr!r}: expected 5 fields (minute hour day month weekday) or 6 (second first), got {len(fields)}"
        )
    second, minute, hour, day, month, dow = fields
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    day_of_week = _crontab_dow(dow, expr)
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=tz,
        )
    except ValueError as e:
        raise CronError(f"cron {expr!r}: {e}") from None
