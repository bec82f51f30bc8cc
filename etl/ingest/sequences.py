"""Rules across rows (Table.across_rows): the steps of one case must form a history the case could have had.

What can be checked: each pair of steps numbered n and n+1 of a case, once both are known (in this file or already
in the warehouse), must be a transition of NEXT and must not go back in time; step 1 must be `received`. What cannot:
a step still missing (a gap in `seq`) — the history is then incomplete, loaded as it is, and the indicators leave
the case out until the missing step arrives (a later file fills the gap and is checked against both neighbours).

A broken pair quarantines the row of this file (a row already in the warehouse stays): the later step when both
are in the file, the step of the file when its neighbour is already loaded. One record names the file, the row, the
column (event or event_at), the value, the case and the neighbouring step. The check runs once the file's own
repeated keys are settled (identical copies skipped, conflicting ones quarantined), in one SQL query over the
file's checked rows (the STAGE) and the warehouse's steps of the same cases: a hash join of each step with the next.
"""

from __future__ import annotations

import polars as pl

from etl.contract import schemas, tables
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


def failures(con: wh.Connection, table: tables.Table, stage: str, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Sequence failures of the rows in `stage` (with `_row`; its keys unique, i.e. after the file's own
    duplicates are settled): _row, column, check, value, detail (FAILURE_SCHEMA).

    Each step is paired with the next one of its case (in the file or already loaded); only the broken pairs come
    back, and the messages' details are built for those few rows. `frame`, when given, holds the stage's rows (a
    file held in memory): the pairs are then found by one sort in polars and only the warehouse's steps of the same
    cases are read by SQL; otherwise (a spilled stage) by one SQL query (`broken_pairs_sql`), with the same result."""
    if table.name not in SEQUENCES:
        return pl.DataFrame(schema=schemas.FAILURE_SCHEMA)
    bad = broken_pairs_sql(con, table, stage) if frame is None else broken_pairs(con, table, stage, frame)
    return _records(table, bad)


def broken_pairs(con: wh.Connection, table: tables.Table, stage: str, frame: pl.DataFrame) -> pl.DataFrame:
    """broken_pairs_sql's rows, found in polars from the stage's rows `frame` (its keys unique): the steps of the
    file and the warehouse's other steps of the same cases, sorted by case and step, each paired with the row
    after it when that is the next step of the same case."""
    group, order, step, time = SEQUENCES[table.name]
    g, o, t = (wh.quote(c) for c in (group, order, time))
    st, target = wh.quote(stage), wh.quote(table.name)
    names = {group: "g", order: "o", step: "e", time: "t"}
    s = frame.select([pl.col(c).alias(n) for c, n in names.items()] + [pl.col("_row").alias("r")])
    # The warehouse's other steps of the file's cases: none at all, without a join, when no loaded case falls in
    # the file's range of case ids (a new month's cases; the range check reads zonemaps only).
    span = [s["g"].min(), s["g"].max()]
    within = f"FROM {target} AS x WHERE x.{g} BETWEEN ? AND ?"
    loaded = wh.query(
        con,
        f"SELECT x.{g} AS g, x.{o} AS o, x.{wh.quote(step)} AS e, x.{t} AS t, CAST(NULL AS BIGINT) AS r "
        f"{within} AND x.{g} IN (SELECT {g} FROM {st}) "
        f"AND NOT EXISTS (SELECT 1 FROM {st} AS s WHERE s.{g} = x.{g} AND s.{o} = x.{o})",
        span,
    ) if s.height and wh.scalar(con, f"SELECT EXISTS (SELECT 1 {within})", span) else s.clear()  # fmt: skip
    a = pl.concat([s, loaded.cast(s.schema)]) if loaded.height else s  # type: ignore[arg-type]
    allowed = [f"{before}\x00{after}" for before, afters in NEXT.items() for after in afters]
    following = [pl.col(c).shift(-1).alias(f"{c}2") for c in ("g", "o", "e", "t", "r")]
    ordered = a.lazy() if a is s and _in_step_order(s) else a.lazy().sort("g", "o")
    pairs = (
        ordered
        .with_columns(following)
        .filter((pl.col("g2") == pl.col("g")) & (pl.col("o2") == pl.col("o") + 1))
        .filter(pl.col("r").is_not_null() | pl.col("r2").is_not_null())
        .with_columns(pl.concat_str("e", "e2", separator="\x00").is_in(allowed).alias("ok"))
        .filter(~pl.col("ok") | (pl.col("t2") < pl.col("t")))
        .select("g", pl.col("o").alias("o1"), pl.col("e").alias("e1"), pl.col("t").alias("t1"), pl.col("r").alias("r1"),
                "o2", "e2", "t2", "r2", "ok")
    )  # fmt: skip
    first = s.lazy().filter((pl.col("o") == 1) & (pl.col("e") != FIRST)).select(
        "g", *(pl.lit(None, a.schema[c]).alias(f"{c}1") for c in ("o", "e", "t", "r")),
        pl.col("o").alias("o2"), pl.col("e").alias("e2"), pl.col("t").alias("t2"), pl.col("r").alias("r2"),
        pl.lit(None, pl.Boolean).alias("ok"),
    )  # fmt: skip
    return pl.concat([pairs, first]).collect()


def _in_step_order(s: pl.DataFrame) -> bool:
    """True when the rows (g, o) are already in strictly increasing (case, step) order, as an export sorted by case
    writes them: one pass over adjacent rows (a tenth of the sort's cost), and the sort is skipped (keys are unique,
    so the sorted order is the order the rows already have)."""
    after = (pl.col("g").shift(-1) > pl.col("g")) | ((pl.col("g").shift(-1) == pl.col("g")) & (pl.col("o").shift(-1) > pl.col("o")))
    if s["g"].null_count() or s["o"].null_count():  # key columns are never null in the stage; if so, sort
        return False
    return bool(s.select(after.fill_null(True).all()).item())


def broken_pairs_sql(con: wh.Connection, table: tables.Table, stage: str) -> pl.DataFrame:
    """The broken pairs (g, o1, e1, t1, r1, o2, e2, t2, r2, ok) of the rows in `stage`, by one SQL query: a hash
    join of each step with the next; a wrong first step comes as a pair with an empty first half and ok null."""
    group, order, step, time = SEQUENCES[table.name]
    g, o, e, t = (wh.quote(c) for c in (group, order, step, time))
    st, target = wh.quote(stage), wh.quote(table.name)
    q = f"""
WITH s AS (SELECT {g} AS g, {o} AS o, {e} AS e, {t} AS t, "_row" AS r FROM {st}),
w AS (  -- the steps of the same cases already loaded (a row of the file replaces the one with its key)
    SELECT x.{g} AS g, x.{o} AS o, x.{e} AS e, x.{t} AS t, CAST(NULL AS BIGINT) AS r FROM {target} AS x
    WHERE x.{g} BETWEEN ? AND ? AND x.{g} IN (SELECT g FROM s) AND NOT EXISTS (SELECT 1 FROM s WHERE s.g = x.{g} AND s.o = x.{o})
),
a AS (SELECT * FROM s UNION ALL SELECT * FROM w)
SELECT a.g, a.o AS o1, a.e AS e1, a.t AS t1, a.r AS r1, b.o AS o2, b.e AS e2, b.t AS t2, b.r AS r2,
       {_allowed_sql("a.e", "b.e")} AS ok
FROM a JOIN a AS b ON b.g = a.g AND b.o = a.o + 1
WHERE (a.r IS NOT NULL OR b.r IS NOT NULL) AND (NOT {_allowed_sql("a.e", "b.e")} OR b.t < a.t)
UNION ALL
SELECT g, NULL, NULL, NULL, NULL, o, e, t, r, NULL FROM s WHERE o = 1 AND e <> '{FIRST}'
"""
    return wh.query(con, q, wh.value_range(con, st, g))  # the warehouse read within the file's cases (zonemaps)


def _records(table: tables.Table, bad: pl.DataFrame) -> pl.DataFrame:
    """Failure rows (FAILURE_SCHEMA) of broken pairs, with the neighbouring step named in the detail."""
    _, _, step, time = SEQUENCES[table.name]
    if bad.height == 0:
        return pl.DataFrame(schema=schemas.FAILURE_SCHEMA)
    out = []
    for p in bad.iter_rows(named=True):
        if p["ok"] is None:  # step 1 is not `received`
            out.append((p["r2"], step, "sequence_first", p["e2"], p["g"]))
        elif p["r2"] is not None:  # the later step is this file's: it cannot follow the one before
            prev = _step(p["g"], p["o1"], p["e1"], p["t1"])
            if not p["ok"]:
                out.append((p["r2"], step, "sequence_step", p["e2"], f"{prev} → {', '.join(NEXT[p['e1']]) or '—'}"))
            else:
                out.append((p["r2"], time, "sequence_time", f"{p['t2']:%Y-%m-%d %H:%M:%S}", prev))
        else:  # this file's step does not fit the next one, already loaded
            out.append((p["r1"], step, "sequence_next", p["e1"], _step(p["g"], p["o2"], p["e2"], p["t2"])))
    return pl.DataFrame(out, schema=schemas.FAILURE_SCHEMA, orient="row")


def _step(case: str, seq: int, event: str, at: object) -> str:
    """A neighbouring step as messages name it: 'C…-0001 #2 received @ 2025-03-04 10:00:00'."""
    return f"{case} #{seq} {event} @ {at:%Y-%m-%d %H:%M:%S}"  # type: ignore[str-format]
