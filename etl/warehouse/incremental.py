"""Incremental indicator values: recompute only the (indicator, grain, period) cells a change of the raw data can
reach, keep every other row of the snapshot's `indicator_values` as it is.

Beside the values, `indicator_values_state` (one JSON row) records what they were computed from: the code of the
indicator stage, each indicator's definition, the units, the data span, and per raw table a digest of its rows by
month — the month of the row's earliest date (any DATE/TIMESTAMP column): their keys and the rows superseded from it
(`month_digests`). The next refresh compares:

- anything global differs (code, grains, units, an old period missing from the new grid, no state) → everything is
  computed (`plan` returns None);
- per indicator and grain, computed whole when: its definition changed; its formula text reads the data end (a
  `{data_end}` that moved: outcomes still maturing, open cases past their deadline — the catalog's
  `waits_for_outcomes` indicators and every other formula whose SQL changes with the span) and the catalog declares
  no `outcome_window_days`; it waits for outcomes, declares no window, is not a rate form over one table (its
  outcome may be another row — a rating, a follow-up — dated any time after the period) and a table it reads
  changed; it reads the working-day calendar while the span moved; it has a window function (`OVER (`: a row may see
  other periods);
- otherwise (the catalog's rule: a formula that does not wait for outcomes uses nothing after its period; one that
  waits in its own row, a rate form over one table, counts each row in the period of its own date, which is on or
  after the row's earliest) a period can change only when a row it reads changed with a date on or before the
  period's end, plus its outcome window W (`outcome_window_days`, 0 when none): the cells computed are the new
  periods, the old periods ending on or after the earliest month of any changed row of a table the formula reads
  (its declared `tables`, every contract table its SQL names, and the tables of a derived view it reads) less W days,
  and, when the data end moved and the formula reads it, the old periods ending on or after the earlier data end
  less W + 1 days (a period that ended more than W days before the data end has every outcome it will have).

A formula waiting for outcomes in later rows that declares them (the catalog's `later_rows`: "table.key", or "table"
when no key reaches the row that makes the period) is bounded too: a change to a keyless one computes it whole; a
change to a keyed one reaches the periods of the rows the changed rows name — the rows of the changed table in its
changed months, and its rows superseded since the last refresh (their old key, from `superseded`), looked up by the
key in the table behind the formula's `{period(alias.column)}` (a late rating: the period its case closed in);
a change to any other table it reads is bounded as above (the catalog: it holds nothing dated after the period).

A table's month digests are re-read only when its ingest log (`ingest_files`: count, last file id) moved.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from etl.contract import tables
from etl.warehouse import case_history, connection as warehouse, ddl, derived, period_scan, workdays
from etl.warehouse import indicator_values as iv
from indicators.catalog import Catalog, IndicatorDef

STATE_TABLE = iv.STATE_TABLE
VERSION = 1
NO_DATE = "none"  # month key of rows without any date: a change there reaches every period
_WINDOW = re.compile(r"\bover\s*\(", re.IGNORECASE)
#: the raw tables each derived view reads (etl.warehouse.derived)
DERIVED_TABLES = {derived.RATING_PROMPT: ("rating", "case", "centre_staffing")}


def _code_digest() -> str:
    h = hashlib.sha256()
    for mod in (iv, derived, workdays, case_history, period_scan):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def _text(d: IndicatorDef) -> str:
    return "\n".join(t for t in d.sql.texts() if t)


def reads(d: IndicatorDef) -> frozenset[str]:
    """The raw tables an indicator's value can depend on (declared, named in its SQL, behind a derived view)."""
    text = _text(d)
    out = set(d.tables)
    for name in tables.TABLES:
        pattern = r'"case"' if name == "case" else rf"\b{re.escape(name)}\b"
        if re.search(pattern, text, re.IGNORECASE):
            out.add(name)
    for view, under in DERIVED_TABLES.items():
        if re.search(rf"\b{view}\b", text):
            out.update(under)
    return frozenset(out)


def _ingest_marks(con: warehouse.Connection) -> dict[str, str]:
    if "ingest_files" not in warehouse.table_names(con):
        return {}
    rows = con.sql("SELECT table_name, count(*) || ':' || coalesce(max(file_id), 0) FROM ingest_files GROUP BY 1")
    return {str(t): str(m) for t, m in rows.fetchall()}


def month_digests(con: warehouse.Connection, table: str) -> dict[str, str]:
    """Rows of a raw table by the month of their earliest date: month → 'count:hash sum[:superseded count]'.

    The hash is of the primary key only (of every column for a table the contract gives no key): rows enter a raw
    table only through the ingest (whose log is the `mark` the state keeps), which adds rows under new keys and
    replaces a row under its key only by superseding it, the old row moved to `superseded`. So the rows of a month
    changed exactly when its count, its keys' hash sum, or the number of superseded rows whose old row is dated in
    it changed (a row re-dated into another month changes both months' keys). Hashing the keys, not every column,
    takes about 0.5–0.8 of the time on case_event and case."""
    cols = _columns(con, table)
    if not cols:
        return {}
    spec = tables.TABLES.get(table)
    key = list(spec.primary_key) if spec is not None and set(spec.primary_key) <= {c for c, _ in cols} else []
    hashed = ", ".join(warehouse.quote(c) for c in key) if key else ", ".join(warehouse.quote(c) for c, _ in cols)
    # grouped by the month's first day, labelled here: a strftime per row took two thirds of the time
    month = _month_of(cols)
    rows = con.sql(
        f"SELECT {month} AS m, count(*) || ':' || sum(hash({hashed})::HUGEINT) FROM {warehouse.quote(table)} GROUP BY 1"
    ).fetchall()
    out = {NO_DATE if m is None else f"{m:%Y-%m}": str(v) for m, v in rows}
    if key and "superseded" in warehouse.table_names(con):
        old_month = _month_of([(f"TRY_CAST(json_extract_string(old_row, '$.{c}') AS TIMESTAMP)", t) for c, t in cols],
                              quoted=True)
        for m, n in con.sql(f"SELECT {old_month} AS m, count(*) FROM superseded WHERE table_name = ? GROUP BY 1",
                            params=[table]).fetchall():
            label = NO_DATE if m is None else f"{m:%Y-%m}"
            out[label] = f"{out.get(label, '0:0')}:{n}"
    return out


def _columns(con: warehouse.Connection, table: str) -> list[tuple[str, str]]:
    return [(str(c), str(t)) for c, t in con.sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        params=[table],
    ).fetchall()]


def _month_of(cols: list[tuple[str, str]], quoted: bool = False) -> str:
    """SQL: the first day of the month of a row's earliest date (NULL: no date), the month its digest is kept under.
    `cols`: (column, type); `quoted`: each column is an SQL expression already (not a name to quote)."""
    dates = [f"CAST({c if quoted else warehouse.quote(c)} AS DATE)" for c, t in cols
             if t.upper().startswith(("DATE", "TIMESTAMP"))]
    return f"date_trunc('month', least({', '.join(dates)}))" if dates else "NULL"


def current_state(
    con: warehouse.Connection, catalog: Catalog, grains: tuple[str, ...], span: tuple[date, date] | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """What the values about to be computed rest on (see the module docstring)."""
    present = set(warehouse.table_names(con))
    marks = _ingest_marks(con)
    old_tables = (previous or {}).get("tables", {})
    tabs: dict[str, Any] = {}
    for name in tables.TABLES:
        if name not in present:
            continue
        old = old_tables.get(name)
        mark = marks.get(name, "0:0")
        if old is not None and old.get("mark") == mark:
            tabs[name] = old
        else:
            tabs[name] = {"mark": mark, "months": month_digests(con, name)}
    units = iv.units_frame(con)
    return {
        "version": VERSION,
        "code": _code_digest(),
        "grains": list(grains),
        "span": [span[0].isoformat(), span[1].isoformat()] if span else None,
        "units": hashlib.sha256("\n".join(units["unit_code"].cast(pl.String).to_list()).encode()).hexdigest(),
        "defs": {d.id: hashlib.sha256(d.model_dump_json().encode()).hexdigest() for d in catalog},
        "tables": tabs,
    }


def read_state(con: warehouse.Connection) -> dict[str, Any] | None:
    if STATE_TABLE not in warehouse.table_names(con) or "indicator_values" not in warehouse.table_names(con):
        return None
    rows = con.sql(f"SELECT state FROM {STATE_TABLE}").fetchall()
    if len(rows) != 1:
        return None
    try:
        state = json.loads(rows[0][0])
    except ValueError:
        return None
    return state if isinstance(state, dict) and state.get("version") == VERSION else None


def write_state(con: warehouse.Connection, state: dict[str, Any]) -> None:
    con.sql(f"DROP TABLE IF EXISTS {STATE_TABLE}")
    ddl.create(con, STATE_TABLE)
    con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?)", [json.dumps(state, sort_keys=True)])


def _span(state: dict[str, Any]) -> tuple[date, date] | None:
    s = state.get("span")
    return (date.fromisoformat(s[0]), date.fromisoformat(s[1])) if s else None


def changed_from(old: dict[str, Any], new: dict[str, Any]) -> dict[str, date]:
    """Per raw table whose rows changed: the first day of the earliest month holding a changed row (date.min when
    a changed row has no date, or the table appeared or went)."""
    out: dict[str, date] = {}
    for name in set(old["tables"]) | set(new["tables"]):
        a, b = old["tables"].get(name), new["tables"].get(name)
        if a is None or b is None:
            out[name] = date.min
            continue
        ma, mb = a["months"], b["months"]
        if bool(ma) != bool(mb):  # empty ↔ not: its indicators were (or become) 'no_source' in every period
            out[name] = date.min
            continue
        diff = [m for m in set(ma) | set(mb) if ma.get(m) != mb.get(m)]
        if not diff:
            continue
        out[name] = date.min if NO_DATE in diff else min(date(int(m[:4]), int(m[5:7]), 1) for m in diff)
    return out


#: (indicator, grain, changed table, key) → the periods the table's changed rows reach through the key (None: that
#: cannot be told, the indicator is computed whole); `lookup_back` over a warehouse
Lookup = Callable[[IndicatorDef, str, str, str], "frozenset[str] | None"]


def later_rows(d: IndicatorDef) -> dict[str, str | None]:
    """The catalog's `later_rows`: table → the key reaching the row that makes the period (None: no key does)."""
    out: dict[str, str | None] = {}
    for entry in d.later_rows:
        table, _, key = entry.partition(".")
        out[table] = key or None
    return out


_PERIOD_COLUMN = re.compile(r"\s*\{period\(\s*(\w+)\.(\w+)\s*\)\}\s*")


def anchor(d: IndicatorDef) -> tuple[str, str] | None:
    """The raw table and date column that make a rate form's period (`{period(alias.column)}`, the alias's table in
    its FROM, outside any subquery); None for a query form or when that is not plain."""
    s = d.sql
    m = _PERIOD_COLUMN.fullmatch(s.period or "") if not s.is_query else None
    if m is None:
        return None
    alias, column = m.groups()
    refs = re.findall(rf'(?:^|\bjoin\s+)"?(\w+)"?\s+(?:as\s+)?{re.escape(alias)}\b', (s.from_ or "").strip(), re.I)
    return (refs[0], column) if len(refs) == 1 and refs[0] in tables.TABLES else None


def plan(catalog: Catalog, old: dict[str, Any] | None, new: dict[str, Any],
         lookup: Lookup | None = None) -> tuple[iv.Plan | None, list[str]]:
    """The periods to compute per (indicator, grain), or None for everything; and the indicators computed whole
    (with why), for the refresh's note. `lookup` finds the periods a changed table of `later_rows` reaches; without
    it such an indicator is computed whole."""
    if old is None:
        return None, ["no record of what the stored values were computed from"]
    for key in ("version", "code", "grains", "units"):
        if old.get(key) != new.get(key):
            return None, [f"{key} changed"]
    span0, span1 = _span(old), _span(new)
    if span0 is None or span1 is None:
        return None, ["no data span"]
    changed = changed_from(old, new)
    out: dict[tuple[str, str], frozenset[str]] = {}
    whole: list[str] = []
    for g in new["grains"]:
        p0 = iv.periods_frame(*span0, g)
        p1 = iv.periods_frame(*span1, g)
        if not set(p0["period"]) <= set(p1["period"]):
            return None, [f"the {g} periods shrank"]
        ends = dict(zip(p1["period"].to_list(), p1["period_end"].to_list()))
        fresh = set(p1["period"]) - set(p0["period"])
        for d in catalog:
            why = _whole(d, g, old, new, span0, span1, changed)
            if why:
                if why not in whole:
                    whole.append(why)
                continue
            keyed = {t: k for t, k in later_rows(d).items() if k is not None and t in changed}
            reached = [lookup(d, g, t, k) for t, k in keyed.items()] if lookup is not None else [None]
            if keyed and any(r is None for r in reached):
                why = f"{d.id} (waits for outcomes in later rows)"
                if why not in whole:
                    whole.append(why)
                continue
            first = _first_end(d, g, {t: v for t, v in changed.items() if t not in keyed}, span0, span1)
            cells = fresh | {p for p, e in ends.items() if first is not None and e >= first}
            out[(d.id, g)] = frozenset(cells.union(*(r & ends.keys() for r in reached if r is not None)))
    return out, whole


def _before(day: date, days: int) -> date:
    return day - timedelta(days=days) if day > date.min + timedelta(days=days) else date.min


def _first_end(d: IndicatorDef, grain: str, changed: dict[str, date], span0: tuple[date, date],
               span1: tuple[date, date]) -> date | None:
    """The earliest period end a change can reach for an indicator `_whole` lets be bounded (None: no old period)."""
    reach = d.outcome_window_days or 0
    bounds = [_before(changed[t], reach) for t in reads(d) if t in changed]
    if span0[1] != span1[1] and _reads_data_end(d, grain, span0, span1):
        bounds.append(_before(min(span0[1], span1[1]), reach + 1))
    return min(bounds) if bounds else None


def _reads_data_end(d: IndicatorDef, grain: str, span0: tuple[date, date], span1: tuple[date, date]) -> bool:
    return iv.formula_sql(d, grain, span0[1]) != iv.formula_sql(d, grain, span1[1])


def own_row_outcomes(d: IndicatorDef) -> bool:
    """A rate form over one table, or a query that is one SELECT over one table grouped by its rows' periods: each
    row counts in the period of its own date, so a waiting formula's outcomes are in the row it counts (a ticket
    closed later is the same ticket's row, dated by its earliest date)."""
    s = d.sql
    if len(reads(d)) != 1:
        return False
    if s.is_query:
        text = case_history._blank(s.query or "")
        return (len(re.findall(r"\bselect\b", text, re.I)) == 1 and not re.search(r"\bjoin\b|\bover\s*\(", text, re.I)
                and re.search(r'\bfrom\s+"?\w+"?\s+(?:where|group)\b', text, re.I) is not None
                and re.search(r"\bgroup\s+by\s+1\s*,\s*2\s*$", text.strip(), re.I) is not None
                and re.search(r"\{period\(\w+\)\}\s+as\s+period\b", s.query or "", re.I) is not None)
    return (not re.search(r"\bjoin\b|,", s.from_ or "", re.I)
            and not any(re.search(r"\bselect\b", t or "", re.I) for t in s.texts()))


def _whole(d: IndicatorDef, grain: str, old: dict[str, Any], new: dict[str, Any],
           span0: tuple[date, date], span1: tuple[date, date], changed: dict[str, date]) -> str | None:
    """Why an indicator must be computed whole at a grain (None: its periods can be bounded)."""
    if old["defs"].get(d.id) != new["defs"].get(d.id):
        return f"{d.id} (definition changed)"
    later = later_rows(d)
    if any(t in later and later[t] is None for t in changed):  # before the window: it does not bound these rows
        return f"{d.id} (waits for outcomes in later rows)"
    bounded = d.outcome_window_days is not None
    if not bounded and _reads_data_end(d, grain, span0, span1):
        return f"{d.id} (reads the data end)"
    if (d.waits_for_outcomes and not bounded and not own_row_outcomes(d) and reads(d) & set(changed)
            and not _declared(d, changed)):
        return f"{d.id} (waits for outcomes in later rows)"
    text = _text(d)
    if re.search(rf"\b{iv.WORKDAYS}\b", text) and span0 != span1:
        return f"{d.id} (working-day calendar over a moved span)"
    if _WINDOW.search(text):
        return f"{d.id} (window function)"
    return None


def _declared(d: IndicatorDef, changed: dict[str, date]) -> bool:
    """Its outcomes in later rows are declared (`later_rows`, with the table that makes its period known) and no
    changed table of them is reached by no key: the periods they change can be looked up (`plan`)."""
    later = later_rows(d)
    return bool(later) and anchor(d) is not None and all(later[t] is not None for t in changed if t in later)


def lookup_back(con: warehouse.Connection, old: dict[str, Any], new: dict[str, Any]) -> Lookup:
    """`plan`'s lookup over the warehouse: the periods of the rows (of the table behind the indicator's period) that
    the changed rows of a `later_rows` table name by its key. Changed rows: those of the table in the months whose
    digest moved from `old` to `new`, and the old rows superseded since `old` (their key from `superseded`: the row
    is gone, the period it counted in changes too). Months are found once per (table, key, anchor)."""
    cache: dict[tuple[str, str, str, str], frozenset[str] | None] = {}

    def look(d: IndicatorDef, grain: str, table: str, key: str) -> frozenset[str] | None:
        a = anchor(d)
        if a is None:
            return None
        k = (table, key, *a)
        if k not in cache:
            cache[k] = _anchor_months(con, old, new, table, key, *a)
        months = cache[k]
        return None if months is None else frozenset(iv.month_in(m, grain) for m in months)

    return look


def _anchor_months(con: warehouse.Connection, old: dict[str, Any], new: dict[str, Any], table: str, key: str,
                   anchor_table: str, column: str) -> frozenset[str] | None:
    """The months ('YYYY-MM') of `column` of the `anchor_table` rows whose `key` a changed row of `table` holds."""
    a, b = old["tables"].get(table), new["tables"].get(table)
    cols, anchor_cols = dict(_columns(con, table)), dict(_columns(con, anchor_table))
    if a is None or b is None or key not in cols or key not in anchor_cols or column not in anchor_cols:
        return None
    diff = {m for m in set(a["months"]) | set(b["months"]) if a["months"].get(m) != b["months"].get(m)}
    q = warehouse.quote
    month = _month_of(list(cols.items()))
    dated = ", ".join(f"DATE '{m}-01'" for m in sorted(diff - {NO_DATE}))
    where = " OR ".join([f"{month} IN ({dated})"] * bool(dated) + [f"{month} IS NULL"] * (NO_DATE in diff))
    keys = [f"SELECT {q(key)} FROM {q(table)} WHERE {where}"] if where else []
    if "superseded" in warehouse.table_names(con):
        since = int(str(a.get("mark", "0:0")).split(":")[1])
        keys.append(f"SELECT CAST(json_extract_string(old_row, '$.{key}') AS {cols[key]}) FROM superseded "
                    f"WHERE table_name = '{table}' AND superseded_by_file_id > {since}")
    if not keys:
        return frozenset()
    rows = con.sql(
        f"SELECT DISTINCT strftime(CAST({q(column)} AS TIMESTAMP), '%Y-%m') FROM {q(anchor_table)} "
        f"WHERE {q(column)} IS NOT NULL AND {q(key)} IN ({' UNION ALL '.join(keys)})"
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


def merge(old_values: pl.DataFrame, computed: pl.DataFrame, p: iv.Plan, catalog: Catalog,
          grains: tuple[str, ...]) -> pl.DataFrame:
    """The stored rows of planned (indicator, grain) pairs outside their computed periods, plus the computed rows,
    in the order a full computation writes them."""
    planned = pl.DataFrame(
        [(i, g) for (i, g) in p], schema={"indicator_id": pl.String(), "grain": pl.String()}, orient="row"
    )
    touched = pl.DataFrame(
        [(i, g, per) for (i, g), ps in p.items() for per in ps],
        schema={"indicator_id": pl.String(), "grain": pl.String(), "period": pl.String()}, orient="row",
    )
    kept = (old_values.cast(iv.SCHEMA)  # type: ignore[arg-type]
            .join(planned, on=["indicator_id", "grain"], how="semi")
            .join(touched, on=["indicator_id", "grain", "period"], how="anti")
            .select(list(iv.SCHEMA)))
    return iv.order_frame([computed.select(list(iv.SCHEMA)), kept], catalog, grains)


def write_values(
    con: warehouse.Connection, catalog: Catalog, grains: tuple[str, ...] = iv.GRAINS, *,
    params: dict[str, int] | None = None,
) -> tuple[pl.DataFrame, str]:
    """(Re)build `indicator_values` and `data_coverage` as `write_indicator_values` does (DuckDB engine), computing
    only the cells `plan` bounds and keeping the stored rows of the others; record the state for the next run.
    Returns the values written and a note (what was computed whole, and why)."""
    cat = iv.with_params(catalog, params)
    first, last = iv.data_span(con)
    span = (first, last) if first is not None and last is not None else None
    old = read_state(con)
    new = current_state(con, cat, tuple(grains), span, old)
    p, whole = plan(cat, old, new, lookup_back(con, old, new) if old is not None else None)
    per_case = case_history.tables_of(cat)
    new["case_history"] = sorted(per_case.values())
    since = changed_from(old, new).get(case_history.SOURCE) if old is not None and p is not None else None
    rebuild = p is None or old is None or old.get("case_history") != new["case_history"] or since == date.min
    with warehouse.transaction(con):
        history = case_history.update(con, per_case, since, rebuild=rebuild)
    if p is None:
        frame = iv.compute_indicator_values(con, cat, grains, span=span, per_case=per_case)
        note = "computed whole: " + "; ".join(whole)
    else:
        stored = con.sql(f"SELECT * FROM {iv.TABLE}").pl()
        computed = iv.compute_indicator_values(con, cat, grains, span=span, plan=p, per_case=per_case,
                                               stored_months=stored.filter(pl.col("grain") == "month"))
        frame = merge(stored, computed, p, cat, tuple(grains))
        cells = sum(len(v) for v in p.values())
        note = (f"incremental: {cells} (indicator, grain, period) cells bounded, {computed.height} rows computed, "
                f"{frame.height - computed.height} kept" + (f"; computed whole: {', '.join(whole)}" if whole else ""))
    note += f"; {history}"
    with warehouse.transaction(con):
        iv.store_values(con, frame, span)
        write_state(con, new)
    return frame, note
