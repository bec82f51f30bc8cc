"""ETL benchmark: raw files → validated warehouse → indicator values, against a pandas read + groupby baseline.

Each side runs in its own child process (so wall time, CPU time and peak RSS are measured per side, DuckDB included)
on the same files in the same run. The baseline is what a straightforward analyst script does for EVERY case- and
rating-based indicator of the catalog (17 of them: rates, medians, gaps and the rating coverage; the person/enterprise
onboarding parity it also computed was retired in issue 18), by district × month and × quarter: pandas read_parquet/read_csv of the columns it needs, merge,
groupby, each indicator following its catalog SQL, including the right-censoring rules at the data end ({data_end}:
midnight after the last day with an event in any event table, events after the run's start ignored as govindex's
"not after the load time" check does) and the NULL rule (denominator missing or zero; cells govindex leaves out
under the precision rule, missing_reason 'imprecise', are counted apart, not compared). It
validates nothing, dedupes nothing, loads nothing and builds no full grid, and it skips the catalog's other
indicators, so it does strictly less work than govindex and the ratio is conservative. Its values are compared cell by
cell with ours (they differ only where govindex quarantined or skipped duplicate rows that the raw-file script counts).

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m bench.etl --source /tmp/demo25
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import BenchRow, baseline_row
from bench import data as bench_data

if TYPE_CHECKING:
    import pandas as pd

TARGET_RATIO = 3.0
TARGET_PEAK_GB = 4.0


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def _cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (DuckDB's and polars' included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_ours(source: Path, db: Path) -> dict[str, Any]:
    """govindex: ingest every file (read, cast, validate, dedupe, load) then compute all indicator values."""
    from etl.ingest.files import ingest_folder

    t0 = time.perf_counter()
    report = ingest_folder(source, db)
    t_ingest = time.perf_counter() - t0
    out: dict[str, Any] = {
        "rows_in": report.rows_in,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "rows_duplicate": report.rows_duplicate,
        "files": len(report.files),
        "ingest_s": t_ingest,
        "indicator_values": None,
    }
    try:
        from etl.contract.catalog import load_catalog
        from etl.warehouse.indicator_values import write_indicator_values
    except ImportError as e:  # H3's module not in this build: bench the ingest only
        out["indicator_values"] = f"skipped: {e}"
        out["indicators_s"] = 0.0
    else:
        t1 = time.perf_counter()
        frame = write_indicator_values(db, load_catalog())
        out["indicators_s"] = time.perf_counter() - t1
        out["indicator_values"] = frame.height
    out["total_s"] = time.perf_counter() - t0
    out["cpu_s"] = _cpu_s()
    out["peak_gb"] = _peak_gb()
    return out


# ----------------------------------------------------------------------------------------------- pandas baseline
ONLINE = ["pc", "app"]
OLDER, YOUNGER = ["60-69", "70+"], ["18-29", "30-44", "45-59"]
CASE_COLS = ["case_id", "item_code", "district_code", "centre_id", "channel", "applicant_type", "age_band", "started_at",
             "submitted_at", "accepted_at", "closed_at", "promised_due_at", "status", "visits_actual",
             "materials_submitted_n", "materials_via_sharing_n", "via_bundle"]  # fmt: skip
RATING_COLS = ["rating_id", "case_id", "channel", "rated_at", "level"]
STAFF_WINDOW_MINUTES = 30  # etl.warehouse.derived.STAFF_WINDOW_MINUTES: kiosk ratings with staff present
# Event tables whose dates span the data (as etl.warehouse.indicator_values.SPAN_COLUMNS): {data_end} is midnight after the last.
SPAN_COLUMNS = {"case": "started_at", "rating": "rated_at", "hotline_ticket": "created_at",
                "survey_response": "surveyed_on", "kiosk_event": "ts", "centre_staffing": "date"}  # fmt: skip


def _read_csv(path: Path, usecols: list[str]) -> pd.DataFrame:
    codes = {c: str for c in usecols if c in ("district_code", "item_code", "case_id", "rating_id")}
    try:
        return pd.read_csv(path, usecols=usecols, dtype=codes, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError:  # district systems also export GB18030
        return pd.read_csv(path, usecols=usecols, dtype=codes, encoding="gb18030", low_memory=False)


def _read_xlsx(path: Path, usecols: list[str]) -> pd.DataFrame:
    import fastexcel  # pandas' own xlsx engines (openpyxl, calamine) are not installed; fastexcel hands pandas a frame

    return fastexcel.read_excel(path).load_sheet(0, use_columns=usecols).to_pandas()


def _table_files(source: Path, table: str, ext: str) -> list[Path]:
    """The files `table*.ext` of that table: `case*.parquet` also matches the case_event files, which are not."""
    from etl.contract import tables

    return [f for f in sorted(source.glob(f"{table}*.{ext}")) if tables.table_for_file(f.name) == table]


def _frames(source: Path, table: str, usecols: list[str]) -> pd.DataFrame:
    parts = [pd.read_parquet(f, columns=usecols) for f in _table_files(source, table, "parquet")]
    parts += [_read_csv(f, usecols) for f in _table_files(source, table, "csv")]
    parts += [_read_xlsx(f, usecols) for f in _table_files(source, table, "xlsx")]
    return pd.concat(parts, ignore_index=True)


def _span(stamps: list[pd.Series], now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day with an event; stamps after `now` are defects govindex quarantines (2099 test rows)."""
    days = pd.concat([pd.to_datetime(s, errors="coerce") for s in stamps], ignore_index=True)
    days = days[days <= now].dt.normalize()
    return days.min(), days.max()


def _bool(s: pd.Series) -> pd.Series:
    if s.dtype == bool:
        return s
    return s.astype(str).str.lower().isin(["true", "1"])


def _period(ts: pd.Series, grain: str) -> pd.Series:
    return ts.dt.strftime("%Y-%m") if grain == "month" else ts.dt.year.astype(str) + "Q" + ts.dt.quarter.astype(str)


def _rate(df: pd.DataFrame, when: str, num: pd.Series, grain: str, iid: str, scale: float, den: pd.Series | None = None) -> pd.DataFrame:
    g = pd.DataFrame({"unit_code": df["district_code"].values, "period": _period(df[when], grain).values,
                      "numerator": num.astype(float).values,
                      "denominator": (den.astype(float).values if den is not None else 1.0)})  # fmt: skip
    out = g.groupby(["unit_code", "period"], as_index=False)[["numerator", "denominator"]].sum()
    out["value"] = out["numerator"] / out["denominator"] * scale
    return out.assign(indicator_id=iid, grain=grain)


def _gap(df: pd.DataFrame, when: str, in_a: pd.Series, ok_a: pd.Series, in_b: pd.Series, ok_b: pd.Series,
         grain: str, iid: str, min_den: float) -> pd.DataFrame:  # fmt: skip
    g = pd.DataFrame({"unit_code": df["district_code"].values, "period": _period(df[when], grain).values,
                      "n_a": in_a.values, "k_a": (in_a & ok_a).values, "n_b": in_b.values, "k_b": (in_b & ok_b).values})  # fmt: skip
    out = g.groupby(["unit_code", "period"], as_index=False)[["n_a", "k_a", "n_b", "k_b"]].sum()
    ok = (out["n_a"] >= min_den) & (out["n_b"] >= min_den)
    out["value"] = np.where(ok, 100.0 * out["k_a"] / out["n_a"].where(ok) - 100.0 * out["k_b"] / out["n_b"].where(ok), np.nan)
    out["numerator"], out["denominator"] = np.nan, (out["n_a"] + out["n_b"]).astype(float)
    return out[["unit_code", "period", "numerator", "denominator", "value"]].assign(indicator_id=iid, grain=grain)


def compute(
    source: Path, scale: dict[str, float], now: pd.Timestamp
) -> tuple[pd.DataFrame, int, pd.Timestamp]:
    """All case/rating indicators at month and quarter grain; (long frame, rows read, last day of the data)."""
    cases = _frames(source, "case", CASE_COLS)
    for c in ("started_at", "submitted_at", "accepted_at", "closed_at", "promised_due_at"):
        cases[c] = pd.to_datetime(cases[c], errors="coerce")
    cases["via_bundle"] = _bool(cases["via_bundle"])
    ratings = _frames(source, "rating", RATING_COLS)
    ratings["rated_at"] = pd.to_datetime(ratings["rated_at"], errors="coerce")
    ratings["level"] = pd.to_numeric(ratings["level"], errors="coerce")
    items = _frames(source, "service_item", ["item_code", "district_code", "in_basic_catalog", "onboarded",
                                              "onboarded_on", "online_depth", "bundle_id"])  # fmt: skip
    items["onboarded_on"] = pd.to_datetime(items["onboarded_on"], errors="coerce")
    for c in ("in_basic_catalog", "onboarded"):
        items[c] = _bool(items[c])
    follow = _frames(source, "bad_rating_followup", ["rating_id", "due_at", "rectified_at", "appeal_upheld"])
    for c in ("due_at", "rectified_at"):
        follow[c] = pd.to_datetime(follow[c], errors="coerce")
    follow["appeal_upheld"] = follow["appeal_upheld"].astype(str).str.lower().isin(["true", "1"])
    hot = _frames(source, "hotline_ticket", ["created_at", "district_code", "category", "item_code"])
    hot["created_at"] = pd.to_datetime(hot["created_at"], errors="coerce")
    rows_read = len(cases) + len(ratings) + len(items) + len(follow) + len(hot)
    # {data_end} needs the last event date of every event table, the ones no indicator here reads included.
    others = [_frames(source, t, [SPAN_COLUMNS[t]])[SPAN_COLUMNS[t]] for t in ("survey_response", "kiosk_event")]
    staffing = _frames(source, "centre_staffing", ["centre_id", "date", "staff_n"])
    staffing["date"] = pd.to_datetime(staffing["date"], errors="coerce")
    staffing["staff_n"] = pd.to_numeric(staffing["staff_n"], errors="coerce")
    others.append(staffing["date"])
    rows_read += sum(len(o) for o in others)
    first_day, last_day = _span([cases["started_at"], ratings["rated_at"], hot["created_at"], *others], now)
    data_end = last_day + pd.Timedelta(days=1)  # midnight after the last day: the first instant not covered
    # the city centre's rule (catalog README): category 政务服务 or a linked service item, not the district's flag
    hot = hot[(hot["category"] == "政务服务") | (hot["item_code"].notna() & (hot["item_code"].astype(str) != ""))]

    sub = cases[cases["submitted_at"].notna()]
    closed = cases[(cases["status"] == "closed") & cases["closed_at"].notna()]
    # On-time completion and the processing-time ratio: cases by the period of their promised deadline, deadlines
    # before data_end; a case still open past its deadline is late.
    promised = cases[cases["promised_due_at"].notna() & ~cases["status"].isin(["rejected", "withdrawn"])
                     & (cases["promised_due_at"] < data_end)]
    timed = promised[promised["accepted_at"].notna() & (promised["promised_due_at"] > promised["accepted_at"])]
    # Right-censoring: count only what is knowable by data_end (see each indicator's description in the catalog).
    online_started = cases[cases["channel"].isin(ONLINE) & (cases["started_at"] <= data_end - pd.Timedelta(days=3))]
    rated_closed = closed[closed["closed_at"] <= data_end - pd.Timedelta(days=7)]
    person = sub[sub["applicant_type"] == "person"]
    older = person[person["age_band"].isin(OLDER)]
    with_item = sub.merge(items, on="item_code", how="inner", suffixes=("", "_item"))
    bundled = with_item[with_item["bundle_id"].notna()]
    live = with_item["onboarded"] & with_item["onboarded_on"].notna() & (
        with_item["onboarded_on"] <= with_item["submitted_at"].dt.normalize())
    depth = np.where(live, with_item["online_depth"].map({"full": 100, "partial": 50}).fillna(0), 0)
    rated = ratings.merge(cases[["case_id", "district_code", "centre_id", "closed_at"]], on="case_id", how="inner")
    # The prompt type's first rule, written again in pandas (etl.warehouse.derived.rating_prompt): staff present at
    # the counter (window, pad), or at a kiosk within 30 minutes of a centre case's completion on a staffed day.
    staffed = staffing.loc[staffing["staff_n"] > 0, ["centre_id", "date"]].drop_duplicates().assign(on_duty=True)
    on_duty = (rated[["centre_id"]].assign(date=rated["rated_at"].dt.normalize())
               .merge(staffed, on=["centre_id", "date"], how="left")["on_duty"].fillna(False).astype(bool).values)
    at_kiosk = ((rated["channel"] == "kiosk") & rated["centre_id"].notna() & (rated["rated_at"] >= rated["closed_at"])
                & (rated["rated_at"] <= rated["closed_at"] + pd.Timedelta(minutes=STAFF_WINDOW_MINUTES)) & on_duty)
    rated["staff"] = rated["channel"].isin(["window", "pad"]) | at_kiosk
    unprompted = rated[~rated["staff"]]
    bad = rated[rated["level"] <= 2].merge(follow, on="rating_id", how="left")
    bad = bad[~bad["appeal_upheld"].fillna(False).astype(bool)
              & (bad["due_at"].fillna(bad["rated_at"] + pd.Timedelta(days=15)) <= data_end)]  # fmt: skip
    covered = rated_closed["case_id"].isin(unprompted["case_id"].unique())

    out: list[pd.DataFrame] = []
    for grain in ("month", "quarter"):
        s = scale
        out += [
            _rate(promised, "promised_due_at", promised["closed_at"].notna() & (promised["closed_at"] <= promised["promised_due_at"]),
                  grain, "ontime_completion_rate", s["ontime_completion_rate"]),
            _rate(bundled, "submitted_at", bundled["via_bundle"], grain, "one_thing_case_share", s["one_thing_case_share"]),
            _rate(with_item, "submitted_at", pd.Series(depth), grain, "online_depth_score", s["online_depth_score"]),
            _rate(sub, "submitted_at", sub["materials_via_sharing_n"], grain, "data_substitution_rate", s["data_substitution_rate"],
                  den=sub["materials_submitted_n"] + sub["materials_via_sharing_n"]),
            _rate(closed, "closed_at", closed["visits_actual"] <= 1, grain, "realised_one_visit_rate", s["realised_one_visit_rate"]),
            _rate(sub, "submitted_at", sub["channel"].isin(ONLINE), grain, "actual_online_case_rate", s["actual_online_case_rate"]),
            _rate(online_started, "started_at", online_started["submitted_at"].notna(), grain, "online_completion_rate", s["online_completion_rate"]),
            _rate(older, "submitted_at", older["channel"].isin(ONLINE), grain, "online_rate_60plus", s["online_rate_60plus"]),
            _rate(rated_closed, "closed_at", covered, grain, "rating_coverage_rate", s["rating_coverage_rate"]),
            _rate(unprompted, "rated_at", unprompted["level"] >= 4, grain, "unprompted_satisfaction", s["unprompted_satisfaction"]),
            _rate(rated, "rated_at", rated["level"] >= 4, grain, "raw_good_rate", s["raw_good_rate"]),
            _rate(rated, "rated_at", ~rated["staff"], grain, "unprompted_rating_share", s["unprompted_rating_share"]),
            _rate(bad, "rated_at", bad["rectified_at"].notna() & (bad["rectified_at"] <= bad["due_at"]), grain,
                  "bad_rating_closure_rate", s["bad_rating_closure_rate"]),
            _gap(person, "submitted_at", person["age_band"].isin(YOUNGER), person["channel"].isin(ONLINE),
                 person["age_band"].isin(OLDER), person["channel"].isin(ONLINE), grain, "elderly_digital_gap", 1),
            _gap(rated, "rated_at", rated["staff"], rated["level"] >= 4, ~rated["staff"], rated["level"] >= 4,
                 grain, "prompt_bias_gap", 1),
        ]  # fmt: skip
        # processing_time_ratio: median of (closed − accepted) / (due − accepted) by the deadline's period; a case
        # open at the period's end (or data_end) counts up to then; numerator = cases with a ratio above 1
        pe = timed["promised_due_at"].dt.to_period("M" if grain == "month" else "Q").dt.end_time.dt.normalize() + pd.Timedelta(days=1)
        stop = pe.where(pe < data_end, data_end)
        done = timed["closed_at"].where(timed["closed_at"].notna() & (timed["closed_at"] < stop), stop)
        r = (done - timed["accepted_at"]) / (timed["promised_due_at"] - timed["accepted_at"])
        t = timed.assign(period=_period(timed["promised_due_at"], grain), r=r, late=r > 1)  # fmt: skip
        ptr = t.groupby(["district_code", "period"], as_index=False).agg(
            value=("r", "median"), numerator=("late", "sum"), denominator=("late", "size"))
        out.append(ptr.rename(columns={"district_code": "unit_code"}).assign(indicator_id="processing_time_ratio", grain=grain))
        # hotline_service_complaint_rate: gov-service tickets per 10k submitted cases
        c_n = sub.groupby(["district_code", _period(sub["submitted_at"], grain).rename("period")]).size().rename("denominator")
        t_n = hot.groupby(["district_code", _period(hot["created_at"], grain).rename("period")]).size().rename("numerator")
        hc = pd.concat([c_n, t_n], axis=1, join="outer").loc[c_n.index].fillna({"numerator": 0}).reset_index()
        hc["value"] = hc["numerator"] / hc["denominator"] * scale["hotline_service_complaint_rate"]
        out.append(hc.rename(columns={"district_code": "unit_code"}).assign(indicator_id="hotline_service_complaint_rate", grain=grain))
    frame = pd.concat(out, ignore_index=True)
    # The runner's NULL rule, for every form: no value unless the denominator is present and > 0.
    ok = frame["denominator"].notna() & (frame["denominator"] > 0)
    frame["value"] = frame["value"].where(ok)
    return frame, rows_read, last_day


def run_baseline(source: Path, out: Path) -> dict[str, Any]:
    """pandas: read the raw files, every case/rating indicator by district × month and quarter; result to `out`."""
    global pd  # imported here, not at the top: the govindex child must not pay for (or hold) pandas
    import pandas as pd

    from etl.contract.catalog import load_catalog  # the catalog only supplies each indicator's scale

    cat = load_catalog()
    t0 = time.perf_counter()
    now = pd.Timestamp.now()  # the "load time" after which an event is a defect
    frame, rows_read, last_day = compute(source, {d.id: d.scale for d in cat}, now)
    total = time.perf_counter() - t0
    cols = ["unit_code", "period", "grain", "indicator_id", "value", "numerator", "denominator"]
    frame[cols].astype({"unit_code": str, "period": str}).to_parquet(out, index=False)
    return {"rows_read": rows_read, "total_s": total, "cpu_s": _cpu_s(), "peak_gb": _peak_gb(),
            "indicators": int(frame["indicator_id"].nunique()), "cells": len(frame),
            "last_day": f"{last_day:%Y-%m-%d}"}  # fmt: skip


def agreement(db: Path, baseline: Path) -> dict[str, Any]:
    """Cells on both sides: how many have a value on both and the share equal (1e-9) and within 1 % relative; how
    many are NULL on one side only; and the data's last day (which sets {data_end}) as each side found it."""
    import polars as pl

    from etl.warehouse import connection as wh

    ours = wh.query(db, "SELECT unit_code, period, grain, indicator_id, value, missing_reason FROM indicator_values")
    imprecise = ours.filter(pl.col("missing_reason") == "imprecise").height  # the precision rule: not compared
    ours = ours.filter(pl.col("missing_reason").fill_null("") != "imprecise").drop("missing_reason")
    last = wh.query(db, "SELECT CAST(max(last_day) AS VARCHAR) AS d FROM data_coverage")["d"][0]
    theirs = pl.read_parquet(baseline).select(
        "unit_code", "period", "grain", "indicator_id", pl.col("value").fill_nan(None).alias("b")
    )
    both = ours.join(theirs, on=["unit_code", "period", "grain", "indicator_id"])
    one_null = both.filter(pl.col("value").is_null() != pl.col("b").is_null())
    j = both.filter(pl.col("value").is_not_null() & pl.col("b").is_not_null())
    rel = (pl.col("value") - pl.col("b")).abs() / pl.col("value").abs().clip(1e-12)
    r = j.select(pl.len().alias("n"), (rel <= 1e-9).sum().alias("exact"), (rel <= 0.01).sum().alias("close"))
    return r.row(0, named=True) | {
        "indicators": j["indicator_id"].n_unique(),
        "one_null": one_null.height,
        "one_null_by_indicator": dict(one_null.group_by("indicator_id").len().sort("indicator_id").iter_rows()),
        "far_by_indicator": dict(j.filter(rel > 0.01).group_by("indicator_id").len().sort("indicator_id").iter_rows()),
        "ours_last_day": last,
        "ours_imprecise_not_compared": imprecise,
    }


def _child(phase: str, source: Path, db: Path, out: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.etl", "--phase", phase, "--source", str(source), "--db", str(db)]
    if out is not None:
        cmd += ["--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/demo25"), help="folder of raw demo files")
    ap.add_argument("--db", type=Path, default=None, help="warehouse file to build (default: a temporary file)")
    ap.add_argument("--phase", choices=("ours", "baseline"), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--skip-baseline", action="store_true", help="run govindex only")
    args = ap.parse_args(argv)
    if args.phase == "ours":
        print(json.dumps(run_ours(args.source, args.db)))
        return
    if args.phase == "baseline":
        print(json.dumps(run_baseline(args.source, args.out)))
        return
    if not args.source.is_dir():
        raise SystemExit(f"no such folder: {args.source} (make it with `govindex demo --scale 25 --out DIR`)")
    load_before = _load_average()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        if db.exists():
            db.unlink()
        ours = _child("ours", args.source, db)
        base = agree = None
        if not args.skip_baseline:
            base = _child("baseline", args.source, db, Path(tmp) / "baseline.parquet")
            agree = agreement(db, Path(tmp) / "baseline.parquet")
    rows = int(ours["rows_in"])
    print(f"load average before: {load_before}; after: {_load_average()} (2 cores shared: timings vary with it)")
    print(f"govindex ETL on {args.source}: {ours['files']} files, {rows:,} rows in "
          f"({ours['rows_loaded']:,} loaded, {ours['rows_quarantined']:,} quarantined, {ours['rows_duplicate']:,} duplicate)")  # fmt: skip
    print(f"  ingest            {ours['ingest_s']:8.1f} s   {rows / float(ours['ingest_s']):>12,.0f} rows/s")
    iv = ours["indicator_values"]
    print(f"  indicator values  {ours['indicators_s']:8.1f} s   ({iv if isinstance(iv, str) else f'{iv:,} values'})")
    print(f"  total             {ours['total_s']:8.1f} s wall  {ours['cpu_s']:8.1f} s CPU  "
          f"{rows / float(ours['total_s']):>10,.0f} rows/s  peak RSS {ours['peak_gb']:.2f} GB "
          f"(budget {TARGET_PEAK_GB:.0f} GB: {'ok' if float(ours['peak_gb']) < TARGET_PEAK_GB else 'OVER'})")  # fmt: skip
    if base is not None and agree is not None:
        n_base = int(base["rows_read"])
        print(f"pandas baseline ({base['indicators']} case/rating indicators × month and quarter from the raw files; "
              f"no validation, no dedupe, no load, no grid):")  # fmt: skip
        print(f"  total             {base['total_s']:8.1f} s wall  {base['cpu_s']:8.1f} s CPU  "
              f"{n_base / float(base['total_s']):>10,.0f} rows/s  peak RSS {base['peak_gb']:.2f} GB  ({n_base:,} rows read)")  # fmt: skip
        print(f"  agreement: {agree['n']:,} cells of {agree['indicators']} indicators on both sides; "
              f"{agree['exact'] / max(agree['n'], 1):.1%} equal ({agree['n'] - agree['exact']:,} not), "
              f"{agree['close'] / max(agree['n'], 1):.1%} within 1 % "
              f"(the rest: rows govindex quarantined or skipped as duplicates)")  # fmt: skip
        print(f"  NULL on one side only: {agree['one_null']:,} cells {agree['one_null_by_indicator'] or ''}; "
              f"beyond 1 %: {agree['far_by_indicator'] or 'none'}")  # fmt: skip
        same = "same" if agree["ours_last_day"] == base["last_day"] else "DIFFERENT"
        print(f"  data end: last day {agree['ours_last_day']} (govindex) vs {base['last_day']} (baseline): {same}")
        ratio = float(base["total_s"]) / float(ours["total_s"])
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(f"ratio baseline/govindex wall = {ratio:.2f}x ({verdict} the {TARGET_RATIO:.0f}x target); "
              f"CPU ratio {float(base['cpu_s']) / float(ours['cpu_s']):.2f}x")  # fmt: skip


# The speed-up over the pandas baseline that issue 16 asks for, by demo scale (3x at scale 5, 5x at scale 25).
GOALS = {5.0: 3.0, 25.0: 5.0}


def rows(quick: bool) -> list[BenchRow]:
    """The `python -m bench all` convention: files → indicator values, govindex against the pandas baseline."""
    out: list[BenchRow] = []
    for scale in ((0.2,) if quick else (5.0, 25.0)):
        source = bench_data.demo(scale)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.duckdb"
            ours = _child("ours", source, db)
            base = _child("baseline", source, db, Path(tmp) / "baseline.parquet")
            agree = agreement(db, Path(tmp) / "baseline.parquet")
        note = (f"{int(ours['rows_in']):,} rows; ingest {float(ours['ingest_s']):.1f} s + indicator values "
                f"{float(ours['indicators_s']):.1f} s; peak RSS {float(ours['peak_gb']):.2f} GB vs pandas "
                f"{float(base['peak_gb']):.2f} GB; {agree['close'] / max(agree['n'], 1):.1%} of cells within 1 %")  # fmt: skip
        out.append(baseline_row("etl", f"files → indicator values, demo --scale {scale:g}", float(ours["total_s"]),
                                float(base["total_s"]), GOALS.get(scale), note))  # fmt: skip
    return out


if __name__ == "__main__":
    main()
