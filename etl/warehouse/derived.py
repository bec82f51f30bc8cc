"""Relations derived by stated rules from raw tables, defined once as plain SQL and read by the indicator formulas.

`rating_prompt(rating_id, prompt_type)`: who prompted a 好差评 rating. The real system (GB/T 39735-2020 record) has no
"prompted" flag, so the type is derived from what it does record — the channel and time of the rating, the case's
centre and completion, the centre's staffing that day, and the invitation the system sent — by these rules, first
match wins (indicators/catalog/README.md, "Prompt type"):

1. `staff_present` — the rating was given where staff stand by while the case is handled:
   a. on a counter evaluator (channel `window`) or the pad at the counter (`pad`); or
   b. at a kiosk (`kiosk`) for a case handled at a service centre (the case has a centre_id), from its completion to
      STAFF_WINDOW_MINUTES after it, on a day the centre had staff on duty (centre_staffing, staff_n > 0).
2. `invited` — the system invited the rating remotely: an invitation (SMS or app push, `invited_at`) was sent at or
   before the rating, or the rating is an SMS reply (`sms`: the system only takes ratings by SMS in answer to its
   own invitation).
3. `self_initiated` — anything else: the applicant rated on pc/app (or at a kiosk outside the rule above) unasked.

Invitations are what local rules require (DB2203/T 8-2024 §4.7), so they are kept apart from staff presence, which is
what the source study's "好评如潮、差评难觅" points at. Plain SELECT/JOIN/CASE (no macros), so the Spark runner can
register the same text as a temporary view.
"""

from __future__ import annotations

import duckdb

from etl.warehouse import connection as warehouse

PROMPT_TYPES = ("staff_present", "invited", "self_initiated")
#: a kiosk rating counts as given with staff present up to this many minutes after the case's completion
STAFF_WINDOW_MINUTES = 30

RATING_PROMPT = "rating_prompt"
RATING_PROMPT_SQL = f"""
SELECT r.rating_id,
       CASE
           WHEN r.channel IN ('window', 'pad') THEN 'staff_present'
           WHEN r.channel = 'kiosk' AND c.centre_id IS NOT NULL AND c.closed_at IS NOT NULL
                AND r.rated_at >= c.closed_at
                AND r.rated_at <= c.closed_at + INTERVAL {STAFF_WINDOW_MINUTES} MINUTE
                AND s.centre_id IS NOT NULL THEN 'staff_present'
           WHEN r.channel = 'sms' OR (r.invited_at IS NOT NULL AND r.invited_at <= r.rated_at) THEN 'invited'
           ELSE 'self_initiated'
       END AS prompt_type
FROM rating r
LEFT JOIN "case" c ON c.case_id = r.case_id
LEFT JOIN (SELECT DISTINCT centre_id, "date" FROM centre_staffing WHERE staff_n > 0) s
       ON s.centre_id = c.centre_id AND s."date" = CAST(r.rated_at AS DATE)
"""

#: every derived relation: name → SELECT (read by etl.warehouse.indicator_values; a Spark runner can reuse them)
VIEWS: dict[str, str] = {RATING_PROMPT: RATING_PROMPT_SQL}
#: the raw tables the derived relations read (an engine that copies tables, like Spark, needs them all)
SOURCE_TABLES: tuple[str, ...] = ("rating", "case", "centre_staffing")


def create_views(con: warehouse.Connection) -> None:
    """Create every derived relation on `con` over the raw tables as they are: a temporary table, computed once per
    run (rating_prompt joins ratings to ~10M cases, and four formulas read it), or a temporary view where temporary
    storage is not available."""
    for name, sql in VIEWS.items():
        try:
            con.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        except duckdb.Error:
            con.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")


def drop_views(con: warehouse.Connection) -> None:
    for name in VIEWS:
        kind = con.sql("SELECT table_type FROM information_schema.tables WHERE table_name = ?", params=[name]).fetchall()
        con.sql(f"DROP {'VIEW' if kind and kind[0][0] == 'VIEW' else 'TABLE'} IF EXISTS {name}")
