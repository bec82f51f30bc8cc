"""Incremental refresh: a formula computed for some periods reads its tables only from the first of them on, when
DuckDB itself shows that is the same.

An incremental refresh (etl.warehouse.incremental) computes a formula's periods P₁…Pₙ as `SELECT * FROM (formula)
WHERE period IN (P₁…Pₙ)`. DuckDB's optimizer pushes that filter as far down as the formula allows; where the formula
keeps each row's period (a row counts in the period of its own date, grouped by period or passed on row by row), it
reaches the scan of the table whose date makes the period: a filter `F = period(c) IN (P₁…Pₙ)` on that table's rows,
directly above its scan. It is a predicate on each row alone, so DuckDB cannot skip row groups with it, and every row
of the table is still read and formatted. Here, when the optimized plan scans a table once, the formula names it once,
and the conjunct right above that scan is exactly F on one of its date columns c, the table is read as
`(SELECT * FROM table WHERE c >= start)` (start: the first day of P₁; DuckDB's zone maps then skip the row groups
before it).

Why the result is the same: the plan is the formula with the table's rows restricted to F (the optimizer's rewrite,
valid on these data and on any subset of them), and F implies c >= start. So the formula over the rows with c >= start
gives, through the same plan, the rows F keeps of those — the same rows F keeps of all. Anything else (the table read
twice, the filter stopped above a window, an aggregate over every period, a join on another key) leaves the formula
as written. tests/etl/jobs/test_refresh_incremental.py checks the incremental values equal a full rebuild.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb

from etl.warehouse import connection as warehouse

_DATE_TYPES = {"DATE": "DATE", "TIMESTAMP": "TIMESTAMP"}
#: words that may follow a table name in a FROM clause and are no alias
_KEYWORDS = {"where", "group", "join", "left", "right", "inner", "full", "cross", "on", "using", "order", "limit",
             "having", "union", "natural", "window", "qualify", "semi", "anti", "positional", "asof", "except",
             "intersect", "as"}  # fmt: skip


def _plan(con: warehouse.Connection, sql: str) -> list[dict[str, Any]]:
    return list(json.loads(con.sql("EXPLAIN (FORMAT JSON) " + sql).fetchall()[0][1]))


def _conjuncts(expression: str) -> set[str]:
    """The top-level AND terms of a rendered filter expression, each as DuckDB renders it (outer parentheses off)."""
    e = expression.strip()
    while e.startswith("(") and _closing(e, 0) == len(e) - 1:
        e = e[1:-1].strip()
    out, depth, start, quote = set(), 0, 0, False
    for i, ch in enumerate(e):
        if ch == "'":
            quote = not quote
        elif not quote and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quote and depth == 0 and e.startswith(" AND ", i):
            out.add(e[start:i].strip())
            start = i + 5
    out.add(e[start:].strip())
    return {_bare(t) for t in out}


def _bare(term: str) -> str:
    while term.startswith("(") and _closing(term, 0) == len(term) - 1:
        term = term[1:-1].strip()
    return term


def _closing(text: str, open_at: int) -> int | None:
    depth, quote = 0, False
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "'":
            quote = not quote
        elif not quote and ch in "()":
            depth += 1 if ch == "(" else -1
            if depth == 0:
                return i
    return None


def _scans(nodes: list[dict[str, Any]], parent: dict[str, Any] | None = None) -> list[tuple[dict[str, Any], set[str]]]:
    """Each table scan of a plan with the conjuncts filtering its rows right at it (its own filters and those of a
    FILTER directly above)."""
    out = []
    for n in nodes:
        if n.get("name") == "SEQ_SCAN":
            info = n.get("extra_info") or {}
            terms: set[str] = set()
            filters = info.get("Filters") or []
            for f in [filters] if isinstance(filters, str) else filters:
                terms |= _conjuncts(f)
            if parent is not None and parent.get("name") == "FILTER" and len(parent.get("children") or []) == 1:
                terms |= _conjuncts(str((parent.get("extra_info") or {}).get("Expression", "")))
            out.append((n, terms))
        out.extend(_scans(n.get("children") or [], n))
    return out


def _table_of(scan: dict[str, Any]) -> str:
    """The bare table name of a scan ('db.main."case"' → case)."""
    name = str((scan.get("extra_info") or {}).get("Table", ""))
    return name.rsplit(".", 1)[-1].strip('"')


def date_columns(con: warehouse.Connection) -> dict[str, dict[str, str]]:
    """Base tables (temporary ones included) → their DATE / TIMESTAMP columns → type."""
    rows = con.sql(
        "SELECT c.table_name, c.column_name, c.data_type FROM duckdb_columns() c JOIN duckdb_tables() t "
        "ON t.table_name = c.table_name AND t.schema_name = c.schema_name AND t.database_name = c.database_name "
        "WHERE c.data_type IN ('DATE', 'TIMESTAMP')"
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for t, c, ty in rows:
        out.setdefault(str(t), {})[str(c)] = _DATE_TYPES[str(ty)]
    return out


def _reference(table: str) -> re.Pattern[str]:
    """A FROM/JOIN reference to the table, with the alias after it if any."""
    name = rf'"{re.escape(table)}"' if table == "case" else rf'(?:"{re.escape(table)}"|\b{re.escape(table)}\b)'
    return re.compile(rf"(?P<lead>\b(?:FROM|JOIN)\s+){name}(?P<alias>\s+(?:AS\s+)?(?P<word>[A-Za-z_]\w*))?",
                      re.IGNORECASE)


def narrowed(con: warehouse.Connection, formula: str, period_of: Callable[[str], str], labels: list[str],
             start: date) -> str:
    """`formula` reading, from each table it scans once where the plan filters that table to the periods `labels`
    by one of its date columns, only the rows dated on or after `start` (see the module docstring); `formula`
    itself when no table qualifies or the plan cannot be read. `period_of` turns a column into its period label
    (indicator_values.period_sql at the grain)."""
    if not labels:
        return formula
    quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in labels)
    try:
        plan = _plan(con, f"SELECT * FROM (\n{formula}\n) AS _only WHERE period IN ({quoted})")
    except duckdb.Error:
        return formula
    scans = _scans(plan)
    columns = date_columns(con)
    counts: dict[str, int] = {}
    for scan, _ in scans:
        counts[_table_of(scan)] = counts.get(_table_of(scan), 0) + 1
    out = formula
    for scan, terms in scans:
        table = _table_of(scan)
        cols = columns.get(table)
        if not cols or counts[table] != 1 or not terms:
            continue
        refs = list(_reference(table).finditer(out))
        named = rf'"{re.escape(table)}"' if table == "case" else rf"\b{re.escape(table)}\b"
        if len(refs) != 1 or len(re.findall(named, out)) != 1:
            continue  # named more than once (a subquery, a self-join): which reference is this scan is not known
        named_in = [c for c in cols if any(re.search(rf"\b{re.escape(c)}\b", t) for t in terms)]  # probe only those
        column = next((c for c in named_in if _probe(con, table, period_of(warehouse.quote(c)), quoted) in terms), None)
        if column is None:
            continue
        ref = refs[0]
        word = ref.group("word")
        alias = word if word is not None and word.lower() not in _KEYWORDS else None
        q = warehouse.quote(table)
        bound = f"{cols[column]} '{start:%Y-%m-%d}'"
        sub = f"(SELECT * FROM {q} WHERE {warehouse.quote(column)} >= {bound}) AS {alias or q}"
        tail = "" if alias is not None else (ref.group("alias") or "")
        out = out[:ref.start()] + ref.group("lead") + sub + tail + out[ref.end():]
    return out


def _probe(con: warehouse.Connection, table: str, period: str, quoted: str) -> str | None:
    """How DuckDB renders the filter `period IN labels` pushed onto the table's scan, `period` an expression of one
    of its columns (None: not pushed there)."""
    try:
        plan = _plan(con, f"SELECT * FROM (SELECT {period} AS period FROM {warehouse.quote(table)}) "
                          f"WHERE period IN ({quoted})")
    except duckdb.Error:
        return None
    terms = [t for _, ts in _scans(plan) for t in ts]
    return terms[0] if len(terms) == 1 else None
