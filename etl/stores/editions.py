"""Assessment editions (评估版本): an annual result frozen with everything it depends on, kept outside the warehouse.

`create_edition` scores one cycle (a calendar year: "2025") and stores, in an append-only SQLite file beside the
warehouse (`Config.paths.editions_path`), the framework hash, the profile's name, version and content hash, the
full model spec, the normalisation bounds actually used per indicator, the band thresholds, the data snapshot id,
and the results: every node's score, rank, gap to best and to target, band, contribution, and the composite's Monte
Carlo rank interval. A refresh builds a new warehouse file and swaps it in; this file is not touched by it.

The cycle's values: the warehouse's `year` grain when it holds the cycle, else the mean of the cycle's four quarters
(per district and indicator) — one period labelled with the cycle, so the scores are fitted on that year's data
only and new data for a later year never changes them. A cycle is complete when the data span covers its twelve
months; otherwise creation is refused naming the missing months, unless `allow_partial`, which flags every row.
`reference` names an earlier edition whose frozen bounds are reused as goalposts, so two years compare on one scale.

Append-only: triggers refuse every UPDATE and DELETE. Status is derived from events: a draft becomes published by a
`publish` event (at most one per edition, enforced by a unique index); it is superseded when a published edition
names it in `supersedes`. Both stay visible.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from etl.errors import EtlError
from etl.stores.audit_trail import AuditError, record
from etl.stores.profiles import load_profile, load_profile_version
from etl.warehouse import connection as warehouse
from etl.warehouse.panel import covered_months_in, read_uncertainty_spec
from etl.warehouse.snapshot import data_snapshot_id
from indicators.framework import Framework
from indicators.model import score
from indicators.normalise import ColumnNormaliser, Normaliser
from indicators.profile import ProfileError, WeightProfile
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty import montecarlo as mc
from indicators.uncertainty.problem import Inputs, UncertaintyError, build_problem, model_preparer

RESULT_COLUMNS = (
    "unit_code", "node", "level", "is_indicator", "raw_value", "score", "rank", "rank_low", "rank_high",
    "median_rank", "gap_to_best", "target", "gap_to_target", "band", "band_en", "contribution", "imputed",
    "treatment", "below_threshold", "partial",
)
STATUSES = ("draft", "published", "superseded")
_CYCLE = re.compile(r"^\d{4}$")

_DDL = """
CREATE TABLE IF NOT EXISTS editions (
    edition_id TEXT PRIMARY KEY, cycle TEXT NOT NULL, profile_name TEXT NOT NULL, profile_version INTEGER NOT NULL,
    profile_hash TEXT NOT NULL, framework_hash TEXT NOT NULL, spec_json TEXT NOT NULL, spec_hash TEXT NOT NULL,
    bounds_json TEXT NOT NULL, bands_json TEXT NOT NULL, data_snapshot_id TEXT NOT NULL, source_grain TEXT NOT NULL,
    periods_json TEXT NOT NULL, partial INTEGER NOT NULL, missing_months_json TEXT NOT NULL,
    reference_edition TEXT, supersedes TEXT, reason TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    n_units INTEGER NOT NULL, mc_samples INTEGER NOT NULL, mc_seed INTEGER NOT NULL, results_sha256 TEXT NOT NULL,
    seconds REAL NOT NULL, warnings TEXT
);
CREATE TABLE IF NOT EXISTS edition_results (
    edition_id TEXT NOT NULL REFERENCES editions(edition_id), unit_code TEXT NOT NULL, node TEXT NOT NULL,
    level INTEGER, is_indicator INTEGER, raw_value REAL, score REAL, rank INTEGER, rank_low INTEGER,
    rank_high INTEGER, median_rank REAL, gap_to_best REAL, target REAL, gap_to_target REAL, band TEXT, band_en TEXT,
    contribution REAL, imputed INTEGER, treatment TEXT, below_threshold INTEGER, partial INTEGER NOT NULL,
    PRIMARY KEY (edition_id, unit_code, node)
);
CREATE TABLE IF NOT EXISTS edition_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, edition_id TEXT NOT NULL REFERENCES editions(edition_id),
    event TEXT NOT NULL, who TEXT NOT NULL, role TEXT, at_utc TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_publish ON edition_events(edition_id) WHERE event = 'publish';
"""
_FROZEN = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'editions are append-only: {t} rows are never changed'); END;\n"
    for t in ("editions", "edition_results", "edition_events") for op in ("UPDATE", "DELETE")
)


class EditionError(EtlError):
    """An edition cannot be created, published or read. `key` and `params` give the message in the app's words
    (app/ui/i18n.py); str() is the English line."""

    key = "edition.err.generic"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = {"detail": message, **params}


class UnknownCycle(EditionError):
    key = "edition.err.cycle"


class UnknownEdition(EditionError):
    key = "edition.err.unknown"


class PartialCycle(EditionError):
    key = "edition.err.partial"


class AlreadyPublished(EditionError):
    key = "edition.err.published"


class SnapshotGone(EditionError):
    key = "edition.err.snapshot"


class ReasonRequired(EditionError):
    key = "edition.err.reason"


class AuditFailed(EditionError):
    key = "edition.err.audit"


class CycleTaken(EditionError):
    key = "edition.err.taken"


@dataclass(frozen=True)
class Edition:
    """One stored edition's header (its results are read with `results`)."""

    edition_id: str
    cycle: str
    profile_name: str
    profile_version: int
    profile_hash: str
    framework_hash: str
    spec_json: str
    spec_hash: str
    bounds: dict[str, dict[str, Any]]
    bands: dict[str, Any]
    data_snapshot_id: str
    source_grain: str
    periods: tuple[str, ...]
    partial: bool
    missing_months: tuple[str, ...]
    reference_edition: str | None
    supersedes: str | None
    reason: str | None
    created_at: str
    created_by: str
    n_units: int
    mc_samples: int
    mc_seed: int
    results_sha256: str
    seconds: float
    warnings: tuple[str, ...]
    status: str = "draft"
    published_by: str | None = None
    published_role: str | None = None
    published_at: str | None = None
    published_reason: str | None = None
    superseded_by: tuple[str, ...] = field(default_factory=tuple)


# -- the store -----------------------------------------------------------------------------------------------------
@contextmanager
def _open(path: str | Path) -> Iterator[sqlite3.Connection]:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(p, timeout=30, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(_DDL + _FROZEN)
        yield con
    finally:
        con.close()


def _rows(con: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _edition(row: Mapping[str, Any], events: list[dict[str, Any]], superseders: tuple[str, ...]) -> Edition:
    pub = next((e for e in events if e["event"] == "publish"), None)
    status = "superseded" if superseders else "published" if pub else "draft"
    return Edition(
        edition_id=row["edition_id"], cycle=row["cycle"], profile_name=row["profile_name"],
        profile_version=int(row["profile_version"]), profile_hash=row["profile_hash"],
        framework_hash=row["framework_hash"], spec_json=row["spec_json"], spec_hash=row["spec_hash"],
        bounds=json.loads(row["bounds_json"]), bands=json.loads(row["bands_json"]),
        data_snapshot_id=row["data_snapshot_id"], source_grain=row["source_grain"],
        periods=tuple(json.loads(row["periods_json"])), partial=bool(row["partial"]),
        missing_months=tuple(json.loads(row["missing_months_json"])), reference_edition=row["reference_edition"],
        supersedes=row["supersedes"], reason=row["reason"], created_at=row["created_at"],
        created_by=row["created_by"], n_units=int(row["n_units"]), mc_samples=int(row["mc_samples"]),
        mc_seed=int(row["mc_seed"]), results_sha256=row["results_sha256"], seconds=float(row["seconds"]),
        warnings=tuple(w for w in (row["warnings"] or "").split("\n") if w), status=status,
        published_by=pub["who"] if pub else None, published_role=pub["role"] if pub else None,
        published_at=pub["at_utc"] if pub else None, published_reason=pub["reason"] if pub else None,
        superseded_by=superseders,
    )


def list_editions(path: str | Path) -> list[Edition]:
    """Every edition, oldest first, with its derived status. A missing store is an empty list (nothing is created)."""
    if not Path(path).is_file():
        return []
    with _open(path) as con:
        heads = _rows(con, "SELECT * FROM editions ORDER BY rowid")  # the order they were created in
        events = _rows(con, "SELECT * FROM edition_events ORDER BY seq")
    published = {e["edition_id"] for e in events if e["event"] == "publish"}
    out = []
    for h in heads:
        mine = [e for e in events if e["edition_id"] == h["edition_id"]]
        by = tuple(o["edition_id"] for o in heads if o["supersedes"] == h["edition_id"] and o["edition_id"] in published)
        out.append(_edition(h, mine, by))
    return out


def get_edition(path: str | Path, edition_id: str) -> Edition:
    for e in list_editions(path):
        if e.edition_id == edition_id:
            return e
    known = [e.edition_id for e in list_editions(path)]
    raise UnknownEdition(f"no edition {edition_id!r} in {path}; editions: {', '.join(known) or 'none yet'}",
                         edition=edition_id)


def results(path: str | Path, edition_id: str) -> pl.DataFrame:
    """The stored results of one edition (RESULT_COLUMNS), sorted by node then unit."""
    get_edition(path, edition_id)
    with _open(path) as con:
        rows = _rows(con, "SELECT " + ", ".join(RESULT_COLUMNS) + " FROM edition_results WHERE edition_id = ? "
                     "ORDER BY node, unit_code", (edition_id,))
    return pl.DataFrame(rows, schema=_RESULT_SCHEMA, orient="row")


def results_bytes(path: str | Path, edition_id: str) -> bytes:
    """The stored results as canonical CSV bytes (what `results_sha256` hashes): the immutability check."""
    return _canonical(results(path, edition_id))


def _canonical(frame: pl.DataFrame) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RESULT_COLUMNS)
    for r in frame.sort("node", "unit_code").select(RESULT_COLUMNS).iter_rows():
        w.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in r])
    return buf.getvalue().encode("utf-8")


_RESULT_SCHEMA: dict[str, Any] = {
    "unit_code": pl.String, "node": pl.String, "level": pl.Int64, "is_indicator": pl.Boolean, "raw_value": pl.Float64,
    "score": pl.Float64, "rank": pl.Int64, "rank_low": pl.Int64, "rank_high": pl.Int64, "median_rank": pl.Float64,
    "gap_to_best": pl.Float64, "target": pl.Float64, "gap_to_target": pl.Float64, "band": pl.String,
    "band_en": pl.String, "contribution": pl.Float64, "imputed": pl.Boolean, "treatment": pl.String,
    "below_threshold": pl.Boolean, "partial": pl.Boolean,
}


# -- the cycle's data ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CycleData:
    """One row per (unit, indicator) labelled with the cycle, and where it came from."""

    frame: pl.DataFrame  # unit_code, period (= cycle), indicator_id, value
    source_grain: str  # "year", or "quarter-mean" (the mean of the cycle's quarters)
    periods: tuple[str, ...]
    missing_months: tuple[str, ...]


def cycle_data(con: warehouse.Connection, cycle: str) -> CycleData:
    """The cycle's values from an open warehouse connection (see the module docstring)."""
    if not _CYCLE.match(str(cycle)):
        raise UnknownCycle(f"cycle {cycle!r} is not a year such as 2025", cycle=cycle, available="—")
    if "indicator_values" not in set(warehouse.table_names(con)):
        raise UnknownCycle("the warehouse has no indicator values yet (run `govindex refresh` first)", cycle=cycle,
                           available="—")
    grains = {r[0] for r in con.sql("SELECT DISTINCT grain FROM indicator_values").fetchall()}
    quarters = [f"{cycle}Q{q}" for q in range(1, 5)]
    months = tuple(f"{cycle}-{m:02d}" for m in range(1, 13))
    complete = set(covered_months_in(con))
    missing = tuple(m for m in months if m not in complete)
    long = None
    if "year" in grains:
        long = warehouse.query(con, "SELECT unit_code, period, indicator_id, value FROM indicator_values "
                               "WHERE grain = 'year' AND period = ?", [cycle])
        source, periods = "year", (cycle,)
    if long is None or long.height == 0:
        q = warehouse.query(con, "SELECT unit_code, period, indicator_id, value FROM indicator_values "
                            "WHERE grain = 'quarter' AND period IN (?, ?, ?, ?)", quarters)
        if q.height == 0:
            years = sorted({r[0][:4] for r in con.sql("SELECT DISTINCT period FROM indicator_values "
                                                      "WHERE grain IN ('quarter', 'year')").fetchall()})
            raise UnknownCycle(f"no data for cycle {cycle}; cycles with data: {', '.join(years) or 'none'}",
                               cycle=cycle, available=", ".join(years) or "—")
        periods = tuple(sorted(q["period"].unique().to_list()))
        long = (q.filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
                .group_by("unit_code", "indicator_id").agg(pl.col("value").mean())
                .with_columns(pl.lit(cycle).alias("period")))
        source = "quarter-mean"
    frame = long.select("unit_code", "period", "indicator_id", "value").sort("unit_code", "indicator_id")
    return CycleData(frame, source, periods, missing)


# -- bounds --------------------------------------------------------------------------------------------------------
def fitted_bounds(normaliser: Normaliser, codes: tuple[str, ...], spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """Per indicator: the normalisation method and what the fitted normaliser actually used (min/max, goalposts,
    mean/sd …) — and, where the method has them, `low`/`high` in the indicator's raw units."""
    parts = normaliser.parts if isinstance(normaliser, ColumnNormaliser) else [(range(len(codes)), normaliser)]
    out: dict[str, dict[str, Any]] = {}
    for idx, norm in parts:
        idx = list(idx)
        fitted = {k.rstrip("_"): v for k, v in vars(norm).items()
                  if k.endswith("_") and k not in ("directions_", "n_features_in_")
                  and isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == len(idx)}
        for pos, j in enumerate(idx):
            code = codes[j]
            m = spec.normalisation_overrides.get(code, spec.normalisation)
            d = float(norm.directions_[pos])
            entry: dict[str, Any] = {"method": m.name, "params": dict(m.params), "direction": d}
            entry.update({k: _num(v[pos]) for k, v in fitted.items()})
            pair = ("min", "max") if "min" in entry else ("low", "high") if "low" in entry else None
            if pair is not None and entry[pair[0]] is not None and entry[pair[1]] is not None:
                a, b = entry[pair[0]] * d, entry[pair[1]] * d
                entry["low"], entry["high"] = min(a, b), max(a, b)
            entry["params"].pop("goalposts", None)
            out[code] = entry
    return out


def _num(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def frozen_spec(spec: ModelSpec, reference: Edition, framework: Framework | None = None) -> ModelSpec:
    """`spec` with normalisation replaced by the reference edition's bounds as fixed goalposts (one scale for both).

    Only bounds of min-max with l = 0 or of goalposts can be frozen this way (the same map within the bounds).
    With `framework`, bounds of indicators it no longer has (retired since) are left out (see dropped_bounds)."""
    goalposts, scale = {}, None
    for code, b in reference.bounds.items():
        if framework is not None and code not in framework:
            continue
        method, params = b.get("method"), b.get("params", {})
        ok = (method == "minmax" and float(params.get("l", 0.0)) == 0.0) or method == "goalposts"
        if not ok or b.get("low") is None or not b["high"] > b["low"]:
            raise EditionError(f"reference edition {reference.edition_id}: indicator {code} uses {method} "
                               f"{params or ''} with bounds {b.get('low')}–{b.get('high')}; only min-max from 0 or "
                               "goalposts with low < high can be frozen as goalposts", edition=reference.edition_id)
        s = float(params.get("u", params.get("scale", 100.0)))
        if scale is not None and s != scale:
            raise EditionError(f"reference edition {reference.edition_id}: indicators use different scales",
                               edition=reference.edition_id)
        scale = s
        goalposts[code] = [b["low"], b["high"]]
    norm = MethodSpec(name="goalposts", params={"goalposts": goalposts, "scale": scale or 100.0})
    return spec.model_copy(update={"normalisation": norm, "normalisation_overrides": {}, "fit_on": "panel"})


def dropped_bounds(reference: Edition, framework: Framework) -> list[str]:
    """One line per indicator of the reference edition that `framework` no longer has: why its bounds are unused."""
    out = []
    for code in reference.bounds:
        if code not in framework:
            why = framework.retired.get(code)
            out.append(f"reference edition {reference.edition_id}: indicator {code} "
                       + (f"was retired from the catalog ({why}); " if why else "is not in the framework; ")
                       + "its frozen bounds are not used")
    return out


# -- create / publish ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Created:
    edition: Edition
    seconds: float


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def create_edition(
    db: str | Path,
    store: str | Path,
    framework: Framework,
    profile: WeightProfile,
    cycle: str,
    *,
    who: str,
    allow_partial: bool = False,
    reference: str | None = None,
    supersedes: str | None = None,
    reason: str | None = None,
    mc_samples: int = 1000,
    mc_seed: int = 1,
    now: dt.datetime | None = None,
) -> Created:
    """Score `cycle` from the warehouse `db` with `profile` and append the edition (a draft) to `store`."""
    t0 = time.perf_counter()
    cycle = str(cycle).strip()
    if supersedes is not None:
        if not (reason or "").strip():
            raise ReasonRequired("a correction (--supersedes) needs --reason saying what it corrects")
        old = get_edition(store, supersedes)
        if old.cycle != cycle:
            raise EditionError(f"edition {supersedes} is for cycle {old.cycle}, not {cycle}: a correction replaces "
                               "an edition of the same cycle", edition=supersedes)
    ref = get_edition(store, reference) if reference else None
    # Load inputs
    with warehouse.connection(db, read_only=True) as con:
        data = cycle_data(con, cycle)
        snapshot = data_snapshot_id(con)
    if data.missing_months and not allow_partial:
        raise PartialCycle(f"cycle {cycle} is incomplete: the data do not cover {', '.join(data.missing_months)}; "
                           "wait for them, or pass --allow-partial (every figure is then flagged)", cycle=cycle,
                           months=", ".join(data.missing_months))
    # Process data
    spec = profile.model_spec(framework)
    if spec.fit_on != "panel":
        spec = spec.model_copy(update={"fit_on": "panel"})  # one period: the cycle itself
    dropped: list[str] = []
    if ref is not None:
        spec = frozen_spec(spec, ref, framework)
        dropped = dropped_bounds(ref, framework)
    result = score(framework, data.frame, spec)
    rows = result.scores.filter(pl.col("period") == cycle)
    bounds = fitted_bounds(result.normaliser, framework.indicators, spec)
    warnings = dropped + list(result.warnings)
    intervals = _rank_intervals(framework, data.frame, cycle, spec, profile, mc_samples, mc_seed, warnings)
    root = framework.root
    rows = rows.join(intervals.with_columns(pl.lit(root).alias("node")), on=["unit_code", "node"], how="left")
    rows = rows.with_columns(pl.lit(bool(data.missing_months)).alias("partial"))
    for c in RESULT_COLUMNS:
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None).alias(c))
    rows = rows.select(RESULT_COLUMNS).cast({k: v for k, v in _RESULT_SCHEMA.items()})
    digest = hashlib.sha256(_canonical(rows)).hexdigest()
    created = now or _now()
    # Save outputs
    with _open(store) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            n = con.execute("SELECT count(*) FROM editions WHERE cycle = ? AND profile_name = ?",
                            (cycle, profile.name)).fetchone()[0]
            edition_id = f"{cycle}-{profile.name}-{n + 1}"
            seconds = time.perf_counter() - t0
            con.execute(
                "INSERT INTO editions VALUES (" + ", ".join("?" * 26) + ")",
                (edition_id, cycle, profile.name, profile.version, profile.content_hash(), framework.fingerprint(),
                 spec.to_json(), spec.fingerprint(), json.dumps(bounds, sort_keys=True, ensure_ascii=False),
                 spec.bands.model_dump_json(), snapshot, data.source_grain, json.dumps(list(data.periods)),
                 int(bool(data.missing_months)), json.dumps(list(data.missing_months)),
                 reference, supersedes, (reason or "").strip() or None, _iso(created), who, len(result.units),
                 mc_samples, mc_seed, digest, seconds, "\n".join(warnings) or None),
            )
            con.executemany(
                "INSERT INTO edition_results (edition_id, " + ", ".join(RESULT_COLUMNS) + ") VALUES ("
                + ", ".join("?" * (len(RESULT_COLUMNS) + 1)) + ")",
                [(edition_id, *r) for r in rows.iter_rows()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return Created(get_edition(store, edition_id), time.perf_counter() - t0)


def _rank_intervals(framework: Framework, frame: pl.DataFrame, cycle: str, spec: ModelSpec, profile: WeightProfile,
                    samples: int, seed: int, warnings: list[str]) -> pl.DataFrame:
    """The composite's Monte Carlo rank interval per unit (the default uncertainty spec), or nulls with a warning."""
    empty = pl.DataFrame(schema={"unit_code": pl.String, "rank_low": pl.Int64, "rank_high": pl.Int64,
                                 "median_rank": pl.Float64})
    if samples <= 0:
        return empty
    try:
        base = read_uncertainty_spec()
        uspec = type(base).from_dict({**base.model_dump(), "samples": samples, "seed": seed}, source="edition")
        prepare, units = model_preparer(framework, frame, period=cycle)
        inputs = Inputs(framework, units, prepare, spec, profile.resolved_weights(framework))
        res = mc.run_monte_carlo(build_problem(uspec, inputs), uspec.samples, np.random.default_rng(uspec.seed),
                                 uspec.sampler)
    except (UncertaintyError, mc.MonteCarloError, ValueError) as e:
        warnings.append(f"no rank intervals: {e}")
        return empty
    return mc.rank_table(res).select(
        pl.col("unit").alias("unit_code"), pl.col("rank_low").cast(pl.Int64), pl.col("rank_high").cast(pl.Int64),
        pl.col("median_rank").cast(pl.Float64),
    )


def publish_edition(store: str | Path, edition_id: str, *, who: str, reason: str, role: str | None = None,
                    live_snapshot: str | None = None, weights_dir: str | Path | None = None,
                    now: dt.datetime | None = None) -> Edition:
    """Publish a draft: who, role, when and why go into the edition's events and (given `weights_dir`) into the
    hash-chained audit trail first — nothing is published without its record. Refused, changing nothing, for an
    edition that is not a draft, without a reason, and when `live_snapshot` (the warehouse's current data snapshot
    id) differs from the draft's: the data it was computed on no longer exist."""
    if not str(reason or "").strip():
        raise ReasonRequired("publishing needs a reason: why this edition stands", edition=edition_id)
    ed = get_edition(store, edition_id)
    if ed.status != "draft":
        raise AlreadyPublished(f"edition {edition_id} is already {ed.status} (by {ed.published_by} at "
                               f"{ed.published_at}); it cannot be published again", edition=edition_id,
                               status=ed.status)
    if live_snapshot is not None and live_snapshot != ed.data_snapshot_id:
        raise SnapshotGone(f"edition {edition_id} was computed on data snapshot {ed.data_snapshot_id}, which no "
                           f"longer exists (the warehouse now holds {live_snapshot}); create the edition again",
                           edition=edition_id, snapshot=ed.data_snapshot_id, live=live_snapshot)
    standing = [e for e in list_editions(store) if e.cycle == ed.cycle and e.profile_name == ed.profile_name
                and e.status == "published" and e.edition_id != ed.supersedes]
    if standing:
        raise CycleTaken(f"edition {standing[0].edition_id} already stands for cycle {ed.cycle} with profile "
                         f"{ed.profile_name}; a new one replaces it only as a correction (create it with "
                         f"--supersedes {standing[0].edition_id} --reason …)", edition=edition_id,
                         standing=standing[0].edition_id)
    when = now or _now()
    if weights_dir is not None:
        try:
            try:
                prof = load_profile_version(ed.profile_name, ed.profile_version, weights_dir)
            except ProfileError:
                prof = load_profile(ed.profile_name, weights_dir)
            record(weights_dir, event="edition_publish", profile=prof, who=who, role=role, previous=prof,
                   rationale=f"edition {ed.edition_id} (cycle {ed.cycle}): {str(reason).strip()}", when=when)
        except (AuditError, ProfileError) as e:
            raise AuditFailed(f"not published: the audit trail cannot record it ({e})", edition=edition_id) from None
    with _open(store) as con:
        try:
            con.execute("INSERT INTO edition_events (edition_id, event, who, role, at_utc, reason) "
                        "VALUES (?, 'publish', ?, ?, ?, ?)",
                        (edition_id, who, role, _iso(when), str(reason).strip()))
        except sqlite3.IntegrityError:  # another process published it between the check and here
            raise AlreadyPublished(f"edition {edition_id} is already published", edition=edition_id,
                                   status="published") from None
    return get_edition(store, edition_id)


# -- diff and year on year -----------------------------------------------------------------------------------------
def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def method_changes(a: Edition, b: Edition) -> list[str]:
    """What differs in method between two editions: the framework, and the spec's keys (weights, methods, fixed
    goalposts, bands). Fitted bounds that moved with the data are not a method change (see `bounds_moved`)."""
    out = []
    if a.framework_hash != b.framework_hash:
        out.append("framework")
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flat("", json.loads(a.spec_json), fa)
    _flat("", json.loads(b.spec_json), fb)
    keys = [k for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    shown = [k.split(".goalposts.")[0] + ".goalposts" if ".goalposts." in k else k for k in keys]
    out += [f"spec.{k}" for k in dict.fromkeys(shown)]
    return out


def bounds_moved(a: Edition, b: Edition) -> list[str]:
    """Indicators whose normalisation bounds (low/high in raw units) differ between the editions."""
    def lh(e: Edition, c: str) -> tuple[Any, Any]:
        x = e.bounds.get(c) or {}
        return x.get("low"), x.get("high")
    return sorted(c for c in set(a.bounds) | set(b.bounds) if lh(a, c) != lh(b, c))


@dataclass(frozen=True)
class EditionDiff:
    a: Edition
    b: Edition
    data_changed: bool  # different data snapshot or cycle
    method: tuple[str, ...]  # method_changes(a, b)
    bounds: tuple[str, ...]  # bounds_moved(a, b): with the same spec, fitted bounds that followed the data
    moved: pl.DataFrame  # unit_code, node, score_a, score_b, delta, rank_a, rank_b (rows where anything moved)


def diff_editions(store: str | Path, a_id: str, b_id: str, nodes: tuple[str, ...] | None = None) -> EditionDiff:
    """What moved from edition A to B (scores and ranks per unit and node), and whether data or method moved it."""
    a, b = get_edition(store, a_id), get_edition(store, b_id)
    ra, rb = results(store, a_id), results(store, b_id)
    keep = ["unit_code", "node", "score", "rank"]
    j = ra.select(keep).join(rb.select(keep), on=["unit_code", "node"], how="full", suffix="_b", coalesce=True)
    j = j.rename({"score": "score_a", "rank": "rank_a"}).with_columns(
        (pl.col("score_b") - pl.col("score_a")).alias("delta"))
    if nodes is not None:
        j = j.filter(pl.col("node").is_in(list(nodes)))
    moved = j.filter((pl.col("delta").abs() > 0) | (pl.col("rank_a") != pl.col("rank_b"))
                     | pl.col("score_a").is_null() != pl.col("score_b").is_null())
    moved = moved.select("unit_code", "node", "score_a", "score_b", "delta", "rank_a", "rank_b").sort(
        pl.col("delta").abs(), descending=True, nulls_last=True)
    data = a.data_snapshot_id != b.data_snapshot_id or a.cycle != b.cycle
    return EditionDiff(a, b, data, tuple(method_changes(a, b)), tuple(bounds_moved(a, b)), moved)


def published_by_cycle(store: str | Path, profile_name: str) -> list[Edition]:
    """The edition that stands for each cycle for this profile: published and not superseded, oldest cycle first."""
    best: dict[str, Edition] = {}
    for e in list_editions(store):
        if e.profile_name == profile_name and e.status == "published":
            best[e.cycle] = e  # oldest first: a later publication of the same cycle wins
    return [best[c] for c in sorted(best)]


def trend(store: str | Path, framework: Framework, profile_name: str) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Year on year across published editions: one row per (cycle, unit) with the composite, each root child's score
    (by node code) and the composite's rank; and, per cycle, what changed in method since the previous cycle."""
    eds = published_by_cycle(store, profile_name)
    nodes = [framework.root, *framework.children(framework.root)]
    frames, method = [], {}
    prev: Edition | None = None
    for e in eds:
        r = results(store, e.edition_id).filter(pl.col("node").is_in(nodes))
        wide = r.pivot(on="node", index="unit_code", values="score")
        rank = r.filter(pl.col("node") == framework.root).select("unit_code", "rank", "partial")
        frames.append(wide.join(rank, on="unit_code").with_columns(
            pl.lit(e.cycle).alias("cycle"), pl.lit(e.edition_id).alias("edition_id")))
        method[e.cycle] = method_changes(prev, e) if prev is not None else []
        prev = e
    if not frames:
        return pl.DataFrame(schema={"cycle": pl.String, "edition_id": pl.String, "unit_code": pl.String}), {}
    out = pl.concat(frames, how="diagonal_relaxed").rename({framework.root: "composite"})
    return out.select("cycle", "edition_id", "unit_code", "composite",
                      *[c for c in nodes[1:] if c in out.columns], "rank", "partial").sort("cycle", "rank"), method
