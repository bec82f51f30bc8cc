"""Rules across rows (Table.across_rows): the steps of one case must form a history the case could have had.

What can be checked: each pair of steps numbered n and n+1 of a case, once both are known (in this file or already
in the warehouse), must be a transition of NEXT and must not go back in time; step 1 must be `received`. What cannot:
a step still missing (a gap in `seq`) — the history is then incomplete, loaded as it is, and the indicators leave
the case out until the missing step arrives (a later file fills the gap and is checked against both neighbours).

A broken pair quarantines the row of this file (a row already in the warehouse stays): the later step when both
are in the file, the step of the file when its neighbour is already loaded. One record names the file, the row, the
column (event or event_at), the value, the case and the neighbouring step. Rows of a key repeated in the file are
judged by its first copy; every copy shares the verdict. The check runs in one SQL query over the file's checked
rows (the STAGE) and the warehouse's steps of the same cases, so it costs one window pass per file.
"""

from __future__ import annotations

import polars as pl

from etl.contract import schemas, tables
from etl.ingest import readers
from etl.warehouse import connection as wh

# The steps allowed right after each step (补正 happens before acceptance; 退件 ends a case that was not accepted).
NEXT: dict[str, tuple[str, ...]] = {
    "received": ("correction_requested", "accepted", "returned", "withdrawn"),
    "correction_requested": ("resubmitted", "returned", "withdrawn"),
    "resubmitted": ("correction_requested", "accepted", "returned", "withdrawn"),
    "accepted": ("decided", "withdrawn"),
    "decided": ("delivered",),
    "returned": (),
    "delivered": (),
    "withdrawn": (),
}
FIRST = "received"
# Tables with step sequences: (group column, order column, step column, time column).
SEQUENCES: dict[str, tuple[str, str, str, str]] = {"case_event": ("case_id", "seq", "event", "event_at")}


def _allowed_sql(prev: str, cur: str) -> str:
    """SQL: step `cur` may follow step `prev` (a CASE over NEXT)."""
    arms = " ".join(
        f"WHEN {prev} = '{a}' THEN {cur} IN ({', '.join(repr(b) for b in nxt)})" if nxt else f"WHEN {prev} = '{a}' THEN false"
        for a, nxt in NEXT.items()
    )
    return f"(CASE {arms} ELSE false END)"


def _next_list_sql(prev: str) -> str:
    arms = " ".join(f"WHEN {prev} = '{a}' THEN '{', '.join(nxt) or '—'}'" for a, nxt in NEXT.items())
    return f"(CASE {arms} END)"


def failures(con: wh.Connection, table: tables.Table, stage: str) -> pl.DataFrame:
    """Sequence failures of the rows in `stage` (with `_row`): _row, column, check, value, detail (FAILURE_SCHEMA)."""
    if table.name not in SEQUENCES:
        return pl.DataFrame(schema=schemas.FAILURE_SCHEMA)
    g, o, e, t = (wh.quote(c) for c in SEQUENCES[table.name])
    st, target = wh.quote(stage), wh.quote(table.name)
    step = f"{g} || ' #' || CAST({o} AS VARCHAR) || ' ' || {e} || ' @ ' || strftime({t}, '%Y-%m-%d %H:%M:%S')"
    q = f"""
WITH s AS (
    SELECT {g}, {o}, {e}, {t}, "_row" AS _row FROM {st}
    QUALIFY row_number() OVER (PARTITION BY {g}, {o} ORDER BY "_row") = 1
), w AS (
    SELECT {g}, {o}, {e}, {t}, CAST(NULL AS BIGINT) AS _row FROM {target} AS x
    WHERE x.{g} IN (SELECT {g} FROM s) AND NOT EXISTS (SELECT 1 FROM s WHERE s.{g} = x.{g} AND s.{o} = x.{o})
), a AS (SELECT * FROM s UNION ALL SELECT * FROM w), l AS (
    SELECT *, {step} AS _me,
           lag({o}) OVER k AS p_o, lag({e}) OVER k AS p_e, lag({t}) OVER k AS p_t, lag({step}) OVER k AS p_step,
           lead({o}) OVER k AS n_o, lead({e}) OVER k AS n_e, lead({t}) OVER k AS n_t, lead("_row") OVER k AS n_row,
           lead({step}) OVER k AS n_step
    FROM a WINDOW k AS (PARTITION BY {g} ORDER BY {o})
), f AS (
    SELECT _row, '{SEQUENCES[table.name][2]}' AS column, 'sequence_first' AS check, {e} AS value, {g} AS detail
    FROM l WHERE _row IS NOT NULL AND {o} = 1 AND {e} <> '{FIRST}'
    UNION ALL
    SELECT _row, '{SEQUENCES[table.name][2]}', 'sequence_step', {e}, p_step || ' → ' || {_next_list_sql("p_e")}
    FROM l WHERE _row IS NOT NULL AND p_o = {o} - 1 AND NOT {_allowed_sql("p_e", e)}
    UNION ALL
    SELECT _row, '{SEQUENCES[table.name][3]}', 'sequence_time', strftime({t}, '%Y-%m-%d %H:%M:%S'), p_step
    FROM l WHERE _row IS NOT NULL AND p_o = {o} - 1 AND {_allowed_sql("p_e", e)} AND {t} < p_t
    UNION ALL
    SELECT _row, '{SEQUENCES[table.name][2]}', 'sequence_next', {e}, n_step
    FROM l WHERE _row IS NOT NULL AND n_row IS NULL AND n_o = {o} + 1
      AND (NOT {_allowed_sql(e, "n_e")} OR n_t < {t})
)
SELECT x."_row", f.column, f.check, f.value, f.detail
FROM f JOIN s ON s._row = f._row JOIN {st} AS x ON x.{g} = s.{g} AND x.{o} = s.{o}
"""
    out = wh.query(con, q)
    return out.rename({"_row": readers.ROW}).cast(schemas.FAILURE_SCHEMA)  # type: ignore[arg-type]
