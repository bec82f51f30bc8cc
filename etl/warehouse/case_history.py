"""Per-case history of `case_event`, kept up to date by the refresh: only the cases a change reaches are recomputed.

Formulas over the step history of a case (first-time completion, correction rounds, net processing days) open with a
common table expression that aggregates every event of each case — `name AS (SELECT case_id, … FROM case_event
GROUP BY case_id [HAVING …])` — and then count the cases by the period of their outcome. Run as written, each formula
aggregates all of `case_event` again at each grain. Here each distinct such expression of the catalog (its text, as
written) is materialised once as a table `case_history_<digest>`, and the formulas are rewritten to read it (only when
the rewritten SQL binds; the catalog's SQL stays the definition, and the Spark engine runs it as written).

Beside them the table `case_history` records each case's first and last event. When rows of `case_event` dated on or
after a day T changed (`etl.warehouse.incremental`: month digests), the cases reached are those with an event on or
after T now, or with their last event on or after T before the change (a superseded row may have taken it away): their
rows are deleted and recomputed from all their events, read from the earliest first event among them on (row groups
before are skipped). Grouping by case_id commutes with selecting cases, so the restricted expression gives exactly
those cases' rows of the whole one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime

from etl.warehouse import connection as warehouse, ddl
from indicators.catalog import Catalog

SPINE = "case_history"
PREFIX = "case_history_"
SOURCE = "case_event"
_TOUCHED = "_ch_touched"
_CTE_OPEN = re.compile(r"\b\w+\s+AS\s*\(", re.IGNORECASE)
_PER_CASE = re.compile(
    r"SELECT\s+case_id\s*,(?P<select>.*)\bFROM\s+case_event\s+GROUP\s+BY\s+case_id(?:\s+HAVING\b(?P<having>.*))?",
    re.IGNORECASE | re.DOTALL,
)
_NOT_PER_CASE = re.compile(r"\b(?:from|select|join|over)\b|\{|;", re.IGNORECASE)  # a FILTER (WHERE …) is fine
_FROM_SOURCE = re.compile(r"\bFROM\s+case_event\b", re.IGNORECASE)


def _blank(sql: str) -> str:
    """`sql` with `-- …` comments and the insides of quoted strings and names blanked, same length (offsets hold):
    what is left is code, where parentheses and keywords can be counted."""
    out, i, quote = list(sql), 0, None
    while i < len(sql):
        ch = sql[i]
        if quote:
            if ch == quote:
                quote = None
            else:
                out[i] = " "
        elif ch in "'\"":
            quote = ch
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = len(sql) if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
            continue
        i += 1
    return "".join(out)


def _close(code: str, start: int) -> int | None:
    """The offset of the parenthesis closing the one before `start` in blanked code, None if none."""
    depth = 1
    for i in range(start, len(code)):
        depth += {"(": 1, ")": -1}.get(code[i], 0)
        if depth == 0:
            return i
    return None


def per_case_bodies(sql: str) -> list[str]:
    """The per-case expressions of one SQL text, exactly as written (comments included): the bodies of its common
    table expressions that select case_id and aggregates over case_event alone, grouped by case_id."""
    code = _blank(sql)
    out = []
    for m in _CTE_OPEN.finditer(code):
        end = _close(code, m.end())
        if end is None:
            continue
        body = code[m.end():end]
        pc = _PER_CASE.fullmatch(body.strip())
        if pc is None or any(_NOT_PER_CASE.search(pc.group(g) or "") for g in ("select", "having")):
            continue
        out.append(sql[m.end():end])
    return out


def table_name(body: str) -> str:
    """The table holding a per-case expression's rows: named by the digest of its text."""
    return PREFIX + hashlib.sha256(body.encode()).hexdigest()[:12]


def tables_of(catalog: Catalog) -> dict[str, str]:
    """Per-case expression (as written) → its table, over every formula of the catalog."""
    return {b: table_name(b) for d in catalog for t in d.sql.texts() if t for b in per_case_bodies(t)}


def _touched_rows(since: datetime) -> str:
    """The events of the touched cases (from their earliest first event on), under the name of the source table."""
    return (f"(SELECT * FROM {SOURCE} WHERE event_at >= TIMESTAMP '{since:%Y-%m-%d %H:%M:%S}' "
            f"AND case_id IN (SELECT case_id FROM {_TOUCHED})) AS {SOURCE}")


def _restricted(body: str, since: datetime) -> str:
    """The expression over the events of the touched cases only."""
    return _FROM_SOURCE.sub(lambda _: f"FROM {_touched_rows(since)}", body, count=1)


def _spine_select(rows: str) -> str:
    return f"SELECT case_id, min(event_at) AS first_at, max(event_at) AS last_at FROM {rows} GROUP BY case_id"


def update(con: warehouse.Connection, bodies: Mapping[str, str], since: date | None, *, rebuild: bool) -> str:
    """Bring the per-case tables up to date with `case_event`: rebuild them (`rebuild`, or a table missing), or
    recompute the cases reached by rows changed on or after `since` (None: none changed). Returns what was done."""
    present = set(warehouse.table_names(con))
    if SOURCE not in present:
        return "no case_event table"
    for name in present:  # tables of expressions no formula has any more
        if name.startswith(PREFIX) and name not in bodies.values():
            con.sql(f"DROP TABLE {ddl.quote(name)}")
    if rebuild or SPINE not in present or any(t not in present for t in bodies.values()):
        con.sql(f"DROP TABLE IF EXISTS {SPINE}")
        ddl.create(con, SPINE)
        con.sql(f"INSERT INTO {SPINE} {_spine_select(SOURCE)}")
        for body, name in bodies.items():
            ddl.create_as(con, name, body)
        return f"per-case history rebuilt ({len(bodies)} expression(s))"
    if since is None:
        return "per-case history unchanged"
    t = datetime(since.year, since.month, since.day)
    con.sql(f"CREATE OR REPLACE TEMP TABLE {_TOUCHED} AS SELECT case_id FROM {SPINE} WHERE last_at >= ? "
            f"UNION SELECT case_id FROM {SOURCE} WHERE event_at >= ?", params=[t, t])
    try:
        low = warehouse.scalar(con, f"SELECT min(first_at) FROM {SPINE} WHERE case_id IN (SELECT case_id FROM {_TOUCHED})")
        lo = min(low, t) if isinstance(low, datetime) else t
        touched = int(warehouse.scalar(con, f"SELECT count(*) FROM {_TOUCHED}"))
        for name in (SPINE, *bodies.values()):
            con.sql(f"DELETE FROM {ddl.quote(name)} WHERE case_id IN (SELECT case_id FROM {_TOUCHED})")
        con.sql(f"INSERT INTO {SPINE} {_spine_select(_touched_rows(lo))}")
        for body, name in bodies.items():
            con.sql(f"INSERT INTO {ddl.quote(name)} {_restricted(body, lo)}")
    finally:
        con.sql(f"DROP TABLE IF EXISTS {_TOUCHED}")
    return f"per-case history: {touched} case(s) recomputed"


def rewrite(sql: str, bodies: Mapping[str, str]) -> str:
    """`sql` with each per-case expression replaced by a read of its table."""
    for body, name in bodies.items():
        sql = sql.replace(body, f" SELECT * FROM {ddl.quote(name)} ")
    return sql
